package appcomponents

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/httpx"
)

// fail maps a bridge error to the App Components answer: 401 makes Asana
// open the authentication URL again; 400 shows the message to the user.
func fail(err error) error {
	msg := bridge.UserMessage(err)
	switch {
	case errors.Is(err, bridge.ErrNotConnected), errors.Is(err, bridge.ErrReconnectNeeded):
		return httpx.Wrap(http.StatusUnauthorized, msg, err)
	case errors.Is(err, bridge.ErrNoAccess), errors.Is(err, bridge.ErrNotRuleOwner):
		return httpx.Wrap(http.StatusForbidden, msg, err)
	case errors.Is(err, bridge.ErrGone):
		return httpx.Wrap(http.StatusGone, msg, err)
	case errors.Is(err, bridge.ErrInvalid), errors.Is(err, bridge.ErrNoJiraServer),
		errors.Is(err, bridge.ErrJiraUnavailable), errors.Is(err, bridge.ErrJiraRateLimited):
		return httpx.Wrap(http.StatusBadRequest, msg, err)
	}
	return err
}

func (h *Handler) widget(w http.ResponseWriter, r *http.Request, req *request) error {
	if req.ResourceURL == "" {
		return httpx.Errorf(http.StatusBadRequest, "resource_url is required")
	}
	d, err := h.d.Bridge.Widget(r.Context(), req.identity(), req.ResourceURL)
	if err != nil {
		return fail(err)
	}
	resp := renderWidget(d, h.d.Now())
	writeWidget(w, &resp)
	return nil
}

func (h *Handler) formMetadata(w http.ResponseWriter, r *http.Request, req *request) error {
	if req.Task == "" {
		return httpx.Errorf(http.StatusBadRequest, "task is required")
	}
	f, err := h.d.Bridge.BuildForm(r.Context(), req.identity(), req.Task, nil)
	if err != nil {
		return fail(err)
	}
	httpx.WriteJSON(w, http.StatusOK, h.renderCreateForm(r, f))
	return nil
}

func (h *Handler) formChange(w http.ResponseWriter, r *http.Request, req *request) error {
	if req.Task == "" {
		return h.formFailure(w, r, nil, invalid("The request names no task."), h.renderCreateForm)
	}
	values := req.Values
	if values == nil {
		values = bridge.Values{}
	}
	f, err := h.d.Bridge.BuildForm(r.Context(), req.identity(), req.Task, values)
	if err != nil {
		return h.formFailure(w, r, nil, err, h.renderCreateForm)
	}
	httpx.WriteJSON(w, http.StatusOK, h.renderCreateForm(r, f))
	return nil
}

func (h *Handler) formSubmit(w http.ResponseWriter, r *http.Request, req *request) error {
	if req.Task == "" {
		return h.submitFailure(w, r, req, nil, invalid("The request names no task."))
	}
	values := req.Values
	if values == nil {
		values = bridge.Values{}
	}
	var hooks bridge.CreateHooks
	if sc := req.signed; sc != nil {
		// The signature is recorded with the creation's claim and its
		// answer with the link (see onceWithin).
		sc.Answer = func(c *bridge.Created) (int, []byte) { return http.StatusOK, attachedJSON(c) }
		hooks.Signed = sc
	}
	c, f, err := h.d.Bridge.CreateIssue(r.Context(), req.identity(), req.Task, values, hooks)
	defer h.copyLinked(r.Context(), c)
	switch {
	case errors.Is(err, bridge.ErrRepeat):
		return h.replay(w, r, req.signed.Request.Route, *req.signed.First)
	case err != nil:
		return h.submitFailure(w, r, req, f, err)
	case req.signed != nil && req.signed.Answered != nil:
		// The very bytes recorded: httpx.WriteJSON writes encoded JSON
		// as it is.
		httpx.WriteJSON(w, http.StatusOK, json.RawMessage(req.signed.Answered))
		return nil
	}
	if first, err := h.repeated(r.Context(), req); err != nil || first != nil {
		if err != nil {
			return err
		}
		return h.replay(w, r, req.signed.Request.Route, *first)
	}
	httpx.WriteJSON(w, http.StatusOK, json.RawMessage(attachedJSON(c)))
	return nil
}

