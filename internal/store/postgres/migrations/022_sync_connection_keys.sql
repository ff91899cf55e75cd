-- 022, PostgreSQL flavour: each row of the console's Sync page sums up a
-- connection's sync (its links' errors and last sync, per side the changes
-- waiting, the oldest and the last). Reached through links_connection
-- (012), each figure read every link of the connection and its changes:
-- a row cost in proportion to the connection's links. The connection's
-- key, copied from the link on every insert (a link never changes
-- connection), makes each figure a range of an index by connection.
ALTER TABLE sync_changes ADD COLUMN workspace_gid TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_changes ADD COLUMN jira_server_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_link_state ADD COLUMN workspace_gid TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_link_state ADD COLUMN jira_server_id TEXT NOT NULL DEFAULT '';

UPDATE sync_changes c SET workspace_gid = l.workspace_gid, jira_server_id = l.jira_server_id
FROM links l WHERE l.id = c.link_id;
UPDATE sync_link_state s SET workspace_gid = l.workspace_gid, jira_server_id = l.jira_server_id
FROM links l WHERE l.id = s.link_id;

-- A connection's changes from one side: the last one; those waiting, the
-- oldest first.
CREATE INDEX sync_changes_connection ON sync_changes (workspace_gid, jira_server_id, side, id);
CREATE INDEX sync_changes_connection_pending ON sync_changes (workspace_gid, jira_server_id, side, id) WHERE applied_at IS NULL;

-- A connection's links by their last sync; those showing an error, the
-- latest first.
CREATE INDEX sync_link_state_connection ON sync_link_state (workspace_gid, jira_server_id, last_synced_at);
CREATE INDEX sync_link_state_errors ON sync_link_state (workspace_gid, jira_server_id, last_error_at DESC, link_id)
    WHERE last_error <> '';
