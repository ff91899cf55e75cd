package jira

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const api = "/rest/api/{ver}"

// restRoutes registers REST v2 (/rest/api/2 and its alias /rest/api/latest).
func (s *Server) restRoutes() {
	r := func(pattern string, mode authMode, gate func(profile) bool, h handlerFunc) {
		mux := s.mux
		if strings.Contains(pattern, "/issue/createmeta/") {
			mux = s.metaMux
		}
		s.routeOn(mux, pattern, mode, gate, func(w http.ResponseWriter, r *http.Request, u *user) {
			if v := r.PathValue("ver"); v != "2" && v != "latest" {
				s.unknownRoute(w, r)
				return
			}
			h(w, r, u)
		})
	}
	r("GET "+api+"/serverInfo", anyone, nil, s.serverInfo)
	r("GET "+api+"/myself", loggedIn, nil, s.myself)
	r("GET "+api+"/user", loggedIn, nil, s.getUser)
	r("GET "+api+"/user/search", loggedIn, nil, s.userSearch)
	r("GET "+api+"/user/assignable/search", loggedIn, nil, s.userSearch)
	r("GET "+api+"/user/picker", loggedIn, nil, s.userPicker)
	r("GET "+api+"/project", loggedIn, nil, s.listProjects)
	r("GET "+api+"/project/{key}", loggedIn, nil, s.getProject)
	r("GET "+api+"/project/{key}/statuses", loggedIn, nil, s.projectStatuses)
	r("GET "+api+"/project/{key}/components", loggedIn, nil, s.projectComponents)
	r("GET "+api+"/project/{key}/versions", loggedIn, nil, s.projectVersions)
	r("GET "+api+"/priority", loggedIn, nil, s.listPriorities)
	r("GET "+api+"/status", loggedIn, nil, s.listStatuses)
	r("GET "+api+"/statuscategory", loggedIn, nil, s.listStatusCategories)
	r("GET "+api+"/resolution", loggedIn, nil, s.listResolutions)
	r("GET "+api+"/issuetype", loggedIn, nil, s.listIssueTypes)
	r("GET "+api+"/field", loggedIn, nil, s.listFields)
	r("GET "+api+"/issue/createmeta", loggedIn, nil, s.legacyCreatemeta)
	r("GET "+api+"/issue/createmeta/{key}/issuetypes", loggedIn, profile.hasNewCreatemeta, s.createmetaIssueTypes)
	r("GET "+api+"/issue/createmeta/{key}/issuetypes/{type}", loggedIn, profile.hasNewCreatemeta, s.createmetaFields)
	r("POST "+api+"/issue", loggedIn, nil, s.createIssue)
	r("GET "+api+"/issue/{key}", loggedIn, nil, s.getIssue)
	r("PUT "+api+"/issue/{key}", loggedIn, nil, s.editIssue)
	r("DELETE "+api+"/issue/{key}", loggedIn, nil, s.deleteIssue)
	r("PUT "+api+"/issue/{key}/assignee", loggedIn, nil, s.assignIssue)
	r("GET "+api+"/issue/{key}/editmeta", loggedIn, nil, s.editmeta)
	r("GET "+api+"/issue/{key}/transitions", loggedIn, nil, s.getTransitions)
	r("POST "+api+"/issue/{key}/transitions", loggedIn, nil, s.doTransition)
	r("GET "+api+"/issue/{key}/comment", loggedIn, nil, s.listComments)
	r("POST "+api+"/issue/{key}/comment", loggedIn, nil, s.addComment)
	r("GET "+api+"/issue/{key}/comment/{id}", loggedIn, nil, s.getComment)
	r("PUT "+api+"/issue/{key}/comment/{id}", loggedIn, nil, s.updateComment)
	r("DELETE "+api+"/issue/{key}/comment/{id}", loggedIn, nil, s.deleteComment)
	r("POST "+api+"/issue/{key}/attachments", loggedIn, nil, s.addAttachments)
	r("GET "+api+"/attachment/meta", loggedIn, nil, s.attachmentMeta)
	r("GET "+api+"/attachment/{id}", loggedIn, nil, s.getAttachment)
	r("DELETE "+api+"/attachment/{id}", loggedIn, nil, s.deleteAttachment)
	r("GET "+api+"/issue/{key}/remotelink", loggedIn, nil, s.listRemoteLinks)
	r("POST "+api+"/issue/{key}/remotelink", loggedIn, nil, s.upsertRemoteLink)
	r("DELETE "+api+"/issue/{key}/remotelink", loggedIn, nil, s.deleteRemoteLinkByGlobalID)
	r("GET "+api+"/issue/{key}/remotelink/{id}", loggedIn, nil, s.getRemoteLink)
	r("PUT "+api+"/issue/{key}/remotelink/{id}", loggedIn, nil, s.putRemoteLink)
	r("DELETE "+api+"/issue/{key}/remotelink/{id}", loggedIn, nil, s.deleteRemoteLink)
	r("GET "+api+"/mypermissions", loggedIn, nil, s.myPermissions)
	s.propertyRoutes(r)
	r("GET "+api+"/search", loggedIn, nil, s.search)
	r("POST "+api+"/search", loggedIn, nil, s.search)
	s.route("GET /secure/attachment/{id}/{name}", loggedIn, nil, s.downloadAttachment)
}

