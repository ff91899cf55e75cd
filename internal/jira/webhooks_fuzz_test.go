package jira

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseWebhook feeds the webhook parser arbitrary bodies, seeded with
// every payload recorded from real Jira servers (testdata/webhooks) and the
// edge cases in testdata/fuzz/FuzzParseWebhook. A body is either refused
// with an error or parsed into the event it states, with an issue for
// every jira:issue_* event; reading the parsed event never panics.
func FuzzParseWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no recorded payloads: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseWebhook(body)
		if err != nil {
			if e != nil {
				t.Fatalf("an event and an error: %v", err)
			}
			return
		}
		// The body read independently: what it states the event is.
		var stated struct {
			WebhookEvent       string `json:"webhookEvent"`
			IssueEventTypeName string `json:"issue_event_type_name"`
			Issue              *struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			} `json:"issue"`
		}
		if err := json.Unmarshal(body, &stated); err != nil {
			t.Fatalf("parsed a body that is no JSON object: %v", err)
		}
		if e.WebhookEvent == "" || e.WebhookEvent != stated.WebhookEvent {
			t.Fatalf("event %q, the body says %q", e.WebhookEvent, stated.WebhookEvent)
		}
		if strings.HasPrefix(e.WebhookEvent, "jira:issue_") {
			if e.Issue == nil || (e.Issue.ID == "" && e.Issue.Key == "") {
				t.Fatalf("%s parsed without an issue", e.WebhookEvent)
			}
		}
		wantKey := ""
		if stated.Issue != nil {
			wantKey = stated.Issue.Key
		}
		if e.IssueKey() != wantKey {
			t.Fatalf("issue key %q, the body says %q", e.IssueKey(), wantKey)
		}
		typ := e.EventType()
		if stated.IssueEventTypeName != "" && typ != stated.IssueEventTypeName {
			t.Fatalf("event type %q, the body says %q", typ, stated.IssueEventTypeName)
		}
		_ = e.Time()
	})
}
