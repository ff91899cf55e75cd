package bridge_test

import (
	"testing"

	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	"github.com/asanajira/asanajira/internal/store"
)

// While two-way sync mirrors comments for the link's connection, a Jira
// comment is not also told as "X commented on Jira issue": the mirrored
// comment replaces it. Status notes stay. With comment sync off, the note
// is posted as before.
func TestCommentNoteGivesWayToCommentSync(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	if err := e.Store.PutWorkspace(ctx, store.Workspace{GID: e.Link.WorkspaceGID, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.PutConnection(ctx, store.Connection{WorkspaceGID: e.Link.WorkspaceGID, JiraServerID: e.Server.ID, IsDefault: true}); err != nil {
		t.Fatal(err)
	}
	set := store.SyncSettings{WorkspaceGID: e.Link.WorkspaceGID, JiraServerID: e.Server.ID, Enabled: true, Comments: true, Completion: true}
	if err := e.Store.PutSyncSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := e.Jira.AddComment("DEMO-1", "bob", "Mirrored by sync"); err != nil {
		t.Fatal(err)
	}
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, e.Next(t, "jira:issue_updated", "Mirrored by sync")); err != nil {
		t.Fatal(err)
	}
	if n := e.Stories("commented on Jira issue"); n != 0 {
		t.Fatalf("%d comment notes while comment sync is on, want none", n)
	}
	if err := e.Jira.TransitionIssue("DEMO-1", "Done", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, e.Next(t, "jira:issue_updated", `"status"`)); err != nil {
		t.Fatal(err)
	}
	if n := e.Stories("moved to Done"); n != 1 {
		t.Fatalf("%d status notes, want 1: they stay with sync on", n)
	}

	set.Comments = false
	if err := e.Store.PutSyncSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := e.Jira.AddComment("DEMO-1", "bob", "Told as before"); err != nil {
		t.Fatal(err)
	}
	if err := e.Bridge.ApplyJiraEvent(ctx, e.Server.ID, e.Next(t, "jira:issue_updated", "Told as before")); err != nil {
		t.Fatal(err)
	}
	if n := e.Stories("commented on Jira issue DEMO-1:\n\nTold as before"); n != 1 {
		t.Fatalf("%d comment notes with comment sync off, want 1", n)
	}
}
