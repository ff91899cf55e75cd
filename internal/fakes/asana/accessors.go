package asana

import "maps"

// Task is a task as tests see it.
type Task struct {
	GID, Name, Notes, HTMLNotes string
	Completed                   bool
	// Assignee is the assignee's user gid ("" for none).
	Assignee string
	DueOn    string
	Projects []string
	// Sections maps each of the task's projects to the task's section in it.
	Sections map[string]string
	// CustomFields maps custom field gids to values: a string (text, enum
	// option gid, date), float64 (number), []string (multi_enum) or nil.
	CustomFields map[string]any
	// ExternalGID and ExternalData are the task's custom external data.
	ExternalGID, ExternalData string
}

func (st *state) taskView(t *task) Task {
	v := Task{GID: t.gid, Name: t.name, Notes: t.notes, HTMLNotes: t.htmlNotes, Completed: t.completed,
		Assignee: t.assignee, DueOn: t.dueOn, Projects: append([]string(nil), t.projects...),
		Sections: maps.Clone(t.sections), CustomFields: maps.Clone(t.customValues)}
	if t.external != nil {
		v.ExternalGID, v.ExternalData = t.external.gid, t.external.data
	}
	return v
}

// Task returns a task by gid; the zero Task when there is none.
func (s *Server) Task(gid string) Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(gid)
	if t == nil {
		return Task{}
	}
	return s.st.taskView(t)
}

// Tasks returns a project's tasks in project order.
func (s *Server) Tasks(projectGID string) []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Task
	for _, gid := range s.st.taskOrder {
		t := s.st.tasks[gid]
		if !t.deleted && containsString(t.projects, projectGID) {
			out = append(out, s.st.taskView(t))
		}
	}
	return out
}

// Story is a story as tests see it: a comment (Type "comment", Subtype
// "comment_added") or a system story (Type "system", Subtype e.g.
// "marked_complete").
type Story struct {
	GID, Text, HTMLText string
	// Author is the author's user gid.
	Author        string
	Type, Subtype string
}

// Stories returns a task's stories, oldest first.
func (s *Server) Stories(taskGID string) []Story {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.tasks[taskGID]
	if t == nil {
		return nil
	}
	var out []Story
	for _, gid := range t.stories {
		sy := s.st.stories[gid]
		out = append(out, Story{GID: sy.gid, Text: sy.text, HTMLText: sy.htmlText, Author: sy.author, Type: sy.typ, Subtype: sy.subtype})
	}
	return out
}

// AddWorkspace adds a workspace (the benchmarks' scale generator fills the
// emulator with many). Adding a gid that exists renames it.
func (s *Server) AddWorkspace(gid, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.workspaces[gid] = &workspace{gid: gid, name: name}
}

// AddUser adds a user who has no login or personal access token: someone
// the API answers about by gid or email, as the benchmarks' scale
// generator needs by the thousand. They are no project's members (a
// project lists the demo users), so ten thousand of them leave the
// answers the bridge reads as they were. Adding a gid that exists changes
// its name and email.
func (s *Server) AddUser(gid, name, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.users[gid]; u != nil {
		u.name, u.email = name, email
		return
	}
	s.st.users[gid] = &user{gid: gid, name: name, email: email}
}
