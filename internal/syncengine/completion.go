package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
)

// Status categories of Jira (statusCategory.key).
const (
	categoryDone = "done"
	categoryNew  = "new"
	categoryWIP  = "indeterminate"
)

// syncCompletion keeps the task's completion and the issue's done-ness
// together (see the package doc).
func (r *run) syncCompletion(ctx context.Context) error {
	a := r.task.Completed
	j := r.issue.Fields.Status != nil && r.issue.Fields.Status.StatusCategory.Key == categoryDone
	st := &r.state
	aAt, aBy := r.asanaCompletionChange()
	jAt, jBy := r.jiraStatusChange()
	if st.AsanaCompleted == nil || st.JiraDone == nil {
		// Baseline: both as they are, except that a side changed since sync
		// began (and not the other) counts as changed, so the very change
		// that came with enabling sync is not lost.
		lastA, lastJ := a, j
		if a != j {
			aNew, jNew := aAt.After(r.cutoff), jAt.After(r.cutoff)
			switch {
			case aNew && (!jNew || aAt.After(jAt)):
				lastA = j
			case jNew:
				lastJ = a
			}
		}
		st.AsanaCompleted, st.JiraDone = &lastA, &lastJ
	}
	aChanged, jChanged := a != *st.AsanaCompleted, j != *st.JiraDone
	r.echo = map[string]bool{SideAsana: !aChanged && st.AsanaWritten, SideJira: !jChanged && st.JiraWritten}
	if aChanged {
		st.AsanaWritten = false
	}
	if jChanged {
		st.JiraWritten = false
	}
	switch {
	case a == j:
		st.AsanaCompleted, st.JiraDone = &a, &j
		return nil
	case !aChanged && !jChanged:
		return nil // they disagreed before sync began; wait for a change
	case aChanged && jChanged && jAt.After(aAt):
		aChanged = false // both changed: the later change wins
	}
	if !r.budget() {
		return nil
	}
	if aChanged {
		return r.moveIssue(ctx, a, aBy)
	}
	return r.completeTask(ctx, j, jBy)
}

// asanaCompletionChange is when the task was last completed or reopened,
// and by whom (its marked_complete / marked_incomplete story).
func (r *run) asanaCompletionChange() (time.Time, string) {
	for i := len(r.stories) - 1; i >= 0; i-- {
		s := r.stories[i]
		if s.ResourceSubtype == "marked_complete" || s.ResourceSubtype == "marked_incomplete" {
			by := ""
			if s.CreatedBy != nil {
				by = s.CreatedBy.GID
			}
			return parseAsanaTime(s.CreatedAt), by
		}
	}
	if r.task.Completed {
		return parseAsanaTime(r.task.CompletedAt), ""
	}
	return time.Time{}, ""
}

// jiraStatusChange is when the issue last changed status, and the Jira user
// name of who did it.
func (r *run) jiraStatusChange() (time.Time, string) {
	if r.issue.Changelog == nil {
		return time.Time{}, ""
	}
	hs := r.issue.Changelog.Histories
	for i := len(hs) - 1; i >= 0; i-- {
		for _, it := range hs[i].Items {
			if it.FieldID == "status" || (it.FieldID == "" && strings.EqualFold(it.Field, "status")) {
				return hs[i].Created.Time, userName(hs[i].Author)
			}
		}
	}
	return time.Time{}, ""
}

