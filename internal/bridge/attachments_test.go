package bridge_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// Asana answering 503 to the "files copied" comment loses nothing: the copy
// job fails, and its retry posts the comment, once.
func TestCopyCommentSurvivesAsana503(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	args := bridge.CopyArgsFor(e.Link)
	if err := e.Asana.SetFaults(fakeasana.Faults{ErrorRate: 1, ErrorStatus: 503,
		PathPrefix: "/api/1.0/tasks/" + e.Link.TaskGID + "/stories"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Bridge.CopyAttachments(ctx, args)
	var ae *asana.Error
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("copy while Asana fails = %v, want Asana's 503", err)
	}
	if err := e.Asana.SetFaults(fakeasana.Faults{Reset: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Bridge.CopyAttachments(ctx, args)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Comment, "Copied:") || e.Stories("asanajira brought this task's files to Jira issue DEMO-1.") != 1 {
		t.Fatalf("after the retry: report %q, stories %+v", rep.Comment, e.Asana.Stories(e.Link.TaskGID))
	}
	again, err := e.Bridge.CopyAttachments(ctx, args)
	if err != nil {
		t.Fatal(err)
	}
	if again.Comment != "" || e.Stories("asanajira brought") != 1 || len(again.Items) != len(rep.Items) {
		t.Fatalf("a third run: report %+v, %d comments", again, e.Stories("asanajira brought"))
	}
	is, _ := e.Jira.Issue("DEMO-1")
	if len(is.Attachments) == 0 {
		t.Fatal("no files were copied")
	}
}

// The copy job repairs a missing remote link to the task, and reads the
// task from Asana only then: when the create request added the link, the
// job spends none of the user's Asana quota on it.
func TestCopyRepairsRemoteLinkOnlyWhenMissing(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	args := bridge.CopyArgsFor(e.Link)
	gid := bridge.GlobalID(e.Link.TaskGID)
	remoteLinks := func() []string {
		is, _ := e.Jira.Issue("DEMO-1")
		var out []string
		for _, rl := range is.RemoteLinks {
			if rl.GlobalID == gid { // not the cloud files' links
				out = append(out, rl.GlobalID+" "+rl.Title)
			}
		}
		return out
	}
	if _, err := e.Bridge.CopyAttachments(ctx, args); err != nil {
		t.Fatal(err)
	}
	want := []string{gid + " " + e.Seed.Tasks[0].Name}
	if diff := cmp.Diff(want, remoteLinks()); diff != "" {
		t.Fatalf("remote links after the first copy (-want +got):\n%s", diff)
	}

	// With the link there, reading the task would fail: the job must not.
	taskPath := fakeasana.Faults{ErrorRate: 1, ErrorStatus: 500, PathPrefix: "/api/1.0/tasks/" + e.Link.TaskGID}
	if err := e.Asana.SetFaults(taskPath); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Bridge.CopyAttachments(ctx, args); err != nil {
		t.Fatalf("copy with the remote link in place read the task: %v", err)
	}

	// Without it, the job reads the task to add it again.
	if err := e.Admin(t).DeleteRemoteLink(ctx, "DEMO-1", gid); err != nil {
		t.Fatal(err)
	}
	var ae *asana.Error
	if _, err := e.Bridge.CopyAttachments(ctx, args); !errors.As(err, &ae) || ae.StatusCode != 500 {
		t.Fatalf("copy without the remote link while the task cannot be read = %v, want Asana's 500", err)
	}
	if err := e.Asana.SetFaults(fakeasana.Faults{Reset: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Bridge.CopyAttachments(ctx, args); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, remoteLinks()); diff != "" {
		t.Errorf("remote links after the repair (-want +got):\n%s", diff)
	}
}

// linkTask links seeded task i to a new issue of its own, made by alice.
func linkTask(t *testing.T, e *bridgetest.Env, i int) store.Link {
	t.Helper()
	ctx := t.Context()
	ci, err := e.Admin(t).CreateIssue(ctx, jira.IssueInput{Fields: map[string]any{
		"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"id": "10002"}, "summary": e.Seed.Tasks[i].Name}})
	if err != nil {
		t.Fatal(err)
	}
	l := store.Link{WorkspaceGID: e.Seed.Workspace, TaskGID: e.Seed.Tasks[i].GID, JiraServerID: e.Server.ID,
		IssueID: ci.ID, IssueKey: ci.Key, CreatedBy: e.Alice}
	if err := e.Store.CreateLink(ctx, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// Jira's attachment settings are read for a file stored in Asana only: a
// task with cloud-drive links or no files at all copies while Jira fails
// to answer for them.
func TestCopyReadsAttachmentSettingsOnlyForFiles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		task int // seeded task: 1 has two cloud-drive files, 2 none
		want int
	}{
		{"cloud-drive files", 1, 2},
		{"no files", 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := bridgetest.New(t, bridgetest.Options{})
			l := linkTask(t, e, tc.task)
			if err := e.Jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 500, PathPrefix: "/jira/rest/api/2/attachment/meta"}); err != nil {
				t.Fatal(err)
			}
			rep, err := e.Bridge.CopyAttachments(t.Context(), bridge.CopyArgsFor(l))
			if err != nil {
				t.Fatalf("copy while Jira's attachment settings fail: %v", err)
			}
			if len(rep.Items) != tc.want {
				t.Errorf("items = %+v, want %d", rep.Items, tc.want)
			}
		})
	}
}

// The copy job of a link whose request added the remote link does not ask
// Jira for it again: with Jira failing on the issue's remote links it
// still completes. A job not told so (queued by an older version, or
// after a create whose remote link failed) checks, and fails with Jira.
func TestCopyTrustsTheRequestsRemoteLink(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		remoteLinked bool
		wantErr      bool
	}{
		{"added by the request", true, false},
		{"not known", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := bridgetest.New(t, bridgetest.Options{})
			l := linkTask(t, e, 2)
			if err := e.Jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 500, PathPrefix: "/jira/rest/api/2/issue/" + l.IssueKey + "/remotelink"}); err != nil {
				t.Fatal(err)
			}
			args := bridge.CopyArgsFor(l)
			args.RemoteLinked = tc.remoteLinked
			_, err := e.Bridge.CopyAttachments(t.Context(), args)
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("copy while Jira fails on the remote links = %v, want an error: %v", err, tc.wantErr)
			}
		})
	}
}
