package bridge

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// FieldKind is how a form field is entered, independent of Asana's JSON.
type FieldKind string

// Field kinds.
const (
	KindText        FieldKind = "text"          // one line
	KindTextarea    FieldKind = "textarea"      // several lines
	KindNumber      FieldKind = "number"        // one line holding a number
	KindSelect      FieldKind = "select"        // one choice (dropdown)
	KindRadio       FieldKind = "radio"         // one choice among at most 5
	KindMultiSelect FieldKind = "multiselect"   // several choices (checkboxes)
	KindDate        FieldKind = "date"          // YYYY-MM-DD
	KindDateTime    FieldKind = "datetime"      // ISO 8601
	KindUser        FieldKind = "user"          // typeahead over Jira users
	KindProject     FieldKind = "project"       // typeahead over Jira projects
	KindLabels      FieldKind = "labels"        // words separated by commas or spaces
	KindStatic      FieldKind = "static"        // text only
	KindUnsupported FieldKind = "unsupported"   // required, cannot be entered here
	KindFinishLink  FieldKind = "finish_link"   // the Jira URL to finish creating
	KindCascadeKid  FieldKind = "cascade_child" // second dropdown of a cascading select
)

// Form field ids asanajira itself uses; Jira fields keep their Jira id.
const (
	FieldServer    = "jira_server"
	FieldProject   = "project"
	FieldIssueType = "issuetype"
	childSuffix    = "__child"
)

// Limits of Asana's form rendering (app_components_oas.yaml and its guide).
const (
	MaxFormFields    = 20
	MaxNameLen       = 50
	MaxOptionLabel   = 80
	MaxDropdownItems = 50
	MaxRadioItems    = 5
	MaxCheckboxItems = 10
	MaxTextValue     = 200
	MaxTextareaValue = 3000
)

// Option is one choice of a select-like field.
type Option struct {
	ID    string
	Label string
}

// FormField is one field of the create form.
type FormField struct {
	ID       string
	Name     string
	Kind     FieldKind
	Required bool
	// Watched fields rebuild the form when they change.
	Watched bool
	Options []Option
	// Value is the prefilled or entered value: a string, a []string for
	// multi selects, or an Option for typeaheads.
	Value       any
	Placeholder string
	Error       string
	// Typeahead says what a user or project typeahead searches: its query
	// parameters for the typeahead URL.
	Typeahead url.Values
}

// Form is the create-issue form for one task.
type Form struct {
	Title     string
	ServerID  string
	Project   string
	IssueType string
	Fields    []FormField
	// CanSubmit is false while the form cannot create an issue (a required
	// field only Jira's own screen can fill).
	CanSubmit bool
	// meta keeps the create fields used to build the form, for submission.
	meta []jira.CreateField
	srv  store.JiraServer
	task *asana.Task
	// jc is the user's Jira client the form was built with; a submit
	// creates with it rather than reading the credential again.
	jc *jira.Client
}

// Values are a form's values as Asana sends them, by field id.
type Values map[string]any

// String returns a value as text: strings as they are, typeahead items by
// their value, numbers formatted.
func (v Values) String(id string) string { return valueString(v[id]) }

func valueString(x any) string {
	switch t := x.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(t)
	case map[string]any:
		return valueString(t["value"])
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case Option:
		return t.ID
	case []any:
		if len(t) > 0 {
			return valueString(t[0])
		}
	case []string:
		if len(t) > 0 {
			return t[0]
		}
	}
	return fmt.Sprint(x)
}

func valueList(x any) []string {
	var out []string
	switch t := x.(type) {
	case []any:
		for _, e := range t {
			if s := valueString(e); s != "" {
				out = append(out, s)
			}
		}
	case []string:
		out = t
	default:
		if s := valueString(x); s != "" {
			out = []string{s}
		}
	}
	return out
}

// BuildForm returns the create form for a task. values are the form's
// current values (nil for the first load, which prefills from the task);
// a changed project or issue type rebuilds the fields, keeping every value
// that still applies.
func (s *Service) BuildForm(ctx context.Context, id Identity, taskGID string, values Values) (*Form, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	return s.buildForm(ctx, id, taskGID, values, formStart{})
}

// formStart is what a create read before building its form, so that the
// form does not read it again: the workspace's servers (read when
// servers is nil) and the user's Jira client on one of them (jc, for the
// server srv; none when jc is nil).
type formStart struct {
	servers []store.JiraServer
	read    bool // servers were read (a workspace may have none)
	jc      *jira.Client
	srv     store.JiraServer
}

