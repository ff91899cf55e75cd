package storetest

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/store"
)

// queryObserver is a store whose statements a test can watch.
type queryObserver interface {
	ObserveQueries(fn func(ctx context.Context, query string, args []any))
}

// userReads counts the statements that read an Asana user, by gid.
type userReads struct {
	mu sync.Mutex
	n  map[string]int
}

func watchUserReads(t *testing.T, s store.Store) *userReads {
	t.Helper()
	o, ok := s.(queryObserver)
	if !ok {
		t.Fatalf("%T does not report its queries", s)
	}
	r := &userReads{n: map[string]int{}}
	o.ObserveQueries(func(_ context.Context, query string, args []any) {
		if !strings.HasPrefix(strings.TrimSpace(query), "SELECT") || !strings.Contains(query, "FROM asana_users WHERE gid") || len(args) == 0 {
			return
		}
		gid, _ := args[0].(string)
		r.mu.Lock()
		r.n[gid]++
		r.mu.Unlock()
	})
	return r
}

func (r *userReads) count(gid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[gid]
}

// cachedUserView is what a test compares of an Asana user read through
// the cache.
type cachedUserView struct {
	Name, Access, Refresh string
	Reconnect, Missing    bool
}

func viewUser(u store.AsanaUser, err error) (cachedUserView, error) {
	if err != nil {
		return cachedUserView{Missing: true}, err
	}
	return cachedUserView{Name: u.Name, Access: u.AccessToken.Reveal(), Refresh: u.RefreshToken.Reveal(), Reconnect: u.ReconnectNeeded}, nil
}

// testConfigCacheAsanaUsers: Asana users are read through the cache
// opened, one entry per user: a second read runs no query, every write of
// the user through the cache (directly or in a transaction) is seen by the
// next read, a re-seal drops every entry, and another replica's write (one
// straight to the store) is not seen within the TTL.
func testConfigCacheAsanaUsers(t *testing.T, newStore NewStore) {
	ctx := t.Context()
	raw, _ := open(t, newStore)
	reads := watchUserReads(t, raw)
	c := store.NewConfigCache(raw, time.Hour, nil)
	read := func(gid string) cachedUserView {
		t.Helper()
		v, err := viewUser(c.GetAsanaUser(ctx, gid))
		if err != nil && v != (cachedUserView{Missing: true}) {
			t.Fatal(err)
		}
		return v
	}
	connected := store.AsanaUser{Name: "Alice", AccessToken: "access-1", RefreshToken: "refresh-1", Expiry: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	// inTx rewrites the user as a refresh or a mark does: read and put in
	// one transaction.
	inTx := func(change func(u *store.AsanaUser)) func(gid string) error {
		return func(gid string) error {
			return c.InTx(ctx, func(tx store.Tx) error {
				u, err := tx.GetAsanaUser(ctx, gid)
				if err != nil {
					return err
				}
				change(&u)
				return tx.PutAsanaUser(ctx, u)
			})
		}
	}
	tests := []struct {
		name     string
		write    func(gid string) error
		want     cachedUserView
		dropsAll bool
	}{
		{"connected again", func(gid string) error {
			u := connected
			u.GID, u.Name, u.AccessToken, u.RefreshToken = gid, "Alice A.", "access-2", "refresh-2"
			return c.PutAsanaUser(ctx, u)
		}, cachedUserView{Name: "Alice A.", Access: "access-2", Refresh: "refresh-2"}, false},
		{"refreshed in a transaction", inTx(func(u *store.AsanaUser) { u.AccessToken = "access-2" }),
			cachedUserView{Name: "Alice", Access: "access-2", Refresh: "refresh-1"}, false},
		{"marked for reconnection in a transaction", inTx(func(u *store.AsanaUser) { u.ReconnectNeeded = true }),
			cachedUserView{Name: "Alice", Access: "access-1", Refresh: "refresh-1", Reconnect: true}, false},
		{"marked for reconnection", func(gid string) error {
			u := connected
			u.GID, u.ReconnectNeeded = gid, true
			return c.PutAsanaUser(ctx, u)
		}, cachedUserView{Name: "Alice", Access: "access-1", Refresh: "refresh-1", Reconnect: true}, false},
		{"disconnected", func(gid string) error {
			return c.PutAsanaUser(ctx, store.AsanaUser{GID: gid, Name: "Alice"})
		}, cachedUserView{Name: "Alice"}, false},
		{"another replica's write, then a re-seal", func(gid string) error {
			u := connected
			u.GID, u.AccessToken = gid, "access-elsewhere"
			if err := raw.PutAsanaUser(ctx, u); err != nil {
				return err
			}
			_, err := c.ResealSecrets(ctx)
			return err
		}, cachedUserView{Name: "Alice", Access: "access-elsewhere", Refresh: "refresh-1"}, true},
		{"another replica's write: not seen within the TTL", func(gid string) error {
			u := connected
			u.GID, u.AccessToken = gid, "access-elsewhere"
			return raw.PutAsanaUser(ctx, u)
		}, cachedUserView{Name: "Alice", Access: "access-1", Refresh: "refresh-1"}, false},
		{"a transaction that wrote the user and rolled back", func(gid string) error {
			_ = c.InTx(ctx, func(tx store.Tx) error {
				u := connected
				u.GID, u.AccessToken = gid, "access-rolled-back"
				if err := tx.PutAsanaUser(ctx, u); err != nil {
					return err
				}
				return context.Canceled
			})
			return nil
		}, cachedUserView{Name: "Alice", Access: "access-1", Refresh: "refresh-1"}, false},
	}
	for i, tc := range tests {
		gid := "u-cache-" + string(rune('a'+i))
		other := gid + "-other"
		for _, g := range []string{gid, other} {
			u := connected
			u.GID = g
			must(t, raw.PutAsanaUser(ctx, u))
		}
		first := cachedUserView{Name: "Alice", Access: "access-1", Refresh: "refresh-1"}
		for _, g := range []string{gid, other} {
			if got := read(g); got != first {
				t.Fatalf("%s: first read of %s: %+v", tc.name, g, got)
			}
		}
		before := reads.count(gid)
		if got := read(gid); got != first || reads.count(gid) != before {
			t.Fatalf("%s: second read: %+v after %d queries, want it served from memory", tc.name, got, reads.count(gid)-before)
		}
		if err := tc.write(gid); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, read(gid)); diff != "" {
			t.Errorf("%s: read after the write (-want +got):\n%s", tc.name, diff)
		}
		// Another user's entry is dropped only by a re-seal.
		otherBefore := reads.count(other)
		read(other)
		if dropped := reads.count(other) != otherBefore; dropped != tc.dropsAll {
			t.Errorf("%s: another user's entry dropped = %v", tc.name, dropped)
		}
	}
	if got := read("u-missing"); !got.Missing {
		t.Errorf("a missing user: %+v", got)
	}
	before := reads.count("u-missing")
	if read("u-missing"); reads.count("u-missing") != before {
		t.Error("a missing user was read again within the TTL")
	}
}

