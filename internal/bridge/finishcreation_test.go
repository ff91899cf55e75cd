package bridge_test

import (
	"errors"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// interruptedCreate is what a create that died after Jira's create and
// its remote link leaves: the issue in Jira named by the task's remote
// link, and alice's claim of the creation, unfinished, which expired and
// the sweep took over. It returns the claim and the issue's key.
func interruptedCreate(t *testing.T, e *bridgetest.Env, taskGID string) (store.IdempotencyKey, string) {
	t.Helper()
	ctx := t.Context()
	k := store.IdempotencyKey{Scope: store.CreationScope, Key: e.Server.ID + ":" + taskGID, ExpiresAt: e.Clock.Now().Add(bridge.CreateClaimTTL),
		WorkspaceGID: e.Seed.Workspace, UserGID: e.Alice}
	if _, _, err := e.Store.ClaimCreation(ctx, k, e.Server.ID, taskGID, nil); err != nil {
		t.Fatal(err)
	}
	jc := e.Admin(t)
	is, err := jc.CreateIssue(ctx, jira.IssueInput{Fields: map[string]any{"project": map[string]any{"key": "DEMO"},
		"issuetype": map[string]any{"id": "10002"}, "summary": "Interrupted"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jc.UpsertRemoteLink(ctx, is.Key, bridge.RemoteLinkFor(&asana.Task{GID: taskGID, Name: "Interrupted"})); err != nil {
		t.Fatal(err)
	}
	// Expired, and taken over by the sweep.
	e.Clock.Add(bridge.CreateClaimTTL + time.Second)
	k.ExpiresAt = e.Clock.Now().Add(bridge.CreateClaimTTL)
	if taken, err := e.Store.TakeOverIdempotencyKey(ctx, k, nil, e.Clock.Now()); err != nil || !taken {
		t.Fatalf("the sweep's take-over: %v, %v", taken, err)
	}
	return k, is.Key
}

// FinishCreation, as alice, links the issue an interrupted create left
// as a request would (the claim completed, the link's copy job marked
// still to enqueue); while Jira refuses alice's credential it changes
// nothing but the credential's mark for reconnection; and it refuses a
// claim that is not a creation's with its intent.
func TestFinishCreation(t *testing.T) {
	t.Parallel()
	e := connected(t, bridgetest.Options{})
	ctx := t.Context()
	task := e.Seed.Tasks[1].GID
	k, key := interruptedCreate(t, e, task)

	if !e.Jira.RevokeAccessToken(e.JiraToken) {
		t.Fatal("could not revoke alice's Jira token")
	}
	if _, err := e.Bridge.FinishCreation(ctx, k); !errors.Is(err, bridge.ErrReconnectNeeded) {
		t.Fatalf("FinishCreation with a refused credential = %v, want ErrReconnectNeeded", err)
	}
	if cred, err := e.Store.GetJiraCredential(ctx, e.Alice, e.Server.ID); err != nil || !cred.ReconnectNeeded {
		t.Errorf("alice's credential after Jira refused it: %+v, %v; want marked for reconnection", cred, err)
	}
	if left, err := e.Store.ListUnresolvedCreations(ctx, k.ExpiresAt, 10); err != nil || len(left) != 1 {
		t.Fatalf("unresolved claims after the refusal = %+v, %v; want the claim kept, for the next sweep once it lapses", left, err)
	}
	if _, err := e.Store.GetLinkByTask(ctx, e.Server.ID, task); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("link after the refusal: %v, want none", err)
	}

	e.Connect(t, "alice")
	c, err := e.Bridge.FinishCreation(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil || c.IssueKey != key || c.Existing || c.LinkID == 0 || c.RemoteLinked {
		t.Fatalf("FinishCreation = %+v, want %s linked now, its remote link left to the copy job", c, key)
	}
	l, err := e.Store.GetLinkByTask(ctx, e.Server.ID, task)
	if err != nil || l.IssueKey != key || l.CreatedBy != e.Alice || l.WorkspaceGID != e.Seed.Workspace {
		t.Fatalf("the task's link = %+v, %v; want to %s, alice's, in the workspace", l, err, key)
	}
	got, err := e.Store.GetIdempotencyKey(ctx, store.CreationScope, k.Key)
	if err != nil || len(got.Result) == 0 || string(got.Result) == string(store.FailedCreation) {
		t.Errorf("the claim after the link = %+v, %v; want completed", got, err)
	}
	if err := e.Store.InTx(ctx, func(tx store.Tx) error {
		if _, ok, err := tx.ClaimLinkCopy(ctx, c.LinkID); err != nil || !ok {
			return errors.Join(err, errors.New("the link's copy job is not marked still to enqueue"))
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	for _, bad := range []store.IdempotencyKey{
		{Scope: "other", Key: k.Key, UserGID: e.Alice},
		{Scope: store.CreationScope, Key: "no-task", UserGID: e.Alice},
		{Scope: store.CreationScope, Key: k.Key},
	} {
		if c, err := e.Bridge.FinishCreation(ctx, bad); err == nil || c != nil {
			t.Errorf("FinishCreation(%+v) = %+v, %v; want refused", bad, c, err)
		}
	}
}
