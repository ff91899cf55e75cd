--
-- PostgreSQL database dump
--

\restrict LtVVVG6gND2R10QnnGqfUYlm5Z9TJav6XorjyU7cybD8FwSCRhOUkav7vvpkqCe

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: asanajira_020; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA asanajira_020;


--
-- Name: river_job_state; Type: TYPE; Schema: asanajira_020; Owner: -
--

CREATE TYPE asanajira_020.river_job_state AS ENUM (
    'available',
    'cancelled',
    'completed',
    'discarded',
    'pending',
    'retryable',
    'running',
    'scheduled'
);


--
-- Name: river_job_state_in_bitmask(bit, asanajira_020.river_job_state); Type: FUNCTION; Schema: asanajira_020; Owner: -
--

CREATE FUNCTION asanajira_020.river_job_state_in_bitmask(bitmask bit, state asanajira_020.river_job_state) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE state
        WHEN 'available' THEN get_bit(bitmask, 7)
        WHEN 'cancelled' THEN get_bit(bitmask, 6)
        WHEN 'completed' THEN get_bit(bitmask, 5)
        WHEN 'discarded' THEN get_bit(bitmask, 4)
        WHEN 'pending'   THEN get_bit(bitmask, 3)
        WHEN 'retryable' THEN get_bit(bitmask, 2)
        WHEN 'running'   THEN get_bit(bitmask, 1)
        WHEN 'scheduled' THEN get_bit(bitmask, 0)
        ELSE 0
    END = 1;
$$;


SET default_table_access_method = heap;

