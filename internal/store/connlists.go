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
// those workspaces, and what uses a server counted through its indexes,
// so that each page costs the same with a thousand workspaces.
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
	// CountServersUsers counts every server's users (credentials) and
	// links, each up to limit, in one statement: one round trip for a page
	// that lists the servers, however many there are.
	CountServersUsers(ctx context.Context, limit int) (map[string]ServerCounts, error)
}

// ServerCounts are a server's users and links, each counted up to a
// limit.
type ServerCounts struct {
	Users, Links int
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
	// Names compare in byte order (the index's), whatever the database's
	// collation, so that a name prefix is a range of the index.
	name := "lower(name)" + q.s.dialect.ByteOrder
	var (
		where []string
		args  params
	)
	arg := args.add
	switch query := strings.TrimSpace(f.Query); {
	case query == "":
	case digitsShape.MatchString(query):
		where = append(where, "gid = "+arg(query))
	default:
		prefix := strings.ToLower(query)
		where = append(where, name+" >= "+arg(prefix), name+" < "+arg(prefix+"\U0010FFFF"))
	}
	if f.AfterGID != "" {
		cond, ok, err := q.afterByName(ctx, "workspaces", name, f.AfterGID, arg)
		if err != nil || !ok {
			return nil, err
		}
		where = append(where, cond)
	}
	clause := ""
	if len(where) > 0 {
		clause = " WHERE " + strings.Join(where, " AND ")
	}
	return list(ctx, q, "list workspaces page", `SELECT gid, name, created_at FROM workspaces`+clause+
		` ORDER BY `+name+`, gid LIMIT `+arg(limitOr(f.Limit, 50, 500)), scanWorkspace, args...)
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

func (q queries) CountServersUsers(ctx context.Context, limit int) (map[string]ServerCounts, error) {
	// Each count reads the server's index up to the limit; the servers are
	// the one list read whole (a row per server an administrator connected).
	rows, err := q.q.QueryContext(ctx, `SELECT id,
		(SELECT count(*) FROM (SELECT 1 FROM jira_credentials c WHERE c.jira_server_id = jira_servers.id LIMIT $1) AS u),
		(SELECT count(*) FROM (SELECT 1 FROM links l WHERE l.jira_server_id = jira_servers.id LIMIT $1) AS k)
		FROM jira_servers ORDER BY name, id`, limit)
	if err != nil {
		return nil, q.wrap("count servers' users and links", err)
	}
	defer rows.Close()
	out := map[string]ServerCounts{}
	for rows.Next() {
		var (
			id string
			c  ServerCounts
		)
		if err := rows.Scan(&id, &c.Users, &c.Links); err != nil {
			return nil, q.wrap("count servers' users and links", err)
		}
		out[id] = c
	}
	return out, q.wrap("count servers' users and links", rows.Err())
}
