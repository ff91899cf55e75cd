package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/httpx"
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
	m.Handle("GET /admin/workspaces/{gid}/projects", c.admin(c.asanaProjectsPage))
	m.Handle("GET /admin/workspaces/{gid}/connect", c.admin(c.connectPage))
	m.Handle("POST /admin/connections", c.admin(c.putConnection))
	m.Handle("POST /admin/connections/delete", c.admin(c.deleteConnection))
	m.Handle("POST /admin/routes", c.admin(c.putRoute))
	m.Handle("POST /admin/routes/delete", c.admin(c.deleteRoute))
}

type serverRow struct {
	Server        store.JiraServer
	LinkStatus    string
	WebhookStatus string
}

// workspaceView is a workspace card: its connections and its project
// overrides. Connecting it to another server is a page of its own, which
// reads the servers: a card offering every server made the page grow with
// them.
type workspaceView struct {
	Workspace   store.Workspace
	Connections []setup.ConnectionSummary
	Routes      []routeView
}

// routeView is a project override with the project's name when known.
type routeView struct {
	Route       store.ProjectRoute
	ProjectName string
	ServerName  string
}

type connectionsData struct {
	// ShowServers says the page lists the Jira servers: not while it
	// searches workspaces.
	ShowServers bool
	Servers     []serverRow
	// ServersNext is the next page of servers ("" when none);
	// ServersPaged says this is not their first page.
	ServersNext  template.URL
	ServersPaged bool
	// AnyServer says there is a Jira server to connect a workspace to.
	AnyServer  bool
	Workspaces []workspaceView
	// Query is the workspace search (a gid or the start of a name).
	Query string
	// Next is the next page of workspaces ("" when none); Paged says this
	// is not the first page.
	Next  template.URL
	Paged bool
}

// linkCountCap bounds the links a server's page counts: past it the page
// says "more than 500".
const linkCountCap = 500

// serverPageSize is how many Jira servers the Connections page lists at a
// time, by name.
const serverPageSize = 10

// page shows the Jira servers and the workspaces, each a page at a time by
// name (workspaces searchable by gid or the start of a name), each
// workspace with its own connections and routes: nothing on it reads every
// workspace, connection or route, or counts what uses a server (a
// server's page does).
func (c *connectionsPage) page(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := connectionsData{Query: strings.TrimSpace(q.Get("q")), Paged: q.Get("after") != ""}
	d.ShowServers = d.Query == ""
	serversAfter := q.Get("servers_after")
	d.ServersPaged = serversAfter != ""
	// A search lists no server: the first one says whether the cards
	// offer to connect.
	f := store.JiraServerFilter{AfterID: serversAfter, Limit: serverPageSize + 1}
	if !d.ShowServers {
		f = store.JiraServerFilter{Limit: 1}
	}
	servers, err := c.d.Store.ListJiraServersPage(ctx, f)
	if err != nil {
		return fmt.Errorf("admin: connections: %w", err)
	}
	d.AnyServer = len(servers) > 0 || d.ServersPaged
	if d.ShowServers {
		servers, d.ServersNext = onePage(servers, serverPageSize, "/admin/connections", "servers_after", serverID)
		for _, srv := range servers {
			d.Servers = append(d.Servers, serverRow{Server: srv, LinkStatus: setup.LinkState(srv), WebhookStatus: setup.WebhookState(srv)})
		}
	}
	workspaces, err := c.d.Store.ListWorkspacesPage(ctx, store.WorkspaceFilter{Query: d.Query, AfterGID: q.Get("after"), Limit: pageSize + 1})
	if err != nil {
		return fmt.Errorf("admin: connections: %w", err)
	}
	workspaces, d.Next = onePage(workspaces, pageSize, "/admin/connections", "after", workspaceGID, "q", d.Query)
	gids := keys(workspaces, workspaceGID)
	conns, err := c.d.Store.ListConnectionsOf(ctx, gids)
	if err != nil {
		return fmt.Errorf("admin: connections: %w", err)
	}
	routes, err := c.d.Store.ListProjectRoutesOf(ctx, gids)
	if err != nil {
		return fmt.Errorf("admin: connections: %w", err)
	}
	nb := c.names(ctx)
	for _, ws := range workspaces {
		v := workspaceView{Workspace: ws}
		for _, cn := range conns {
			if cn.WorkspaceGID == ws.GID {
				v.Connections = append(v.Connections, setup.ConnectionSummary{ServerID: cn.JiraServerID, ServerName: nb.serverName(cn.JiraServerID), IsDefault: cn.IsDefault})
			}
		}
		// Server ids are random; show the connections in name order.
		slices.SortFunc(v.Connections, func(a, b setup.ConnectionSummary) int { return cmp.Compare(a.ServerName, b.ServerName) })
		for _, rt := range routes {
			if rt.WorkspaceGID == ws.GID {
				v.Routes = append(v.Routes, routeView{Route: rt, ServerName: nb.serverName(rt.JiraServerID)})
			}
		}
		d.Workspaces = append(d.Workspaces, v)
	}
	c.render(w, r, http.StatusOK, "connections", s, "Connections", d)
	return nil
}

