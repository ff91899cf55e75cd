-- 002, PostgreSQL flavour: rule action configurations get their own table, admins
-- are a table instead of audit-log entries, and signed App Components requests
-- are remembered for their validity window so a replay cannot act twice.

-- A rule action's configuration belongs to the Asana user who saved it
-- (owner_gid); a run must be signed as that user. Asana sends no action id
-- while a rule is being created, so a new rule's configuration waits as its
-- owner's pending one for (project, action type), action = '', until the
-- owner's first run adopts it under the action id.
CREATE TABLE rule_configs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action        TEXT NOT NULL DEFAULT '',
    project_gid   TEXT NOT NULL DEFAULT '',
    action_type   TEXT NOT NULL DEFAULT '',
    owner_gid     TEXT NOT NULL,
    workspace_gid TEXT NOT NULL DEFAULT '',
    config        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX rule_configs_action ON rule_configs (action) WHERE action <> '';
CREATE UNIQUE INDEX rule_configs_pending ON rule_configs (project_gid, action_type, owner_gid) WHERE action = '';

-- Rule configurations saved by earlier versions lived in idempotency_keys
-- (scope rule_action): by action id, or as "pending:<project>:<action type>"
-- holding the last configuration saved for the project by anyone. Each moves
-- here with the user who saved it as its owner; a pending one becomes that
-- user's pending configuration. The old rows had no Asana project or action
-- type for action ids; those stay empty and are not checked.
INSERT INTO rule_configs (action, project_gid, action_type, owner_gid, workspace_gid, config, created_at, updated_at)
SELECT CASE WHEN k.key LIKE 'pending:%' THEN '' ELSE k.key END,
       CASE WHEN k.key LIKE 'pending:%' THEN split_part(substr(k.key, 9), ':', 1) ELSE '' END,
       CASE WHEN k.key LIKE 'pending:%' THEN substr(k.key, 10 + length(split_part(substr(k.key, 9), ':', 1))) ELSE '' END,
       k.cfg ->> 'user', coalesce(k.cfg ->> 'workspace', ''), k.cfg::text, k.created_at, k.created_at
FROM (SELECT key, created_at, convert_from(result, 'UTF8')::jsonb AS cfg
      FROM idempotency_keys WHERE scope = 'rule_action' AND length(result) > 0) k
WHERE coalesce(k.cfg ->> 'user', '') <> '' AND coalesce(k.cfg ->> 'server_id', '') <> ''
  AND (k.key NOT LIKE 'pending:%' OR strpos(substr(k.key, 9), ':') > 0);
DELETE FROM idempotency_keys WHERE scope = 'rule_action';

-- Admins let in by a bootstrap link or granted by another admin (those in
-- --admins are recognised from the configuration). At most one row is the
-- bootstrap admin, so two people racing with bootstrap links make one admin.
CREATE TABLE admins (
    gid        TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    granted_by TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    bootstrap  BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX admins_one_bootstrap ON admins (bootstrap) WHERE bootstrap;

-- Earlier versions recognised every admin.grant in the audit log. The first
-- grant is the one the rule "only while there is no admin" allows; it stays
-- an admin, later grants do not (their audit entries stay).
INSERT INTO admins (gid, name, email, granted_by, granted_at, bootstrap)
SELECT target, split_part(actor, ' (', 1), '', 'bootstrap link', at, TRUE
FROM audit_log WHERE action = 'admin.grant' AND target <> '' ORDER BY id LIMIT 1;

-- Only the newest bootstrap link works: one live bootstrap state at a time.
-- Links printed by earlier versions are revoked.
DELETE FROM auth_states WHERE kind = 'admin-bootstrap';
CREATE UNIQUE INDEX auth_states_one_admin_bootstrap ON auth_states (kind) WHERE kind = 'admin-bootstrap';

-- Signed App Components requests that change something, by the SHA-256 of
-- their signature, kept until shortly after they expire: a replay within the
-- validity window is answered from the first answer (status 0 while the
-- first is still running) instead of acting twice, on every replica.
CREATE TABLE signed_requests (
    signature  TEXT PRIMARY KEY,
    route      TEXT NOT NULL,
    status     INTEGER NOT NULL DEFAULT 0,
    response   BYTEA,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX signed_requests_expires_at ON signed_requests (expires_at);
