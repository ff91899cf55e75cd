package jira

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type webhook struct {
	id          int
	name        string
	url         string
	events      []string
	jql         string
	excludeBody bool
	enabled     bool
	secret      string
	updatedBy   string
	updated     time.Time
}

// event is one webhook delivery, built while the state lock is held and
// sent after it is released.
type event struct {
	name  string
	body  map[string]any
	issue *issue
}

func changelogItems(items []historyItem) []any {
	out := []any{}
	for _, it := range items {
		out = append(out, map[string]any{"field": it.field, "fieldtype": it.fieldtype, "fieldId": it.fieldID,
			"from": it.from, "fromString": it.fromString, "to": it.to, "toString": it.toString})
	}
	return out
}

// issueEventLocked builds a jira:issue_* event (with the comment c, when
// set). A Server jira:issue_created carries no changelog; updates add
// theirs. Callers hold s.mu.
func (s *Server) issueEventLocked(base, name, typeName string, is *issue, actor string, c *comment) event {
	snapshot := *is
	body := map[string]any{
		"timestamp": s.now().UnixMilli(), "webhookEvent": name, "user": s.userRef(base, actor),
		"issue": map[string]any{"id": is.id, "self": base + "/rest/api/2/issue/" + is.id, "key": is.key, "fields": s.issueFields(base, is, nil)},
	}
	if typeName != "" {
		body["issue_event_type_name"] = typeName
	}
	if c != nil {
		body["comment"] = s.commentJSON(base, is, c, nil)
	}
	return event{name: name, body: body, issue: &snapshot}
}

// commentEventsLocked builds Jira Server's pair of events for a comment
// change: the standalone comment_* event (without issue data) and
// jira:issue_updated with the full issue. Callers hold s.mu.
func (s *Server) commentEventsLocked(base string, is *issue, c *comment, actor, standalone, typeName string) []event {
	snapshot := *is
	body := map[string]any{"timestamp": s.now().UnixMilli(), "webhookEvent": standalone, "comment": s.commentJSON(base, is, c, nil)}
	if standalone != "comment_created" {
		body["user"] = s.userRef(base, actor)
	}
	var withComment *comment
	if typeName != "issue_comment_deleted" {
		withComment = c
	}
	return []event{
		{name: standalone, body: body, issue: &snapshot},
		s.issueEventLocked(base, "jira:issue_updated", typeName, is, actor, withComment),
	}
}

// dispatch delivers events to matching webhooks: synchronously (before the
// triggering request is answered) before 10.0, asynchronously from 10.0.
func (s *Server) dispatch(evs []event) {
	type delivery struct {
		hook webhook
		body []byte
	}
	var ds []delivery
	s.mu.Lock()
	if s.faults.DropWebhooks {
		s.mu.Unlock()
		s.log.Debug("jira emulator: webhook deliveries dropped (fault)", "events", len(evs))
		return
	}
	for _, ev := range evs {
		if ev.body == nil {
			continue
		}
		for _, h := range s.webhooks {
			if !h.enabled || !slices.Contains(h.events, ev.name) {
				continue
			}
			if h.jql != "" && ev.issue != nil {
				match, _, err := s.parseJQL(h.jql, nil)
				if err != nil || !match(ev.issue) {
					continue
				}
			}
			body := ev.body
			if h.excludeBody {
				body = nil
			}
			b, _ := json.Marshal(body)
			if body == nil {
				b = nil
			}
			ds = append(ds, delivery{*h, b})
		}
	}
	s.mu.Unlock()
	for _, d := range ds {
		if s.prof.asyncWebhooks() {
			s.asyncWG.Add(1)
			go func() {
				defer s.asyncWG.Done()
				s.deliver(d.hook, d.body)
			}()
			continue
		}
		s.deliver(d.hook, d.body)
	}
}

