package store

import (
	"context"
	"database/sql"
)

// RoutingQueries are the lookups a request makes to find its Jira server,
// each by key (the workspace's connections by the primary key's first
// column, one project's route by its primary key), so their cost does not
// grow with the number of workspaces, servers or routes.
type RoutingQueries interface {
	// ListWorkspaceConnections lists one workspace's connections, by Jira
	// server id.
	ListWorkspaceConnections(ctx context.Context, workspaceGID string) ([]Connection, error)
	// GetProjectRoute reads one Asana project's route (ErrNotFound when it
	// has none).
	GetProjectRoute(ctx context.Context, workspaceGID, projectGID string) (ProjectRoute, error)
}

func scanConnection(row scanner) (Connection, error) {
	var (
		c       Connection
		created sql.NullTime
	)
	err := row.Scan(&c.WorkspaceGID, &c.JiraServerID, &c.IsDefault, &created)
	c.CreatedAt = fromNullTime(created)
	return c, err
}

func (q queries) ListWorkspaceConnections(ctx context.Context, workspaceGID string) ([]Connection, error) {
	return list(ctx, q, "list connections of workspace "+workspaceGID, `SELECT workspace_gid, jira_server_id, is_default, created_at
		FROM connections WHERE workspace_gid = $1 ORDER BY jira_server_id`, scanConnection, workspaceGID)
}

func scanProjectRoute(row scanner) (ProjectRoute, error) {
	var (
		r       ProjectRoute
		created sql.NullTime
	)
	err := row.Scan(&r.WorkspaceGID, &r.ProjectGID, &r.JiraServerID, &r.JiraProjectKey, &created)
	r.CreatedAt = fromNullTime(created)
	return r, err
}

func (q queries) GetProjectRoute(ctx context.Context, workspaceGID, projectGID string) (ProjectRoute, error) {
	r, err := scanProjectRoute(q.q.QueryRowContext(ctx, `SELECT workspace_gid, project_gid, jira_server_id, jira_project_key, created_at
		FROM project_routes WHERE workspace_gid = $1 AND project_gid = $2`, workspaceGID, projectGID))
	return r, q.wrap("get route of project "+projectGID, err)
}