// workspace reads a workspace the console's pages name in their path: a
// 404 that says where to add it when asanajira does not serve it.
func (c *connectionsPage) workspace(ctx context.Context, gid string) (store.Workspace, error) {
	ws, err := c.d.Store.GetWorkspace(ctx, gid)
	if errors.Is(err, store.ErrNotFound) {
		return ws, httpx.Errorf(http.StatusNotFound, "asanajira does not serve a workspace %q; add it on the Connections page first", gid)
	}
	return ws, err
}

type connectData struct {
	Workspace store.Workspace
	// Servers are the servers of this page the workspace is not connected
	// to yet, by name; Connected counts those it is connected to.
	Servers   []store.JiraServer
	Connected int
	// Next is the next page of servers ("" when none); Paged says this is
	// not the first.
	Next  template.URL
	Paged bool
}

// connectPage offers a workspace the Jira servers it is not connected to
// yet, ten at a time by name, with whether the one chosen becomes the
// default of its projects.
func (c *connectionsPage) connectPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	gid := r.PathValue("gid")
	ws, err := c.workspace(ctx, gid)
	if err != nil {
		return fmt.Errorf("admin: connect a workspace: %w", err)
	}
	conns, err := c.d.Store.ListWorkspaceConnections(ctx, gid)
	if err != nil {
		return fmt.Errorf("admin: connect a workspace: %w", err)
	}
	after := r.URL.Query().Get("after")
	servers, err := c.d.Store.ListJiraServersPage(ctx, store.JiraServerFilter{AfterID: after, Limit: serverPageSize + 1})
	if err != nil {
		return fmt.Errorf("admin: connect a workspace: %w", err)
	}
	d := connectData{Workspace: ws, Connected: len(conns), Paged: after != ""}
	servers, d.Next = onePage(servers, serverPageSize, "/admin/workspaces/"+url.PathEscape(gid)+"/connect", "after", serverID)
	for _, srv := range servers {
		if !slices.ContainsFunc(conns, func(cn store.Connection) bool { return cn.JiraServerID == srv.ID }) {
			d.Servers = append(d.Servers, srv)
		}
	}
	c.render(w, r, http.StatusOK, "workspace_connect", s, "Connect "+ws.Name, d)
	return nil
}

func (c *connectionsPage) addWorkspace(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, _, err := c.setup.AddWorkspace(r.Context(), s.actor(), r.PostFormValue("gid"), r.PostFormValue("name"))
	if err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections", "Workspace "+ws.Name+" added. Connect it to a Jira server below.")
}

// pickPage is how many workspaces or projects a picker shows at a time.
const pickPage = 50

type asanaWorkspace struct {
	GID, Name string
	Added     bool
}

type asanaWorkspacesData struct {
	Query      string
	Workspaces []asanaWorkspace
	// Matched counts the workspaces the query matched, of which Workspaces
	// are the page shown.
	Matched int
	// Next and Prev are the neighbouring pages ("" when none).
	Next, Prev template.URL
	// Error says why Asana could not be read; the page then offers adding
	// a workspace by its gid.
	Error string
}

// asanaWorkspacesPage lists the Asana workspaces the signed-in admin
// belongs to, by name, a page at a time, searchable by name; each may be
// added with one press.
func (c *connectionsPage) asanaWorkspacesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := asanaWorkspacesData{Query: strings.TrimSpace(q.Get("q"))}
	start, _ := strconv.Atoi(q.Get("start"))
	start = max(start, 0)
	known, err := c.setup.Workspaces(ctx)
	if err != nil {
		return err
	}
	cl, err := c.asanaAs(w, r, s)
	var all []asanaWorkspace
	if err == nil {
		// A person belongs to a handful of workspaces: read them all, then
		// search and page here.
		for ws, lerr := range cl.Workspaces(ctx) {
			if lerr != nil {
				err = lerr
				break
			}
			if d.Query == "" || strings.Contains(strings.ToLower(ws.Name), strings.ToLower(d.Query)) {
				all = append(all, asanaWorkspace{GID: ws.GID, Name: ws.Name,
					Added: slices.ContainsFunc(known, func(k store.Workspace) bool { return k.GID == ws.GID })})
			}
		}
	}
	if err != nil {
		c.log.WarnContext(ctx, "admin: list Asana workspaces", "error", err)
		d.Error = asanaProblem(err)
		all = nil
	}
	d.Matched = len(all)
	if start > len(all) {
		start = 0
	}
	d.Workspaces = all[start:min(start+pickPage, len(all))]
	page := url.Values{}
	if d.Query != "" {
		page.Set("q", d.Query)
	}
	if start+pickPage < len(all) {
		page.Set("start", strconv.Itoa(start+pickPage))
		d.Next = pageURL("/admin/workspaces/asana", page)
	}
	if start > 0 {
		page.Set("start", strconv.Itoa(max(start-pickPage, 0)))
		d.Prev = pageURL("/admin/workspaces/asana", page)
	}
	c.render(w, r, http.StatusOK, "workspaces_asana", s, "Add an Asana workspace", d)
	return nil
}