// moveIssue transitions the issue to a done status (done) or back to a to-do
// or in-progress one, as the Asana user who changed the task when connected
// to Jira, else as the link's owner.
func (r *run) moveIssue(ctx context.Context, done bool, by string) error {
	jc, actor, _ := r.jiraAs(ctx, by)
	want := "a done"
	if !done {
		want = "a to-do or in-progress"
	}
	ts, err := jc.Transitions(ctx, r.link.IssueID)
	if err != nil {
		return r.jiraError(ctx, err, actor, "read the transitions of "+r.link.IssueKey)
	}
	t := chooseTransition(ts, done, r.set.DoneTransition, r.set.ReopenTransition)
	if t == nil {
		return &SyncError{Msg: fmt.Sprintf("Cannot move %s to %s status: Jira offers %s no transition to one (check their permission to transition issues and the workflow)",
			r.link.IssueKey, want, r.userName(ctx, actor))}
	}
	in, err := transitionInput(t)
	if err != nil {
		return &SyncError{Msg: fmt.Sprintf("Cannot move %s through %q: %v", r.link.IssueKey, t.Name, err)}
	}
	if err := r.renew(ctx); err != nil {
		return err
	}
	crashAt("before-jira-transition")
	if err := jc.DoTransition(ctx, r.link.IssueID, in); err != nil {
		var je *jira.Error
		if errors.As(err, &je) && je.StatusCode == http.StatusBadRequest {
			// Jira refuses a transition the issue left meanwhile; compare
			// again on the next run.
			return &SyncError{Msg: fmt.Sprintf("Jira refused to move %s through %q", r.link.IssueKey, t.Name), Err: err}
		}
		return r.writeError(ctx, err, actor, "move "+r.link.IssueKey+" through "+t.Name)
	}
	crashAt("after-jira-transition")
	a := r.task.Completed
	r.state.AsanaCompleted, r.state.JiraDone, r.state.JiraWritten = &a, &done, true
	r.wroteOne(AsanaToJira, KindCompletion)
	what := "completion.done"
	if !done {
		what = "completion.reopened"
	}
	r.history(ctx, AsanaToJira, what, r.userName(ctx, actor), fmt.Sprintf("%s → %s (transition %q)", r.link.IssueKey, t.To.Name, t.Name))
	return nil
}

// chooseTransition picks the transition to a status of the wanted
// category: the one named by the connection's setting (transition or
// target status name) when there is one, else the first offered.
func chooseTransition(ts []jira.Transition, done bool, doneName, reopenName string) *jira.Transition {
	name := doneName
	if !done {
		name = reopenName
	}
	var first *jira.Transition
	for i := range ts {
		t := &ts[i]
		key := t.To.StatusCategory.Key
		fits := key == categoryDone
		if !done {
			fits = key == categoryNew || key == categoryWIP
		}
		if !fits || (t.IsAvailable != nil && !*t.IsAvailable) {
			continue
		}
		if name != "" && (strings.EqualFold(t.Name, name) || strings.EqualFold(t.To.Name, name)) {
			return t
		}
		if first == nil {
			first = t
		}
	}
	return first
}

// transitionInput fills the transition screen: the resolution when the
// screen has one (Done, else the first offered); any other required field
// without a default cannot be filled from Asana.
func transitionInput(t *jira.Transition) (jira.TransitionInput, error) {
	in := jira.TransitionInput{ID: t.ID}
	for id, raw := range t.Fields {
		var f struct {
			Required        bool   `json:"required"`
			HasDefaultValue bool   `json:"hasDefaultValue"`
			Name            string `json:"name"`
			AllowedValues   []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"allowedValues"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			continue
		}
		if id == "resolution" && len(f.AllowedValues) > 0 {
			pick := f.AllowedValues[0]
			for _, v := range f.AllowedValues {
				if strings.EqualFold(v.Name, "Done") {
					pick = v
					break
				}
			}
			in.Fields = map[string]any{"resolution": map[string]string{"id": pick.ID}}
			continue
		}
		if f.Required && !f.HasDefaultValue {
			return in, fmt.Errorf("its screen requires %q, which asanajira cannot fill", f.Name)
		}
	}
	return in, nil
}

// completeTask completes or reopens the task, as the Asana user connected as
// the Jira user who moved the issue, else as the link's owner.
func (r *run) completeTask(ctx context.Context, done bool, by string) error {
	ac, writer, _ := r.asanaAs(ctx, by)
	if err := r.renew(ctx); err != nil {
		return err
	}
	crashAt("before-asana-complete")
	if _, err := ac.UpdateTask(ctx, r.link.TaskGID, map[string]any{"completed": done}); err != nil {
		return r.writeError(ctx, err, writer, "complete the task")
	}
	crashAt("after-asana-complete")
	j := done
	r.state.AsanaCompleted, r.state.JiraDone, r.state.AsanaWritten = &done, &j, true
	r.wroteOne(JiraToAsana, KindCompletion)
	what := "completion.completed"
	if !done {
		what = "completion.reopened"
	}
	status := ""
	if r.issue.Fields.Status != nil {
		status = r.issue.Fields.Status.Name
	}
	r.history(ctx, JiraToAsana, what, r.userName(ctx, writer), fmt.Sprintf("%s is %s → task %s", r.link.IssueKey, status, map[bool]string{true: "completed", false: "reopened"}[done]))
	return nil
}