// submitFailure is formFailure for a submit, unless the submit is a
// repeat, which is answered from the first.
func (h *Handler) submitFailure(w http.ResponseWriter, r *http.Request, req *request, f *bridge.Form, err error) error {
	first, rerr := h.repeated(r.Context(), req)
	switch {
	case rerr != nil:
		return rerr
	case first != nil:
		return h.replay(w, r, req.signed.Request.Route, *first)
	}
	return h.formFailure(w, r, f, err, h.renderCreateForm)
}

// attachedJSON is the answer to a create: the issue as Asana shows it on
// the task, encoded as httpx.WriteJSON encodes it.
func attachedJSON(c *bridge.Created) []byte {
	b, _ := json.Marshal(attachedResponse{ResourceName: c.ResourceName(), ResourceURL: c.URL}) // strings only: cannot fail
	return append(b, '\n')
}

func (h *Handler) renderCreateForm(r *http.Request, f *bridge.Form) formResponse {
	return h.renderForm(r, f, "/asana/form/change", "/asana/form/submit", "/asana/form/typeahead")
}

// invalid is a bad request, told to the user.
func invalid(msg string) error { return &bridge.Error{Kind: bridge.ErrInvalid, Msg: msg} }

// formFailure answers a failed on_change or on_submit as Asana's contract
// has it: a user who must authorize gets 401 (Asana opens the
// authentication popup); every other problem the user can act on is a 400
// carrying a form, with each field's error under its field and the rest
// on the form: the form itself when there is one, else bridge.ErrorForm,
// whose "Try again" asks for it anew. Faults of asanajira stay 500s.
func (h *Handler) formFailure(w http.ResponseWriter, r *http.Request, f *bridge.Form, err error,
	render func(*http.Request, *bridge.Form) formResponse) error {
	var fe *bridge.FieldErrors
	var be *bridge.Error
	switch {
	case errors.Is(err, bridge.ErrNotConnected), errors.Is(err, bridge.ErrReconnectNeeded):
		return fail(err)
	case errors.As(err, &fe):
	case errors.As(err, &be):
		h.d.Log.WarnContext(r.Context(), "form not accepted", "path", r.URL.Path, "error", err)
		fe = &bridge.FieldErrors{Message: be.Msg}
	default:
		return fail(err)
	}
	if f == nil {
		msg := fe.Message
		for _, x := range fe.Fields {
			msg += " " + x.Field + ": " + x.Message
		}
		f = bridge.ErrorForm("Create a Jira issue", strings.TrimSpace(msg))
	} else {
		fe.Apply(f)
	}
	httpx.WriteJSON(w, http.StatusBadRequest, render(r, f))
	return nil
}

// formTypeahead serves the typeahead_url of the form's user and project
// fields; kind, server and project are our own query parameters.
func (h *Handler) formTypeahead(w http.ResponseWriter, r *http.Request, req *request) error {
	var (
		items []bridge.Item
		err   error
	)
	switch req.params.Get("kind") {
	case "user":
		items, err = h.d.Bridge.UserTypeahead(r.Context(), req.identity(), req.params.Get("server"), req.params.Get("project"), req.Query)
	case "project":
		items, err = h.d.Bridge.ProjectTypeahead(r.Context(), req.identity(), req.params.Get("server"), req.Query)
	default:
		return httpx.Errorf(http.StatusBadRequest, "unknown typeahead")
	}
	if err != nil {
		return fail(err)
	}
	writeItems(w, items)
	return nil
}

