package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// Webhook is a webhook registration (rest/webhooks/1.0/webhook). Webhooks are
// global and need a Jira administrator to register.
type Webhook struct {
	Self   string   `json:"self,omitempty"`
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Filters maps "issue-related-events-section" to a JQL filter.
	Filters     map[string]string `json:"filters,omitempty"`
	ExcludeBody bool              `json:"excludeBody"`
	Enabled     bool              `json:"enabled"`
	// Secret makes Jira versions that support it sign deliveries
	// (X-Hub-Signature: sha256=…); older versions ignore it.
	Secret      string `json:"secret,omitempty"`
	LastUpdated int64  `json:"lastUpdated,omitempty"`
}

// ID is the last path segment of Self.
func (w *Webhook) ID() string {
	if w.Self == "" {
		return ""
	}
	return path.Base(strings.TrimRight(w.Self, "/"))
}

// Webhook administration moved in Jira 10 from rest/webhooks/1.0/webhook to
// rest/jira-webhook/1.0/webhooks; the client tries the long-standing path
// first and the newer one when Jira answers 404.
const (
	webhookPath   = "rest/webhooks/1.0/webhook"
	webhookPath10 = "rest/jira-webhook/1.0/webhooks"
)

// webhook10 is the wire shape of rest/jira-webhook/1.0/webhooks (Jira 10):
// the JQL filter and "exclude body" live in configuration, "enabled" is
// "active", and the secret signs deliveries (X-Hub-Signature). Jira 10
// ignores the older keys, so a 9.x-shaped body would register a webhook
// without its filter or secret.
type webhook10 struct {
	ID            json.Number       `json:"id,omitempty"`
	Self          string            `json:"self,omitempty"`
	Name          string            `json:"name"`
	URL           string            `json:"url"`
	Events        []string          `json:"events"`
	Active        bool              `json:"active"`
	Secret        string            `json:"secret,omitempty"`
	Configuration map[string]string `json:"configuration,omitempty"`
	UpdatedDate   int64             `json:"updatedDate,omitempty"`
}

// filterSection is the key of the issue-event JQL filter in a 9.x body.
const filterSection = "issue-related-events-section"

func toWebhook10(w Webhook) webhook10 {
	conf := map[string]string{"EXCLUDE_BODY": strconv.FormatBool(w.ExcludeBody)}
	if jql := w.Filters[filterSection]; jql != "" {
		conf["FILTERS"] = jql
	}
	return webhook10{Name: w.Name, URL: w.URL, Events: w.Events, Active: w.Enabled, Secret: w.Secret, Configuration: conf}
}

func (w webhook10) webhook() Webhook {
	out := Webhook{Self: w.Self, Name: w.Name, URL: w.URL, Events: w.Events, Enabled: w.Active,
		ExcludeBody: w.Configuration["EXCLUDE_BODY"] == "true", LastUpdated: w.UpdatedDate}
	if out.Self == "" && w.ID != "" {
		out.Self = webhookPath10 + "/" + w.ID.String()
	}
	if jql := w.Configuration["FILTERS"]; jql != "" {
		out.Filters = map[string]string{filterSection: jql}
	}
	return out
}

// webhook9 is the wire shape of rest/webhooks/1.0/webhook (7.x to 9.x),
// which knows no secret: those releases carry it in the webhook's URL.
type webhook9 Webhook

func toWebhook9(w Webhook) webhook9 {
	w.Secret = ""
	return webhook9(w)
}

// CreateWebhook registers a webhook (administrator only), in the shape the
// release's webhook API reads: Secret is sent only to Jira 10.
//
// https://developer.atlassian.com/server/jira/platform/webhooks/
func (c *Client) CreateWebhook(ctx context.Context, w Webhook) (*Webhook, error) {
	var out webhook9
	_, err := c.send(ctx, http.MethodPost, webhookPath, toWebhook9(w), &out, false)
	if errors.Is(err, ErrNotFound) {
		var out10 webhook10
		if _, err := c.send(ctx, http.MethodPost, webhookPath10, toWebhook10(w), &out10, false); err != nil {
			return nil, err
		}
		created := out10.webhook()
		return &created, nil
	}
	if err != nil {
		return nil, err
	}
	created := Webhook(out)
	return &created, nil
}

