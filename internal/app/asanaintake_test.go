package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
)

// eventsPoll is one GET /events the bridge sent to Asana.
type eventsPoll struct {
	at   time.Time
	sync string
}

// TestReplicasPollAsanaOnce runs two replicas on one PostgreSQL with the
// events intake: a comment made in Asana reaches Jira through the real
// poll_asana and sync_link jobs, and the project is polled once, not once
// per replica: no sync token is read twice (two ticks at once would read
// the same one) and consecutive polls are at least the poll interval apart
// (river's leader alone enqueues the tick, and the project's schedule
// holds between ticks).
func TestReplicasPollAsanaOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "postgres")
	ctx := t.Context()
	var (
		mu    sync.Mutex
		polls []eventsPoll
	)
	asanaURL, err := url.Parse(w.d.AsanaURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(asanaURL)
	recorder := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/1.0/events" {
			mu.Lock()
			polls = append(polls, eventsPoll{at: time.Now(), sync: r.URL.Query().Get("sync")})
			mu.Unlock()
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(recorder.Close)
	w.cfg.AsanaURL = recorder.URL
	w.cfg.AsanaPollInterval = time.Second

	// Sync on for the Launch ↔ DEMO connection, a task linked to DEMO-1.
	a, err := app.New(ctx, w.cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	servers, err := a.Store().ListJiraServers(ctx)
	if err != nil || len(servers) != 1 {
		t.Fatalf("servers = %v, %v", servers, err)
	}
	issue, ok := w.d.Jira.Issue("DEMO-1")
	if !ok {
		t.Fatal("no DEMO-1")
	}
	task := w.seed.Tasks[1].GID
	if err := a.Store().CreateLink(ctx, &store.Link{WorkspaceGID: w.seed.Workspace, TaskGID: task, JiraServerID: servers[0].ID,
		IssueID: issue.ID, IssueKey: "DEMO-1", CreatedBy: w.alice}); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync().PutSettings(ctx, store.SyncSettings{WorkspaceGID: w.seed.Workspace, JiraServerID: servers[0].ID,
		Enabled: true, Comments: true, Completion: true}, "test"); err != nil {
		t.Fatal(err)
	}
	a.Close()

	w.serveInProcess(w.d.BridgeListener)
	ln, err := app.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.serveInProcess(ln)

	// Once the project is watched (its first poll), a comment in Asana.
	waitFor(t, "the first poll", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(polls) > 0
	})
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"text": "Polled once by two replicas."}})
	var story struct {
		Data struct {
			GID string `json:"gid"`
		} `json:"data"`
	}
	w.do(http.MethodPost, w.d.AsanaURL+"/api/1.0/tasks/"+task+"/stories", "Bearer "+w.seed.Tokens["alice"], body, http.StatusCreated, &story)
	waitFor(t, "the comment in Jira", 60*time.Second, func() bool {
		is, _ := w.d.Jira.Issue("DEMO-1")
		for _, c := range is.Comments {
			if strings.Contains(c.Body, "Polled once by two replicas.") {
				return true
			}
		}
		return false
	})
	// Several more polls of the active project.
	waitFor(t, "eight polls", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(polls) >= 8
	})
	mu.Lock()
	defer mu.Unlock()
	read := map[string]int{}
	for i, p := range polls {
		if p.sync != "" {
			read[p.sync]++
			if read[p.sync] > 1 {
				t.Errorf("poll %d read sync token %q again: two ticks ran at once", i, p.sync)
			}
		}
		// A tick takes a project that falls due before the middle of the
		// next interval, so polls of a 1 s project come at least half a
		// second apart; two replicas polling it at once would be
		// milliseconds apart.
		if i > 0 && p.at.Sub(polls[i-1].at) < 250*time.Millisecond {
			t.Errorf("polls %d and %d are %v apart, far less than the 1s poll interval: the project was polled twice", i-1, i,
				p.at.Sub(polls[i-1].at))
		}
	}
}