// submittedServer is the server a form's values name (FieldServer), when
// it is one of the workspace's: the form is then built for it, whatever
// the task's route.
func submittedServer(servers []store.JiraServer, values Values) (store.JiraServer, bool) {
	want := values.String(FieldServer)
	if want == "" {
		return store.JiraServer{}, false
	}
	for _, c := range servers {
		if c.ID == want {
			return c, true
		}
	}
	return store.JiraServer{}, false
}

func (s *Service) buildForm(ctx context.Context, id Identity, taskGID string, values Values, start formStart) (*Form, error) {
	ac, err := s.asanaFor(ctx, id.User)
	if err != nil {
		return nil, err
	}
	done := timePhase(ctx, "form.asana_task")
	task, err := ac.GetTask(ctx, taskGID, []string{"name", "notes", "completed", "due_on", "projects.name", "permalink_url",
		"custom_fields.name", "custom_fields.display_value"})
	done()
	if err != nil {
		return nil, asanaError(err, "read the task")
	}
	// A form without a project is a first load: prefilled from the task.
	// (ErrorForm's "try again" asks again that way.)
	first := values.String(FieldProject) == "" && values.String(FieldIssueType) == ""
	if values == nil {
		values = Values{}
	}
	servers := start.servers
	if !start.read {
		if servers, err = s.workspaceServers(ctx, id.Workspace); err != nil {
			return nil, err
		}
	}
	srv, defaultProject, err := s.serverForTask(ctx, id, task)
	if err != nil {
		return nil, err
	}
	if c, ok := submittedServer(servers, values); ok {
		srv, defaultProject = c, ""
	}
	jc := start.jc
	if jc == nil || start.srv.ID != srv.ID {
		if jc, srv, err = s.jiraFor(ctx, id.User, srv.ID); err != nil {
			return nil, err
		}
	} else {
		srv = start.srv
	}
	f := &Form{Title: "Create a Jira issue", ServerID: srv.ID, CanSubmit: true, srv: srv, task: task, jc: jc}
	if len(servers) > 1 {
		opts := make([]Option, 0, len(servers))
		for _, c := range servers {
			opts = append(opts, Option{ID: c.ID, Label: trunc(serverName(c), MaxOptionLabel)})
		}
		f.Fields = append(f.Fields, FormField{ID: FieldServer, Name: "Jira server", Kind: KindSelect, Required: true, Watched: true, Options: opts, Value: srv.ID})
	}

	projects, err := s.projects(ctx, jc, id.User, srv)
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "list your Jira projects")
	}
	if len(projects) == 0 {
		return nil, newError(ErrNoAccess, nil, "Your Jira account cannot create issues in any project on %s.", serverName(srv))
	}
	project := values.String(FieldProject)
	if project == "" {
		project = defaultProject
	}
	var chosen *jira.Project
	for i := range projects {
		if strings.EqualFold(projects[i].Key, project) {
			chosen = &projects[i]
		}
	}
	if chosen == nil {
		chosen = &projects[0]
	}
	f.Project = chosen.Key
	pf := FormField{ID: FieldProject, Name: "Project", Required: true, Watched: true}
	if len(projects) > MaxDropdownItems {
		pf.Kind = KindProject
		pf.Value = Option{ID: chosen.Key, Label: chosen.Key + ": " + chosen.Name}
		pf.Typeahead = url.Values{"kind": {"project"}, "server": {srv.ID}}
	} else {
		pf.Kind = KindSelect
		pf.Value = chosen.Key
		for _, p := range projects {
			pf.Options = append(pf.Options, Option{ID: p.Key, Label: trunc(p.Name+" ("+p.Key+")", MaxOptionLabel)})
		}
	}
	f.Fields = append(f.Fields, pf)

	types, err := s.issueTypes(ctx, jc, id.User, srv, chosen.Key)
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "read the issue types of "+chosen.Key)
	}
	types = slices.DeleteFunc(types, func(t jira.IssueType) bool { return t.Subtask })
	if len(types) == 0 {
		return nil, newError(ErrNoAccess, nil, "Your Jira account cannot create issues in %s.", chosen.Key)
	}
	typeID := values.String(FieldIssueType)
	idx := slices.IndexFunc(types, func(t jira.IssueType) bool { return t.ID == typeID })
	if idx < 0 {
		idx = max(slices.IndexFunc(types, func(t jira.IssueType) bool { return t.Name == "Task" }), 0)
	}
	f.IssueType = types[idx].ID
	tf := FormField{ID: FieldIssueType, Name: "Issue type", Kind: KindSelect, Required: true, Watched: true, Value: f.IssueType}
	for _, t := range types[:min(len(types), MaxDropdownItems)] {
		tf.Options = append(tf.Options, Option{ID: t.ID, Label: trunc(t.Name, MaxOptionLabel)})
	}
	f.Fields = append(f.Fields, tf)

	meta, err := s.createFields(ctx, jc, id.User, srv, chosen.Key, f.IssueType)
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "read the create screen of "+chosen.Key)
	}
	f.meta = meta
	if first {
		// What the person typed already (a "try again" after an error)
		// wins over the task's values.
		prefill := func(id, v string) {
			if _, set := values[id]; !set && v != "" {
				values[id] = v
			}
		}
		prefill("summary", trunc(task.Name, MaxTextValue))
		prefill("description", trunc(WikiFromAsana(task.Notes), MaxTextareaValue))
		prefill("duedate", task.DueOn)
		prefill("priority", priorityFromTask(task, meta))
	}
	s.addMetaFields(f, chosen, values)
	return f, nil
}

