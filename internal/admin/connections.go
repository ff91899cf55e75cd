package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// connectionsPage shows servers × workspaces with their routing, and
// changes workspaces, connections and routes through the setup service.
type connectionsPage struct{ *base }

func (c *connectionsPage) mount(m *http.ServeMux) {
	m.Handle("GET /admin/connections", c.admin(c.page))
	m.Handle("POST /admin/workspaces", c.admin(c.addWorkspace))
	m.Handle("GET /admin/workspaces/asana", c.admin(c.asanaWorkspacesPage))
	m.Handle("POST /admin/connections", c.admin(c.putConnection))
	m.Handle("POST /admin/connections/delete", c.admin(c.deleteConnection))
	m.Handle("POST /admin/routes", c.admin(c.putRoute))
	m.Handle("POST /admin/routes/delete", c.admin(c.deleteRoute))
}

type serverRow struct {
	Server        store.JiraServer
	LinkStatus    string
	WebhookStatus string
	Users         int
	Links         string
}

type connectionsData struct {
	Servers    []serverRow
	Workspaces []setup.WorkspaceSummary
}

func (c *connectionsPage) page(w http.ResponseWriter, r *http.Request, s *session) error {
	o, err := c.setup.Overview(r.Context())
	if err != nil {
		return err
	}
	d := connectionsData{Workspaces: o.Workspaces}
	for _, sv := range o.Servers {
		row := serverRow{Server: sv.Server, LinkStatus: sv.LinkState, WebhookStatus: sv.WebhookState, Users: sv.Users, Links: strconv.Itoa(sv.Links)}
		if sv.LinksCapped {
			row.Links += "+"
		}
		d.Servers = append(d.Servers, row)
	}
	c.render(w, r, http.StatusOK, "connections", s, "Connections", d)
	return nil
}

func (c *connectionsPage) addWorkspace(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, _, err := c.setup.AddWorkspace(r.Context(), s.actor(), r.PostFormValue("gid"), r.PostFormValue("name"))
	if err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Workspace "+ws.Name+" added. Connect it to a Jira server below.")
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
func (c *connectionsPage) asanaWorkspacesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	var d asanaWorkspacesData
	if s.AsanaToken == "" {
		d.Error = "This session was not started with Asana sign-in; add the workspace by its gid instead."
		c.render(w, r, http.StatusOK, "workspaces_asana", s, "Your Asana workspaces", d)
		return nil
	}
	known, err := c.setup.Workspaces(r.Context())
	if err != nil {
		return err
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

func (c *connectionsPage) putConnection(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	gid, id, isDefault := r.PostFormValue("workspace"), r.PostFormValue("server"), r.PostFormValue("default") != ""
	if _, err := c.setup.Connect(ctx, s.actor(), gid, id, isDefault); err != nil {
		return err
	}
	ws, err := c.setup.Workspace(ctx, gid)
	if err != nil {
		return err
	}
	srv, err := c.setup.Server(ctx, id)
	if err != nil {
		return err
	}
	detail := ws.Name + " × " + srv.Name
	if isDefault {
		detail += " (default for the workspace's projects)"
	}
	return c.redirect(w, r, "/admin/connections", "Connected "+detail+".")
}

func (c *connectionsPage) deleteConnection(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.setup.Disconnect(r.Context(), s.actor(), r.PostFormValue("workspace"), r.PostFormValue("server")); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Connection removed.")
}

func (c *connectionsPage) putRoute(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	rt := store.ProjectRoute{WorkspaceGID: r.PostFormValue("workspace"), ProjectGID: strings.TrimSpace(r.PostFormValue("project")),
		JiraServerID: r.PostFormValue("server"), JiraProjectKey: strings.ToUpper(strings.TrimSpace(r.PostFormValue("jira_project")))}
	if _, err := c.setup.SetRoute(ctx, s.actor(), rt); err != nil {
		return err
	}
	srv, err := c.setup.Server(ctx, rt.JiraServerID)
	if err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Route saved: "+setup.RouteDetail(rt.ProjectGID, srv.Name, rt.JiraProjectKey)+".")
}

func (c *connectionsPage) deleteRoute(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.setup.RemoveRoute(r.Context(), s.actor(), r.PostFormValue("workspace"), r.PostFormValue("project")); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Route removed; the project follows the workspace default again.")
}