// Webhooks lists the registered webhooks (administrator only).
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out []Webhook
	err := c.get(ctx, webhookPath, nil, &out)
	if errors.Is(err, ErrNotFound) {
		var out10 []webhook10
		if err := c.get(ctx, webhookPath10, nil, &out10); err != nil {
			return nil, err
		}
		out = make([]Webhook, 0, len(out10))
		for _, w := range out10 {
			out = append(out, w.webhook())
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteWebhook removes a webhook by id (administrator only).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.send(ctx, http.MethodDelete, webhookPath+"/"+pathEscape(id), nil, nil, true)
	if errors.Is(err, ErrNotFound) {
		_, err = c.send(ctx, http.MethodDelete, webhookPath10+"/"+pathEscape(id), nil, nil, true)
	}
	return err
}

// Webhook event names (webhookEvent).
const (
	EventIssueCreated   = "jira:issue_created"
	EventIssueUpdated   = "jira:issue_updated"
	EventIssueDeleted   = "jira:issue_deleted"
	EventCommentCreated = "comment_created"
	EventCommentUpdated = "comment_updated"
	EventCommentDeleted = "comment_deleted"
)

// Issue event types (issue_event_type_name of jira:issue_updated).
const (
	IssueCreated        = "issue_created"
	IssueUpdated        = "issue_updated"
	IssueAssigned       = "issue_assigned"
	IssueResolved       = "issue_resolved"
	IssueClosed         = "issue_closed"
	IssueReopened       = "issue_reopened"
	IssueWorkStarted    = "issue_work_started"
	IssueGeneric        = "issue_generic"
	IssueCommented      = "issue_commented"
	IssueCommentEdited  = "issue_comment_edited"
	IssueCommentDeleted = "issue_comment_deleted"
	IssueDeleted        = "issue_deleted"
)

// WebhookEvent is the body of a Jira Server/DC webhook delivery.
type WebhookEvent struct {
	// Timestamp is in epoch milliseconds.
	Timestamp    int64  `json:"timestamp"`
	WebhookEvent string `json:"webhookEvent"`
	// IssueEventTypeName is absent on old Server payloads; use EventType.
	IssueEventTypeName string     `json:"issue_event_type_name,omitempty"`
	User               *User      `json:"user,omitempty"`
	Issue              *Issue     `json:"issue,omitempty"`
	Changelog          *Changelog `json:"changelog,omitempty"`
	Comment            *Comment   `json:"comment,omitempty"`
}

// Changelog lists what an update changed.
type Changelog struct {
	ID    string          `json:"id"`
	Items []ChangelogItem `json:"items"`
}

// ChangelogItem is one changed field. FieldID is absent on older Server
// payloads, where Field is the (display) name for custom fields.
type ChangelogItem struct {
	Field      string `json:"field"`
	FieldType  string `json:"fieldtype"`
	FieldID    string `json:"fieldId,omitempty"`
	From       string `json:"from"`
	FromString string `json:"fromString"`
	To         string `json:"to"`
	ToString   string `json:"toString"`
}

// Time is the delivery timestamp.
func (e *WebhookEvent) Time() time.Time { return time.UnixMilli(e.Timestamp) }

// IssueKey is the key of the issue the event is about, "" for standalone
// comment events (which on Server may carry no issue).
func (e *WebhookEvent) IssueKey() string {
	if e.Issue != nil {
		return e.Issue.Key
	}
	return ""
}

// EventType is issue_event_type_name, or for old payloads without it the
// same name inferred from the content: a comment whose created and updated
// times match is issue_commented, otherwise issue_comment_edited; an update
// with neither changelog nor comment is issue_comment_deleted; an assignee
// change is issue_assigned.
func (e *WebhookEvent) EventType() string {
	if e.IssueEventTypeName != "" {
		return e.IssueEventTypeName
	}
	switch e.WebhookEvent {
	case EventIssueCreated:
		return IssueCreated
	case EventIssueDeleted:
		return IssueDeleted
	case EventIssueUpdated:
	default:
		return ""
	}
	switch {
	case e.Comment != nil:
		if e.Comment.Updated.Equal(e.Comment.Created.Time) {
			return IssueCommented
		}
		return IssueCommentEdited
	case e.Changelog == nil || len(e.Changelog.Items) == 0:
		return IssueCommentDeleted
	}
	for _, it := range e.Changelog.Items {
		switch {
		case it.Field == "assignee":
			return IssueAssigned
		case it.Field == "resolution" && it.To != "":
			return IssueResolved
		}
	}
	return IssueUpdated
}

// ParseWebhook decodes a webhook body. It accepts every Server/DC payload
// shape seen in the wild, including old ones without issue_event_type_name
// and standalone comment events without an issue, and refuses bodies that
// are not Jira webhooks.
func ParseWebhook(body []byte) (*WebhookEvent, error) {
	var e WebhookEvent
	if err := decodeWebhook(body, &e); err != nil {
		return nil, err
	}
	if err := checkWebhook(e.WebhookEvent, e.Issue != nil && (e.Issue.ID != "" || e.Issue.Key != "")); err != nil {
		return nil, err
	}
	return &e, nil
}

// WebhookSummary is what a receiver needs of a delivery to recognise and
// route it: its event, time, and the ids of its issue, changelog and
// comment. Reading it skips the issue's fields, which make most of a
// delivery (15 KiB is common) and take most of ParseWebhook's time.
type WebhookSummary struct {
	// Timestamp is in epoch milliseconds.
	Timestamp    int64  `json:"timestamp"`
	WebhookEvent string `json:"webhookEvent"`
	Issue        *struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	} `json:"issue,omitempty"`
	Changelog *struct {
		ID string `json:"id"`
	} `json:"changelog,omitempty"`
	Comment *struct {
		ID string `json:"id"`
	} `json:"comment,omitempty"`
}

