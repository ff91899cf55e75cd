package admin_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/admin"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// fixedIntake is the Asana intake's state as the Sync page reads it, held
// still so the pages compare stably; internal/app's test reads the real
// intake through the same interface.
type fixedIntake admin.IntakeStatus

func (f fixedIntake) Status(context.Context) (admin.IntakeStatus, error) {
	return admin.IntakeStatus(f), nil
}

// syncBed is a console with the sync engine on its database: Acme
// connected to Jira DC (sync on) and Legacy Jira (sync off), three links on
// Jira DC, changes waiting each way, a history and a link with an error.
type syncBed struct {
	*env
	engine *syncengine.Engine
	queue  *jobs.Queue
	dc     store.JiraServer
	old    store.JiraServer
	// ok has a history, broken a sync error; legacy is on Legacy Jira.
	ok, broken, legacy store.Link
	// now is the console's clock.
	now time.Time
}

const acme = "1201000000000001"

// enqueuer hands the engine's jobs to the bed's queue.
type enqueuer struct{ b *syncBed }

func (q enqueuer) EnqueueSyncLink(ctx context.Context, tx *sql.Tx, linkID int64) error {
	return q.b.queue.EnqueueSyncLink(ctx, tx, linkID)
}

func newSyncBed(t *testing.T, intake admin.AsanaIntake) *syncBed {
	t.Helper()
	e := newEnv(t)
	b := &syncBed{env: e, now: time.Now().UTC().Truncate(time.Second)}
	e.deps.Now = func() time.Time { return b.now }
	b.dc, b.old = seedPages(t, e)
	ctx := t.Context()
	var err error
	// The engine enqueues on the queue that runs its jobs, built after it.
	b.engine, err = syncengine.New(syncengine.Config{Store: e.store, Clients: bridgetest.NewClients("http://127.0.0.1:1", "http://127.0.0.1:1", b.dc),
		Enqueuer: enqueuer{b}})
	if err != nil {
		t.Fatal(err)
	}
	b.queue, _ = seedJobsWith(t, e, jobs.Options{Sync: b.engine})
	e.sync = b.engine
	e.deps.Sync, e.deps.AsanaIntake = b.engine, intake
	e.restart()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	links, err := e.store.ListLinks(ctx, store.LinkFilter{Query: "OPS-1", Limit: 1})
	must(err)
	b.ok = links[0]
	b.broken = store.Link{WorkspaceGID: acme, TaskGID: "1201000000001002", JiraServerID: b.dc.ID, IssueID: "10002", IssueKey: "OPS-2", CreatedBy: "1201000000000012"}
	must(e.store.CreateLink(ctx, &b.broken))
	b.legacy = store.Link{WorkspaceGID: acme, TaskGID: "1201000000001003", JiraServerID: b.old.ID, IssueID: "1", IssueKey: "LEG-1", CreatedBy: "1201000000000012"}
	must(e.store.CreateLink(ctx, &b.legacy))
	must(b.engine.PutSettings(ctx, store.SyncSettings{WorkspaceGID: acme, JiraServerID: b.dc.ID, Enabled: true, Comments: true,
		Completion: true, DoneTransition: `Close "quickly" <now>`}, "Alice Anders"))

	record := func(link int64, side, source, key, kind, actor string, observed time.Time, outcome string) {
		t.Helper()
		c := store.SyncChange{LinkID: link, Side: side, Source: source, DedupKey: key, Kind: kind, Object: key, Actor: actor, ObservedAt: observed}
		ok, err := e.store.RecordSyncChange(ctx, &c)
		must(err)
		if !ok {
			t.Fatalf("change %s not recorded", key)
		}
		if outcome != "" {
			must(e.store.FinishSyncChange(ctx, c.ID, outcome, ""))
		}
	}
	record(b.ok.ID, store.SideJira, "webhook", "10200", "comment", "alice", b.now.Add(-10*time.Minute), "applied")
	record(b.ok.ID, store.SideAsana, "events", "1201000000005001", "completion", "1201000000000012", b.now.Add(-8*time.Minute), "echo")
	record(b.broken.ID, store.SideJira, "reconcile", "10201", "issue", "", b.now.Add(-90*time.Second), "")
	record(b.ok.ID, store.SideAsana, "events", "1201000000005002", "comment", "1201000000000013", b.now.Add(-5*time.Second), "")
	record(b.ok.ID, store.SideAsana, "manual", "resync:x", syncengine.KindResync, "admin", time.Time{}, "")

	for _, h := range []store.SyncHistory{
		{LinkID: b.ok.ID, At: b.now.Add(-9 * time.Minute), Direction: syncengine.JiraToAsana, What: "comment.created", Actor: "Alice Anders",
			Detail: "Jira comment 10200 → story 1201000000005003"},
		{LinkID: b.ok.ID, At: b.now.Add(-7 * time.Minute), Direction: syncengine.AsanaToJira, What: "completion.done", Actor: "Bob <Brown>",
			Detail: `OPS-1 → Done (transition "Close <b>issue</b>")`},
	} {
		must(e.store.AppendSyncHistory(ctx, h))
	}
	for _, l := range []store.Link{b.ok, b.broken} {
		st, err := e.store.AcquireSyncLease(ctx, l.ID, "run", time.Minute)
		must(err)
		st.LastSyncedAt = b.now.Add(-7 * time.Minute)
		if l.ID == b.broken.ID {
			st.LastError, st.LastErrorAt = "alice may not move OPS-2 to a done status: no transition <Done> is allowed", b.now.Add(-2*time.Minute)
		}
		must(e.store.SaveSyncLinkState(ctx, st, "run"))
		must(e.store.ReleaseSyncLease(ctx, l.ID, "run"))
	}
	must(e.store.PutSyncCursor(ctx, "jira-reconcile:"+b.dc.ID, b.now.Add(-3*time.Minute).Format(time.RFC3339Nano)))
	return b
}

