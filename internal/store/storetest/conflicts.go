package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// testConflictInsideTransaction: a write that answers ErrConflict inside InTx
// leaves the transaction usable, so a caller that handles the conflict can go
// on and commit. On PostgreSQL a unique violation would abort the whole
// transaction ("commit unexpectedly resulted in rollback"); the store's
// claiming writes must therefore never raise one.
func testConflictInsideTransaction(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://conflict.example")
	k := store.IdempotencyKey{Scope: "jira-webhook", Key: "delivery-1", ExpiresAt: clk.Now().Add(time.Hour)}
	must(t, s.ClaimIdempotencyKey(ctx, k))
	l := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j.ID, IssueID: "10001", IssueKey: "DEMO-1"}
	must(t, s.CreateLink(ctx, &l))
	a := store.AuthState{State: "st-1", Kind: "k", ExpiresAt: clk.Now().Add(time.Hour)}
	must(t, s.PutAuthState(ctx, a))

	conflicts := map[string]func(tx store.Tx) error{
		"claimed key": func(tx store.Tx) error { return tx.ClaimIdempotencyKey(ctx, k) },
		"linked task": func(tx store.Tx) error {
			dup := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j.ID, IssueID: "10002", IssueKey: "DEMO-2"}
			return tx.CreateLink(ctx, &dup)
		},
		"linked issue": func(tx store.Tx) error {
			dup := store.Link{WorkspaceGID: "100", TaskGID: "t2", JiraServerID: j.ID, IssueID: "10001", IssueKey: "DEMO-1"}
			return tx.CreateLink(ctx, &dup)
		},
		"auth state":       func(tx store.Tx) error { return tx.PutAuthState(ctx, a) },
		"claimed creation": func(tx store.Tx) error { _, _, err := tx.ClaimCreation(ctx, k, j.ID, "t9", nil); return err },
		"creation of a linked task": func(tx store.Tx) error {
			_, _, err := tx.ClaimCreation(ctx, store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Hour)}, j.ID, "t1", nil)
			return err
		},
		"signed creation of a linked task": func(tx store.Tx) error {
			_, _, err := tx.ClaimCreation(ctx, store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Hour)}, j.ID, "t1",
				&store.SignedRequest{Signature: "sig-in-tx", Route: "r", ExpiresAt: clk.Now().Add(time.Hour)})
			return err
		},
		"linked task of a create": func(tx store.Tx) error {
			dup := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j.ID, IssueID: "10003", IssueKey: "DEMO-3"}
			return tx.CreateLinkOfCreate(ctx, &dup, store.LinkOfCreate{Claim: k, RemoteLink: &store.SyncFieldState{Field: "link", AsanaValue: "a", JiraValue: "a"},
				Answer: &store.SignedRequest{Signature: "answer-in-tx", Route: "r", Status: 200, ExpiresAt: clk.Now().Add(time.Hour)}})
		},
	}
	for name, conflict := range conflicts {
		ws := "ws-after-" + name
		err := s.InTx(ctx, func(tx store.Tx) error {
			wantErr(t, conflict(tx), store.ErrConflict)
			// The conflict was handled: the transaction goes on.
			return tx.PutWorkspace(ctx, store.Workspace{GID: ws, Name: name})
		})
		if err != nil {
			t.Fatalf("%s: InTx after a handled conflict = %v, want the commit to succeed", name, err)
		}
		if _, err := s.GetWorkspace(ctx, ws); err != nil {
			t.Fatalf("%s: the write after the handled conflict was not committed: %v", name, err)
		}
	}
}

