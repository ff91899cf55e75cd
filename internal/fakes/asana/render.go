package asana

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// obj is one JSON object of a response. Resources are rendered in full with
// nested resources in full too; fields then selects what the client asked for
// (opt_fields) or the compact form Asana returns by default.
type obj = map[string]any

// compactFields are the keys of each resource type's compact representation,
// which lists and nested references return when no opt_fields name them.
var compactFields = map[string][]string{
	"user":                 {"gid", "resource_type", "name"},
	"workspace":            {"gid", "resource_type", "name"},
	"project":              {"gid", "resource_type", "name"},
	"section":              {"gid", "resource_type", "name"},
	"task":                 {"gid", "resource_type", "name", "resource_subtype"},
	"story":                {"gid", "resource_type", "created_at", "created_by", "resource_subtype", "text"},
	"attachment":           {"gid", "resource_type", "name", "resource_subtype"},
	"enum_option":          {"gid", "resource_type", "name", "enabled", "color"},
	"custom_field_setting": {"gid", "resource_type", "is_important", "project", "parent", "custom_field"},
	"webhook":              {"gid", "resource_type", "active", "resource", "target"},
	"custom_field": {"gid", "resource_type", "name", "resource_subtype", "type", "enum_options", "enabled",
		"representation_type", "id_prefix", "is_formula_field", "date_value", "enum_value", "multi_enum_values",
		"number_value", "text_value", "display_value"},
}

// omitWhenNull are properties asana_oas.yaml does not declare nullable; an
// empty one is left out of the answer rather than sent as null.
var omitWhenNull = map[string]bool{
	"completed_by": true, "assignee_section": true, "parent": true, "assignee": true, "team": true,
	"sticker_name": true, "enum_value": true, "date_value": true, "owner": true, "asana_created_field": true,
	"photo": true, "external": true,
}

func dropNulls(o obj) obj {
	for k, v := range o {
		if v == nil && omitWhenNull[k] {
			delete(o, k)
		}
	}
	return o
}

