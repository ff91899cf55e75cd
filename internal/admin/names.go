package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// names turns the gids and ids a page shows into the names asanajira
// knows, so pages show names first and gids only as secondary text: Jira
// servers, workspaces and admins (a handful of rows each, read once per
// page) and Asana users who installed the app (read as a page needs them).
type names struct {
	ctx    context.Context
	st     store.Store
	known  map[string]string
	looked map[string]bool
}

func (c *base) names(ctx context.Context) (*names, error) {
	n := &names{ctx: ctx, st: c.d.Store, known: map[string]string{}, looked: map[string]bool{}}
	servers, err := c.d.Store.ListJiraServers(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: names: %w", err)
	}
	for _, s := range servers {
		n.known[s.ID] = s.Name
	}
	workspaces, err := c.d.Store.ListWorkspaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: names: %w", err)
	}
	for _, w := range workspaces {
		n.known[w.GID] = w.Name
	}
	admins, err := c.d.Store.ListAdmins(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: names: %w", err)
	}
	for _, a := range admins {
		if a.Name != "" {
			n.known[a.GID] = a.Name
		}
	}
	return n, nil
}

// of returns the name of a server id, a workspace gid or an Asana user's
// gid, "" when asanajira knows none. A failed read only leaves the gid
// showing.
func (n *names) of(id string) string {
	if name, ok := n.known[id]; ok || !setup.ValidGID(id) || n.looked[id] {
		return name
	}
	n.looked[id] = true
	u, err := n.st.GetAsanaUser(n.ctx, id)
	if err != nil {
		return ""
	}
	n.known[id] = u.Name
	return u.Name
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
