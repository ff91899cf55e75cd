package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var creationSweepTests = map[string]func(t *testing.T, newStore NewStore){
	"CreationIntent":          testCreationIntent,
	"UnresolvedCreations":     testUnresolvedCreations,
	"SweepTakeOver":           testSweepTakeOver,
	"SweepTakeOverOneWinner":  testSweepTakeOverOneWinner,
	"UnresolvedCreationsKept": testUnresolvedCreationsKept,
	"PostponeCreation":        testPostponeCreation,
	"WakeAwaitingReconnect":   testWakeAwaitingReconnect,
	"AbandonedCreations":      testAbandonedCreations,
}

// creation is the claim of task's creation on server j for user u in
// workspace w, live for ttl from now.
func creation(j store.JiraServer, task, u string, now time.Time, ttl time.Duration) store.IdempotencyKey {
	return store.IdempotencyKey{Scope: store.CreationScope, Key: j.ID + ":" + task, ExpiresAt: now.Add(ttl), WorkspaceGID: "w1", UserGID: u}
}

// claimed is creation, claimed (ClaimCreation, without a signature).
func claimed(t *testing.T, s store.Store, j store.JiraServer, task, u string, now time.Time, ttl time.Duration) store.IdempotencyKey {
	t.Helper()
	k := creation(j, task, u, now, ttl)
	_, _, err := s.ClaimCreation(t.Context(), k, j.ID, task, nil)
	must(t, err)
	return k
}

