package asana

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
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
	var items []obj
	for _, gid := range s.st.projectOrder {
		items = append(items, s.st.projectObj(s.st.projects[gid]))
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

func (s *Server) listTasks(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	pg := q.r.PathValue("project_gid")
	v := q.r.URL.Query()
	if pg == "" {
		pg = v.Get("project")
	}
	if pg == "" && (v.Get("assignee") == "" || v.Get("workspace") == "") {
		s.mu.Unlock()
		return errorf(http.StatusBadRequest, "Must specify exactly one of project, tag, section, user task list, or assignee + workspace")
	}
	if pg != "" && s.st.projects[pg] == nil {
		s.mu.Unlock()
		return notFound("project")
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
	for _, gid := range s.st.taskOrder {
		t := s.st.tasks[gid]
		if t.deleted || (pg != "" && !containsString(t.projects, pg)) || (assignee != "" && t.assignee != assignee) {
			continue
		}
		items = append(items, s.st.taskObj(t))
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

func (s *Server) createTask(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	t := &task{gid: s.st.newGID(), createdAt: now, modifiedAt: now, customValues: map[string]any{}}
	if ps, ok := q.data["projects"]; ok {
		list, _ := ps.([]any)
		if one, ok := ps.(string); ok {
			list = []any{one}
		}
		for _, p := range list {
			pg, _ := p.(string)
			if s.st.projects[pg] == nil {
				return errorf(http.StatusBadRequest, "projects: Not a recognized ID: %s", pg)
			}
			t.projects = append(t.projects, pg)
			t.workspace = s.st.projects[pg].workspace
		}
	}
	if ws, ok := str(q.data, "workspace"); ok {
		if s.st.workspaces[ws] == nil {
			return errorf(http.StatusBadRequest, "workspace: Not a recognized ID: %s", ws)
		}
		t.workspace = ws
	}
	if t.workspace == "" {
		return errorf(http.StatusBadRequest, "You should specify one of workspace, parent, projects")
	}
	for _, pg := range t.projects {
		for _, cf := range s.st.projects[pg].customFields {
			t.customValues[cf] = nil
		}
	}
	if err := s.applyTaskFields(t, q); err != nil {
		return err
	}
	s.st.tasks[t.gid] = t
	s.st.taskOrder = append(s.st.taskOrder, t.gid)
	for _, pg := range t.projects {
		s.emitLocked(event{user: q.user, action: "added", resource: s.st.taskCompact(t.gid),
			parent: obj{"gid": pg, "resource_type": "project"}, scopes: []string{t.gid, pg}})
	}
	w.Header().Set("Location", "/api/1.0/tasks/"+t.gid)
	return writeOne(w, http.StatusCreated, q, s.st.taskObj(t))
}

func (s *Server) updateTask(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		return notFound("task")
	}
	if err := s.applyTaskFields(t, q); err != nil {
		return err
	}
	return writeOne(w, http.StatusOK, q, s.st.taskObj(t))
}

// applyTaskFields writes the writable task fields of a create or update and
// records a "changed" event per field.
func (s *Server) applyTaskFields(t *task, q *apiRequest) error {
	now := s.nowLocked()
	var changed []string
	d := q.data
	if v, ok := str(d, "name"); ok {
		t.name = v
		changed = append(changed, "name")
	}
	if v, ok := str(d, "html_notes"); ok {
		if _, both := d["notes"]; both {
			return errorf(http.StatusBadRequest, "You may only provide one of notes or html_notes")
		}
		if !strings.HasPrefix(strings.TrimSpace(v), "<body>") {
			return errorf(http.StatusBadRequest, "html_notes: XML is invalid: the root element must be <body>")
		}
		t.htmlNotes, t.notes = v, plainText(v)
		changed = append(changed, "notes")
	} else if v, ok := str(d, "notes"); ok {
		t.notes, t.htmlNotes = v, "<body>"+htmlEscape(v)+"</body>"
		changed = append(changed, "notes")
	}
	if v, ok := d["completed"]; ok {
		b, isBool := v.(bool)
		if sv, isStr := v.(string); isStr {
			b, isBool = sv == "true", sv == "true" || sv == "false"
		}
		if !isBool {
			return errorf(http.StatusBadRequest, "completed: Not a boolean: %v", v)
		}
		if b != t.completed {
			t.completed, t.completedAt = b, now
			changed = append(changed, "completed")
		}
	}
	if v, ok := d["assignee"]; ok {
		if v == nil {
			t.assignee = ""
		} else {
			ref, _ := v.(string)
			u, found := s.st.resolveUser(ref, q.user)
			if !found {
				return errorf(http.StatusBadRequest, "assignee: Not a recognized ID: %v", v)
			}
			t.assignee = u.gid
		}
		changed = append(changed, "assignee")
	}
	if v, ok := d["due_on"]; ok {
		if v == nil {
			t.dueOn = ""
		} else {
			sv, _ := v.(string)
			if _, err := time.Parse(time.DateOnly, sv); err != nil {
				return errorf(http.StatusBadRequest, "due_on: Not a valid date: %v", v)
			}
			t.dueOn = sv
		}
		changed = append(changed, "due_on")
	}
	if v, ok := d["external"]; ok {
		if !q.viaOAuth {
			return errorf(http.StatusBadRequest, "external: Custom external data can only be set with an OAuth access token")
		}
		m, _ := v.(map[string]any)
		gid, _ := m["gid"].(string)
		data, _ := m["data"].(string)
		if len(gid) > 1024 || len(data) > 32768 {
			return errorf(http.StatusBadRequest, "external: gid is limited to 1024 characters and data to 32768")
		}
		t.external = &externalData{gid: gid, data: data}
	}
	if v, ok := d["custom_fields"]; ok {
		m, isMap := v.(map[string]any)
		if !isMap {
			return errorf(http.StatusBadRequest, "custom_fields: Must be an object mapping custom field gids to values")
		}
		for cf, val := range m {
			if err := s.setCustomValue(t, cf, val); err != nil {
				return err
			}
			changed = append(changed, "custom_fields")
		}
	}
	if len(changed) > 0 {
		t.modifiedAt = now
		for _, f := range dedupe(changed) {
			s.emitLocked(event{user: q.user, action: "changed", resource: s.st.taskCompact(t.gid),
				change: obj{"field": f, "action": "changed"}, scopes: append([]string{t.gid}, t.projects...)})
		}
	}
	return nil
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !containsString(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// setCustomValue checks and stores a custom field value written through
// PUT /tasks/{gid}: the field must be enabled on one of the task's projects.
func (s *Server) setCustomValue(t *task, cfGID string, val any) error {
	cf := s.st.customFields[cfGID]
	if _, enabled := t.customValues[cfGID]; cf == nil || !enabled {
		return errorf(http.StatusBadRequest, "custom_fields: Custom field with ID %s is not on given object", cfGID)
	}
	if val == nil {
		t.customValues[cfGID] = nil
		return nil
	}
	switch cf.subtype {
	case "enum":
		id, _ := val.(string)
		if o := s.st.enumOptions[id]; o == nil || o.field != cfGID {
			return errorf(http.StatusBadRequest, "custom_fields: enum option %v is not an option of custom field %s", val, cfGID)
		}
		t.customValues[cfGID] = id
	case "multi_enum":
		arr, _ := val.([]any)
		ids := []string{}
		for _, a := range arr {
			id, _ := a.(string)
			if o := s.st.enumOptions[id]; o == nil || o.field != cfGID {
				return errorf(http.StatusBadRequest, "custom_fields: enum option %v is not an option of custom field %s", a, cfGID)
			}
			ids = append(ids, id)
		}
		t.customValues[cfGID] = ids
	case "text":
		sv, ok := val.(string)
		if !ok {
			return errorf(http.StatusBadRequest, "custom_fields: text field %s needs a string", cfGID)
		}
		t.customValues[cfGID] = sv
	case "number":
		f, ok := val.(float64)
		if !ok {
			return errorf(http.StatusBadRequest, "custom_fields: number field %s needs a number", cfGID)
		}
		t.customValues[cfGID] = f
	case "date":
		sv, _ := val.(string)
		if _, err := time.Parse(time.DateOnly, sv); err != nil {
			return errorf(http.StatusBadRequest, "custom_fields: date field %s needs YYYY-MM-DD", cfGID)
		}
		t.customValues[cfGID] = sv
	}
	return nil
}

func (s *Server) deleteTask(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		return notFound("task")
	}
	t.deleted = true
	s.emitLocked(event{user: q.user, action: "deleted", resource: s.st.taskCompact(t.gid),
		scopes: append([]string{t.gid}, t.projects...)})
	writeJSON(w, http.StatusOK, obj{"data": obj{}})
	return nil
}

func (s *Server) listStories(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		s.mu.Unlock()
		return notFound("task")
	}
	var items []obj
	for _, gid := range t.stories {
		items = append(items, s.st.storyObj(s.st.stories[gid]))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) createStory(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		return notFound("task")
	}
	text, hasText := str(q.data, "text")
	html, hasHTML := str(q.data, "html_text")
	switch {
	case hasText && hasHTML:
		return errorf(http.StatusBadRequest, "You may only provide one of text or html_text")
	case !hasText && !hasHTML:
		return errorf(http.StatusBadRequest, "text: Missing input")
	case hasHTML:
		if !strings.HasPrefix(strings.TrimSpace(html), "<body>") {
			return errorf(http.StatusBadRequest, "html_text: XML is invalid: the root element must be <body>")
		}
		text = plainText(html)
	default:
		html = "<body>" + htmlEscape(text) + "</body>"
	}
	sy := &story{gid: s.st.newGID(), task: t.gid, author: q.user, text: text, htmlText: html,
		subtype: "comment_added", typ: "comment", createdAt: s.nowLocked()}
	if p, ok := q.data["is_pinned"].(bool); ok {
		sy.isPinned = p
	}
	s.st.stories[sy.gid] = sy
	t.stories = append(t.stories, sy.gid)
	s.emitLocked(event{user: q.user, action: "added",
		resource: obj{"gid": sy.gid, "resource_type": "story", "resource_subtype": "comment_added"},
		parent:   s.st.taskCompact(t.gid), scopes: append([]string{t.gid}, t.projects...)})
	w.Header().Set("Location", "/api/1.0/stories/"+sy.gid)
	return writeOne(w, http.StatusCreated, q, s.st.storyObj(sy))
}

func (s *Server) getStory(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sy := s.st.stories[q.r.PathValue("story_gid")]
	if sy == nil {
		return notFound("story")
	}
	return writeOne(w, http.StatusOK, q, s.st.storyObj(sy))
}

var customFieldSubtypes = []string{"text", "enum", "multi_enum", "number", "date"}

func (s *Server) createCustomField(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, _ := str(q.data, "workspace")
	if s.st.workspaces[ws] == nil {
		return errorf(http.StatusBadRequest, "workspace: Missing input")
	}
	name, _ := str(q.data, "name")
	if name == "" {
		return errorf(http.StatusBadRequest, "name: Missing input")
	}
	sub, _ := str(q.data, "resource_subtype")
	if sub == "" {
		sub, _ = str(q.data, "type")
	}
	if !containsString(customFieldSubtypes, sub) {
		return errorf(http.StatusBadRequest, "resource_subtype: Must be one of %s", strings.Join(customFieldSubtypes, ", "))
	}
	for _, cf := range s.st.customFields {
		if strings.EqualFold(cf.name, name) {
			return errorf(http.StatusBadRequest, "name: Custom field with this name already exists in the workspace")
		}
	}
	cf := &customField{gid: s.st.newGID(), name: name, subtype: sub, workspace: ws}
	cf.description, _ = str(q.data, "description")
	if p, ok := q.data["precision"].(float64); ok {
		cf.precision = int(p)
	}
	if opts, ok := q.data["enum_options"].([]any); ok {
		if !strings.HasSuffix(sub, "enum") {
			return errorf(http.StatusBadRequest, "enum_options: Only enum fields have options")
		}
		for _, o := range opts {
			m, _ := o.(map[string]any)
			on, _ := m["name"].(string)
			color, _ := m["color"].(string)
			if on == "" {
				return errorf(http.StatusBadRequest, "enum_options: Every option needs a name")
			}
			s.addEnumOption(cf, on, color)
		}
	}
	s.st.customFields[cf.gid] = cf
	w.Header().Set("Location", "/api/1.0/custom_fields/"+cf.gid)
	return writeOne(w, http.StatusCreated, q, s.st.customFieldObj(cf.gid, nil, false))
}

func (s *Server) addEnumOption(cf *customField, name, color string) *enumOption {
	if color == "" {
		color = "none"
	}
	o := &enumOption{gid: s.st.newGID(), name: name, color: color, enabled: true, field: cf.gid}
	s.st.enumOptions[o.gid] = o
	cf.options = append(cf.options, o.gid)
	return o
}

func (s *Server) getCustomField(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid := q.r.PathValue("custom_field_gid")
	if s.st.customFields[gid] == nil {
		return notFound("custom_field")
	}
	return writeOne(w, http.StatusOK, q, s.st.customFieldObj(gid, nil, false))
}

func (s *Server) createEnumOption(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cf := s.st.customFields[q.r.PathValue("custom_field_gid")]
	if cf == nil {
		return notFound("custom_field")
	}
	if !strings.HasSuffix(cf.subtype, "enum") {
		return errorf(http.StatusBadRequest, "Only enum custom fields have options")
	}
	if len(cf.options) >= 500 {
		return errorf(http.StatusBadRequest, "A custom field may have at most 500 enum options")
	}
	name, _ := str(q.data, "name")
	if name == "" {
		return errorf(http.StatusBadRequest, "name: Missing input")
	}
	color, _ := str(q.data, "color")
	o := s.addEnumOption(cf, name, color)
	return writeOne(w, http.StatusCreated, q, s.st.enumOptionObj(o.gid))
}

func (s *Server) listWorkspaceCustomFields(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	ws := q.r.PathValue("workspace_gid")
	if s.st.workspaces[ws] == nil {
		s.mu.Unlock()
		return notFound("workspace")
	}
	var gids []string
	for gid := range s.st.customFields {
		gids = append(gids, gid)
	}
	slices.Sort(gids)
	items := make([]obj, 0, len(gids))
	for _, gid := range gids {
		items = append(items, s.st.customFieldObj(gid, nil, false))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) listCustomFieldSettings(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	p := s.st.projects[q.r.PathValue("project_gid")]
	if p == nil {
		s.mu.Unlock()
		return notFound("project")
	}
	items := make([]obj, 0, len(p.customFields))
	for _, cf := range p.customFields {
		items = append(items, s.st.customFieldSettingObj(p, cf))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) addCustomFieldSetting(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.projects[q.r.PathValue("project_gid")]
	if p == nil {
		return notFound("project")
	}
	cf, _ := str(q.data, "custom_field")
	if s.st.customFields[cf] == nil {
		return errorf(http.StatusBadRequest, "custom_field: Not a recognized ID: %s", cf)
	}
	if containsString(p.customFields, cf) {
		return errorf(http.StatusBadRequest, "custom_field: Custom field is already on the project")
	}
	p.customFields = append(p.customFields, cf)
	for _, t := range s.st.tasks {
		if containsString(t.projects, p.gid) {
			if _, ok := t.customValues[cf]; !ok {
				t.customValues[cf] = nil
			}
		}
	}
	return writeOne(w, http.StatusOK, q, s.st.customFieldSettingObj(p, cf))
}
