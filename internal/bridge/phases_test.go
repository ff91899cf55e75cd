package bridge_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
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
