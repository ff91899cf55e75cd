package bridge_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	"github.com/asanajira/asanajira/internal/store"
)

// claimAfter is the real store whose creation claims wait until release
// is closed.
type claimAfter struct {
	store.Store
	release chan struct{}
	// waited is set when a claim was let go by release, rather than by
	// the bound on its wait.
	waited atomic.Bool
}

func (s *claimAfter) ClaimCreation(ctx context.Context, k store.IdempotencyKey, serverID, taskGID string, sig *store.SignedRequest) (store.SignedRequest, bool, error) {
	select {
	case <-s.release:
		s.waited.Store(true)
	case <-time.After(10 * time.Second): // only turns a search that waits for the claim into a failure
	}
	return s.Store.ClaimCreation(ctx, k, serverID, taskGID, sig)
}

// releaseOn closes release when the step named ends.
type releaseOn struct {
	name    string
	release chan struct{}
	once    sync.Once
}

func (r *releaseOn) Phase(_ context.Context, name string, _ time.Duration) {
	if name == r.name {
		r.once.Do(func() { close(r.release) })
	}
}

// The globalId search of a create on a server known before its form does
// not wait for the creation's claim: it is answered while the claim is
// still being taken, and counts once the claim is.
func TestSearchDoesNotWaitForTheClaim(t *testing.T) {
	t.Parallel()
	held := &claimAfter{release: make(chan struct{})}
	e := bridgetest.New(t, bridgetest.Options{WrapStore: func(st store.Store) store.Store { held.Store = st; return held }})
	ctx := t.Context()
	if err := e.Store.PutWorkspace(ctx, store.Workspace{GID: e.Seed.Workspace, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutConnection(ctx, store.Connection{WorkspaceGID: e.Seed.Workspace, JiraServerID: e.Server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	task := e.Seed.Tasks[2]
	id := bridge.Identity{User: e.Alice, Workspace: e.Seed.Workspace}
	c, _, err := e.Bridge.CreateIssue(bridge.WithPhases(ctx, &releaseOn{name: "lookup", release: held.release}), id, task.GID,
		bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": task.Name}, bridge.CreateHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if !held.waited.Load() {
		t.Error("the claim was not taken once the search was answered: the search waited for it")
	}
	if c.Existing || c.IssueKey == "" {
		t.Errorf("created %+v, want a new issue", c)
	}
}