--
-- Name: asana_users; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.asana_users (
    gid text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    email text DEFAULT ''::text NOT NULL,
    access_token bytea,
    refresh_token bytea,
    expiry timestamp with time zone,
    reconnect_needed boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: audit_log; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.audit_log (
    id bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text DEFAULT ''::text NOT NULL,
    detail text DEFAULT ''::text NOT NULL
);


--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: asanajira_020; Owner: -
--

ALTER TABLE asanajira_020.audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asanajira_020.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: auth_states; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.auth_states (
    state text NOT NULL,
    kind text NOT NULL,
    data bytea,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: connections; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.connections (
    workspace_gid text NOT NULL,
    jira_server_id text NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: idempotency_keys; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    result bytea,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: jira_credentials; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.jira_credentials (
    asana_user_gid text NOT NULL,
    jira_server_id text NOT NULL,
    method text NOT NULL,
    access_token bytea,
    token_secret bytea,
    refresh_token bytea,
    expiry timestamp with time zone,
    jira_username text DEFAULT ''::text NOT NULL,
    jira_display_name text DEFAULT ''::text NOT NULL,
    reconnect_needed boolean DEFAULT false NOT NULL,
    reconnect_reason text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: jira_servers; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.jira_servers (
    id text NOT NULL,
    name text NOT NULL,
    base_url text NOT NULL,
    connect_address text DEFAULT ''::text NOT NULL,
    consumer_key text DEFAULT ''::text NOT NULL,
    private_key bytea,
    public_key_pem text DEFAULT ''::text NOT NULL,
    version text DEFAULT ''::text NOT NULL,
    auth_methods text DEFAULT ''::text NOT NULL,
    oauth2_client_id text DEFAULT ''::text NOT NULL,
    oauth2_client_secret bytea,
    webhook_secret bytea,
    webhook_url text DEFAULT ''::text NOT NULL,
    applink_id text DEFAULT ''::text NOT NULL,
    status text DEFAULT ''::text NOT NULL,
    checked_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: links; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.links (
    id bigint NOT NULL,
    workspace_gid text NOT NULL,
    task_gid text NOT NULL,
    jira_server_id text NOT NULL,
    issue_id text NOT NULL,
    issue_key text NOT NULL,
    created_by text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: links_id_seq; Type: SEQUENCE; Schema: asanajira_020; Owner: -
--

ALTER TABLE asanajira_020.links ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME asanajira_020.links_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: project_routes; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.project_routes (
    workspace_gid text NOT NULL,
    project_gid text NOT NULL,
    jira_server_id text NOT NULL,
    jira_project_key text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: river_job; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.river_job (
    id bigint NOT NULL,
    state asanajira_020.river_job_state DEFAULT 'available'::asanajira_020.river_job_state NOT NULL,
    attempt smallint DEFAULT 0 NOT NULL,
    max_attempts smallint DEFAULT 25 NOT NULL,
    attempted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finalized_at timestamp with time zone,
    scheduled_at timestamp with time zone DEFAULT now() NOT NULL,
    priority smallint DEFAULT 1 NOT NULL,
    args jsonb NOT NULL,
    attempted_by text[],
    errors jsonb[],
    kind text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    queue text DEFAULT 'default'::text NOT NULL,
    tags character varying(255)[] DEFAULT '{}'::character varying[] NOT NULL,
    unique_key bytea,
    unique_states bit(8),
    CONSTRAINT finalized_or_finalized_at_null CHECK ((((finalized_at IS NULL) AND (state <> ALL (ARRAY['cancelled'::asanajira_020.river_job_state, 'completed'::asanajira_020.river_job_state, 'discarded'::asanajira_020.river_job_state]))) OR ((finalized_at IS NOT NULL) AND (state = ANY (ARRAY['cancelled'::asanajira_020.river_job_state, 'completed'::asanajira_020.river_job_state, 'discarded'::asanajira_020.river_job_state]))))),
    CONSTRAINT kind_length CHECK (((char_length(kind) > 0) AND (char_length(kind) < 128))),
    CONSTRAINT max_attempts_is_positive CHECK ((max_attempts > 0)),
    CONSTRAINT priority_in_range CHECK (((priority >= 1) AND (priority <= 4))),
    CONSTRAINT queue_length CHECK (((char_length(queue) > 0) AND (char_length(queue) < 128)))
);


--
-- Name: river_job_id_seq; Type: SEQUENCE; Schema: asanajira_020; Owner: -
--

CREATE SEQUENCE asanajira_020.river_job_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: river_job_id_seq; Type: SEQUENCE OWNED BY; Schema: asanajira_020; Owner: -
--

ALTER SEQUENCE asanajira_020.river_job_id_seq OWNED BY asanajira_020.river_job.id;


--
-- Name: river_leader; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE UNLOGGED TABLE asanajira_020.river_leader (
    elected_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    leader_id text NOT NULL,
    name text DEFAULT 'default'::text NOT NULL,
    CONSTRAINT leader_id_length CHECK (((char_length(leader_id) > 0) AND (char_length(leader_id) < 128))),
    CONSTRAINT name_length CHECK ((name = 'default'::text))
);


--
-- Name: river_migration; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.river_migration (
    line text NOT NULL,
    version bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT line_length CHECK (((char_length(line) > 0) AND (char_length(line) < 128))),
    CONSTRAINT version_gte_1 CHECK ((version >= 1))
);


--
-- Name: river_notification; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.river_notification (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    payload text NOT NULL,
    topic text NOT NULL,
    CONSTRAINT topic_length CHECK (((length(topic) > 0) AND (length(topic) < 128)))
);


--
-- Name: river_notification_id_seq; Type: SEQUENCE; Schema: asanajira_020; Owner: -
--

CREATE SEQUENCE asanajira_020.river_notification_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: river_notification_id_seq; Type: SEQUENCE OWNED BY; Schema: asanajira_020; Owner: -
--

ALTER SEQUENCE asanajira_020.river_notification_id_seq OWNED BY asanajira_020.river_notification.id;


--
-- Name: river_queue; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.river_queue (
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    paused_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);


--
-- Name: schema_migrations; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL
);


--
-- Name: workspaces; Type: TABLE; Schema: asanajira_020; Owner: -
--

CREATE TABLE asanajira_020.workspaces (
    gid text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: river_job id; Type: DEFAULT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.river_job ALTER COLUMN id SET DEFAULT nextval('asanajira_020.river_job_id_seq'::regclass);


--
-- Name: river_notification id; Type: DEFAULT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.river_notification ALTER COLUMN id SET DEFAULT nextval('asanajira_020.river_notification_id_seq'::regclass);


--
-- Data for Name: asana_users; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.asana_users (gid, name, email, access_token, refresh_token, expiry, reconnect_needed, created_at, updated_at) VALUES ('9001', 'Alice', 'alice@example.com', '\x01630dcd2942cf5c6f7230aedffed2ee9ef4f3806856b00c71c4991e4589d791a61d4a1b4a4889368f292a8c5e23c487d80606', '\x01630dcd29add01c654d04f899428218903dcbdc5d021b1f4fa0689b01fffe3bba6dddd2337b4d81a279c8006ac1e85416600693', '2026-11-26 13:00:00+00', false, '2026-11-29 21:25:20.570035+00', '2026-11-29 21:25:20.570035+00');
INSERT INTO asanajira_020.asana_users (gid, name, email, access_token, refresh_token, expiry, reconnect_needed, created_at, updated_at) VALUES ('9002', 'Bob', 'bob@example.com', '\x01630dcd291d63d433ab0b27b323c99b5080ff4771c31e6a840cf402b29f85df7ba6ad034c938b9e9358f0d4432fd909a0', '\x01630dcd290095dc9a14d18311f2170a58c695d25c70d5642f4e1f7349e2c416dcf0b3f51464b19b994f32e14e6fb0356828', '2026-11-26 12:00:00+00', true, '2026-11-29 21:25:20.572571+00', '2026-11-29 21:25:20.572571+00');
INSERT INTO asanajira_020.asana_users (gid, name, email, access_token, refresh_token, expiry, reconnect_needed, created_at, updated_at) VALUES ('9003', 'Carol', 'carol@example.com', NULL, NULL, NULL, false, '2026-11-29 21:25:20.573009+00', '2026-11-29 21:25:20.573009+00');


--
-- Data for Name: audit_log; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.audit_log (id, at, actor, action, target, detail) OVERRIDING SYSTEM VALUE VALUES (1, '2026-11-29 21:25:20.647473+00', 'admin', 'jira.connect', 'jira-dc', 'application link created');
INSERT INTO asanajira_020.audit_log (id, at, actor, action, target, detail) OVERRIDING SYSTEM VALUE VALUES (2, '2026-11-29 21:25:20.650941+00', 'admin', 'workspace.connect', '1201', '');
INSERT INTO asanajira_020.audit_log (id, at, actor, action, target, detail) OVERRIDING SYSTEM VALUE VALUES (3, '2026-11-29 21:25:20.695617+00', 'cli', 'secrets.rotate', '', 're-sealed 12 values');


--
-- Data for Name: auth_states; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.auth_states (state, kind, data, expires_at, created_at) VALUES ('state-1', 'connect', '\x01630dcd29f7fab46cf4db4da91544e7e816eac10ec93dbfa90abcb2498a588659c0709a9756eb39c253d54a30b0ef8c4c785d1606cf705540cc0ef14789c4613cf7293543a2ada011b6cd', '2099-01-01 00:00:00+00', '2026-11-29 21:25:20.591683+00');


--
-- Data for Name: connections; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.connections (workspace_gid, jira_server_id, is_default, created_at) VALUES ('1201', 'jira-dc', true, '2026-11-29 21:25:20.551695+00');
INSERT INTO asanajira_020.connections (workspace_gid, jira_server_id, is_default, created_at) VALUES ('1201', 'jira-old', false, '2026-11-29 21:25:20.55992+00');
INSERT INTO asanajira_020.connections (workspace_gid, jira_server_id, is_default, created_at) VALUES ('1202', 'jira-old', true, '2026-11-29 21:25:20.565826+00');


--
-- Data for Name: idempotency_keys; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.idempotency_keys (scope, key, result, expires_at, created_at) VALUES ('create_issue', 'task:5001', '\x7b226b6579223a2244454d4f2d31227d', '2099-01-01 00:00:00+00', '2026-11-29 21:25:20.636154+00');
INSERT INTO asanajira_020.idempotency_keys (scope, key, result, expires_at, created_at) VALUES ('create_issue', 'task:5004', NULL, '2099-01-01 00:00:00+00', '2026-11-29 21:25:20.643385+00');


--
-- Data for Name: jira_credentials; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.jira_credentials (asana_user_gid, jira_server_id, method, access_token, token_secret, refresh_token, expiry, jira_username, jira_display_name, reconnect_needed, reconnect_reason, created_at, updated_at) VALUES ('9001', 'jira-dc', 'oauth1', '\x01630dcd29236d5866c8f5cd45d7d32988e51dc670db8815b3e1b8376eab232fe2d123d6ae9f635594a488b49a82af0cc546ec', '\x01630dcd2920b71c234a55547f91b2c0266ce90cfa47775fca70122e1ae9b9f5d476b30afb8256962efc312b2035e838ef75c7bc', NULL, NULL, 'alice', 'Alice A.', false, '', '2026-11-29 21:25:20.573357+00', '2026-11-29 21:25:20.573357+00');
INSERT INTO asanajira_020.jira_credentials (asana_user_gid, jira_server_id, method, access_token, token_secret, refresh_token, expiry, jira_username, jira_display_name, reconnect_needed, reconnect_reason, created_at, updated_at) VALUES ('9002', 'jira-dc', 'oauth2', '\x01630dcd297ccbf11c4169bbaaf80bf1da0bf1cf2d71967bea3ad2d83b0f79d8dc8b7b063fb4a5ead81ca6aed38510e9f048', NULL, '\x01630dcd29b9b6ff1086acd4e9919c13882fba2bdafa8c1210d6c8bf97252d882a9470a5c836700c0c19d0283c988fec89b933', '2026-11-26 12:30:00+00', 'bob', 'Bob B.', false, '', '2026-11-29 21:25:20.585192+00', '2026-11-29 21:25:20.585192+00');
INSERT INTO asanajira_020.jira_credentials (asana_user_gid, jira_server_id, method, access_token, token_secret, refresh_token, expiry, jira_username, jira_display_name, reconnect_needed, reconnect_reason, created_at, updated_at) VALUES ('9001', 'jira-old', 'pat', '\x01630dcd29f5c0907df6f7c80615d84be36a50cf4ca3be595c5f836bfa50cbe5b60b1d3d789719ae3dcf786c00c0', NULL, NULL, NULL, 'alice', '', true, 'token revoked in Jira', '2026-11-29 21:25:20.58094+00', '2026-11-29 21:25:20.589787+00');


--
-- Data for Name: jira_servers; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.jira_servers (id, name, base_url, connect_address, consumer_key, private_key, public_key_pem, version, auth_methods, oauth2_client_id, oauth2_client_secret, webhook_secret, webhook_url, applink_id, status, checked_at, created_at, updated_at) VALUES ('jira-dc', 'Jira DC', 'https://jira.example.com/jira', '10.0.0.5:8080', 'asanajira-5f1c', '\x01630dcd29fecf547c0cee9fc2fd09ae05d94bebbd1890c2679acc6dd06f85ebbea7fd204fdf32bbc8c2d54d7eb7311ef9c16dbfb089deada8285b8341456a88adbf0bf4add29a4a242438615e4bab2e6ca7f7d0f4804b52399b2e5ca75d1425a5a384d0fe7cbc4f44c738', '-----BEGIN PUBLIC KEY-----
fixture-public-key
-----END PUBLIC KEY-----
', '9.12.0', 'oauth1,pat,oauth2', 'oauth2-client', '\x01630dcd2993be143fb726913e205c6a0d3834dd9f51a2df8292bdd5b13887cef1d0bbdfc77ea7125a8c2830730179cb0b887289d3', '\x01630dcd296f9a83612c70413fe18b0ac758f0f588f1529b95291ca7152c81cc9d21c5f650591eccfb37f0d29f593f173e8e', 'https://asanajira.example.com/jira/webhook/jira-dc', 'applink-1', 'ok', '2026-11-26 12:00:00+00', '2026-11-29 21:25:20.534842+00', '2026-11-29 21:25:20.534842+00');
INSERT INTO asanajira_020.jira_servers (id, name, base_url, connect_address, consumer_key, private_key, public_key_pem, version, auth_methods, oauth2_client_id, oauth2_client_secret, webhook_secret, webhook_url, applink_id, status, checked_at, created_at, updated_at) VALUES ('jira-old', 'Jira 7.13', 'http://jira-old.internal:8080', '', 'asanajira-77aa', '\x01630dcd297a55529005e75315b71beaa62c318c92cdd0c9eb58b2ef04c6782da455347831c86af881ef8e777dc90e7a', '', '7.13.5', 'oauth1', '', NULL, '\x01630dcd294d2f98d81dcd861ecbc41cbe33d18a4f4d69d66d8cdf118f9817a98f983386c7f4a9d8673d1ebd4c06a468ad1f0e', '', '', 'unchecked', NULL, '2026-11-29 21:25:20.540431+00', '2026-11-29 21:25:20.540431+00');


--
-- Data for Name: links; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.links (id, workspace_gid, task_gid, jira_server_id, issue_id, issue_key, created_by, created_at) OVERRIDING SYSTEM VALUE VALUES (1, '1201', '5001', 'jira-dc', '10001', 'DEMO-1', '9001', '2026-11-29 21:25:20.622905+00');
INSERT INTO asanajira_020.links (id, workspace_gid, task_gid, jira_server_id, issue_id, issue_key, created_by, created_at) OVERRIDING SYSTEM VALUE VALUES (2, '1201', '5002', 'jira-dc', '10002', 'DEMO-2', '9002', '2026-11-29 21:25:20.629938+00');
INSERT INTO asanajira_020.links (id, workspace_gid, task_gid, jira_server_id, issue_id, issue_key, created_by, created_at) OVERRIDING SYSTEM VALUE VALUES (3, '1201', '5003', 'jira-old', '20001', 'OPS-7', '9001', '2026-11-29 21:25:20.634559+00');


--
-- Data for Name: project_routes; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.project_routes (workspace_gid, project_gid, jira_server_id, jira_project_key, created_at) VALUES ('1201', '3001', 'jira-old', 'OPS', '2026-11-29 21:25:20.56704+00');
INSERT INTO asanajira_020.project_routes (workspace_gid, project_gid, jira_server_id, jira_project_key, created_at) VALUES ('1201', '3002', 'jira-dc', 'DEMO', '2026-11-29 21:25:20.569064+00');


--
-- Data for Name: river_job; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.river_job (id, state, attempt, max_attempts, attempted_at, created_at, finalized_at, scheduled_at, priority, args, attempted_by, errors, kind, metadata, queue, tags, unique_key, unique_states) VALUES (1, 'scheduled', 0, 25, NULL, '2026-11-29 21:25:20.699317+00', NULL, '2099-01-01 00:00:00+00', 1, '{"payload": {"issue": {"id": "10001", "key": "DEMO-1"}, "webhookEvent": "jira:issue_updated"}, "jira_server_id": "jira-dc"}', NULL, NULL, 'apply_jira_event', '{}', 'default', '{}', NULL, NULL);
INSERT INTO asanajira_020.river_job (id, state, attempt, max_attempts, attempted_at, created_at, finalized_at, scheduled_at, priority, args, attempted_by, errors, kind, metadata, queue, tags, unique_key, unique_states) VALUES (2, 'scheduled', 0, 25, NULL, '2026-11-29 21:25:20.703519+00', NULL, '2099-01-01 00:00:00+00', 1, '{"task_gid": "5002", "issue_key": "DEMO-2", "asana_user": "9002", "jira_server_id": "jira-dc"}', NULL, NULL, 'copy_attachments', '{}', 'default', '{}', NULL, NULL);


--
-- Data for Name: river_leader; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--



--
-- Data for Name: river_migration; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 1, '2026-11-29 21:25:20.3079+00');
INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 2, '2026-11-29 21:25:20.335155+00');
INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 3, '2026-11-29 21:25:20.421217+00');
INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 4, '2026-11-29 21:25:20.429669+00');
INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 5, '2026-11-29 21:25:20.441454+00');
INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 6, '2026-11-29 21:25:20.496672+00');
INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 7, '2026-11-29 21:25:20.499568+00');
INSERT INTO asanajira_020.river_migration (line, version, created_at) VALUES ('main', 8, '2026-11-29 21:25:20.527731+00');


--
-- Data for Name: river_notification; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--



--
-- Data for Name: river_queue; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--



--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.schema_migrations (version, name) VALUES (1, '001_initial.sql');


--
-- Data for Name: workspaces; Type: TABLE DATA; Schema: asanajira_020; Owner: -
--

INSERT INTO asanajira_020.workspaces (gid, name, created_at) VALUES ('1201', 'Acme', '2026-11-29 21:25:20.541038+00');
INSERT INTO asanajira_020.workspaces (gid, name, created_at) VALUES ('1202', 'Globex', '2026-11-29 21:25:20.549863+00');


--
-- Name: audit_log_id_seq; Type: SEQUENCE SET; Schema: asanajira_020; Owner: -
--

SELECT pg_catalog.setval('asanajira_020.audit_log_id_seq', 3, true);


--
-- Name: links_id_seq; Type: SEQUENCE SET; Schema: asanajira_020; Owner: -
--

SELECT pg_catalog.setval('asanajira_020.links_id_seq', 3, true);


--
-- Name: river_job_id_seq; Type: SEQUENCE SET; Schema: asanajira_020; Owner: -
--

SELECT pg_catalog.setval('asanajira_020.river_job_id_seq', 2, true);


--
-- Name: river_notification_id_seq; Type: SEQUENCE SET; Schema: asanajira_020; Owner: -
--

SELECT pg_catalog.setval('asanajira_020.river_notification_id_seq', 1, false);


--
-- Name: asana_users asana_users_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.asana_users
    ADD CONSTRAINT asana_users_pkey PRIMARY KEY (gid);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);


