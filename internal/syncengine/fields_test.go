package syncengine_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
)

// The seeded people have different e-mail domains on the two emulators.
var demoAliases = []syncengine.DomainAlias{{Asana: "acme.example", Jira: "example.com"}}

// mapFields saves the connection's mapping and returns the bench.
func mapFields(t *testing.T, e *synctest.Env, m syncengine.Mapping) {
	t.Helper()
	if err := e.Engine.PutMapping(t.Context(), e.Seed.Workspace, e.Server.ID, "", m, "test"); err != nil {
		t.Fatal(err)
	}
}

// taskFields reads the task's mapped fields through Asana's API: name,
// due date, assignee e-mail, section in the Launch project and the enum
// custom fields by name.
type taskView struct {
	Name, Due, Assignee, Section string
	Enums                        map[string]string
}

func readTask(t *testing.T, e *synctest.Env) taskView {
	t.Helper()
	tk, err := e.AsanaAs(t, "admin").GetTask(t.Context(), e.Link.TaskGID, []string{"name", "due_on", "assignee.email",
		"memberships.project.name", "memberships.section.name", "custom_fields.name", "custom_fields.enum_value.name"})
	if err != nil {
		t.Fatal(err)
	}
	v := taskView{Name: tk.Name, Due: tk.DueOn, Enums: map[string]string{}}
	if tk.Assignee != nil {
		v.Assignee = tk.Assignee.Email
	}
	for _, m := range tk.Memberships {
		if m.Project != nil && m.Project.GID == e.Seed.Project && m.Section != nil {
			v.Section = m.Section.Name
		}
	}
	for _, cf := range tk.CustomFields {
		if cf.EnumValue != nil {
			v.Enums[cf.Name] = cf.EnumValue.Name
		}
	}
	return v
}

// notes are asanajira's field notes on the task.
func notes(e *synctest.Env) []string {
	var out []string
	for _, s := range e.Asana.Stories(e.Link.TaskGID) {
		if s.Type == "comment" && strings.HasPrefix(s.Text, "asanajira did not sync") {
			out = append(out, s.Text)
		}
	}
	return out
}

// changelogOf lists who changed a Jira field, oldest first.
func changelogOf(t *testing.T, e *synctest.Env, field string) []string {
	t.Helper()
	is, err := e.JiraAs(t, "admin").GetIssue(t.Context(), e.Link.IssueKey, &jira.GetIssueOptions{Fields: []string{"summary"}, Expand: []string{"changelog"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range is.Changelog.Histories {
		for _, it := range h.Items {
			if it.Field == field {
				out = append(out, h.Author.Name+":"+it.ToString)
			}
		}
	}
	return out
}

// With the defaults and the demo's domain alias, the first run fills what
// one side lacks (Asana's assignee fills Jira's empty one; the differing
// names stay until one changes; the "Jira status" and "Jira priority" fields are made
// and set, the remote link takes the task's name); then a due date set in
// Asana reaches Jira as the person who set it, a summary changed in Jira
// renames the task, and each write's echo changes nothing.
func TestFieldsSyncBothWays(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		e.Sync(t)

		want := taskView{Name: "Prepare the demo environment", Assignee: "bob@acme.example", Section: "To do",
			Enums: map[string]string{"Jira status": "To Do", "Jira priority": "Medium"}}
		if diff := cmp.Diff(want, readTask(t, e)); diff != "" {
			t.Fatalf("task after the first run (-want +got):\n%s", diff)
		}
		if is := e.Issue(t); is.Assignee != "bob" {
			t.Fatalf("DEMO-1 assignee %q, want bob (from Asana)", is.Assignee)
		}
		links, err := e.JiraAs(t, "admin").RemoteLinks(ctx, e.Link.IssueKey, "")
		if err != nil || len(links) != 1 || links[0].Object.Title != "Prepare the demo environment" {
			t.Fatalf("remote links %+v (%v), want one titled as the task", links, err)
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("a second run wrote %d times", n)
		}

		// Asana → Jira, as the person who changed it.
		if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"due_on": "2026-12-24"}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "due-1")
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the due date run wrote %d times, want 1", n)
		}
		if is := e.Issue(t); is.DueDate != "2026-12-24" {
			t.Fatalf("DEMO-1 due %q", is.DueDate)
		}
		if got := changelogOf(t, e, "duedate"); !cmp.Equal(got, []string{"alice:2026-12-24 00:00:00.0"}) {
			t.Errorf("duedate changelog %v, want alice's one change", got)
		}

		// Jira → Asana, as the Asana user connected as the Jira author.
		editIssue(t, e, "alice", map[string]any{"summary": "Board for the demo"})
		if n := e.Sync(t); n != 2 { // the name and the remote link
			t.Fatalf("the summary run wrote %d times, want 2", n)
		}
		if got := readTask(t, e).Name; got != "Board for the demo" {
			t.Fatalf("task name %q", got)
		}
		var renamedBy string
		for _, s := range e.Asana.Stories(e.Link.TaskGID) {
			if s.Subtype == "name_changed" {
				renamedBy = s.Author
			}
		}
		if renamedBy != e.Users["alice"] {
			t.Errorf("the task was renamed by %s, want alice (%s)", renamedBy, e.Users["alice"])
		}
		links, _ = e.JiraAs(t, "admin").RemoteLinks(ctx, e.Link.IssueKey, "")
		if len(links) != 1 || links[0].Object.Title != "Board for the demo" {
			t.Errorf("remote link %+v, want the new name", links)
		}

		// The engine's own writes come back as changes: echoes.
		e.RecordAsana(t, syncengine.KindTask, "", "rename-echo")
		if n := e.Sync(t); n != 0 {
			t.Fatalf("the echo run wrote %d times", n)
		}
		if got := outcomes(t, e)["asana/task"]; got != syncengine.OutcomeEcho {
			t.Errorf("the rename's echo is %q, want echo (all: %v)", got, outcomes(t, e))
		}
		if len(notes(e)) != 0 {
			t.Errorf("notes: %v", notes(e))
		}
	})
}

