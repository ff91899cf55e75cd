package jira

import (
	"fmt"
	"html"
	"slices"
	"strings"
)

// Wire rendering. Callers hold s.mu; base is the public base URL.

func htmlEscape(s string) string { return html.EscapeString(s) }

func avatarURLs(base, kind string, id int) map[string]string {
	return map[string]string{
		"48x48": fmt.Sprintf("%s/secure/%savatar?avatarId=%d", base, kind, id),
		"24x24": fmt.Sprintf("%s/secure/%savatar?size=small&avatarId=%d", base, kind, id),
		"16x16": fmt.Sprintf("%s/secure/%savatar?size=xsmall&avatarId=%d", base, kind, id),
		"32x32": fmt.Sprintf("%s/secure/%savatar?size=medium&avatarId=%d", base, kind, id),
	}
}

func (s *Server) userJSON(base string, u *user) map[string]any {
	if u == nil {
		return nil
	}
	return map[string]any{
		"self": base + "/rest/api/2/user?username=" + u.name, "key": u.key, "name": u.name,
		"emailAddress": u.email, "avatarUrls": avatarURLs(base, "user", 10122), "displayName": u.displayName,
		"active": true, "timeZone": u.timeZone,
	}
}

// userRef renders a username as a user object, or nil.
func (s *Server) userRef(base, name string) any {
	if name == "" {
		return nil
	}
	if u := s.userByName(name); u != nil {
		return s.userJSON(base, u)
	}
	return nil
}

func categoryJSON(base string, c statusCategory) map[string]any {
	return map[string]any{"self": base + "/rest/api/2/statuscategory/" + itoa(c.id), "id": c.id, "key": c.key, "colorName": c.colorName, "name": c.name}
}

func statusJSON(base string, st status) map[string]any {
	return map[string]any{
		"self": base + "/rest/api/2/status/" + st.id, "description": st.description, "iconUrl": base + st.icon,
		"name": st.name, "id": st.id, "statusCategory": categoryJSON(base, lookupCategory(st.category)),
	}
}

func priorityJSON(base string, p priority) map[string]any {
	return map[string]any{"self": base + "/rest/api/2/priority/" + p.id, "iconUrl": base + p.icon, "name": p.name, "id": p.id}
}

func resolutionJSON(base string, r resolution) map[string]any {
	return map[string]any{"self": base + "/rest/api/2/resolution/" + r.id, "id": r.id, "description": r.description, "name": r.name}
}

func issueTypeJSON(base string, t issueType) map[string]any {
	return map[string]any{
		"self": base + "/rest/api/2/issuetype/" + t.id, "id": t.id, "description": t.description,
		"iconUrl": fmt.Sprintf("%s/secure/viewavatar?size=xsmall&avatarId=%d&avatarType=issuetype", base, t.avatarID),
		"name":    t.name, "subtask": t.subtask, "avatarId": t.avatarID,
	}
}

func componentJSON(base string, c component) map[string]any {
	return map[string]any{"self": base + "/rest/api/2/component/" + c.id, "id": c.id, "name": c.name, "description": c.description}
}

func versionJSON(base, projectID string, v version) map[string]any {
	return map[string]any{"self": base + "/rest/api/2/version/" + v.id, "id": v.id, "name": v.name, "archived": false, "released": v.released, "projectId": projectID}
}

func (s *Server) projectRef(base string, p *project) map[string]any {
	return map[string]any{
		"self": base + "/rest/api/2/project/" + p.id, "id": p.id, "key": p.key, "name": p.name,
		"projectTypeKey": "software", "avatarUrls": avatarURLs(base, "project", 10324),
	}
}

func optionJSON(base string, o fieldOption) map[string]any {
	return map[string]any{"self": base + "/rest/api/2/customFieldOption/" + o.id, "value": o.value, "id": o.id}
}

