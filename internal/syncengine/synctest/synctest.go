// Package synctest is the bench the tests of the sync engine and of the
// packages that run it (jobs) share: the Jira and Asana emulators, a real
// store on SQLite or PostgreSQL with a workspace connected to the Jira
// server and two-way sync enabled, alice (the link's owner) and bob
// connected on both sides (admin on neither), a task linked to DEMO-1 by
// alice, the engine, and a real job queue on the same database. Jira's
// webhook deliveries are recorded as the apply_jira_event job records them
// (the emulator's drop_webhooks fault stops them).
package synctest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/prometheus/client_golang/prometheus"
)

// Databases are the databases the bench runs on.
var Databases = []string{"sqlite", "postgres"}

// Env is the bench.
type Env struct {
	DB       string
	Jira     *fakejira.Server
	Asana    *fakeasana.Server
	JiraURL  string
	AsanaURL string
	Store    store.Store
	Engine   *syncengine.Engine
	Queue    *jobs.Queue
	Metrics  *prometheus.Registry
	Server   store.JiraServer
	Seed     fakeasana.SeedIDs
	// Users maps a login (admin, alice, bob) to its Asana gid.
	Users map[string]string
	// Link ties the second seeded task to DEMO-1, made by alice.
	Link    store.Link
	clients *bridgetest.Clients
	// Delivered counts the deliveries recorded.
	Delivered atomic.Int64
	// CopiesAsked counts the copies of Jira attachments sync runs asked for.
	CopiesAsked atomic.Int64
	// TaskCopies are the copies of the task's files sync runs asked for
	// (tests run them with Bridge().CopyAttachments).
	TaskCopies []bridge.CopyAttachmentsArgs
	taskMu     sync.Mutex
	riverDB    *sql.DB
	url        string
	log        *slog.Logger
	asanaHook  atomic.Pointer[func(*http.Request)]
}

// OnAsanaRequest calls f with each request the Asana emulator receives,
// before it is served, until called again (nil: no more). Tests use it to
// change the world at a chosen point of a run.
func (e *Env) OnAsanaRequest(f func(*http.Request)) {
	if f == nil {
		e.asanaHook.Store(nil)
		return
	}
	e.asanaHook.Store(&f)
}

// Options vary the bench.
type Options struct {
	// DB is "sqlite" (default) or "postgres".
	DB string
	// Run starts the job queue with the sync jobs, so recorded changes are
	// applied by sync_link jobs; without it tests call SyncLink themselves.
	Run bool
	// ReconcileInterval is the queue's reconciliation period (with Run).
	ReconcileInterval time.Duration
	// JiraVersion is the emulated Jira (default 9.12.0).
	JiraVersion string
	// AsanaUploadLimit is the engine's (default Asana's 100 MB).
	AsanaUploadLimit int64
	// EngineStore, when set, wraps the store the engine uses (tests count
	// its calls); the bench's own reads and writes go to the store itself.
	EngineStore func(store.Store) store.Store
	// QueueOptions, when set, changes the queue's options before it is
	// built (with the bench, whose bridge and engine are ready).
	QueueOptions func(e *Env, o *jobs.Options)
	// Log, when set, is the queue's and Bridge's log (default none).
	Log *slog.Logger
}

