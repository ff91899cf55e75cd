// Package bridgetest is the bench the tests of bridge and of the packages
// that run it (jobs) share: the bridge between the Jira and Asana emulators
// on a real SQLite store, alice connected on both sides, a task linked to
// DEMO-1 by her, the Jira webhook deliveries at hand, and a store that can
// "crash" right after an external write.
package bridgetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

// Clients is bridge.Clients over the emulators: each connected user's Jira
// personal access token and Asana OAuth token. Clients make one attempt per
// call, so a test sees Jira's and Asana's answers (429s included) as they
// come.
type Clients struct {
	jiraBase, asanaBase string
	server              store.JiraServer
	mu                  sync.Mutex
	jiraTok, asanaTok   map[string]string // Asana user gid -> token
}

// NewClients returns Clients for the emulators at jiraBase (with its
// context path) and asanaBase, on the Jira server record server.
func NewClients(jiraBase, asanaBase string, server store.JiraServer) *Clients {
	return &Clients{jiraBase: jiraBase, asanaBase: asanaBase, server: server, jiraTok: map[string]string{}, asanaTok: map[string]string{}}
}

// SetTokens gives the Asana user gid its Jira token (none when "") and its
// Asana token (none when "").
func (c *Clients) SetTokens(gid, jiraToken, asanaToken string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for m, tok := range map[*map[string]string]string{&c.jiraTok: jiraToken, &c.asanaTok: asanaToken} {
		if tok == "" {
			delete(*m, gid)
		} else {
			(*m)[gid] = tok
		}
	}
}

// Jira implements bridge.Clients.
func (c *Clients) Jira(_ context.Context, user, serverID string) (*jira.Client, store.JiraServer, error) {
	c.mu.Lock()
	tok, ok := c.jiraTok[user]
	c.mu.Unlock()
	if !ok || serverID != c.server.ID {
		return nil, store.JiraServer{}, fmt.Errorf("%s on %s: %w", user, serverID, bridge.ErrNotConnected)
	}
	jc, err := jira.New(c.jiraBase, jira.NewHTTPClient(&jira.BearerTransport{Token: tok}, 10*time.Second),
		jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	return jc, c.server, err
}

// Asana implements bridge.Clients.
func (c *Clients) Asana(_ context.Context, user string) (*asana.Client, error) {
	c.mu.Lock()
	tok, ok := c.asanaTok[user]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: %w", user, bridge.ErrNotConnected)
	}
	return asana.New(c.asanaBase+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: tok}, Timeout: 10 * time.Second},
		asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
}

// Env is the bench.
type Env struct {
	Jira    *fakejira.Server
	Asana   *fakeasana.Server
	JiraURL string
	// Store is the real store (Bridge may see it through Options.WrapStore).
	Store store.Store
	// Clock is the store's clock, so a test can let a lease lapse.
	Clock  *storetest.Clock
	Bridge *bridge.Service
	Server store.JiraServer
	Seed   fakeasana.SeedIDs
	// Alice is alice's Asana gid; JiraToken her Jira personal access token.
	Alice     string
	JiraToken string
	// Link ties the first seeded task (which has files) to DEMO-1, made by
	// alice.
	Link       store.Link
	deliveries chan []byte
	clients    *Clients
}

// Options vary the bench.
type Options struct {
	// WrapStore puts fault injection around the store the bridge uses.
	WrapStore func(store.Store) store.Store
	// JiraTimeout is the bridge's bound on one request's Jira calls
	// (bridge.Config.JiraTimeout; zero keeps its default).
	JiraTimeout time.Duration
}

