package admin

import (
	"context"
	"strings"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// names turns the gids and ids a page shows into the names asanajira
// knows, so pages show names first and gids only as secondary text: Jira
// servers (through the configuration cache), workspaces, admins and Asana
// users who installed the app, each read by its key as a page needs it and
// once a page, so a page costs the same with a thousand workspaces and
// fifty servers.
type names struct {
	ctx     context.Context
	st      store.Store
	known   map[string]string
	looked  map[string]bool
	servers map[string]store.JiraServer
}

func (c *base) names(ctx context.Context) *names {
	return &names{ctx: ctx, st: c.d.Store, known: map[string]string{}, looked: map[string]bool{}, servers: map[string]store.JiraServer{}}
}

// server reads a Jira server by its id, once a page; ok is false when
// there is none (or it could not be read: the page shows the id).
func (n *names) server(id string) (srv store.JiraServer, ok bool) {
	if srv, ok = n.servers[id]; ok || !strings.HasPrefix(id, serverIDPrefix) || n.looked[id] {
		return srv, ok
	}
	n.looked[id] = true
	srv, err := n.st.GetJiraServer(n.ctx, id)
	if err != nil {
		return srv, false
	}
	n.servers[id] = srv
	return srv, true
}

// serverIDPrefix starts every Jira server's id.
const serverIDPrefix = "js_"

// serverName is the name of a server id, "" when asanajira knows none.
func (n *names) serverName(id string) string {
	srv, _ := n.server(id)
	return srv.Name
}

// of returns the name of a server id, a workspace gid or an Asana user's
// gid, "" when asanajira knows none. A failed read only leaves the gid
// showing.
func (n *names) of(id string) string {
	if strings.HasPrefix(id, serverIDPrefix) {
		return n.serverName(id)
	}
	if name, ok := n.known[id]; ok || !setup.ValidGID(id) || n.looked[id] {
		return name
	}
	n.looked[id] = true
	if w, err := n.st.GetWorkspace(n.ctx, id); err == nil && w.Name != "" {
		n.known[id] = w.Name
		return w.Name
	}
	if u, err := n.st.GetAsanaUser(n.ctx, id); err == nil && u.Name != "" {
		n.known[id] = u.Name
		return u.Name
	}
	if a, err := n.st.GetAdmin(n.ctx, id); err == nil && a.Name != "" {
		n.known[id] = a.Name
		return a.Name
	}
	return ""
}

// target names an audit entry's target: an id, or ids joined by "/" (a
// workspace's connection to a server, a workspace's project route), "" when
// none of them has a name.
func (n *names) target(t string) string {
	parts := strings.Split(t, "/")
	named := false
	for i, p := range parts {
		if name := n.of(p); name != "" {
			parts[i], named = name, true
		}
	}
	if !named {
		return ""
	}
	return strings.Join(parts, " · ")
}