// testCreateLinkOfCreate: a create's link is stored with its claim's
// result, the remote link's field state and the answer of the signed
// request that asked for it; without them, just the link; a task linked
// already is ErrConflict and writes none of them.
func testCreateLinkOfCreate(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://create.example")
	k := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Hour)}
	must(t, s.ClaimIdempotencyKey(ctx, k))
	k.Result = []byte(`{"issue_key":"DEMO-1"}`)
	remote := store.SyncFieldState{Field: "link", AsanaValue: "Task\nresolved=false", JiraValue: "Task\nresolved=false", Written: store.SideJira}
	sig := func(name string) store.SignedRequest {
		return store.SignedRequest{Signature: name, Route: "POST /submit", ExpiresAt: clk.Now().Add(5 * time.Minute)}
	}
	answer := func(name string) *store.SignedRequest {
		a := sig(name)
		a.Status, a.Response = 200, []byte(`{"resource_name":"`+name+`"}`)
		return &a
	}
	claimSig := func(name string) {
		t.Helper()
		if _, claimed, err := s.ClaimSignedRequest(ctx, sig(name)); err != nil || !claimed {
			t.Fatalf("claim %s = %v, %v", name, claimed, err)
		}
	}
	record := func(name string) store.SignedRequest {
		t.Helper()
		r, err := s.GetSignedRequest(ctx, name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return r
	}
	claimSig("own")
	l := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j.ID, IssueID: "10001", IssueKey: "DEMO-1", CreatedBy: "u1"}
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateLinkOfCreate(ctx, &l, store.LinkOfCreate{Claim: k, RemoteLink: &remote, Answer: answer("own"), Claimed: true})
	}))
	got, err := s.GetLinkByTask(ctx, j.ID, "t1")
	must(t, err)
	if got.ID != l.ID || got.IssueKey != "DEMO-1" || got.CreatedBy != "u1" || l.CreatedAt.IsZero() {
		t.Errorf("link = %+v, stored %+v", l, got)
	}
	gk, err := s.GetIdempotencyKey(ctx, k.Scope, k.Key)
	must(t, err)
	if string(gk.Result) != string(k.Result) {
		t.Errorf("claim's result = %q, want %q", gk.Result, k.Result)
	}
	states, err := s.ListSyncFieldStates(ctx, l.ID)
	must(t, err)
	remote.LinkID = l.ID
	if len(states) != 1 || states[0].LinkID != l.ID || states[0].Field != "link" || states[0].AsanaValue != remote.AsanaValue ||
		states[0].JiraValue != remote.JiraValue || states[0].Written != store.SideJira {
		t.Errorf("field states = %+v, want %+v", states, remote)
	}
	if r := record("own"); r.Status != 200 || string(r.Response) != `{"resource_name":"own"}` || r.Route != "POST /submit" {
		t.Errorf("answer over the request's own claim = %+v", r)
	}

	bare := store.Link{WorkspaceGID: "100", TaskGID: "t2", JiraServerID: j.ID, IssueID: "10002", IssueKey: "DEMO-2"}
	must(t, s.CreateLinkOfCreate(ctx, &bare, store.LinkOfCreate{}))
	if states, err := s.ListSyncFieldStates(ctx, bare.ID); err != nil || len(states) != 0 {
		t.Errorf("field states of a link without a remote link = %+v, %v", states, err)
	}

	// An answer whose request claimed nothing: written when there is no
	// record or an expired one, not over another copy's live claim.
	claimSig("running")
	old := sig("old")
	old.ExpiresAt = clk.Now().Add(time.Second)
	if _, claimed, err := s.ClaimSignedRequest(ctx, old); err != nil || !claimed {
		t.Fatalf("claim old = %v, %v", claimed, err)
	}
	clk.Add(time.Minute)
	for i, name := range []string{"none", "running", "old"} {
		task := fmt.Sprintf("a%d", i)
		l := store.Link{WorkspaceGID: "100", TaskGID: task, JiraServerID: j.ID, IssueID: "2000" + task, IssueKey: "DEMO-2" + fmt.Sprint(i)}
		must(t, s.CreateLinkOfCreate(ctx, &l, store.LinkOfCreate{Answer: answer(name)}))
	}
	if r := record("none"); r.Status != 200 || string(r.Response) != `{"resource_name":"none"}` || r.Route != "POST /submit" {
		t.Errorf("answer of a request without a record = %+v", r)
	}
	if r := record("running"); r.Status != 0 || len(r.Response) != 0 {
		t.Errorf("answer written over another copy's claim: %+v", r)
	}
	if r := record("old"); r.Status != 200 || string(r.Response) != `{"resource_name":"old"}` {
		t.Errorf("answer over an expired record = %+v", r)
	}

	other := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t3", ExpiresAt: clk.Now().Add(time.Hour)}
	must(t, s.ClaimIdempotencyKey(ctx, other))
	other.Result = []byte(`{"issue_key":"DEMO-4"}`)
	claimSig("dup")
	dup := store.Link{WorkspaceGID: "100", TaskGID: "t3", JiraServerID: j.ID, IssueID: "10001", IssueKey: "DEMO-1"}
	wantErr(t, s.CreateLinkOfCreate(ctx, &dup, store.LinkOfCreate{Claim: other, RemoteLink: &remote, Answer: answer("dup"), Claimed: true}), store.ErrConflict)
	if gk, err := s.GetIdempotencyKey(ctx, other.Scope, other.Key); err != nil || len(gk.Result) != 0 {
		t.Errorf("claim of a conflicting create = %q, %v; want it still open", gk.Result, err)
	}
	if r := record("dup"); r.Status != 0 {
		t.Errorf("answer of a conflicting create recorded: %+v", r)
	}
}

