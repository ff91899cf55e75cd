package syncengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Field sync. A link's mapped fields are compared like completion: per
// field, the value of each side as the engine last saw or wrote it is kept
// (sync_field_state); a side whose value moved since is the change, and it
// is written to the other side when the field's direction allows it (both
// changed: the later change wins). A value equal to what the engine wrote
// is no change, so its echo is dropped. The first run of a field (a field
// newly enabled, a new link) fills a side that has no value from the
// other, and a one-way field's target from its source; a "both" field whose
// sides both have a value waits for a change, unless the run is a resync
// (Resync), where Jira's value wins.
//
// Writes go through the effects ledger (scope sync-field, one key per
// write of a field of a link), found again after a crash by reading the
// other side's value. Asana → Jira writes are made as the Asana user who
// made the change when they connected Jira, else as the link's owner, and
// only to fields the issue's edit metadata offers that user; Jira → Asana
// writes as the Asana user connected as the Jira user who made the change,
// else as the owner. What cannot be written (a field not on the edit
// screen, nobody with the assignee's e-mail, no section for a status) is
// told once, as a story on the task (scope sync-field-note, keyed by what
// it says), and the change is taken as seen: no error loop.

// KindField is the kind of a mapped field's change (told by the intake as
// KindTask or KindIssue, or by a completion change for status).
const KindField = "field"

// Ledger scopes of field sync.
const (
	scopeField      = "sync-field"       // one write of a mapped field
	scopeFieldNote  = "sync-field-note"  // a note on the task about a field that cannot sync
	scopeFieldSetup = "sync-field-setup" // an enum custom field or option made on a project
)

// linkField is the pseudo-field of the remote link on the issue, which
// always follows the task's name and completion. A create stores its state
// with the link, as the remote link it added says.
const linkField = bridge.RemoteLinkField

// The enum custom fields the engine keeps on routed projects.
const (
	JiraStatusField   = asana.JiraStatusField
	JiraPriorityField = "Jira priority"
)

// fieldSpec is how one mapped field is read, compared, translated and
// written on each side.
type fieldSpec struct {
	// label names the field for people.
	label string
	// asana and jira read a side's current value ("" for none).
	asana func(r *run, t *asana.Task) string
	jira  func(r *run, is *jira.Issue) string
	// toAsana and toJira translate a value for the other side; ok false
	// with a note: it cannot be (told once); ok false without: nothing to
	// write.
	toAsana func(ctx context.Context, r *run, j string) (v string, ok bool, note string, err error)
	toJira  func(ctx context.Context, r *run, a string) (v string, ok bool, note string, err error)
	// setAsana and setJira write a translated value.
	setAsana func(ctx context.Context, r *run, ac *asana.Client, v string) error
	setJira  func(ctx context.Context, r *run, jc *jira.Client, v string) error
	// editField is the Jira field the edit metadata must offer to write
	// ("" when written by a transition).
	editField string
	// stories are the Asana story subtypes and items the Jira changelog
	// field ids that tell who changed the field, and when.
	stories []string
	items   []string
}

