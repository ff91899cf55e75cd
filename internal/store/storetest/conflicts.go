package storetest

import (
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
		"auth state": func(tx store.Tx) error { return tx.PutAuthState(ctx, a) },
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
