package processtest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// TestFieldsAndAttachmentsOnceAcrossCrashes kills `asanajira serve`
// (SIGKILL, from inside, at a named step) while it writes a mapped field
// each way (the task's name ↔ the issue's summary, the due date) and while
// it copies a file attached in Jira to the task, restarts it, and checks
// that each change was written exactly once: one edit of the field on the
// other side, one copy of the file.
func TestFieldsAndAttachmentsOnceAcrossCrashes(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			fieldCrashes(t, db)
		})
	}
}

// fieldWorld is what the field steps count.
type fieldWorld struct {
	name, summary, due, jiraDue string
	// nameStories and dueStories count the task's name_changed and
	// due_date_changed stories; summaryEdits and dueEdits the issue's
	// changelog items.
	nameStories, dueStories, summaryEdits, dueEdits int
	// files maps a task attachment's name to how many the task has.
	files map[string]int
}

func (b *bed) lookFields() fieldWorld {
	b.t.Helper()
	ctx := b.t.Context()
	w := fieldWorld{files: map[string]int{}}
	task, err := b.asana("alice").GetTask(ctx, b.link.TaskGID, []string{"name", "due_on"})
	if err != nil {
		b.t.Fatal(err)
	}
	w.name, w.due = task.Name, task.DueOn
	for s, err := range b.asana("alice").Stories(ctx, b.link.TaskGID) {
		if err != nil {
			b.t.Fatal(err)
		}
		switch s.ResourceSubtype {
		case "name_changed":
			w.nameStories++
		case "due_date_changed":
			w.dueStories++
		}
	}
	for a, err := range b.asana("alice").Attachments(ctx, b.link.TaskGID) {
		if err != nil {
			b.t.Fatal(err)
		}
		w.files[a.Name]++
	}
	is, err := b.jira("admin").GetIssue(ctx, "DEMO-1", &jira.GetIssueOptions{Fields: []string{"summary", "duedate"}, Expand: []string{"changelog"}})
	if err != nil {
		b.t.Fatal(err)
	}
	w.summary, w.jiraDue = is.Fields.Summary, is.Fields.DueDate
	for _, h := range is.Changelog.Histories {
		for _, it := range h.Items {
			id := it.FieldID
			if id == "" {
				id = strings.ToLower(it.Field)
			}
			switch id {
			case "summary":
				w.summaryEdits++
			case "duedate":
				w.dueEdits++
			}
		}
	}
	return w
}

