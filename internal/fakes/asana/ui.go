package asana

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The task pane page: plain HTML, CSS and JavaScript, no external assets.
//
//go:embed ui
var uiFiles embed.FS

func (s *Server) uiRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(uiFiles, "ui") // the embedded folder always exists.
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.Handle("GET /_emulator/ui/static/", http.StripPrefix("/_emulator/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
	mux.HandleFunc("GET /_emulator/ui/style.css", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "style.css")
	})
	ui := func(pattern string, fn func(w http.ResponseWriter, r *http.Request, u *user)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			u, ok := s.sessionUser(r)
			if !ok {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first"})
				return
			}
			fn(w, r, u)
		})
	}
	ui("GET /_emulator/ui/state", s.uiState)
	ui("GET /_emulator/ui/tasks", s.uiTasks)
	ui("GET /_emulator/ui/tasks/{gid}", s.uiTask)
	ui("POST /_emulator/ui/tasks/{gid}/comments", s.uiComment)
	ui("POST /_emulator/ui/tasks/{gid}/update", s.uiUpdate)
	ui("POST /_emulator/ui/prepare", s.uiPrepare)
	ui("POST /_emulator/ui/finish", s.uiFinish)
	ui("POST /_emulator/ui/report", s.uiReport)
	ui("POST /_emulator/ui/installed", s.uiInstalled)
	ui("POST /_emulator/ui/projects/{gid}/remove-app", s.uiRemoveApp)
	// The task and project URLs the API returns as permalink_url open the
	// task pane, so links back from Jira work.
	mux.HandleFunc("GET /1/{workspace}/project/{project}/task/{task}", s.handlePermalink)
	mux.HandleFunc("GET /1/{workspace}/task/{task}", s.handlePermalink)
	mux.HandleFunc("GET /0/{project}/{task}", s.handlePermalink)
	mux.HandleFunc("GET /1/{workspace}/project/{project}/list", s.handlePermalink)
	ui("POST /_emulator/ui/run-rule", s.uiRunRule)
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.sessionUser(r); !ok {
		http.Redirect(w, r, "/-/login?next="+url.QueryEscape("/"), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	http.ServeFileFS(w, r, uiFiles, "ui/index.html")
}

// handlePermalink opens a task's (or project's) permalink_url in the task
// pane, after signing in when needed; an unknown task gets a page saying so.
func (s *Server) handlePermalink(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.sessionUser(r); !ok {
		http.Redirect(w, r, "/-/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return
	}
	gid := r.PathValue("task")
	if gid == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.mu.Lock()
	t := s.st.lookupTask(gid)
	s.mu.Unlock()
	if t == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Task not found · Asana emulator</title>
<link rel="stylesheet" href="/_emulator/ui/style.css"></head><body class="narrow"><div class="card auth"><h1>Task not found</h1>
<p>This task does not exist, or was deleted.</p><p><a href="/">Back to the project</a></p></div></body></html>`))
		return
	}
	http.Redirect(w, r, "/#task="+url.QueryEscape(t.gid), http.StatusSeeOther)
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2<<20)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return false
	}
	return true
}

type uiApp struct {
	Name                string       `json:"name"`
	ClientID            string       `json:"client_id"`
	AuthenticationURL   string       `json:"authentication_url"`
	AuthOrigin          string       `json:"auth_origin"`
	HasForm             bool         `json:"has_form"`
	HasLookup           bool         `json:"has_lookup"`
	HasTypeahead        bool         `json:"has_typeahead"`
	HasWidget           bool         `json:"has_widget"`
	ModalFormActionText string       `json:"modal_form_action_text"`
	LookupActionText    string       `json:"lookup_action_text"`
	LookupPlaceholder   string       `json:"lookup_placeholder"`
	RuleActions         []RuleAction `json:"rule_actions"`
}

func (s *Server) uiState(w http.ResponseWriter, _ *http.Request, u *user) {
	s.mu.Lock()
	a := s.st.app
	app := uiApp{Name: a.Name, ClientID: a.ClientID, AuthenticationURL: a.AuthenticationURL,
		HasForm: a.FormMetadataURL != "", HasLookup: a.ResourceAttachURL != "", HasTypeahead: a.ResourceTypeaheadURL != "",
		HasWidget: a.WidgetMetadataURL != "", ModalFormActionText: a.ModalFormActionText,
		LookupActionText: a.LookupActionText, LookupPlaceholder: a.LookupPlaceholder, RuleActions: a.RuleActions}
	if p, err := url.Parse(a.AuthenticationURL); err == nil && p.Host != "" {
		app.AuthOrigin = p.Scheme + "://" + p.Host
	}
	if app.RuleActions == nil {
		app.RuleActions = []RuleAction{}
	}
	var projects []obj
	for _, gid := range s.st.projectOrder {
		p := s.st.projects[gid]
		projects = append(projects, obj{"gid": p.gid, "name": p.name})
	}
	rules := []obj{}
	for _, gid := range s.st.ruleOrder {
		r := s.st.rules[gid]
		rules = append(rules, obj{"gid": r.gid, "name": r.name, "project": r.project, "action_type": r.actionType})
	}
	body := obj{
		"user":      obj{"gid": u.gid, "name": u.name, "login": u.login},
		"workspace": obj{"gid": seedWorkspace, "name": s.st.workspaces[seedWorkspace].name},
		"projects":  projects, "app": app, "installed": s.st.installed[u.gid], "rules": rules,
		"app_projects": s.appProjectsLocked(),
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) uiTasks(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	p := s.st.projects[r.URL.Query().Get("project")]
	if p == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	for _, t := range s.st.projectTasks(p) {
		assignee := ""
		if u := s.st.users[t.assignee]; u != nil {
			assignee = u.name
		}
		out = append(out, obj{"gid": t.gid, "name": t.name, "completed": t.completed, "assignee": assignee,
			"due_on": t.dueOn, "attachments": len(t.attachments)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) uiTask(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	t := s.st.lookupTask(r.PathValue("gid"))
	if t == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such task"})
		return
	}
	full := s.st.taskObj(t)
	now := s.nowLocked()
	var atts []obj
	for _, gid := range t.attachments {
		a := s.st.attachments[gid]
		o := s.st.attachmentObj(a, now)
		atts = append(atts, obj{"gid": a.gid, "name": a.name, "host": a.subtype, "url": a.url,
			"download_url": o["download_url"], "view_url": o["view_url"], "connected_to_app": a.connectedToApp})
	}
	var stories []obj
	for _, gid := range t.stories {
		sy := s.st.stories[gid]
		author := ""
		if u := s.st.users[sy.author]; u != nil {
			author = u.name
		}
		stories = append(stories, obj{"gid": sy.gid, "author": author, "text": sy.text, "created_at": ts(sy.createdAt),
			"type": sy.typ, "subtype": sy.subtype})
	}
	users := []obj{}
	for _, ug := range s.st.userOrder {
		users = append(users, obj{"gid": ug, "name": s.st.users[ug].name})
	}
	project := firstOr(t.projects, "")
	sections := []obj{}
	if p := s.st.projects[project]; p != nil {
		for _, sg := range p.sections {
			sections = append(sections, obj{"gid": sg, "name": s.st.sections[sg].name})
		}
	}
	var cfs []obj
	for _, cf := range full["custom_fields"].([]obj) {
		f := s.st.customFields[cf["gid"].(string)]
		o := obj{"gid": f.gid, "name": f.name, "type": f.subtype, "display_value": cf["display_value"]}
		if f.subtype == "enum" {
			opts := []obj{}
			for _, og := range f.options {
				if e := s.st.enumOptions[og]; e.enabled {
					opts = append(opts, obj{"gid": e.gid, "name": e.name})
				}
			}
			o["options"], o["value"] = opts, t.customValues[f.gid]
		}
		cfs = append(cfs, o)
	}
	pattern := s.st.app.MatchURLPattern
	assignee := ""
	if a, ok := full["assignee"].(obj); ok {
		assignee, _ = a["name"].(string)
	}
	// The task's fields are read under the lock: the API edits them
	// meanwhile.
	out := obj{"gid": t.gid, "name": t.name, "notes": t.notes, "html_notes": t.htmlNotes,
		"completed": t.completed, "assignee": assignee, "due_on": t.dueOn, "permalink_url": full["permalink_url"],
		"custom_fields": cfs, "attachments": atts, "stories": stories, "project": project,
		"assignee_gid": t.assignee, "users": users, "section": t.sections[project], "sections": sections}
	s.mu.Unlock()
	for _, a := range atts {
		a["widget"] = pattern != "" && a["url"] != "" && s.MatchesApp(a["url"].(string))
	}
	writeJSON(w, http.StatusOK, out)
}

// uiUpdate changes a task from the pane, as a person does in Asana: the
// same checks, events and system stories as the REST API. Besides the
// task's fields (completed, assignee, due_on, name, custom_fields) it takes
// a section to move the task to.
func (s *Server) uiUpdate(w http.ResponseWriter, r *http.Request, u *user) {
	var in map[string]any
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(r.PathValue("gid"))
	if t == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such task"})
		return
	}
	var sec *section
	if sg, ok := in["section"].(string); ok {
		if sec = s.st.sections[sg]; sec == nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "no such section"})
			return
		}
		delete(in, "section")
	}
	e, err := s.readTaskEdit(&apiRequest{user: u.gid, data: in}, t.customValues)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.applyTaskEdit(t, e, u.gid, true)
	if sec != nil {
		s.moveTaskLocked(t, sec, 0, u.gid)
	}
	writeJSON(w, http.StatusOK, obj{"gid": t.gid})
}

func (s *Server) uiComment(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		Text string `json:"text"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(r.PathValue("gid"))
	if t == nil || in.Text == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a task and a text are needed"})
		return
	}
	sy := s.addCommentLocked(t, u.gid, in.Text, "", "web", false)
	writeJSON(w, http.StatusOK, obj{"gid": sy.gid})
}

// uiPrepare signs an App Components request for the page's script, which
// then sends it from the browser as Asana's page does.
func (s *Server) uiPrepare(w http.ResponseWriter, r *http.Request, u *user) {
	var call AppCall
	if !readJSON(w, r, &call) {
		return
	}
	call.User = u.gid
	p, err := s.prepare(call)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// genericAppError is what Asana shows for an answer it cannot use.
const genericAppError = "Something went wrong. Try again later."

type uiResult struct {
	Status     int             `json:"status"`
	OK         bool            `json:"ok"`
	Message    string          `json:"message,omitempty"`
	Invalid    string          `json:"invalid,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Attachment string          `json:"attachment,omitempty"`
	NeedsAuth  bool            `json:"needs_auth,omitempty"`
}

// resultFor maps an app answer to what the page shows, as Asana does.
func resultFor(res AppResponse) uiResult {
	out := uiResult{Status: res.Status, Attachment: res.Attachment}
	if res.Invalid != nil {
		out.Message, out.Invalid = genericAppError, res.Invalid.Error()
		return out
	}
	if json.Valid(res.Body) {
		out.Data = res.Body
	}
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(res.Body, &e)
	switch res.Status {
	case http.StatusOK, http.StatusNoContent:
		out.OK = true
		out.Message = e.Error
	case http.StatusBadRequest:
		out.Message = e.Error
	case http.StatusUnauthorized:
		out.NeedsAuth = true
		out.Message = "Unauthorized. " + e.Error
	case http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		out.Message = e.Error
	default:
		out.Message = genericAppError
	}
	if out.Message == "" && !out.OK {
		out.Message = genericAppError
	}
	return out
}

// uiFinish takes the app's answer the browser received, validates it and
// applies Asana's follow-up (attach the resource, save the rule).
func (s *Server) uiFinish(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		Call     AppCall      `json:"call"`
		Prepared preparedCall `json:"prepared"`
		Status   int          `json:"status"`
		Body     string       `json:"body"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	in.Call.User = u.gid
	writeJSON(w, http.StatusOK, resultFor(s.finish(in.Call, in.Prepared, in.Status, []byte(in.Body))))
}

// uiReport logs a request the browser could not complete (network or CORS).
func (s *Server) uiReport(w http.ResponseWriter, r *http.Request, _ *user) {
	var in struct {
		Call  AppCall `json:"call"`
		URL   string  `json:"url"`
		Error string  `json:"error"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	s.log.Warn("asana emulator: the browser could not call the app (unreachable, or CORS does not allow the page's origin); Asana shows \"Something went wrong. Try again later.\"",
		"kind", in.Call.Kind, "url", in.URL, "origin", s.origin(), "err", in.Error)
	writeJSON(w, http.StatusOK, uiResult{Message: genericAppError})
}

// uiInstalled records how the app's authentication popup ended for the
// user. With a project, it was the install wizard of "Add app": the app is
// added to the project only when the popup said "success".
func (s *Server) uiInstalled(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		Result  string `json:"result"`
		Project string `json:"project"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	ok := in.Result == "success"
	s.mu.Lock()
	if in.Project != "" && s.st.projects[in.Project] == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such project"})
		return
	}
	s.st.installed[u.gid] = ok
	if ok && in.Project != "" {
		s.st.appProjects[in.Project] = true
	}
	added := s.appProjectsLocked()
	s.mu.Unlock()
	s.log.Info("asana emulator: app install flow finished", "user", u.login, "project", in.Project, "result", in.Result)
	writeJSON(w, http.StatusOK, obj{"installed": ok, "app_projects": added})
}

// uiRemoveApp removes the app from a project.
func (s *Server) uiRemoveApp(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	delete(s.st.appProjects, r.PathValue("gid"))
	added := s.appProjectsLocked()
	s.mu.Unlock()
	s.log.Info("asana emulator: app removed from a project", "user", u.login, "project", r.PathValue("gid"))
	writeJSON(w, http.StatusOK, obj{"app_projects": added})
}

// AddAppToProject adds the registered app to a project, as a person does
// from the project's Customize menu (without the authentication popup),
// so its entry points and widgets show on the project's tasks.
func (s *Server) AddAppToProject(project string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.projects[project] == nil {
		return fmt.Errorf("asana emulator: no project %s", project)
	}
	s.st.appProjects[project] = true
	return nil
}

func (s *Server) appProjectsLocked() []string {
	out := []string{}
	for _, gid := range s.st.projectOrder {
		if s.st.appProjects[gid] {
			out = append(out, gid)
		}
	}
	return out
}

// uiRunRule fires a saved rule action on a task: Asana's servers call the
// run action URL with an idempotency key.
func (s *Server) uiRunRule(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		Rule string `json:"rule"`
		Task string `json:"task"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	rl := s.st.rules[in.Rule]
	s.mu.Unlock()
	if rl == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such rule"})
		return
	}
	key := "run-" + in.Rule + "-" + in.Task + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	res, err := s.CallApp(r.Context(), AppCall{Kind: CallRunAction, User: u.gid, Project: rl.project, Task: in.Task,
		Action: rl.gid, ActionType: rl.actionType, IdempotencyKey: key})
	if err != nil {
		writeJSON(w, http.StatusOK, uiResult{Message: genericAppError, Invalid: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, resultFor(*res))
}
