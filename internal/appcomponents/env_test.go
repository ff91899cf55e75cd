package appcomponents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/appcomponents"
	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

// testClients is a tiny bridge.Clients over the emulators: Jira personal
// access tokens (basic auth on 7.13, which has none) and Asana OAuth
// tokens the emulator issues. Users not in the maps are not connected.
type testClients struct {
	jiraBase  string
	asanaBase string
	mu        sync.Mutex
	jiraAuth  map[string]http.RoundTripper // Asana user gid -> Jira auth
	asanaTok  map[string]string            // Asana user gid -> token
	server    store.JiraServer
	// others are more server records on the same emulator, each user
	// connected to them as to server.
	others map[string]store.JiraServer
}

func (c *testClients) Jira(_ context.Context, user, serverID string) (*jira.Client, store.JiraServer, error) {
	c.mu.Lock()
	rt, ok := c.jiraAuth[user]
	srv, other := c.others[serverID]
	c.mu.Unlock()
	if !other {
		srv = c.server
	}
	if !ok || srv.ID != serverID {
		return nil, store.JiraServer{}, fmt.Errorf("test clients: %s on %s: %w", user, serverID, bridge.ErrNotConnected)
	}
	// Interactive callers want a short Retry-After ceiling: a long wait is
	// reported, not slept through.
	jc, err := jira.New(c.jiraBase, jira.NewHTTPClient(rt, 0), jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 2, BaseDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxRetryAfter: time.Second}))
	return jc, srv, err
}

func (c *testClients) Asana(_ context.Context, user string) (*asana.Client, error) {
	c.mu.Lock()
	tok, ok := c.asanaTok[user]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("test clients: %s: %w", user, bridge.ErrNotConnected)
	}
	return asana.New(c.asanaBase+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: tok}, Timeout: 30 * time.Second},
		asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 2, BaseDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxRetryAfter: time.Second}))
}

// env is asanajira's App Components handler wired to both emulators, a
// SQLite store and (optionally) a running river queue.
type env struct {
	jira     *fakejira.Server
	asana    *fakeasana.Server
	jiraURL  string
	asanaURL string
	appURL   string
	store    store.Store
	bridge   *bridge.Service
	queue    *jobs.Queue
	enq      *recordingEnqueuer // without envOptions.queue
	clients  *testClients
	seed     fakeasana.SeedIDs
	server   store.JiraServer
	dbPath   string // the SQLite file behind store
	alice    string // Asana gid of alice, connected to Jira as alice
	bob      string // Asana gid of bob, not connected
}

