package bridge_test

import (
	"context"
	"slices"
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

// besideForm are the steps a create on a server known before its form
// takes while the form is built, each on its own.
var besideForm = map[string]bool{"claim": true, "lookup": true}

// together are the steps a create takes at once once Jira created the
// issue: they end in either order.
var together = map[string]bool{"jira.remotelink": true, "link.tx": true}

// split parts a create's steps into the request's, in the order they
// ended, and those taken beside the form, sorted.
func split(names []string) (request, beside []string) {
	for _, n := range names {
		if besideForm[n] {
			beside = append(beside, n)
		} else {
			request = append(request, n)
		}
	}
	slices.Sort(beside)
	return request, beside
}

// sortTogether is a request's steps with each run of those taken
// together sorted.
func sortTogether(names []string) []string {
	names = slices.Clone(names)
	for i := 0; i < len(names); i++ {
		j := i
		for j < len(names) && together[names[j]] {
			j++
		}
		slices.Sort(names[i:j])
		i = max(i, j-1)
	}
	return names
}

// A create whose context carries a PhaseRecorder reports its steps in the
// order they end: the form's, the wait for the claim and the search made
// while the form was built, Jira's create, the remote link's and the
// link's, taken together, and the wait for the link once the remote link
// was added; a repeat's claim finds the link. On a workspace
// with two servers and none named by the submit, the claim and the search
// follow the form, as the server is the form's to choose.
func TestCreateReportsItsPhases(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	if err := e.Store.PutWorkspace(ctx, store.Workspace{GID: e.Seed.Workspace, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutConnection(ctx, store.Connection{WorkspaceGID: e.Seed.Workspace, JiraServerID: e.Server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	id := bridge.Identity{User: e.Alice, Workspace: e.Seed.Workspace}
	for _, tc := range []struct {
		name string
		task int
		// twoServers connects a second server to the workspace first.
		twoServers, nameServer bool
		// request are the request's steps; beside, sorted, those taken
		// beside the form (none: all are the request's).
		request, beside []string
	}{
		{name: "create", task: 2, request: []string{"form.asana_task", "form", "await", "jira.create", "jira.remotelink", "link.tx", "await.link", "create"},
			beside: []string{"claim", "lookup"}},
		// The claim finds the link: no read before it (the search beside
		// it is let go).
		{name: "repeat", task: 2, request: []string{"form.asana_task", "form", "await", "create"}, beside: []string{"claim", "lookup"}},
		{name: "two servers, none named", task: 1, twoServers: true,
			request: []string{"form.asana_task", "form", "claim", "lookup", "jira.create", "jira.remotelink", "link.tx", "await.link", "create"}},
		{name: "two servers, one named (a repeat)", task: 1, nameServer: true,
			request: []string{"form.asana_task", "form", "await", "create"}, beside: []string{"claim", "lookup"}},
	} {
		if tc.twoServers {
			other := store.JiraServer{Name: "Other Jira", BaseURL: e.JiraURL + "/other", Version: e.Server.Version}
			if err := e.Store.CreateJiraServer(ctx, &other); err != nil {
				t.Fatal(err)
			}
			if err := e.Store.PutConnection(ctx, store.Connection{WorkspaceGID: e.Seed.Workspace, JiraServerID: other.ID}); err != nil {
				t.Fatal(err)
			}
		}
		task := e.Seed.Tasks[tc.task]
		values := bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": task.Name}
		if tc.nameServer {
			values[bridge.FieldServer] = e.Server.ID
		}
		var p phaseNames
		if _, _, err := e.Bridge.CreateIssue(bridge.WithPhases(ctx, &p), id, task.GID, values, bridge.CreateHooks{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		request, beside := p.names, []string(nil)
		if tc.beside != nil {
			request, beside = split(p.names)
		}
		request = sortTogether(request)
		if diff := cmp.Diff(tc.request, request); diff != "" {
			t.Errorf("%s: the request's phases (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.beside, beside); diff != "" {
			t.Errorf("%s: the phases beside the form (-want +got):\n%s", tc.name, diff)
		}
	}
}