// commonFields are offered even when optional, in this order.
var commonFields = []string{"summary", "description", "priority", "assignee", "labels", "duedate", "components", "fixVersions"}

// skipped are fields the form never shows: set elsewhere, or by Jira.
var skipped = map[string]bool{"project": true, "issuetype": true, "reporter": true, "attachment": true, "issuelinks": true}

func (s *Service) addMetaFields(f *Form, p *jira.Project, values Values) {
	byID := map[string]jira.CreateField{}
	for _, m := range f.meta {
		byID[m.ID] = m
	}
	var required, optional []FormField
	seen := map[string]bool{}
	add := func(m jira.CreateField, req bool) {
		if seen[m.ID] || skipped[m.ID] {
			return
		}
		seen[m.ID] = true
		fields := s.fieldFor(f, p, m, values)
		if req {
			required = append(required, fields...)
		} else {
			optional = append(optional, fields...)
		}
	}
	for _, id := range []string{"summary", "description"} {
		if m, ok := byID[id]; ok {
			add(m, true)
		}
	}
	for _, m := range f.meta {
		if m.Required && !m.HasDefaultValue {
			add(m, true)
		}
	}
	for _, id := range commonFields {
		if m, ok := byID[id]; ok {
			add(m, false)
		}
	}
	// Required fields the form cannot enter were shown as notes (and
	// disabled submission); one link to Jira's own create screen follows
	// them. More required fields than Asana renders are cut with a note.
	finish := !f.CanSubmit
	limit := MaxFormFields - len(f.Fields)
	if finish {
		limit--
	}
	if len(required) > limit {
		f.CanSubmit, finish = false, true
		required = append(required[:MaxFormFields-len(f.Fields)-2],
			FormField{ID: "unsupported_more", Name: "More required fields than fit here", Kind: KindUnsupported})
	}
	if finish {
		required = append(required, s.finishInJira(f, p))
	}
	room := max(MaxFormFields-len(f.Fields)-len(required), 0)
	f.Fields = append(f.Fields, required...)
	f.Fields = append(f.Fields, optional[:min(room, len(optional))]...)
}