--
-- Name: auth_states auth_states_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.auth_states
    ADD CONSTRAINT auth_states_pkey PRIMARY KEY (state);


--
-- Name: connections connections_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.connections
    ADD CONSTRAINT connections_pkey PRIMARY KEY (workspace_gid, jira_server_id);


--
-- Name: idempotency_keys idempotency_keys_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key);


--
-- Name: jira_credentials jira_credentials_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.jira_credentials
    ADD CONSTRAINT jira_credentials_pkey PRIMARY KEY (asana_user_gid, jira_server_id);


--
-- Name: jira_servers jira_servers_base_url_key; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.jira_servers
    ADD CONSTRAINT jira_servers_base_url_key UNIQUE (base_url);


--
-- Name: jira_servers jira_servers_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.jira_servers
    ADD CONSTRAINT jira_servers_pkey PRIMARY KEY (id);


--
-- Name: links links_jira_server_id_issue_id_key; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.links
    ADD CONSTRAINT links_jira_server_id_issue_id_key UNIQUE (jira_server_id, issue_id);


--
-- Name: links links_jira_server_id_task_gid_key; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.links
    ADD CONSTRAINT links_jira_server_id_task_gid_key UNIQUE (jira_server_id, task_gid);


--
-- Name: links links_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.links
    ADD CONSTRAINT links_pkey PRIMARY KEY (id);


