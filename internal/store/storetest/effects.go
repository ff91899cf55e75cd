package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Clock is a settable clock for tests of the packages above the store, so
// they can let leases and expiries lapse.
type Clock = clock

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &clock{t: t} }

// testSideEffects: the ledger of external writes records an intent once,
// leases it to one attempt at a time, lets another attempt take over only
// once the lease lapsed or was released, and keeps the result of a done
// write for every later attempt.
func testSideEffects(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	claim := func(key, holder string) store.SideEffectClaim {
		return store.SideEffectClaim{Scope: "asana-story", Key: key, Fingerprint: "fp-" + key, Target: "asana:task:1",
			Digest: "says-" + holder, Author: "user-" + holder, Holder: holder, Lease: time.Minute, Keep: 24 * time.Hour}
	}
	_, err := s.GetSideEffect(ctx, "asana-story", "k1")
	wantErr(t, err, store.ErrNotFound)

	got, err := s.ClaimSideEffect(ctx, claim("k1", "h1"))
	must(t, err)
	want := store.SideEffect{Scope: "asana-story", Key: "k1", Fingerprint: "fp-k1", Target: "asana:task:1",
		Digest: "says-h1", Author: "user-h1", State: store.SideEffectPending, Holder: "h1", LeaseUntil: clk.Now().Add(time.Minute), Attempts: 1,
		CreatedAt: clk.Now(), UpdatedAt: clk.Now(), ExpiresAt: clk.Now().Add(24 * time.Hour)}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Fatalf("first claim (-want +got):\n%s", diff)
	}
	read, err := s.GetSideEffect(ctx, "asana-story", "k1")
	must(t, err)
	if diff := cmp.Diff(got, read, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Fatalf("GetSideEffect (-claimed +read):\n%s", diff)
	}

	// A live lease keeps every other attempt out, the holder's own too.
	for _, h := range []string{"h2", "h1"} {
		busy, err := s.ClaimSideEffect(ctx, claim("k1", h))
		wantErr(t, err, store.ErrConflict)
		if busy.Holder != "h1" || busy.State != store.SideEffectPending {
			t.Fatalf("busy claim by %s returned %+v", h, busy)
		}
	}
	// A released lease goes to the next attempt, which knows it is not the
	// first.
	wantErr(t, s.ReleaseSideEffect(ctx, "asana-story", "k1", "h2"), store.ErrConflict)
	must(t, s.ReleaseSideEffect(ctx, "asana-story", "k1", "h1"))
	got, err = s.ClaimSideEffect(ctx, claim("k1", "h2"))
	must(t, err)
	if got.Holder != "h2" || got.Attempts != 2 || got.State != store.SideEffectPending {
		t.Fatalf("claim after release = %+v", got)
	}
	// What the write says and who makes it stay as the intent recorded them.
	if got.Digest != "says-h1" || got.Author != "user-h1" {
		t.Fatalf("a later claim changed the intent's digest and author: %+v", got)
	}
	// Only the holder records the result.
	wantErr(t, s.CompleteSideEffect(ctx, "asana-story", "k1", "h1", "story-1"), store.ErrConflict)
	must(t, s.CompleteSideEffect(ctx, "asana-story", "k1", "h2", "story-2"))
	wantErr(t, s.CompleteSideEffect(ctx, "asana-story", "k1", "h2", "story-3"), store.ErrConflict)
	wantErr(t, s.ReleaseSideEffect(ctx, "asana-story", "k1", "h2"), store.ErrConflict)
	wantErr(t, s.CompleteSideEffect(ctx, "asana-story", "nope", "h2", "x"), store.ErrNotFound)
	wantErr(t, s.ReleaseSideEffect(ctx, "asana-story", "nope", "h2"), store.ErrNotFound)
	// A done side effect is returned as it is to every later attempt.
	for _, h := range []string{"h3", "h2"} {
		done, err := s.ClaimSideEffect(ctx, claim("k1", h))
		must(t, err)
		if done.State != store.SideEffectDone || done.Result != "story-2" || done.Attempts != 2 {
			t.Fatalf("claim of a done side effect by %s = %+v", h, done)
		}
	}

	// A lease that lapsed (its holder died) goes to the next attempt.
	_, err = s.ClaimSideEffect(ctx, claim("k2", "dead"))
	must(t, err)
	clk.Add(59 * time.Second)
	_, err = s.ClaimSideEffect(ctx, claim("k2", "h4"))
	wantErr(t, err, store.ErrConflict)
	clk.Add(time.Second)
	got, err = s.ClaimSideEffect(ctx, claim("k2", "h4"))
	must(t, err)
	if got.Holder != "h4" || got.Attempts != 2 {
		t.Fatalf("claim after the lease lapsed = %+v", got)
	}
	wantErr(t, s.CompleteSideEffect(ctx, "asana-story", "k2", "dead", "late"), store.ErrConflict)

	// Another scope is another side effect.
	other := claim("k1", "h5")
	other.Scope = "jira-comment"
	got, err = s.ClaimSideEffect(ctx, other)
	must(t, err)
	if got.Attempts != 1 || got.Holder != "h5" {
		t.Fatalf("same key in another scope = %+v", got)
	}
	bad := claim("k3", "h6")
	bad.Lease = 0
	if _, err := s.ClaimSideEffect(ctx, bad); err == nil || errors.Is(err, store.ErrConflict) {
		t.Fatalf("a claim without a lease = %v, want a usage error", err)
	}

	// Expired records go with DeleteExpired.
	clk.Add(25 * time.Hour)
	n, err := s.DeleteExpired(ctx, clk.Now())
	must(t, err)
	if n != 3 {
		t.Fatalf("DeleteExpired removed %d rows, want the 3 side effects", n)
	}
	_, err = s.GetSideEffect(ctx, "asana-story", "k1")
	wantErr(t, err, store.ErrNotFound)
}