// fieldFor maps one Jira create field to form fields (two for a cascading
// select, none when an optional field cannot be entered here).
func (s *Service) fieldFor(f *Form, p *jira.Project, m jira.CreateField, values Values) []FormField {
	required := m.Required && !m.HasDefaultValue
	ff := FormField{ID: m.ID, Name: trunc(SentenceCase(m.Name), MaxNameLen), Required: required, Value: values[m.ID]}
	custom := m.Schema.Custom
	switch {
	case m.ID == "summary":
		ff.Kind = KindText
	case m.ID == "description" || m.ID == "environment" || strings.HasSuffix(custom, ":textarea"):
		ff.Kind = KindTextarea
	case m.ID == "labels" || strings.HasSuffix(custom, ":labels"):
		ff.Kind, ff.Placeholder = KindLabels, "Words separated by commas"
	case m.ID == "parent" || strings.HasSuffix(custom, ":gh-epic-link") || m.Schema.Type == "issuelink":
		ff.Kind, ff.Placeholder = KindText, "An issue key, such as "+p.Key+"-1"
	case m.Schema.Type == "string" || m.Schema.Type == "url":
		ff.Kind = KindText
	case m.Schema.Type == "number":
		ff.Kind, ff.Placeholder = KindNumber, "A number"
	case m.Schema.Type == "date":
		ff.Kind = KindDate
	case m.Schema.Type == "datetime":
		ff.Kind = KindDateTime
	case m.Schema.Type == "user" || (m.Schema.Type == "array" && m.Schema.Items == "user"):
		ff.Kind = KindUser
		ff.Typeahead = url.Values{"kind": {"user"}, "server": {f.ServerID}, "project": {p.Key}}
		if v, ok := values[m.ID].(map[string]any); ok {
			ff.Value = Option{ID: valueString(v), Label: valueString(v["title"])}
		} else if sv := valueString(values[m.ID]); sv != "" {
			ff.Value = Option{ID: sv, Label: sv}
		}
	case m.Schema.Type == "option-with-child":
		return s.cascade(f, p, m, required, values)
	case m.Schema.Type == "array" && len(m.AllowedValues) > 0:
		opts := options(m.AllowedValues)
		if len(opts) == 0 || len(opts) > MaxCheckboxItems {
			if len(opts) > 0 && len(opts) <= MaxDropdownItems {
				// Too many for checkboxes: one choice from a dropdown.
				ff.Kind, ff.Options = KindSelect, opts
				break
			}
			return s.unsupported(f, p, m, required)
		}
		ff.Kind, ff.Options = KindMultiSelect, opts
		ff.Value = valueList(values[m.ID])
	case len(m.AllowedValues) > 0:
		opts := options(m.AllowedValues)
		if len(opts) == 0 || len(opts) > MaxDropdownItems {
			return s.unsupported(f, p, m, required)
		}
		ff.Kind, ff.Options = KindSelect, opts
		if strings.HasSuffix(custom, ":radiobuttons") && len(opts) <= MaxRadioItems {
			ff.Kind = KindRadio
		}
	default:
		return s.unsupported(f, p, m, required)
	}
	if ff.Kind == KindSelect || ff.Kind == KindRadio {
		if sv := valueString(ff.Value); !slices.ContainsFunc(ff.Options, func(o Option) bool { return o.ID == sv }) {
			ff.Value = nil
		}
	}
	return []FormField{ff}
}

func (s *Service) cascade(f *Form, p *jira.Project, m jira.CreateField, required bool, values Values) []FormField {
	parents := options(m.AllowedValues)
	if len(parents) == 0 || len(parents) > MaxDropdownItems {
		return s.unsupported(f, p, m, required)
	}
	parent := FormField{ID: m.ID, Name: trunc(SentenceCase(m.Name), MaxNameLen), Kind: KindSelect, Required: required, Watched: true, Options: parents}
	pv := valueString(values[m.ID])
	var kids []Option
	for _, av := range m.AllowedValues {
		if av.ID == pv {
			parent.Value = pv
			kids = options(av.Children)
		}
	}
	out := []FormField{parent}
	if len(kids) > 0 {
		child := FormField{ID: m.ID + childSuffix, Name: trunc(SentenceCase(m.Name)+" (detail)", MaxNameLen), Kind: KindSelect, Options: kids[:min(len(kids), MaxDropdownItems)]}
		if cv := valueString(values[child.ID]); slices.ContainsFunc(child.Options, func(o Option) bool { return o.ID == cv }) {
			child.Value = cv
		}
		out = append(out, child)
	}
	return out
}

// unsupported shows a required field the form cannot enter as a note,
// never dropping it silently, and disables submission; an optional one is
// left out. The note's id is the field's own, so several stay distinct.
func (s *Service) unsupported(f *Form, _ *jira.Project, m jira.CreateField, required bool) []FormField {
	if !required {
		return nil
	}
	f.CanSubmit = false
	name := trunc(SentenceCase(m.Name), MaxNameLen-len("“” must be set in Jira"))
	return []FormField{{ID: "unsupported_" + m.ID, Name: "“" + name + "” must be set in Jira", Kind: KindUnsupported}}
}

// Finish links are rich text: a link whose text may be shortened, never
// its URL. MaxRichTextValue is Asana's limit on the whole value.
const (
	MaxRichTextValue = 3000
	maxJiraSummary   = 255 // Jira's own limit on a summary
)