var fieldSpecs = map[string]fieldSpec{
	FieldName: {
		label: "the name",
		asana: func(_ *run, t *asana.Task) string { return t.Name },
		jira:  func(_ *run, is *jira.Issue) string { return is.Fields.Summary },
		toAsana: func(_ context.Context, _ *run, j string) (string, bool, string, error) {
			return j, j != "", "", nil
		},
		toJira: func(_ context.Context, _ *run, a string) (string, bool, string, error) {
			if strings.TrimSpace(a) == "" {
				return "", false, "", nil // Jira requires a summary
			}
			return a, true, "", nil
		},
		setAsana: func(ctx context.Context, r *run, ac *asana.Client, v string) error {
			_, err := ac.UpdateTask(ctx, r.link.TaskGID, map[string]any{"name": v})
			return err
		},
		setJira: func(ctx context.Context, r *run, jc *jira.Client, v string) error {
			return jc.EditIssue(ctx, r.link.IssueID, jira.IssueInput{Fields: map[string]any{"summary": v}})
		},
		editField: "summary", stories: []string{"name_changed"}, items: []string{"summary"},
	},
	FieldDue: {
		label:   "the due date",
		asana:   func(_ *run, t *asana.Task) string { return t.DueOn },
		jira:    func(_ *run, is *jira.Issue) string { return is.Fields.DueDate },
		toAsana: same,
		toJira:  same,
		setAsana: func(ctx context.Context, r *run, ac *asana.Client, v string) error {
			_, err := ac.UpdateTask(ctx, r.link.TaskGID, map[string]any{"due_on": orNil(v)})
			return err
		},
		setJira: func(ctx context.Context, r *run, jc *jira.Client, v string) error {
			return jc.EditIssue(ctx, r.link.IssueID, jira.IssueInput{Fields: map[string]any{"duedate": orNil(v)}})
		},
		editField: "duedate", stories: []string{"due_date_changed"}, items: []string{"duedate"},
	},
	FieldAssignee: {
		label: "the assignee",
		asana: func(_ *run, t *asana.Task) string {
			if t.Assignee == nil {
				return ""
			}
			return strings.ToLower(t.Assignee.Email)
		},
		jira: func(_ *run, is *jira.Issue) string {
			if is.Fields.Assignee == nil {
				return ""
			}
			return is.Fields.Assignee.Name
		},
		toAsana: func(_ context.Context, r *run, j string) (string, bool, string, error) {
			if j == "" {
				return "", true, "", nil
			}
			if e := r.mapping.AsanaEmailFor(j); e != "" {
				return strings.ToLower(e), true, "", nil
			}
			email := r.jiraEmails[strings.ToLower(j)]
			if email == "" {
				return "", false, fmt.Sprintf("Jira shows no e-mail address for %s", j), nil
			}
			return r.mapping.AsanaEmail(email), true, "", nil
		},
		toJira: func(ctx context.Context, r *run, a string) (string, bool, string, error) {
			if a == "" {
				return "", true, "", nil
			}
			if u := r.mapping.JiraUserFor(a); u != "" {
				return u, true, "", nil
			}
			return r.jiraUserByEmail(ctx, r.mapping.JiraEmail(a))
		},
		setAsana: func(ctx context.Context, r *run, ac *asana.Client, v string) error {
			if v == "" {
				_, err := ac.UpdateTask(ctx, r.link.TaskGID, map[string]any{"assignee": nil})
				return err
			}
			u, err := ac.User(ctx, v)
			if errors.Is(err, asana.ErrNotFound) {
				return &noteError{fmt.Sprintf("no Asana user has the e-mail %s", v)}
			}
			if err != nil {
				return err
			}
			_, err = ac.UpdateTask(ctx, r.link.TaskGID, map[string]any{"assignee": u.GID})
			return err
		},
		setJira: func(ctx context.Context, r *run, jc *jira.Client, v string) error {
			return jc.EditIssue(ctx, r.link.IssueID, jira.IssueInput{Fields: map[string]any{"assignee": map[string]any{"name": orNil(v)}}})
		},
		editField: "assignee", stories: []string{"assigned", "unassigned"}, items: []string{"assignee"},
	},
	FieldNotes: {
		label: "the description",
		asana: func(_ *run, t *asana.Task) string { return t.Notes },
		jira:  func(_ *run, is *jira.Issue) string { return string(is.Fields.Description) },
		toAsana: func(_ context.Context, _ *run, j string) (string, bool, string, error) {
			return j, true, "", nil
		},
		toJira: func(_ context.Context, _ *run, a string) (string, bool, string, error) {
			return bridge.WikiFromAsana(a), true, "", nil
		},
		setAsana: func(ctx context.Context, r *run, ac *asana.Client, v string) error {
			_, err := ac.UpdateTask(ctx, r.link.TaskGID, map[string]any{"notes": v})
			return err
		},
		setJira: func(ctx context.Context, r *run, jc *jira.Client, v string) error {
			return jc.EditIssue(ctx, r.link.IssueID, jira.IssueInput{Fields: map[string]any{"description": orNil(v)}})
		},
		editField: "description", stories: []string{"notes_changed"}, items: []string{"description"},
	},
	FieldStatus: {
		label: "the Jira status",
		asana: func(_ *run, t *asana.Task) string { return enumValue(t, JiraStatusField) },
		jira: func(_ *run, is *jira.Issue) string {
			if is.Fields.Status == nil {
				return ""
			}
			return is.Fields.Status.Name
		},
		toAsana: func(_ context.Context, _ *run, j string) (string, bool, string, error) {
			return j, j != "", "", nil
		},
		setAsana: func(ctx context.Context, r *run, ac *asana.Client, v string) error {
			return r.setEnum(ctx, ac, JiraStatusField, v)
		},
		items: []string{"status"},
	},
	FieldPriority: {
		label: "the Jira priority",
		asana: func(_ *run, t *asana.Task) string { return enumValue(t, JiraPriorityField) },
		jira: func(_ *run, is *jira.Issue) string {
			if is.Fields.Priority == nil {
				return ""
			}
			return is.Fields.Priority.Name
		},
		toAsana: func(_ context.Context, _ *run, j string) (string, bool, string, error) {
			return j, j != "", "", nil
		},
		setAsana: func(ctx context.Context, r *run, ac *asana.Client, v string) error {
			return r.setEnum(ctx, ac, JiraPriorityField, v)
		},
		items: []string{"priority"},
	},
	FieldSection: {
		label: "the section",
		asana: func(r *run, t *asana.Task) string {
			for _, m := range t.Memberships {
				if m.Project != nil && m.Project.GID == r.project && m.Section != nil {
					return m.Section.Name
				}
			}
			return ""
		},
		jira: func(_ *run, is *jira.Issue) string {
			if is.Fields.Status == nil {
				return ""
			}
			return is.Fields.Status.Name
		},
		toAsana: func(_ context.Context, r *run, j string) (string, bool, string, error) {
			s := r.mapping.SectionFor(j)
			return s, s != "", "", nil
		},
		toJira: func(_ context.Context, r *run, a string) (string, bool, string, error) {
			s := r.mapping.StatusFor(a)
			return s, s != "", "", nil
		},
		setAsana: func(ctx context.Context, r *run, ac *asana.Client, v string) error {
			if r.project == "" {
				return &noteError{"the task is in no project routed to this Jira server"}
			}
			for s, err := range ac.Sections(ctx, r.project) {
				if err != nil {
					return err
				}
				if strings.EqualFold(s.Name, v) {
					return ac.AddTaskToSection(ctx, s.GID, r.link.TaskGID)
				}
			}
			return &noteError{fmt.Sprintf("the project has no section named %q", v)}
		},
		setJira: func(ctx context.Context, r *run, jc *jira.Client, v string) error {
			ts, err := jc.Transitions(ctx, r.link.IssueID)
			if err != nil {
				return err
			}
			for i := range ts {
				if strings.EqualFold(ts[i].To.Name, v) && (ts[i].IsAvailable == nil || *ts[i].IsAvailable) {
					in, err := transitionInput(&ts[i])
					if err != nil {
						return &noteError{fmt.Sprintf("the transition to %s asks for what asanajira cannot fill (%v)", v, err)}
					}
					return jc.DoTransition(ctx, r.link.IssueID, in)
				}
			}
			return &noteError{fmt.Sprintf("Jira offers no transition from %s to %s", statusName(r.issue), v)}
		},
		stories: []string{"section_changed"}, items: []string{"status"},
	},
}

