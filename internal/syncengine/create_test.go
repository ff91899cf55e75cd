package syncengine_test

import (
	"testing"

	"github.com/asanajira/asanajira/internal/bridge"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
)

// A link the bridge's create made starts with the remote link as the
// create added it: the first sync run fills the task's Jira fields without
// writing the remote link again (Jira failing on it changes nothing), and
// a rename made after the create still reaches it.
func TestFirstRunKeepsTheCreatesRemoteLink(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		task := e.Seed.Tasks[2]
		c, _, err := e.Bridge().CreateIssue(ctx, bridge.Identity{User: e.Users["alice"], Workspace: e.Seed.Workspace}, task.GID,
			bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": task.Name}, bridge.CreateHooks{})
		if err != nil {
			t.Fatal(err)
		}
		if e.Link, err = e.Store.GetLinkByTask(ctx, e.Server.ID, task.GID); err != nil {
			t.Fatal(err)
		}
		remote := "/jira/rest/api/2/issue/" + c.IssueID + "/remotelink"
		if err := e.Jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 500, PathPrefix: remote}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Engine.SyncLink(ctx, e.Link.ID); err != nil {
			t.Fatalf("first run with Jira failing on the remote link: %v", err)
		}
		if got := readTask(t, e).Enums[syncengine.JiraStatusField]; got == "" {
			t.Errorf("the first run set no %q on the task", syncengine.JiraStatusField)
		}
		if err := e.Jira.SetFaults(fakejira.Faults{}); err != nil {
			t.Fatal(err)
		}

		const renamed = "Renamed after the create"
		if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, task.GID, map[string]any{"name": renamed}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "rename-after-create")
		e.Sync(t)
		ls, err := e.JiraAs(t, "admin").RemoteLinks(ctx, c.IssueKey, bridge.GlobalID(task.GID))
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 1 || ls[0].Object.Title != renamed {
			t.Errorf("remote links after the rename = %+v, want one titled %q", ls, renamed)
		}
	})
}
