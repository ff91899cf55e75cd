package jira

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The issue page reads like Jira's: who is logged in, the status as a
// coloured lozenge, the fields with the due date (marked overdue), the
// attachments, links and comments, and dates as Jira writes them in the
// viewer's time zone, never raw ISO timestamps.
func TestIssuePage(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	if r := call(t, "PUT", b+"/rest/api/2/issue/DEMO-2", map[string]any{"fields": map[string]any{"duedate": "2020-01-15"}}, basic("admin")...); r.status != http.StatusNoContent {
		t.Fatalf("set the due date: %d %s", r.status, r.body)
	}
	if err := s.AddComment("DEMO-2", "bob", "Seen on Safari 17 too.\nNot on Chrome."); err != nil {
		t.Fatal(err)
	}
	r := call(t, "GET", b+"/browse/DEMO-2", nil, basic("alice")...)
	if r.status != http.StatusOK {
		t.Fatalf("GET /browse/DEMO-2: %d", r.status)
	}
	page := string(r.body)
	for _, want := range []string{
		`Logged in as <b id="header-details-user-fullname">Alice Anderson</b> (alice)`,
		`<span class="lozenge indeterminate" id="status-val">In Progress</span>`,
		`<span id="due-date">15/Jan/20</span> <span class="lozenge overdue">Overdue</span>`,
		`<span id="assignee-val">Alice Anderson</span>`,
		`<b>Bob Brown</b> added a comment`,
		`<div class="body">Seen on Safari 17 too.
Not on Chrome.</div>`,
		`id="attachments"`, `id="remote-links"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the issue page lacks %q", want)
		}
	}
	if iso := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d`).FindString(page); iso != "" {
		t.Errorf("the issue page shows a raw timestamp %q", iso)
	}
	if !regexp.MustCompile(`id="created-val">\d\d/[A-Z][a-z]{2}/\d\d \d{1,2}:\d\d [AP]M<`).MatchString(page) {
		t.Error("the created date is not written as Jira writes it")
	}
}
