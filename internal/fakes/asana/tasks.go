package asana

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// lookupTask finds a task by gid or by "external:<gid>" (custom external data).
func (st *state) lookupTask(ref string) *task {
	if ext, ok := strings.CutPrefix(ref, "external:"); ok {
		for _, t := range st.tasks {
			if t.external != nil && t.external.gid == ext && !t.deleted {
				return t
			}
		}
		return nil
	}
	t := st.tasks[ref]
	if t == nil || t.deleted {
		return nil
	}
	return t
}

// listTasks is GET /tasks (project, section, or assignee + workspace) and
// GET /projects/{project_gid}/tasks; a project lists its tasks section by
// section.
func (s *Server) listTasks(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	pg := q.r.PathValue("project_gid")
	v := q.r.URL.Query()
	if pg == "" {
		pg = v.Get("project")
	}
	sg := v.Get("section")
	if pg == "" && sg == "" && (v.Get("assignee") == "" || v.Get("workspace") == "") {
		s.mu.Unlock()
		return errorf(http.StatusBadRequest, "Must specify exactly one of project, tag, section, user task list, or assignee + workspace")
	}
	var candidates []*task
	switch {
	case sg != "":
		sec := s.st.sections[sg]
		if sec == nil {
			s.mu.Unlock()
			return notFound("section")
		}
		for _, tg := range sec.tasks {
			if t := s.st.tasks[tg]; !t.deleted {
				candidates = append(candidates, t)
			}
		}
	case pg != "":
		p := s.st.projects[pg]
		if p == nil {
			s.mu.Unlock()
			return notFound("project")
		}
		candidates = s.st.projectTasks(p)
	default:
		for _, gid := range s.st.taskOrder {
			if t := s.st.tasks[gid]; !t.deleted {
				candidates = append(candidates, t)
			}
		}
	}
	assignee := ""
	if a := v.Get("assignee"); a != "" {
		u, ok := s.st.resolveUser(a, q.user)
		if !ok {
			s.mu.Unlock()
			return notFound("assignee")
		}
		assignee = u.gid
	}
	var items []obj
	for _, t := range candidates {
		if assignee == "" || t.assignee == assignee {
			items = append(items, s.st.taskObj(t))
		}
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) getTask(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		return notFound("task")
	}
	return writeOne(w, http.StatusOK, q, s.st.taskObj(t))
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// plainText turns html_notes / html_text into their plain-text twin.
func plainText(html string) string {
	s := tagRE.ReplaceAllString(html, "")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&amp;", "&").Replace(s)
}

// membership is a project (and optionally one of its sections) a new task
// goes into.
type membership struct {
	project *project
	section *section
}

// readMemberships reads projects and memberships of POST /tasks.
func (st *state) readMemberships(d map[string]any) ([]membership, error) {
	var out []membership
	add := func(p *project, sec *section) {
		for i, m := range out {
			if m.project == p {
				if sec != nil {
					out[i].section = sec
				}
				return
			}
		}
		out = append(out, membership{project: p, section: sec})
	}
	if ps, ok := d["projects"]; ok {
		list, _ := ps.([]any)
		if one, ok := ps.(string); ok {
			list = []any{one}
		}
		for _, p := range list {
			pg, _ := p.(string)
			if st.projects[pg] == nil {
				return nil, errorf(http.StatusBadRequest, "projects: Not a recognized ID: %v", p)
			}
			add(st.projects[pg], nil)
		}
	}
	if ms, ok := d["memberships"]; ok {
		list, isList := ms.([]any)
		if !isList {
			return nil, errorf(http.StatusBadRequest, "memberships: Must be an array of {project, section}")
		}
		for _, m := range list {
			mm, _ := m.(map[string]any)
			pg, _ := mm["project"].(string)
			p := st.projects[pg]
			if p == nil {
				return nil, errorf(http.StatusBadRequest, "memberships: project: Not a recognized ID: %v", mm["project"])
			}
			var sec *section
			if sg, ok := mm["section"].(string); ok {
				if sec = st.sections[sg]; sec == nil || sec.project != p.gid {
					return nil, errorf(http.StatusBadRequest, "memberships: section %s is not a section of project %s", sg, p.gid)
				}
			}
			add(p, sec)
		}
	}
	return out, nil
}

// createTask is POST /tasks. Asana records a new task in a project as
// "added" to the project and "added" to its section; the fields it was
// created with record no change events and no stories.
func (s *Server) createTask(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	now := s.nowLocked()
	ms, err := st.readMemberships(q.data)
	if err != nil {
		return err
	}
	t := &task{createdAt: now, modifiedAt: now, customValues: map[string]any{}}
	for _, m := range ms {
		t.workspace = m.project.workspace
		for _, cf := range m.project.customFields {
			t.customValues[cf] = nil
		}
	}
	if ws, ok := str(q.data, "workspace"); ok {
		if st.workspaces[ws] == nil {
			return errorf(http.StatusBadRequest, "workspace: Not a recognized ID: %s", ws)
		}
		t.workspace = ws
	}
	if t.workspace == "" {
		return errorf(http.StatusBadRequest, "You should specify one of workspace, parent, projects")
	}
	e, err := s.readTaskEdit(q, t.customValues)
	if err != nil {
		return err
	}
	t.gid = st.newGID()
	s.applyTaskEdit(t, e, q.user, false)
	st.tasks[t.gid] = t
	st.taskOrder = append(st.taskOrder, t.gid)
	for _, m := range ms {
		st.addToProjectLocked(t, m.project, m.section)
	}
	for _, m := range ms {
		s.emitLocked(eventSpec{user: q.user, action: "added", resource: taskRef(t.gid),
			parent: &ref{gid: m.project.gid, typ: "project"}, scopes: t.scopes()})
		s.emitLocked(eventSpec{user: q.user, action: "added", resource: taskRef(t.gid),
			parent: ptr(sectionRef(t.sections[m.project.gid])), scopes: t.scopes()})
	}
	w.Header().Set("Location", "/api/1.0/tasks/"+t.gid)
	return writeOne(w, http.StatusCreated, q, st.taskObj(t))
}

func (s *Server) updateTask(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		return notFound("task")
	}
	e, err := s.readTaskEdit(q, t.customValues)
	if err != nil {
		return err
	}
	s.applyTaskEdit(t, e, q.user, true)
	return writeOne(w, http.StatusOK, q, s.st.taskObj(t))
}