// editIssue edits DEMO-1 as a Jira user and waits for its webhook to be
// recorded.
func editIssue(t *testing.T, e *synctest.Env, login string, fields map[string]any) {
	t.Helper()
	if err := e.JiraAs(t, login).EditIssue(t.Context(), e.Link.IssueKey, jira.IssueInput{Fields: fields}); err != nil {
		t.Fatal(err)
	}
	synctest.Eventually(t, 5*time.Second, "the edit is recorded", func() bool { return pendingOn(t, e, store.SideJira) })
}

// pendingOn reports whether a change of side waits for the link.
func pendingOn(t *testing.T, e *synctest.Env, side string) bool {
	t.Helper()
	cs, err := e.Store.PendingSyncChanges(t.Context(), e.Link.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Side == side {
			return true
		}
	}
	return false
}

// Per field and direction: a one-way field keeps the other side's changes
// on their side, a field switched off is left alone.
func TestFieldDirections(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases, Fields: map[string]syncengine.Direction{
			syncengine.FieldName: syncengine.FromJira, syncengine.FieldDue: syncengine.FromAsana,
			syncengine.FieldAssignee: syncengine.Off, syncengine.FieldStatus: syncengine.Off, syncengine.FieldPriority: syncengine.Off}})
		e.Sync(t)
		if got := readTask(t, e); got.Name != "Set up the demo board" || got.Assignee != "bob@acme.example" || len(got.Enums) != 0 {
			t.Fatalf("task after the first run: %+v", got)
		}
		if is := e.Issue(t); is.Assignee != "" {
			t.Fatalf("assignee is off, yet DEMO-1 is assigned to %q", is.Assignee)
		}
		// name is Jira → Asana: a new task name stays in Asana.
		if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"name": "Asana's name", "due_on": "2027-01-02"}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "name-and-due")
		e.Sync(t)
		if is := e.Issue(t); is.Summary != "Set up the demo board" || is.DueDate != "2027-01-02" {
			t.Fatalf("DEMO-1 summary %q due %q; want the summary kept and the due date from Asana", is.Summary, is.DueDate)
		}
		// due is Asana → Jira: a due date set in Jira stays in Jira.
		editIssue(t, e, "alice", map[string]any{"duedate": "2027-02-03"})
		e.Sync(t)
		if got := readTask(t, e); got.Due != "2027-01-02" || got.Name != "Asana's name" {
			t.Fatalf("task %+v; want its own due date and name kept", got)
		}
		// The summary (Jira → Asana) still flows.
		editIssue(t, e, "alice", map[string]any{"summary": "Jira's name"})
		e.Sync(t)
		if got := readTask(t, e).Name; got != "Jira's name" {
			t.Fatalf("task name %q", got)
		}
	})
}

