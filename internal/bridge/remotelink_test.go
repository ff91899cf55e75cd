package bridge_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// connected is a bench whose workspace has its Jira server as default.
func connected(t *testing.T, o bridgetest.Options) *bridgetest.Env {
	t.Helper()
	e := bridgetest.New(t, o)
	if err := e.Store.PutWorkspace(t.Context(), store.Workspace{GID: e.Seed.Workspace, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutConnection(t.Context(), store.Connection{WorkspaceGID: e.Seed.Workspace, JiraServerID: e.Server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	return e
}

// remoteLinks are the globalIds of an issue's remote links.
func remoteLinks(t *testing.T, e *bridgetest.Env, key string) []string {
	t.Helper()
	is, ok := e.Jira.Issue(key)
	if !ok {
		t.Fatalf("Jira has no %s", key)
	}
	var ids []string
	for _, l := range is.RemoteLinks {
		ids = append(ids, l.GlobalID)
	}
	return ids
}

// fieldStates are the fields a link has a sync state of.
func fieldStates(t *testing.T, e *bridgetest.Env, linkID int64) []string {
	t.Helper()
	states, err := e.Store.ListSyncFieldStates(t.Context(), linkID)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, s := range states {
		fields = append(fields, s.Field)
	}
	return fields
}

// A create adds the issue's remote link while it stores the link: with
// Jira holding the remote link's request, the store has the link (and
// the remote link's state) before Jira answered it.
func TestCreateStoresItsLinkWhileTheRemoteLinkIsAdded(t *testing.T) {
	t.Parallel()
	e := connected(t, bridgetest.Options{JiraTimeout: 20 * time.Second})
	// Every request about an existing DEMO issue (the create's remote
	// link) answers two seconds late.
	if err := e.Jira.SetFaults(fakejira.Faults{LatencyMS: 2_000, PathPrefix: "/jira/rest/api/2/issue/DEMO-"}); err != nil {
		t.Fatal(err)
	}
	task := e.Seed.Tasks[2]
	id := bridge.Identity{User: e.Alice, Workspace: e.Seed.Workspace}
	values := bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": task.Name}
	type created struct {
		c   *bridge.Created
		err error
	}
	done := make(chan created, 1)
	go func() {
		c, _, err := e.Bridge.CreateIssue(t.Context(), id, task.GID, values, bridge.CreateHooks{})
		done <- created{c, err}
	}()
	var l store.Link
	for {
		var err error
		if l, err = e.Store.GetLinkByTask(t.Context(), e.Server.ID, task.GID); err == nil {
			break
		}
		select {
		case <-t.Context().Done():
			t.Fatal("the link was never stored")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if got := remoteLinks(t, e, l.IssueKey); len(got) != 0 {
		t.Errorf("the link was stored once Jira had answered the remote link (%v), not while it was added", got)
	}
	if diff := cmp.Diff([]string{bridge.RemoteLinkField}, fieldStates(t, e, l.ID)); diff != "" {
		t.Errorf("field states stored with the link (-want +got):\n%s", diff)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("create: %v", r.err)
	}
	if !r.c.RemoteLinked || r.c.LinkID != l.ID || r.c.Existing {
		t.Errorf("create = %+v, want the remote link added and link %d stored", r.c, l.ID)
	}
	if diff := cmp.Diff([]string{bridge.GlobalID(task.GID)}, remoteLinks(t, e, l.IssueKey)); diff != "" {
		t.Errorf("remote links once the create answered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{bridge.RemoteLinkField}, fieldStates(t, e, l.ID)); diff != "" {
		t.Errorf("field states once the create answered (-want +got):\n%s", diff)
	}
}

// A create whose remote link fails (Jira refusing it, or answering after
// the request's deadline) stores its link all the same (or a repeat would
// find neither the link nor the issue's fingerprint), without the remote
// link's state, so the two-way sync's first run does not take it for
// written, and the link's copy job, told the request did not add it, adds
// it: one remote link on the issue, by the task's globalId.
func TestCreateForgetsARemoteLinkThatFailed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fault  fakejira.Faults
		jiraTO time.Duration
	}{
		{"refused", fakejira.Faults{ErrorRate: 1, ErrorStatus: 500, PathPrefix: "/jira/rest/api/2/issue/DEMO-"}, 0},
		{"after the deadline", fakejira.Faults{LatencyMS: 4_000, PathPrefix: "/jira/rest/api/2/issue/DEMO-"}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := connected(t, bridgetest.Options{JiraTimeout: tc.jiraTO})
			if err := e.Jira.SetFaults(tc.fault); err != nil {
				t.Fatal(err)
			}
			task := e.Seed.Tasks[2]
			id := bridge.Identity{User: e.Alice, Workspace: e.Seed.Workspace}
			values := bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": task.Name}
			c, _, err := e.Bridge.CreateIssue(t.Context(), id, task.GID, values, bridge.CreateHooks{})
			if err != nil {
				t.Fatalf("create whose remote link failed: %v", err)
			}
			if c.RemoteLinked {
				t.Error("the remote link failed, yet the create says it added it")
			}
			l, err := e.Store.GetLinkByTask(t.Context(), e.Server.ID, task.GID)
			if err != nil {
				t.Fatalf("the link was not stored: %v", err)
			}
			if l.IssueKey != c.IssueKey || l.ID != c.LinkID {
				t.Errorf("stored link %s (%d), the create answered %s (%d)", l.IssueKey, l.ID, c.IssueKey, c.LinkID)
			}
			if got := fieldStates(t, e, c.LinkID); len(got) != 0 {
				t.Errorf("field states of the link = %v, want none (the remote link failed)", got)
			}
			if err := e.Jira.SetFaults(fakejira.Faults{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Bridge.CopyAttachments(t.Context(), bridge.CopyArgsFor(l)); err != nil {
				t.Fatalf("the link's copy job: %v", err)
			}
			if diff := cmp.Diff([]string{bridge.GlobalID(task.GID)}, remoteLinks(t, e, l.IssueKey)); diff != "" {
				t.Errorf("remote links after the copy job (-want +got):\n%s", diff)
			}
		})
	}
}