// testClaimCreation: the creation of a task's issue is claimed once, not
// while the claim is live, again once it expired, and never for a task
// linked on that server (whatever the key).
func testClaimCreation(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://claim.example")
	other := createServer(t, s, "https://other.example")
	claim := func(k store.IdempotencyKey, serverID, task string) error {
		_, repeat, err := s.ClaimCreation(ctx, k, serverID, task, nil)
		if repeat {
			t.Errorf("claim of %s without a signature told a repeat", k.Key)
		}
		return err
	}
	k := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Minute)}
	must(t, claim(k, j.ID, "t1"))
	wantErr(t, claim(k, j.ID, "t1"), store.ErrConflict)
	clk.Add(2 * time.Minute)
	k.ExpiresAt = clk.Now().Add(time.Minute)
	must(t, claim(k, j.ID, "t1"))

	l := store.Link{WorkspaceGID: "100", TaskGID: "t2", JiraServerID: j.ID, IssueID: "10002", IssueKey: "DEMO-2"}
	must(t, s.CreateLink(ctx, &l))
	linked := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t2", ExpiresAt: clk.Now().Add(time.Minute)}
	wantErr(t, claim(linked, j.ID, "t2"), store.ErrConflict)
	if _, err := s.GetIdempotencyKey(ctx, linked.Scope, linked.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claim of a linked task's creation stored: %v", err)
	}
	elsewhere := store.IdempotencyKey{Scope: "create_issue", Key: other.ID + ":t2", ExpiresAt: clk.Now().Add(time.Minute)}
	must(t, claim(elsewhere, other.ID, "t2"))
}