// commentJSON renders a comment for viewer. A REST answer (viewer set)
// carries the comment's visibility; a webhook body (nil viewer) does not,
// as Jira Server sends restricted comments to webhooks without it.
func (s *Server) commentJSON(base string, is *issue, c *comment, viewer *user) map[string]any {
	m := map[string]any{
		"self": base + "/rest/api/2/issue/" + is.id + "/comment/" + c.id, "id": c.id,
		"author": s.userRef(base, c.author), "body": c.body, "updateAuthor": s.userRef(base, c.updateAuthor),
		"created": fmtTime(c.created), "updated": fmtTime(c.updated),
	}
	if c.visibility != nil && viewer != nil {
		m["visibility"] = map[string]any{"type": c.visibility.typ, "value": c.visibility.value}
	}
	return m
}

func (s *Server) attachmentJSON(base string, a *attachment) map[string]any {
	return map[string]any{
		"self": base + "/rest/api/2/attachment/" + a.id, "id": a.id, "filename": a.filename,
		"author": s.userRef(base, a.author), "created": fmtTime(a.created), "size": a.size,
		"mimeType": a.mimeType, "content": base + "/secure/attachment/" + a.id + "/" + pathEscape(a.filename),
	}
}

func pathEscape(s string) string {
	return strings.ReplaceAll(percentEncode(s), "%2F", "/")
}

