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

// Who a rule runs as. A rule action's configuration belongs to the Asana
// user who saved it last, its owner: the rule creates issues with the
// owner's Jira and Asana accounts (the configuration form offers only what
// the owner's Jira rights allow), and a run must be signed as the owner. A
// run whose signed user is anybody else is refused with ErrNotRuleOwner,
// whatever its action id; editing and saving the rule makes the saver the
// owner. Asana sends no action id while a rule is being created in the
// builder, so that save is kept as the saver's own pending configuration
// for (project, action type), one per user and never shared. The first run
// with an action id that has no configuration adopts the pending
// configuration of the run's own user and binds it to that action id, so a
// run can only ever use a configuration its own user saved.
//
// One user creating two new rules of one action type on one project before
// either runs has one pending configuration: the latest save. The first of
// the two rules to run adopts it; the other answers 410 and runs again once
// it is edited and saved (Asana then sends its action id).

// ErrNotRuleOwner is returned when a rule run is signed as another user than the one who
// saved the rule's configuration.
var ErrNotRuleOwner = errors.New("bridge: the run is not signed as the rule's owner")

// RuleConfig is a "Create Jira issue" rule action's settings, saved when
// the rule is submitted and used each time it runs.
type RuleConfig struct {
	ServerID  string   `json:"server_id"`
	Project   string   `json:"project"`
	IssueType string   `json:"issue_type"`
	Priority  string   `json:"priority,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	RuleName  string   `json:"rule_name,omitempty"`
}

// Rule runs are remembered a week by idempotency key, for Asana's retries.
const (
	ruleRunTTL = 7 * 24 * time.Hour
	runScope   = "rule_run"
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
		// Only the owner sees the saved settings; another user editing
		// the rule starts from their own defaults and, saving, becomes
		// its owner.
		if rc, cfg, err := s.ruleConfig(ctx, req.Action); err == nil && rc.OwnerGID == id.User {
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

// SaveRule stores a rule action's configuration from its submitted form,
// owned by the submitting user: under the action id when editing, as the
// user's pending configuration for the project and action type when the
// rule is new.
func (s *Service) SaveRule(ctx context.Context, id Identity, req RuleRequest, values Values) (*Form, error) {
	if req.Action == "" && (req.Project == "" || req.ActionType == "") {
		return nil, newError(ErrInvalid, nil, "The rule names no project or action type.")
	}
	f, err := s.BuildRuleForm(ctx, id, req, values)
	if err != nil {
		return nil, err
	}
	cfg := RuleConfig{ServerID: f.ServerID, Project: f.Project, IssueType: f.IssueType,
		Priority: values.String(RuleFieldPriority), RuleName: req.RuleName,
		Labels: strings.FieldsFunc(values.String(RuleFieldLabels), func(r rune) bool { return r == ',' || r == ' ' })}
	b, _ := json.Marshal(cfg) // strings only
	if err := s.st.PutRuleConfig(ctx, store.RuleConfig{Action: req.Action, ProjectGID: req.Project, ActionType: req.ActionType,
		OwnerGID: id.User, WorkspaceGID: id.Workspace, Config: b}); err != nil {
		return nil, fmt.Errorf("bridge: save rule action: %w", err)
	}
	return f, nil
}

// ruleConfig reads a rule action id's configuration.
func (s *Service) ruleConfig(ctx context.Context, action string) (store.RuleConfig, RuleConfig, error) {
	rc, err := s.st.GetRuleConfig(ctx, action)
	if err != nil {
		return rc, RuleConfig{}, err
	}
	cfg, err := decodeRuleConfig(rc)
	return rc, cfg, err
}

func decodeRuleConfig(rc store.RuleConfig) (RuleConfig, error) {
	var cfg RuleConfig
	if err := json.Unmarshal(rc.Config, &cfg); err != nil || cfg.ServerID == "" {
		return cfg, fmt.Errorf("bridge: rule action %s: unreadable settings: %w", rc.Action, store.ErrNotFound)
	}
	return cfg, nil
}

// runConfig finds the configuration a run may use: the one saved under its
// action id, or else the run's own user's pending one, which it adopts. It
// is refused unless the run is signed as the configuration's owner, in the
// configuration's workspace and project.
func (s *Service) runConfig(ctx context.Context, req RunRequest) (RuleConfig, error) {
	rc, err := s.st.GetRuleConfig(ctx, req.Action)
	if errors.Is(err, store.ErrNotFound) {
		rc, err = s.st.AdoptPendingRuleConfig(ctx, req.Action, req.Project, req.ActionType, req.User)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			// Nothing pending for this user, or another run of the same
			// action adopted it meanwhile.
			rc, err = s.st.GetRuleConfig(ctx, req.Action)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return RuleConfig{}, newError(ErrGone, err, "This rule's Jira settings are gone; edit the rule and save it again.")
	}
	if err != nil {
		return RuleConfig{}, fmt.Errorf("bridge: rule configuration: %w", err)
	}
	if rc.OwnerGID != req.User || (rc.WorkspaceGID != "" && rc.WorkspaceGID != req.Workspace) ||
		(rc.ProjectGID != "" && rc.ProjectGID != req.Project) {
		s.log.WarnContext(ctx, "rule run refused: not signed as the rule's owner", "action", req.Action,
			"user", req.User, "owner", rc.OwnerGID, "project", req.Project)
		return RuleConfig{}, newError(ErrNotRuleOwner, nil,
			"This rule's Jira settings belong to another Asana user, and a rule runs only as the user who saved it. Edit the rule and save it to run it with your own Jira account.")
	}
	cfg, err := decodeRuleConfig(rc)
	if err != nil {
		return RuleConfig{}, newError(ErrGone, err, "This rule's Jira settings are gone; edit the rule and save it again.")
	}
	return cfg, nil
}

// RunRequest is one run of a rule action, with the user and workspace its
// signed request names.
type RunRequest struct {
	RuleRequest
	Identity
	Task           string
	IdempotencyKey string
}

// hasAttachment reports whether the task has an attachment of url.
func hasAttachment(ctx context.Context, ac *asana.Client, task, url string) (bool, error) {
	for a, err := range ac.Attachments(ctx, task) {
		if err != nil {
			return false, err
		}
		if a.ViewURL != nil && *a.ViewURL == url {
			return true, nil
		}
	}
	return false, nil
}

// RunRule runs the "Create Jira issue" rule action on a task: it creates the
// issue as the rule's owner, who must be the run's user (once per
// idempotency key, and once per task), links it, and attaches it to the
// task connected to the app so the widget shows. It returns ErrGone when
// the configuration is unknown and ErrNotRuleOwner when the run is signed
// as another user. Created.Existing is true when the task already had the
// issue, so the run created nothing.
func (s *Service) RunRule(ctx context.Context, req RunRequest) (*Created, error) {
	if req.IdempotencyKey == "" || req.Action == "" {
		return nil, newError(ErrInvalid, nil, "The run has no action id or idempotency key.")
	}
	cfg, err := s.runConfig(ctx, req)
	if err != nil {
		return nil, err
	}
	runKey := req.Action + "/" + req.IdempotencyKey
	if k, err := s.st.GetIdempotencyKey(ctx, runScope, runKey); err == nil && len(k.Result) > 0 {
		var c Created
		if json.Unmarshal(k.Result, &c) == nil && c.IssueKey != "" {
			// The same run again: the first run's answer, Existing as it
			// was then (the run created the issue, or found it).
			return &c, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout)
	defer cancel()
	id := req.Identity
	jc, srv, err := s.jiraFor(ctx, id.User, cfg.ServerID)
	if err != nil {
		return nil, err
	}
	ac, err := s.asanaFor(ctx, id.User)
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
	c, err := s.createOnce(ctx, id, jc, srv, task, jira.IssueInput{Fields: fields}, CreateHooks{}, nil)
	if err != nil {
		var fe *FieldErrors
		if errors.As(err, &fe) {
			return nil, newError(ErrInvalid, err, "Jira refused the issue: %s", strings.TrimPrefix(fe.Error(), "bridge: the issue was not created: "))
		}
		return nil, err
	}
	// A task that already had the issue keeps its one attachment; an
	// earlier attempt that died before attaching is completed here.
	attached := false
	if c.Existing {
		if attached, err = hasAttachment(ctx, ac, task.GID, c.URL); err != nil {
			return nil, asanaError(err, "read the task's attachments")
		}
	}
	if !attached {
		if _, err := ac.CreateExternalAttachment(ctx, asana.ExternalAttachment{Parent: task.GID, URL: c.URL, Name: c.ResourceName(), ConnectToApp: true}); err != nil {
			return nil, asanaError(err, "attach the issue to the task")
		}
	}
	b, _ := json.Marshal(c)
	if err := s.st.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: runScope, Key: runKey, Result: b, ExpiresAt: s.now().Add(ruleRunTTL)}); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("bridge: remember rule run: %w", err)
	}
	return c, nil
}
