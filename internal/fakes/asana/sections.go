package asana

import (
	"net/http"
	"slices"
	"time"
)

// section is a subdivision of a project; every task of a project is in
// exactly one of its sections, in order.
type section struct {
	gid, name, project string
	createdAt          time.Time
	tasks              []string // task gids in section order
}

func (st *state) sectionObj(sec *section) obj {
	p := st.projects[sec.project]
	po := obj{"gid": p.gid, "resource_type": "project", "name": p.name}
	return obj{"gid": sec.gid, "resource_type": "section", "name": sec.name, "created_at": ts(sec.createdAt),
		"project": po, "projects": []obj{po}}
}

func sectionRef(gid string) ref { return ref{gid: gid, typ: "section"} }

// addSectionLocked creates a section in p at position (an index into
// p.sections; -1 appends).
func (st *state) addSectionLocked(p *project, gid, name string, at time.Time, position int) *section {
	sec := &section{gid: gid, name: name, project: p.gid, createdAt: at}
	st.sections[gid] = sec
	if position < 0 || position > len(p.sections) {
		position = len(p.sections)
	}
	p.sections = slices.Insert(p.sections, position, gid)
	return sec
}

// projectTasks are the live tasks of a project in Asana's order: section by
// section, each section in its own order.
func (st *state) projectTasks(p *project) []*task {
	var out []*task
	for _, sg := range p.sections {
		for _, tg := range st.sections[sg].tasks {
			if t := st.tasks[tg]; t != nil && !t.deleted {
				out = append(out, t)
			}
		}
	}
	return out
}

// placeTaskLocked puts t into sec (of a project t is in) at position (-1
// appends), taking it out of the project's other section.
func (st *state) placeTaskLocked(t *task, sec *section, position int) {
	if old := st.sections[t.sections[sec.project]]; old != nil {
		old.tasks = removeString(old.tasks, t.gid)
	}
	if position < 0 || position > len(sec.tasks) {
		position = len(sec.tasks)
	}
	sec.tasks = slices.Insert(sec.tasks, position, t.gid)
	if t.sections == nil {
		t.sections = map[string]string{}
	}
	t.sections[sec.project] = sec.gid
}

// addToProjectLocked makes t a task of p, in sec (nil: the project's first
// section), and enables the project's custom fields on it.
func (st *state) addToProjectLocked(t *task, p *project, sec *section) {
	if sec == nil {
		sec = st.sections[p.sections[0]]
	}
	if !containsString(t.projects, p.gid) {
		t.projects = append(t.projects, p.gid)
	}
	for _, cf := range p.customFields {
		if _, ok := t.customValues[cf]; !ok {
			t.customValues[cf] = nil
		}
	}
	st.placeTaskLocked(t, sec, -1)
}

// taskScopes are the event streams that see a change of t.
func (t *task) scopes() []string {
	return append([]string{t.gid}, t.projects...)
}

