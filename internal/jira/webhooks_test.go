package jira

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseWebhookFixtures parses every recorded Jira Server payload.
func TestParseWebhookFixtures(t *testing.T) {
	t.Parallel()
	// What each recorded payload must decode to: the event and its
	// (possibly inferred) type.
	want := map[string]struct{ event, typ string }{
		"webhook-issue-assigned-empty-changelog.json":                         {EventIssueUpdated, IssueAssigned},
		"webhook-issue-comment-created-indentation.json":                      {EventIssueUpdated, IssueCommented},
		"webhook-issue-created-no-description-nor-relevant-fields.json":       {EventIssueCreated, IssueCreated},
		"webhook-issue-created-no-description.json":                           {EventIssueCreated, IssueCreated},
		"webhook-issue-created-no-relevant-fields.json":                       {EventIssueCreated, IssueCreated},
		"webhook-issue-created.json":                                          {EventIssueCreated, IssueCreated},
		"webhook-issue-deleted.json":                                          {EventIssueDeleted, IssueDeleted},
		"webhook-issue-updated-assigned-on-server.json":                       {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-assigned.json":                                 {EventIssueUpdated, IssueAssigned},
		"webhook-issue-updated-attachments.json":                              {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-components.json":                               {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-edited.json":                                   {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-fix-version.json":                              {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-issue-type.json":                               {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-labels.json":                                   {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-lowered-priority.json":                         {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-multiple-custom-fields.json":                   {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-multiple-values.json":                          {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-raised-priority.json":                          {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-rank.json":                                     {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-renamed.json":                                  {EventIssueUpdated, IssueUpdated},
		"webhook-issue-updated-reopened.json":                                 {EventIssueUpdated, IssueGeneric},
		"webhook-issue-updated-resolved.json":                                 {EventIssueUpdated, IssueGeneric},
		"webhook-issue-updated-started-working.json":                          {EventIssueUpdated, IssueGeneric},
		"webhook-server-comment-created.json":                                 {EventCommentCreated, ""},
		"webhook-server-comment-deleted.json":                                 {EventCommentDeleted, ""},
		"webhook-server-issue-updated-closed.json":                            {EventIssueUpdated, IssueClosed},
		"webhook-server-issue-updated-comment-deleted.json":                   {EventIssueUpdated, IssueCommentDeleted},
		"webhook-server-issue-updated-comment-edited.json":                    {EventIssueUpdated, IssueCommentEdited},
		"webhook-server-issue-updated-commented-1.json":                       {EventIssueUpdated, IssueCommented},
		"webhook-server-issue-updated-commented-2.json":                       {EventIssueUpdated, IssueCommented},
		"webhook-server-issue-updated-commented-mention-user.json":            {EventIssueUpdated, IssueCommented},
		"webhook-server-issue-updated-many-fields.json":                       {EventIssueUpdated, IssueUpdated},
		"webhook-server-issue-updated-reopened.json":                          {EventIssueUpdated, IssueReopened},
		"webhook-server-issue-updated-resolved.json":                          {EventIssueUpdated, IssueResolved},
		"webhook-server-old-issue-updated-no-event-type-assigned.json":        {EventIssueUpdated, IssueAssigned},
		"webhook-server-old-issue-updated-no-event-type-comment-deleted.json": {EventIssueUpdated, IssueCommentDeleted},
		"webhook-server-old-issue-updated-no-event-type-comment-edited.json":  {EventIssueUpdated, IssueCommentEdited},
		"webhook-server-old-issue-updated-no-event-type-commented.json":       {EventIssueUpdated, IssueCommented},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	if len(files) != len(want) {
		t.Errorf("%d fixtures, %d expectations: add the new payload to the table", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e, err := ParseWebhook(b)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			if e.WebhookEvent != w.event || e.EventType() != w.typ {
				t.Errorf("event = %s/%s, want %s/%s", e.WebhookEvent, e.EventType(), w.event, w.typ)
			}
			if e.Timestamp == 0 || e.Time().Year() < 2015 {
				t.Errorf("timestamp = %d", e.Timestamp)
			}
			if strings.HasPrefix(e.WebhookEvent, "jira:") {
				if e.IssueKey() == "" {
					t.Errorf("issue = %+v", e.Issue)
				}
				if e.Issue.Fields.Status == nil || e.Issue.Fields.Status.StatusCategory.Key == "" {
					t.Errorf("status = %+v", e.Issue.Fields.Status)
				}
			}
			if e.Comment != nil && (e.Comment.ID == "" || e.Comment.Created.IsZero()) {
				t.Errorf("comment = %+v", e.Comment)
			}
			if e.Changelog != nil {
				for _, it := range e.Changelog.Items {
					if it.Field == "" {
						t.Errorf("changelog item without field: %+v", it)
					}
				}
			}
		})
	}
}

func TestParseWebhookRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":          "  ",
		"not json":       "<html>",
		"no event":       `{"timestamp":1}`,
		"issue excluded": `{"timestamp":1,"webhookEvent":"jira:issue_updated"}`,
		"array":          `[1,2]`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if e, err := ParseWebhook([]byte(body)); err == nil {
				t.Errorf("ParseWebhook(%q) = %+v, want error", body, e)
			}
		})
	}
}

// TestParseWebhookSummary: the summary of every recorded payload states
// what the whole parse does, CheckWebhook gives the same summary, and the
// summary refuses what it refuses.
func TestParseWebhookSummary(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded payloads: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			e, err := ParseWebhook(b)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseWebhookSummary(b)
			if err != nil {
				t.Fatal(err)
			}
			checked, err := CheckWebhook(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, checked); diff != "" {
				t.Fatalf("CheckWebhook (-ParseWebhookSummary +CheckWebhook):\n%s", diff)
			}
			var changelog, comment string
			if e.Changelog != nil {
				changelog = e.Changelog.ID
			}
			if e.Comment != nil {
				comment = e.Comment.ID
			}
			var sChangelog, sComment string
			if s.Changelog != nil {
				sChangelog = s.Changelog.ID
			}
			if s.Comment != nil {
				sComment = s.Comment.ID
			}
			var issueID string
			if e.Issue != nil {
				issueID = e.Issue.ID
			}
			got := []any{s.WebhookEvent, s.Timestamp, s.IssueID(), sChangelog, sComment}
			want := []any{e.WebhookEvent, e.Timestamp, issueID, changelog, comment}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("summary %v, want %v", got, want)
				}
			}
		})
	}
	for _, body := range []string{"  ", "<html>", `{"timestamp":1}`, `{"timestamp":1,"webhookEvent":"jira:issue_updated"}`, `[1,2]`} {
		if s, err := ParseWebhookSummary([]byte(body)); err == nil {
			t.Errorf("ParseWebhookSummary(%q) = %+v, want error", body, s)
		}
	}
}