// intent reads the claim's intent, expired or not.
func intent(t *testing.T, s store.Store, key string) (workspace, user string) {
	t.Helper()
	must(t, s.DB().QueryRowContext(t.Context(), `SELECT workspace_gid, user_gid FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		store.CreationScope, key).Scan(&workspace, &user))
	return workspace, user
}

// testCreationIntent: a creation's claim records who creates and where,
// with or without a signature, and a claim made over an expired one, or a
// take-over, records its own.
func testCreationIntent(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://intent.example")
	plain, signed := creation(j, "t1", "u1", clk.Now(), time.Minute), creation(j, "t2", "u2", clk.Now(), time.Minute)
	_, _, err := s.ClaimCreation(ctx, plain, j.ID, "t1", nil)
	must(t, err)
	_, _, err = s.ClaimCreation(ctx, signed, j.ID, "t2", &store.SignedRequest{Signature: "sig", Route: "POST /submit", ExpiresAt: clk.Now().Add(5 * time.Minute)})
	must(t, err)
	got, err := s.GetIdempotencyKey(ctx, store.CreationScope, plain.Key)
	must(t, err)
	if got.WorkspaceGID != "w1" || got.UserGID != "u1" {
		t.Errorf("claim without a signature: intent %q, %q; want w1, u1", got.WorkspaceGID, got.UserGID)
	}
	if w, u := intent(t, s, signed.Key); w != "w1" || u != "u2" {
		t.Errorf("claim with a signature: intent %q, %q; want w1, u2", w, u)
	}

	// Expired: the next claim is another user's.
	clk.Add(2 * time.Minute)
	again := creation(j, "t1", "u3", clk.Now(), time.Minute)
	again.WorkspaceGID = "w2"
	_, _, err = s.ClaimCreation(ctx, again, j.ID, "t1", nil)
	must(t, err)
	if w, u := intent(t, s, plain.Key); w != "w2" || u != "u3" {
		t.Errorf("claim over an expired one: intent %q, %q; want w2, u3", w, u)
	}
	// Failed, then taken over by a third user's submit.
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, plain.Key, store.FailedCreation))
	taken, err := s.TakeOverIdempotencyKey(ctx, creation(j, "t1", "u4", clk.Now(), time.Minute), store.FailedCreation, time.Time{})
	must(t, err)
	if w, u := intent(t, s, plain.Key); !taken || w != "w1" || u != "u4" {
		t.Errorf("take-over of a failed claim: taken %v, intent %q, %q; want true, w1, u4", taken, w, u)
	}
}

// testUnresolvedCreations: the sweep lists the creations' claims that
// expired unfinished or failed, oldest expiry first, up to its limit; not
// a live claim, a completed one, another scope's, or one without an
// intent (taken before the intent was recorded).
func testUnresolvedCreations(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://unresolved.example")
	start := clk.Now()
	claim := func(task string, ttl time.Duration) store.IdempotencyKey {
		t.Helper()
		k := creation(j, task, "u-"+task, start, ttl)
		_, _, err := s.ClaimCreation(ctx, k, j.ID, task, nil)
		must(t, err)
		return k
	}
	unfinished := claim("unfinished", 2*time.Minute)
	failed := claim("failed", time.Minute)
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, failed.Key, store.FailedCreation))
	// A failed result written as text (an older writer) reads as failed.
	textFailed := claim("text", 3*time.Minute)
	_, err := s.DB().ExecContext(ctx, `UPDATE idempotency_keys SET result = '{"failed":true}' WHERE key = $1`, textFailed.Key)
	must(t, err)
	done := claim("done", time.Minute)
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, done.Key, []byte(`{"issue_key":"DEMO-1"}`)))
	claim("live", time.Hour)
	must(t, s.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "other", Key: "k", ExpiresAt: start.Add(time.Minute)}))
	_, err = s.DB().ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, result, expires_at, created_at) VALUES ($1, $2, NULL, $3, $3)`,
		store.CreationScope, j.ID+":older", start.UTC())
	must(t, err)

	keys := func(before time.Time, limit int) []string {
		t.Helper()
		got, err := s.ListUnresolvedCreations(ctx, before, limit)
		must(t, err)
		var out []string
		for _, k := range got {
			out = append(out, k.Key)
		}
		return out
	}
	at := start.Add(10 * time.Minute)
	for name, tc := range map[string]struct {
		before time.Time
		limit  int
		want   []string
	}{
		"all expired":      {at, 10, []string{failed.Key, unfinished.Key, textFailed.Key}},
		"a limit":          {at, 2, []string{failed.Key, unfinished.Key}},
		"before the first": {start.Add(30 * time.Second), 10, nil},
		"at an expiry":     {start.Add(2 * time.Minute), 10, []string{failed.Key, unfinished.Key}},
	} {
		if diff := cmp.Diff(tc.want, keys(tc.before, tc.limit)); diff != "" {
			t.Errorf("%s: unresolved creations (-want +got):\n%s", name, diff)
		}
	}
	got, err := s.ListUnresolvedCreations(ctx, at, 1)
	must(t, err)
	want := []store.IdempotencyKey{{Scope: store.CreationScope, Key: failed.Key, Result: store.FailedCreation,
		ExpiresAt: start.Add(time.Minute).Truncate(time.Microsecond), WorkspaceGID: "w1", UserGID: "u-failed"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.IdempotencyKey{}, "CreatedAt")); diff != "" {
		t.Errorf("the failed claim as listed (-want +got):\n%s", diff)
	}
}

// testSweepTakeOver: the sweep takes over an unresolved claim only while
// it is expired and still unresolved as listed, sets its new expiry and
// keeps its claimed time; the claim is live and unfinished then.
func testSweepTakeOver(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://sweeptake.example")
	start := clk.Now()
	k := claimed(t, s, j, "t1", "u1", start, 2*time.Minute)
	sweep := func(result []byte, at time.Time) bool {
		t.Helper()
		over := k
		over.ExpiresAt = at.Add(2 * time.Minute)
		taken, err := s.TakeOverIdempotencyKey(ctx, over, result, at)
		must(t, err)
		return taken
	}
	if sweep(nil, start.Add(time.Minute)) {
		t.Fatal("the sweep took over a live claim")
	}
	if _, err := s.TakeOverIdempotencyKey(ctx, k, nil, time.Time{}); err == nil {
		t.Error("a take-over of an unfinished claim without an expiry was accepted")
	}
	at := start.Add(3 * time.Minute)
	clk.Add(3 * time.Minute)
	if sweep(store.FailedCreation, at) {
		t.Fatal("the sweep took over an unfinished claim as a failed one")
	}
	if !sweep(nil, at) {
		t.Fatal("the sweep did not take over the expired unfinished claim")
	}
	if sweep(nil, at) {
		t.Fatal("the sweep took over the claim twice")
	}
	got, err := s.GetIdempotencyKey(ctx, store.CreationScope, k.Key)
	must(t, err)
	if got.Result != nil || !got.ExpiresAt.Equal(at.Add(2*time.Minute).Truncate(time.Microsecond)) || !got.CreatedAt.Equal(start.Truncate(time.Microsecond)) ||
		got.UserGID != "u1" {
		t.Errorf("claim after the sweep's take-over = %+v; want unfinished, expiring at %v, claimed at %v, u1's", got, at.Add(2*time.Minute), start)
	}
	// Failed and expired again: taken over as failed.
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, k.Key, store.FailedCreation))
	later := at.Add(5 * time.Minute)
	clk.Add(5 * time.Minute)
	if sweep(nil, later) {
		t.Fatal("the sweep took over a failed claim as an unfinished one")
	}
	if !sweep(store.FailedCreation, later) {
		t.Fatal("the sweep did not take over the expired failed claim")
	}
	// A submit claimed the creation after the sweep listed it: the
	// sweep's take-over finds it live.
	clk.Add(5 * time.Minute)
	_, _, err = s.ClaimCreation(ctx, creation(j, "t1", "u2", clk.Now(), 2*time.Minute), j.ID, "t1", nil)
	must(t, err)
	if sweep(nil, clk.Now()) {
		t.Fatal("the sweep took over the claim a submit made meanwhile")
	}
}