func (s *Server) listSections(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	p := s.st.projects[q.r.PathValue("project_gid")]
	if p == nil {
		s.mu.Unlock()
		return notFound("project")
	}
	items := make([]obj, 0, len(p.sections))
	for _, sg := range p.sections {
		items = append(items, s.st.sectionObj(s.st.sections[sg]))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) getSection(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.st.sections[q.r.PathValue("section_gid")]
	if sec == nil {
		return notFound("section")
	}
	return writeOne(w, http.StatusOK, q, s.st.sectionObj(sec))
}

// insertPosition reads insert_before / insert_after (at most one) against
// an ordered list of gids (kinds in a container) and returns the index to
// insert at, or def.
func insertPosition(data map[string]any, list []string, kind, container string, def int) (int, error) {
	before, hasBefore := str(data, "insert_before")
	after, hasAfter := str(data, "insert_after")
	switch {
	case hasBefore && hasAfter:
		return 0, errorf(http.StatusBadRequest, "insert_before, insert_after: You may only provide one of insert_before or insert_after")
	case hasBefore:
		i := slices.Index(list, before)
		if i < 0 {
			return 0, errorf(http.StatusBadRequest, "insert_before: %s %s is not in this %s", kind, before, container)
		}
		return i, nil
	case hasAfter:
		i := slices.Index(list, after)
		if i < 0 {
			return 0, errorf(http.StatusBadRequest, "insert_after: %s %s is not in this %s", kind, after, container)
		}
		return i + 1, nil
	}
	return def, nil
}

// createSection is POST /projects/{project_gid}/sections.
func (s *Server) createSection(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.projects[q.r.PathValue("project_gid")]
	if p == nil {
		return notFound("project")
	}
	name, _ := str(q.data, "name")
	if name == "" {
		return errorf(http.StatusBadRequest, "name: Missing input")
	}
	pos, err := insertPosition(q.data, p.sections, "section", "project", -1)
	if err != nil {
		return err
	}
	sec := s.st.addSectionLocked(p, s.st.newGID(), name, s.nowLocked(), pos)
	p.modifiedAt = sec.createdAt
	s.emitLocked(eventSpec{user: q.user, action: "added", resource: sectionRef(sec.gid),
		parent: &ref{gid: p.gid, typ: "project"}, scopes: []string{sec.gid, p.gid}})
	w.Header().Set("Location", "/api/1.0/sections/"+sec.gid)
	return writeOne(w, http.StatusCreated, q, s.st.sectionObj(sec))
}

// listSectionTasks is GET /sections/{section_gid}/tasks.
func (s *Server) listSectionTasks(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	sec := s.st.sections[q.r.PathValue("section_gid")]
	if sec == nil {
		s.mu.Unlock()
		return notFound("section")
	}
	var items []obj
	for _, tg := range sec.tasks {
		if t := s.st.tasks[tg]; t != nil && !t.deleted {
			items = append(items, s.st.taskObj(t))
		}
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

// addTaskToSection is POST /sections/{section_gid}/addTask: the task moves
// to the top of the section (or next to insert_before / insert_after) and
// leaves the project's other section; a task not yet in the project joins it.
func (s *Server) addTaskToSection(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.st.sections[q.r.PathValue("section_gid")]
	if sec == nil {
		return notFound("section")
	}
	tg, _ := str(q.data, "task")
	if tg == "" {
		return errorf(http.StatusBadRequest, "task: Missing input")
	}
	t := s.st.lookupTask(tg)
	if t == nil {
		return errorf(http.StatusBadRequest, "task: Not a recognized ID: %s", tg)
	}
	list := removeString(slices.Clone(sec.tasks), t.gid)
	pos, err := insertPosition(q.data, list, "task", "section", 0)
	if err != nil {
		return err
	}
	s.moveTaskLocked(t, sec, pos, q.user)
	writeJSON(w, http.StatusOK, obj{"data": obj{}})
	return nil
}

// moveTaskLocked puts t into sec at pos and records what Asana records: a
// task joining the project is "added" to the project and to the section
// (with an "added to" story); a task changing section is "removed" from the
// old section and "added" to the new one, with a section_changed story.
func (s *Server) moveTaskLocked(t *task, sec *section, pos int, by string) {
	st := s.st
	p := st.projects[sec.project]
	oldGID, inProject := t.sections[p.gid]
	if inProject && oldGID == sec.gid {
		st.placeTaskLocked(t, sec, pos) // a move inside the section: no event
		return
	}
	if !inProject {
		st.addToProjectLocked(t, p, sec)
	}
	st.placeTaskLocked(t, sec, pos)
	t.modifiedAt = s.nowLocked()
	res := taskRef(t.gid)
	if !inProject {
		s.emitLocked(eventSpec{user: by, action: "added", resource: res, parent: &ref{gid: p.gid, typ: "project"}, scopes: t.scopes()})
		s.emitLocked(eventSpec{user: by, action: "added", resource: res, parent: ptr(sectionRef(sec.gid)), scopes: t.scopes()})
		s.systemStoryLocked(t, by, "added_to_project", "added to "+p.name,
			obj{"project": obj{"gid": p.gid, "resource_type": "project", "name": p.name}})
		return
	}
	old := st.sections[oldGID]
	s.emitLocked(eventSpec{user: by, action: "removed", resource: res, parent: ptr(sectionRef(old.gid)), scopes: t.scopes()})
	s.emitLocked(eventSpec{user: by, action: "added", resource: res, parent: ptr(sectionRef(sec.gid)), scopes: t.scopes()})
	s.systemStoryLocked(t, by, "section_changed",
		"moved this task from \""+old.name+"\" to \""+sec.name+"\" in "+p.name,
		obj{"old_section": obj{"gid": old.gid, "resource_type": "section", "name": old.name},
			"new_section": obj{"gid": sec.gid, "resource_type": "section", "name": sec.name},
			"project":     obj{"gid": p.gid, "resource_type": "project", "name": p.name}})
}

func ptr[T any](v T) *T { return &v }