// issueFields renders every field of is, as Jira's "*all", for viewer (nil
// for a webhook body).
func (s *Server) issueFields(base string, is *issue, viewer *user) map[string]any {
	t, _ := lookupIssueType(is.typeID)
	p, _ := lookupPriority(is.priorityID)
	f := map[string]any{
		"issuetype": issueTypeJSON(base, t), "project": s.projectRef(base, is.project), "summary": is.summary,
		"status": statusJSON(base, lookupStatus(is.statusID)), "priority": priorityJSON(base, p),
		"assignee": s.userRef(base, is.assignee), "reporter": s.userRef(base, is.reporter), "creator": s.userRef(base, is.creator),
		"created": fmtTime(is.created), "updated": fmtTime(is.updated), "lastViewed": nil,
		"labels": nonNil(is.labels), "environment": nil, "duedate": nil, "resolution": nil, "resolutiondate": nil,
		"timespent": nil, "timeestimate": nil, "timeoriginalestimate": nil, "aggregatetimespent": nil,
		"aggregatetimeestimate": nil, "aggregatetimeoriginalestimate": nil, "workratio": -1,
		"timetracking": map[string]any{}, "security": nil, "issuelinks": []any{}, "versions": []any{},
		"progress": map[string]any{"progress": 0, "total": 0}, "aggregateprogress": map[string]any{"progress": 0, "total": 0},
		"watches": map[string]any{"self": base + "/rest/api/2/issue/" + is.key + "/watchers", "watchCount": 1, "isWatching": false},
		"votes":   map[string]any{"self": base + "/rest/api/2/issue/" + is.key + "/votes", "votes": 0, "hasVoted": false},
		"worklog": map[string]any{"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []any{}},
	}
	f["description"], f["environment"] = derefOrNil(is.description), derefOrNil(is.environment)
	if is.dueDate != "" {
		f["duedate"] = is.dueDate
	}
	if lvl := s.securityLevelOf(is); lvl != nil {
		f["security"] = securityLevelJSON(base, *lvl)
	}
	if is.resolution != "" {
		r, _ := lookupResolution(is.resolution)
		f["resolution"] = resolutionJSON(base, r)
		f["resolutiondate"] = fmtTime(is.resolved)
	}
	comps := []any{}
	for _, id := range is.components {
		if c, ok := findBy(is.project.components, func(c component) bool { return c.id == id }); ok {
			comps = append(comps, componentJSON(base, c))
		}
	}
	f["components"] = comps
	fv := []any{}
	for _, id := range is.fixVersions {
		if v, ok := findBy(is.project.versions, func(v version) bool { return v.id == id }); ok {
			fv = append(fv, versionJSON(base, is.project.id, v))
		}
	}
	f["fixVersions"] = fv
	cs := []any{}
	for _, c := range s.visibleComments(viewer, is) {
		cs = append(cs, s.commentJSON(base, is, c, viewer))
	}
	f["comment"] = map[string]any{"comments": cs, "maxResults": len(cs), "total": len(cs), "startAt": 0}
	as := []any{}
	for _, a := range is.attachments {
		as = append(as, s.attachmentJSON(base, a))
	}
	f["attachment"] = as
	subs := []any{}
	for _, o := range s.issues {
		if o.parent == is.key && (viewer == nil || s.canBrowse(viewer, o)) {
			st, _ := lookupIssueType(o.typeID)
			subs = append(subs, map[string]any{"id": o.id, "key": o.key, "self": base + "/rest/api/2/issue/" + o.id,
				"fields": map[string]any{"summary": o.summary, "status": statusJSON(base, lookupStatus(o.statusID)), "issuetype": issueTypeJSON(base, st)}})
		}
	}
	f["subtasks"] = subs
	if is.parent != "" {
		if par := s.issueByKey(is.parent); par != nil {
			f["parent"] = map[string]any{"id": par.id, "key": par.key, "self": base + "/rest/api/2/issue/" + par.id,
				"fields": map[string]any{"summary": par.summary, "status": statusJSON(base, lookupStatus(par.statusID))}}
		}
	}
	for _, cf := range s.fields {
		f[cf.id] = nil
	}
	for k, v := range is.custom {
		if o, ok := v.(fieldOption); ok {
			f[k] = optionJSON(base, o)
			continue
		}
		f[k] = v
	}
	return f
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// navigableExcluded are the fields "*navigable" leaves out.
var navigableExcluded = []string{"comment", "worklog", "attachment", "timetracking"}

// selectFields applies Jira's fields parameter to a full field map.
func selectFields(all map[string]any, spec []string, def string) map[string]any {
	if len(spec) == 0 {
		spec = []string{def}
	}
	out := map[string]any{}
	var excl []string
	for _, f := range spec {
		f = strings.TrimSpace(f)
		switch {
		case f == "*all":
			for k, v := range all {
				out[k] = v
			}
		case f == "*navigable":
			for k, v := range all {
				if !slices.Contains(navigableExcluded, k) {
					out[k] = v
				}
			}
		case strings.HasPrefix(f, "-"):
			excl = append(excl, f[1:])
		case f != "":
			if v, ok := all[f]; ok {
				out[f] = v
			}
		}
	}
	for _, k := range excl {
		delete(out, k)
	}
	return out
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// issueJSON renders an issue for viewer with Jira's fields and expand
// parameters.
func (s *Server) issueJSON(base string, is *issue, viewer *user, fields []string, defFields string, expand []string) map[string]any {
	all := s.issueFields(base, is, viewer)
	out := map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     is.id, "self": base + "/rest/api/2/issue/" + is.id, "key": is.key,
		"fields": selectFields(all, fields, defFields),
	}
	for _, e := range expand {
		switch e {
		case "renderedFields":
			rf := map[string]any{}
			if is.description != nil {
				rf["description"] = "<p>" + strings.ReplaceAll(htmlEscape(*is.description), "\n", "<br/>\n") + "</p>"
			} else {
				rf["description"] = nil
			}
			rf["created"], rf["updated"] = is.created.UTC().Format("02/Jan/06 3:04 PM"), is.updated.UTC().Format("02/Jan/06 3:04 PM")
			out["renderedFields"] = rf
		case "names":
			names := map[string]string{}
			for k := range all {
				if n, ok := systemFieldNames[k]; ok {
					names[k] = n
				}
			}
			for _, cf := range s.fields {
				names[cf.id] = cf.name
			}
			out["names"] = names
		case "schema":
			sch := map[string]any{}
			for _, cf := range s.fields {
				sch[cf.id] = s.fieldSchema(cf.id)
			}
			for k := range systemFieldNames {
				if _, ok := all[k]; ok {
					sch[k] = s.fieldSchema(k)
				}
			}
			out["schema"] = sch
		case "transitions":
			out["transitions"] = s.transitionsJSON(base, is, viewer, false)
		case "editmeta":
			out["editmeta"] = s.editmetaJSON(base, is, viewer)
		case "changelog":
			hs := []any{}
			for _, h := range is.histories {
				hs = append(hs, s.historyJSON(base, h))
			}
			out["changelog"] = map[string]any{"startAt": 0, "maxResults": len(hs), "total": len(hs), "histories": hs}
		}
	}
	return out
}

func (s *Server) historyJSON(base string, h history) map[string]any {
	items := []any{}
	for _, it := range h.items {
		items = append(items, map[string]any{"field": it.field, "fieldtype": it.fieldtype, "from": it.from,
			"fromString": it.fromString, "to": it.to, "toString": it.toString})
	}
	return map[string]any{"id": h.id, "author": s.userRef(base, h.author), "created": fmtTime(h.created), "items": items}
}

// transitionsJSON lists the transitions viewer may take on is now.
func (s *Server) transitionsJSON(base string, is *issue, viewer *user, withFields bool) []any {
	out := []any{}
	if !s.hasPerm(viewer, permTransition, is.project, is) {
		return out
	}
	for _, t := range transitions {
		if t.to == is.statusID {
			continue
		}
		m := map[string]any{
			"id": t.id, "name": t.name, "to": statusJSON(base, lookupStatus(t.to)),
			"hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false,
		}
		if withFields {
			fs := map[string]any{}
			if lookupStatus(t.to).category == 3 {
				var rs []any
				for _, r := range resolutions {
					rs = append(rs, resolutionJSON(base, r))
				}
				fs["resolution"] = map[string]any{"required": false, "schema": map[string]any{"type": "resolution", "system": "resolution"},
					"name": "Resolution", "fieldId": "resolution", "hasDefaultValue": true, "operations": []string{"set"}, "allowedValues": rs}
			}
			m["fields"] = fs
		}
		out = append(out, m)
	}
	return out
}

// fieldSchema is the schema object of a field id.
func (s *Server) fieldSchema(id string) map[string]any {
	if cf, ok := findBy(s.fields, func(f customField) bool { return f.id == id }); ok {
		m := map[string]any{"type": cf.typ, "custom": cf.custom, "customId": cf.customID}
		if cf.items != "" {
			m["items"] = cf.items
		}
		return m
	}
	types := map[string][2]string{
		"summary": {"string", ""}, "description": {"string", ""}, "environment": {"string", ""},
		"issuetype": {"issuetype", ""}, "project": {"project", ""}, "priority": {"priority", ""},
		"labels": {"array", "string"}, "assignee": {"user", ""}, "reporter": {"user", ""}, "creator": {"user", ""},
		"duedate": {"date", ""}, "components": {"array", "component"}, "fixVersions": {"array", "version"},
		"versions": {"array", "version"}, "parent": {"issuelink", ""}, "status": {"status", ""},
		"resolution": {"resolution", ""}, "created": {"datetime", ""}, "updated": {"datetime", ""},
		"resolutiondate": {"datetime", ""}, "attachment": {"array", "attachment"}, "comment": {"comments-page", ""},
		"timetracking": {"timetracking", ""}, "issuelinks": {"array", "issuelinks"}, "subtasks": {"array", "issuelinks"},
		"watches": {"watches", ""}, "votes": {"votes", ""}, "worklog": {"array", "worklog"},
		"lastViewed": {"datetime", ""}, "security": {"securitylevel", ""},
	}
	t := types[id]
	if t[0] == "" {
		t[0] = "string"
	}
	m := map[string]any{"type": t[0], "system": id}
	if t[1] != "" {
		m["items"] = t[1]
	}
	return m
}

// editmetaJSON is the edit metadata of is for viewer: the fields of its
// edit screen viewer may set, with their operations.
func (s *Server) editmetaJSON(base string, is *issue, viewer *user) map[string]any {
	fields := map[string]any{}
	for _, id := range s.editScreen(viewer, is) {
		if id == "comment" {
			fields[id] = map[string]any{"required": false, "schema": s.fieldSchema(id), "name": systemFieldNames[id], "key": id,
				"operations": []string{"add"}}
			continue
		}
		m := s.fieldMeta(base, is.project, is.typeID, id, false)
		delete(m, "hasDefaultValue")
		delete(m, "defaultValue")
		fields[id] = m
	}
	return map[string]any{"fields": fields}
}