// New starts the bench; everything stops with the test.
func New(t *testing.T, o Options) *Env {
	t.Helper()
	ctx := t.Context()
	fj, err := fakejira.New(fakejira.Options{Version: "9.12.0", OnUnknownRoute: func(method, path string) {
		t.Errorf("Jira emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	jts := httptest.NewServer(fj)
	t.Cleanup(func() { jts.Close(); fj.Close() })
	e := &Env{Jira: fj, JiraURL: jts.URL + "/jira", Clock: storetest.NewClock(time.Now().UTC()), deliveries: make(chan []byte, 64)}
	if err := fj.SetPublicBaseURL(e.JiraURL); err != nil {
		t.Fatal(err)
	}
	fa, err := fakeasana.New(fakeasana.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ats := httptest.NewServer(fa)
	t.Cleanup(func() { ats.Close(); fa.Close() })
	if err := fa.SetPublicBaseURL(ats.URL); err != nil {
		t.Fatal(err)
	}
	e.Asana, e.Seed = fa, fa.Seed()
	e.Alice = e.Seed.Users["alice"]

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "asanajira.db"), storetest.NewSealer(t), e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.Store = st
	e.Server = store.JiraServer{Name: "Jira", BaseURL: e.JiraURL, Version: "9.12.0"}
	if err := st.CreateJiraServer(ctx, &e.Server); err != nil {
		t.Fatal(err)
	}
	e.JiraToken, err = fj.CreatePAT("alice", "asanajira")
	if err != nil {
		t.Fatal(err)
	}
	atok, _, err := fa.IssueAccessToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	// The stored credentials are what a refusal marks for reconnection.
	if err := st.PutAsanaUser(ctx, store.AsanaUser{GID: e.Alice, Name: "Alice", AccessToken: store.Secret(atok)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: e.Alice, JiraServerID: e.Server.ID,
		Method: store.AuthPAT, AccessToken: store.Secret(e.JiraToken), JiraUsername: "alice"}); err != nil {
		t.Fatal(err)
	}
	clients := NewClients(e.JiraURL, ats.URL, e.Server)
	clients.SetTokens(e.Alice, e.JiraToken, atok)

	e.clients = clients
	var bst store.Store = st
	if o.WrapStore != nil {
		bst = o.WrapStore(st)
	}
	host, _ := url.Parse(ats.URL)
	e.Bridge = bridge.New(bridge.Config{Store: bst, Clients: clients, Log: slog.New(slog.DiscardHandler), DownloadHosts: []string{host.Host},
		JiraTimeout: o.JiraTimeout})

	issue, ok := fj.Issue("DEMO-1")
	if !ok {
		t.Fatal("the Jira emulator has no DEMO-1")
	}
	e.Link = store.Link{WorkspaceGID: e.Seed.Workspace, TaskGID: e.Seed.Tasks[0].GID, JiraServerID: e.Server.ID,
		IssueID: issue.ID, IssueKey: "DEMO-1", CreatedBy: e.Alice}
	if err := st.CreateLink(ctx, &e.Link); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.deliveries <- b
	}))
	t.Cleanup(rec.Close)
	if _, err := e.Admin(t).CreateWebhook(ctx, jira.Webhook{Name: "test", URL: rec.URL, Enabled: true,
		Events: []string{"jira:issue_updated", "jira:issue_deleted", "comment_created"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// Connect connects another seeded user (bob, admin) on both sides, as
// alice is, and returns the user's Asana gid.
func (e *Env) Connect(t *testing.T, login string) string {
	t.Helper()
	jtok, err := e.Jira.CreatePAT(login, "asanajira")
	if err != nil {
		t.Fatal(err)
	}
	atok, _, err := e.Asana.IssueAccessToken(login)
	if err != nil {
		t.Fatal(err)
	}
	gid := e.Seed.Users[login]
	e.clients.SetTokens(gid, jtok, atok)
	return gid
}

// Admin is a Jira client acting as Jira's administrator.
func (e *Env) Admin(t *testing.T) *jira.Client {
	t.Helper()
	c, err := jira.New(e.JiraURL, jira.NewHTTPClient(&jira.BasicAuthTransport{Username: "admin", Password: "admin"}, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Next returns the next Jira webhook delivery of event whose body contains
// want, skipping the others.
func (e *Env) Next(t *testing.T, event, want string) []byte {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case b := <-e.deliveries:
			if strings.Contains(string(b), `"webhookEvent":"`+event+`"`) && strings.Contains(string(b), want) {
				return b
			}
		case <-timeout:
			t.Fatalf("no %s delivery containing %q", event, want)
		}
	}
}

// Stories counts the stories of the linked task that contain text.
func (e *Env) Stories(text string) int {
	n := 0
	for _, s := range e.Asana.Stories(e.Link.TaskGID) {
		if strings.Contains(s.Text, text) {
			n++
		}
	}
	return n
}

// Relink makes user the owner of the link (e.g. someone never connected).
func (e *Env) Relink(t *testing.T, user string) {
	t.Helper()
	if err := e.Store.DeleteLink(t.Context(), e.Link.ID); err != nil {
		t.Fatal(err)
	}
	e.Link.CreatedBy = user
	if err := e.Store.CreateLink(t.Context(), &e.Link); err != nil {
		t.Fatal(err)
	}
}

// Linked reports whether the task is still linked to its issue.
func (e *Env) Linked(t *testing.T) bool {
	t.Helper()
	_, err := e.Store.GetLinkByTask(t.Context(), e.Server.ID, e.Link.TaskGID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// CrashingStore is the real store until Crash is set; from then on the
// process has "died" right after its write to Asana or Jira: neither the
// completion nor the release of the write reaches the ledger.
type CrashingStore struct {
	store.Store
	Crash atomic.Bool
}

// ErrCrash is what the crashed steps return.
var ErrCrash = errors.New("bridgetest: the process died before recording its write")

// CompleteSideEffect fails once crashed.
func (s *CrashingStore) CompleteSideEffect(ctx context.Context, scope, key, holder, result string) error {
	if s.Crash.Load() {
		return ErrCrash
	}
	return s.Store.CompleteSideEffect(ctx, scope, key, holder, result)
}

// ReleaseSideEffect fails once crashed.
func (s *CrashingStore) ReleaseSideEffect(ctx context.Context, scope, key, holder string) error {
	if s.Crash.Load() {
		return ErrCrash
	}
	return s.Store.ReleaseSideEffect(ctx, scope, key, holder)
}