// IssueID is the id of the issue the delivery is about, "" for none.
func (s *WebhookSummary) IssueID() string {
	if s.Issue != nil {
		return s.Issue.ID
	}
	return ""
}

// ParseWebhookSummary reads a webhook body's summary, refusing what
// ParseWebhook refuses for its shape (an empty body, no webhookEvent, an
// issue event without its issue).
func ParseWebhookSummary(body []byte) (*WebhookSummary, error) {
	var s WebhookSummary
	if err := decodeWebhook(body, &s); err != nil {
		return nil, err
	}
	if err := checkWebhook(s.WebhookEvent, s.Issue != nil && (s.Issue.ID != "" || s.Issue.Key != "")); err != nil {
		return nil, err
	}
	return &s, nil
}

var errEmptyWebhook = errors.New("jira: webhook body is empty; check that the Jira webhook does not have \"Exclude body\" ticked")

func decodeWebhook(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return errEmptyWebhook
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("jira: webhook body is not a Jira webhook payload: %w", err)
	}
	return nil
}

func checkWebhook(event string, hasIssue bool) error {
	if event == "" {
		return errors.New("jira: webhook body has no webhookEvent; is the sender really Jira?")
	}
	if strings.HasPrefix(event, "jira:issue_") && !hasIssue {
		return fmt.Errorf("jira: %s webhook carries no issue; untick \"Exclude body\" on the Jira webhook", event)
	}
	return nil
}

// CheckWebhook reads a webhook body's summary, refusing exactly what
// ParseWebhook refuses: a body that is not JSON, a field of the issue, the
// changelog or the comment of the wrong type, as well as what
// ParseWebhookSummary refuses. It checks the body in one pass without
// decoding it (webhooks_check.go), several times cheaper than
// ParseWebhookSummary.
func CheckWebhook(body []byte) (*WebhookSummary, error) {
	var s WebhookSummary
	if err := checkBody(body, summaryHook{&s}); err != nil {
		return nil, err
	}
	if err := checkWebhook(s.WebhookEvent, s.Issue != nil && (s.Issue.ID != "" || s.Issue.Key != "")); err != nil {
		return nil, err
	}
	return &s, nil
}

// ParseWebhookWithoutFields is ParseWebhook but for the issue's fields
// (Issue.Fields stays empty), for what routes a delivery on its event,
// issue, changelog and comment and reads the issue from Jira if it needs
// it. It refuses exactly what ParseWebhook refuses (the fields are checked
// as CheckWebhook checks them), at a fraction of its cost: the fields are
// most of a delivery and take most of ParseWebhook's time.
func ParseWebhookWithoutFields(body []byte) (*WebhookEvent, error) {
	var e WebhookEvent
	if err := checkBody(body, eventHook{&e}); err != nil {
		return nil, err
	}
	if err := checkWebhook(e.WebhookEvent, e.Issue != nil && (e.Issue.ID != "" || e.Issue.Key != "")); err != nil {
		return nil, err
	}
	return &e, nil
}