// finishInJira is the link to Jira's create screen for this project and
// issue type, prefilled with the task's name.
func (s *Service) finishInJira(f *Form, p *jira.Project) FormField {
	q := url.Values{"pid": {p.ID}, "issuetype": {f.IssueType}}
	text := "Open Jira's create screen"
	if f.task != nil && f.task.Name != "" {
		q.Set("summary", trunc(f.task.Name, maxJiraSummary))
		text = "Create “" + trunc(f.task.Name, 60) + "” in Jira"
	}
	link := strings.TrimRight(f.srv.BaseURL, "/") + "/secure/CreateIssueDetails!init.jspa?" + q.Encode()
	return FormField{ID: "finish_in_jira", Name: "Finish in Jira", Kind: KindFinishLink, Value: Link{URL: link, Text: text}}
}

// Link is the value of a KindFinishLink field: a URL, never shortened, and
// the text shown for it.
type Link struct {
	URL  string
	Text string
}

// SentenceCase writes a Jira field name the way Asana's publishing
// checklist asks labels to be written: "Fix Version/s" becomes "Fix
// version/s", "Epic Name" "Epic name". The first word and words that are
// not plain capitalised words (acronyms such as "QA", names such as
// "iOS") stay as Jira has them.
func SentenceCase(name string) string {
	words := strings.Split(name, " ")
	for i, w := range words {
		if i == 0 || !titleWord(w) {
			continue
		}
		words[i] = strings.ToLower(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// titleWord is a word with one capital letter, at its start: "Version/s",
// "Name"; not "QA", "iOS", "X".
func titleWord(w string) bool {
	r := []rune(w)
	if len(r) < 2 || r[0] < 'A' || r[0] > 'Z' {
		return false
	}
	for _, c := range r[1:] {
		if unicode.IsUpper(c) {
			return false
		}
	}
	return unicode.IsLower(r[1])
}

// priorityFromTask maps the task's "Priority" custom field to the Jira
// priority of the same name, when the create screen offers one.
func priorityFromTask(task *asana.Task, meta []jira.CreateField) string {
	want := ""
	for _, cf := range task.CustomFields {
		if strings.EqualFold(strings.TrimSpace(cf.Name), "Priority") && cf.DisplayValue != nil {
			want = strings.TrimSpace(*cf.DisplayValue)
		}
	}
	if want == "" {
		return ""
	}
	for _, m := range meta {
		if m.ID != "priority" {
			continue
		}
		for _, av := range m.AllowedValues {
			if !av.Disabled && strings.EqualFold(av.Label(), want) {
				return av.ID
			}
		}
	}
	return ""
}

func options(avs []jira.AllowedValue) []Option {
	out := make([]Option, 0, len(avs))
	for _, av := range avs {
		if av.Disabled || av.ID == "" {
			continue
		}
		out = append(out, Option{ID: av.ID, Label: trunc(av.Label(), MaxOptionLabel)})
	}
	return out
}

// trunc shortens s to n runes, ending with an ellipsis when cut.
func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// FieldRetry is the checkbox of ErrorForm.
const FieldRetry = "try_again"

// ErrorForm is the form shown when the real one cannot be built (Jira did
// not answer in time, the request was refused): the message on a "Try
// again" checkbox whose change asks for the form again, prefilled from the
// task. It cannot be submitted.
func ErrorForm(title, message string) *Form {
	return &Form{Title: title, Fields: []FormField{
		{ID: FieldRetry, Name: "The form could not be loaded", Kind: KindMultiSelect, Watched: true,
			Options: []Option{{ID: "yes", Label: "Try again"}}, Error: message},
	}}
}

// unoffered refuses a submission whose server, project or issue type is
// not what the form offers the user. Building the form falls back to the
// first choice it may offer, which is right for a form being filled in;
// a submission must never be quietly created somewhere the person did not
// pick (a forged one naming a project Jira hides from them, or a choice
// that went away since the form was shown).
func (f *Form) unoffered(values Values) *FieldErrors {
	fe := &FieldErrors{}
	if v := values.String(FieldServer); v != "" && v != f.ServerID {
		fe.Fields = append(fe.Fields, FieldError{Field: FieldServer, Message: "This Jira server is not available to you; pick one from the list."})
	}
	if v := values.String(FieldProject); v != "" && !strings.EqualFold(v, f.Project) {
		fe.Fields = append(fe.Fields, FieldError{Field: FieldProject, Message: "Your Jira account cannot create issues in " + trunc(v, 40) + "; pick a project from the list."})
	}
	if v := values.String(FieldIssueType); v != "" && v != f.IssueType {
		fe.Fields = append(fe.Fields, FieldError{Field: FieldIssueType, Message: "This issue type is not available in " + f.Project + "; pick one from the list."})
	}
	if len(fe.Fields) == 0 {
		return nil
	}
	return fe
}

// FieldError is a problem with one field's value.
type FieldError struct {
	Field   string
	Message string
}

// FieldErrors is a rejected submission: problems per field, plus Message
// for the ones that belong to no field.
type FieldErrors struct {
	Fields  []FieldError
	Message string
}

func (e *FieldErrors) Error() string {
	parts := []string{}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return "bridge: the issue was not created: " + strings.Join(parts, "; ")
}

// Apply sets the errors on a form's fields; errors of fields the form does
// not show go to the summary field.
func (e *FieldErrors) Apply(f *Form) {
	for i := range f.Fields {
		f.Fields[i].Error = ""
	}
	orphan := []string{}
	if e.Message != "" {
		orphan = append(orphan, e.Message)
	}
	for _, fe := range e.Fields {
		i := slices.IndexFunc(f.Fields, func(ff FormField) bool { return ff.ID == fe.Field })
		if i < 0 {
			orphan = append(orphan, fe.Field+": "+fe.Message)
			continue
		}
		f.Fields[i].Error = fe.Message
	}
	if len(orphan) > 0 {
		i := max(slices.IndexFunc(f.Fields, func(ff FormField) bool { return ff.ID == "summary" }), 0)
		if len(f.Fields) > 0 {
			msg := strings.Join(orphan, " ")
			if f.Fields[i].Error != "" {
				msg = f.Fields[i].Error + " " + msg
			}
			f.Fields[i].Error = msg
		}
	}
}

// issueInput turns a submitted form into Jira's create body, validating
// what Jira would reject anyway with a worse message.
func (f *Form) issueInput(values Values) (jira.IssueInput, *FieldErrors) {
	fields := map[string]any{"project": map[string]any{"key": f.Project}, "issuetype": map[string]any{"id": f.IssueType}}
	fe := &FieldErrors{}
	shown := map[string]bool{}
	for _, ff := range f.Fields {
		shown[ff.ID] = true
	}
	for _, m := range f.meta {
		if skipped[m.ID] || !shown[m.ID] {
			continue
		}
		v, err := jiraValue(m, values)
		if err != nil {
			fe.Fields = append(fe.Fields, FieldError{Field: m.ID, Message: err.Error()})
			continue
		}
		if v == nil {
			if m.Required && !m.HasDefaultValue {
				fe.Fields = append(fe.Fields, FieldError{Field: m.ID, Message: SentenceCase(m.Name) + " is required."})
			}
			continue
		}
		fields[m.ID] = v
	}
	if len(fe.Fields) > 0 {
		return jira.IssueInput{}, fe
	}
	return jira.IssueInput{Fields: fields}, nil
}

var errNotANumber = errors.New("enter a number")

// jiraValue converts one form value to the shape Jira's create wants; nil
// means "not set".
func jiraValue(m jira.CreateField, values Values) (any, error) {
	raw := values[m.ID]
	str := valueString(raw)
	custom := m.Schema.Custom
	switch {
	case m.Schema.Type == "option-with-child":
		if str == "" {
			return nil, nil
		}
		v := map[string]any{"id": str}
		if c := valueString(values[m.ID+childSuffix]); c != "" {
			v["child"] = map[string]any{"id": c}
		}
		return v, nil
	case m.Schema.Type == "array":
		list := valueList(raw)
		if m.ID == "labels" || strings.HasSuffix(custom, ":labels") || m.Schema.Items == "string" {
			list = strings.FieldsFunc(str, func(r rune) bool { return r == ',' || r == ' ' })
		}
		if len(list) == 0 {
			return nil, nil
		}
		out := make([]any, 0, len(list))
		for _, x := range list {
			switch m.Schema.Items {
			case "string":
				out = append(out, x)
			case "user":
				out = append(out, map[string]any{"name": x})
			default:
				out = append(out, map[string]any{"id": x})
			}
		}
		return out, nil
	case str == "":
		return nil, nil
	case m.ID == "parent" || m.Schema.Type == "issuelink":
		return map[string]any{"key": strings.ToUpper(str)}, nil
	case m.Schema.Type == "number":
		n, err := strconv.ParseFloat(strings.ReplaceAll(str, ",", "."), 64)
		// ParseFloat reads "NaN" and "Inf", which JSON cannot carry to Jira.
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, errNotANumber
		}
		return n, nil
	case m.Schema.Type == "date":
		d, ok := CalendarDate(str)
		if !ok {
			return nil, errors.New("enter a date")
		}
		return d, nil
	case m.Schema.Type == "datetime":
		t, err := time.Parse(time.RFC3339, str)
		if err != nil {
			return nil, errors.New("enter a date and time")
		}
		return t.Format(jira.TimeLayout), nil
	case m.Schema.Type == "user":
		return map[string]any{"name": str}, nil
	case len(m.AllowedValues) > 0 || m.Schema.Type == "option" || m.Schema.Type == "priority":
		return map[string]any{"id": str}, nil
	}
	return str, nil
}

// CalendarDate is the day a person picked in a date field, as YYYY-MM-DD.
// Asana sends a date field as YYYY-MM-DD or as an ISO 8601 timestamp of
// the picked day's midnight. With an offset, the day is read in that
// offset. In UTC, a midnight east of Greenwich lies on the day before
// (11:00 for UTC+13 to 23:00 for UTC+1) and one west of it on the same day
// (01:00 for UTC-1 to 10:00 for Hawaii), so 11:00 and later is the next
// day: right for every zone from UTC-10 to UTC+13. Taking the first ten
// characters of the UTC timestamp would move every date picked east of UTC
// a day back.
func CalendarDate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format(time.DateOnly), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return "", false
	}
	if _, off := t.Zone(); off != 0 {
		return t.Format(time.DateOnly), true
	}
	return t.Add(13 * time.Hour).Truncate(24 * time.Hour).Format(time.DateOnly), true
}