// eventsIntake is the intake in events mode with two projects of Acme,
// one idle with an error, and one of another workspace.
func eventsIntake(now time.Time) fixedIntake {
	return fixedIntake{Mode: "events", PollInterval: time.Second, MaxIdleInterval: 2 * time.Minute, ReconcileEvery: time.Minute,
		Active: 1, Idle: 2, Due: 1, LastPollAt: now.Add(-time.Second), LastEventAt: now.Add(-5 * time.Second),
		Budget: admin.IntakeBudget{TokenBudget: 1400, Tokens: 2, PausedTokens: 1, LimitPerMinute: 2800, UsedThisMinute: 37,
			DemandPerMinute: 61.5, FixedDemandPerMinute: 180},
		Projects: []admin.IntakeProject{
			{ProjectGID: "1201000000000102", WorkspaceGID: acme, Interval: 16 * time.Second, LastPollAt: now.Add(-10 * time.Second),
				Requests: 12, LastError: "asana: GET /events: 429 <Too Many Requests>", LastErrorAt: now.Add(-10 * time.Second)},
			{ProjectGID: "1201000000000101", WorkspaceGID: acme, Interval: time.Second, Active: true, LastPollAt: now.Add(-time.Second),
				LastEventAt: now.Add(-5 * time.Second), Requests: 300},
			{ProjectGID: "1301000000000101", WorkspaceGID: "1301000000000001", Interval: 2 * time.Minute, Requests: 4},
		}}
}

