package store_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

// twoProcesses opens one SQLite database twice: c reads through a
// ConfigCache on a clock that advance moves, other writes behind its back.
func twoProcesses(t *testing.T) (c *store.ConfigCache, other store.Store, advance func(time.Duration)) {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "asanajira.db")
	sealer := storetest.NewSealer(t)
	stores := make([]store.Store, 2)
	for i := range stores {
		st, err := sqlite.Open(ctx, path, sealer, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		stores[i] = st
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance = func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	return store.NewConfigCache(stores[0], 0, clock), stores[1], advance
}

// Two processes on one database: one reads through a ConfigCache, the
// other changes the configuration behind its back. The cache serves what
// it read (no database round trip) until ConfigCacheTTL has passed, then
// reads again; a change through the cache itself is seen at once.
func TestConfigCacheServesFromMemoryUntilTTL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, other, advance := twoProcesses(t)

	srv := storetest.SampleServer("https://one.example", "ck1")
	if err := c.CreateJiraServer(ctx, &srv); err != nil {
		t.Fatal(err)
	}
	if err := c.PutWorkspace(ctx, store.Workspace{GID: "100", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: srv.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	read := func() (string, int, error) {
		s, err := c.GetJiraServer(ctx, srv.ID)
		if err != nil {
			return "", 0, err
		}
		conns, err := c.ListWorkspaceConnections(ctx, "100")
		return s.Name, len(conns), err
	}
	if name, n, err := read(); err != nil || name != srv.Name || n != 1 {
		t.Fatalf("first read: %q %d %v", name, n, err)
	}

	// The other process renames the server and drops the connection.
	renamed := srv
	renamed.Name = "Renamed elsewhere"
	if err := other.UpdateJiraServer(ctx, &renamed); err != nil {
		t.Fatal(err)
	}
	if err := other.DeleteConnection(ctx, "100", srv.ID); err != nil {
		t.Fatal(err)
	}
	if name, n, err := read(); err != nil || name != srv.Name || n != 1 {
		t.Fatalf("within the TTL: %q %d %v, want the cached %q 1", name, n, err, srv.Name)
	}
	advance(store.ConfigCacheTTL)
	if name, n, err := read(); err != nil || name != renamed.Name || n != 0 {
		t.Fatalf("after the TTL: %q %d %v, want %q 0", name, n, err, renamed.Name)
	}

	// A change through the cache is seen at once; so is a deletion.
	if err := c.DeleteJiraServer(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetJiraServer(ctx, srv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetJiraServer after deleting it: %v", err)
	}
}

// Credentials are cached opened, per user and server. A write through the
// cache (a refresh, a mark, a disconnection), directly or in a
// transaction, is seen by the next read; another process's write within
// ConfigCacheTTL.
func TestConfigCacheCredentials(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c, other, advance := twoProcesses(t)

	srv := storetest.SampleServer("https://one.example", "ck1")
	if err := c.CreateJiraServer(ctx, &srv); err != nil {
		t.Fatal(err)
	}
	if err := c.PutAsanaUser(ctx, store.AsanaUser{GID: "7", Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	cred := store.JiraCredential{AsanaUserGID: "7", JiraServerID: srv.ID, Method: store.AuthPAT, AccessToken: "token-1", JiraUsername: "alice"}
	if err := c.PutJiraCredential(ctx, cred); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		token     store.Secret
		reconnect bool
		missing   bool
	}
	read := func() seen {
		t.Helper()
		got, err := c.GetJiraCredential(ctx, "7", srv.ID)
		if errors.Is(err, store.ErrNotFound) {
			return seen{missing: true}
		}
		if err != nil {
			t.Fatal(err)
		}
		return seen{token: got.AccessToken, reconnect: got.ReconnectNeeded}
	}
	steps := []struct {
		name  string
		write func() error
		after time.Duration
		want  seen
	}{
		{"first read", func() error { return nil }, 0, seen{token: "token-1"}},
		{"another process marks it: cached within the TTL",
			func() error { return other.MarkJiraCredentialReconnect(ctx, "7", srv.ID, "revoked elsewhere") }, 0, seen{token: "token-1"}},
		{"… and seen after it", func() error { return nil }, store.ConfigCacheTTL, seen{token: "token-1", reconnect: true}},
		{"reconnected through the cache: at once", func() error { return c.PutJiraCredential(ctx, cred) }, 0, seen{token: "token-1"}},
		{"refreshed in a transaction: at once", func() error {
			return c.InTx(ctx, func(tx store.Tx) error {
				next := cred
				next.AccessToken = "token-2"
				return tx.PutJiraCredential(ctx, next)
			})
		}, 0, seen{token: "token-2"}},
		{"marked through the cache: at once", func() error { return c.MarkJiraCredentialReconnect(ctx, "7", srv.ID, "401") }, 0,
			seen{token: "token-2", reconnect: true}},
		{"disconnected through the cache: at once", func() error { return c.DeleteJiraCredential(ctx, "7", srv.ID) }, 0, seen{missing: true}},
		{"connected by another process: the missing entry is cached within the TTL", func() error { return other.PutJiraCredential(ctx, cred) }, 0,
			seen{missing: true}},
		{"… and seen after it", func() error { return nil }, store.ConfigCacheTTL, seen{token: "token-1"}},
		{"the server deleted through the cache: at once", func() error { return c.DeleteJiraServer(ctx, srv.ID) }, 0, seen{missing: true}},
	}
	for _, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		advance(s.after)
		if got := read(); got != s.want {
			t.Errorf("%s: read %+v, want %+v", s.name, got, s.want)
		}
	}
}
