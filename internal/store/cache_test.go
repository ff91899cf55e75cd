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

// Two processes on one database: one reads through a ConfigCache, the
// other changes the configuration behind its back. The cache serves what
// it read (no database round trip) until ConfigCacheTTL has passed, then
// reads again; a change through the cache itself is seen at once.
func TestConfigCacheServesFromMemoryUntilTTL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "asanajira.db")
	sealer := storetest.NewSealer(t)
	other, err := sqlite.Open(ctx, path, sealer, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	mine, err := sqlite.Open(ctx, path, sealer, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mine.Close() })
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := store.NewConfigCache(mine, 0, clock)

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
