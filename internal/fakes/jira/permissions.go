package jira

import (
	"slices"
	"strings"
)

// Jira's people model: groups (global), project roles (global names whose
// members, "actors", are set per project as users or groups), and comment
// visibility restricted to a group or a project role.

type group struct {
	name    string
	members []string // usernames
}

// projectRole is one of Jira's default project roles; the members of a role
// are set per project (project.roles).
type projectRole struct {
	id          int
	name        string
	description string
}

var projectRoles = []projectRole{
	{10000, "Users", "A project role that represents users in a project"},
	{10001, "Developers", "A project role that represents developers in a project"},
	{10002, "Administrators", "A project role that represents administrators in a project"},
}

func lookupRole(name string) (projectRole, bool) {
	return findBy(projectRoles, func(r projectRole) bool { return strings.EqualFold(r.name, name) })
}

// roleActors are the members of one project role in one project.
type roleActors struct {
	users  []string
	groups []string
}

// visibility restricts a comment to a group or a project role.
type visibility struct {
	typ   string // "group" or "role"
	value string // group name or role name
}

func seedGroups() []*group {
	return []*group{
		{name: "jira-administrators", members: []string{"admin"}},
		{name: "jira-software-users", members: []string{"admin", "alice", "bob"}},
	}
}

// seedRoles gives every project its role members: jira-administrators
// administer everything; DEMO is open to every Jira user with alice and
// bob as developers; OPS belongs to alice alone, so bob cannot see it.
func seedRoles(key string) map[string]*roleActors {
	admins := &roleActors{groups: []string{"jira-administrators"}}
	if key == "OPS" {
		return map[string]*roleActors{
			"Administrators": admins,
			"Developers":     {users: []string{"alice"}},
			"Users":          {users: []string{"alice"}},
		}
	}
	return map[string]*roleActors{
		"Administrators": admins,
		"Developers":     {users: []string{"alice", "bob"}},
		"Users":          {groups: []string{"jira-software-users"}},
	}
}

func (s *Server) groupByName(name string) *group {
	g, _ := findBy(s.groups, func(g *group) bool { return strings.EqualFold(g.name, name) })
	return g
}

// inGroup reports whether u belongs to the group named name.
func (s *Server) inGroup(u *user, name string) bool {
	g := s.groupByName(name)
	return u != nil && g != nil && slices.ContainsFunc(g.members, func(m string) bool { return strings.EqualFold(m, u.name) })
}

// groupsOf lists u's groups in seed order.
func (s *Server) groupsOf(u *user) []string {
	var out []string
	for _, g := range s.groups {
		if s.inGroup(u, g.name) {
			out = append(out, g.name)
		}
	}
	return out
}

// inRole reports whether u is an actor of the project role named role in p,
// directly or through one of its groups.
func (s *Server) inRole(u *user, p *project, role string) bool {
	r, ok := lookupRole(role)
	if u == nil || p == nil || !ok {
		return false
	}
	a := p.roles[r.name]
	if a == nil {
		return false
	}
	if slices.ContainsFunc(a.users, func(n string) bool { return strings.EqualFold(n, u.name) }) {
		return true
	}
	return slices.ContainsFunc(a.groups, func(g string) bool { return s.inGroup(u, g) })
}

// canSeeComment applies a comment's visibility. A nil viewer is Jira
// itself rendering a webhook body, which carries every comment.
func (s *Server) canSeeComment(viewer *user, is *issue, c *comment) bool {
	if c.visibility == nil || viewer == nil {
		return true
	}
	if c.visibility.typ == "group" {
		return s.inGroup(viewer, c.visibility.value)
	}
	return s.inRole(viewer, is.project, c.visibility.value)
}

// visibleComments are the comments of is that viewer may read.
func (s *Server) visibleComments(viewer *user, is *issue) []*comment {
	var out []*comment
	for _, c := range is.comments {
		if s.canSeeComment(viewer, is, c) {
			out = append(out, c)
		}
	}
	return out
}

// visibilityInput is the "visibility" object of a comment request.
type visibilityInput struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// checkVisibility validates a requested restriction for author on is, as
// Jira's visibility validator does: the group or role must exist and the
// author must belong to it. It returns the commentLevel error, or "".
func (s *Server) checkVisibility(author *user, is *issue, in *visibilityInput) (*visibility, string) {
	if in == nil {
		return nil, ""
	}
	switch strings.ToLower(in.Type) {
	case "group":
		g := s.groupByName(in.Value)
		if g == nil {
			return nil, "Group: " + in.Value + " does not exist."
		}
		if !s.inGroup(author, g.name) {
			return nil, "You are currently not a member of the group: " + g.name + "."
		}
		return &visibility{typ: "group", value: g.name}, ""
	case "role":
		r, ok := lookupRole(in.Value)
		if !ok {
			return nil, "Role with name: " + in.Value + " does not exist."
		}
		if !s.inRole(author, is.project, r.name) {
			return nil, "You are currently not a member of the project role: " + r.name + "."
		}
		return &visibility{typ: "role", value: r.name}, ""
	}
	return nil, "Visibility type '" + in.Type + "' is not valid: use 'group' or 'role'."
}
