package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
)

// linkCountCap bounds the links counted per server on the connections page.
const linkCountCap = 500

var (
	gidPattern        = regexp.MustCompile(`^[0-9]{1,32}$`)
	projectKeyPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,49}$`)
)

type serverRow struct {
	Server        store.JiraServer
	LinkStatus    string
	WebhookStatus string
	Users         int
	Links         string
}

type connRow struct {
	ServerID, ServerName string
	IsDefault            bool
}

type routeRow struct {
	Route      store.ProjectRoute
	ServerName string
}

type workspaceRow struct {
	Workspace   store.Workspace
	Connections []connRow
	Routes      []routeRow
}

type connectionsData struct {
	Servers    []serverRow
	Workspaces []workspaceRow
}

func (c *Console) connectionsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.connections(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "connections", s, "Connections", d)
	return nil
}

// connections reads the whole page from the database.
func (c *Console) connections(ctx context.Context) (connectionsData, error) {
	var d connectionsData
	servers, err := c.d.Store.ListJiraServers(ctx)
	if err != nil {
		return d, fmt.Errorf("admin: connections: %w", err)
	}
	names := map[string]string{}
	for _, srv := range servers {
		names[srv.ID] = srv.Name
		creds, err := c.d.Store.ListJiraCredentials(ctx, srv.ID)
		if err != nil {
			return d, fmt.Errorf("admin: connections: %w", err)
		}
		links, err := c.d.Store.ListLinks(ctx, store.LinkFilter{JiraServerID: srv.ID, Limit: linkCountCap})
		if err != nil {
			return d, fmt.Errorf("admin: connections: %w", err)
		}
		row := serverRow{Server: srv, Users: len(creds), Links: strconv.Itoa(len(links)),
			LinkStatus: "not created", WebhookStatus: "not registered"}
		if len(links) == linkCountCap {
			row.Links = strconv.Itoa(linkCountCap) + "+"
		}
		switch srv.AppLinkID {
		case "":
		case manualLinkID:
			row.LinkStatus = "created by hand"
		default:
			row.LinkStatus = "created automatically"
		}
		if srv.WebhookURL != "" {
			row.WebhookStatus = "registered"
		}
		d.Servers = append(d.Servers, row)
	}
	workspaces, err := c.d.Store.ListWorkspaces(ctx)
	if err != nil {
		return d, fmt.Errorf("admin: connections: %w", err)
	}
	conns, err := c.d.Store.ListConnections(ctx)
	if err != nil {
		return d, fmt.Errorf("admin: connections: %w", err)
	}
	for _, ws := range workspaces {
		row := workspaceRow{Workspace: ws}
		for _, cn := range conns {
			if cn.WorkspaceGID == ws.GID {
				row.Connections = append(row.Connections, connRow{ServerID: cn.JiraServerID, ServerName: names[cn.JiraServerID], IsDefault: cn.IsDefault})
			}
		}
		// Server ids are random; show the connections in name order.
		slices.SortFunc(row.Connections, func(a, b connRow) int { return cmp.Compare(a.ServerName, b.ServerName) })
		routes, err := c.d.Store.ListProjectRoutes(ctx, ws.GID)
		if err != nil {
			return d, fmt.Errorf("admin: connections: %w", err)
		}
		for _, rt := range routes {
			row.Routes = append(row.Routes, routeRow{Route: rt, ServerName: names[rt.JiraServerID]})
		}
		d.Workspaces = append(d.Workspaces, row)
	}
	return d, nil
}

func (c *Console) addWorkspace(w http.ResponseWriter, r *http.Request, s *session) error {
	gid, name := strings.TrimSpace(r.PostFormValue("gid")), strings.TrimSpace(r.PostFormValue("name"))
	if !gidPattern.MatchString(gid) {
		return httpx.Errorf(http.StatusUnprocessableEntity, "an Asana workspace gid is a number, like 1201000000000001 (it is in the workspace's URLs)")
	}
	if name == "" {
		name = "Workspace " + gid
	}
	if err := c.d.Store.PutWorkspace(r.Context(), store.Workspace{GID: gid, Name: name}); err != nil {
		return fmt.Errorf("admin: add workspace: %w", err)
	}
	if err := c.audit(r.Context(), s, "workspace.add", gid, name); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Workspace "+name+" added. Connect it to a Jira server below.")
}

type asanaWorkspace struct {
	GID, Name string
	Added     bool
}

type asanaWorkspacesData struct {
	Workspaces []asanaWorkspace
	Error      string
}

// asanaWorkspacesPage lists the workspaces the signed-in admin belongs to,
// with the token from their sign-in.
func (c *Console) asanaWorkspacesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	var d asanaWorkspacesData
	if s.AsanaToken == "" {
		d.Error = "This session was not started with Asana sign-in; add the workspace by its gid instead."
		c.render(w, r, http.StatusOK, "workspaces_asana", s, "Your Asana workspaces", d)
		return nil
	}
	known, err := c.d.Store.ListWorkspaces(r.Context())
	if err != nil {
		return fmt.Errorf("admin: asana workspaces: %w", err)
	}
	for ws, err := range c.asanaClient(s.AsanaToken).Workspaces(r.Context()) {
		if err != nil {
			c.log.WarnContext(r.Context(), "admin: list Asana workspaces", "error", err)
			d.Error = "Asana did not list your workspaces (the sign-in may have expired); sign out and in again, or add the workspace by its gid."
			break
		}
		d.Workspaces = append(d.Workspaces, asanaWorkspace{GID: ws.GID, Name: ws.Name,
			Added: slices.ContainsFunc(known, func(k store.Workspace) bool { return k.GID == ws.GID })})
	}
	c.render(w, r, http.StatusOK, "workspaces_asana", s, "Your Asana workspaces", d)
	return nil
}

// requireBoth checks that the workspace and the server a form names exist.
func (c *Console) requireBoth(ctx context.Context, gid, serverID string) (store.Workspace, store.JiraServer, error) {
	ws, err := c.d.Store.GetWorkspace(ctx, gid)
	if errors.Is(err, store.ErrNotFound) {
		return ws, store.JiraServer{}, httpx.Errorf(http.StatusUnprocessableEntity, "no workspace %q; add it first", gid)
	}
	if err != nil {
		return ws, store.JiraServer{}, fmt.Errorf("admin: %w", err)
	}
	srv, err := c.loadServer(ctx, serverID)
	return ws, srv, err
}

func (c *Console) putConnection(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	ws, srv, err := c.requireBoth(ctx, r.PostFormValue("workspace"), r.PostFormValue("server"))
	if err != nil {
		return err
	}
	isDefault := r.PostFormValue("default") != ""
	if err := c.d.Store.PutConnection(ctx, store.Connection{WorkspaceGID: ws.GID, JiraServerID: srv.ID, IsDefault: isDefault}); err != nil {
		return fmt.Errorf("admin: connect: %w", err)
	}
	detail := ws.Name + " × " + srv.Name
	if isDefault {
		detail += " (default for the workspace's projects)"
	}
	if err := c.audit(ctx, s, "connection.put", ws.GID+"/"+srv.ID, detail); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Connected "+detail+".")
}

func (c *Console) deleteConnection(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	gid, id := r.PostFormValue("workspace"), r.PostFormValue("server")
	err := c.d.Store.DeleteConnection(ctx, gid, id)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, "that connection does not exist (any more)")
	}
	if err != nil {
		return fmt.Errorf("admin: disconnect: %w", err)
	}
	if err := c.audit(ctx, s, "connection.delete", gid+"/"+id, ""); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Connection removed.")
}

func (c *Console) putRoute(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	ws, srv, err := c.requireBoth(ctx, r.PostFormValue("workspace"), r.PostFormValue("server"))
	if err != nil {
		return err
	}
	project := strings.TrimSpace(r.PostFormValue("project"))
	key := strings.ToUpper(strings.TrimSpace(r.PostFormValue("jira_project")))
	if !gidPattern.MatchString(project) {
		return httpx.Errorf(http.StatusUnprocessableEntity, "an Asana project gid is a number (it is in the project's URL)")
	}
	if key != "" && !projectKeyPattern.MatchString(key) {
		return httpx.Errorf(http.StatusUnprocessableEntity, "a Jira project key is letters and digits starting with a letter, like OPS")
	}
	conns, err := c.d.Store.ListConnections(ctx)
	if err != nil {
		return fmt.Errorf("admin: route: %w", err)
	}
	if !slices.ContainsFunc(conns, func(cn store.Connection) bool { return cn.WorkspaceGID == ws.GID && cn.JiraServerID == srv.ID }) {
		return httpx.Errorf(http.StatusUnprocessableEntity, "connect %s to %s before routing its projects there", ws.Name, srv.Name)
	}
	if err := c.d.Store.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: ws.GID, ProjectGID: project, JiraServerID: srv.ID, JiraProjectKey: key}); err != nil {
		return fmt.Errorf("admin: route: %w", err)
	}
	detail := "project " + project + " → " + srv.Name
	if key != "" {
		detail += " (" + key + ")"
	}
	if err := c.audit(ctx, s, "route.put", ws.GID+"/"+project, detail); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Route saved: "+detail+".")
}

func (c *Console) deleteRoute(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	gid, project := r.PostFormValue("workspace"), r.PostFormValue("project")
	err := c.d.Store.DeleteProjectRoute(ctx, gid, project)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, "that route does not exist (any more)")
	}
	if err != nil {
		return fmt.Errorf("admin: delete route: %w", err)
	}
	if err := c.audit(ctx, s, "route.delete", gid+"/"+project, ""); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Route removed; the project follows the workspace default again.")
}