// taskEdit is a checked set of task field writes; nothing is applied until
// every field is valid, so a bad request changes nothing.
type taskEdit struct {
	setName      bool
	name         string
	setNotes     bool
	notes, html  string
	setCompleted bool
	completed    bool
	setAssignee  bool
	assignee     string // user gid; "" unassigns
	setDue       bool
	dueOn        string // "" clears
	external     *externalData
	customs      []customEdit // in field gid order
}

type customEdit struct {
	field string
	value any // normalized: string, float64, []string or nil
}

// readTaskEdit checks the writable fields of a create or update body;
// enabled are the custom fields the task has (through its projects).
func (s *Server) readTaskEdit(q *apiRequest, enabled map[string]any) (taskEdit, error) {
	var e taskEdit
	d := q.data
	if v, ok := str(d, "name"); ok {
		e.setName, e.name = true, v
	}
	if v, ok := str(d, "html_notes"); ok {
		if _, both := d["notes"]; both {
			return e, errorf(http.StatusBadRequest, "You may only provide one of notes or html_notes")
		}
		if !strings.HasPrefix(strings.TrimSpace(v), "<body>") {
			return e, errorf(http.StatusBadRequest, "html_notes: XML is invalid: the root element must be <body>")
		}
		e.setNotes, e.html, e.notes = true, v, plainText(v)
	} else if v, ok := str(d, "notes"); ok {
		e.setNotes, e.notes, e.html = true, v, "<body>"+htmlEscape(v)+"</body>"
	}
	if v, ok := d["completed"]; ok {
		b, isBool := v.(bool)
		if sv, isStr := v.(string); isStr {
			b, isBool = sv == "true", sv == "true" || sv == "false"
		}
		if !isBool {
			return e, errorf(http.StatusBadRequest, "completed: Not a boolean: %v", v)
		}
		e.setCompleted, e.completed = true, b
	}
	if v, ok := d["assignee"]; ok {
		e.setAssignee = true
		if v != nil && v != "null" {
			ref, _ := v.(string)
			u, found := s.st.resolveUser(ref, q.user)
			if !found {
				return e, errorf(http.StatusBadRequest, "assignee: Not a recognized ID: %v", v)
			}
			e.assignee = u.gid
		}
	}
	if v, ok := d["due_on"]; ok {
		e.setDue = true
		if v != nil && v != "null" {
			sv, _ := v.(string)
			if _, err := time.Parse(time.DateOnly, sv); err != nil {
				return e, errorf(http.StatusBadRequest, "due_on: Not a valid date: %v", v)
			}
			e.dueOn = sv
		}
	}
	if v, ok := d["external"]; ok {
		if !q.viaOAuth {
			return e, errorf(http.StatusBadRequest, "external: Custom external data can only be set with an OAuth access token")
		}
		m, _ := v.(map[string]any)
		gid, _ := m["gid"].(string)
		data, _ := m["data"].(string)
		if len(gid) > 1024 || len(data) > 32768 {
			return e, errorf(http.StatusBadRequest, "external: gid is limited to 1024 characters and data to 32768")
		}
		e.external = &externalData{gid: gid, data: data}
	}
	if v, ok := d["custom_fields"]; ok {
		m, isMap := v.(map[string]any)
		if !isMap {
			return e, errorf(http.StatusBadRequest, "custom_fields: Must be an object mapping custom field gids to values")
		}
		for cf, val := range m {
			norm, err := s.st.checkCustomValue(cf, val, enabled)
			if err != nil {
				return e, err
			}
			e.customs = append(e.customs, customEdit{field: cf, value: norm})
		}
		slices.SortFunc(e.customs, func(a, b customEdit) int { return strings.Compare(a.field, b.field) })
	}
	return e, nil
}

