package appcomponents_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/getkin/kin-openapi/openapi3"
)

// The widget of a linked issue whose connection syncs both ways says when
// the link last synced, and shows the link's sync error when there is one
// (testdata/widget_synced.golden.json, widget_sync_error.golden.json).
func TestGoldenWidgetOfASyncedLink(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{version: "9.12.0", widgetTTL: -1})
	ctx := t.Context()
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: e.seed.Tasks[1].GID, Query: "DEMO-2"})
	if r.Status != 200 {
		t.Fatalf("attach: %d %s", r.Status, r.Body)
	}
	link, err := e.store.GetLinkByTask(ctx, e.server.ID, e.seed.Tasks[1].GID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutSyncSettings(ctx, store.SyncSettings{WorkspaceGID: e.seed.Workspace, JiraServerID: e.server.ID,
		Enabled: true, Comments: true, Completion: true}); err != nil {
		t.Fatal(err)
	}
	widget := fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: r.Attachment}

	check(t, doc, "widget_sync_waiting", "WidgetMetadataResponse", 200, e.call(t, widget), e)

	st, err := e.store.AcquireSyncLease(ctx, link.ID, "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	st.LastSyncedAt = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	if err := e.store.SaveSyncLinkState(ctx, st, "test"); err != nil {
		t.Fatal(err)
	}
	check(t, doc, "widget_synced", "WidgetMetadataResponse", 200, e.call(t, widget), e)

	st.LastError = "Cannot move DEMO-2 to a done status: Jira offers Alice Anders no transition to one"
	st.LastErrorAt = st.LastSyncedAt
	if err := e.store.SaveSyncLinkState(ctx, st, "test"); err != nil {
		t.Fatal(err)
	}
	check(t, doc, "widget_sync_error", "WidgetMetadataResponse", 200, e.call(t, widget), e)
}

// The sync line does not depend on who looks: it is kept per issue, so a
// widget of the same issue under another URL (another user, another task)
// reads no sync state, until the issue changes or its link syncs
// (InvalidateIssue) or WidgetCacheTTL passes.
func TestWidgetSyncLineKeptPerIssue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{version: "9.12.0"})
	ctx := t.Context()
	task := e.seed.Tasks[1].GID
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallAttach, Task: task, Query: "DEMO-2"})
	if r.Status != 200 {
		t.Fatalf("attach: %d %s", r.Status, r.Body)
	}
	link, err := e.store.GetLinkByTask(ctx, e.server.ID, task)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutSyncSettings(ctx, store.SyncSettings{WorkspaceGID: e.seed.Workspace, JiraServerID: e.server.ID,
		Enabled: true, Comments: true}); err != nil {
		t.Fatal(err)
	}
	ac, err := asana.New(e.asanaURL+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: "pat-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	widget := func() string { // each time under a new URL: the widget cache misses
		t.Helper()
		n++
		att, err := ac.CreateExternalAttachment(ctx, asana.ExternalAttachment{Parent: task,
			URL: e.jiraURL + "/browse/DEMO-2?focusedCommentId=" + strconv.Itoa(n), Name: "DEMO-2"})
		if err != nil {
			t.Fatal(err)
		}
		r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallWidget, Attachment: att.GID})
		mustOK(t, r, http.StatusOK)
		return string(r.Body)
	}
	const syncErr = "Jira offers no transition to Done"
	steps := []struct {
		name   string
		change func()
		shows  bool
	}{
		{"first widget", func() {}, false},
		{"the link failed to sync: the kept line", func() {
			st, err := e.store.AcquireSyncLease(ctx, link.ID, "test", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			st.LastSyncedAt, st.LastError = time.Now(), syncErr
			if err := e.store.SaveSyncLinkState(ctx, st, "test"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"after the sync engine's invalidation", func() { e.bridge.InvalidateIssue(e.server.ID, "demo-2") }, true},
	}
	for _, s := range steps {
		s.change()
		if got := strings.Contains(widget(), syncErr); got != s.shows {
			t.Errorf("%s: the widget shows the sync error: %v, want %v", s.name, got, s.shows)
		}
	}
}