// parseOptFields reads opt_fields from the query ("a,b.c") or from a JSON
// body's options.fields. Nil means none were asked for.
func parseOptFields(q url.Values, bodyFields []string) []string {
	var out []string
	if v := q.Get("opt_fields"); v != "" {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	out = append(out, bodyFields...)
	return out
}

// selectFields returns the client's view of a full object: the requested
// fields (plus gid) when fields is non-empty, the full object when compact is
// false, or the compact form. Nested objects not named with a sub-path are
// returned compact.
func selectFields(full obj, fields []string, compact bool) obj {
	if len(fields) == 0 {
		if !compact {
			out := obj{}
			for k, v := range full {
				out[k] = compactValue(v)
			}
			return dropNulls(out)
		}
		return compactOf(full)
	}
	groups := map[string][]string{}
	var order []string
	for _, f := range fields {
		head, rest, _ := strings.Cut(f, ".")
		if _, ok := groups[head]; !ok {
			order = append(order, head)
			groups[head] = nil
		}
		if rest != "" {
			groups[head] = append(groups[head], rest)
		}
	}
	out := obj{}
	if g, ok := full["gid"]; ok {
		out["gid"] = g
	}
	for _, head := range order {
		v, ok := full[head]
		if !ok {
			continue
		}
		sub := groups[head]
		if len(sub) == 0 {
			out[head] = compactValue(v)
			continue
		}
		out[head] = nestedSelect(v, sub)
	}
	return dropNulls(out)
}

func nestedSelect(v any, fields []string) any {
	switch t := v.(type) {
	case obj:
		return selectFields(t, fields, true)
	case []obj:
		out := make([]obj, len(t))
		for i, o := range t {
			out[i] = selectFields(o, fields, true)
		}
		return out
	}
	return v
}

// compactValue turns nested resources into their compact form.
func compactValue(v any) any {
	switch t := v.(type) {
	case obj:
		return compactOf(t)
	case []obj:
		out := make([]obj, len(t))
		for i, o := range t {
			out[i] = compactOf(o)
		}
		return out
	}
	return v
}

func compactOf(o obj) obj {
	rt, _ := o["resource_type"].(string)
	keys, ok := compactFields[rt]
	if !ok {
		// Not a resource (e.g. a membership or a date value): keep it whole,
		// compacting what it nests.
		out := obj{}
		for k, v := range o {
			out[k] = compactValue(v)
		}
		return dropNulls(out)
	}
	out := obj{}
	for _, k := range keys {
		if v, ok := o[k]; ok {
			out[k] = compactValue(v)
		}
	}
	return dropNulls(out)
}

// ts formats a timestamp the way Asana does: UTC with milliseconds.
func ts(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (st *state) userObj(gid string) any {
	u, ok := st.users[gid]
	if !ok {
		return nil
	}
	return obj{"gid": u.gid, "resource_type": "user", "name": u.name, "email": u.email,
		"photo": nil, "workspaces": []obj{st.workspaceObj(seedWorkspace)}}
}

func (st *state) workspaceObj(gid string) obj {
	w := st.workspaces[gid]
	if w == nil {
		return obj{"gid": gid, "resource_type": "workspace", "name": ""}
	}
	return obj{"gid": w.gid, "resource_type": "workspace", "name": w.name,
		"is_organization": false, "email_domains": []string{"acme.example"}}
}

func (st *state) projectObj(p *project) obj {
	settings := make([]obj, 0, len(p.customFields))
	for _, cf := range p.customFields {
		settings = append(settings, st.customFieldSettingObj(p, cf))
	}
	return obj{
		"gid": p.gid, "resource_type": "project", "name": p.name,
		"archived": p.archived, "color": p.color, "notes": p.notes,
		"html_notes": "<body>" + htmlEscape(p.notes) + "</body>",
		"created_at": ts(p.createdAt), "modified_at": ts(p.modifiedAt),
		"public": true, "privacy_setting": "public_to_workspace",
		"default_view": "list", "due_on": nil, "start_on": nil,
		"workspace": st.workspaceObj(p.workspace), "owner": st.userObj(p.owner),
		"team":                  nil,
		"custom_field_settings": settings,
		"members":               st.allUsers(), "followers": []obj{},
		"permalink_url": st.baseURL + "/1/" + p.workspace + "/project/" + p.gid + "/list",
	}
}

func (st *state) allUsers() []obj {
	out := make([]obj, 0, len(st.userOrder))
	for _, gid := range st.userOrder {
		out = append(out, st.userObj(gid).(obj))
	}
	return out
}

func (st *state) customFieldSettingObj(p *project, cf string) obj {
	return obj{
		"gid": p.settingGIDs[cf], "resource_type": "custom_field_setting", "is_important": true,
		"project":      obj{"gid": p.gid, "resource_type": "project", "name": p.name},
		"parent":       obj{"gid": p.gid, "resource_type": "project", "name": p.name},
		"custom_field": st.customFieldObj(cf, nil, false),
	}
}

// customFieldObj renders a custom field definition, and with withValue its
// value on a task too.
func (st *state) customFieldObj(gid string, value any, withValue bool) obj {
	cf := st.customFields[gid]
	opts := make([]obj, 0, len(cf.options))
	for _, o := range cf.options {
		opts = append(opts, st.enumOptionObj(o))
	}
	o := obj{
		"gid": cf.gid, "resource_type": "custom_field", "name": cf.name,
		"resource_subtype": cf.subtype, "type": cf.subtype, "description": cf.description,
		"enabled": true, "representation_type": cf.subtype, "is_formula_field": false,
		"is_global_to_workspace": true, "has_notifications_enabled": true,
		"asana_created_field": nil, "created_by": st.userObj(seedAdmin),
	}
	switch cf.subtype {
	case "enum", "multi_enum":
		o["enum_options"] = opts
	case "number":
		o["precision"] = cf.precision
	}
	if !withValue {
		return o
	}
	display := any(nil)
	switch cf.subtype {
	case "enum":
		o["enum_value"] = nil
		if id, ok := value.(string); ok && st.enumOptions[id] != nil {
			o["enum_value"] = st.enumOptionObj(id)
			display = st.enumOptions[id].name
		}
	case "multi_enum":
		vals := []obj{}
		var names []string
		if ids, ok := value.([]string); ok {
			for _, id := range ids {
				if st.enumOptions[id] != nil {
					vals = append(vals, st.enumOptionObj(id))
					names = append(names, st.enumOptions[id].name)
				}
			}
		}
		o["multi_enum_values"] = vals
		if len(names) > 0 {
			display = strings.Join(names, ", ")
		}
	case "text":
		o["text_value"] = value
		display = value
	case "number":
		o["number_value"] = value
		if value != nil {
			display = formatNumber(value)
		}
	case "date":
		o["date_value"] = nil
		if d, ok := value.(string); ok {
			o["date_value"] = obj{"date": d, "date_time": nil}
			display = d
		}
	}
	o["display_value"] = display
	return o
}

func (st *state) enumOptionObj(gid string) obj {
	e := st.enumOptions[gid]
	return obj{"gid": e.gid, "resource_type": "enum_option", "name": e.name, "enabled": e.enabled, "color": e.color}
}

func (st *state) taskCompact(gid string) obj {
	t := st.tasks[gid]
	if t == nil {
		return obj{"gid": gid, "resource_type": "task", "name": "", "resource_subtype": "default_task"}
	}
	return obj{"gid": t.gid, "resource_type": "task", "name": t.name, "resource_subtype": "default_task"}
}

func (st *state) taskObj(t *task) obj {
	projects := make([]obj, 0, len(t.projects))
	memberships := make([]obj, 0, len(t.projects))
	for _, pg := range t.projects {
		p := st.projects[pg]
		po := obj{"gid": p.gid, "resource_type": "project", "name": p.name}
		projects = append(projects, po)
		sec := st.sections[t.sections[pg]]
		memberships = append(memberships, obj{"project": po,
			"section": obj{"gid": sec.gid, "resource_type": "section", "name": sec.name}})
	}
	var cfs []obj
	for _, pg := range t.projects {
		for _, cf := range st.projects[pg].customFields {
			cfs = append(cfs, st.customFieldObj(cf, t.customValues[cf], true))
		}
	}
	if cfs == nil {
		cfs = []obj{}
	}
	var completedAt any
	if t.completed {
		completedAt = ts(t.completedAt)
	}
	var due any
	if t.dueOn != "" {
		due = t.dueOn
	}
	o := obj{
		"gid": t.gid, "resource_type": "task", "resource_subtype": "default_task",
		"name": t.name, "notes": t.notes, "html_notes": t.htmlNotes,
		"completed": t.completed, "completed_at": completedAt, "completed_by": nil,
		"created_at": ts(t.createdAt), "modified_at": ts(t.modifiedAt),
		"created_by":      obj{"gid": seedAdmin, "resource_type": "user"},
		"assignee":        st.userObj(t.assignee),
		"assignee_status": "upcoming", "assignee_section": nil,
		"due_on": due, "due_at": nil, "start_on": nil, "start_at": nil,
		"approval_status": "pending", "actual_time_minutes": nil,
		"hearted": false, "hearts": []obj{}, "liked": false, "likes": []obj{}, "num_hearts": 0, "num_likes": 0,
		"is_rendered_as_separator": false, "num_subtasks": 0, "parent": nil,
		"projects": projects, "memberships": memberships, "tags": []obj{},
		"followers":     []obj{},
		"workspace":     st.workspaceObj(t.workspace),
		"custom_fields": cfs,
		"permalink_url": st.baseURL + "/1/" + t.workspace + "/project/" + firstOr(t.projects, "0") + "/task/" + t.gid,
	}
	if t.external != nil {
		o["external"] = obj{"gid": t.external.gid, "data": t.external.data}
	}
	return o
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

func (st *state) storyObj(sy *story) obj {
	o := obj{
		"gid": sy.gid, "resource_type": "story", "created_at": ts(sy.createdAt),
		"created_by": st.userObj(sy.author), "resource_subtype": sy.subtype, "type": sy.typ,
		"text": sy.text, "html_text": sy.htmlText, "is_pinned": sy.isPinned, "is_edited": sy.isEdited,
		"is_editable": sy.typ == "comment", "source": sy.source,
		"hearted": false, "hearts": []obj{}, "liked": false, "likes": []obj{},
		"num_hearts": 0, "num_likes": 0, "sticker_name": nil,
		"target": st.taskCompact(sy.task),
	}
	if sy.typ == "comment" {
		o["previews"] = []obj{} // only comment stories have previews
	}
	for k, v := range sy.details {
		o[k] = v
	}
	return o
}

// attachmentObj renders an attachment; for Asana-hosted files it mints a
// fresh download_url that expires after downloadLifetime.
func (st *state) attachmentObj(a *attachment, now time.Time) obj {
	o := obj{
		"gid": a.gid, "resource_type": "attachment", "name": a.name,
		"resource_subtype": a.subtype, "host": a.subtype, "created_at": ts(a.createdAt),
		"parent": obj{"gid": a.parent, "resource_type": "task", "name": st.taskCompact(a.parent)["name"],
			"resource_subtype": "default_task"},
		"permanent_url": st.baseURL + "/app/asana/-/get_asset?asset_id=" + a.gid,
		"download_url":  nil, "view_url": nil,
	}
	switch a.subtype {
	case "asana":
		ticket := randomToken(16)
		st.downloads[ticket] = download{attachment: a.gid, expires: now.Add(downloadLifetime)}
		o["download_url"] = st.baseURL + "/-/download/" + ticket
		o["view_url"] = o["download_url"]
		o["size"] = a.size()
	case "box":
		o["view_url"] = a.url
	default:
		o["download_url"] = a.url
		o["view_url"] = a.url
	}
	if a.subtype == "external" || a.subtype == "gdrive" {
		o["connected_to_app"] = a.connectedToApp
	}
	return o
}

// downloadLifetime is how long a download_url works, as documented by Asana.
const downloadLifetime = 2 * time.Minute

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func formatNumber(v any) any {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return nil
}

func containsString(s []string, v string) bool { return slices.Contains(s, v) }
