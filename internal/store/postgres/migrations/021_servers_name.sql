-- 021, PostgreSQL flavour: the console's Connections page lists the Jira
-- servers a page at a time by name, case ignored, in byte order, then id,
-- as it lists workspaces (017): without this index each page sorted every
-- server.
CREATE INDEX jira_servers_name ON jira_servers ((lower(name) COLLATE "C"), id);