func (s *Server) deliver(h webhook, body []byte) {
	// Delivery outlives the triggering request on 10.x, so it is bounded by
	// the client's timeout rather than the request's context.
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body)) //nolint:noctx // bounded by the client timeout; on 10.x it outlives the request
	if err != nil {
		s.log.Warn("jira emulator: webhook request", "webhook", h.name, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("User-Agent", "Atlassian HttpClient 3.0.4 / Jira-"+s.prof.version+" ("+itoa(s.prof.buildNumber)+") / Default")
	// Only Jira 10 signs deliveries; before, a secret lives in the URL.
	if h.secret != "" && s.prof.signsWebhooks() {
		m := hmac.New(sha256.New, []byte(h.secret))
		m.Write(body)
		req.Header.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.Warn("jira emulator: webhook delivery failed", "webhook", h.name, "err", err)
		return
	}
	// Read to the end, so the connection is kept for the next delivery,
	// as Jira's pooled HTTP client keeps it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	s.log.Debug("jira emulator: webhook delivered", "webhook", h.name, "status", resp.StatusCode)
}

// ---- registration REST ----

func (s *Server) webhookRoutes() {
	old := func(p profile) bool { return !p.newWebhookREST() }
	s.route("POST /rest/webhooks/1.0/webhook", adminOnly, old, s.createWebhook)
	s.route("GET /rest/webhooks/1.0/webhook", adminOnly, old, s.listWebhooks)
	s.route("GET /rest/webhooks/1.0/webhook/{id}", adminOnly, old, s.getWebhook)
	s.route("PUT /rest/webhooks/1.0/webhook/{id}", adminOnly, old, s.updateWebhook)
	s.route("DELETE /rest/webhooks/1.0/webhook/{id}", adminOnly, old, s.deleteWebhook)
	// Jira 10 moved webhook administration to /rest/jira-webhook/1.0/webhooks.
	s.route("POST /rest/jira-webhook/1.0/webhooks", adminOnly, profile.newWebhookREST, s.createWebhook)
	s.route("GET /rest/jira-webhook/1.0/webhooks", adminOnly, profile.newWebhookREST, s.listWebhooks)
	s.route("GET /rest/jira-webhook/1.0/webhooks/{id}", adminOnly, profile.newWebhookREST, s.getWebhook)
	s.route("PUT /rest/jira-webhook/1.0/webhooks/{id}", adminOnly, profile.newWebhookREST, s.updateWebhook)
	s.route("DELETE /rest/jira-webhook/1.0/webhooks/{id}", adminOnly, profile.newWebhookREST, s.deleteWebhook)
}

// webhookInput is either registration shape: 9.x ("filters",
// "excludeBody", "enabled") or 10.x ("configuration", "active", "secret").
// Each release reads its own keys and ignores the other's, as Jira 10
// ignores a 9.x-style "filters".
type webhookInput struct {
	Name          string            `json:"name"`
	URL           string            `json:"url"`
	Events        []string          `json:"events"`
	Filters       map[string]string `json:"filters"`
	ExcludeBody   *bool             `json:"excludeBody"`
	Enabled       *bool             `json:"enabled"`
	Active        *bool             `json:"active"`
	Secret        string            `json:"secret"`
	Configuration map[string]string `json:"configuration"`
}

func (s *Server) webhookJSON(base string, h *webhook) map[string]any {
	self := base + "/rest/webhooks/1.0/webhook/" + itoa(h.id)
	if s.prof.newWebhookREST() {
		return map[string]any{
			"id": h.id, "self": base + "/rest/jira-webhook/1.0/webhooks/" + itoa(h.id), "name": h.name, "url": h.url,
			"events": h.events, "active": h.enabled, "createdDate": h.updated.UnixMilli(), "updatedDate": h.updated.UnixMilli(),
			"configuration":           map[string]string{"FILTERS": h.jql, "EXCLUDE_BODY": strconv.FormatBool(h.excludeBody)},
			"sslVerificationRequired": true,
		}
	}
	return map[string]any{
		"self": self, "name": h.name, "url": h.url, "events": h.events,
		"filters": map[string]string{"issue-related-events-section": h.jql}, "excludeBody": h.excludeBody,
		"enabled": h.enabled, "lastUpdatedUser": h.updatedBy, "lastUpdatedDisplayName": s.displayOrNil(h.updatedBy),
		"lastUpdated": h.updated.UnixMilli(),
	}
}

func (s *Server) applyWebhookInput(h *webhook, in webhookInput, actor string) map[string]string {
	errs := map[string]string{}
	if in.Name == "" {
		errs["name"] = "Name is required."
	}
	if !strings.HasPrefix(in.URL, "http://") && !strings.HasPrefix(in.URL, "https://") {
		errs["url"] = "URL must be an absolute http(s) URL."
	}
	jql := in.Filters["issue-related-events-section"]
	if s.prof.newWebhookREST() {
		jql = in.Configuration["FILTERS"]
	}
	if jql != "" {
		if _, _, err := s.parseJQL(jql, nil); err != nil {
			errs["filters"] = err.Error()
		}
	}
	if len(errs) > 0 {
		return errs
	}
	h.name, h.url, h.events, h.jql = in.Name, in.URL, in.Events, jql
	h.enabled = true
	if s.prof.newWebhookREST() {
		h.secret = in.Secret
		h.excludeBody = in.Configuration["EXCLUDE_BODY"] == "true"
		if in.Active != nil {
			h.enabled = *in.Active
		}
	} else {
		h.secret = ""
		h.excludeBody = in.ExcludeBody != nil && *in.ExcludeBody
		if in.Enabled != nil {
			h.enabled = *in.Enabled
		}
	}
	h.updatedBy, h.updated = actor, s.now()
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	var in webhookInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &webhook{}
	if errs := s.applyWebhookInput(h, in, u.name); errs != nil {
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	h.id = s.nextWebhookID
	s.nextWebhookID++
	s.webhooks = append(s.webhooks, h)
	writeJSON(w, http.StatusCreated, s.webhookJSON(s.baseURL(r), h))
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, h := range s.webhooks {
		out = append(out, s.webhookJSON(s.baseURL(r), h))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) webhookOr404(w http.ResponseWriter, r *http.Request) *webhook {
	h, ok := findBy(s.webhooks, func(h *webhook) bool { return itoa(h.id) == r.PathValue("id") })
	if !ok {
		s.writeErrors(w, http.StatusNotFound, []string{"Webhook with id " + r.PathValue("id") + " not found."}, nil)
		return nil
	}
	return h
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.webhookOr404(w, r); h != nil {
		writeJSON(w, http.StatusOK, s.webhookJSON(s.baseURL(r), h))
	}
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, u *user) {
	var in webhookInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.webhookOr404(w, r)
	if h == nil {
		return
	}
	if errs := s.applyWebhookInput(h, in, u.name); errs != nil {
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	writeJSON(w, http.StatusOK, s.webhookJSON(s.baseURL(r), h))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.webhookOr404(w, r)
	if h == nil {
		return
	}
	s.webhooks = slices.DeleteFunc(s.webhooks, func(x *webhook) bool { return x == h })
	w.WriteHeader(http.StatusNoContent)
}

// Webhook describes a registered webhook, for tests.
type Webhook struct {
	ID          int
	Name        string
	URL         string
	Events      []string
	JQL         string
	ExcludeBody bool
	Enabled     bool
	Secret      string
}

// Webhooks lists the registered webhooks in registration order.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, h := range s.webhooks {
		out = append(out, Webhook{ID: h.id, Name: h.name, URL: h.url, Events: slices.Clone(h.events), JQL: h.jql,
			ExcludeBody: h.excludeBody, Enabled: h.enabled, Secret: h.secret})
	}
	return out
}

var _ = fmt.Sprint