// racingStore lets a test write while a read through the cache has read
// the row but not returned it.
type racingStore struct {
	store.Store
	mu    sync.Mutex
	onGet func()
}

func (s *racingStore) GetAsanaUser(ctx context.Context, gid string) (store.AsanaUser, error) {
	u, err := s.Store.GetAsanaUser(ctx, gid)
	s.mu.Lock()
	hook := s.onGet
	s.onGet = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return u, err
}

// testConfigCacheAsanaUserRace: a read that fetched the user before a write
// through the cache and returns after it must not keep what it read.
func testConfigCacheAsanaUserRace(t *testing.T, newStore NewStore) {
	ctx := t.Context()
	raw, _ := open(t, newStore)
	rs := &racingStore{Store: raw}
	c := store.NewConfigCache(rs, time.Hour, nil)
	token := func() string {
		t.Helper()
		u, err := c.GetAsanaUser(ctx, "u-race")
		must(t, err)
		return u.AccessToken.Reveal()
	}
	must(t, c.PutAsanaUser(ctx, store.AsanaUser{GID: "u-race", AccessToken: "access-1"}))
	writes := []struct {
		name  string
		write func() error
	}{
		{"PutAsanaUser", func() error { return c.PutAsanaUser(ctx, store.AsanaUser{GID: "u-race", AccessToken: "access-2"}) }},
		{"PutAsanaUser in a transaction", func() error {
			return c.InTx(ctx, func(tx store.Tx) error {
				return tx.PutAsanaUser(ctx, store.AsanaUser{GID: "u-race", AccessToken: "access-3"})
			})
		}},
	}
	for i, w := range writes {
		stale, fresh := "access-"+strconv.Itoa(i+1), "access-"+strconv.Itoa(i+2)
		c.Invalidate() // the racing read goes to the store
		rs.mu.Lock()
		rs.onGet = func() { must(t, w.write()) }
		rs.mu.Unlock()
		if got := token(); got != stale { // read before the write, returned after it
			t.Fatalf("%s: the racing read got %q, want %q", w.name, got, stale)
		}
		if got := token(); got != fresh {
			t.Errorf("%s: the read after it got %q, want %q (the racing read kept what it read)", w.name, got, fresh)
		}
	}
}
