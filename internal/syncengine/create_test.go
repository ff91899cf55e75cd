package syncengine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
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
		c := e.CreateIssue(t, task.GID, task.Name)
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

// Jira's issue_created of a created issue needs no run of its own once the
// link's first run is recorded (the copy job's LinkMade): that run reads the
// issue as created or later. Recorded before it, the delivery starts the
// run, which does all a first run does, and LinkMade's change (the copy
// job, which the request enqueues after answering, often comes second)
// needs none of its own either.
func TestIssueCreatedAfterTheFirstRunIsSeen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		linkFirst bool
		want      map[string]string // change's source → outcome ("" pending)
	}{
		{"link made first", true, map[string]string{"link": "", "webhook": syncengine.OutcomeNoop}},
		{"delivery first", false, map[string]string{"link": syncengine.OutcomeNoop, "webhook": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := synctest.New(t, synctest.Options{})
			ctx := t.Context()
			mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
			issue, ok := e.Jira.Issue(e.Link.IssueKey)
			if !ok {
				t.Fatal("no issue")
			}
			created := &jira.WebhookEvent{WebhookEvent: jira.EventIssueCreated, IssueEventTypeName: "issue_created",
				Timestamp: time.Now().UnixMilli(), Issue: &jira.Issue{ID: issue.ID, Key: e.Link.IssueKey}}
			steps := []func() error{
				func() error { return e.Engine.LinkMade(ctx, e.Server.ID, e.Link.TaskGID) },
				func() error {
					_, err := e.Engine.RecordJiraEvents(ctx, e.Server.ID, []*jira.WebhookEvent{created})
					return err
				},
			}
			if !tc.linkFirst {
				steps[0], steps[1] = steps[1], steps[0]
			}
			for _, step := range steps {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			for _, c := range e.Changes(t) {
				got[c.Source] = c.Outcome
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcomes before any run (-want +got):\n%s", diff)
			}
			e.Sync(t)
			for _, c := range e.Changes(t) {
				if c.AppliedAt.IsZero() {
					t.Errorf("change %+v left pending by the run", c)
				}
			}
			if got := readTask(t, e).Enums[syncengine.JiraStatusField]; got == "" {
				t.Errorf("the run set no %q on the task", syncengine.JiraStatusField)
			}
		})
	}
}

// A link's first run stores the projects of its task as it read them, so
// the Asana intake does not read the task again to know which projects'
// events tell of it; a task in a project the intake does not watch yet is
// left to the intake, which starts watching the project as it maps it.
func TestFirstRunMapsTheTasksProjects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		watched   bool
		wantToMap bool
	}{
		{"project watched", true, false},
		{"project not watched yet", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := synctest.New(t, synctest.Options{})
			ctx := t.Context()
			if tc.watched {
				if err := e.Store.PutAsanaTaskProjects(ctx, e.Link.TaskGID, e.Seed.Workspace, []string{e.Seed.Project}, time.Now()); err != nil {
					t.Fatal(err)
				}
				if _, _, err := e.Store.RefreshAsanaProjects(ctx, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			task := e.NewTask(t, "Mapped by its first run")
			if _, _, err := e.Bridge().CreateIssue(ctx, bridge.Identity{User: e.Users["alice"], Workspace: e.Seed.Workspace}, task,
				bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": "Mapped by its first run"}, bridge.CreateHooks{}); err != nil {
				t.Fatal(err)
			}
			l, err := e.Store.GetLinkByTask(ctx, e.Server.ID, task)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Engine.LinkMade(ctx, e.Server.ID, task); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Engine.SyncLink(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
			toMap, err := e.Store.AsanaTasksToMap(ctx, time.Now().Add(-time.Hour), 100)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.ContainsFunc(toMap, func(m store.AsanaTaskToMap) bool { return m.TaskGID == task })
			if got != tc.wantToMap {
				t.Errorf("the new link's task left to the intake to map: %v, want %v", got, tc.wantToMap)
			}
		})
	}
}
