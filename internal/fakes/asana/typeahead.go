package asana

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Projects made over the API, and the typeahead search: what a person
// picking a project by name needs.

// createProject is POST /projects and POST /workspaces/{workspace_gid}/projects:
// a project with a name in a workspace, with Asana's default section.
//
// https://developers.asana.com/reference/createproject
func (s *Server) createProject(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	ws := q.r.PathValue("workspace_gid")
	if ws == "" {
		ws, _ = str(q.data, "workspace")
	}
	switch {
	case ws == "":
		return errorf(http.StatusBadRequest, "workspace: Missing input")
	case st.workspaces[ws] == nil:
		return errorf(http.StatusBadRequest, "workspace: Not a recognized ID: %s", ws)
	}
	name, _ := str(q.data, "name")
	if strings.TrimSpace(name) == "" {
		return errorf(http.StatusBadRequest, "name: Missing input")
	}
	now := s.nowLocked()
	p := &project{gid: st.newGID(), name: name, workspace: ws, owner: q.user, createdAt: now, modifiedAt: now,
		color: "none", settingGIDs: map[string]string{}}
	p.notes, _ = str(q.data, "notes")
	if c, ok := str(q.data, "color"); ok {
		p.color = c
	}
	st.projects[p.gid] = p
	st.projectOrder = append(st.projectOrder, p.gid)
	st.addSectionLocked(p, st.newGID(), "Untitled section", now, -1)
	w.Header().Set("Location", "/api/1.0/projects/"+p.gid)
	return writeOne(w, http.StatusCreated, q, st.projectObj(p))
}

// typeaheadMax is the largest count the typeahead answers.
const typeaheadMax = 100

// typeahead is GET /workspaces/{workspace_gid}/typeahead: up to count
// (default 20, at most 100) objects of one resource_type whose name
// matches the query, one page, never paginated. A name matches when each
// word of the query starts a word of the name, in any case; an empty query
// matches everything. Asana orders projects by recency; the emulator keeps
// creation order, newest first.
//
// https://developers.asana.com/reference/typeaheadforworkspace
func (s *Server) typeahead(w http.ResponseWriter, q *apiRequest) error {
	v := q.r.URL.Query()
	count := 20
	if c := v.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > typeaheadMax {
			return errorf(http.StatusBadRequest, "count: Must be between 1 and 100")
		}
		count = n
	}
	kind := v.Get("resource_type")
	if kind == "" {
		kind = v.Get("type") // deprecated, same meaning
	}
	if kind == "" {
		kind = "user"
	}
	query := strings.Fields(strings.ToLower(v.Get("query")))
	matches := func(name string) bool {
		words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
			return r == ' ' || r == '-' || r == '_' || r == '/' || r == '(' || r == ')' || r == ','
		})
		for _, qw := range query {
			if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, qw) }) {
				return false
			}
		}
		return true
	}
	s.mu.Lock()
	st := s.st
	ws := q.r.PathValue("workspace_gid")
	if st.workspaces[ws] == nil {
		s.mu.Unlock()
		return notFound("workspace")
	}
	var items []obj
	add := func(gid, typ, name string) bool {
		if matches(name) {
			items = append(items, obj{"gid": gid, "resource_type": typ, "name": name})
		}
		return len(items) < count
	}
	switch kind {
	case "project":
		for _, gid := range slices.Backward(st.projectOrder) {
			if p := st.projects[gid]; p.workspace == ws && !p.archived && !add(p.gid, "project", p.name) {
				break
			}
		}
	case "task":
		for _, gid := range slices.Backward(st.taskOrder) {
			if t := st.tasks[gid]; t != nil && t.workspace == ws && !add(t.gid, "task", t.name) {
				break
			}
		}
	case "user":
		for _, gid := range st.userOrder {
			if u := st.users[gid]; !add(u.gid, "user", u.name) {
				break
			}
		}
	default:
		s.mu.Unlock()
		return errorf(http.StatusBadRequest, "resource_type: %s is not one the emulator searches (project, task, user)", kind)
	}
	s.mu.Unlock()
	out := make([]obj, 0, len(items))
	for _, it := range items {
		out = append(out, selectFields(it, q.optFields, true))
	}
	writeJSON(w, http.StatusOK, obj{"data": out})
	return nil
}