// Asana → Jira writes only what the acting user's edit metadata offers:
// when bob may not edit DEMO issues, his due date becomes one note on the
// task (not an error, not a loop), however often he changes it; with no
// domain alias, an assignee whose e-mail no Jira user has is left as it is,
// with one note.
func TestFieldsNotAllowedAndNoMatch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		// Only alice is a DEMO developer: bob may not edit its issues.
		if err := e.Jira.SetProjectRole("DEMO", "Developers", []string{"alice"}, nil); err != nil {
			t.Fatal(err)
		}
		mapFields(t, e, syncengine.Mapping{})
		e.Sync(t)
		if is := e.Issue(t); is.Assignee != "" {
			t.Fatalf("DEMO-1 assigned to %q without an e-mail match", is.Assignee)
		}
		want := []string{"asanajira did not sync the assignee to Jira: no Jira user has the e-mail bob@acme.example."}
		if diff := cmp.Diff(want, notes(e)); diff != "" {
			t.Fatalf("notes (-want +got):\n%s", diff)
		}
		for i, due := range []string{"2026-11-01", "2026-11-02"} {
			if _, err := e.AsanaAs(t, "bob").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"due_on": due}); err != nil {
				t.Fatal(err)
			}
			e.RecordAsana(t, syncengine.KindTask, "", "due-"+due)
			e.Sync(t)
			if is := e.Issue(t); is.DueDate != "" {
				t.Fatalf("bob's due date reached DEMO-1: %q", is.DueDate)
			}
			if st, err := e.Engine.LinkStatus(ctx, e.Link.ID); err != nil || st.Error != "" {
				t.Fatalf("run %d: link status %+v, %v; want no error", i, st, err)
			}
		}
		want = append(want, "asanajira did not sync the due date to Jira: Jira does not let Bob Brown edit the due date of DEMO-1 (it is not on the issue's edit screen for them).")
		if diff := cmp.Diff(want, notes(e)); diff != "" {
			t.Fatalf("notes (-want +got):\n%s", diff)
		}
		// A note is asanajira's own: never mirrored to Jira.
		if n := len(e.JiraCommentsWith(t, "asanajira did not sync")); n != 0 {
			t.Errorf("%d notes were mirrored to Jira", n)
		}
		// A Jira assignee with no Asana account: unchanged, one note.
		editIssue(t, e, "admin", map[string]any{"assignee": map[string]any{"name": "admin"}})
		e.Sync(t)
		e.Sync(t)
		if got := readTask(t, e).Assignee; got != "bob@acme.example" {
			t.Errorf("task assignee %q, want bob kept", got)
		}
		if got := notes(e); len(got) != 3 || !strings.Contains(got[2], "the assignee from Jira") {
			t.Errorf("notes %v; want a third about admin", got)
		}
	})
}

// The status → section table: an issue entering a status moves the task
// to its section (and the "Jira status" field follows); a task moved to a
// section runs the transition to the status mapped to it.
func TestStatusSections(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases,
			Fields: map[string]syncengine.Direction{syncengine.FieldSection: syncengine.BothDirections},
			StatusSections: []syncengine.StatusSection{{Status: "To Do", Section: "To do"}, {Status: "In Progress", Section: "In progress"},
				{Status: "Done", Section: "Done"}}})
		e.Sync(t)
		if err := e.Jira.TransitionIssue(e.Link.IssueKey, "In Progress", "alice"); err != nil {
			t.Fatal(err)
		}
		synctest.Eventually(t, 5*time.Second, "the transition is recorded", func() bool { return pendingOn(t, e, store.SideJira) })
		e.Sync(t)
		if got := readTask(t, e); got.Section != "In progress" || got.Enums["Jira status"] != "In Progress" {
			t.Fatalf("task %+v; want in the In progress section with Jira status In Progress", got)
		}
		if err := e.AsanaAs(t, "alice").AddTaskToSection(ctx, e.Seed.Sections["Done"], e.Link.TaskGID); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "moved-to-done")
		e.Sync(t)
		if is := e.Issue(t); is.Status != "Done" {
			t.Fatalf("DEMO-1 is %s, want Done after the task moved to Done", is.Status)
		}
		if who, to, _ := lastStatusChange(t, e); who != "alice" || to != "Done" {
			t.Errorf("moved to %s by %s, want Done by alice", to, who)
		}
		e.Sync(t)
		if got := readTask(t, e); got.Section != "Done" || got.Enums["Jira status"] != "Done" {
			t.Errorf("task %+v after the echo", got)
		}
	})
}