--
-- Name: project_routes project_routes_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.project_routes
    ADD CONSTRAINT project_routes_pkey PRIMARY KEY (workspace_gid, project_gid);


--
-- Name: river_job river_job_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.river_job
    ADD CONSTRAINT river_job_pkey PRIMARY KEY (id);


--
-- Name: river_leader river_leader_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.river_leader
    ADD CONSTRAINT river_leader_pkey PRIMARY KEY (name);


--
-- Name: river_migration river_migration_pkey1; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.river_migration
    ADD CONSTRAINT river_migration_pkey1 PRIMARY KEY (line, version);


--
-- Name: river_notification river_notification_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.river_notification
    ADD CONSTRAINT river_notification_pkey PRIMARY KEY (id);


--
-- Name: river_queue river_queue_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.river_queue
    ADD CONSTRAINT river_queue_pkey PRIMARY KEY (name);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: workspaces workspaces_pkey; Type: CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.workspaces
    ADD CONSTRAINT workspaces_pkey PRIMARY KEY (gid);


--
-- Name: connections_one_default; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE UNIQUE INDEX connections_one_default ON asanajira_020.connections USING btree (workspace_gid) WHERE is_default;


--
-- Name: jira_servers_consumer_key; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE UNIQUE INDEX jira_servers_consumer_key ON asanajira_020.jira_servers USING btree (consumer_key) WHERE (consumer_key <> ''::text);


