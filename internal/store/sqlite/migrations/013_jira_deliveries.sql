-- 013, SQLite flavour: Jira webhook deliveries as received. The receiver
-- stores each new delivery here (many in one transaction: group commit)
-- with the job that applies it, so a job names rows instead of carrying
-- 15 KiB of payload in its arguments; the unique key recognises Jira's
-- second delivery of one change. An applied row keeps its key, not its
-- payload, until it expires.
CREATE TABLE jira_deliveries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    jira_server_id TEXT NOT NULL REFERENCES jira_servers (id) ON DELETE CASCADE,
    dedup_key      TEXT NOT NULL,
    event          TEXT NOT NULL,
    issue_id       TEXT NOT NULL DEFAULT '',
    payload        BLOB NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    applied_at     TIMESTAMP,
    UNIQUE (jira_server_id, dedup_key)
);
CREATE INDEX jira_deliveries_expires ON jira_deliveries (expires_at);