// A write is made once: a run that finds its write already recorded in
// the effects ledger (a retry of a run that died before saving the field's
// state) writes nothing again.
func TestFieldWriteOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		e.Sync(t)
		states, err := e.Store.ListSyncFieldStates(ctx, e.Link.ID)
		if err != nil {
			t.Fatal(err)
		}
		var before store.SyncFieldState
		for _, s := range states {
			if s.Field == syncengine.FieldDue {
				before = s
			}
		}
		if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"due_on": "2026-10-10"}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "due-once")
		e.Sync(t)
		// The run "died" before saving the state: put the old state back,
		// and let Jira's value go back too.
		if err := e.Store.PutSyncFieldState(ctx, before); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "due-once-retry")
		e.Sync(t)
		if got := changelogOf(t, e, "duedate"); len(got) != 1 {
			t.Fatalf("duedate written %d times: %v", len(got), got)
		}
	})
}

// Notes ↔ description is off by default; switched on, the task's notes
// reach Jira as wiki markup with Jira's markup characters escaped.
func TestNotesDescription(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		e.Sync(t)
		if is := e.Issue(t); is.Description != "Create the board and invite the team." {
			t.Fatalf("notes are off by default, yet the description is %q", is.Description)
		}
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases, Fields: map[string]syncengine.Direction{syncengine.FieldNotes: syncengine.FromAsana}})
		if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"notes": "Use {code} here"}); err != nil {
			t.Fatal(err)
		}
		e.RecordAsana(t, syncengine.KindTask, "", "notes")
		e.Sync(t)
		if is := e.Issue(t); is.Description != `Use \{code\} here` {
			t.Fatalf("description %q", is.Description)
		}
	})
}

// Preview tells what a mapping would change on a link, writing nothing;
// Resync applies the mapping to a link as if its fields were new.
func TestPreviewAndResync(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		m := syncengine.Mapping{DomainAliases: demoAliases}
		mapFields(t, e, m)
		e.Sync(t)
		if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"due_on": "2026-12-24"}); err != nil {
			t.Fatal(err)
		}
		type row struct{ Field, To, Value, Why string }
		preview := func(m syncengine.Mapping, force bool) []row {
			t.Helper()
			cs, err := e.Engine.Preview(ctx, e.Link.ID, m, force)
			if err != nil {
				t.Fatal(err)
			}
			var out []row
			for _, c := range cs {
				out = append(out, row{c.Field, c.To, c.Value, c.Why})
			}
			return out
		}
		want := []row{
			{syncengine.FieldName, "", "", "waits for a change"},
			{syncengine.FieldDue, store.SideJira, "2026-12-24", "changed in Asana"},
			{syncengine.FieldAssignee, "", "", "in step"},
			{syncengine.FieldNotes, "", "", "off"},
			{syncengine.FieldStatus, "", "", "in step"},
			{syncengine.FieldPriority, "", "", "in step"},
			{syncengine.FieldSection, "", "", "off"},
			{syncengine.FieldAttachments, "", "", "in step"},
		}
		if diff := cmp.Diff(want, preview(m, false)); diff != "" {
			t.Errorf("preview (-want +got):\n%s", diff)
		}
		// Another mapping: the name from Jira, forced as a resync would.
		m2 := syncengine.Mapping{DomainAliases: demoAliases, Fields: map[string]syncengine.Direction{syncengine.FieldName: syncengine.FromJira, syncengine.FieldDue: syncengine.Off}}
		got := preview(m2, true)
		if got[0] != (row{syncengine.FieldName, store.SideAsana, "Set up the demo board", "first run"}) || got[1].Why != "off" {
			t.Errorf("forced preview: %+v", got)
		}
		if is := e.Issue(t); is.DueDate != "" {
			t.Fatalf("a preview wrote the due date: %q", is.DueDate)
		}

		if _, err := e.Engine.Resync(ctx, e.Link.ID); err != nil {
			t.Fatal(err)
		}
		if got := readTask(t, e).Name; got != "Set up the demo board" {
			t.Errorf("after the resync the task is %q, want Jira's summary", got)
		}
		if is := e.Issue(t); is.DueDate != "2026-12-24" {
			t.Errorf("after the resync DEMO-1 is due %q", is.DueDate)
		}
	})
}

