-- 012, SQLite flavour: the Sync page reads each connection's
-- links and their changes each way; without these it read every link and
-- every change of the installation for each row (about 0.6 s a row at
-- 100,000 links).

-- A connection's links (workspace × Jira server).
CREATE INDEX links_connection ON links (workspace_gid, jira_server_id, id);

-- A link's changes from one side, newest or oldest first.
CREATE INDEX sync_changes_link_side ON sync_changes (link_id, side, id);
