-- 017, PostgreSQL flavour: the console's Connections and Sync pages show a
-- page of workspaces by name (or the ones whose name starts as searched),
-- with the connections and routes of just those; a server's page counts
-- the workspaces and projects that use it. Without these each read every
-- workspace, connection and route of the installation.

-- Workspaces by name, case ignored, in byte order, then gid: a page, a
-- name prefix.
CREATE INDEX workspaces_name ON workspaces ((lower(name) COLLATE "C"), gid);

-- A server's connections and the project routes to it.
CREATE INDEX connections_server ON connections (jira_server_id, workspace_gid);
CREATE INDEX project_routes_server ON project_routes (jira_server_id);