// checkCustomValue checks a custom field value written to a task: the field
// must be enabled on one of the task's projects, and the value fit its type.
func (st *state) checkCustomValue(cfGID string, val any, enabled map[string]any) (any, error) {
	cf := st.customFields[cfGID]
	if _, on := enabled[cfGID]; cf == nil || !on {
		return nil, errorf(http.StatusBadRequest, "custom_fields: Custom field with ID %s is not on given object", cfGID)
	}
	if val == nil {
		return nil, nil
	}
	switch cf.subtype {
	case "enum":
		id, _ := val.(string)
		if o := st.enumOptions[id]; o == nil || o.field != cfGID {
			return nil, errorf(http.StatusBadRequest, "custom_fields: enum option %v is not an option of custom field %s", val, cfGID)
		}
		if !st.enumOptions[id].enabled {
			return nil, errorf(http.StatusBadRequest, "custom_fields: enum option %v is disabled", val)
		}
		return id, nil
	case "multi_enum":
		arr, _ := val.([]any)
		ids := []string{}
		for _, a := range arr {
			id, _ := a.(string)
			if o := st.enumOptions[id]; o == nil || o.field != cfGID {
				return nil, errorf(http.StatusBadRequest, "custom_fields: enum option %v is not an option of custom field %s", a, cfGID)
			}
			ids = append(ids, id)
		}
		return ids, nil
	case "text":
		sv, ok := val.(string)
		if !ok {
			return nil, errorf(http.StatusBadRequest, "custom_fields: text field %s needs a string", cfGID)
		}
		return sv, nil
	case "number":
		f, ok := val.(float64)
		if !ok {
			return nil, errorf(http.StatusBadRequest, "custom_fields: number field %s needs a number", cfGID)
		}
		return f, nil
	case "date":
		sv, _ := val.(string)
		if _, err := time.Parse(time.DateOnly, sv); err != nil {
			return nil, errorf(http.StatusBadRequest, "custom_fields: date field %s needs YYYY-MM-DD", cfGID)
		}
		return sv, nil
	}
	return nil, errorf(http.StatusBadRequest, "custom_fields: custom field %s cannot be written", cfGID)
}

