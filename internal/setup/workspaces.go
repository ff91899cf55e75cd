package setup

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/store"
)

var (
	gidPattern        = regexp.MustCompile(`^[0-9]{1,32}$`)
	projectKeyPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,49}$`)
)

// ValidGID reports whether s looks like an Asana gid.
func ValidGID(s string) bool { return gidPattern.MatchString(s) }

// Workspaces lists the Asana workspaces asanajira serves, in name order.
func (s *Service) Workspaces(ctx context.Context) ([]store.Workspace, error) {
	ws, err := s.st.ListWorkspaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("setup: list workspaces: %w", err)
	}
	return ws, nil
}

// Workspace returns a workspace by gid.
func (s *Service) Workspace(ctx context.Context, gid string) (store.Workspace, error) {
	ws, err := s.st.GetWorkspace(ctx, gid)
	if errors.Is(err, store.ErrNotFound) {
		return ws, notFound("No workspace %q; add it first.", gid)
	}
	if err != nil {
		return ws, fmt.Errorf("setup: %w", err)
	}
	return ws, nil
}

// FindWorkspace returns the workspace a person names, by gid or name.
func (s *Service) FindWorkspace(ctx context.Context, ref string) (store.Workspace, error) {
	ref = strings.TrimSpace(ref)
	all, err := s.Workspaces(ctx)
	if err != nil {
		return store.Workspace{}, err
	}
	ws, n := pick(all, func(ws store.Workspace) bool { return ws.GID == ref },
		func(ws store.Workspace) bool { return strings.EqualFold(ws.Name, ref) })
	switch n {
	case 1:
		return ws, nil
	case 0:
		return ws, notFound("No workspace %q: name one by its gid or name (asanajira workspace list).", ref)
	}
	return ws, invalid("%d workspaces are named %q; name one by its gid.", n, ref)
}

// AddWorkspace adds an Asana workspace, or renames one asanajira knows.
// Without a name it is called "Workspace <gid>". It reports whether
// anything changed.
func (s *Service) AddWorkspace(ctx context.Context, actor Actor, gid, name string) (store.Workspace, bool, error) {
	if err := need(actor); err != nil {
		return store.Workspace{}, false, err
	}
	gid, name = strings.TrimSpace(gid), strings.TrimSpace(name)
	if !gidPattern.MatchString(gid) {
		return store.Workspace{}, false, invalid("An Asana workspace gid is a number, like 1201000000000001 (it is in the workspace's URLs).")
	}
	if name == "" {
		name = "Workspace " + gid
	}
	old, err := s.st.GetWorkspace(ctx, gid)
	switch {
	case err == nil && old.Name == name:
		return old, false, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return old, false, fmt.Errorf("setup: add workspace: %w", err)
	}
	ws := store.Workspace{GID: gid, Name: name}
	if err := s.st.PutWorkspace(ctx, ws); err != nil {
		return ws, false, fmt.Errorf("setup: add workspace: %w", err)
	}
	action, detail := "workspace.add", name
	if old.GID != "" {
		action, detail = "workspace.rename", fmt.Sprintf("%q → %q", old.Name, name)
	}
	if ws, err = s.Workspace(ctx, gid); err != nil {
		return ws, true, err
	}
	return ws, true, s.audit(ctx, actor, action, gid, detail)
}

// RemoveWorkspace removes a workspace with its connections and routes.
// Links of its tasks stay (they belong to their Jira server).
func (s *Service) RemoveWorkspace(ctx context.Context, actor Actor, gid string) error {
	if err := need(actor); err != nil {
		return err
	}
	ws, err := s.Workspace(ctx, gid)
	if err != nil {
		return err
	}
	if err := s.st.DeleteWorkspace(ctx, gid); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("No workspace %q; it may have been removed.", gid)
		}
		return fmt.Errorf("setup: remove workspace: %w", err)
	}
	return s.audit(ctx, actor, "workspace.delete", gid, ws.Name)
}

// requireBoth checks that a workspace and a server exist.
func (s *Service) requireBoth(ctx context.Context, gid, serverID string) (store.Workspace, store.JiraServer, error) {
	ws, err := s.Workspace(ctx, gid)
	if err != nil {
		var se *Error
		if errors.As(err, &se) && se.Code == NotFound {
			se.Code = Invalid
		}
		return ws, store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, serverID)
	return ws, srv, err
}

// Connections lists every workspace × server connection.
func (s *Service) Connections(ctx context.Context) ([]store.Connection, error) {
	cs, err := s.st.ListConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("setup: list connections: %w", err)
	}
	return cs, nil
}

// workspaceConnections lists one workspace's connections by its key, not
// every connection of the installation.
func (s *Service) workspaceConnections(ctx context.Context, gid string) ([]store.Connection, error) {
	conns, err := s.st.ListWorkspaceConnections(ctx, gid)
	if err != nil {
		return nil, fmt.Errorf("setup: connections of %s: %w", gid, err)
	}
	return conns, nil
}

// Connect lets a workspace use a server; isDefault makes the server the
// route of the workspace's projects that have no override (and the
// workspace's other connections not default). It reports whether anything
// changed.
func (s *Service) Connect(ctx context.Context, actor Actor, gid, serverID string, isDefault bool) (bool, error) {
	if err := need(actor); err != nil {
		return false, err
	}
	ws, srv, err := s.requireBoth(ctx, gid, serverID)
	if err != nil {
		return false, err
	}
	conns, err := s.workspaceConnections(ctx, ws.GID)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(conns, func(c store.Connection) bool { return c.JiraServerID == srv.ID && c.IsDefault == isDefault }) {
		return false, nil
	}
	if err := s.st.PutConnection(ctx, store.Connection{WorkspaceGID: ws.GID, JiraServerID: srv.ID, IsDefault: isDefault}); err != nil {
		return false, fmt.Errorf("setup: connect: %w", err)
	}
	detail := ws.Name + " × " + srv.Name
	if isDefault {
		detail += " (default for the workspace's projects)"
	}
	return true, s.audit(ctx, actor, "connection.put", ws.GID+"/"+srv.ID, detail)
}

// Disconnect removes a connection; the workspace's routes to that server
// go with it.
func (s *Service) Disconnect(ctx context.Context, actor Actor, gid, serverID string) error {
	if err := need(actor); err != nil {
		return err
	}
	err := s.st.DeleteConnection(ctx, gid, serverID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("That connection does not exist (any more).")
	}
	if err != nil {
		return fmt.Errorf("setup: disconnect: %w", err)
	}
	return s.audit(ctx, actor, "connection.delete", gid+"/"+serverID, "")
}

// Routes lists a workspace's project routes ("" lists every workspace's).
func (s *Service) Routes(ctx context.Context, gid string) ([]store.ProjectRoute, error) {
	var gids []string
	if gid != "" {
		gids = []string{gid}
	} else {
		all, err := s.Workspaces(ctx)
		if err != nil {
			return nil, err
		}
		for _, ws := range all {
			gids = append(gids, ws.GID)
		}
	}
	var out []store.ProjectRoute
	for _, g := range gids {
		rs, err := s.st.ListProjectRoutes(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("setup: list routes: %w", err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// SetRoute routes an Asana project to a server the workspace is connected
// to, optionally preselecting a Jira project. It reports whether anything
// changed.
func (s *Service) SetRoute(ctx context.Context, actor Actor, r store.ProjectRoute) (bool, error) {
	if err := need(actor); err != nil {
		return false, err
	}
	ws, srv, err := s.requireBoth(ctx, r.WorkspaceGID, r.JiraServerID)
	if err != nil {
		return false, err
	}
	project := strings.TrimSpace(r.ProjectGID)
	key := strings.ToUpper(strings.TrimSpace(r.JiraProjectKey))
	if !gidPattern.MatchString(project) {
		return false, invalid("An Asana project gid is a number (it is in the project's URL).")
	}
	if key != "" && !projectKeyPattern.MatchString(key) {
		return false, invalid("A Jira project key is letters and digits starting with a letter, like OPS.")
	}
	conns, err := s.workspaceConnections(ctx, ws.GID)
	if err != nil {
		return false, err
	}
	if !slices.ContainsFunc(conns, func(cn store.Connection) bool { return cn.JiraServerID == srv.ID }) {
		return false, invalid("Connect %s to %s before routing its projects there.", ws.Name, srv.Name)
	}
	routes, err := s.Routes(ctx, ws.GID)
	if err != nil {
		return false, err
	}
	if slices.ContainsFunc(routes, func(x store.ProjectRoute) bool {
		return x.ProjectGID == project && x.JiraServerID == srv.ID && x.JiraProjectKey == key
	}) {
		return false, nil
	}
	if err := s.st.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: ws.GID, ProjectGID: project, JiraServerID: srv.ID, JiraProjectKey: key}); err != nil {
		return false, fmt.Errorf("setup: route: %w", err)
	}
	return true, s.audit(ctx, actor, "route.put", ws.GID+"/"+project, RouteDetail(project, srv.Name, key))
}

// RouteDetail describes a route in words.
func RouteDetail(project, serverName, key string) string {
	detail := "project " + project + " → " + serverName
	if key != "" {
		detail += " (" + key + ")"
	}
	return detail
}

// RemoveRoute removes a project's route; the project follows the
// workspace's default again.
func (s *Service) RemoveRoute(ctx context.Context, actor Actor, gid, project string) error {
	if err := need(actor); err != nil {
		return err
	}
	err := s.st.DeleteProjectRoute(ctx, gid, project)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("That route does not exist (any more).")
	}
	if err != nil {
		return fmt.Errorf("setup: delete route: %w", err)
	}
	return s.audit(ctx, actor, "route.delete", gid+"/"+project, "")
}

// linkCountCap bounds the links counted per server in the overview.
const linkCountCap = 500

// ServerSummary is a server as the overview lists it.
type ServerSummary struct {
	Server       store.JiraServer
	LinkState    string
	WebhookState string
	// Users is how many Asana users authorized on the server.
	Users int
	// Links is how many task ↔ issue links it has, counted up to 500
	// (LinksCapped then says there are more).
	Links       int
	LinksCapped bool
}

// ConnectionSummary is one of a workspace's connections.
type ConnectionSummary struct {
	ServerID, ServerName string
	IsDefault            bool
}

// RouteSummary is one of a workspace's project routes.
type RouteSummary struct {
	Route      store.ProjectRoute
	ServerName string
}

// WorkspaceSummary is a workspace with its connections (in server name
// order) and routes.
type WorkspaceSummary struct {
	Workspace   store.Workspace
	Connections []ConnectionSummary
	Routes      []RouteSummary
}

// Overview is every server and workspace with how they are connected.
type Overview struct {
	Servers    []ServerSummary
	Workspaces []WorkspaceSummary
}

// Overview reads servers, workspaces, connections and routes from the
// database, so it never depends on Jira or Asana answering.
func (s *Service) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	servers, err := s.Servers(ctx)
	if err != nil {
		return o, err
	}
	names := map[string]string{}
	for _, srv := range servers {
		names[srv.ID] = srv.Name
		// Counted through the indexes: a server may have thousands of
		// users and links, whose sealed tokens a list would open.
		users, err := s.st.CountJiraCredentials(ctx, srv.ID)
		if err != nil {
			return o, fmt.Errorf("setup: overview: %w", err)
		}
		links, err := s.st.CountLinks(ctx, srv.ID, linkCountCap)
		if err != nil {
			return o, fmt.Errorf("setup: overview: %w", err)
		}
		o.Servers = append(o.Servers, ServerSummary{Server: srv, LinkState: linkState(srv), WebhookState: WebhookState(srv),
			Users: users, Links: links, LinksCapped: links == linkCountCap})
	}
	workspaces, err := s.Workspaces(ctx)
	if err != nil {
		return o, err
	}
	conns, err := s.Connections(ctx)
	if err != nil {
		return o, err
	}
	for _, ws := range workspaces {
		row := WorkspaceSummary{Workspace: ws}
		for _, cn := range conns {
			if cn.WorkspaceGID == ws.GID {
				row.Connections = append(row.Connections, ConnectionSummary{ServerID: cn.JiraServerID, ServerName: names[cn.JiraServerID], IsDefault: cn.IsDefault})
			}
		}
		// Server ids are random; show the connections in name order.
		slices.SortFunc(row.Connections, func(a, b ConnectionSummary) int { return cmp.Compare(a.ServerName, b.ServerName) })
		routes, err := s.st.ListProjectRoutes(ctx, ws.GID)
		if err != nil {
			return o, fmt.Errorf("setup: overview: %w", err)
		}
		for _, rt := range routes {
			row.Routes = append(row.Routes, RouteSummary{Route: rt, ServerName: names[rt.JiraServerID]})
		}
		o.Workspaces = append(o.Workspaces, row)
	}
	return o, nil
}