// ResyncLinks resyncs the links it is given a few at a time, tells its
// progress, and resumes after the links an interrupted run finished.
func TestResyncLinks(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		e.Sync(t)
		// A second link, of the third seeded task, to DEMO-2.
		is2, _ := e.Jira.Issue("DEMO-2")
		l2 := store.Link{WorkspaceGID: e.Seed.Workspace, TaskGID: e.Seed.Tasks[2].GID, JiraServerID: e.Server.ID,
			IssueID: is2.ID, IssueKey: "DEMO-2", CreatedBy: e.Users["alice"]}
		if err := e.Store.CreateLink(ctx, &l2); err != nil {
			t.Fatal(err)
		}
		ids, err := e.Engine.ProjectLinks(ctx, e.Seed.Project)
		if !errors.Is(err, syncengine.ErrNoRoute) {
			t.Fatalf("ProjectLinks of an unrouted project: %v, %v", ids, err)
		}
		if err := e.Store.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: e.Seed.Workspace, ProjectGID: e.Seed.Project, JiraServerID: e.Server.ID}); err != nil {
			t.Fatal(err)
		}
		ids, err = e.Engine.ProjectLinks(ctx, e.Seed.Project)
		if err != nil || !cmp.Equal(ids, []int64{e.Link.ID, l2.ID}) {
			t.Fatalf("ProjectLinks = %v, %v; want both links", ids, err)
		}
		// An interrupted resync finished the first link.
		if err := e.Store.PutSyncCursor(ctx, "resync:project:x", strconv.FormatInt(e.Link.ID, 10)); err != nil {
			t.Fatal(err)
		}
		var seen []syncengine.ResyncProgress
		failed, err := e.Engine.ResyncLinks(ctx, "project:x", ids, 2, false, func(p syncengine.ResyncProgress) { seen = append(seen, p) })
		if err != nil || failed != 0 {
			t.Fatalf("ResyncLinks: %d failed, %v", failed, err)
		}
		if len(seen) != 1 || seen[0].LinkID != l2.ID || seen[0].Done != 2 || seen[0].Total != 2 || seen[0].Skipped != 1 {
			t.Fatalf("progress %+v; want the second link only, as 2 of 2", seen)
		}
		if got := readTask(t, e).Name; got != "Prepare the demo environment" {
			t.Errorf("the skipped link was resynced: task %q", got)
		}
		tk := e.Asana.Task(e.Seed.Tasks[2].GID)
		if tk.Name != "Login page crashes on Safari" {
			t.Errorf("the second task is %q, want DEMO-2's summary", tk.Name)
		}
		// Finished: the next resync starts over and does both.
		seen = nil
		if _, err := e.Engine.ResyncLinks(ctx, "project:x", ids, 2, false, func(p syncengine.ResyncProgress) { seen = append(seen, p) }); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 {
			t.Fatalf("second resync: %+v", seen)
		}
		if got := readTask(t, e).Name; got != "Set up the demo board" {
			t.Errorf("task %q after the full resync", got)
		}
	})
}

// A workspace without custom fields (a free plan) cannot hold "Jira
// status": the link shows why, the other fields still sync.
func TestFieldsFreeWorkspace(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		if err := e.Asana.SetFaults(fakeasana.Faults{FreeWorkspace: true}); err != nil {
			t.Fatal(err)
		}
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		e.Sync(t)
		st, err := e.Engine.LinkStatus(ctx, e.Link.ID)
		if err != nil || !strings.Contains(st.Error, `custom field "Jira status"`) || !strings.Contains(st.Error, "paid workspace") {
			t.Fatalf("link status %+v, %v; want the custom field refusal", st, err)
		}
		if is := e.Issue(t); is.Assignee != "bob" {
			t.Errorf("the assignee did not sync beside the refusal: %q", is.Assignee)
		}
	})
}

// A name changed on one side after the link was made but before its first
// sync run is that first change: it reaches the other side (the later one
// when both sides were changed), where a difference older than the link
// waits for a change.
func TestFieldChangedBeforeFirstRun(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		for _, side := range []string{store.SideJira, store.SideAsana} {
			t.Run(side, func(t *testing.T) {
				e := synctest.New(t, synctest.Options{DB: db})
				ctx := t.Context()
				mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
				const renamed = "Renamed before the first run"
				if side == store.SideJira {
					editIssue(t, e, "alice", map[string]any{"summary": renamed})
				} else {
					if _, err := e.AsanaAs(t, "alice").UpdateTask(ctx, e.Link.TaskGID, map[string]any{"name": renamed}); err != nil {
						t.Fatal(err)
					}
					e.RecordAsana(t, syncengine.KindTask, "", "rename-before")
				}
				e.Sync(t)
				if got := readTask(t, e).Name; got != renamed {
					t.Errorf("task name %q, want %q", got, renamed)
				}
				if got := e.Issue(t).Summary; got != renamed {
					t.Errorf("issue summary %q, want %q", got, renamed)
				}
				if n := e.Sync(t); n != 0 {
					t.Errorf("a second run wrote %d times", n)
				}
			})
		}
	})
}

