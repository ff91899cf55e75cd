package asana

import (
	"net/http"
	"strconv"
	"strings"
)

func notFound(kind string) *apiError {
	return errorf(http.StatusNotFound, "%s: Unknown object: not found", kind)
}

// resolveUser accepts "me", a user gid or an e-mail address, as Asana does.
func (st *state) resolveUser(ref, me string) (*user, bool) {
	if ref == "me" {
		ref = me
	}
	if u, ok := st.users[ref]; ok {
		return u, true
	}
	for _, u := range st.users {
		if strings.EqualFold(u.email, ref) {
			return u, true
		}
	}
	return nil, false
}

func (s *Server) getUser(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.resolveUser(q.r.PathValue("user_gid"), q.user)
	if !ok {
		return notFound("user")
	}
	return writeOne(w, http.StatusOK, q, s.st.userObj(u.gid).(obj))
}

func (s *Server) listUsers(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	ws := q.r.PathValue("workspace_gid")
	if ws == "" {
		ws = q.r.URL.Query().Get("workspace")
	}
	if ws != "" && s.st.workspaces[ws] == nil {
		s.mu.Unlock()
		return notFound("workspace")
	}
	items := s.st.allUsers()
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) listWorkspaces(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	items := []obj{s.st.workspaceObj(seedWorkspace)}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) getWorkspace(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid := q.r.PathValue("workspace_gid")
	if s.st.workspaces[gid] == nil {
		return notFound("workspace")
	}
	return writeOne(w, http.StatusOK, q, s.st.workspaceObj(gid))
}

func (s *Server) listProjects(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	ws := q.r.PathValue("workspace_gid")
	if ws == "" {
		ws = q.r.URL.Query().Get("workspace")
	}
	if ws != "" && s.st.workspaces[ws] == nil {
		s.mu.Unlock()
		return notFound("workspace")
	}
	archived := q.r.URL.Query().Get("archived")
	var items []obj
	for _, gid := range s.st.projectOrder {
		p := s.st.projects[gid]
		if (ws != "" && p.workspace != ws) || (archived != "" && strconv.FormatBool(p.archived) != archived) {
			continue
		}
		items = append(items, s.st.projectObj(p))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) getProject(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.projects[q.r.PathValue("project_gid")]
	if p == nil {
		return notFound("project")
	}
	return writeOne(w, http.StatusOK, q, s.st.projectObj(p))
}