// New starts the bench; everything stops with the test.
func New(t *testing.T, o Options) *Env {
	t.Helper()
	ctx := t.Context()
	if o.DB == "" {
		o.DB = "sqlite"
	}
	if o.JiraVersion == "" {
		o.JiraVersion = "9.12.0"
	}
	e := &Env{DB: o.DB, Users: map[string]string{}, log: o.Log}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	fj, err := fakejira.New(fakejira.Options{Version: o.JiraVersion, OnUnknownRoute: func(method, path string) {
		t.Errorf("Jira emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	jts := httptest.NewServer(fj)
	t.Cleanup(func() { jts.Close(); fj.Close() })
	e.Jira, e.JiraURL = fj, jts.URL+"/jira"
	if err := fj.SetPublicBaseURL(e.JiraURL); err != nil {
		t.Fatal(err)
	}
	fa, err := fakeasana.New(fakeasana.Options{OnUnknownRoute: func(method, path string) {
		t.Errorf("Asana emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ats := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook := e.asanaHook.Load(); hook != nil {
			(*hook)(r)
		}
		fa.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ats.Close(); fa.Close() })
	if err := fa.SetPublicBaseURL(ats.URL); err != nil {
		t.Fatal(err)
	}
	e.Asana, e.AsanaURL, e.Seed = fa, ats.URL, fa.Seed()
	maps.Copy(e.Users, e.Seed.Users)

	e.openStore(t)
	st := e.Store
	e.Server = store.JiraServer{Name: "Jira", BaseURL: e.JiraURL, Version: o.JiraVersion}
	must(t, st.CreateJiraServer(ctx, &e.Server))
	must(t, st.PutWorkspace(ctx, store.Workspace{GID: e.Seed.Workspace, Name: "Acme"}))
	must(t, st.PutConnection(ctx, store.Connection{WorkspaceGID: e.Seed.Workspace, JiraServerID: e.Server.ID, IsDefault: true}))
	e.clients = bridgetest.NewClients(e.JiraURL, ats.URL, e.Server)
	e.Connect(t, "alice")
	e.Connect(t, "bob")

	e.Metrics = prometheus.NewRegistry()
	engineStore := st
	if o.EngineStore != nil {
		engineStore = o.EngineStore(st)
	}
	e.Engine, err = syncengine.New(syncengine.Config{Store: engineStore, Clients: e.clients, Enqueuer: e, Log: slog.New(slog.DiscardHandler),
		Metrics: e.Metrics, AsanaUploadLimit: o.AsanaUploadLimit})
	if err != nil {
		t.Fatal(err)
	}
	e.buildQueue(t, o)

	issue, ok := fj.Issue("DEMO-1")
	if !ok {
		t.Fatal("the Jira emulator has no DEMO-1")
	}
	e.Link = store.Link{WorkspaceGID: e.Seed.Workspace, TaskGID: e.Seed.Tasks[1].GID, JiraServerID: e.Server.ID,
		IssueID: issue.ID, IssueKey: "DEMO-1", CreatedBy: e.Users["alice"]}
	must(t, st.CreateLink(ctx, &e.Link))
	must(t, e.Engine.PutSettings(ctx, store.SyncSettings{WorkspaceGID: e.Seed.Workspace, JiraServerID: e.Server.ID,
		Enabled: true, Comments: true, Completion: true}, "test"))

	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if _, err := e.Engine.RecordJiraEvent(context.WithoutCancel(r.Context()), e.Server.ID, b); err != nil {
			t.Errorf("record a Jira delivery: %v", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		e.Delivered.Add(1)
	}))
	t.Cleanup(rec.Close)
	if _, err := e.JiraAs(t, "admin").CreateWebhook(ctx, jira.Webhook{Name: "sync", URL: rec.URL, Enabled: true,
		Events: []string{"jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"}}); err != nil {
		t.Fatal(err)
	}
	if o.Run {
		if err := e.Queue.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = e.Queue.Stop(sctx) // the test is over
		})
	}
	return e
}

func (e *Env) openStore(t *testing.T) {
	t.Helper()
	var err error
	switch e.DB {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "asanajira.db")
		e.Store, err = sqlite.Open(t.Context(), path, storetest.NewSealer(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		e.riverDB, err = sqlite.OpenDB(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		e.riverDB.SetMaxOpenConns(1)
		t.Cleanup(func() { _ = e.riverDB.Close() })
	case "postgres":
		e.url = pgtest.URL(t)
		e.Store, err = postgres.Open(t.Context(), e.url, storetest.NewSealer(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		e.riverDB = e.Store.DB()
	default:
		t.Fatalf("synctest: unknown database %q", e.DB)
	}
	t.Cleanup(func() { _ = e.Store.Close() })
}

func (e *Env) buildQueue(t *testing.T, o Options) {
	t.Helper()
	driver, listener, err := jobs.Driver(t.Context(), e.DB, e.riverDB, e.url)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(t.Context(), driver); err != nil {
		t.Fatal(err)
	}
	opts := jobs.Options{CleanupInterval: time.Hour, Sync: e.Engine, ReconcileInterval: o.ReconcileInterval}
	if o.QueueOptions != nil {
		o.QueueOptions(e, &opts)
	}
	e.Queue, err = jobs.New(driver, e.riverDB, listener, e.Store, e.log, opts)
	if err != nil {
		t.Fatal(err)
	}
}

// EnqueueSyncLink implements syncengine.Enqueuer with the bench's queue
// (built after the engine).
func (e *Env) EnqueueSyncLink(ctx context.Context, tx *sql.Tx, linkID int64) error {
	return e.Queue.EnqueueSyncLink(ctx, tx, linkID)
}

// EnqueueJiraAttachments implements syncengine.AttachmentEnqueuer: it
// counts the copies asked for and enqueues them (run by the queue when
// started; tests without it call CopyJiraAttachments themselves).
func (e *Env) EnqueueJiraAttachments(ctx context.Context, linkID int64, upTo string) error {
	e.CopiesAsked.Add(1)
	return e.Queue.EnqueueJiraAttachments(ctx, linkID, upTo)
}

// EnqueueTaskAttachments implements syncengine.TaskAttachmentEnqueuer: it
// keeps the copies asked for in TaskCopies.
func (e *Env) EnqueueTaskAttachments(_ context.Context, args bridge.CopyAttachmentsArgs) error {
	e.taskMu.Lock()
	defer e.taskMu.Unlock()
	e.TaskCopies = append(e.TaskCopies, args)
	return nil
}

// TaskCopiesAsked is how many copies of the task's files were asked for.
func (e *Env) TaskCopiesAsked() int {
	e.taskMu.Lock()
	defer e.taskMu.Unlock()
	return len(e.TaskCopies)
}

// Connect connects a seeded user on both sides: tokens for the clients and
// the stored credentials (the Jira one names the Jira user, which is how
// the engine attributes writes). It returns the user's Asana gid.
func (e *Env) Connect(t *testing.T, login string) string {
	t.Helper()
	ctx := t.Context()
	jtok, err := e.Jira.CreatePAT(login, "asanajira")
	if err != nil {
		t.Fatal(err)
	}
	atok, _, err := e.Asana.IssueAccessToken(login)
	if err != nil {
		t.Fatal(err)
	}
	gid := e.Users[login]
	must(t, e.Store.PutAsanaUser(ctx, store.AsanaUser{GID: gid, Name: displayName(login), AccessToken: store.Secret(atok)}))
	must(t, e.Store.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: gid, JiraServerID: e.Server.ID,
		Method: store.AuthPAT, AccessToken: store.Secret(jtok), JiraUsername: login}))
	e.clients.SetTokens(gid, jtok, atok)
	return gid
}

// Bridge is the bridge's service on the bench's store and users, for the
// copy of a task's files to the issue.
func (e *Env) Bridge() *bridge.Service { return e.BridgeOn(e.Store) }

// BridgeOn is Bridge on st (the bench's store, or one wrapping it).
func (e *Env) BridgeOn(st store.Store) *bridge.Service {
	u, _ := url.Parse(e.AsanaURL)
	return bridge.New(bridge.Config{Store: st, Clients: e.clients, DownloadHosts: []string{u.Host}, Log: e.log})
}

// CreateIssue creates a DEMO task issue named summary for a task through
// the bridge, as alice, as the create form does, and makes its link the
// bench's Link.
func (e *Env) CreateIssue(t *testing.T, taskGID, summary string) *bridge.Created {
	t.Helper()
	c, _, err := e.Bridge().CreateIssue(t.Context(), bridge.Identity{User: e.Users["alice"], Workspace: e.Seed.Workspace}, taskGID,
		bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": summary}, bridge.CreateHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Link, err = e.Store.GetLinkByTask(t.Context(), e.Server.ID, taskGID); err != nil {
		t.Fatal(err)
	}
	return c
}

// NewTask adds a task with a name alone to the seeded project through
// Asana's API, as alice, and returns its gid.
func (e *Env) NewTask(t *testing.T, name string) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"data": map[string]any{"name": name, "workspace": e.Seed.Workspace, "projects": []string{e.Seed.Project}}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.AsanaURL+"/api/1.0/tasks", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Seed.Tokens["alice"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			GID string `json:"gid"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || out.Data.GID == "" {
		t.Fatalf("create a task: %s, %v", resp.Status, err)
	}
	return out.Data.GID
}

// DisconnectJira forgets a user's Jira connection (tokens and credential).
func (e *Env) DisconnectJira(t *testing.T, login string) {
	t.Helper()
	gid := e.Users[login]
	must(t, e.Store.DeleteJiraCredential(t.Context(), gid, e.Server.ID))
	atok, _, err := e.Asana.IssueAccessToken(login)
	if err != nil {
		t.Fatal(err)
	}
	e.clients.SetTokens(gid, "", atok)
}

func displayName(login string) string {
	return map[string]string{"alice": "Alice Anders", "bob": "Bob Brown", "admin": "Admin"}[login]
}

// JiraAs is a Jira client acting as a Jira user (password = login).
func (e *Env) JiraAs(t *testing.T, login string) *jira.Client {
	t.Helper()
	c, err := jira.New(e.JiraURL, jira.NewHTTPClient(&jira.BasicAuthTransport{Username: login, Password: login}, 10*time.Second),
		jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// AsanaAs is an Asana client acting as a seeded user (pat-<login>).
func (e *Env) AsanaAs(t *testing.T, login string) *asana.Client {
	t.Helper()
	c, err := asana.New(e.AsanaURL+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: "pat-" + login}, Timeout: 10 * time.Second},
		asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Sync runs the link's sync until it has nothing more to do at once (a
// run that asks to run again later ends it) and returns the writes made.
func (e *Env) Sync(t *testing.T) int {
	t.Helper()
	writes := 0
	for range 20 {
		res, err := e.Engine.SyncLink(t.Context(), e.Link.ID)
		if err != nil {
			t.Fatalf("SyncLink: %v", err)
		}
		writes += res.Writes
		if !res.Again || res.After > 0 {
			return writes
		}
	}
	t.Fatal("SyncLink still had more to do after 20 runs")
	return writes
}

// RecordAsana records an Asana change for the link, as the Asana intake
// does (kind comment with the story gid, or completion).
func (e *Env) RecordAsana(t *testing.T, kind, object, key string) {
	t.Helper()
	e.RecordAsanaAt(t, kind, object, key, time.Now())
}

// RecordAsanaAt is RecordAsana for a change that happened at a given time.
func (e *Env) RecordAsanaAt(t *testing.T, kind, object, key string, at time.Time) {
	t.Helper()
	if _, err := e.Engine.Record(t.Context(), syncengine.Change{LinkID: e.Link.ID, Side: syncengine.SideAsana, Source: "events",
		DedupKey: key, Kind: kind, Object: object, ObservedAt: at}); err != nil {
		t.Fatal(err)
	}
}

// Comments are the task's comment stories (system stories left out).
func (e *Env) Comments() []fakeasana.Story {
	var out []fakeasana.Story
	for _, s := range e.Asana.Stories(e.Link.TaskGID) {
		if s.Type == "comment" {
			out = append(out, s)
		}
	}
	return out
}

// StoriesWith counts the task's comment stories containing text.
func (e *Env) StoriesWith(text string) int {
	n := 0
	for _, s := range e.Comments() {
		if strings.Contains(s.Text, text) {
			n++
		}
	}
	return n
}

// Issue is DEMO-1 as the Jira emulator holds it.
func (e *Env) Issue(t *testing.T) fakejira.Issue {
	t.Helper()
	is, ok := e.Jira.Issue(e.Link.IssueKey)
	if !ok {
		t.Fatalf("no %s", e.Link.IssueKey)
	}
	return is
}

// JiraCommentsWith returns the issue's comments containing text.
func (e *Env) JiraCommentsWith(t *testing.T, text string) []fakejira.Comment {
	t.Helper()
	var out []fakejira.Comment
	for _, c := range e.Issue(t).Comments {
		if strings.Contains(c.Body, text) {
			out = append(out, c)
		}
	}
	return out
}

// Changes are the link's recorded changes, newest first.
func (e *Env) Changes(t *testing.T) []store.SyncChange {
	t.Helper()
	cs, err := e.Store.ListSyncChanges(t.Context(), store.SyncChangeFilter{LinkID: e.Link.ID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// State is the link's sync state.
func (e *Env) State(t *testing.T) store.SyncLinkState {
	t.Helper()
	s, err := e.Store.GetSyncLinkState(t.Context(), e.Link.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Eventually waits up to d for cond, polling.
func Eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BreakJiraToken gives a user's Jira client a token Jira refuses (401), as
// after an administrator revoked it.
func (e *Env) BreakJiraToken(t *testing.T, login string) {
	t.Helper()
	atok, _, err := e.Asana.IssueAccessToken(login)
	if err != nil {
		t.Fatal(err)
	}
	e.clients.SetTokens(e.Users[login], "revoked-token", atok)
}

// Metric sums the series of a metric in reg whose labels include want:
// counters and gauges by value, histograms by their count.
func Metric(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}