// testSideEffectsByTarget: the ledger tells which stories and comments are
// recorded results of writes to a target, and lists a target's writes,
// pending ones with what they say.
func testSideEffectsByTarget(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	write := func(scope, key, target, result string) {
		t.Helper()
		_, err := s.ClaimSideEffect(ctx, store.SideEffectClaim{Scope: scope, Key: key, Fingerprint: "fp", Target: target,
			Digest: "d-" + key, Author: "a-" + key, Holder: "h-" + key, Lease: time.Minute, Keep: time.Hour})
		must(t, err)
		if result != "" {
			must(t, s.CompleteSideEffect(ctx, scope, key, "h-"+key, result))
		}
		clk.Add(time.Second)
	}
	write("note", "1", "asana:task:1", "story-1")
	write("mirror", "2", "asana:task:1", "story-2")
	write("note", "3", "asana:task:1", "") // pending
	write("note", "4", "asana:task:2", "story-4")
	write("comment", "5", "jira:srv:issue:10", "10100")

	for _, c := range []struct {
		target, result string
		want           bool
	}{
		{"asana:task:1", "story-1", true},
		{"asana:task:1", "story-2", true},
		{"asana:task:1", "story-4", false}, // another task's
		{"asana:task:2", "story-4", true},
		{"asana:task:1", "", false}, // a pending write's empty result
		{"jira:srv:issue:10", "10100", true},
		{"jira:srv:issue:11", "10100", false},
	} {
		got, err := s.SideEffectResultRecorded(ctx, c.target, c.result)
		must(t, err)
		if got != c.want {
			t.Errorf("SideEffectResultRecorded(%q, %q) = %v, want %v", c.target, c.result, got, c.want)
		}
	}

	got, err := s.ListSideEffectsByTarget(ctx, "asana:task:1", "jira:srv:issue:10")
	must(t, err)
	type row struct{ Key, State, Result, Digest, Author string }
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.Key, string(e.State), e.Result, e.Digest, e.Author})
	}
	want := []row{
		{"1", "done", "story-1", "d-1", "a-1"},
		{"2", "done", "story-2", "d-2", "a-2"},
		{"3", "pending", "", "d-3", "a-3"},
		{"5", "done", "10100", "d-5", "a-5"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("ListSideEffectsByTarget (-want +got):\n%s", diff)
	}
	none, err := s.ListSideEffectsByTarget(ctx)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("no targets listed %d side effects", len(none))
	}
}

// testSideEffectOneHolder: of attempts claiming one new side effect at
// once, exactly one gets the lease; a busy claim inside a transaction
// leaves it usable.
func testSideEffectOneHolder(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		holders []string
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := fmt.Sprintf("attempt-%d", i)
			got, err := s.ClaimSideEffect(ctx, store.SideEffectClaim{Scope: "asana-story", Key: "race", Fingerprint: "fp",
				Holder: h, Lease: time.Minute, Keep: time.Hour})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && got.Holder == h:
				holders = append(holders, h)
			case errors.Is(err, store.ErrConflict):
			default:
				errs = append(errs, fmt.Errorf("%s: %+v, %w", h, got, err))
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 || len(holders) != 1 {
		t.Fatalf("%d attempts got the lease (%v), errors %v; want exactly one", len(holders), holders, errs)
	}

	must(t, s.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.ClaimSideEffect(ctx, store.SideEffectClaim{Scope: "asana-story", Key: "race", Fingerprint: "fp",
			Holder: "late", Lease: time.Minute, Keep: time.Hour})
		wantErr(t, err, store.ErrConflict)
		return tx.PutWorkspace(ctx, store.Workspace{GID: "after-busy-claim", Name: "x"})
	}))
	if _, err := s.GetWorkspace(ctx, "after-busy-claim"); err != nil {
		t.Fatalf("the write after a busy claim was not committed: %v", err)
	}
}
