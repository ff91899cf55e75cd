package jira

import (
	"fmt"
	"net/http"
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

// ---- project permissions and issue security ----

// Project permission keys, as Jira's permission schemes name them.
const (
	permBrowse           = "BROWSE_PROJECTS"
	permCreate           = "CREATE_ISSUES"
	permEdit             = "EDIT_ISSUES"
	permTransition       = "TRANSITION_ISSUES"
	permResolve          = "RESOLVE_ISSUES"
	permClose            = "CLOSE_ISSUES"
	permAssign           = "ASSIGN_ISSUES"
	permAssignable       = "ASSIGNABLE_USER"
	permDelete           = "DELETE_ISSUES"
	permLink             = "LINK_ISSUES"
	permModifyReporter   = "MODIFY_REPORTER"
	permSetSecurity      = "SET_ISSUE_SECURITY"
	permComment          = "ADD_COMMENTS"
	permEditOwnComments  = "EDIT_OWN_COMMENTS"
	permEditAllComments  = "EDIT_ALL_COMMENTS"
	permDelOwnComments   = "DELETE_OWN_COMMENTS"
	permDelAllComments   = "DELETE_ALL_COMMENTS"
	permAttach           = "CREATE_ATTACHMENTS"
	permDelOwnAttachment = "DELETE_OWN_ATTACHMENTS"
	permDelAllAttachment = "DELETE_ALL_ATTACHMENTS"
	permAdminProject     = "ADMINISTER_PROJECTS"
)

// permissionInfo is one project permission as /mypermissions describes it.
type permissionInfo struct {
	id, key, name, description string
}

// permissionCatalogue lists the project permissions the emulator models,
// with Jira's legacy ids.
var permissionCatalogue = []permissionInfo{
	{"23", permAdminProject, "Administer Projects", "Ability to administer a project in Jira."},
	{"10", permBrowse, "Browse Projects", "Ability to browse projects and the issues within them."},
	{"11", permCreate, "Create Issues", "Ability to create issues."},
	{"12", permEdit, "Edit Issues", "Ability to edit issues."},
	{"46", permTransition, "Transition Issues", "Ability to transition issues."},
	{"14", permResolve, "Resolve Issues", "Ability to resolve and reopen issues. This includes the ability to set a fix version."},
	{"18", permClose, "Close Issues", "Ability to close issues. Often useful where your developers resolve issues, and a QA department closes them."},
	{"13", permAssign, "Assign Issues", "Ability to assign issues to other people."},
	{"17", permAssignable, "Assignable User", "Users with this permission may be assigned to issues."},
	{"16", permDelete, "Delete Issues", "Ability to delete issues."},
	{"21", permLink, "Link Issues", "Ability to link issues together and create linked issues. Only useful if issue linking is turned on."},
	{"30", permModifyReporter, "Modify Reporter", "Ability to modify the reporter when creating or editing an issue."},
	{"26", permSetSecurity, "Set Issue Security", "Ability to set the level of security on an issue so that only people in that security level can see the issue."},
	{"15", permComment, "Add Comments", "Ability to comment on issues."},
	{"35", permEditOwnComments, "Edit Own Comments", "Ability to edit own comments made on issues."},
	{"34", permEditAllComments, "Edit All Comments", "Ability to edit all comments made on issues."},
	{"37", permDelOwnComments, "Delete Own Comments", "Ability to delete own comments made on issues."},
	{"36", permDelAllComments, "Delete All Comments", "Ability to delete all comments made on issues."},
	{"19", permAttach, "Create Attachments", "Users with this permission may create attachments."},
	{"39", permDelOwnAttachment, "Delete Own Attachments", "Users with this permission may delete own attachments."},
	{"38", permDelAllAttachment, "Delete All Attachments", "Users with this permission may delete all attachments."},
}

// holder is who a grant or a security level names: a group, a project
// role, a single user, the issue's reporter or assignee, or the lead.
type holder struct {
	typ   string // group, projectRole, user, reporter, assignee, projectLead
	param string
}

// permissionScheme maps permissions to their holders.
type permissionScheme struct {
	id     int
	name   string
	grants map[string][]holder
}

// securityLevel is one issue security level: only its members (and
// nobody else, whatever the project grants) see an issue that carries it.
type securityLevel struct {
	id, name, description string
	members               []holder
}

// securityScheme is a project's issue security scheme.
type securityScheme struct {
	id     int
	name   string
	levels []securityLevel
}

// defaultPermissionScheme: project users browse, create, comment, attach
// and link; developers also edit, transition and assign, and may be
// assigned; administrators may do everything.
func defaultPermissionScheme() *permissionScheme {
	users := holder{"projectRole", "Users"}
	devs := holder{"projectRole", "Developers"}
	admins := holder{"projectRole", "Administrators"}
	g := map[string][]holder{}
	for _, p := range []string{permBrowse, permCreate, permComment, permAttach, permLink, permEditOwnComments, permDelOwnComments, permDelOwnAttachment} {
		g[p] = []holder{users, devs, admins}
	}
	for _, p := range []string{permEdit, permTransition, permResolve, permClose, permAssign, permAssignable} {
		g[p] = []holder{devs, admins}
	}
	for _, p := range []string{permDelete, permModifyReporter, permSetSecurity, permEditAllComments, permDelAllComments, permDelAllAttachment, permAdminProject} {
		g[p] = []holder{admins}
	}
	return &permissionScheme{id: 0, name: "Default Permission Scheme", grants: g}
}

// demoSecurityScheme has one level, Confidential, for admin and alice.
func demoSecurityScheme() *securityScheme {
	return &securityScheme{id: 10000, name: "Demo issue security", levels: []securityLevel{{
		id: "10000", name: "Confidential", description: "Only Jira administrators and Alice see these issues.",
		members: []holder{{"group", "jira-administrators"}, {"user", "alice"}},
	}}}
}

// holds reports whether u is h for project p (and issue is, when set).
func (s *Server) holds(u *user, h holder, p *project, is *issue) bool {
	if u == nil {
		return false
	}
	switch h.typ {
	case "group":
		return s.inGroup(u, h.param)
	case "projectRole":
		return s.inRole(u, p, h.param)
	case "user":
		return strings.EqualFold(u.name, h.param)
	case "projectLead":
		return strings.EqualFold(u.name, p.lead)
	case "reporter":
		return is != nil && strings.EqualFold(u.name, is.reporter)
	case "assignee":
		return is != nil && strings.EqualFold(u.name, is.assignee)
	}
	return false
}

// hasPerm reports whether u holds perm in p through the project's
// permission scheme. With is set, the grants to the issue's reporter and
// assignee count and the issue's security level must admit u.
func (s *Server) hasPerm(u *user, perm string, p *project, is *issue) bool {
	if u == nil || p == nil {
		return false
	}
	if is != nil && !s.securityAdmits(u, is) {
		return false
	}
	return slices.ContainsFunc(p.permissions.grants[perm], func(h holder) bool { return s.holds(u, h, p, is) })
}

// securityAdmits applies the issue's security level; nil u is Jira itself.
func (s *Server) securityAdmits(u *user, is *issue) bool {
	lvl := s.securityLevelOf(is)
	if lvl == nil {
		return true
	}
	return slices.ContainsFunc(lvl.members, func(h holder) bool { return s.holds(u, h, is.project, is) })
}

func (s *Server) securityLevelOf(is *issue) *securityLevel {
	if is.security == "" || is.project.security == nil {
		return nil
	}
	for i := range is.project.security.levels {
		if is.project.security.levels[i].id == is.security {
			return &is.project.security.levels[i]
		}
	}
	return nil
}

// canBrowse reports whether u sees the issue: browse permission in its
// project and a security level that admits u.
func (s *Server) canBrowse(u *user, is *issue) bool { return s.hasPerm(u, permBrowse, is.project, is) }

// canBrowseProject reports whether u sees the project at all.
func (s *Server) canBrowseProject(u *user, p *project) bool { return s.hasPerm(u, permBrowse, p, nil) }

// permDenied is what Jira answers when the caller sees an issue but lacks
// the permission an operation needs.
var permDenied = map[string]struct {
	status  int
	message string
}{
	permEdit:             {http.StatusForbidden, "You do not have permission to edit issues in this project."},
	permAssign:           {http.StatusForbidden, "You do not have permission to assign issues."},
	permComment:          {http.StatusForbidden, "You do not have the permission to comment on this issue."},
	permAttach:           {http.StatusForbidden, "You do not have permission to create attachments for this issue."},
	permLink:             {http.StatusForbidden, "You do not have permission to link issues in this project."},
	permDelete:           {http.StatusForbidden, "You do not have permission to delete issues in this project."},
	permBrowse:           {http.StatusForbidden, "You do not have the permission to see the specified issue."},
	permCreate:           {http.StatusBadRequest, "You do not have permission to create issues in this project."},
	permDelOwnAttachment: {http.StatusForbidden, "You do not have permission to delete attachments for this issue."},
}

// issueFor finds the issue named key for u and checks perm (none when
// ""): 404 when it does not exist, 403 "You do not have the permission to
// see the specified issue." when u may not see it (401 "Login Required"
// for anonymous callers), and Jira's refusal when u lacks perm. Callers
// hold s.mu.
func (s *Server) issueFor(w http.ResponseWriter, key string, u *user, perm string) *issue {
	is := s.issueByKey(key)
	if is == nil {
		s.writeErrors(w, http.StatusNotFound, []string{"Issue Does Not Exist"}, nil)
		return nil
	}
	if !s.canBrowse(u, is) {
		if u == nil {
			s.writeErrors(w, http.StatusUnauthorized, []string{permDenied[permBrowse].message, "Login Required"}, nil)
			return nil
		}
		s.writeErrors(w, http.StatusForbidden, []string{permDenied[permBrowse].message}, nil)
		return nil
	}
	if perm != "" && perm != permBrowse && !s.hasPerm(u, perm, is.project, is) {
		d := permDenied[perm]
		s.writeErrors(w, d.status, []string{d.message}, nil)
		return nil
	}
	return is
}

// projectFor finds a project u may browse; others answer the 404 of a
// project that does not exist. Callers hold s.mu.
func (s *Server) projectFor(w http.ResponseWriter, key string, u *user) *project {
	p := s.projectByKey(key)
	if p == nil || !s.canBrowseProject(u, p) {
		s.writeErrors(w, http.StatusNotFound, []string{fmt.Sprintf("No project could be found with key '%s'.", key)}, nil)
		return nil
	}
	return p
}

// shownWithout names the fields Jira shows on a create or edit screen only
// to holders of a permission.
var shownWithout = map[string]string{"reporter": permModifyReporter, "assignee": permAssign, "security": permSetSecurity}

// screenFields filters a screen's fields by what u may set in p (and on is).
func (s *Server) screenFields(u *user, p *project, is *issue, fields []string) []string {
	var out []string
	for _, f := range fields {
		if perm, ok := shownWithout[f]; ok && !s.hasPerm(u, perm, p, is) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// editScreen is the edit screen of is as u sees it: nothing without Edit
// Issues.
func (s *Server) editScreen(u *user, is *issue) []string {
	if !s.hasPerm(u, permEdit, is.project, is) {
		return nil
	}
	return s.screenFields(u, is.project, is, is.project.editScreen[is.typeID])
}

// createScreen is the create screen of an issue type of p as u sees it.
func (s *Server) createScreen(u *user, p *project, typeID string) []string {
	return s.screenFields(u, p, nil, p.screen[typeID])
}

func securityLevelJSON(base string, l securityLevel) map[string]any {
	return map[string]any{"self": base + "/rest/api/2/securitylevel/" + l.id, "id": l.id, "description": l.description, "name": l.name}
}

// myPermissions is GET /mypermissions: the caller's project permissions in
// a project (projectKey/projectId), on an issue (issueKey/issueId), or,
// without either, in any project. permissions= limits the keys.
func (s *Server) myPermissions(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var p *project
	var is *issue
	switch {
	case q.Get("issueKey") != "" || q.Get("issueId") != "":
		key := q.Get("issueKey")
		if key == "" {
			key = q.Get("issueId")
		}
		if is = s.issueFor(w, key, u, ""); is == nil {
			return
		}
		p = is.project
	case q.Get("projectKey") != "" || q.Get("projectId") != "":
		key := q.Get("projectKey")
		if key == "" {
			key = q.Get("projectId")
		}
		if p = s.projectFor(w, key, u); p == nil {
			return
		}
	}
	want := splitList(q.Get("permissions"))
	out := map[string]any{}
	for _, pi := range permissionCatalogue {
		if len(want) > 0 && !slices.Contains(want, pi.key) {
			continue
		}
		have := false
		if p != nil {
			have = s.hasPerm(u, pi.key, p, is)
		} else {
			have = slices.ContainsFunc(s.projects, func(p *project) bool { return s.hasPerm(u, pi.key, p, nil) })
		}
		out[pi.key] = map[string]any{"id": pi.id, "key": pi.key, "name": pi.name, "type": "PROJECT",
			"description": pi.description, "havePermission": have}
	}
	writeJSON(w, http.StatusOK, map[string]any{"permissions": out})
}

// SetProjectRole replaces the members of a project role (Users,
// Developers or Administrators) in a project, so tests can take a
// permission away or give one.
func (s *Server) SetProjectRole(projectKey, role string, users, groups []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByKey(projectKey)
	r, ok := lookupRole(role)
	if p == nil || !ok {
		return fmt.Errorf("jira emulator: project role %s in %s: no such project or role", role, projectKey)
	}
	for _, n := range users {
		if s.userByName(n) == nil {
			return fmt.Errorf("jira emulator: project role %s in %s: no user %q", role, projectKey, n)
		}
	}
	for _, g := range groups {
		if s.groupByName(g) == nil {
			return fmt.Errorf("jira emulator: project role %s in %s: no group %q", role, projectKey, g)
		}
	}
	p.roles[r.name] = &roleActors{users: slices.Clone(users), groups: slices.Clone(groups)}
	return nil
}

// SetDefaultAssignee makes the project lead (lead) or nobody the default
// assignee of a project: what "-1" and a create without assignee pick.
func (s *Server) SetDefaultAssignee(projectKey string, lead bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByKey(projectKey)
	if p == nil {
		return fmt.Errorf("jira emulator: default assignee of %s: no such project", projectKey)
	}
	p.assigneeType = "UNASSIGNED"
	if lead {
		p.assigneeType = "PROJECT_LEAD"
	}
	return nil
}
