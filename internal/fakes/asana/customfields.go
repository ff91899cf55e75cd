package asana

import (
	"net/http"
	"slices"
	"strings"
)

var customFieldSubtypes = []string{"text", "enum", "multi_enum", "number", "date"}

// errPremium is Asana's answer to custom field changes in a free workspace.
func errPremium() error {
	return errorf(http.StatusPaymentRequired, "Custom Fields are not available for free users or guests.")
}

func (s *Server) createCustomField(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.faults.FreeWorkspace {
		return errPremium()
	}
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
			s.addEnumOption(cf, on, color, -1)
		}
	}
	s.st.customFields[cf.gid] = cf
	w.Header().Set("Location", "/api/1.0/custom_fields/"+cf.gid)
	return writeOne(w, http.StatusCreated, q, s.st.customFieldObj(cf.gid, nil, false))
}

// addEnumOption adds an option to cf at position (-1 appends).
func (s *Server) addEnumOption(cf *customField, name, color string, position int) *enumOption {
	if color == "" {
		color = "none"
	}
	o := &enumOption{gid: s.st.newGID(), name: name, color: color, enabled: true, field: cf.gid}
	s.st.enumOptions[o.gid] = o
	if position < 0 || position > len(cf.options) {
		position = len(cf.options)
	}
	cf.options = slices.Insert(cf.options, position, o.gid)
	return o
}

// projectsWith are the projects that have custom field cf enabled.
func (st *state) projectsWith(cf string) []string {
	var out []string
	for _, pg := range st.projectOrder {
		if containsString(st.projects[pg].customFields, cf) {
			out = append(out, pg)
		}
	}
	return out
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
	if s.st.faults.FreeWorkspace {
		return errPremium()
	}
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
	for _, og := range cf.options {
		if strings.EqualFold(s.st.enumOptions[og].name, name) {
			return errorf(http.StatusBadRequest, "name: An enum option with this name already exists on the custom field")
		}
	}
	pos, err := insertPosition(q.data, cf.options, "enum option", "custom field", -1)
	if err != nil {
		return err
	}
	color, _ := str(q.data, "color")
	o := s.addEnumOption(cf, name, color, pos)
	// The field's streams (and the projects using it) see the option added.
	s.emitLocked(eventSpec{user: q.user, action: "changed", resource: ref{gid: cf.gid, typ: "custom_field", subtype: cf.subtype},
		change: &change{field: "enum_options", action: "added", addedValue: &changeValue{
			hook: ref{gid: o.gid, typ: "enum_option"}.hook(), api: s.st.enumOptionObj(o.gid)}},
		scopes: append([]string{cf.gid}, s.st.projectsWith(cf.gid)...)})
	w.Header().Set("Location", "/api/1.0/enum_options/"+o.gid)
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
	if s.st.faults.FreeWorkspace {
		return errPremium()
	}
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
	p.settingGIDs[cf] = s.st.newGID()
	p.modifiedAt = s.nowLocked()
	for _, t := range s.st.tasks {
		if containsString(t.projects, p.gid) {
			if _, ok := t.customValues[cf]; !ok {
				t.customValues[cf] = nil
			}
		}
	}
	setting := s.st.customFieldSettingObj(p, cf)
	s.emitLocked(eventSpec{user: q.user, action: "changed", resource: ref{gid: p.gid, typ: "project"},
		change: &change{field: "custom_field_settings", action: "added", addedValue: &changeValue{
			hook: ref{gid: setting["gid"].(string), typ: "custom_field_setting"}.hook(), api: compactOf(setting)}},
		scopes: []string{p.gid}})
	return writeOne(w, http.StatusOK, q, setting)
}