// webhooksIntake is the intake in webhooks mode: one live webhook, one
// failing, one that Asana deleted.
func webhooksIntake(now time.Time) fixedIntake {
	f := eventsIntake(now)
	f.Mode = "webhooks"
	f.Webhooks = admin.IntakeWebhooks{Active: 1, Failing: 1, Failed: 1, LastDeliveryAt: now.Add(-3 * time.Second), LastHeartbeatAt: now.Add(-4 * time.Minute)}
	f.Projects[0].Webhook = store.AsanaWebhook{ProjectGID: "1201000000000102", WebhookGID: "1209", State: store.AsanaWebhookActive,
		LastError: "delivery failed: 503", LastDeliveryAt: now.Add(-time.Hour)}
	f.Projects[1].Webhook = store.AsanaWebhook{ProjectGID: "1201000000000101", WebhookGID: "1208", State: store.AsanaWebhookActive,
		LastDeliveryAt: now.Add(-3 * time.Second), Recreated: 1}
	f.Projects[2].Webhook = store.AsanaWebhook{ProjectGID: "1301000000000101", State: store.AsanaWebhookFailed, LastError: "Asana deleted the webhook"}
	return f
}

func TestSyncPagesGolden(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, admin.AsanaIntake(nil))
	events, hooks := eventsIntake(b.now), webhooksIntake(b.now)
	br := b.admin()
	pages := []struct {
		name, path string
		intake     admin.AsanaIntake
	}{
		{"sync", "/admin/sync", events},
		{"sync_webhooks", "/admin/sync", hooks},
		{"sync_connection", "/admin/sync/" + acme + "/" + b.dc.ID, events},
		{"sync_connection_off", "/admin/sync/" + acme + "/" + b.old.ID, nil},
		{"link", "/admin/links/" + strconv.FormatInt(b.ok.ID, 10), events},
		{"link_error", "/admin/links/" + strconv.FormatInt(b.broken.ID, 10), events},
		{"link_not_synced", "/admin/links/" + strconv.FormatInt(b.legacy.ID, 10), events},
	}
	for _, p := range pages {
		b.deps.AsanaIntake = p.intake
		b.restart()
		r := br.get(b.hs.URL + p.path)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d\n%s", p.path, r.Status, r.Body)
		}
		golden(t, p.name, r.Body)
		for _, raw := range []string{"<b>", "<Done>", "<Brown>", "<Too Many", `"quickly"`} {
			if strings.Contains(r.Body, raw) {
				t.Errorf("%s shows %q unescaped", p.name, raw)
			}
		}
	}
}

// Without the sync engine the Sync page says so, and its other pages are
// unavailable rather than broken.
func TestSyncPagesWithoutEngine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedPages(t, e)
	br := e.admin()
	r := br.get(e.hs.URL + "/admin/sync")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Two-way sync is not available to the console.") {
		t.Fatalf("/admin/sync without the engine: %d\n%s", r.Status, r.Body)
	}
	if r := br.get(e.hs.URL + "/admin/links/1"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("a link's sync page without the engine: %d", r.Status)
	}
}

