package asana

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// AppRegistration is an app as registered in Asana's developer console: its
// OAuth client and the App Components URLs Asana calls.
type AppRegistration struct {
	// Name is the app's display name ("Open in {Name}"); default "asanajira".
	Name string `json:"name"`
	// ClientID and ClientSecret are the OAuth client; the secret also signs
	// every App Components request. Defaults: asanajira-demo / demo-secret.
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// RedirectURLs are the OAuth redirect URLs; an authorize request must use
	// one of them exactly. Empty accepts any http(s) URL.
	RedirectURLs []string `json:"redirect_urls"`
	// AuthenticationURL is opened in a popup by the install wizard; the page
	// there ends with window.opener.postMessage("success"|"error", origin).
	AuthenticationURL string `json:"authentication_url"`
	// WidgetMetadataURL is called (GET) for attachments whose URL matches
	// MatchURLPattern, a regular expression.
	WidgetMetadataURL string `json:"widget_metadata_url"`
	MatchURLPattern   string `json:"match_url_pattern"`
	// FormMetadataURL is the modal form (GET).
	FormMetadataURL string `json:"form_metadata_url"`
	// ResourceAttachURL (POST) and ResourceTypeaheadURL (GET) are the lookup.
	ResourceAttachURL    string `json:"resource_attach_url"`
	ResourceTypeaheadURL string `json:"resource_typeahead_url"`
	// Entry point labels and the lookup placeholder.
	ModalFormActionText string `json:"modal_form_action_text"`
	LookupActionText    string `json:"lookup_action_text"`
	LookupPlaceholder   string `json:"lookup_placeholder"`
	// RuleActions are the app's rule actions (at most 10).
	RuleActions []RuleAction `json:"rule_actions"`
}

// RuleAction is one rule action of the app.
type RuleAction struct {
	// ID is the action_type Asana sends.
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// FormMetadataURL (GET) returns the rule builder's configuration form.
	FormMetadataURL string `json:"form_metadata_url"`
	// RunActionURL (POST) is called when the rule fires.
	RunActionURL string `json:"run_action_url"`
}

// DefaultApp is the demo app registration: client asanajira-demo with secret
// demo-secret and no App Components URLs.
func DefaultApp() AppRegistration {
	return AppRegistration{}.withDefaults()
}

func (a AppRegistration) withDefaults() AppRegistration {
	if a.Name == "" {
		a.Name = "asanajira"
	}
	if a.ClientID == "" {
		a.ClientID = "asanajira-demo"
	}
	if a.ClientSecret == "" {
		a.ClientSecret = "demo-secret"
	}
	if a.ModalFormActionText == "" {
		a.ModalFormActionText = "Create new issue"
	}
	if a.LookupActionText == "" {
		a.LookupActionText = "Link existing issue"
	}
	if a.LookupPlaceholder == "" {
		a.LookupPlaceholder = "Paste an issue URL or key"
	}
	return a.clone()
}

func (a AppRegistration) clone() AppRegistration {
	a.RedirectURLs = slices.Clone(a.RedirectURLs)
	a.RuleActions = slices.Clone(a.RuleActions)
	return a
}

func (a AppRegistration) validate() error {
	if _, err := regexp.Compile(a.MatchURLPattern); err != nil {
		return fmt.Errorf("asana emulator: match URL pattern: %w", err)
	}
	if len(a.RuleActions) > 10 {
		return errors.New("asana emulator: an app has at most 10 rule actions")
	}
	seen := map[string]bool{}
	for _, r := range a.RuleActions {
		if r.ID == "" || seen[r.ID] {
			return fmt.Errorf("asana emulator: rule action ids must be unique and non-empty (%q)", r.ID)
		}
		seen[r.ID] = true
	}
	for _, u := range append([]string{a.AuthenticationURL, a.WidgetMetadataURL, a.FormMetadataURL,
		a.ResourceAttachURL, a.ResourceTypeaheadURL}, a.RedirectURLs...) {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("asana emulator: app URL %q must be an absolute http(s) URL", u)
		}
	}
	return nil
}

func (a AppRegistration) ruleAction(id string) (RuleAction, bool) {
	for _, r := range a.RuleActions {
		if r.ID == id {
			return r, true
		}
	}
	return RuleAction{}, false
}