// applyTaskEdit writes a checked edit. With record (an update, not a
// create), every field whose value changes records what Asana records: a
// task "changed" event naming the field (with new_value when the value is a
// resource) and a system story.
func (s *Server) applyTaskEdit(t *task, e taskEdit, by string, record bool) {
	st := s.st
	now := s.nowLocked()
	changed := func(field string, newValue *changeValue) {
		t.modifiedAt = now
		if record {
			s.emitLocked(eventSpec{user: by, action: "changed", resource: taskRef(t.gid),
				change: &change{field: field, action: "changed", newValue: newValue}, scopes: t.scopes()})
		}
	}
	story := func(subtype, text string, details obj) {
		if record {
			s.systemStoryLocked(t, by, subtype, text, details)
		}
	}
	if e.setName && e.name != t.name {
		old := t.name
		t.name = e.name
		changed("name", nil)
		story("name_changed", fmt.Sprintf("changed the name to %q", e.name), obj{"old_name": old, "new_name": e.name})
	}
	if e.setNotes && e.html != t.htmlNotes {
		t.notes, t.htmlNotes = e.notes, e.html
		// Asana names the rich-text field in the event.
		changed("html_notes", nil)
		story("notes_changed", "changed the description", nil)
	}
	if e.setCompleted && e.completed != t.completed {
		t.completed, t.completedAt = e.completed, now
		changed("completed", nil)
		if e.completed {
			story("marked_complete", "marked this task complete", nil)
		} else {
			story("marked_incomplete", "marked incomplete", nil)
		}
	}
	if e.setAssignee && e.assignee != t.assignee {
		old := t.assignee
		t.assignee = e.assignee
		if e.assignee == "" {
			changed("assignee", nil)
			story("unassigned", "unassigned from "+st.users[old].name, obj{"assignee": st.compactRef(ref{gid: old, typ: "user"})})
		} else {
			u := st.users[e.assignee]
			changed("assignee", &changeValue{hook: ref{gid: u.gid, typ: "user"}.hook(), api: st.compactRef(ref{gid: u.gid, typ: "user"})})
			story("assigned", "assigned to "+u.name, obj{"assignee": st.compactRef(ref{gid: u.gid, typ: "user"})})
		}
	}
	if e.setDue && e.dueOn != t.dueOn {
		old := t.dueOn
		t.dueOn = e.dueOn
		changed("due_on", nil)
		text := "removed the due date"
		if e.dueOn != "" {
			text = "changed the due date to " + dueDateText(e.dueOn, now)
		}
		story("due_date_changed", text, withDates(obj{}, "old_dates", "new_dates", old, e.dueOn))
	}
	if e.external != nil {
		t.external = e.external
	}
	for _, c := range e.customs {
		old := t.customValues[c.field]
		if sameValue(old, c.value) {
			continue
		}
		t.customValues[c.field] = c.value
		cf := st.customFields[c.field]
		changed("custom_fields", &changeValue{
			hook: ref{gid: cf.gid, typ: "custom_field", subtype: cf.subtype}.hook(),
			api:  compactOf(st.customFieldObj(cf.gid, c.value, true)),
		})
		subtype, text, details := st.customFieldStory(cf, old, c.value)
		story(subtype, text, details)
	}
}

func sameValue(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok || bok {
		return aok && bok && slices.Equal(as, bs)
	}
	return a == b
}

// customFieldStory is the system story of a custom field change:
// <type>_custom_field_changed with the field and its old and new values.
func (st *state) customFieldStory(cf *customField, old, value any) (subtype, text string, details obj) {
	subtype = cf.subtype + "_custom_field_changed"
	details = obj{"custom_field": compactOf(st.customFieldObj(cf.gid, nil, false))}
	display := func(v any) string {
		d, _ := st.customFieldObj(cf.gid, v, true)["display_value"].(string)
		return d
	}
	switch {
	case value == nil || display(value) == "":
		text = "cleared " + cf.name
	case old == nil || display(old) == "":
		text = fmt.Sprintf("changed %s to %q", cf.name, display(value))
	default:
		text = fmt.Sprintf("changed %s from %q to %q", cf.name, display(old), display(value))
	}
	switch cf.subtype {
	case "enum":
		if id, ok := old.(string); ok {
			details["old_enum_value"] = st.enumOptionObj(id)
		}
		if id, ok := value.(string); ok {
			details["new_enum_value"] = st.enumOptionObj(id)
		}
	case "multi_enum":
		opts := func(v any) []obj {
			out := []obj{}
			ids, _ := v.([]string)
			for _, id := range ids {
				out = append(out, st.enumOptionObj(id))
			}
			return out
		}
		details["old_multi_enum_values"], details["new_multi_enum_values"] = opts(old), opts(value)
	case "text":
		if v, ok := old.(string); ok {
			details["old_text_value"] = v
		}
		if v, ok := value.(string); ok {
			details["new_text_value"] = v
		}
	case "number":
		details["old_number_value"] = old
		if value != nil {
			details["new_number_value"] = value
		}
	case "date":
		oldDate, _ := old.(string)
		newDate, _ := value.(string)
		withDates(details, "old_date_value", "new_date_value", oldDate, newDate)
	}
	return subtype, text, details
}

func (s *Server) deleteTask(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		return notFound("task")
	}
	t.deleted = true
	s.emitLocked(eventSpec{user: q.user, action: "deleted", resource: taskRef(t.gid), scopes: t.scopes()})
	writeJSON(w, http.StatusOK, obj{"data": obj{}})
	return nil
}
