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
			Holder: holder, Lease: time.Minute, Keep: 24 * time.Hour}
	}
	_, err := s.GetSideEffect(ctx, "asana-story", "k1")
	wantErr(t, err, store.ErrNotFound)

	got, err := s.ClaimSideEffect(ctx, claim("k1", "h1"))
	must(t, err)
	want := store.SideEffect{Scope: "asana-story", Key: "k1", Fingerprint: "fp-k1", Target: "asana:task:1",
		State: store.SideEffectPending, Holder: "h1", LeaseUntil: clk.Now().Add(time.Minute), Attempts: 1,
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