// mapped reports whether the attachment map knows a Jira attachment: its
// copy is recorded.
func (b *bed) mapped(jiraID string) bool {
	b.t.Helper()
	ms, err := b.st.ListSyncAttachments(b.t.Context(), b.link.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, m := range ms {
		if m.JiraAttachmentID == jiraID {
			return true
		}
	}
	return false
}

func fieldCrashes(t *testing.T, db string) {
	b := newBed(t, db)
	ctx := t.Context()
	// Name and due date both ways and Jira's attachments to the task; the
	// other fields off, so each step makes one write of its own.
	m := syncengine.Mapping{Fields: map[string]syncengine.Direction{syncengine.FieldAssignee: syncengine.Off,
		syncengine.FieldStatus: syncengine.Off, syncengine.FieldPriority: syncengine.Off}}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	must(t, b.st.PutFieldMapping(ctx, store.FieldMapping{WorkspaceGID: b.link.WorkspaceGID, JiraServerID: b.server.ID, Mapping: string(js), UpdatedBy: "test"}))
	b.baseline()

	steps := []struct {
		step, change string
	}{
		{"before-jira-write", "asana name"},
		{"after-jira-write", "asana due"},
		{"before-asana-write", "jira summary"},
		{"after-asana-write", "jira due"},
		{"before-attachment-write", "jira attachment"},
		{"after-attachment-write", "jira attachment"},
		{"before-finish", "asana name"},
	}
	for i, s := range steps {
		value := fmt.Sprintf("Change %d, killed at %s", i+1, s.step)
		due := fmt.Sprintf("2027-01-%02d", i+1)
		file := fmt.Sprintf("file-%d.txt", i+1)
		before := b.lookFields()
		p := b.serve("serve (crashing at "+s.step+")", s.step)
		fileID := ""
		switch s.change {
		case "asana name":
			if _, err := b.asana("bob").UpdateTask(ctx, b.link.TaskGID, map[string]any{"name": value}); err != nil {
				t.Fatal(err)
			}
			b.recordAsana(syncengine.KindTask, "", fmt.Sprintf("name-%d", i))
		case "asana due":
			if _, err := b.asana("bob").UpdateTask(ctx, b.link.TaskGID, map[string]any{"due_on": due}); err != nil {
				t.Fatal(err)
			}
			b.recordAsana(syncengine.KindTask, "", fmt.Sprintf("due-%d", i))
		case "jira summary":
			if err := b.jira("bob").EditIssue(ctx, "DEMO-1", jira.IssueInput{Fields: map[string]any{"summary": value}}); err != nil {
				t.Fatal(err)
			}
		case "jira due":
			if err := b.jira("bob").EditIssue(ctx, "DEMO-1", jira.IssueInput{Fields: map[string]any{"duedate": due}}); err != nil {
				t.Fatal(err)
			}
		case "jira attachment":
			up, err := b.jira("bob").UploadAttachment(ctx, "DEMO-1", file, int64(len(value)), strings.NewReader(value), nil)
			if err != nil {
				t.Fatal(err)
			}
			fileID = up[0].ID
		}
		if err := p.Wait(2 * time.Minute); !killedBySIGKILL(err) {
			t.Fatalf("%s: serve exited with %v, want killed by SIGKILL at the step\n%s", s.step, err, p.Logs())
		}
		restarted := b.serve("serve (restarted after "+s.step+")", "")
		done := b.settled
		if fileID != "" {
			// The copy job outlives the sync run that asked for it: river
			// gives the killed one to the restarted process after its lease.
			done = func() bool { return b.settled() && b.mapped(fileID) }
		}
		if !eventually(2*time.Minute, done) {
			t.Fatalf("%s: not every change was applied 2 minutes after the restart: %s\n%s", s.step, b.pending(), restarted.Logs())
		}
		after := b.lookFields()
		restarted.Stop()

		var bad []string
		switch s.change {
		case "asana name":
			if after.summary != value || after.summaryEdits != before.summaryEdits+1 {
				bad = append(bad, fmt.Sprintf("summary %q after %d edits, want %q after 1", after.summary, after.summaryEdits-before.summaryEdits, value))
			}
		case "asana due":
			if after.jiraDue != due || after.dueEdits != before.dueEdits+1 {
				bad = append(bad, fmt.Sprintf("Jira due date %q after %d edits, want %q after 1", after.jiraDue, after.dueEdits-before.dueEdits, due))
			}
		case "jira summary":
			if after.name != value || after.nameStories != before.nameStories+1 {
				bad = append(bad, fmt.Sprintf("task name %q after %d changes, want %q after 1", after.name, after.nameStories-before.nameStories, value))
			}
		case "jira due":
			if after.due != due || after.dueStories != before.dueStories+1 {
				bad = append(bad, fmt.Sprintf("task due date %q after %d changes, want %q after 1", after.due, after.dueStories-before.dueStories, due))
			}
		case "jira attachment":
			if after.files[file] != 1 {
				bad = append(bad, fmt.Sprintf("the task has %d copies of %s, want 1", after.files[file], file))
			}
		}
		for _, msg := range bad {
			t.Errorf("%s (%s): %s", s.step, s.change, msg)
		}
	}
	state, err := b.st.GetSyncLinkState(ctx, b.link.ID)
	if err != nil || state.LastError != "" {
		t.Fatalf("the link's state: error %q (%v)", state.LastError, err)
	}
}
