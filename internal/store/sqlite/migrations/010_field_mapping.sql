-- 010, SQLite flavour: field mapping of the two-way sync (internal/syncengine).

-- A connection's field mapping (project_gid '') and the overrides of its
-- routed projects: which fields sync which way, the status → section table,
-- user overrides and domain aliases, as the sync engine's JSON document.
CREATE TABLE sync_field_mappings (
    workspace_gid  TEXT NOT NULL,
    jira_server_id TEXT NOT NULL,
    project_gid    TEXT NOT NULL DEFAULT '',
    mapping        TEXT NOT NULL,
    updated_by     TEXT NOT NULL DEFAULT '',
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_gid, jira_server_id, project_gid),
    FOREIGN KEY (workspace_gid, jira_server_id) REFERENCES connections (workspace_gid, jira_server_id) ON DELETE CASCADE
);

-- Per link and mapped field: the value each side last agreed on or the
-- engine last wrote (so a change equal to it is an echo), which side the
-- engine wrote last, and how many writes it made (naming each write in the
-- effects ledger).
CREATE TABLE sync_field_state (
    link_id     INTEGER NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    asana_value TEXT NOT NULL DEFAULT '',
    jira_value  TEXT NOT NULL DEFAULT '',
    written     TEXT NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (link_id, field)
);