// fieldLabel names a mapped field for people.
func fieldLabel(f string) string {
	if f == FieldAttachments {
		return "the attachments"
	}
	return fieldSpecs[f].label
}

// noteError is a write that cannot be made for a reason people must know,
// told once on the task instead of retried.
type noteError struct{ msg string }

func (e *noteError) Error() string { return e.msg }

func same(_ context.Context, _ *run, v string) (string, bool, string, error) { return v, true, "", nil }

func orNil(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func statusName(is *jira.Issue) string {
	if is == nil || is.Fields.Status == nil {
		return "its status"
	}
	return is.Fields.Status.Name
}

// enumValue is the name of the option set on the task's enum field name.
func enumValue(t *asana.Task, name string) string {
	for _, cf := range t.CustomFields {
		if strings.EqualFold(cf.Name, name) && cf.EnumValue != nil {
			return cf.EnumValue.Name
		}
	}
	return ""
}

// taskFieldOptFields are the task fields field sync reads.
var taskFieldOptFields = []string{"name", "completed", "completed_at", "modified_at", "permalink_url", "due_on", "notes",
	"assignee.name", "assignee.email", "projects.name", "memberships.project.name", "memberships.section.name",
	"custom_fields.name", "custom_fields.resource_subtype", "custom_fields.enum_value.name",
	"custom_fields.enum_options.name", "custom_fields.enum_options.enabled"}

// issueFieldFields are the issue fields field sync reads.
var issueFieldFields = []string{"summary", "status", "updated", "project", "duedate", "assignee", "priority", "description", "attachment"}

// fieldPlan is what field sync would do for one field of a link.
type fieldPlan struct {
	field string
	// to is the side written (SideAsana or SideJira), "" for none.
	to string
	// value is written to side to; asana and jira are the sides' current
	// values; state is what the state becomes once done.
	value        string
	asana, jira  string
	state        store.SyncFieldState
	note         string
	actor        string // Asana gid (to Asana: "" for the Jira actor's mapping) of who changed it
	jiraActor    string // Jira user name who changed it (for writes to Asana)
	changedSides []string
	// why says why, for a preview (see FieldChange.Why).
	why string
}

// loadMapping finds the link's routed project and the mapping that applies
// to it; r.fieldsOn says whether any field syncs.
func (r *run) loadMapping(ctx context.Context) error {
	r.project = ""
	for _, p := range r.task.Projects {
		route, err := r.e.st.GetProjectRoute(ctx, r.link.WorkspaceGID, p.GID)
		if err == nil && route.JiraServerID == r.link.JiraServerID {
			r.project = p.GID
			break
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return wrap("read the task's routes", err)
		}
	}
	if r.project == "" && len(r.task.Projects) > 0 {
		// Without a route (a link made by hand), the task's first project
		// holds its fields.
		r.project = r.task.Projects[0].GID
	}
	if r.mappingSet {
		return nil
	}
	m, ok, err := r.e.EffectiveMapping(ctx, r.link.WorkspaceGID, r.link.JiraServerID, r.project)
	if err != nil {
		return err
	}
	r.mapping, r.fieldsOn = m, ok
	return nil
}

// syncFields brings the mapped fields of the link together.
func (r *run) syncFields(ctx context.Context) error {
	if err := r.loadFieldState(ctx); err != nil {
		return err
	}
	var errs []error
	// Jira's status and priority, when both are written to the task (a
	// link's first run writes both), are written together: see applyEnums.
	var enums []fieldPlan
	for _, f := range Fields {
		d := r.mapping.Direction(f)
		if d != Off && f != FieldAttachments { // attachments are copied by their own job
			p, err := r.planField(ctx, f, d)
			if err != nil {
				return err
			}
			if enumFields[f] != "" && p.to == SideAsana && p.note == "" {
				enums = append(enums, p)
			} else if errs, err = collect(errs, r.applyField(ctx, p)); err != nil {
				return err
			}
		}
		if f == FieldPriority || f == Fields[len(Fields)-1] {
			var err error
			if errs, err = collect(errs, r.applyEnums(ctx, enums)); err != nil {
				return err
			}
			enums = nil
		}
	}
	if err := r.syncRemoteLink(ctx); err != nil {
		if !isSyncError(err) {
			return err
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// collect adds a sync error (told on the link, the run goes on) to errs;
// any other error comes back to end the run.
func collect(errs []error, err error) ([]error, error) {
	if err != nil && !isSyncError(err) {
		return errs, err
	}
	if err != nil {
		errs = append(errs, err)
	}
	return errs, nil
}

// enumFields are the fields the sync writes to the task as enum custom
// fields, by the custom field's name.
var enumFields = map[string]string{FieldStatus: JiraStatusField, FieldPriority: JiraPriorityField}

// applyEnums writes Jira's status and priority to the task in one PUT,
// as one write of the ledger (found again after a crash by reading both),
// when the run writes both as the same person: each written by applyField
// would be a PUT of its own, and Asana would tell each as a change of the
// task. Anything else (one of them, different writers, a field or option
// that cannot be made) is left to applyField, field by field.
func (r *run) applyEnums(ctx context.Context, ps []fieldPlan) error {
	if len(ps) == 0 {
		return nil
	}
	each := func() error {
		var errs []error
		for _, p := range ps {
			var err error
			if errs, err = collect(errs, r.applyField(ctx, p)); err != nil {
				return err
			}
		}
		if len(errs) > 0 {
			return errs[0]
		}
		return nil
	}
	if len(ps) != 2 || ps[0].jiraActor != ps[1].jiraActor {
		return each()
	}
	if !r.budget() {
		return nil
	}
	set := map[string]any{}
	for _, p := range ps {
		field, option, err := r.enumOption(ctx, enumFields[p.field], p.value)
		if err != nil {
			return each() // which tells it
		}
		set[field] = option
	}
	ac, writer, _ := r.asanaAs(ctx, ps[0].jiraActor)
	a, b := fieldSpecs[ps[0].field], fieldSpecs[ps[1].field]
	eff := effects.Effect{Scope: scopeField, Target: r.asanaTarget(), Author: writer,
		Key: fmt.Sprintf("%d:%s+%s:%s:%d+%d", r.link.ID, ps[0].field, ps[1].field, SideAsana, ps[0].state.Seq+1, ps[1].state.Seq+1)}
	w := valueWrite{value: ps[0].value + "\n" + ps[1].value,
		make: func(ctx context.Context) error { return ac.SetCustomFields(ctx, r.link.TaskGID, set) },
		current: func(ctx context.Context) (string, error) {
			t, err := r.ac.GetTask(ctx, r.link.TaskGID, taskFieldOptFields)
			if err != nil {
				return "", err
			}
			return a.asana(r, t) + "\n" + b.asana(r, t), nil
		}}
	if err := r.renew(ctx); err != nil {
		return err
	}
	_, err := r.e.ledger.Apply(ctx, eff, crashing{Write: w, side: "asana"})
	switch {
	case errors.Is(err, effects.ErrBusy):
		r.more = true
		return nil
	case err != nil:
		return r.writeError(ctx, err, writer, "write "+a.label+" and "+b.label)
	}
	actorName := r.userName(ctx, writer)
	states := make([]store.SyncFieldState, len(ps))
	lines := make([]store.SyncHistory, len(ps))
	for i, p := range ps {
		p.state.Seq, p.state.Written = p.state.Seq+1, SideAsana
		states[i] = p.state
		lines[i] = r.historyLine(JiraToAsana, "field."+p.field, actorName, fmt.Sprintf("%s: %q → %q", fieldSpecs[p.field].label, p.jira, p.value))
	}
	if err := r.saveWritten(ctx, states, lines); err != nil {
		return err
	}
	for range ps {
		r.wroteOne(JiraToAsana, KindField)
	}
	return nil
}

// loadFieldState reads the link's field state, and notes the e-mail of the
// Jira users the issue names.
func (r *run) loadFieldState(ctx context.Context) error {
	states, err := r.e.st.ListSyncFieldStates(ctx, r.link.ID)
	if err != nil {
		return wrap("read the field state", err)
	}
	r.fstate = map[string]store.SyncFieldState{}
	for _, s := range states {
		r.fstate[s.Field] = s
	}
	r.collectJiraEmails()
	return nil
}

// collectJiraEmails notes the e-mail of the Jira users the issue names.
func (r *run) collectJiraEmails() {
	if r.jiraEmails == nil {
		r.jiraEmails = map[string]string{}
	}
	if a := r.issue.Fields.Assignee; a != nil && a.EmailAddress != "" {
		r.jiraEmails[strings.ToLower(a.Name)] = strings.ToLower(a.EmailAddress)
	}
}

// planField decides what to do with one field (see the top of the file).
func (r *run) planField(ctx context.Context, f string, d Direction) (fieldPlan, error) {
	spec := fieldSpecs[f]
	a, j := spec.asana(r, r.task), spec.jira(r, r.issue)
	p := fieldPlan{field: f, asana: a, jira: j}
	st, has := r.fstate[f]
	if !has {
		st = store.SyncFieldState{LinkID: r.link.ID, Field: f}
	}
	p.state = st
	p.state.AsanaValue, p.state.JiraValue = a, j
	if spec.toJira == nil && d.ToJira() {
		d = FromJira
	}
	agree, err := r.agree(ctx, spec, a, j)
	if err != nil {
		return p, err
	}
	aAt, aBy := r.asanaFieldChange(spec)
	jAt, jBy := r.jiraFieldChange(spec)
	// toAsana says Jira's value is written to Asana; past the switch, a
	// change that is not is Asana's value written to Jira.
	toAsana := false
	if has && r.force && a == st.AsanaValue && j == st.JiraValue {
		has = false // a resync takes a disagreement left waiting as a first run
	}
	switch {
	case agree:
		if has && (a != st.AsanaValue || j != st.JiraValue) {
			p.state.Written = "" // both moved to the same value
		}
		if has && a == st.AsanaValue && st.Written == SideAsana || has && j == st.JiraValue && st.Written == SideJira {
			r.fieldEcho[st.Written] = true
		}
		p.why = "in step"
		return p, nil
	case !has:
		p.why = "first run"
		switch {
		case d == FromJira:
			toAsana = true
		case d == FromAsana, j == "" && a != "":
			// Asana's value is written to Jira below.
		case a == "" || r.force:
			toAsana = true
		default:
			// Both have a value (a summary chosen on the create form):
			// the first change on either side wins, also one made after
			// the link but before this first run (the later when both
			// were); with none yet, both stay as they are.
			since := r.link.CreatedAt
			switch {
			case jAt.After(since) && !aAt.After(jAt):
				toAsana, p.why = true, "changed in Jira"
				p.changedSides = append(p.changedSides, SideJira)
			case aAt.After(since):
				p.why = "changed in Asana" // Asana's value is written to Jira below.
				p.changedSides = append(p.changedSides, SideAsana)
			default:
				p.why = "waits for a change"
				return p, nil
			}
		}
	default:
		aChanged, jChanged := a != st.AsanaValue, j != st.JiraValue
		if aChanged {
			p.changedSides = append(p.changedSides, SideAsana)
		}
		if jChanged {
			p.changedSides = append(p.changedSides, SideJira)
		}
		if aChanged && jChanged {
			if jAt.After(aAt) {
				aChanged = false
			} else {
				jChanged = false
			}
		}
		if !aChanged && !jChanged {
			p.why = "waits for a change" // they disagreed before
			return p, nil
		}
		toAsana = jChanged && d.ToAsana()
		toJira := aChanged && d.ToJira()
		p.why = "changed in Asana"
		if jChanged {
			p.why = "changed in Jira"
		}
		if !toAsana && !toJira {
			p.why = "kept on its side" // by the field's direction
			return p, nil
		}
	}
	if toAsana {
		v, ok, note, err := spec.toAsana(ctx, r, j)
		if err != nil {
			return p, err
		}
		p.jiraActor = jBy
		if !ok {
			p.note = note
			return p, nil
		}
		p.to, p.value = SideAsana, v
		p.state.AsanaValue = v
		return p, nil
	}
	v, ok, note, err := spec.toJira(ctx, r, a)
	if err != nil {
		return p, err
	}
	p.actor = aBy
	if !ok {
		p.note = note
		return p, nil
	}
	p.to, p.value = SideJira, v
	p.state.JiraValue = v
	return p, nil
}

// agree reports whether the two sides' values say the same.
func (r *run) agree(ctx context.Context, spec fieldSpec, a, j string) (bool, error) {
	if spec.label == fieldSpecs[FieldNotes].label {
		return a == j || bridge.WikiFromAsana(a) == j, nil
	}
	v, ok, _, err := spec.toAsana(ctx, r, j)
	if err != nil {
		return false, err
	}
	if !ok {
		// Nothing maps Jira's value (a status without a section): nothing
		// to change on either side for it.
		return spec.toJira == nil || a == "" || j == "", nil
	}
	return strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(a)), nil
}

// applyField makes the write planField chose, or tells its note once, and
// records the field's state.
func (r *run) applyField(ctx context.Context, p fieldPlan) error {
	spec := fieldSpecs[p.field]
	if p.note != "" {
		dir := AsanaToJira
		if p.to == SideAsana || len(p.changedSides) == 1 && p.changedSides[0] == SideJira || p.jiraActor != "" && p.actor == "" {
			dir = JiraToAsana
		}
		if err := r.fieldNote(ctx, p.field, dir, p.note); err != nil {
			return err
		}
		return r.saveField(ctx, p.state)
	}
	if p.to == "" {
		if p.state != r.fstate[p.field] {
			r.keepField(p.state)
		}
		return nil
	}
	if !r.budget() {
		return nil
	}
	seq := p.state.Seq + 1
	eff := effects.Effect{Scope: scopeField, Key: fmt.Sprintf("%d:%s:%s:%d", r.link.ID, p.field, p.to, seq)}
	var w effects.Write
	var dir, actorName, side string
	switch p.to {
	case SideAsana:
		ac, writer, _ := r.asanaAs(ctx, p.jiraActor)
		eff.Target, eff.Author, dir, side, actorName = r.asanaTarget(), writer, JiraToAsana, "asana", r.userName(ctx, writer)
		w = valueWrite{value: p.value,
			make: func(ctx context.Context) error { return spec.setAsana(ctx, r, ac, p.value) },
			current: func(ctx context.Context) (string, error) {
				t, err := r.ac.GetTask(ctx, r.link.TaskGID, taskFieldOptFields)
				if err != nil {
					return "", err
				}
				return spec.asana(r, t), nil
			}}
	default:
		jc, actor, _ := r.jiraAs(ctx, p.actor)
		if spec.editField != "" {
			ok, err := r.mayEdit(ctx, jc, actor, spec.editField)
			if err != nil {
				return err
			}
			if !ok {
				p.state.JiraValue = p.jira // stays as Jira has it
				if err := r.fieldNote(ctx, p.field, AsanaToJira, fmt.Sprintf("Jira does not let %s edit %s of %s (it is not on the issue's edit screen for them)",
					r.userName(ctx, actor), spec.label, r.link.IssueKey)); err != nil {
					return err
				}
				return r.saveField(ctx, p.state)
			}
		}
		eff.Target, eff.Author, dir, side, actorName = r.jiraTarget(), actor, AsanaToJira, "jira", r.userName(ctx, actor)
		w = valueWrite{value: p.value,
			make: func(ctx context.Context) error { return spec.setJira(ctx, r, jc, p.value) },
			current: func(ctx context.Context) (string, error) {
				is, err := r.jc.GetIssue(ctx, r.link.IssueID, &jira.GetIssueOptions{Fields: issueFieldFields})
				if err != nil {
					return "", err
				}
				return spec.jira(r, is), nil
			}}
	}
	if err := r.renew(ctx); err != nil {
		return err
	}
	_, err := r.e.ledger.Apply(ctx, eff, crashing{Write: w, side: side})
	var ne *noteError
	switch {
	case errors.As(err, &ne):
		if p.to == SideAsana {
			p.state.AsanaValue = p.asana
		} else {
			p.state.JiraValue = p.jira
		}
		if err := r.fieldNote(ctx, p.field, dir, ne.msg); err != nil {
			return err
		}
		return r.saveField(ctx, p.state)
	case errors.Is(err, effects.ErrBusy):
		r.more = true
		return nil
	case err != nil:
		if p.to == SideJira {
			var je *jira.Error
			if errors.As(err, &je) && je.StatusCode == 400 {
				p.state.JiraValue = p.jira
				if nerr := r.fieldNote(ctx, p.field, dir, "Jira refused it: "+jiraMessage(je)); nerr != nil {
					return nerr
				}
				return r.saveField(ctx, p.state)
			}
		}
		return r.writeError(ctx, err, eff.Author, "write "+spec.label)
	}
	p.state.Seq, p.state.Written = seq, p.to
	from := p.jira
	if p.to == SideJira {
		from = p.asana
	}
	if err := r.saveWritten(ctx, []store.SyncFieldState{p.state},
		[]store.SyncHistory{r.historyLine(dir, "field."+p.field, actorName, fmt.Sprintf("%s: %q → %q", spec.label, from, p.value))}); err != nil {
		return err
	}
	if p.to == SideAsana {
		r.applyToTask(p.field, p.value)
	}
	r.wroteOne(dir, KindField)
	return nil
}

// applyToTask keeps the run's copy of the task current after a write, for
// the remote link that follows it.
func (r *run) applyToTask(field, v string) {
	if field == FieldName {
		r.task.Name = v
	}
}

func jiraMessage(je *jira.Error) string {
	msgs := append([]string(nil), je.ErrorMessages...)
	for k, v := range je.Errors {
		msgs = append(msgs, k+": "+v)
	}
	slices.Sort(msgs[len(je.ErrorMessages):])
	if len(msgs) == 0 {
		return je.Error()
	}
	return strings.Join(msgs, "; ")
}

// keepField notes a field's state that no write changed (what both sides
// hold, seen by this run): it is saved with the run's next write of the
// store (saveWritten, or the run's end), not in a transaction of its own,
// as a link's first run notes several.
func (r *run) keepField(s store.SyncFieldState) {
	s.LinkID = r.link.ID
	r.fstate[s.Field] = s
	r.unsaved = slices.DeleteFunc(r.unsaved, func(u store.SyncFieldState) bool { return u.Field == s.Field })
	r.unsaved = append(r.unsaved, s)
}

// saveKept saves the states keepField noted, in tx.
func (r *run) saveKept(ctx context.Context, tx store.Tx) error {
	for _, s := range r.unsaved {
		if err := tx.PutSyncFieldState(ctx, s); err != nil {
			return wrap("save the field state", err)
		}
	}
	return nil
}

// saveWritten saves the field states a write made (and those noted by
// keepField) and appends its lines to the link's history in one
// transaction: on SQLite one turn on the one writer instead of one each.
func (r *run) saveWritten(ctx context.Context, states []store.SyncFieldState, lines []store.SyncHistory) error {
	for i := range states {
		states[i].LinkID = r.link.ID
	}
	err := r.e.st.InTx(ctx, func(tx store.Tx) error {
		if err := r.saveKept(ctx, tx); err != nil {
			return err
		}
		for _, s := range states {
			if err := tx.PutSyncFieldState(ctx, s); err != nil {
				return err
			}
		}
		for _, h := range lines {
			if err := tx.AppendSyncHistory(ctx, h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return wrap("save the field state", err)
	}
	r.unsaved = nil
	for _, s := range states {
		r.fstate[s.Field] = s
	}
	return nil
}

func (r *run) saveField(ctx context.Context, s store.SyncFieldState) error {
	return r.saveWritten(ctx, []store.SyncFieldState{s}, nil)
}

// mayEdit reports whether the issue's edit metadata offers field to the
// Jira account of actor (read once per run and actor).
func (r *run) mayEdit(ctx context.Context, jc *jira.Client, actor, field string) (bool, error) {
	if r.editmeta == nil {
		r.editmeta = map[string]map[string]bool{}
	}
	fields, ok := r.editmeta[actor]
	if !ok {
		meta, err := jc.EditMeta(ctx, r.link.IssueID)
		if err != nil {
			return false, r.jiraError(ctx, err, actor, "read the edit metadata of "+r.link.IssueKey)
		}
		fields = map[string]bool{}
		for id := range meta {
			fields[id] = true
		}
		r.editmeta[actor] = fields
	}
	return fields[field], nil
}

// fieldNote tells people once, on the task, why a field did not sync, and
// records it in the link's history; the same note is never posted twice.
func (r *run) fieldNote(ctx context.Context, field, dir, why string) error {
	where := "to Jira"
	if dir == JiraToAsana {
		where = "from Jira"
	}
	text := fmt.Sprintf("asanajira did not sync %s %s: %s.", fieldLabel(field), where, strings.TrimSuffix(why, "."))
	e := effects.Effect{Scope: scopeFieldNote, Key: fmt.Sprintf("%d:%s:%s", r.link.ID, field, effects.Digest(text)),
		Target: r.asanaTarget(), Author: r.link.CreatedBy}
	if err := r.renew(ctx); err != nil {
		return err
	}
	out, err := r.e.ledger.Apply(ctx, e, crashing{Write: effects.AsanaStory{Client: r.ac, Task: r.link.TaskGID, Text: text}, side: "asana"})
	if errors.Is(err, effects.ErrBusy) {
		r.more = true
		return nil
	}
	if err != nil {
		return r.writeError(ctx, err, r.link.CreatedBy, "post a note on the task")
	}
	if out.Result != "" && r.results != nil {
		r.results[SideAsana+"/"+out.Result] = true
	}
	if out.How == effects.Made || out.How == effects.Found {
		r.writes++
		r.history(ctx, dir, "field."+field+".note", "", text)
	}
	return nil
}

// jiraUserByEmail finds the Jira user with an e-mail (searched as the
// link's owner, once per run).
func (r *run) jiraUserByEmail(ctx context.Context, email string) (string, bool, string, error) {
	if r.jiraByEmail == nil {
		r.jiraByEmail = map[string]string{}
	}
	if name, ok := r.jiraByEmail[email]; ok {
		if name == "" {
			return "", false, fmt.Sprintf("no Jira user has the e-mail %s", email), nil
		}
		return name, true, "", nil
	}
	us, err := r.jc.SearchUsers(ctx, email, 20)
	if err != nil {
		return "", false, "", r.jiraError(ctx, err, r.link.CreatedBy, "search Jira's users")
	}
	name := ""
	for _, u := range us {
		if strings.EqualFold(u.EmailAddress, email) {
			name = u.Name
			r.jiraEmails[strings.ToLower(u.Name)] = strings.ToLower(email)
			break
		}
	}
	r.jiraByEmail[email] = name
	if name == "" {
		return "", false, fmt.Sprintf("no Jira user has the e-mail %s", email), nil
	}
	return name, true, "", nil
}

// asanaFieldChange is when the task's field last changed, and by whom (its
// system story).
func (r *run) asanaFieldChange(spec fieldSpec) (time.Time, string) {
	for i := len(r.stories) - 1; i >= 0; i-- {
		s := r.stories[i]
		if slices.Contains(spec.stories, s.ResourceSubtype) {
			by := ""
			if s.CreatedBy != nil {
				by = s.CreatedBy.GID
			}
			return parseAsanaTime(s.CreatedAt), by
		}
	}
	return time.Time{}, ""
}

// jiraFieldChange is when the issue's field last changed, and the Jira user
// name of who changed it.
func (r *run) jiraFieldChange(spec fieldSpec) (time.Time, string) {
	if r.issue.Changelog == nil {
		return time.Time{}, ""
	}
	hs := r.issue.Changelog.Histories
	for i := len(hs) - 1; i >= 0; i-- {
		for _, it := range hs[i].Items {
			id := it.FieldID
			if id == "" {
				id = strings.ToLower(it.Field)
			}
			if slices.Contains(spec.items, id) {
				return hs[i].Created.Time, userName(hs[i].Author)
			}
		}
	}
	return time.Time{}, ""
}

// setEnum sets the task's enum custom field name (made on the routed
// project when missing, with an option for v when missing) to v.
func (r *run) setEnum(ctx context.Context, ac *asana.Client, name, v string) error {
	field, option, err := r.enumOption(ctx, name, v)
	if err != nil {
		return err
	}
	return ac.SetCustomFields(ctx, r.link.TaskGID, map[string]any{field: option})
}

// enumOption returns the gids of the task's enum custom field name and of
// its option v, making either when missing.
func (r *run) enumOption(ctx context.Context, name, v string) (fieldGID, optionGID string, err error) {
	if r.project == "" {
		return "", "", &noteError{"the task is in no project to hold the " + name + " field"}
	}
	field, err := r.enumField(ctx, name)
	if err != nil {
		return "", "", err
	}
	opt, ok := field.Option(v)
	if !ok {
		e := effects.Effect{Scope: scopeFieldSetup, Key: "option:" + field.GID + ":" + strings.ToLower(v),
			Target: "asana:custom_field:" + field.GID, Author: r.link.CreatedBy}
		w := setupWrite{
			make: func(ctx context.Context) (string, error) {
				o, err := r.ac.EnsureEnumOption(ctx, field, v)
				return o.GID, err
			},
			find: func(ctx context.Context) (string, bool, error) {
				f, err := r.ac.CustomField(ctx, field.GID)
				if err != nil {
					return "", false, err
				}
				o, ok := f.Option(v)
				return o.GID, ok, nil
			}}
		out, err := r.e.ledger.Apply(ctx, e, w)
		if err != nil {
			return "", "", r.customFieldError(ctx, err, name)
		}
		opt = asana.EnumOption{GID: out.Result, Name: v, Enabled: true}
		if opt.GID == "" {
			f, err := r.ac.CustomField(ctx, field.GID)
			if err != nil {
				return "", "", err
			}
			opt, _ = f.Option(v)
		}
		field.EnumOptions = append(field.EnumOptions, opt)
	}
	return field.GID, opt.GID, nil
}

// enumField returns the project's enum field name, making it (once, across
// replicas) when the project has none.
func (r *run) enumField(ctx context.Context, name string) (*asana.CustomField, error) {
	if r.enumFields == nil {
		r.enumFields = map[string]*asana.CustomField{}
	}
	if f := r.enumFields[name]; f != nil {
		return f, nil
	}
	// One read of the project's fields serves both of the run's enum
	// fields; a field made since is read again.
	find := func(ctx context.Context) (*asana.CustomField, error) {
		fs := r.projectFields
		if fs == nil {
			var err error
			if fs, err = r.ac.ProjectCustomFields(ctx, r.project); err != nil {
				return nil, err
			}
			r.projectFields = fs
		}
		for i := range fs {
			if strings.EqualFold(fs[i].Name, name) {
				return &fs[i], nil
			}
		}
		return nil, nil
	}
	f, err := find(ctx)
	if err != nil {
		return nil, r.customFieldError(ctx, err, name)
	}
	if f == nil {
		r.projectFields = nil // read again once made, here or by another run
		e := effects.Effect{Scope: scopeFieldSetup, Key: "field:" + r.project + ":" + strings.ToLower(name),
			Target: "asana:project:" + r.project, Author: r.link.CreatedBy}
		w := setupWrite{
			make: func(ctx context.Context) (string, error) {
				f, err := r.ac.EnsureEnumField(ctx, r.link.WorkspaceGID, r.project, name, nil)
				if err != nil {
					return "", err
				}
				return f.GID, nil
			},
			find: func(ctx context.Context) (string, bool, error) {
				f, err := find(ctx)
				if err != nil || f == nil {
					return "", false, err
				}
				return f.GID, true, nil
			}}
		if _, err := r.e.ledger.Apply(ctx, e, w); err != nil {
			return nil, r.customFieldError(ctx, err, name)
		}
		if f, err = find(ctx); err != nil || f == nil {
			return nil, r.customFieldError(ctx, err, name)
		}
		r.history(ctx, JiraToAsana, "field.setup", r.userName(ctx, r.link.CreatedBy), fmt.Sprintf("made the custom field %q on the project", name))
	}
	r.enumFields[name] = f
	return f, nil
}

// customFieldError explains a custom field Asana would not make or change:
// custom fields need a paid workspace and the right to edit the project.
func (r *run) customFieldError(ctx context.Context, err error, name string) error {
	if err == nil {
		err = errors.New("not found after it was made")
	}
	if errors.Is(err, asana.ErrPaymentRequired) || errors.Is(err, asana.ErrForbidden) {
		return &SyncError{Msg: fmt.Sprintf("Asana does not let %s add the custom field %q to the project (custom fields need a paid workspace and the right to edit the project)",
			r.userName(ctx, r.link.CreatedBy), name), Err: err}
	}
	return fmt.Errorf("syncengine: the custom field %q: %w", name, err)
}

// syncRemoteLink keeps the remote link on the issue titled as the task and
// marked resolved when the task is completed.
func (r *run) syncRemoteLink(ctx context.Context) error {
	want := bridge.RemoteLinkFor(r.task)
	v := bridge.RemoteLinkState(want)
	st, has := r.fstate[linkField]
	if has && st.AsanaValue == v {
		return nil
	}
	if !r.budget() {
		return nil
	}
	seq := st.Seq + 1
	e := effects.Effect{Scope: scopeField, Key: fmt.Sprintf("%d:%s:%s:%d", r.link.ID, linkField, SideJira, seq),
		Target: r.jiraTarget(), Author: r.link.CreatedBy}
	w := valueWrite{value: v,
		make: func(ctx context.Context) error {
			_, err := r.jc.UpsertRemoteLink(ctx, r.link.IssueID, want)
			return err
		},
		current: func(ctx context.Context) (string, error) {
			ls, err := r.jc.RemoteLinks(ctx, r.link.IssueID, want.GlobalID)
			if err != nil || len(ls) == 0 {
				return "", err
			}
			return bridge.RemoteLinkState(ls[0]), nil
		}}
	if err := r.renew(ctx); err != nil {
		return err
	}
	if _, err := r.e.ledger.Apply(ctx, e, crashing{Write: w, side: "jira"}); err != nil {
		if errors.Is(err, effects.ErrBusy) {
			r.more = true
			return nil
		}
		return r.writeError(ctx, err, r.link.CreatedBy, "update the link to the task on "+r.link.IssueKey)
	}
	r.writes++
	return r.saveField(ctx, store.SyncFieldState{Field: linkField, AsanaValue: v, JiraValue: v, Written: SideJira, Seq: seq})
}

// valueWrite sets a field to value; an earlier attempt's write is found
// when the field holds value already.
type valueWrite struct {
	value   string
	make    func(ctx context.Context) error
	current func(ctx context.Context) (string, error)
}

func (w valueWrite) Digest() string { return effects.Digest(w.value) }

func (w valueWrite) Make(ctx context.Context, _ string) (string, error) { return "", w.make(ctx) }

func (w valueWrite) Find(ctx context.Context, _ effects.Lookup) (string, bool, error) {
	v, err := w.current(ctx)
	if err != nil {
		return "", false, err
	}
	return "", v == w.value, nil
}

// setupWrite makes a custom field or an option once; its result is the
// new gid.
type setupWrite struct {
	make func(ctx context.Context) (string, error)
	find func(ctx context.Context) (string, bool, error)
}

func (w setupWrite) Digest() string { return "" }

func (w setupWrite) Make(ctx context.Context, _ string) (string, error) { return w.make(ctx) }

func (w setupWrite) Find(ctx context.Context, _ effects.Lookup) (string, bool, error) {
	return w.find(ctx)
}