// An Asana change of the task's custom fields alone (the echo of the
// sync's own writes of Jira's status and priority) is recorded as seen
// and starts no run; any other change of the task waits for one.
func TestCustomFieldChangeStartsNoRun(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		for i, detail := range []string{"task changed custom_fields", "story added enum_custom_field_changed", "task changed name"} {
			ok, err := e.Engine.Record(ctx, syncengine.Change{LinkID: e.Link.ID, Side: syncengine.SideAsana, Source: "events",
				DedupKey: "custom-" + strconv.Itoa(i), Kind: syncengine.KindTask, Actor: e.Users["alice"], Detail: detail})
			if err != nil || !ok {
				t.Fatalf("record %q = %v, %v", detail, ok, err)
			}
		}
		pending, err := e.Store.PendingSyncChanges(ctx, e.Link.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range pending {
			got = append(got, c.Detail)
		}
		if diff := cmp.Diff([]string{"task changed name"}, got); diff != "" {
			t.Errorf("changes waiting for a run (-want +got):\n%s", diff)
		}
		all, err := e.Store.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: e.Link.ID})
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]string{}
		for _, c := range all {
			outcomes[c.Detail] = c.Outcome
		}
		want := map[string]string{"task changed custom_fields": "echo", "story added enum_custom_field_changed": "echo", "task changed name": ""}
		if diff := cmp.Diff(want, outcomes); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}
	})
}

// A link's first run writes Jira's status and priority to the task in one
// PUT (each a PUT of its own would be two changes of the task for the
// Asana intake to tell); a later run that writes one of them writes it
// alone, and one that writes both reads the project's custom fields once.
func TestFirstRunWritesStatusAndPriorityInOnePut(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		var mu sync.Mutex
		var puts []string
		reads := 0
		e.OnAsanaRequest(func(r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/tasks/"):
				puts = append(puts, r.URL.Path)
			case strings.HasSuffix(r.URL.Path, "/custom_field_settings"):
				reads++
			}
		})
		e.Sync(t)
		if got := readTask(t, e).Enums; !cmp.Equal(got, map[string]string{"Jira status": "To Do", "Jira priority": "Medium"}) {
			t.Fatalf("the task's Jira fields after the first run = %v", got)
		}
		mu.Lock()
		first := len(puts)
		puts = nil
		mu.Unlock()
		if first != 1 {
			t.Errorf("the first run wrote the task %d times, want once", first)
		}
		if n := e.Sync(t); n != 0 {
			t.Fatalf("a second run wrote %d times", n)
		}

		editIssue(t, e, "admin", map[string]any{"priority": map[string]any{"name": "High"}})
		if n := e.Sync(t); n != 1 {
			t.Fatalf("the priority's run wrote %d times, want 1", n)
		}
		if got := readTask(t, e).Enums; !cmp.Equal(got, map[string]string{"Jira status": "To Do", "Jira priority": "High"}) {
			t.Errorf("the task's Jira fields after the priority's run = %v", got)
		}
		mu.Lock()
		if len(puts) != 1 {
			t.Errorf("the priority's run wrote the task %d times, want once", len(puts))
		}
		puts, reads = nil, 0
		mu.Unlock()

		// Both changed by one person: one PUT, after one read of the
		// project's custom fields.
		if err := e.Jira.TransitionIssue(e.Link.IssueKey, "In Progress", "admin"); err != nil {
			t.Fatal(err)
		}
		editIssue(t, e, "admin", map[string]any{"priority": map[string]any{"name": "Low"}})
		if n := e.Sync(t); n != 2 {
			t.Fatalf("the run after both changed wrote %d fields, want 2", n)
		}
		if got := readTask(t, e).Enums; !cmp.Equal(got, map[string]string{"Jira status": "In Progress", "Jira priority": "Low"}) {
			t.Errorf("the task's Jira fields after both changed = %v", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(puts) != 1 || reads != 1 {
			t.Errorf("the run after both changed wrote the task %d times after %d reads of the project's custom fields, want once after one", len(puts), reads)
		}
	})
}