func (h *Handler) lookupTypeahead(w http.ResponseWriter, r *http.Request, req *request) error {
	items, err := h.d.Bridge.Typeahead(r.Context(), req.identity(), req.Task, req.Query)
	if err != nil {
		return fail(err)
	}
	out := typeaheadList(items)
	if q := strings.TrimSpace(req.Query); q != "" && len(items) == 0 {
		// Asana shows the header above the (empty) list: say so, and how
		// to find the issue instead.
		out.Header = "No Jira issue matches “" + truncValue(q, 40) + "”. Check the key, or paste the issue's link."
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func writeItems(w http.ResponseWriter, items []bridge.Item) {
	httpx.WriteJSON(w, http.StatusOK, typeaheadList(items))
}

func typeaheadList(items []bridge.Item) typeaheadResponse {
	out := typeaheadResponse{Items: []typeaheadItem{}}
	for _, it := range items[:min(len(items), bridge.MaxTypeaheadItems)] {
		out.Items = append(out.Items, typeaheadItem{Title: it.Title, Subtitle: it.Subtitle, Value: it.Value})
	}
	return out
}

func (h *Handler) attach(w http.ResponseWriter, r *http.Request, req *request) error {
	if req.Task == "" || req.Query == "" {
		return httpx.Errorf(http.StatusBadRequest, "Enter an issue key (such as OPS-12) or paste the issue's link.")
	}
	c, err := h.d.Bridge.Attach(r.Context(), req.identity(), req.Task, req.Query)
	if err != nil {
		return fail(err)
	}
	defer h.copyLinked(r.Context(), c)
	httpx.WriteJSON(w, http.StatusOK, attachedResponse{ResourceName: c.ResourceName(), ResourceURL: c.URL})
	return nil
}

func (q *request) rule() bridge.RuleRequest {
	return bridge.RuleRequest{Project: q.Project, ActionType: q.ActionType, Action: q.Action, RuleName: q.RuleName}
}

func (h *Handler) ruleForm(w http.ResponseWriter, r *http.Request, req *request) error {
	f, err := h.d.Bridge.BuildRuleForm(r.Context(), req.identity(), req.rule(), nil)
	if err != nil {
		return fail(err)
	}
	httpx.WriteJSON(w, http.StatusOK, h.renderRuleForm(r, f))
	return nil
}

func (h *Handler) renderRuleForm(r *http.Request, f *bridge.Form) formResponse {
	out := h.renderForm(r, f, "/asana/rule/change", "/asana/rule/submit", "/asana/form/typeahead")
	out.Metadata.SubmitButtonText = ""
	return out
}

func (h *Handler) ruleChange(w http.ResponseWriter, r *http.Request, req *request) error {
	values := req.Values
	if values == nil {
		values = bridge.Values{}
	}
	f, err := h.d.Bridge.BuildRuleForm(r.Context(), req.identity(), req.rule(), values)
	if err != nil {
		return h.formFailure(w, r, nil, err, h.renderRuleForm)
	}
	httpx.WriteJSON(w, http.StatusOK, h.renderRuleForm(r, f))
	return nil
}

func (h *Handler) ruleSubmit(w http.ResponseWriter, r *http.Request, req *request) error {
	values := req.Values
	if values == nil {
		values = bridge.Values{}
	}
	if _, err := h.d.Bridge.SaveRule(r.Context(), req.identity(), req.rule(), values); err != nil {
		return h.formFailure(w, r, nil, err, h.renderRuleForm)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{})
	return nil
}

func (h *Handler) ruleRun(w http.ResponseWriter, r *http.Request, req *request) error {
	// The run acts as the user Asana signed it for, who must own the
	// rule's configuration (see bridge.ErrNotRuleOwner).
	run := bridge.RunRequest{RuleRequest: req.rule(), Identity: req.identity(), Task: req.TargetObject, IdempotencyKey: req.IdempotencyKey}
	if run.Task == "" || run.IdempotencyKey == "" || run.Action == "" {
		return httpx.Errorf(http.StatusBadRequest, "target_object, action and idempotency_key are required")
	}
	c, err := h.d.Bridge.RunRule(r.Context(), run)
	defer h.copyLinked(r.Context(), c)
	switch {
	case errors.Is(err, bridge.ErrJiraUnavailable), errors.Is(err, bridge.ErrJiraRateLimited):
		// A 5xx makes Asana retry the run later, with the same key.
		return httpx.Wrap(http.StatusInternalServerError, bridge.UserMessage(err), err)
	case err != nil:
		return fail(err)
	}
	if c.Existing {
		// The task already had the issue: nothing was created.
		httpx.WriteJSON(w, http.StatusOK, ranActionResponse{ActionResult: "ok"})
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, ranActionResponse{ActionResult: "resources_created",
		ResourcesCreated: []attachedResponse{{ResourceName: c.ResourceName(), ResourceURL: c.URL}}})
	return nil
}
