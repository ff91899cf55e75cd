package storetest

import (
	"errors"
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
		"claimed creation": func(tx store.Tx) error { return tx.ClaimCreation(ctx, k, j.ID, "t9") },
		"creation of a linked task": func(tx store.Tx) error {
			return tx.ClaimCreation(ctx, store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Hour)}, j.ID, "t1")
		},
		"linked task of a create": func(tx store.Tx) error {
			dup := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j.ID, IssueID: "10003", IssueKey: "DEMO-3"}
			return tx.CreateLinkOfCreate(ctx, &dup, k, &store.SyncFieldState{Field: "link", AsanaValue: "a", JiraValue: "a"})
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
// result and the remote link's field state; without a claim or a remote
// link, just the link; a task linked already is ErrConflict and writes
// neither.
func testCreateLinkOfCreate(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://create.example")
	k := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Hour)}
	must(t, s.ClaimIdempotencyKey(ctx, k))
	k.Result = []byte(`{"issue_key":"DEMO-1"}`)
	remote := store.SyncFieldState{Field: "link", AsanaValue: "Task\nresolved=false", JiraValue: "Task\nresolved=false", Written: store.SideJira}
	l := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j.ID, IssueID: "10001", IssueKey: "DEMO-1", CreatedBy: "u1"}
	must(t, s.InTx(ctx, func(tx store.Tx) error { return tx.CreateLinkOfCreate(ctx, &l, k, &remote) }))
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

	bare := store.Link{WorkspaceGID: "100", TaskGID: "t2", JiraServerID: j.ID, IssueID: "10002", IssueKey: "DEMO-2"}
	must(t, s.CreateLinkOfCreate(ctx, &bare, store.IdempotencyKey{}, nil))
	if states, err := s.ListSyncFieldStates(ctx, bare.ID); err != nil || len(states) != 0 {
		t.Errorf("field states of a link without a remote link = %+v, %v", states, err)
	}

	other := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t3", ExpiresAt: clk.Now().Add(time.Hour)}
	must(t, s.ClaimIdempotencyKey(ctx, other))
	other.Result = []byte(`{"issue_key":"DEMO-4"}`)
	dup := store.Link{WorkspaceGID: "100", TaskGID: "t3", JiraServerID: j.ID, IssueID: "10001", IssueKey: "DEMO-1"}
	wantErr(t, s.CreateLinkOfCreate(ctx, &dup, other, &remote), store.ErrConflict)
	if gk, err := s.GetIdempotencyKey(ctx, other.Scope, other.Key); err != nil || len(gk.Result) != 0 {
		t.Errorf("claim of a conflicting create = %q, %v; want it still open", gk.Result, err)
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
	k := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t1", ExpiresAt: clk.Now().Add(time.Minute)}
	must(t, s.ClaimCreation(ctx, k, j.ID, "t1"))
	wantErr(t, s.ClaimCreation(ctx, k, j.ID, "t1"), store.ErrConflict)
	clk.Add(2 * time.Minute)
	k.ExpiresAt = clk.Now().Add(time.Minute)
	must(t, s.ClaimCreation(ctx, k, j.ID, "t1"))

	l := store.Link{WorkspaceGID: "100", TaskGID: "t2", JiraServerID: j.ID, IssueID: "10002", IssueKey: "DEMO-2"}
	must(t, s.CreateLink(ctx, &l))
	linked := store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":t2", ExpiresAt: clk.Now().Add(time.Minute)}
	wantErr(t, s.ClaimCreation(ctx, linked, j.ID, "t2"), store.ErrConflict)
	if _, err := s.GetIdempotencyKey(ctx, linked.Scope, linked.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claim of a linked task's creation stored: %v", err)
	}
	elsewhere := store.IdempotencyKey{Scope: "create_issue", Key: other.ID + ":t2", ExpiresAt: clk.Now().Add(time.Minute)}
	must(t, s.ClaimCreation(ctx, elsewhere, other.ID, "t2"))
}