type asanaProject struct {
	GID, Name string
	// Route says where the project goes now, when it has an override.
	Route string
}

type asanaProjectsData struct {
	Workspace store.Workspace
	Servers   []setup.ConnectionSummary
	// Default is the server the workspace's projects use without an
	// override.
	Default string
	Query   string
	// Searched says the list is Asana's best matches for Query, at most a
	// page of them; Full says there may be more to narrow down.
	Searched, Full bool
	Projects       []asanaProject
	// Next and First are the neighbouring pages of the full list.
	Next, First template.URL
	Error       string
}

// asanaProjectsPage lists a workspace's Asana projects by name, read from
// Asana as the signed-in admin: a page at a time, or Asana's best matches
// for a name typed in the search box. Choosing one and a Jira server adds
// a project override.
func (c *connectionsPage) asanaProjectsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	gid := r.PathValue("gid")
	ws, err := c.workspace(ctx, gid)
	if err != nil {
		return fmt.Errorf("admin: route a project: %w", err)
	}
	nb := c.names(ctx)
	conns, err := c.d.Store.ListWorkspaceConnections(ctx, gid)
	if err != nil {
		return fmt.Errorf("admin: route a project: %w", err)
	}
	routes, err := c.d.Store.ListProjectRoutes(ctx, gid)
	if err != nil {
		return fmt.Errorf("admin: route a project: %w", err)
	}
	q := r.URL.Query()
	d := asanaProjectsData{Workspace: ws, Query: strings.TrimSpace(q.Get("q"))}
	for _, cn := range conns {
		d.Servers = append(d.Servers, setup.ConnectionSummary{ServerID: cn.JiraServerID, ServerName: nb.serverName(cn.JiraServerID), IsDefault: cn.IsDefault})
		if cn.IsDefault {
			d.Default = nb.serverName(cn.JiraServerID)
		}
	}
	slices.SortFunc(d.Servers, func(a, b setup.ConnectionSummary) int { return cmp.Compare(a.ServerName, b.ServerName) })
	routed := map[string]string{}
	for _, rt := range routes {
		routed[rt.ProjectGID] = or(nb.serverName(rt.JiraServerID), rt.JiraServerID)
		if rt.JiraProjectKey != "" {
			routed[rt.ProjectGID] += " (" + rt.JiraProjectKey + ")"
		}
	}
	cl, err := c.asanaAs(w, r, s)
	if err == nil {
		if d.Query != "" {
			d.Searched = true
			var refs []asana.Ref
			refs, err = cl.Typeahead(ctx, gid, "project", d.Query, pickPage)
			for _, p := range refs {
				d.Projects = append(d.Projects, asanaProject{GID: p.GID, Name: p.Name, Route: routed[p.GID]})
			}
			d.Full = len(refs) == pickPage
		} else {
			offset := q.Get("offset")
			var (
				ps   []asana.Project
				next string
			)
			ps, next, err = cl.ProjectsPage(ctx, gid, pickPage, offset)
			for _, p := range ps {
				d.Projects = append(d.Projects, asanaProject{GID: p.GID, Name: p.Name, Route: routed[p.GID]})
			}
			base := "/admin/workspaces/" + url.PathEscape(gid) + "/projects"
			if next != "" {
				d.Next = pageURL(base, url.Values{"offset": {next}})
			}
			if offset != "" {
				d.First = template.URL(base) //nolint:gosec // G203: a path of ours with an escaped gid
			}
		}
	}
	if err != nil {
		c.log.WarnContext(ctx, "admin: list Asana projects", "workspace", gid, "error", err)
		d.Error, d.Projects = asanaProblem(err), nil
	}
	c.render(w, r, http.StatusOK, "projects_asana", s, "Route a project of "+ws.Name, d)
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