// Saving a connection's settings goes through the setup service (audited
// as the admin) and needs the form's CSRF token; bad input is refused with
// a 4xx and changes nothing.
func TestSyncSettingsSave(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, eventsIntake(time.Now()))
	ctx := t.Context()
	br := b.admin()
	path := "/admin/sync/" + acme + "/" + b.old.ID
	form := url.Values{"enabled": {"on"}, "completion": {"on"}, "reopen_transition": {" Reopen issue "}}
	r := b.postForm(br, path, form)
	if r.Status != http.StatusSeeOther || r.Location != path {
		t.Fatalf("save: %d %q\n%s", r.Status, r.Location, r.Body)
	}
	got, err := b.engine.Settings(ctx, acme, b.old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Enabled || got.Comments || !got.Completion || got.ReopenTransition != "Reopen issue" || got.DoneTransition != "" {
		t.Errorf("saved settings: %+v", got)
	}
	page := br.get(b.hs.URL + path)
	if !strings.Contains(page.Body, "Sync settings saved: two-way sync is on") || !strings.Contains(page.Body, `id="sync-enabled" checked`) {
		t.Errorf("the page after saving:\n%s", page.Body)
	}
	// The same again changes nothing and says so.
	if r := b.postForm(br, path, form); r.Status != http.StatusSeeOther {
		t.Fatalf("save again: %d", r.Status)
	}
	if page := br.get(b.hs.URL + path); !strings.Contains(page.Body, "Nothing changed.") {
		t.Errorf("saving the same settings again:\n%s", page.Body)
	}
	entries, err := b.store.ListAudit(ctx, store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, en := range entries {
		if en.Action == "sync.settings" {
			audited = append(audited, en.Target+": "+en.Detail)
		}
		if en.Action == "sync.settings" && !strings.Contains(en.Actor, b.asana.Seed().Users["admin"]) {
			t.Errorf("audited as %q, want the signed-in admin", en.Actor)
		}
	}
	if want := acme + "/" + b.old.ID + ": sync on, comments off, completion on, reopened by Reopen issue"; len(audited) != 1 || audited[0] != want {
		t.Errorf("audit entries %q, want [%q]", audited, want)
	}

	for _, tc := range []struct {
		name   string
		path   string
		form   url.Values
		status int
	}{
		{"no such connection", "/admin/sync/" + acme + "/js_nope", url.Values{"enabled": {"on"}}, http.StatusNotFound},
		{"no such workspace", "/admin/sync/999/" + b.dc.ID, url.Values{"enabled": {"on"}}, http.StatusNotFound},
		{"transition name too long", path, url.Values{"done_transition": {strings.Repeat("x", 256)}}, http.StatusUnprocessableEntity},
	} {
		if r := b.postForm(br, tc.path, tc.form); r.Status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, r.Status, tc.status)
		}
	}
	// Without the CSRF token, or without a session, nothing is saved.
	if r := br.post(b.hs.URL+path, url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("without CSRF: %d, want 403", r.Status)
	}
	if r := newBrowser(t).post(b.hs.URL+path, url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("without a session: %d, want 403", r.Status)
	}
	if got, _ := b.engine.Settings(ctx, acme, b.old.ID); !got.Enabled {
		t.Errorf("a refused form changed the settings: %+v", got)
	}
}