--
-- Name: links_issue_key; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX links_issue_key ON asanajira_020.links USING btree (issue_key);


--
-- Name: links_task; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX links_task ON asanajira_020.links USING btree (task_gid);


--
-- Name: river_job_args_index; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX river_job_args_index ON asanajira_020.river_job USING gin (args);


--
-- Name: river_job_kind; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX river_job_kind ON asanajira_020.river_job USING btree (kind);


--
-- Name: river_job_metadata_index; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX river_job_metadata_index ON asanajira_020.river_job USING gin (metadata);


--
-- Name: river_job_prioritized_fetching_index; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX river_job_prioritized_fetching_index ON asanajira_020.river_job USING btree (state, queue, priority, scheduled_at, id);


--
-- Name: river_job_state_and_finalized_at_index; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX river_job_state_and_finalized_at_index ON asanajira_020.river_job USING btree (state, finalized_at) WHERE (finalized_at IS NOT NULL);


--
-- Name: river_job_unique_idx; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE UNIQUE INDEX river_job_unique_idx ON asanajira_020.river_job USING btree (unique_key) WHERE ((unique_key IS NOT NULL) AND (unique_states IS NOT NULL) AND asanajira_020.river_job_state_in_bitmask(unique_states, state));


--
-- Name: river_notification_created_at_idx; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX river_notification_created_at_idx ON asanajira_020.river_notification USING btree (created_at);


