package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Rule action form field ids.
const (
	RuleFieldPriority = "priority"
	RuleFieldLabels   = "labels"
)

// RuleConfig is a "Create Jira issue" rule action's configuration, saved
// when the rule is submitted and used each time it runs.
type RuleConfig struct {
	// User is the Asana user who configured the rule; the rule creates
	// issues with their Jira credentials.
	User      string   `json:"user"`
	Workspace string   `json:"workspace"`
	ServerID  string   `json:"server_id"`
	Project   string   `json:"project"`
	IssueType string   `json:"issue_type"`
	Priority  string   `json:"priority,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	RuleName  string   `json:"rule_name,omitempty"`
}

// Rule configurations live in the idempotency-key table under their own
// scope with a far expiry: one row per rule action id, plus the latest
// configuration of a new rule (Asana sends no action id until it runs).
const (
	ruleScope   = "rule_action"
	ruleRunTTL  = 7 * 24 * time.Hour
	ruleKeep    = 100 * 365 * 24 * time.Hour
	runScope    = "rule_run"
	pendingRule = "pending:"
)

// RuleRequest names a rule action: its Asana project, the app's action
// type, and the rule action id (empty while the rule is being created).
type RuleRequest struct {
	Project    string
	ActionType string
	Action     string
	RuleName   string
}

// BuildRuleForm returns the rule builder's configuration form: server,
// project, issue type, priority and labels, prefilled from the saved
// configuration when editing.
func (s *Service) BuildRuleForm(ctx context.Context, id Identity, req RuleRequest, values Values) (*Form, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	if values == nil && req.Action != "" {
		if cfg, err := s.ruleConfig(ctx, req.Action); err == nil {
			values = Values{FieldServer: cfg.ServerID, FieldProject: cfg.Project, FieldIssueType: cfg.IssueType,
				RuleFieldPriority: cfg.Priority, RuleFieldLabels: strings.Join(cfg.Labels, ", ")}
		}
	}
	if values == nil {
		values = Values{}
	}
	servers, err := s.workspaceServers(ctx, id.Workspace)
	if err != nil {
		return nil, err
	}
	srv, defaultProject, err := s.serverForTask(ctx, id, &asana.Task{Projects: []asana.Ref{{GID: req.Project}}})
	if err != nil {
		return nil, err
	}
	if want := values.String(FieldServer); want != "" {
		for _, c := range servers {
			if c.ID == want {
				srv, defaultProject = c, ""
			}
		}
	}
	jc, srv, err := s.jiraFor(ctx, id.User, srv.ID)
	if err != nil {
		return nil, err
	}
	f := &Form{Title: "Create a Jira issue", ServerID: srv.ID, CanSubmit: true, srv: srv}
	if len(servers) > 1 {
		fld := FormField{ID: FieldServer, Name: "Jira server", Kind: KindSelect, Required: true, Watched: true, Value: srv.ID}
		for _, c := range servers {
			fld.Options = append(fld.Options, Option{ID: c.ID, Label: trunc(serverName(c), MaxOptionLabel)})
		}
		f.Fields = append(f.Fields, fld)
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
	i := max(slices.IndexFunc(projects, func(p jira.Project) bool { return strings.EqualFold(p.Key, project) }), 0)
	f.Project = projects[i].Key
	pf := FormField{ID: FieldProject, Name: "Project", Kind: KindSelect, Required: true, Watched: true, Value: f.Project}
	for _, p := range projects[:min(len(projects), MaxDropdownItems)] {
		pf.Options = append(pf.Options, Option{ID: p.Key, Label: trunc(p.Name+" ("+p.Key+")", MaxOptionLabel)})
	}
	if i >= MaxDropdownItems {
		pf.Options[MaxDropdownItems-1] = Option{ID: f.Project, Label: trunc(projects[i].Name+" ("+f.Project+")", MaxOptionLabel)}
	}
	f.Fields = append(f.Fields, pf)
	types, err := s.issueTypes(ctx, jc, id.User, srv, f.Project)
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "read the issue types of "+f.Project)
	}
	types = slices.DeleteFunc(types, func(t jira.IssueType) bool { return t.Subtask })
	if len(types) == 0 {
		return nil, newError(ErrNoAccess, nil, "Your Jira account cannot create issues in %s.", f.Project)
	}
	ti := slices.IndexFunc(types, func(t jira.IssueType) bool { return t.ID == values.String(FieldIssueType) })
	if ti < 0 {
		ti = max(slices.IndexFunc(types, func(t jira.IssueType) bool { return t.Name == "Task" }), 0)
	}
	f.IssueType = types[ti].ID
	tf := FormField{ID: FieldIssueType, Name: "Issue type", Kind: KindSelect, Required: true, Value: f.IssueType}
	for _, t := range types[:min(len(types), MaxDropdownItems)] {
		tf.Options = append(tf.Options, Option{ID: t.ID, Label: trunc(t.Name, MaxOptionLabel)})
	}
	f.Fields = append(f.Fields, tf)
	prios, err := jc.Priorities(ctx)
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "read Jira's priorities")
	}
	if len(prios) > 0 {
		pr := FormField{ID: RuleFieldPriority, Name: "Priority", Kind: KindSelect}
		for _, p := range prios[:min(len(prios), MaxDropdownItems)] {
			pr.Options = append(pr.Options, Option{ID: p.ID, Label: trunc(p.Name, MaxOptionLabel)})
		}
		if v := values.String(RuleFieldPriority); slices.ContainsFunc(pr.Options, func(o Option) bool { return o.ID == v }) {
			pr.Value = v
		}
		f.Fields = append(f.Fields, pr)
	}
	f.Fields = append(f.Fields, FormField{ID: RuleFieldLabels, Name: "Labels", Kind: KindLabels, Placeholder: "Words separated by commas", Value: values[RuleFieldLabels]})
	return f, nil
}

// SaveRule stores a rule action's configuration from its submitted form.
func (s *Service) SaveRule(ctx context.Context, id Identity, req RuleRequest, values Values) (*Form, error) {
	f, err := s.BuildRuleForm(ctx, id, req, values)
	if err != nil {
		return nil, err
	}
	cfg := RuleConfig{User: id.User, Workspace: id.Workspace, ServerID: f.ServerID, Project: f.Project, IssueType: f.IssueType,
		Priority: values.String(RuleFieldPriority), RuleName: req.RuleName,
		Labels: strings.FieldsFunc(values.String(RuleFieldLabels), func(r rune) bool { return r == ',' || r == ' ' })}
	key := pendingRule + req.Project + ":" + req.ActionType
	if req.Action != "" {
		key = req.Action
	}
	if err := s.putRuleConfig(ctx, key, cfg); err != nil {
		return nil, err
	}
	return f, nil
}

func (s *Service) putRuleConfig(ctx context.Context, key string, cfg RuleConfig) error {
	b, _ := json.Marshal(cfg)
	err := s.st.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: ruleScope, Key: key, Result: b, ExpiresAt: s.now().Add(ruleKeep)})
	if errors.Is(err, store.ErrConflict) {
		err = s.st.CompleteIdempotencyKey(ctx, ruleScope, key, b)
	}
	if err != nil {
		return fmt.Errorf("bridge: save rule action: %w", err)
	}
	return nil
}

func (s *Service) ruleConfig(ctx context.Context, key string) (RuleConfig, error) {
	var cfg RuleConfig
	k, err := s.st.GetIdempotencyKey(ctx, ruleScope, key)
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(k.Result, &cfg); err != nil || cfg.ServerID == "" {
		return cfg, store.ErrNotFound
	}
	return cfg, nil
}

// RunRequest is one run of a rule action.
type RunRequest struct {
	RuleRequest
	Task           string
	IdempotencyKey string
}

// RunRule runs the "Create Jira issue" rule action on a task: it creates the
// issue as the rule's configured user (once per idempotency key, and once
// per task), links it, and attaches it to the task connected to the app so
// the widget shows. It returns ErrGone when the configuration is unknown.
func (s *Service) RunRule(ctx context.Context, req RunRequest, after LinkHook) (*Created, error) {
	if req.IdempotencyKey == "" {
		return nil, newError(ErrInvalid, nil, "The run has no idempotency key.")
	}
	if k, err := s.st.GetIdempotencyKey(ctx, runScope, req.IdempotencyKey); err == nil && len(k.Result) > 0 {
		var c Created
		if json.Unmarshal(k.Result, &c) == nil && c.IssueKey != "" {
			c.Existing = true
			return &c, nil
		}
	}
	cfg, err := s.ruleConfig(ctx, req.Action)
	if errors.Is(err, store.ErrNotFound) {
		// A rule created in the builder is saved before Asana gives its
		// action id: adopt the project's latest new configuration.
		cfg, err = s.ruleConfig(ctx, pendingRule+req.Project+":"+req.ActionType)
		if err == nil && req.Action != "" {
			err = s.putRuleConfig(ctx, req.Action, cfg)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, newError(ErrGone, err, "This rule's Jira settings are gone; edit the rule and save it again.")
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: rule configuration: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout)
	defer cancel()
	id := Identity{User: cfg.User, Workspace: cfg.Workspace}
	jc, srv, err := s.jiraFor(ctx, cfg.User, cfg.ServerID)
	if err != nil {
		return nil, err
	}
	ac, err := s.asanaFor(ctx, cfg.User)
	if err != nil {
		return nil, err
	}
	task, err := ac.GetTask(ctx, req.Task, []string{"name", "notes", "completed", "permalink_url", "due_on"})
	if err != nil {
		return nil, asanaError(err, "read the task")
	}
	fields := map[string]any{
		"project": map[string]any{"key": cfg.Project}, "issuetype": map[string]any{"id": cfg.IssueType},
		"summary": trunc(task.Name, 255), "description": WikiFromAsana(task.Notes),
	}
	if cfg.Priority != "" {
		fields["priority"] = map[string]any{"id": cfg.Priority}
	}
	if len(cfg.Labels) > 0 {
		fields["labels"] = cfg.Labels
	}
	c, err := s.createOnce(ctx, id, jc, srv, task, jira.IssueInput{Fields: fields}, after)
	if err != nil {
		var fe *FieldErrors
		if errors.As(err, &fe) {
			return nil, newError(ErrInvalid, err, "Jira refused the issue: %s", strings.TrimPrefix(fe.Error(), "bridge: the issue was not created: "))
		}
		return nil, err
	}
	if _, err := ac.CreateExternalAttachment(ctx, asana.ExternalAttachment{Parent: task.GID, URL: c.URL, Name: c.ResourceName(), ConnectToApp: true}); err != nil {
		return nil, asanaError(err, "attach the issue to the task")
	}
	b, _ := json.Marshal(c)
	if err := s.st.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: runScope, Key: req.IdempotencyKey, Result: b, ExpiresAt: s.now().Add(ruleRunTTL)}); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("bridge: remember rule run: %w", err)
	}
	return c, nil
}
