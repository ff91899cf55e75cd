-- asanajira schema, PostgreSQL flavour. Secrets are sealed BLOBs (see internal/secrets);
-- times are UTC with microsecond precision.
CREATE TABLE jira_servers (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    base_url             TEXT NOT NULL UNIQUE,
    connect_address      TEXT NOT NULL DEFAULT '',
    consumer_key         TEXT NOT NULL DEFAULT '',
    private_key          BYTEA,
    public_key_pem       TEXT NOT NULL DEFAULT '',
    version              TEXT NOT NULL DEFAULT '',
    auth_methods         TEXT NOT NULL DEFAULT '',
    oauth2_client_id     TEXT NOT NULL DEFAULT '',
    oauth2_client_secret BYTEA,
    webhook_secret       BYTEA,
    webhook_url          TEXT NOT NULL DEFAULT '',
    applink_id           TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT '',
    checked_at           TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX jira_servers_consumer_key ON jira_servers (consumer_key) WHERE consumer_key <> '';

CREATE TABLE workspaces (
    gid        TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE connections (
    workspace_gid  TEXT NOT NULL REFERENCES workspaces (gid) ON DELETE CASCADE,
    jira_server_id TEXT NOT NULL REFERENCES jira_servers (id) ON DELETE CASCADE,
    is_default     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_gid, jira_server_id)
);
CREATE UNIQUE INDEX connections_one_default ON connections (workspace_gid) WHERE is_default;

CREATE TABLE project_routes (
    workspace_gid    TEXT NOT NULL REFERENCES workspaces (gid) ON DELETE CASCADE,
    project_gid      TEXT NOT NULL,
    jira_server_id   TEXT NOT NULL REFERENCES jira_servers (id) ON DELETE CASCADE,
    jira_project_key TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_gid, project_gid)
);

CREATE TABLE asana_users (
    gid              TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    access_token     BYTEA,
    refresh_token    BYTEA,
    expiry           TIMESTAMPTZ,
    reconnect_needed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE jira_credentials (
    asana_user_gid    TEXT NOT NULL REFERENCES asana_users (gid) ON DELETE CASCADE,
    jira_server_id    TEXT NOT NULL REFERENCES jira_servers (id) ON DELETE CASCADE,
    method            TEXT NOT NULL,
    access_token      BYTEA,
    token_secret      BYTEA,
    refresh_token     BYTEA,
    expiry            TIMESTAMPTZ,
    jira_username     TEXT NOT NULL DEFAULT '',
    jira_display_name TEXT NOT NULL DEFAULT '',
    reconnect_needed  BOOLEAN NOT NULL DEFAULT FALSE,
    reconnect_reason  TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (asana_user_gid, jira_server_id)
);

CREATE TABLE auth_states (
    state      TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    data       BYTEA,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE links (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_gid  TEXT NOT NULL,
    task_gid       TEXT NOT NULL,
    jira_server_id TEXT NOT NULL REFERENCES jira_servers (id) ON DELETE CASCADE,
    issue_id       TEXT NOT NULL,
    issue_key      TEXT NOT NULL,
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (jira_server_id, task_gid),
    UNIQUE (jira_server_id, issue_id)
);
CREATE INDEX links_task ON links (task_gid);
CREATE INDEX links_issue_key ON links (issue_key);

CREATE TABLE idempotency_keys (
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    result     BYTEA,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE audit_log (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