type envOptions struct {
	version         string
	queue           bool // run a river queue with the attachment worker
	attachmentLimit int64
	jiraTimeout     time.Duration
	widgetTTL       time.Duration
	metaTTL         time.Duration
	// wrapJira puts a handler in front of the Jira emulator.
	wrapJira func(http.Handler) http.Handler
	// wrapAsana puts a handler in front of the Asana emulator (its API and
	// App Components calls alike).
	wrapAsana func(http.Handler) http.Handler
	// postgres stores on PostgreSQL (pgtest) instead of SQLite; not with
	// queue, and dbPath is empty.
	postgres bool
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	if o.version == "" {
		o.version = "9.12.0"
	}
	if o.jiraTimeout == 0 {
		// Tests about Jira's deadline set their own; the others get one
		// that a machine loaded by the race detector cannot reach, below
		// the 10 s Asana gives an App Components call.
		o.jiraTimeout = 8 * time.Second
	}
	fj, err := fakejira.New(fakejira.Options{Version: o.version, AttachmentLimit: o.attachmentLimit})
	if err != nil {
		t.Fatal(err)
	}
	var jh http.Handler = fj
	if o.wrapJira != nil {
		jh = o.wrapJira(fj)
	}
	jts := httptest.NewServer(jh)
	t.Cleanup(jts.Close)
	e := &env{jira: fj, jiraURL: jts.URL + "/jira"}
	if err := fj.SetPublicBaseURL(e.jiraURL); err != nil {
		t.Fatal(err)
	}
	fa, err := fakeasana.New(fakeasana.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ah http.Handler = fa
	if o.wrapAsana != nil {
		ah = o.wrapAsana(fa)
	}
	ats := httptest.NewServer(ah)
	t.Cleanup(ats.Close)
	t.Cleanup(fa.Close)
	e.asana, e.asanaURL = fa, ats.URL
	if err := fa.SetPublicBaseURL(ats.URL); err != nil {
		t.Fatal(err)
	}
	e.seed = fa.Seed()
	e.alice, e.bob = e.seed.Users["alice"], e.seed.Users["bob"]

	var (
		path string
		st   *store.SQL
	)
	if o.postgres {
		st, err = postgres.Open(ctx, pgtest.URL(t), storetest.NewSealer(t), nil)
	} else {
		path = filepath.Join(t.TempDir(), "asanajira.db")
		st, err = sqlite.Open(ctx, path, storetest.NewSealer(t), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.store, e.dbPath = st, path
	e.server = store.JiraServer{Name: "Jira " + o.version, BaseURL: e.jiraURL, Version: o.version}
	if err := st.CreateJiraServer(ctx, &e.server); err != nil {
		t.Fatal(err)
	}
	if err := st.PutWorkspace(ctx, store.Workspace{GID: e.seed.Workspace, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutConnection(ctx, store.Connection{WorkspaceGID: e.seed.Workspace, JiraServerID: e.server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	e.clients = &testClients{jiraBase: e.jiraURL, asanaBase: ats.URL, server: e.server,
		jiraAuth: map[string]http.RoundTripper{}, asanaTok: map[string]string{}}
	e.connect(t, "alice")
	asanaHost, _ := url.Parse(ats.URL)
	e.bridge = bridge.New(bridge.Config{Store: st, Clients: e.clients, Log: discard(), DownloadHosts: []string{asanaHost.Host}, JiraTimeout: o.jiraTimeout,
		WidgetCacheTTL: o.widgetTTL, MetaCacheTTL: o.metaTTL})

	var enq appcomponents.Enqueuer
	if o.queue {
		riverDB, err := sqlite.OpenDB(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		riverDB.SetMaxOpenConns(1)
		t.Cleanup(func() { _ = riverDB.Close() })
		driver, _, err := jobs.Driver(ctx, "sqlite", riverDB, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Migrate(ctx, driver); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(driver, riverDB, nil, st, discard(), jobs.Options{Attachments: e.bridge})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = q.Stop(sctx)
		})
		e.queue, enq = q, q
	} else {
		e.enq = &recordingEnqueuer{}
		enq = e.enq
	}
	var h http.Handler
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(app.Close)
	e.appURL = app.URL
	h = appcomponents.New(appcomponents.Deps{Store: st, Bridge: e.bridge, Enqueuer: enq, ClientSecret: "demo-secret",
		AppOrigin: ats.URL, PublicURL: app.URL, PublicMode: true, Log: discard()})
	err = fa.SetApp(fakeasana.AppRegistration{
		WidgetMetadataURL:    app.URL + "/asana/widget",
		MatchURLPattern:      "^" + regexp.QuoteMeta(e.jiraURL) + "/browse/.*",
		FormMetadataURL:      app.URL + "/asana/form",
		ResourceAttachURL:    app.URL + "/asana/lookup/attach",
		ResourceTypeaheadURL: app.URL + "/asana/lookup/typeahead",
		RuleActions: []fakeasana.RuleAction{{ID: "create_jira_issue", DisplayName: "Create Jira issue",
			FormMetadataURL: app.URL + "/asana/rule/form", RunActionURL: app.URL + "/asana/rule/run"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// connect gives an Asana user (by login) Asana and Jira credentials.
func (e *env) connect(t testing.TB, login string) {
	t.Helper()
	gid := e.seed.Users[login]
	tok, _, err := e.asana.IssueAccessToken(login)
	if err != nil {
		t.Fatal(err)
	}
	var rt http.RoundTripper
	if pat, err := e.jira.CreatePAT(login, "asanajira"); err == nil {
		rt = &jira.BearerTransport{Token: pat}
	} else {
		rt = &jira.BasicAuthTransport{Username: login, Password: login} // 7.13: no PATs
	}
	e.clients.mu.Lock()
	defer e.clients.mu.Unlock()
	e.clients.jiraAuth[gid], e.clients.asanaTok[gid] = rt, tok
}

// call makes an App Components request through the Asana emulator, signed
// as Asana signs it.
func (e *env) call(t testing.TB, c fakeasana.AppCall) *fakeasana.AppResponse {
	t.Helper()
	if c.User == "" {
		c.User = e.alice
	}
	resp, err := e.asana.CallApp(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// recordingEnqueuer stands in for the queue where jobs are not under test.
type recordingEnqueuer struct {
	mu     sync.Mutex
	copies []linkCopy
}

// linkCopy is a link whose copy job a request enqueued.
type linkCopy struct {
	LinkID       int64
	RemoteLinked bool
}

func (r *recordingEnqueuer) EnqueueLinkCopy(_ context.Context, linkID int64, remoteLinked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.copies = append(r.copies, linkCopy{LinkID: linkID, RemoteLinked: remoteLinked})
}

// enqueued returns the links whose copy jobs were enqueued so far.
func (r *recordingEnqueuer) enqueued() []linkCopy {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.copies)
}