// testSweepTakeOverOneWinner: of sweeps on several replicas taking over
// the same expired claim at once, one takes it.
func testSweepTakeOverOneWinner(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://sweepwinner.example")
	k := creation(j, "t1", "u1", clk.Now(), time.Minute)
	_, _, err := s.ClaimCreation(ctx, k, j.ID, "t1", nil)
	must(t, err)
	at := clk.Now().Add(2 * time.Minute)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
		errs  []error
	)
	for range 8 {
		wg.Go(func() {
			over := k
			over.ExpiresAt = at.Add(time.Minute)
			ok, err := s.TakeOverIdempotencyKey(ctx, over, nil, at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				taken++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 || taken != 1 {
		t.Fatalf("eight sweeps at once took the claim over %d times (errors %v), want once", taken, errs)
	}
}

// testUnresolvedCreationsKept: the cleanup of expired records keeps an
// unresolved creation's claim for the sweep, until a week after it was
// claimed; a completed claim, another scope's and one without an intent
// go once expired.
func testUnresolvedCreationsKept(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://kept.example")
	start := clk.Now()
	for _, task := range []string{"unfinished", "failed", "done"} {
		_, _, err := s.ClaimCreation(ctx, creation(j, task, "u1", start, time.Minute), j.ID, task, nil)
		must(t, err)
	}
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, j.ID+":failed", store.FailedCreation))
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, j.ID+":done", []byte(`{"issue_key":"DEMO-1"}`)))
	must(t, s.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "other", Key: "k", ExpiresAt: start.Add(time.Minute)}))
	_, err := s.DB().ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, result, expires_at, created_at) VALUES ($1, $2, NULL, $3, $3)`,
		store.CreationScope, j.ID+":older", start.UTC())
	must(t, err)
	remaining := func() []string {
		t.Helper()
		got, err := s.ListUnresolvedCreations(ctx, start.Add(time.Hour), 10)
		must(t, err)
		var out []string
		for _, k := range got {
			out = append(out, k.Key)
		}
		return out
	}
	count := func() (n int) {
		t.Helper()
		must(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&n))
		return n
	}
	n, err := s.DeleteExpired(ctx, start.Add(time.Hour))
	must(t, err)
	want := []string{j.ID + ":unfinished", j.ID + ":failed"}
	if diff := cmp.Diff(want, remaining(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); n != 3 || count() != 2 || diff != "" {
		t.Fatalf("an hour on: DeleteExpired removed %d rows, %d left, want 3 and 2 (the unresolved, for the sweep): %s", n, count(), diff)
	}
	// A week on, the sweep lists them no more, and only the cleanup's
	// removal of abandoned creations, which names them, removes them.
	weekOn := start.Add(7*24*time.Hour + time.Minute)
	if left, err := s.ListUnresolvedCreations(ctx, weekOn, 10); err != nil || len(left) != 0 {
		t.Fatalf("unresolved creations listed a week on = %+v, %v; want none", left, err)
	}
	n, err = s.DeleteExpired(ctx, weekOn)
	must(t, err)
	if n != 0 || count() != 2 {
		t.Fatalf("a week on: DeleteExpired removed %d rows, %d left; want none removed, both unresolved left", n, count())
	}
	gone, err := s.DeleteAbandonedCreations(ctx, weekOn)
	must(t, err)
	var keys []string
	for _, k := range gone {
		keys = append(keys, k.Key)
	}
	if diff := cmp.Diff(want, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" || count() != 0 {
		t.Fatalf("a week on: abandoned creations removed (-want +got):\n%s%d left, want none", diff, count())
	}
}

// testAbandonedCreations: the claims of creations left unresolved (never
// finished, failed, or put off for a reconnect) and claimed more than a
// week ago go, expired, each returned with its intent and state; one
// claimed within the week, one not expired (a submit's, or the sweep's
// take-over, holds it), a completed one and one without an intent stay
// (the last two for DeleteExpired).
func testAbandonedCreations(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://abandoned.example")
	start := clk.Now()
	unfinished := claimed(t, s, j, "unfinished", "u1", start, time.Minute)
	failed := claimed(t, s, j, "failed", "u2", start, time.Minute)
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, failed.Key, store.FailedCreation))
	awaiting := putOff(t, s, clk, j, "awaiting", "u3", start.Add(3*time.Minute))
	live := claimed(t, s, j, "live", "u4", clk.Now(), 8*24*time.Hour)
	done := claimed(t, s, j, "done", "u5", clk.Now(), time.Minute)
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, done.Key, []byte(`{"issue_key":"DEMO-1"}`)))
	_, err := s.DB().ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, result, expires_at, created_at) VALUES ($1, $2, NULL, $3, $3)`,
		store.CreationScope, j.ID+":older", start.UTC())
	must(t, err)
	clk.Add(7*24*time.Hour - 2*time.Minute)
	recent := claimed(t, s, j, "recent", "u6", clk.Now(), time.Minute)

	at := start.Add(7*24*time.Hour + time.Hour)
	gone, err := s.DeleteAbandonedCreations(ctx, at)
	must(t, err)
	day := func(k store.IdempotencyKey, result []byte, expires time.Time) store.IdempotencyKey {
		k.Result, k.ExpiresAt = result, expires.Truncate(time.Microsecond)
		return k
	}
	want := []store.IdempotencyKey{
		day(awaiting, store.CreationAwaitingReconnect, start.Add(3*time.Minute)),
		day(failed, store.FailedCreation, start.Add(time.Minute)),
		day(unfinished, nil, start.Add(time.Minute)),
	}
	if diff := cmp.Diff(want, gone, cmpopts.IgnoreFields(store.IdempotencyKey{}, "CreatedAt"),
		cmpopts.SortSlices(func(a, b store.IdempotencyKey) bool { return a.Key < b.Key })); diff != "" {
		t.Errorf("abandoned creations removed (-want +got):\n%s", diff)
	}
	var left []string
	rows, err := s.DB().QueryContext(ctx, `SELECT key FROM idempotency_keys ORDER BY key`)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var k string
		must(t, rows.Scan(&k))
		left = append(left, k)
	}
	must(t, rows.Err())
	if diff := cmp.Diff([]string{done.Key, live.Key, j.ID + ":older", recent.Key}, left); diff != "" {
		t.Errorf("claims left (-want +got):\n%s", diff)
	}
	if again, err := s.DeleteAbandonedCreations(ctx, at); err != nil || len(again) != 0 {
		t.Errorf("a second removal = %+v, %v; want none", again, err)
	}
}