// projects, issueTypes and createFields read Jira's create metadata through
// short per-user caches: createmeta is heavy and the form asks for it on
// every load, change and submit.
func (s *Service) projects(ctx context.Context, jc *jira.Client, user string, srv store.JiraServer) ([]jira.Project, error) {
	key := user + "|" + srv.ID
	if v, ok := s.projs.get(key); ok {
		return v, nil
	}
	ps, err := jc.Projects(ctx)
	if err != nil {
		return nil, err
	}
	ps = slices.DeleteFunc(ps, func(p jira.Project) bool { return p.Archived })
	s.projs.put(key, ps)
	return ps, nil
}

func (s *Service) issueTypes(ctx context.Context, jc *jira.Client, user string, srv store.JiraServer, project string) ([]jira.IssueType, error) {
	key := user + "|" + srv.ID + "|" + project
	if v, ok := s.types.get(key); ok {
		return slices.Clone(v), nil
	}
	ts, err := jc.CreateIssueTypes(ctx, serverVersion(srv), project)
	if err != nil {
		return nil, err
	}
	s.types.put(key, ts)
	return slices.Clone(ts), nil
}

func (s *Service) createFields(ctx context.Context, jc *jira.Client, user string, srv store.JiraServer, project, typeID string) ([]jira.CreateField, error) {
	key := user + "|" + srv.ID + "|" + project + "|" + typeID
	if v, ok := s.meta.get(key); ok {
		return v, nil
	}
	fs, err := jc.CreateFields(ctx, serverVersion(srv), project, typeID)
	if err != nil {
		return nil, err
	}
	s.meta.put(key, fs)
	return fs, nil
}

// asanaError maps a failed Asana call.
func asanaError(err error, action string) error {
	switch {
	case errors.Is(err, asana.ErrUnauthorized):
		return newError(ErrReconnectNeeded, err, "Asana refused your authorization for asanajira; authorize again.")
	case errors.Is(err, context.DeadlineExceeded):
		return newError(ErrJiraUnavailable, err, "Asana did not answer in time; try again.")
	case errors.Is(err, asana.ErrNotFound), errors.Is(err, asana.ErrForbidden):
		return newError(ErrNoAccess, err, "asanajira cannot %s in Asana with your authorization.", action)
	}
	return fmt.Errorf("bridge: %s: %w", action, err)
}