// testClaimSignedCreation: a creation claimed with the signed request
// asking for it records both or neither. A signature recorded already
// (a repeat, answered or still running, or the same signature sent to
// another route) is told, whatever the creation's claim, and writes
// nothing; a creation claimed already or a task linked already is
// ErrConflict and leaves the signature unrecorded; an expired claim and an
// expired signature are taken over.
func testClaimSignedCreation(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://signed.example")
	key := func(task string) store.IdempotencyKey {
		return store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":" + task, ExpiresAt: clk.Now().Add(time.Minute)}
	}
	sig := func(name string) *store.SignedRequest {
		return &store.SignedRequest{Signature: name, Route: "POST /submit", ExpiresAt: clk.Now().Add(5 * time.Minute)}
	}
	claim := func(task string, sr *store.SignedRequest) (store.SignedRequest, bool, error) {
		return s.ClaimCreation(ctx, key(task), j.ID, task, sr)
	}
	signed := func(name string) (store.SignedRequest, bool) {
		t.Helper()
		r, err := s.GetSignedRequest(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return r, false
		}
		must(t, err)
		return r, true
	}
	claimedKey := func(task string) bool {
		t.Helper()
		_, err := s.GetIdempotencyKey(ctx, "create_issue", j.ID+":"+task)
		if errors.Is(err, store.ErrNotFound) {
			return false
		}
		must(t, err)
		return true
	}

	// Both are recorded.
	if _, repeat, err := claim("t1", sig("a")); err != nil || repeat {
		t.Fatalf("first claim = %v, %v; want claimed", repeat, err)
	}
	if r, ok := signed("a"); !ok || r.Status != 0 || r.Route != "POST /submit" || !claimedKey("t1") {
		t.Fatalf("after the claim: signature %+v (%v), creation claimed %v", r, ok, claimedKey("t1"))
	}
	// The same request again, while running and once answered: told as a
	// repeat, whatever the creation's claim says.
	first, repeat, err := claim("t1", sig("a"))
	must(t, err)
	if !repeat || first.Signature != "a" || first.Status != 0 || first.Route != "POST /submit" {
		t.Fatalf("repeat while running = %+v, %v", first, repeat)
	}
	must(t, s.FinishSignedRequest(ctx, "a", 200, []byte(`{"ok":true}`)))
	must(t, s.CompleteIdempotencyKey(ctx, "create_issue", j.ID+":t1", []byte(`{}`)))
	first, repeat, err = claim("t1", sig("a"))
	must(t, err)
	if !repeat || first.Status != 200 || string(first.Response) != `{"ok":true}` {
		t.Fatalf("repeat once answered = %+v, %v", first, repeat)
	}
	// ... and for another task, nothing is claimed.
	if first, repeat, err := claim("t5", sig("a")); err != nil || !repeat || first.Status != 200 || claimedKey("t5") {
		t.Fatalf("the signature with another task = %+v, %v, %v; creation claimed %v", first, repeat, err, claimedKey("t5"))
	}

	// Another request for a task being created: ErrConflict, its
	// signature not recorded.
	_, repeat, err = claim("t1", sig("b"))
	wantErr(t, err, store.ErrConflict)
	if _, ok := signed("b"); ok || repeat {
		t.Fatalf("signature of a conflicting claim recorded (%v) or told a repeat (%v)", ok, repeat)
	}
	// A task linked already: the same.
	l := store.Link{WorkspaceGID: "100", TaskGID: "t2", JiraServerID: j.ID, IssueID: "10002", IssueKey: "DEMO-2"}
	must(t, s.CreateLink(ctx, &l))
	_, _, err = claim("t2", sig("c"))
	wantErr(t, err, store.ErrConflict)
	if _, ok := signed("c"); ok || claimedKey("t2") {
		t.Fatalf("claim of a linked task recorded its signature (%v) or its creation (%v)", ok, claimedKey("t2"))
	}

	// Expired, the creation's claim and the signature are taken over.
	clk.Add(10 * time.Minute)
	if _, repeat, err := claim("t1", sig("a")); err != nil || repeat {
		t.Fatalf("claim over an expired claim and signature = %v, %v", repeat, err)
	}
	if r, ok := signed("a"); !ok || r.Status != 0 {
		t.Fatalf("signature after the takeover = %+v, %v", r, ok)
	}

	// A signature recorded by a request that answered without creating.
	_, claimedSig, err := s.ClaimSignedRequest(ctx, *sig("d"))
	must(t, err)
	if !claimedSig {
		t.Fatal("signature d not claimed")
	}
	if first, repeat, err := claim("t3", sig("d")); err != nil || !repeat || first.Signature != "d" || claimedKey("t3") {
		t.Fatalf("claim with a recorded signature = %+v, %v, %v; creation claimed %v", first, repeat, err, claimedKey("t3"))
	}
	// ... also when it is recorded while the claim runs: the creation's
	// claim, if taken, is let go.
	type result struct {
		first  store.SignedRequest
		repeat bool
		err    error
	}
	done := make(chan result, 1)
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		if _, claimed, err := tx.ClaimSignedRequest(ctx, *sig("f")); err != nil || !claimed {
			return fmt.Errorf("claim f in tx = %v, %w", claimed, err)
		}
		go func() {
			first, repeat, err := claim("t4", sig("f"))
			done <- result{first, repeat, err}
		}()
		// Mostly long enough for the claim to start before this commits
		// and wait for it (on PostgreSQL its snapshot then misses the
		// signature); if not, it comes after and finds it: the same answer.
		time.Sleep(200 * time.Millisecond)
		return nil
	}))
	if r := <-done; r.err != nil || !r.repeat || r.first.Signature != "f" || claimedKey("t4") {
		t.Fatalf("claim while the signature is recorded = %+v; creation claimed %v", r, claimedKey("t4"))
	}
	if _, _, err := s.ClaimCreation(ctx, key("t3"), j.ID, "t3", &store.SignedRequest{Signature: "e"}); err == nil {
		t.Error("a signature without expiry was accepted")
	}
}

// testSignedCreationOneClaim: copies of the same signed request and other
// requests for the same task, claiming at once, leave one claim holder;
// every copy of it that did not win is told a repeat or a conflict.
func testSignedCreationOneClaim(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://race.example")
	k := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Minute)}
	claims := winners(t, 8, func(i int) (bool, error) {
		name := "same"
		if i%2 == 1 {
			name = fmt.Sprintf("other-%d", i)
		}
		_, repeat, err := s.ClaimCreation(ctx, k, j.ID, "t1", &store.SignedRequest{Signature: name, Route: "r", ExpiresAt: clk.Now().Add(time.Minute)})
		if errors.Is(err, store.ErrConflict) || repeat {
			return false, nil
		}
		return err == nil, err
	})
	if len(claims) != 1 {
		t.Fatalf("claimed by %v, want exactly one", claims)
	}
}