func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{
		"baseUrl": s.baseURL(r), "version": s.prof.version, "versionNumbers": s.prof.versionNumbers(),
		"deploymentType": "Server", "buildNumber": s.prof.buildNumber, "buildDate": s.prof.buildDate,
		"serverTime": fmtTime(s.now()), "scmInfo": s.prof.scmInfo, "serverTitle": "Jira",
	}
	// 10.0 removed the doHealthCheck parameter and the healthChecks field.
	if s.prof.hasHealthChecks() && r.URL.Query().Get("doHealthCheck") == "true" {
		out["healthChecks"] = []any{map[string]any{"name": "emulator", "description": "The emulator is up.", "passed": true}}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) myself(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.userJSON(s.baseURL(r), u)
	out["locale"] = "en_US"
	groups := []any{}
	for _, g := range s.groupsOf(u) {
		groups = append(groups, map[string]any{"name": g, "self": s.baseURL(r) + "/rest/api/2/group?groupname=" + g})
	}
	out["groups"] = map[string]any{"size": len(groups), "items": groups}
	out["applicationRoles"] = map[string]any{"size": 1, "items": []any{}}
	out["expand"] = "groups,applicationRoles"
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, _ *user) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var u *user
	switch {
	case q.Get("username") != "":
		u = s.userByName(q.Get("username"))
	case q.Get("key") != "":
		u = s.userByKey(q.Get("key"))
	default:
		s.writeErrors(w, http.StatusNotFound, []string{"Either the 'username' or the 'key' query parameters need to be provided"}, nil)
		return
	}
	if u == nil {
		s.writeErrors(w, http.StatusNotFound, []string{fmt.Sprintf("The user named '%s' does not exist", q.Get("username")+q.Get("key"))}, nil)
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(s.baseURL(r), u))
}

