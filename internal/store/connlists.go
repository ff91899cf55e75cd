package store

import (
	"context"
	"database/sql"
	"strings"
)

// WorkspaceFilter pages through workspaces ordered by name (case
// ignored). Query, when set, is a workspace gid (digits) or the start of a
// name, in any case. The page starts after the workspace AfterGID.
type WorkspaceFilter struct {
	Query    string
	AfterGID string
	Limit    int
}

// ConnectionListQueries serve the console's Connections, Sync and server
// pages: a page of workspaces with the connections and routes of just
// those workspaces, a page of servers, and what uses a server counted
// through its indexes, so that each page costs the same with a thousand
// workspaces and fifty servers.
type ConnectionListQueries interface {
	ListWorkspacesPage(ctx context.Context, f WorkspaceFilter) ([]Workspace, error)
	// ListConnectionsOf lists the connections of the given workspaces, by
	// workspace then server id.
	ListConnectionsOf(ctx context.Context, workspaceGIDs []string) ([]Connection, error)
	// ListProjectRoutesOf lists the project routes of the given workspaces,
	// by workspace then project.
	ListProjectRoutesOf(ctx context.Context, workspaceGIDs []string) ([]ProjectRoute, error)
	// CountServerUse counts the workspaces connected to a server and the
	// project routes to it.
	CountServerUse(ctx context.Context, jiraServerID string) (connections, routes int, err error)
	// ListServerWorkspaces lists up to limit of the workspaces connected to
	// a server, by gid.
	ListServerWorkspaces(ctx context.Context, jiraServerID string, limit int) ([]Workspace, error)
	// ListJiraServersPage lists a page of the Jira servers by name (case
	// ignored) then id, with what a list shows of each (id, name, base
	// URL, version, status, when checked, application link id, webhook
	// URL) and no secret read or opened.
	ListJiraServersPage(ctx context.Context, f JiraServerFilter) ([]JiraServer, error)
}

// JiraServerFilter pages through the Jira servers by name (case ignored)
// then id. The page starts after the server AfterID.
type JiraServerFilter struct {
	AfterID string
	Limit   int
}

func scanWorkspace(row scanner) (Workspace, error) {
	var (
		w       Workspace
		created sql.NullTime
	)
	err := row.Scan(&w.GID, &w.Name, &created)
	w.CreatedAt = fromNullTime(created)
	return w, err
}

func (q queries) ListWorkspacesPage(ctx context.Context, f WorkspaceFilter) ([]Workspace, error) {
	return pageByName(ctx, q, "list workspaces page", nameOrder{table: "workspaces", key: "gid", columns: "gid, name, created_at"},
		f.Query, f.AfterGID, f.Limit, scanWorkspace)
}

// in is the placeholders of an IN list of values, numbered from 1, and
// the values as arguments.
func in(values []string) (string, []any) {
	var args params
	marks := make([]string, len(values))
	for i, v := range values {
		marks[i] = args.add(v)
	}
	return strings.Join(marks, ", "), args
}

func (q queries) ListConnectionsOf(ctx context.Context, workspaceGIDs []string) ([]Connection, error) {
	if len(workspaceGIDs) == 0 {
		return nil, nil
	}
	marks, args := in(workspaceGIDs)
	return list(ctx, q, "list connections of workspaces", `SELECT workspace_gid, jira_server_id, is_default, created_at
		FROM connections WHERE workspace_gid IN (`+marks+`) ORDER BY workspace_gid, jira_server_id`, scanConnection, args...)
}

func (q queries) ListProjectRoutesOf(ctx context.Context, workspaceGIDs []string) ([]ProjectRoute, error) {
	if len(workspaceGIDs) == 0 {
		return nil, nil
	}
	marks, args := in(workspaceGIDs)
	return list(ctx, q, "list project routes of workspaces", `SELECT workspace_gid, project_gid, jira_server_id, jira_project_key, created_at
		FROM project_routes WHERE workspace_gid IN (`+marks+`) ORDER BY workspace_gid, project_gid`, scanProjectRoute, args...)
}

func (q queries) CountServerUse(ctx context.Context, jiraServerID string) (connections, routes int, err error) {
	err = q.q.QueryRowContext(ctx, `SELECT count(*) FROM connections WHERE jira_server_id = $1`, jiraServerID).Scan(&connections)
	if err != nil {
		return 0, 0, q.wrap("count connections of server "+jiraServerID, err)
	}
	err = q.q.QueryRowContext(ctx, `SELECT count(*) FROM project_routes WHERE jira_server_id = $1`, jiraServerID).Scan(&routes)
	return connections, routes, q.wrap("count routes to server "+jiraServerID, err)
}

func (q queries) ListServerWorkspaces(ctx context.Context, jiraServerID string, limit int) ([]Workspace, error) {
	return list(ctx, q, "list workspaces of server "+jiraServerID, `SELECT w.gid, w.name, w.created_at
		FROM connections c JOIN workspaces w ON w.gid = c.workspace_gid
		WHERE c.jira_server_id = $1 ORDER BY c.workspace_gid LIMIT $2`, scanWorkspace, jiraServerID, limitOr(limit, 10, 500))
}

func (q queries) ListJiraServersPage(ctx context.Context, f JiraServerFilter) ([]JiraServer, error) {
	return pageByName(ctx, q, "list jira servers page", nameOrder{table: "jira_servers", key: "id", columns: jiraServerSummaryColumns},
		"", f.AfterID, f.Limit, scanJiraServerSummary)
}

// jiraServerSummaryColumns are what a list of servers shows: no secret.
const jiraServerSummaryColumns = `id, name, base_url, version, status, checked_at, applink_id, webhook_url`

func scanJiraServerSummary(row scanner) (JiraServer, error) {
	var (
		j       JiraServer
		checked sql.NullTime
	)
	err := row.Scan(&j.ID, &j.Name, &j.BaseURL, &j.Version, &j.Status, &checked, &j.AppLinkID, &j.WebhookURL)
	j.CheckedAt = fromNullTime(checked)
	return j, err
}
