package bridge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
)

type phaseNames struct {
	mu    sync.Mutex
	names []string
}

func (p *phaseNames) Phase(_ context.Context, name string, _ time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.names = append(p.names, name)
}

// A create whose context carries a PhaseRecorder reports its steps in the
// order they end; a repeat's claim finds the link.
func TestCreateReportsItsPhases(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	if err := e.Store.PutWorkspace(t.Context(), store.Workspace{GID: e.Seed.Workspace, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutConnection(t.Context(), store.Connection{WorkspaceGID: e.Seed.Workspace, JiraServerID: e.Server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	task := e.Seed.Tasks[2]
	id := bridge.Identity{User: e.Alice, Workspace: e.Seed.Workspace}
	values := bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": task.Name}
	var p phaseNames
	ctx := bridge.WithPhases(t.Context(), &p)
	if _, _, err := e.Bridge.CreateIssue(ctx, id, task.GID, values, bridge.CreateHooks{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"form.asana_task", "form", "claim", "lookup", "jira.create", "jira.remotelink",
		"link.insert", "link.tx", "create"}
	if diff := cmp.Diff(want, p.names); diff != "" {
		t.Errorf("phases of a create (-want +got):\n%s", diff)
	}

	p = phaseNames{}
	if _, _, err := e.Bridge.CreateIssue(ctx, id, task.GID, values, bridge.CreateHooks{}); err != nil {
		t.Fatal(err)
	}
	// The claim finds the link: no read before it.
	if diff := cmp.Diff([]string{"form.asana_task", "form", "claim", "create"}, p.names); diff != "" {
		t.Errorf("phases of a repeat (-want +got):\n%s", diff)
	}
}

// Jira created the issue, then the request's deadline passed while the
// remote link was being added: the link is stored all the same, or a
// repeat would find neither the link nor the issue's fingerprint.
func TestCreateStoresItsLinkAfterTheDeadline(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{JiraTimeout: 2 * time.Second})
	if err := e.Store.PutWorkspace(t.Context(), store.Workspace{GID: e.Seed.Workspace, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutConnection(t.Context(), store.Connection{WorkspaceGID: e.Seed.Workspace, JiraServerID: e.Server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	// Every request about an existing DEMO issue (the create's remote
	// link) answers only once the bridge gave up on it.
	if err := e.Jira.SetFaults(fakejira.Faults{LatencyMS: 4_000, PathPrefix: "/jira/rest/api/2/issue/DEMO-"}); err != nil {
		t.Fatal(err)
	}
	task := e.Seed.Tasks[2]
	id := bridge.Identity{User: e.Alice, Workspace: e.Seed.Workspace}
	values := bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": task.Name}
	c, _, err := e.Bridge.CreateIssue(t.Context(), id, task.GID, values, bridge.CreateHooks{})
	if err != nil {
		t.Fatalf("create whose remote link outlived the deadline: %v", err)
	}
	if c.RemoteLinked {
		t.Error("the remote link was not added, yet the create says it was")
	}
	l, err := e.Store.GetLinkByTask(t.Context(), e.Server.ID, task.GID)
	if err != nil {
		t.Fatalf("the link was not stored: %v", err)
	}
	if l.IssueKey != c.IssueKey || l.ID != c.LinkID {
		t.Errorf("stored link %s (%d), the create answered %s (%d)", l.IssueKey, l.ID, c.IssueKey, c.LinkID)
	}
}