// TestAppComponentsTrafficWakesItsProject: an idle project is polled at
// once when someone opens the "Create new issue" form on one of its linked
// tasks (any App Components request naming the task wakes it).
func TestAppComponentsTrafficWakesItsProject(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "sqlite")
	ctx := t.Context()
	a, err := app.New(ctx, w.cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	servers, err := a.Store().ListJiraServers(ctx)
	if err != nil || len(servers) != 1 {
		t.Fatalf("servers = %v, %v", servers, err)
	}
	issue, _ := w.d.Jira.Issue("DEMO-1")
	task := w.seed.Tasks[1].GID
	if err := a.Store().CreateLink(ctx, &store.Link{WorkspaceGID: w.seed.Workspace, TaskGID: task, JiraServerID: servers[0].ID,
		IssueID: issue.ID, IssueKey: "DEMO-1", CreatedBy: w.alice}); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync().PutSettings(ctx, store.SyncSettings{WorkspaceGID: w.seed.Workspace, JiraServerID: servers[0].ID,
		Enabled: true, Comments: true, Completion: true}, "test"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	w.serveInProcess(w.d.BridgeListener)

	db := w.db()
	level := func() int {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT idle_level FROM asana_projects_sync WHERE project_gid = $1`, w.seed.Project).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	waitFor(t, "the project's first poll", 60*time.Second, func() bool { return level() == 0 })
	// Idle for an hour from now, as after long quiet.
	if _, err := db.ExecContext(ctx, `UPDATE asana_projects_sync SET idle_level = 5, next_poll_at = $2 WHERE project_gid = $1`,
		w.seed.Project, time.Now().Add(time.Hour).UTC()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.d.Asana.CallApp(ctx, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, User: w.alice, Task: task}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the project woken and polled", 60*time.Second, func() bool { return level() == 0 })
}

// TestWebhooksIntakeThroughTheApp: with --asana-intake webhooks the bridge
// makes the project's Asana webhook when it starts (the emulator's
// handshake reaches the mounted receiver), and a comment made in Asana is
// delivered, recorded from the webhook and written to Jira.
func TestWebhooksIntakeThroughTheApp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "sqlite")
	ctx := t.Context()
	w.cfg.AsanaIntake = "webhooks" // the demo's bridge is public
	a, err := app.New(ctx, w.cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	servers, err := a.Store().ListJiraServers(ctx)
	if err != nil || len(servers) != 1 {
		t.Fatalf("servers = %v, %v", servers, err)
	}
	issue, _ := w.d.Jira.Issue("DEMO-1")
	task := w.seed.Tasks[1].GID
	if err := a.Store().CreateLink(ctx, &store.Link{WorkspaceGID: w.seed.Workspace, TaskGID: task, JiraServerID: servers[0].ID,
		IssueID: issue.ID, IssueKey: "DEMO-1", CreatedBy: w.alice}); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync().PutSettings(ctx, store.SyncSettings{WorkspaceGID: w.seed.Workspace, JiraServerID: servers[0].ID,
		Enabled: true, Comments: true, Completion: true}, "test"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	w.serveInProcess(w.d.BridgeListener)

	target := w.d.BridgeURL + "/asana/hooks/" + w.seed.Project
	waitFor(t, "the project's webhook", 60*time.Second, func() bool {
		hs := w.d.Asana.Webhooks()
		return len(hs) == 1 && hs[0].Target == target
	})
	db := w.db()
	// The first poll (the sync token and a comparison) has run and the
	// events are reconciliation now, read again in minutes: what follows
	// comes by webhook.
	waitFor(t, "the first poll, then reconciliation only", 60*time.Second, func() bool {
		var (
			token string
			next  time.Time
		)
		err := db.QueryRowContext(ctx, `SELECT sync_token, next_poll_at FROM asana_projects_sync WHERE project_gid = $1`,
			w.seed.Project).Scan(&token, &next)
		return err == nil && token != "" && time.Until(next) > time.Minute
	})
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"text": "Delivered to the app by a webhook."}})
	var story struct {
		Data struct {
			GID string `json:"gid"`
		} `json:"data"`
	}
	w.do(http.MethodPost, w.d.AsanaURL+"/api/1.0/tasks/"+task+"/stories", "Bearer "+w.seed.Tokens["alice"], body, http.StatusCreated, &story)
	waitFor(t, "the comment in Jira", 60*time.Second, func() bool {
		is, _ := w.d.Jira.Issue("DEMO-1")
		for _, c := range is.Comments {
			if strings.Contains(c.Body, "Delivered to the app by a webhook.") {
				return true
			}
		}
		return false
	})
	var source string
	if err := db.QueryRowContext(ctx, `SELECT source FROM sync_changes WHERE object = $1`, story.Data.GID).Scan(&source); err != nil {
		t.Fatal(err)
	}
	if source != "asana_webhook" {
		t.Fatalf("the comment was recorded from %q, want the webhook", source)
	}
}