--
-- Name: river_notification_topic_id_idx; Type: INDEX; Schema: asanajira_020; Owner: -
--

CREATE INDEX river_notification_topic_id_idx ON asanajira_020.river_notification USING btree (topic, id);


--
-- Name: connections connections_jira_server_id_fkey; Type: FK CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.connections
    ADD CONSTRAINT connections_jira_server_id_fkey FOREIGN KEY (jira_server_id) REFERENCES asanajira_020.jira_servers(id) ON DELETE CASCADE;


--
-- Name: connections connections_workspace_gid_fkey; Type: FK CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.connections
    ADD CONSTRAINT connections_workspace_gid_fkey FOREIGN KEY (workspace_gid) REFERENCES asanajira_020.workspaces(gid) ON DELETE CASCADE;


--
-- Name: jira_credentials jira_credentials_asana_user_gid_fkey; Type: FK CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.jira_credentials
    ADD CONSTRAINT jira_credentials_asana_user_gid_fkey FOREIGN KEY (asana_user_gid) REFERENCES asanajira_020.asana_users(gid) ON DELETE CASCADE;


--
-- Name: jira_credentials jira_credentials_jira_server_id_fkey; Type: FK CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.jira_credentials
    ADD CONSTRAINT jira_credentials_jira_server_id_fkey FOREIGN KEY (jira_server_id) REFERENCES asanajira_020.jira_servers(id) ON DELETE CASCADE;


--
-- Name: links links_jira_server_id_fkey; Type: FK CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.links
    ADD CONSTRAINT links_jira_server_id_fkey FOREIGN KEY (jira_server_id) REFERENCES asanajira_020.jira_servers(id) ON DELETE CASCADE;


--
-- Name: project_routes project_routes_jira_server_id_fkey; Type: FK CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.project_routes
    ADD CONSTRAINT project_routes_jira_server_id_fkey FOREIGN KEY (jira_server_id) REFERENCES asanajira_020.jira_servers(id) ON DELETE CASCADE;


--
-- Name: project_routes project_routes_workspace_gid_fkey; Type: FK CONSTRAINT; Schema: asanajira_020; Owner: -
--

ALTER TABLE ONLY asanajira_020.project_routes
    ADD CONSTRAINT project_routes_workspace_gid_fkey FOREIGN KEY (workspace_gid) REFERENCES asanajira_020.workspaces(gid) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict LtVVVG6gND2R10QnnGqfUYlm5Z9TJav6XorjyU7cybD8FwSCRhOUkav7vvpkqCe