// testPostponeCreation: the sweep puts off a claim it took over until a
// later time: the claim awaits a reconnect (CreationAwaitingReconnect),
// keeps its claimed time, is listed again only once that time came, is
// kept by the cleanup meanwhile, and a submit takes it over at once. A
// claim no longer the sweep's as it took it (a submit claimed it anew
// after it lapsed, or the sweep put it off already) is left as it is.
func testPostponeCreation(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://postpone.example")
	start := clk.Now()
	k := claimed(t, s, j, "t1", "u1", start, 2*time.Minute)
	at := start.Add(3 * time.Minute)
	clk.Add(3 * time.Minute)
	taken := k
	taken.ExpiresAt = at.Add(2 * time.Minute)
	ok, err := s.TakeOverIdempotencyKey(ctx, taken, nil, at)
	must(t, err)
	if !ok {
		t.Fatal("the sweep did not take over the expired claim")
	}
	until := at.Add(10 * time.Minute)
	held, err := s.PostponeCreation(ctx, taken, until)
	must(t, err)
	if !held {
		t.Fatal("PostponeCreation found the claim the sweep took over not held")
	}
	if held, err := s.PostponeCreation(ctx, taken, until.Add(time.Hour)); err != nil || held {
		t.Errorf("PostponeCreation of a claim put off already = %v, %v; want not held", held, err)
	}
	put, err := s.GetIdempotencyKey(ctx, store.CreationScope, k.Key)
	must(t, err)
	want := store.IdempotencyKey{Scope: store.CreationScope, Key: k.Key, Result: store.CreationAwaitingReconnect, ExpiresAt: until.Truncate(time.Microsecond),
		CreatedAt: start.Truncate(time.Microsecond), WorkspaceGID: "w1", UserGID: "u1"}
	if diff := cmp.Diff(want, put); diff != "" {
		t.Errorf("the claim put off (-want +got):\n%s", diff)
	}
	listed := func(before time.Time) []store.IdempotencyKey {
		t.Helper()
		got, err := s.ListUnresolvedCreations(ctx, before, 10)
		must(t, err)
		return got
	}
	if got := listed(until.Add(-time.Second)); len(got) != 0 {
		t.Errorf("unresolved creations before the claim's time = %+v, want none", got)
	}
	if got := listed(until); len(got) != 1 || string(got[0].Result) != string(store.CreationAwaitingReconnect) {
		t.Errorf("unresolved creations at the claim's time = %+v, want the claim, awaiting a reconnect", got)
	}
	if _, err := s.DeleteExpired(ctx, until.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := listed(until.Add(time.Hour)); len(got) != 1 {
		t.Fatalf("unresolved creations after the cleanup = %+v, want the claim kept for the sweep", got)
	}
	// A submit while the claim is put off takes it over at once, as any
	// failed claim.
	ok, err = s.TakeOverIdempotencyKey(ctx, creation(j, "t1", "u1", clk.Now(), 2*time.Minute), put.Result, time.Time{})
	must(t, err)
	if !ok {
		t.Fatal("a submit could not take over the claim put off")
	}

	// Taken over by the sweep, lapsed, claimed anew by a submit: the
	// sweep's late postponement leaves the submit's claim as it is.
	k2 := claimed(t, s, j, "t2", "u1", clk.Now(), 2*time.Minute)
	clk.Add(3 * time.Minute)
	taken2 := k2
	taken2.ExpiresAt = clk.Now().Add(2 * time.Minute)
	ok, err = s.TakeOverIdempotencyKey(ctx, taken2, nil, clk.Now())
	must(t, err)
	if !ok {
		t.Fatal("the sweep did not take over the second expired claim")
	}
	clk.Add(3 * time.Minute)
	claimed(t, s, j, "t2", "u2", clk.Now(), 2*time.Minute) // a submit's
	if held, err := s.PostponeCreation(ctx, taken2, clk.Now().Add(time.Hour)); err != nil || held {
		t.Errorf("PostponeCreation of a claim a submit made meanwhile = %v, %v; want not held", held, err)
	}
	if got, err := s.GetIdempotencyKey(ctx, store.CreationScope, k2.Key); err != nil || got.Result != nil || got.UserGID != "u2" {
		t.Errorf("the submit's claim after the sweep's late postponement = %+v, %v; want unfinished, u2's", got, err)
	}
}

// putOff is the claim of task's creation on server j for user u as the
// sweep leaves it when u must reconnect Jira: claimed, expired, taken over
// and put off until until (CreationAwaitingReconnect). It moves the clock
// past the claim's expiry.
func putOff(t *testing.T, s store.Store, clk *clock, j store.JiraServer, task, u string, until time.Time) store.IdempotencyKey {
	t.Helper()
	k := claimed(t, s, j, task, u, clk.Now(), time.Minute)
	clk.Add(2 * time.Minute)
	taken := k
	taken.ExpiresAt = clk.Now().Add(2 * time.Minute)
	ok, err := s.TakeOverIdempotencyKey(t.Context(), taken, nil, clk.Now())
	must(t, err)
	held, err := s.PostponeCreation(t.Context(), taken, until)
	must(t, err)
	if !ok || !held {
		t.Fatalf("the sweep's take-over and postponement of %s = %v, %v; want both", k.Key, ok, held)
	}
	return k
}

// testWakeAwaitingReconnect: a user's reconnect to a server brings that
// user's claims put off for it on that server due then, and only those:
// one put off, due already, is left as it is, and so are a request's
// failed claim, a live one, a completed one, another user's, and another
// server's (whose id matches the server's as a LIKE pattern would). The
// sweep lists the claims woken at once; a second wake changes nothing.
func testWakeAwaitingReconnect(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	server := func(id string) store.JiraServer {
		t.Helper()
		j := SampleServer("https://"+id+".example", "key-"+id)
		j.ID = id
		must(t, s.CreateJiraServer(ctx, &j))
		return j
	}
	j, other := server("js_7"), server("jsx7")
	later := clk.Now().Add(6 * time.Hour)
	woken := putOff(t, s, clk, j, "woken", "u1", later)
	dueAlready := putOff(t, s, clk, j, "due", "u1", clk.Now().Add(time.Minute))
	putOff(t, s, clk, j, "bob", "u2", later)
	putOff(t, s, clk, other, "elsewhere", "u1", later)
	failed := claimed(t, s, j, "failed", "u1", clk.Now(), time.Hour)
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, failed.Key, store.FailedCreation))
	claimed(t, s, j, "live", "u1", clk.Now(), time.Hour)
	done := claimed(t, s, j, "done", "u1", clk.Now(), time.Hour)
	must(t, s.CompleteIdempotencyKey(ctx, store.CreationScope, done.Key, []byte(`{"issue_key":"DEMO-1"}`)))

	type state struct {
		Result  string
		Expires time.Time
	}
	states := func() map[string]state {
		t.Helper()
		rows, err := s.DB().QueryContext(ctx, `SELECT key, result, expires_at FROM idempotency_keys WHERE scope = $1`, store.CreationScope)
		must(t, err)
		defer rows.Close()
		out := map[string]state{}
		for rows.Next() {
			var (
				key    string
				result []byte
				at     time.Time
			)
			must(t, rows.Scan(&key, &result, &at))
			out[key] = state{string(result), at.UTC()}
		}
		must(t, rows.Err())
		return out
	}
	before := states()
	clk.Add(30 * time.Minute) // the reconnect, with one claim due already
	due := clk.Now()
	n, err := s.WakeCreationsAwaitingReconnect(ctx, j.ID, "u1", due)
	must(t, err)
	want := before
	want[woken.Key] = state{string(store.CreationAwaitingReconnect), due.UTC().Truncate(time.Microsecond)}
	if diff := cmp.Diff(want, states()); n != 1 || diff != "" {
		t.Errorf("the wake counted %d claims, want 1; claims after it (-want +got):\n%s", n, diff)
	}
	listed, err := s.ListUnresolvedCreations(ctx, due, 10)
	must(t, err)
	var keys []string
	for _, k := range listed {
		keys = append(keys, k.Key)
	}
	if diff := cmp.Diff([]string{dueAlready.Key, woken.Key}, keys); diff != "" {
		t.Errorf("claims the sweep lists at the reconnect (-want +got):\n%s", diff)
	}
	if n, err := s.WakeCreationsAwaitingReconnect(ctx, j.ID, "u1", due); err != nil || n != 0 {
		t.Errorf("a second wake = %d, %v; want none", n, err)
	}
}