// Retry records a request to compare the link, which the link's next
// sync_link job applies, and goes back to the link's page or its
// connection's, never to a place the form names.
func TestSyncRetry(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, eventsIntake(time.Now()))
	ctx := t.Context()
	br := b.admin()
	id := strconv.FormatInt(b.broken.ID, 10)
	back := "/admin/sync/" + acme + "/" + b.dc.ID
	for _, tc := range []struct{ back, want string }{
		{"connection", back},
		{"", "/admin/links/" + id},
		{"https://evil.example/admin/", "/admin/links/" + id},
		{"/admin/jobs", "/admin/links/" + id},
	} {
		r := b.postForm(br, "/admin/links/"+id+"/sync", url.Values{"back": {tc.back}})
		if r.Status != http.StatusSeeOther || r.Location != tc.want {
			t.Errorf("retry with back %q: %d %q, want 303 %q", tc.back, r.Status, r.Location, tc.want)
		}
	}
	changes, err := b.store.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: b.broken.ID})
	if err != nil {
		t.Fatal(err)
	}
	requests := 0
	for _, c := range changes {
		if c.Kind == syncengine.KindResync && c.Source == "manual" && c.AppliedAt.IsZero() {
			requests++
		}
	}
	if requests != 4 {
		t.Errorf("%d requests to compare recorded, want 4: %+v", requests, changes)
	}
	var jobsWaiting int
	if err := b.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'sync_link' AND state = 'available'`).Scan(&jobsWaiting); err != nil {
		t.Fatal(err)
	}
	if jobsWaiting != 1 {
		t.Errorf("%d sync_link jobs waiting, want one for the link", jobsWaiting)
	}
	if r := br.get(b.hs.URL + back); !strings.Contains(r.Body, "will be compared again within seconds") {
		t.Errorf("no message after the retry:\n%s", r.Body)
	}

	for _, tc := range []struct {
		name   string
		path   string
		status int
	}{
		{"a link whose connection does not sync", "/admin/links/" + strconv.FormatInt(b.legacy.ID, 10) + "/sync", http.StatusConflict},
		{"no such link", "/admin/links/999999/sync", http.StatusNotFound},
		{"not a link id", "/admin/links/x/sync", http.StatusNotFound},
	} {
		if r := b.postForm(br, tc.path, nil); r.Status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, r.Status, tc.status)
		}
	}
	if r := br.post(b.hs.URL+"/admin/links/"+id+"/sync", url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("retry without CSRF: %d, want 403", r.Status)
	}
	entries, _ := b.store.ListAudit(ctx, store.AuditFilter{Limit: 100})
	n := 0
	for _, en := range entries {
		if en.Action == "sync.retry" && en.Target == id {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d sync.retry audit entries, want 4", n)
	}
}

// The Sync pages are the console's: signed out, a GET goes to the sign-in
// page.
func TestSyncPagesNeedAnAdmin(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, eventsIntake(time.Now()))
	for _, p := range []string{"/admin/sync", "/admin/sync/" + acme + "/" + b.dc.ID, "/admin/links/" + strconv.FormatInt(b.ok.ID, 10)} {
		r := newBrowser(t).get(b.hs.URL + p)
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/admin/signin?next=") {
			t.Errorf("%s signed out: %d %q", p, r.Status, r.Location)
		}
	}
}

// A connection whose sync was switched off still shows what its links
// were left with (changes waiting, errors); one never switched on counts
// its links, with nothing waiting and no error.
func TestSyncRowsOfConnectionsThatDoNotSync(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, nil)
	if err := b.engine.PutSettings(t.Context(), store.SyncSettings{WorkspaceGID: acme, JiraServerID: b.dc.ID, Comments: true, Completion: true}, "Alice Anders"); err != nil {
		t.Fatal(err)
	}
	r := b.admin().get(b.hs.URL + "/admin/sync")
	if r.Status != http.StatusOK {
		t.Fatalf("/admin/sync: %d\n%s", r.Status, r.Body)
	}
	row := func(server string) string {
		t.Helper()
		_, rest, ok := strings.Cut(r.Body, `<tr data-connection="`+acme+`/`+server+`">`)
		if !ok {
			t.Fatalf("no row for server %s", server)
		}
		row, _, _ := strings.Cut(rest, "</tr>")
		return row
	}
	for server, want := range map[string][]string{
		b.dc.ID: {`<span class="muted">off</span>`, "<td>2</td>", `1 waiting, the oldest for 1 min 30 s`, `2 waiting, the oldest for 5 s`,
			`#sync-errors">1 link</a>`},
		b.old.ID: {`<span class="muted">off</span>`, "<td>1</td>", `<span class="ok">nothing waiting</span><br><span class="muted">no event yet</span>`,
			`<td><span class="ok">none</span></td>`},
	} {
		got := row(server)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("the row of %s lacks %s:\n%s", server, w, got)
			}
		}
	}
}

// TestSyncRowsCapTheirCounts: a backlog past store.SyncStatusCountCap shows
// as "more than" the cap, on the Sync page and on the connection's page.
func TestSyncRowsCapTheirCounts(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, nil)
	ctx := t.Context()
	err := b.store.InTx(ctx, func(tx store.Tx) error {
		for i := range store.SyncStatusCountCap + 1 {
			c := store.SyncChange{LinkID: b.ok.ID, Side: store.SideAsana, Source: "events", DedupKey: "backlog:" + strconv.Itoa(i), Kind: "comment"}
			if _, err := tx.RecordSyncChange(ctx, &c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "more than " + strconv.Itoa(store.SyncStatusCountCap) + " waiting"
	for _, page := range []string{"/admin/sync", "/admin/sync/" + acme + "/" + b.dc.ID} {
		r := b.admin().get(b.hs.URL + page)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, want) {
			t.Errorf("%s: %d, want %q in\n%s", page, r.Status, want, r.Body)
		}
	}
}