func matchUser(u *user, q string) bool {
	q = strings.ToLower(q)
	if q == "" || q == "." {
		return true
	}
	for _, f := range append([]string{u.name, u.email, u.displayName}, strings.Fields(u.displayName)...) {
		if strings.HasPrefix(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

func intParam(r *http.Request, name string, def int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || v < 0 {
		return def
	}
	return v
}

// userSearch is GET /user/search and /user/assignable/search; the latter
// lists only users who may be assigned issues of the project or issue,
// which the caller must see.
func (s *Server) userSearch(w http.ResponseWriter, r *http.Request, caller *user) {
	q := r.URL.Query()
	name := q.Get("username")
	assignable := strings.Contains(r.URL.Path, "/assignable/")
	if !assignable && !q.Has("username") {
		s.writeErrors(w, http.StatusBadRequest, []string{"The username query parameter was not provided"}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var proj *project
	var is *issue
	if assignable {
		switch {
		case q.Get("issueKey") != "":
			if is = s.issueFor(w, q.Get("issueKey"), caller, ""); is == nil {
				return
			}
			proj = is.project
		case q.Get("project") != "":
			if proj = s.projectFor(w, q.Get("project"), caller); proj == nil {
				return
			}
		default:
			s.writeErrors(w, http.StatusBadRequest, []string{"You must specify either a project or an issue key."}, nil)
			return
		}
	}
	start, max := intParam(r, "startAt", 0), intParam(r, "maxResults", 50)
	if s.prof.atLeast(10, 3) && max > 100 {
		max = 100
	}
	out := []any{}
	for _, u := range s.users {
		if matchUser(u, name) && (!assignable || s.hasPerm(u, permAssignable, proj, is)) {
			out = append(out, s.userJSON(s.baseURL(r), u))
		}
	}
	writeJSON(w, http.StatusOK, page(out, start, max))
}

func page[T any](xs []T, start, max int) []T {
	if start > len(xs) {
		start = len(xs)
	}
	end := min(start+max, len(xs))
	return xs[start:end]
}

func (s *Server) userPicker(w http.ResponseWriter, r *http.Request, _ *user) {
	q := r.URL.Query().Get("query")
	s.mu.Lock()
	defer s.mu.Unlock()
	users := []any{}
	for _, u := range s.users {
		if matchUser(u, q) {
			users = append(users, map[string]any{"name": u.name, "key": u.key, "displayName": u.displayName,
				"html":      htmlEscape(u.displayName) + " - " + htmlEscape(u.email) + " (" + htmlEscape(u.name) + ")",
				"avatarUrl": s.baseURL(r) + "/secure/useravatar?size=small&avatarId=10122"})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "total": len(users), "header": fmt.Sprintf("Showing %d of %d matching users", len(users), len(users))})
}

// listProjects is GET /project: the projects the caller may browse.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.baseURL(r)
	out := []any{}
	for _, p := range s.projects {
		if !s.canBrowseProject(u, p) {
			continue
		}
		m := s.projectRef(base, p)
		m["expand"] = "description,lead,url,projectKeys"
		if slices.Contains(splitList(r.URL.Query().Get("expand")), "lead") {
			m["lead"] = s.userRef(base, p.lead)
		}
		if s.prof.atLeast(8, 0) {
			m["archived"] = false
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectFor(w, r.PathValue("key"), u)
	if p == nil {
		return
	}
	base := s.baseURL(r)
	m := s.projectRef(base, p)
	m["expand"] = "description,lead,url,projectKeys"
	m["description"] = p.description
	m["lead"] = s.userRef(base, p.lead)
	m["assigneeType"] = p.assigneeType
	roles := map[string]any{}
	for _, role := range projectRoles {
		roles[role.name] = fmt.Sprintf("%s/rest/api/2/project/%s/role/%d", base, p.id, role.id)
	}
	m["roles"] = roles
	m["projectKeys"] = []string{p.key}
	var comps, vers, types []any
	for _, c := range p.components {
		comps = append(comps, componentJSON(base, c))
	}
	for _, v := range p.versions {
		vers = append(vers, versionJSON(base, p.id, v))
	}
	for _, id := range p.issueTypes {
		t, _ := lookupIssueType(id)
		types = append(types, issueTypeJSON(base, t))
	}
	m["components"], m["versions"], m["issueTypes"] = comps, vers, types
	if s.prof.atLeast(8, 0) {
		m["archived"] = false
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) projectStatuses(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectFor(w, r.PathValue("key"), u)
	if p == nil {
		return
	}
	base := s.baseURL(r)
	out := []any{}
	for _, id := range p.issueTypes {
		t, _ := lookupIssueType(id)
		var sts []any
		for _, st := range statuses {
			sts = append(sts, statusJSON(base, st))
		}
		out = append(out, map[string]any{"self": base + "/rest/api/2/issuetype/" + t.id, "id": t.id, "name": t.name, "subtask": t.subtask, "statuses": sts})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) projectComponents(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectFor(w, r.PathValue("key"), u)
	if p == nil {
		return
	}
	out := []any{}
	for _, c := range p.components {
		out = append(out, componentJSON(s.baseURL(r), c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) projectVersions(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectFor(w, r.PathValue("key"), u)
	if p == nil {
		return
	}
	out := []any{}
	for _, v := range p.versions {
		out = append(out, versionJSON(s.baseURL(r), p.id, v))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listPriorities(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, p := range priorities {
		m := priorityJSON(s.baseURL(r), p)
		m["description"], m["statusColor"] = p.name, "#cccccc"
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// writeAll answers a list endpoint: every item of a fixed catalogue,
// rendered for the request's base URL.
func writeAll[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T, render func(string, T) map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, render(s.baseURL(r), it))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, _ *user) {
	writeAll(s, w, r, statuses, statusJSON)
}

func (s *Server) listStatusCategories(w http.ResponseWriter, r *http.Request, _ *user) {
	writeAll(s, w, r, statusCategories, categoryJSON)
}

func (s *Server) listResolutions(w http.ResponseWriter, r *http.Request, _ *user) {
	writeAll(s, w, r, resolutions, resolutionJSON)
}

func (s *Server) listIssueTypes(w http.ResponseWriter, r *http.Request, _ *user) {
	writeAll(s, w, r, issueTypes, issueTypeJSON)
}

func (s *Server) listFields(w http.ResponseWriter, _ *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	ids := make([]string, 0, len(systemFieldNames))
	for id := range systemFieldNames {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, map[string]any{"id": id, "name": systemFieldNames[id], "custom": false, "orderable": true,
			"navigable": true, "searchable": true, "clauseNames": []string{id}, "schema": s.fieldSchema(id)})
	}
	for _, cf := range s.fields {
		out = append(out, map[string]any{"id": cf.id, "name": cf.name, "custom": true, "orderable": true, "navigable": true,
			"searchable": true, "clauseNames": []string{fmt.Sprintf("cf[%d]", cf.customID), cf.name}, "schema": s.fieldSchema(cf.id)})
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- create metadata ----

// fieldMeta is the create-metadata entry of one field. withFieldID selects
// the 8.4+ shape (fieldId) over the legacy one (key).
func (s *Server) fieldMeta(base string, p *project, typeID, id string, withFieldID bool) map[string]any {
	name := systemFieldNames[id]
	if cf, ok := findBy(s.fields, func(f customField) bool { return f.id == id }); ok {
		name = cf.name
	}
	m := map[string]any{"required": false, "schema": s.fieldSchema(id), "name": name, "hasDefaultValue": false, "operations": []string{"set"}}
	if withFieldID {
		m["fieldId"] = id
	} else {
		m["key"] = id
	}
	switch id {
	case "summary":
		m["required"] = true
	case "issuetype":
		t, _ := lookupIssueType(typeID)
		m["required"], m["operations"], m["allowedValues"] = true, []string{}, []any{issueTypeJSON(base, t)}
	case "project":
		m["required"], m["allowedValues"] = true, []any{s.projectRef(base, p)}
	case "parent":
		m["required"] = true
	case "priority":
		var ps []any
		for _, pr := range priorities {
			ps = append(ps, priorityJSON(base, pr))
		}
		m["allowedValues"], m["hasDefaultValue"], m["defaultValue"] = ps, true, priorityJSON(base, priorities[2])
	case "labels":
		m["autoCompleteUrl"], m["operations"] = base+"/rest/api/1.0/labels/suggest?query=", []string{"add", "set", "remove"}
	case "assignee":
		m["autoCompleteUrl"] = base + "/rest/api/latest/user/assignable/search?issueKey=null&username="
	case "reporter":
		m["autoCompleteUrl"] = base + "/rest/api/latest/user/search?username="
	case "components":
		var cs []any
		for _, c := range p.components {
			cs = append(cs, componentJSON(base, c))
		}
		m["allowedValues"], m["operations"] = cs, []string{"add", "set", "remove"}
	case "fixVersions":
		var vs []any
		for _, v := range p.versions {
			vs = append(vs, versionJSON(base, p.id, v))
		}
		m["allowedValues"], m["operations"] = vs, []string{"set", "add", "remove"}
	}
	if id == "security" && p.security != nil {
		var ls []any
		for _, l := range p.security.levels {
			ls = append(ls, securityLevelJSON(base, l))
		}
		m["allowedValues"] = ls
	}
	if cf, ok := findBy(s.fields, func(f customField) bool { return f.id == id }); ok && len(cf.options) > 0 {
		var os []any
		for _, o := range cf.options {
			os = append(os, optionJSON(base, o))
		}
		m["allowedValues"] = os
	}
	if slices.Contains(p.required[typeID], id) {
		m["required"] = true
	}
	return m
}

// legacyCreatemeta is GET /issue/createmeta. From 9.0 the path no longer
// exists and Jira parses "createmeta" as an issue key.
func (s *Server) legacyCreatemeta(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.prof.hasOldCreatemeta() {
		s.writeErrors(w, http.StatusNotFound, []string{"Issue Does Not Exist"}, nil)
		return
	}
	q := r.URL.Query()
	keys := append(splitList(q.Get("projectKeys")), splitList(q.Get("projectIds"))...)
	keys = append(keys, q["projectKeys"][min(1, len(q["projectKeys"])):]...)
	typeIDs := splitList(q.Get("issuetypeIds"))
	typeNames := splitList(q.Get("issuetypeNames"))
	withFields := slices.Contains(splitList(q.Get("expand")), "projects.issuetypes.fields")
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.baseURL(r)
	projects := []any{}
	for _, p := range s.projects {
		if len(keys) > 0 && !slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, p.key) || k == p.id }) {
			continue
		}
		// Projects the caller may not create issues in are left out.
		if !s.hasPerm(u, permCreate, p, nil) {
			continue
		}
		types := []any{}
		for _, id := range p.issueTypes {
			t, _ := lookupIssueType(id)
			if len(typeIDs) > 0 && !slices.Contains(typeIDs, id) || len(typeNames) > 0 && !slices.Contains(typeNames, t.name) {
				continue
			}
			tm := issueTypeJSON(base, t)
			delete(tm, "avatarId")
			tm["expand"] = "fields"
			if withFields {
				fs := map[string]any{}
				for _, f := range s.createScreen(u, p, id) {
					fs[f] = s.fieldMeta(base, p, id, f, false)
				}
				tm["fields"] = fs
			}
			types = append(types, tm)
		}
		pm := s.projectRef(base, p)
		delete(pm, "projectTypeKey")
		pm["expand"] = "issuetypes"
		pm["issuetypes"] = types
		projects = append(projects, pm)
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "projects", "projects": projects})
}

func pageEnvelope(values []any, r *http.Request) map[string]any {
	start, max := intParam(r, "startAt", 0), intParam(r, "maxResults", 50)
	if max == 0 {
		max = 50
	}
	pg := page(values, start, max)
	return map[string]any{"maxResults": max, "startAt": start, "total": len(values), "isLast": start+len(pg) >= len(values), "values": pg}
}

// creatableProject is projectFor for the 8.4+ createmeta endpoints: a
// project the caller sees but may not create in answers 403.
func (s *Server) creatableProject(w http.ResponseWriter, key string, u *user) *project {
	p := s.projectFor(w, key, u)
	if p != nil && !s.hasPerm(u, permCreate, p, nil) {
		s.writeErrors(w, http.StatusForbidden, []string{permDenied[permCreate].message}, nil)
		return nil
	}
	return p
}

func (s *Server) createmetaIssueTypes(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.creatableProject(w, r.PathValue("key"), u)
	if p == nil {
		return
	}
	base := s.baseURL(r)
	var vals []any
	for _, id := range p.issueTypes {
		t, _ := lookupIssueType(id)
		m := issueTypeJSON(base, t)
		delete(m, "avatarId")
		vals = append(vals, m)
	}
	writeJSON(w, http.StatusOK, pageEnvelope(vals, r))
}

func (s *Server) createmetaFields(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.creatableProject(w, r.PathValue("key"), u)
	if p == nil {
		return
	}
	typeID := r.PathValue("type")
	if !slices.Contains(p.issueTypes, typeID) {
		s.writeErrors(w, http.StatusNotFound, []string{"Issue type with id '" + typeID + "' does not exist or is not valid for project '" + p.key + "'."}, nil)
		return
	}
	var vals []any
	for _, f := range s.createScreen(u, p, typeID) {
		vals = append(vals, s.fieldMeta(s.baseURL(r), p, typeID, f, true))
	}
	writeJSON(w, http.StatusOK, pageEnvelope(vals, r))
}

// ---- issues ----

// lockIssue takes s.mu and finds the request's issue for u with perm (see
// issueFor). When it has answered the request itself, it releases the
// lock and returns nil.
func (s *Server) lockIssue(w http.ResponseWriter, r *http.Request, u *user, perm string) *issue {
	s.mu.Lock()
	is := s.issueFor(w, r.PathValue("key"), u, perm)
	if is == nil {
		s.mu.Unlock()
	}
	return is
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFor(w, r.PathValue("key"), u, "")
	if is == nil {
		return
	}
	q := r.URL.Query()
	var fields []string
	for _, f := range q["fields"] {
		fields = append(fields, splitList(f)...)
	}
	out := s.issueJSON(s.baseURL(r), is, u, fields, "*all", splitList(q.Get("expand")))
	if spec := splitList(q.Get("properties")); len(spec) > 0 {
		out["properties"] = is.properties.selected(spec)
	}
	writeJSON(w, http.StatusOK, out)
}

// editmeta is GET /issue/{key}/editmeta: empty fields without Edit Issues.
func (s *Server) editmeta(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if is := s.issueFor(w, r.PathValue("key"), u, ""); is != nil {
		writeJSON(w, http.StatusOK, s.editmetaJSON(s.baseURL(r), is, u))
	}
}

type issueInput struct {
	Fields     map[string]json.RawMessage              `json:"fields"`
	Update     map[string][]map[string]json.RawMessage `json:"update"`
	Properties []propertyInput                         `json:"properties"`
}

// ref is {"id":…} / {"key":…} / {"name":…} / {"value":…}.
type ref struct {
	ID    json.RawMessage `json:"id"`
	Key   string          `json:"key"`
	Name  *string         `json:"name"`
	Value string          `json:"value"`
}

func (r ref) id() string {
	var s string
	if json.Unmarshal(r.ID, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(r.ID, &n) == nil {
		return n.String()
	}
	return ""
}

func notOnScreen(f string) string {
	return fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", f)
}

// setField applies one field value to is and returns a field error message
// ("" on success) and the changelog item, if the value changed.
// actor is who sets the value: issues it names must be visible to actor.
func (s *Server) setField(actor *user, is *issue, id string, raw json.RawMessage) (string, *historyItem) {
	isNull := string(raw) == "null"
	switch id {
	case "summary":
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return "Summary must be a string.", nil
		}
		if strings.TrimSpace(v) == "" {
			return "You must specify a summary of the issue.", nil
		}
		old := is.summary
		is.summary = v
		return "", &historyItem{field: "summary", fieldtype: "jira", fieldID: "summary", fromString: old, toString: v}
	case "description", "environment":
		var v *string
		if json.Unmarshal(raw, &v) != nil {
			return systemFieldNames[id] + " must be a string.", nil
		}
		ptr := &is.description
		if id == "environment" {
			ptr = &is.environment
		}
		old := *ptr
		*ptr = v
		return "", &historyItem{field: id, fieldtype: "jira", fieldID: id, fromString: derefOrNil(old), toString: derefOrNil(v)}
	case "priority":
		var rf ref
		if json.Unmarshal(raw, &rf) != nil {
			return "Could not find valid 'id' or 'name' in priority object.", nil
		}
		name := ""
		if rf.Name != nil {
			name = *rf.Name
		}
		p, ok := lookupPriority(rf.id())
		if !ok {
			p, ok = lookupPriority(name)
		}
		if !ok {
			return "The priority selected is invalid.", nil
		}
		old, _ := lookupPriority(is.priorityID)
		is.priorityID = p.id
		return "", &historyItem{field: "priority", fieldtype: "jira", fieldID: "priority", from: old.id, fromString: old.name, to: p.id, toString: p.name}
	case "assignee", "reporter":
		// null and {"name": null} leave the issue unassigned; "-1" picks
		// the project's default assignee.
		var name string
		if !isNull {
			var obj map[string]json.RawMessage
			var nameRaw json.RawMessage
			ok := json.Unmarshal(raw, &obj) == nil
			if ok {
				nameRaw, ok = obj["name"]
			}
			if !ok || string(nameRaw) != "null" && json.Unmarshal(nameRaw, &name) != nil {
				return "expected Object containing a 'name' property", nil
			}
			if name == "-1" && id == "assignee" {
				name = is.project.defaultAssignee()
			}
			if name != "" && s.userByName(name) == nil {
				return fmt.Sprintf("User '%s' does not exist.", name), nil
			}
			if id == "assignee" && name != "" && !s.hasPerm(s.userByName(name), permAssignable, is.project, nil) {
				return fmt.Sprintf("User '%s' cannot be assigned issues.", name), nil
			}
		}
		if name == "" && id == "reporter" {
			return "Reporter is required.", nil
		}
		if u := s.userByName(name); u != nil {
			name = u.name
		}
		ptr := &is.assignee
		if id == "reporter" {
			ptr = &is.reporter
		}
		old := *ptr
		*ptr = name
		// Changelogs name people by user key (JIRAUSERnnnnn from 8.3), with
		// the display name in fromString/toString.
		return "", &historyItem{field: id, fieldtype: "jira", fieldID: id, from: s.keyOrNil(old), fromString: s.displayOrNil(old), to: s.keyOrNil(name), toString: s.displayOrNil(name)}
	case "labels":
		var v []string
		if !isNull && json.Unmarshal(raw, &v) != nil {
			return "Labels must be an array of strings.", nil
		}
		for _, l := range v {
			if strings.ContainsAny(l, " \t") {
				return fmt.Sprintf("The label '%s' contains spaces which is invalid.", l), nil
			}
		}
		old := strings.Join(is.labels, " ")
		is.labels = v
		return "", &historyItem{field: "labels", fieldtype: "jira", fieldID: "labels", fromString: old, toString: strings.Join(v, " ")}
	case "duedate":
		var v *string
		if json.Unmarshal(raw, &v) != nil {
			return "Error parsing date string: " + string(raw), nil
		}
		if v != nil && *v != "" {
			if _, err := time.Parse("2006-01-02", *v); err != nil {
				return "Error parsing date string: " + *v, nil
			}
		}
		old := is.dueDate
		is.dueDate = derefOr(v, "")
		// Jira records a due date as the day, and shows it as a timestamp.
		return "", &historyItem{field: "duedate", fieldtype: "jira", fieldID: "duedate", from: nilIfEmpty(old), fromString: dueString(old),
			to: nilIfEmpty(is.dueDate), toString: dueString(is.dueDate)}
	case "components", "fixVersions":
		var rs []ref
		if !isNull && json.Unmarshal(raw, &rs) != nil {
			return "expected array of objects with 'id' or 'name'", nil
		}
		var ids []string
		for _, rf := range rs {
			name := derefOr(rf.Name, "")
			var id2 string
			if id == "components" {
				c, ok := findBy(is.project.components, func(c component) bool { return c.id == rf.id() || c.name == name })
				if !ok {
					if rf.id() != "" {
						return fmt.Sprintf("Component with id '%s' does not exist.", rf.id()), nil
					}
					return fmt.Sprintf("Component name '%s' is not valid", name), nil
				}
				id2 = c.id
			} else {
				v, ok := findBy(is.project.versions, func(v version) bool { return v.id == rf.id() || v.name == name })
				if !ok {
					if rf.id() != "" {
						return fmt.Sprintf("Version id '%s' is not valid", rf.id()), nil
					}
					return fmt.Sprintf("Version name '%s' is not valid", name), nil
				}
				id2 = v.id
			}
			ids = append(ids, id2)
		}
		if id == "components" {
			is.components = ids
		} else {
			is.fixVersions = ids
		}
		return "", &historyItem{field: map[string]string{"components": "Component", "fixVersions": "Fix Version"}[id], fieldtype: "jira", fieldID: id, to: strings.Join(ids, ",")}
	case "parent":
		var rf ref
		if json.Unmarshal(raw, &rf) != nil {
			return "parent must be an object with 'key' or 'id'", nil
		}
		k := rf.Key
		if k == "" {
			k = rf.id()
		}
		par := s.issueByKey(k)
		if par == nil || !s.canBrowse(actor, par) {
			return "Could not find issue by id or key.", nil
		}
		is.parent = par.key
		return "", nil
	case "security":
		return s.setSecurity(is, raw)
	}
	cf, ok := findBy(s.fields, func(f customField) bool { return f.id == id })
	if !ok {
		return notOnScreen(id), nil
	}
	old := is.custom[id]
	if isNull {
		delete(is.custom, id)
		return "", &historyItem{field: cf.name, fieldtype: "custom", fieldID: cf.id, fromString: fmt.Sprint(old)}
	}
	switch cf.typ {
	case "option":
		var rf ref
		if json.Unmarshal(raw, &rf) != nil {
			return "Could not find valid 'id' or 'value' in the Parent Option object.", nil
		}
		o, ok := findBy(cf.options, func(o fieldOption) bool {
			return (rf.id() != "" && o.id == rf.id()) || (rf.Value != "" && o.value == rf.Value)
		})
		if !ok {
			if rf.id() != "" {
				return fmt.Sprintf("Option id '%s' is not valid", rf.id()), nil
			}
			return fmt.Sprintf("Option value '%s' is not valid", rf.Value), nil
		}
		is.custom[id] = o
		return "", &historyItem{field: cf.name, fieldtype: "custom", fieldID: cf.id, to: o.id, toString: o.value}
	case "number":
		var f float64
		if json.Unmarshal(raw, &f) != nil {
			return fmt.Sprintf("'%s' is an invalid number", strings.Trim(string(raw), `"`)), nil
		}
		is.custom[id] = f
		return "", &historyItem{field: cf.name, fieldtype: "custom", fieldID: cf.id, toString: strconv.FormatFloat(f, 'f', -1, 64)}
	default:
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return cf.name + " must be a string.", nil
		}
		if id == FieldEpicLink && v != "" {
			ep := s.issueByKey(v)
			if ep == nil || ep.typeID != "10000" || !s.canBrowse(actor, ep) {
				return fmt.Sprintf("The issue %s is not an Epic.", v), nil
			}
		}
		is.custom[id] = v
		return "", &historyItem{field: cf.name, fieldtype: "custom", fieldID: cf.id, toString: v}
	}
}

// setSecurity sets the issue's security level ({"id":…} or {"name":…}, or
// null for none) from the project's issue security scheme.
func (s *Server) setSecurity(is *issue, raw json.RawMessage) (string, *historyItem) {
	old := s.securityLevelOf(is)
	is.security = ""
	if string(raw) != "null" {
		var rf ref
		if json.Unmarshal(raw, &rf) != nil {
			return "Could not find valid 'id' or 'name' in security level object.", nil
		}
		var lvl *securityLevel
		if is.project.security != nil {
			for i, l := range is.project.security.levels {
				if l.id == rf.id() || rf.Name != nil && strings.EqualFold(l.name, *rf.Name) {
					lvl = &is.project.security.levels[i]
				}
			}
		}
		if lvl == nil {
			return "Security level is not valid for this project.", nil
		}
		is.security = lvl.id
	}
	it := &historyItem{field: "security", fieldtype: "jira", fieldID: "security"}
	if old != nil {
		it.from, it.fromString = old.id, old.name
	}
	if lvl := s.securityLevelOf(is); lvl != nil {
		it.to, it.toString = lvl.id, lvl.name
	}
	return "", it
}

func derefOrNil(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func derefOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// dueString is a due date as a changelog's fromString/toString shows it
// ("2025-05-01 00:00:00.0"), nil for none.
func dueString(day string) any {
	if day == "" {
		return nil
	}
	return day + " 00:00:00.0"
}

func nilIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func (s *Server) keyOrNil(name string) any {
	if u := s.userByName(name); u != nil {
		return u.key
	}
	return nil
}

func (s *Server) displayOrNil(name string) any {
	if u := s.userByName(name); u != nil {
		return u.displayName
	}
	return nil
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, u *user) {
	var in issueInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	s.mu.Lock()
	base := s.baseURL(r)
	ps, msg := propsFrom(in.Properties)
	if msg != "" {
		s.mu.Unlock()
		s.writeErrors(w, http.StatusBadRequest, []string{msg}, nil)
		return
	}
	is, msgs, errs := s.newIssueLocked(u, in.Fields)
	if is == nil {
		s.mu.Unlock()
		s.writeErrors(w, http.StatusBadRequest, msgs, errs)
		return
	}
	is.properties = ps
	ev := s.issueEventLocked(base, "jira:issue_created", "issue_created", is, u.name, nil)
	s.mu.Unlock()
	s.dispatch([]event{ev})
	writeJSON(w, http.StatusCreated, map[string]string{"id": is.id, "key": is.key, "self": base + "/rest/api/2/issue/" + is.id})
}

// newIssueLocked validates fields and creates the issue as u, or returns
// Jira's error messages and field errors. A project u may not browse is
// not there for u. Callers hold s.mu.
func (s *Server) newIssueLocked(u *user, fields map[string]json.RawMessage) (*issue, []string, map[string]string) {
	errs := map[string]string{}
	var pr, tr ref
	var p *project
	if raw, ok := fields["project"]; !ok {
		errs["project"] = "project is required"
	} else if json.Unmarshal(raw, &pr) == nil {
		if p = s.projectByKey(pr.Key); p == nil {
			p = s.projectByKey(pr.id())
		}
	}
	if _, ok := fields["project"]; ok && (p == nil || !s.canBrowseProject(u, p)) {
		p = nil
		errs["project"] = "valid project is required"
	}
	if p != nil && !s.hasPerm(u, permCreate, p, nil) {
		return nil, []string{permDenied[permCreate].message}, nil
	}
	var t issueType
	if raw, ok := fields["issuetype"]; !ok {
		errs["issuetype"] = "issue type is required"
	} else {
		ok := json.Unmarshal(raw, &tr) == nil
		if ok {
			t, ok = lookupIssueType(tr.id())
			if !ok && tr.Name != nil {
				t, ok = lookupIssueType(*tr.Name)
			}
		}
		if !ok || (p != nil && !slices.Contains(p.issueTypes, t.id)) {
			errs["issuetype"] = "valid issue type is required"
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	now := s.now()
	is := &issue{project: p, typeID: t.id, statusID: "10000", priorityID: "3", reporter: u.name, creator: u.name,
		custom: map[string]any{}, created: now, updated: now}
	screen := s.createScreen(u, p, t.id)
	ids := make([]string, 0, len(fields))
	for id := range fields {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if id == "project" || id == "issuetype" {
			continue
		}
		if !slices.Contains(screen, id) {
			errs[id] = notOnScreen(id)
			continue
		}
		if msg, _ := s.setField(u, is, id, fields[id]); msg != "" {
			errs[id] = msg
		}
	}
	if _, ok := fields["summary"]; !ok {
		errs["summary"] = "You must specify a summary of the issue."
	}
	if _, ok := fields["assignee"]; !ok {
		is.assignee = p.defaultAssignee() // Jira's "Automatic"
	}
	for _, req := range p.required[t.id] {
		if _, ok := is.custom[req]; !ok && errs[req] == "" {
			errs[req] = s.field(req).name + " is required."
		}
	}
	if t.subtask && is.parent == "" && errs["parent"] == "" {
		errs["parent"] = "Issue type is a sub-task but parent issue key or id not specified."
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	p.nextNum++
	s.nextIssueID++
	is.id, is.key = itoa(s.nextIssueID), fmt.Sprintf("%s-%d", p.key, p.nextNum)
	s.issues = append(s.issues, is)
	return is, nil, nil
}

func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, u *user) {
	var in issueInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	is := s.lockIssue(w, r, u, permEdit)
	if is == nil {
		return
	}
	base := s.baseURL(r)
	clone := *is
	clone.custom = map[string]any{}
	for k, v := range is.custom {
		clone.custom[k] = v
	}
	errs := map[string]string{}
	var items []historyItem
	var comments []newComment
	screen := s.editScreen(u, is)
	apply := func(id string, raw json.RawMessage) {
		if !slices.Contains(screen, id) || id == "comment" {
			errs[id] = notOnScreen(id)
			return
		}
		msg, it := s.setField(u, &clone, id, raw)
		if msg != "" {
			errs[id] = msg
		} else if it != nil {
			items = append(items, *it)
		}
	}
	for id, raw := range in.Fields {
		apply(id, raw)
	}
	for id, ops := range in.Update {
		for _, op := range ops {
			for verb, raw := range op {
				switch {
				case verb == "set":
					apply(id, raw)
				case id == "labels" && (verb == "add" || verb == "remove"):
					var l string
					if json.Unmarshal(raw, &l) != nil {
						errs[id] = "Labels must be strings."
						continue
					}
					ls := slices.DeleteFunc(slices.Clone(clone.labels), func(x string) bool { return x == l })
					if verb == "add" {
						ls = append(ls, l)
					}
					b, _ := json.Marshal(ls)
					apply(id, b)
				case id == "comment" && verb == "add" && slices.Contains(screen, id):
					var ci commentInput
					if err := json.Unmarshal(raw, &ci); err != nil {
						errs[id] = "Invalid comment: " + err.Error()
						continue
					}
					nc, cerrs := s.validateComment(u, is, ci)
					for k, v := range cerrs {
						errs[k] = v
					}
					if cerrs == nil {
						comments = append(comments, nc)
					}
				default:
					errs[id] = fmt.Sprintf("Operation '%s' is not supported for field '%s' by this emulator.", verb, id)
				}
			}
		}
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	typeName := "issue_updated"
	if len(items) == 1 && items[0].fieldID == "assignee" {
		typeName = "issue_assigned"
	}
	ev, ok := s.commitEditLocked(base, is, &clone, u.name, typeName, items)
	var evs []event
	if ok {
		evs = append(evs, ev)
	}
	for _, nc := range comments {
		if !ok {
			// A comment alone is an issue_commented update.
			evs = append(evs, s.addCommentLocked(base, is, u.name, nc)...)
			continue
		}
		// With field changes, the update's event carries the comment.
		c := s.storeCommentLocked(is, u.name, nc)
		evs[0].body["comment"] = s.commentJSON(base, is, c, nil)
		evs = append(evs, s.commentEventsLocked(base, is, c, u.name, "comment_created", "issue_commented")[0])
	}
	s.mu.Unlock()
	s.dispatch(evs)
	w.WriteHeader(http.StatusNoContent)
}

// commitEditLocked stores an edited copy of is, records history and builds
// the jira:issue_updated event. Callers hold s.mu.
func (s *Server) commitEditLocked(base string, is, edited *issue, actor, typeName string, items []historyItem) (event, bool) {
	comments, attachments, links, histories := is.comments, is.attachments, is.links, is.histories
	*is = *edited
	is.comments, is.attachments, is.links, is.histories = comments, attachments, links, histories
	if len(items) == 0 {
		return event{}, false
	}
	is.updated = s.now()
	s.nextHistoryID++
	h := history{id: itoa(s.nextHistoryID), author: actor, created: is.updated, items: items}
	is.histories = append(is.histories, h)
	ev := s.issueEventLocked(base, "jira:issue_updated", typeName, is, actor, nil)
	ev.body["changelog"] = map[string]any{"id": h.id, "items": changelogItems(items)}
	return ev, true
}

func (s *Server) deleteIssue(w http.ResponseWriter, r *http.Request, u *user) {
	is := s.lockIssue(w, r, u, permDelete)
	if is == nil {
		return
	}
	base := s.baseURL(r)
	ev := s.issueEventLocked(base, "jira:issue_deleted", "", is, u.name, nil)
	s.issues = slices.DeleteFunc(s.issues, func(x *issue) bool { return x == is || x.parent == is.key })
	s.mu.Unlock()
	s.dispatch([]event{ev})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) assignIssue(w http.ResponseWriter, r *http.Request, u *user) {
	var body json.RawMessage
	if err := decodeBody(r, &body); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	is := s.lockIssue(w, r, u, permAssign)
	if is == nil {
		return
	}
	clone := *is
	msg, it := s.setField(u, &clone, "assignee", body)
	if msg != "" {
		s.mu.Unlock()
		s.writeErrors(w, http.StatusBadRequest, nil, map[string]string{"assignee": msg})
		return
	}
	ev, ok := s.commitEditLocked(s.baseURL(r), is, &clone, u.name, "issue_assigned", []historyItem{*it})
	s.mu.Unlock()
	if ok {
		s.dispatch([]event{ev})
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- transitions ----

// getTransitions lists the transitions u may take now: none without the
// Transition Issues permission.
func (s *Server) getTransitions(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFor(w, r.PathValue("key"), u, "")
	if is == nil {
		return
	}
	withFields := slices.Contains(splitList(r.URL.Query().Get("expand")), "transitions.fields")
	writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": s.transitionsJSON(s.baseURL(r), is, u, withFields)})
}

func (s *Server) doTransition(w http.ResponseWriter, r *http.Request, u *user) {
	var body struct {
		Transition ref                                     `json:"transition"`
		Fields     map[string]json.RawMessage              `json:"fields"`
		Update     map[string][]map[string]json.RawMessage `json:"update"`
	}
	if err := decodeBody(r, &body); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	is := s.lockIssue(w, r, u, "")
	if is == nil {
		return
	}
	res := ""
	if raw, ok := body.Fields["resolution"]; ok {
		var rf ref
		_ = json.Unmarshal(raw, &rf)
		x, ok := lookupResolution(rf.id())
		if !ok {
			x, ok = lookupResolution(derefOr(rf.Name, ""))
		}
		if !ok {
			s.mu.Unlock()
			s.writeErrors(w, http.StatusBadRequest, nil, map[string]string{"resolution": "Could not find valid 'id' or 'name' in resolution object."})
			return
		}
		res = x.id
	}
	var comments []newComment
	for _, op := range body.Update["comment"] {
		raw, ok := op["add"]
		if !ok {
			continue
		}
		var in commentInput
		if err := json.Unmarshal(raw, &in); err != nil {
			s.mu.Unlock()
			s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
			return
		}
		nc, errs := s.validateComment(u, is, in)
		if errs != nil {
			s.mu.Unlock()
			s.writeErrors(w, http.StatusBadRequest, nil, errs)
			return
		}
		comments = append(comments, nc)
	}
	evs, err := s.transitionLocked(s.baseURL(r), is, body.Transition.id(), u.name, res, comments)
	s.mu.Unlock()
	if err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	s.dispatch(evs)
	w.WriteHeader(http.StatusNoContent)
}

// transitionLocked moves is through transition id (or name) as actor.
// Callers hold s.mu.
func (s *Server) transitionLocked(base string, is *issue, idOrName, actor, resolutionID string, comments []newComment) ([]event, error) {
	t, ok := findBy(transitions, func(t transition) bool {
		return (t.id == idOrName || strings.EqualFold(t.name, idOrName)) && t.to != is.statusID
	})
	// Without Transition Issues no transition is valid for the user.
	if !ok || !s.hasPerm(s.userByName(actor), permTransition, is.project, is) {
		return nil, fmt.Errorf("It seems that you have tried to perform a workflow operation (%s) that is not valid for the current state of this issue (%s). The likely cause is that somebody has changed the issue recently, please look at the issue history for details.", idOrName, is.key)
	}
	from, to := lookupStatus(is.statusID), lookupStatus(t.to)
	items := []historyItem{{field: "status", fieldtype: "jira", fieldID: "status", from: from.id, fromString: from.name, to: to.id, toString: to.name}}
	oldRes, _ := lookupResolution(is.resolution)
	clone := *is
	clone.statusID = to.id
	switch {
	case to.category == 3 && from.category == 3 && resolutionID == "":
		// From one done status to another: the resolution stays.
	case to.category == 3:
		if resolutionID == "" {
			resolutionID = "10000"
		}
		newRes, _ := lookupResolution(resolutionID)
		clone.resolution, clone.resolved = newRes.id, s.now()
		items = append(items, historyItem{field: "resolution", fieldtype: "jira", fieldID: "resolution", from: nilIfEmpty(oldRes.id), fromString: nilIfEmpty(oldRes.name), to: newRes.id, toString: newRes.name})
	case is.resolution != "":
		clone.resolution, clone.resolved = "", time.Time{}
		items = append(items, historyItem{field: "resolution", fieldtype: "jira", fieldID: "resolution", from: oldRes.id, fromString: oldRes.name})
	}
	typeName := t.event
	switch {
	case from.category == 3 && to.category != 3:
		typeName = "issue_reopened"
	case typeName == "":
		typeName = "issue_generic"
	}
	ev, _ := s.commitEditLocked(base, is, &clone, actor, typeName, items)
	evs := []event{ev}
	for _, nc := range comments {
		evs = append(evs, s.addCommentLocked(base, is, actor, nc)...)
	}
	return evs, nil
}

// TransitionIssue moves an issue through a transition (id or name, e.g.
// "Done") as username, as if done in the web UI, where username needs the
// Transition Issues permission; webhooks fire.
func (s *Server) TransitionIssue(key, transition, username string) error {
	s.mu.Lock()
	is := s.issueByKey(key)
	if is == nil || s.userByName(username) == nil {
		s.mu.Unlock()
		return fmt.Errorf("jira emulator: transition %s as %s: no such issue or user", key, username)
	}
	evs, err := s.transitionLocked(s.baseURL(nil), is, transition, username, "", nil)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("jira emulator: transition %s: %w", key, err)
	}
	s.dispatch(evs)
	return nil
}