// TestCheckWebhook: CheckWebhook refuses what ParseWebhook refuses, a
// field of the wrong type inside the issue's fields among them, which
// ParseWebhookSummary lets through (TestParseWebhookSummary checks that it
// gives the summary of every recorded payload).
func TestCheckWebhook(t *testing.T) {
	t.Parallel()
	const issue = `{"timestamp":1,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"P-1","fields":%s}%s}`
	wrongTypes := map[string]string{
		"summary a number":      fmt.Sprintf(issue, `{"summary":5}`, ""),
		"status a string":       fmt.Sprintf(issue, `{"status":"Done"}`, ""),
		"labels an object":      fmt.Sprintf(issue, `{"labels":{"a":1}}`, ""),
		"assignee an array":     fmt.Sprintf(issue, `{"assignee":[1]}`, ""),
		"fields an array":       fmt.Sprintf(issue, `[]`, ""),
		"comment body a number": fmt.Sprintf(issue, `{}`, `,"comment":{"id":"1","body":7}`),
		"changelog items text":  fmt.Sprintf(issue, `{}`, `,"changelog":{"id":"1","items":"x"}`),
	}
	for name, body := range wrongTypes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := ParseWebhook([]byte(body)); err == nil {
				t.Fatalf("ParseWebhook accepts %s; the case tests nothing", body)
			}
			if s, err := CheckWebhook([]byte(body)); err == nil {
				t.Errorf("CheckWebhook(%s) = %+v, want error", body, s)
			}
		})
	}
	for _, body := range []string{"  ", "<html>", `{"timestamp":1}`, `{"timestamp":1,"webhookEvent":"jira:issue_updated"}`, `[1,2]`} {
		if s, err := CheckWebhook([]byte(body)); err == nil {
			t.Errorf("CheckWebhook(%q) = %+v, want error", body, s)
		}
	}
}