// Sign is Asana's App Components request signature: lowercase hex
// HMAC-SHA256 keyed with the app's client secret over message, which is the
// raw query string (GET) or the data string of the body (POST). Webhook
// deliveries use the same construction keyed with the X-Hook-Secret.
func Sign(secret, message string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

// AppCallKind names an App Components request.
type AppCallKind string

// The App Components requests Asana makes (operationIds of app_components_oas.yaml).
const (
	CallWidget          AppCallKind = "widget"           // getWidgetMetadata
	CallFormMetadata    AppCallKind = "form_metadata"    // getFormMetadata
	CallFormTypeahead   AppCallKind = "form_typeahead"   // getModalFormTypeaheadResults
	CallFormChange      AppCallKind = "form_change"      // onFormChange
	CallFormSubmit      AppCallKind = "form_submit"      // onFormSubmit
	CallLookupTypeahead AppCallKind = "lookup_typeahead" // getTypeaheadResults
	CallAttach          AppCallKind = "attach"           // attachResource
	CallActionMetadata  AppCallKind = "action_metadata"  // getActionMetadata
	CallActionTypeahead AppCallKind = "action_typeahead" // getRuleActionTypeaheadResults
	CallActionChange    AppCallKind = "action_change"    // onActionFormChange
	CallActionSubmit    AppCallKind = "action_submit"    // onActionFormSubmit
	CallRunAction       AppCallKind = "run_action"       // runAction
)

// AppCall describes one App Components request as a user's action would
// cause it. Which fields matter depends on Kind.
type AppCall struct {
	Kind AppCallKind `json:"kind"`
	// URL is the callback or typeahead_url the app returned; empty uses the
	// registered URL for Kind.
	URL string `json:"url,omitempty"`
	// User is the acting user's gid.
	User string `json:"user"`
	// Task is the task the user is on; Project the rule's project.
	Task    string `json:"task,omitempty"`
	Project string `json:"project,omitempty"`
	// Attachment is the URL attachment a widget is for.
	Attachment string `json:"attachment,omitempty"`
	// Query is the typed text (typeaheads) or the lookup input (attach).
	Query string `json:"query,omitempty"`
	// Values and ChangedField are the form's state (callbacks).
	Values       map[string]any `json:"values,omitempty"`
	ChangedField string         `json:"changed_field,omitempty"`
	// ActionType, Action, RuleName and IdempotencyKey are the rule action's.
	ActionType     string `json:"action_type,omitempty"`
	Action         string `json:"action,omitempty"`
	RuleName       string `json:"rule_name,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// preparedCall is a signed request ready to send, as the task pane's script
// or CallApp sends it.
type preparedCall struct {
	Method    string `json:"method"`
	URL       string `json:"url"`
	Body      string `json:"body,omitempty"`
	Signature string `json:"signature"`
	// Attachment is the gid Asana reserves for the attachment an attach or
	// submit creates.
	Attachment string `json:"attachment,omitempty"`
}

// appRequestTTL is how far in the future expires_at lies.
const appRequestTTL = time.Minute

func (k AppCallKind) isPost() bool {
	switch k {
	case CallFormChange, CallFormSubmit, CallAttach, CallActionChange, CallActionSubmit, CallRunAction:
		return true
	}
	return false
}

// prepare builds and signs the request for call.
func (s *Server) prepare(call AppCall) (preparedCall, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	app := st.app
	if st.users[call.User] == nil {
		return preparedCall{}, fmt.Errorf("asana emulator: app call: unknown user %q", call.User)
	}
	target := call.URL
	if target == "" {
		switch call.Kind {
		case CallWidget:
			target = app.WidgetMetadataURL
		case CallFormMetadata:
			target = app.FormMetadataURL
		case CallLookupTypeahead:
			target = app.ResourceTypeaheadURL
		case CallAttach:
			target = app.ResourceAttachURL
		case CallActionMetadata, CallRunAction:
			ra, ok := app.ruleAction(call.ActionType)
			if !ok {
				return preparedCall{}, fmt.Errorf("asana emulator: app call: unknown rule action %q", call.ActionType)
			}
			target = ra.FormMetadataURL
			if call.Kind == CallRunAction {
				target = ra.RunActionURL
			}
		default:
			return preparedCall{}, fmt.Errorf("asana emulator: app call %s needs the URL the app returned", call.Kind)
		}
	}
	if target == "" {
		return preparedCall{}, fmt.Errorf("asana emulator: app call %s: the app registration has no URL for it", call.Kind)
	}
	if _, err := url.Parse(target); err != nil {
		return preparedCall{}, fmt.Errorf("asana emulator: app call %s: %w", call.Kind, err)
	}
	if call.Task != "" && st.lookupTask(call.Task) == nil {
		return preparedCall{}, fmt.Errorf("asana emulator: app call: unknown task %q", call.Task)
	}
	expires := ts(s.nowLocked().Add(appRequestTTL))
	p := preparedCall{}
	// Fields in the order Asana sends them; the app must sign what it got,
	// not a re-encoded copy.
	var kv [][2]string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, [2]string{k, v})
		}
	}
	add("workspace", seedWorkspace)
	switch call.Kind {
	case CallWidget:
		a := st.attachments[call.Attachment]
		if a == nil {
			return preparedCall{}, fmt.Errorf("asana emulator: widget call: unknown attachment %q", call.Attachment)
		}
		add("task", a.parent)
		add("user", call.User)
		add("locale", "en")
		add("attachment", a.gid)
		add("resource_url", a.url)
	case CallFormMetadata:
		add("task", call.Task)
		add("user", call.User)
		add("locale", "en")
	case CallFormTypeahead, CallLookupTypeahead:
		add("task", call.Task)
		add("user", call.User)
		add("query", call.Query)
	case CallActionMetadata:
		add("project", call.Project)
		add("action_type", call.ActionType)
		add("action", call.Action)
		add("user", call.User)
	case CallActionTypeahead:
		add("user", call.User)
		add("query", call.Query)
	}
	if !call.Kind.isPost() {
		add("expires_at", expires)
		var q []string
		for _, pair := range kv {
			q = append(q, url.QueryEscape(pair[0])+"="+url.QueryEscape(pair[1]))
		}
		raw := strings.Join(q, "&")
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		p.Method, p.URL, p.Signature = http.MethodGet, target+sep+raw, Sign(app.ClientSecret, raw)
		if strings.Contains(target, "?") {
			// The signature covers the whole raw query string as the app sees it.
			u, _ := url.Parse(p.URL)
			p.Signature = Sign(app.ClientSecret, u.RawQuery)
		}
		return p, nil
	}
	data := map[string]any{"workspace": seedWorkspace, "user": call.User, "expires_at": expires}
	values := call.Values
	if values == nil {
		values = map[string]any{}
	}
	switch call.Kind {
	case CallAttach:
		p.Attachment = st.newGID()
		data["task"], data["attachment"], data["query"] = call.Task, p.Attachment, call.Query
	case CallFormChange:
		data["task"], data["values"], data["changed_field"] = call.Task, values, call.ChangedField
	case CallFormSubmit:
		p.Attachment = st.newGID()
		data["task"], data["values"], data["attachment"] = call.Task, values, p.Attachment
	case CallActionChange:
		data["values"], data["changed_field"] = values, call.ChangedField
		data["project"], data["action_type"] = call.Project, call.ActionType
		if call.Action != "" {
			data["action"] = call.Action
		}
	case CallActionSubmit:
		data["values"], data["rule_name"] = values, call.RuleName
		data["project"], data["action_type"] = call.Project, call.ActionType
		if call.Action != "" {
			data["action"] = call.Action
		}
	case CallRunAction:
		if call.IdempotencyKey == "" {
			return preparedCall{}, errors.New("asana emulator: run action needs an idempotency key")
		}
		data["project"], data["target_object"] = call.Project, call.Task
		data["action"], data["action_type"] = call.Action, call.ActionType
		data["idempotency_key"] = call.IdempotencyKey
	}
	inner, err := json.Marshal(data)
	if err != nil {
		return preparedCall{}, fmt.Errorf("asana emulator: encode app call: %w", err)
	}
	body, err := json.Marshal(map[string]string{"data": string(inner)})
	if err != nil {
		return preparedCall{}, fmt.Errorf("asana emulator: encode app call: %w", err)
	}
	p.Method, p.URL, p.Body, p.Signature = http.MethodPost, target, string(body), Sign(app.ClientSecret, string(inner))
	return p, nil
}

// AppResponse is what the app answered to an App Components request.
type AppResponse struct {
	Status int
	Body   []byte
	// Invalid says why the answer does not match app_components_oas.yaml
	// (Asana then shows "Something went wrong. Try again later."); nil
	// when it matches.
	Invalid error
	// Attachment is the gid of the URL attachment Asana created on the task
	// for a successful attach or form submit.
	Attachment string
	// Request is what was sent: method, URL, body and signature.
	Method, URL, RequestBody, Signature string
}

// CallApp sends one App Components request to the registered app as Asana
// would: built from call, signed with the client secret, with expires_at and
// (for browser-originated calls) an Origin header of the emulator. Like
// Asana, it checks the answer against the App Components spec, logs what is
// wrong, and on a successful attach or form submit attaches resource_url to
// the task; on a successful rule action submit it saves the rule.
func (s *Server) CallApp(ctx context.Context, call AppCall) (*AppResponse, error) {
	p, err := s.prepare(call)
	if err != nil {
		return nil, err
	}
	var body io.Reader = http.NoBody
	if p.Method == http.MethodPost {
		body = strings.NewReader(p.Body)
	}
	req, err := http.NewRequestWithContext(ctx, p.Method, p.URL, body)
	if err != nil {
		return nil, fmt.Errorf("asana emulator: app call %s: %w", call.Kind, err)
	}
	req.Header.Set("X-Asana-Request-Signature", p.Signature)
	if p.Method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if call.Kind != CallRunAction {
		// Widget, form and lookup calls come from the user's browser on the
		// Asana page; run action comes from Asana's servers.
		req.Header.Set("Origin", s.origin())
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.log.Warn("asana emulator: app unreachable", "kind", call.Kind, "url", p.URL, "err", err)
		return nil, fmt.Errorf("asana emulator: app call %s: %w", call.Kind, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("asana emulator: app call %s: read answer: %w", call.Kind, err)
	}
	out := s.finish(call, p, resp.StatusCode, raw)
	return &out, nil
}

// origin is the scheme://host[:port] of the emulator's pages.
func (s *Server) origin() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := url.Parse(s.st.baseURL)
	if err != nil || u.Host == "" {
		return "null"
	}
	return u.Scheme + "://" + u.Host
}

// finish validates the app's answer and applies what Asana does next.
func (s *Server) finish(call AppCall, p preparedCall, status int, body []byte) AppResponse {
	out := AppResponse{Status: status, Body: body, Method: p.Method, URL: p.URL, RequestBody: p.Body, Signature: p.Signature}
	out.Invalid = validateAppResponse(call.Kind, status, body)
	if out.Invalid != nil {
		s.log.Warn("asana emulator: app answer does not match the App Components spec; Asana shows \"Something went wrong. Try again later.\"",
			"kind", call.Kind, "url", p.URL, "status", status, "err", out.Invalid, "body", truncate(string(body), 500))
		return out
	}
	if status != http.StatusOK {
		return out
	}
	switch call.Kind {
	case CallAttach, CallFormSubmit:
		var r struct {
			ResourceName string `json:"resource_name"`
			ResourceURL  string `json:"resource_url"`
			Error        string `json:"error"`
		}
		if json.Unmarshal(body, &r) == nil && r.Error == "" {
			out.Attachment = s.attachResource(call, p.Attachment, r.ResourceName, r.ResourceURL)
		}
	case CallActionSubmit:
		s.saveRule(call)
	case CallRunAction:
		s.recordRun(call, body)
	}
	return out
}

// attachResource creates (or reuses) the URL attachment an attach or submit
// asks for, connected to the app.
func (s *Server) attachResource(call AppCall, gid, name, resourceURL string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(call.Task)
	if t == nil {
		return ""
	}
	for _, ag := range t.attachments {
		if a := s.st.attachments[ag]; a.url == resourceURL {
			return a.gid
		}
	}
	if gid == "" || s.st.attachments[gid] != nil {
		gid = s.st.newGID()
	}
	a := &attachment{gid: gid, name: name, subtype: "external", parent: t.gid, url: resourceURL,
		createdAt: s.nowLocked(), connectedToApp: true, createdBy: call.User}
	s.addAttachmentLocked(a, call.User, false)
	return a.gid
}

// MatchesApp reports whether an attachment URL gets the app's widget.
func (s *Server) MatchesApp(resourceURL string) bool {
	s.mu.Lock()
	pattern := s.st.app.MatchURLPattern
	s.mu.Unlock()
	if pattern == "" {
		return false
	}
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(resourceURL)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// rule is a rule action saved on a project through the rule builder.
type rule struct {
	gid, name, project, actionType string
	values                         map[string]any
	createdBy                      string
}

// ruleRun is the outcome of one run, kept per idempotency key.
type ruleRun struct {
	rule, task string
	body       []byte
}

func (s *Server) saveRule(call AppCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid := call.Action
	r := s.st.rules[gid]
	if r == nil {
		if gid == "" {
			gid = s.st.newGID()
		}
		r = &rule{gid: gid}
		s.st.rules[gid] = r
		s.st.ruleOrder = append(s.st.ruleOrder, gid)
	}
	r.name, r.project, r.actionType, r.values, r.createdBy = call.RuleName, call.Project, call.ActionType, call.Values, call.User
	if r.name == "" {
		r.name = "Rule"
	}
}

func (s *Server) recordRun(call AppCall, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.runs[call.IdempotencyKey] = &ruleRun{rule: call.Action, task: call.Task, body: bytes.Clone(body)}
}

// Rule is a rule action saved through the rule builder.
type Rule struct {
	GID, Name, Project, ActionType string
	Values                         map[string]any
}

// Rules returns the saved rule actions, oldest first.
func (s *Server) Rules() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Rule
	for _, gid := range s.st.ruleOrder {
		r := s.st.rules[gid]
		out = append(out, Rule{GID: r.gid, Name: r.name, Project: r.project, ActionType: r.actionType, Values: r.values})
	}
	return out
}
