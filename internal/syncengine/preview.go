package syncengine

import (
	"context"
	"errors"
)

// FieldChange is what field sync would do to one field of a link.
type FieldChange struct {
	Field string // FieldName, FieldDue, …
	// Label names the field for people ("the due date").
	Label     string
	Direction Direction
	// Asana and Jira are the field's values on each side now (a user's
	// e-mail on Asana's side and user name on Jira's for the assignee; a
	// status or section name).
	Asana, Jira string
	// To is the side that would be written (SideAsana or SideJira), ""
	// when nothing would be; Value is what it would be set to.
	To    string
	Value string
	// Note says why the change cannot be made (nobody with that e-mail, a
	// field the actor may not edit); when synced it is told once on the
	// task.
	Note string
	// Why says why: "off", "in step", "first run", "changed in Asana",
	// "changed in Jira", "waits for a change", "kept on its side".
	Why string
}

// Preview tells, for one link, what field sync would change each way under
// mapping m (not saved), reading both sides as the link's owner and the
// link's field state; force previews a Resync. It writes nothing.
func (e *Engine) Preview(ctx context.Context, linkID int64, m Mapping, force bool) ([]FieldChange, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	link, err := e.st.GetLink(ctx, linkID)
	if err != nil {
		return nil, wrap("preview", err)
	}
	r := &run{e: e, link: link, started: e.now(), wrote: map[string]bool{}, errs: map[string]*SyncError{},
		deferred: map[string]bool{}, fieldEcho: map[string]bool{}, force: force, mapping: m, mappingSet: true}
	if err := r.read(ctx); err != nil {
		return nil, err
	}
	if err := r.loadMapping(ctx); err != nil {
		return nil, err
	}
	if err := r.loadFieldState(ctx); err != nil {
		return nil, err
	}
	var out []FieldChange
	for _, f := range Fields {
		if f == FieldAttachments {
			c, err := r.previewAttachments(ctx, m.Direction(f))
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		spec := fieldSpecs[f]
		d := m.Direction(f)
		c := FieldChange{Field: f, Label: spec.label, Direction: d, Asana: spec.asana(r, r.task), Jira: spec.jira(r, r.issue)}
		if d == Off {
			c.Why = "off"
			out = append(out, c)
			continue
		}
		p, err := r.planField(ctx, f, d)
		if err != nil {
			return nil, err
		}
		c.To, c.Value, c.Note = p.to, p.value, p.note
		c.Why = p.why
		if p.to == SideJira && spec.editField != "" {
			jc, actor, _ := r.jiraAs(ctx, p.actor)
			ok, err := r.mayEdit(ctx, jc, actor, spec.editField)
			var se *SyncError
			if errors.As(err, &se) {
				ok, err = false, nil
			}
			if err != nil {
				return nil, err
			}
			if !ok {
				c.To, c.Value = "", ""
				c.Note = "Jira does not let " + r.userName(ctx, actor) + " edit " + spec.label + " of " + link.IssueKey
			}
		}
		out = append(out, c)
	}
	return out, nil
}
