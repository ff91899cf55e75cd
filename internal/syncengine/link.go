package syncengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Result tells what a run did.
type Result struct {
	// Writes counts the writes to Jira and Asana.
	Writes int
	// Again: the run stopped with more to write (its budget), or changes
	// were recorded while it ran; run the link again.
	Again bool
	// After is how long to wait before running again (0: at once): the
	// run left items that may be asanajira's own pending writes until those
	// are recorded (see the package doc, Echoes).
	After time.Duration
}

// maxPending bounds the changes one run marks; more are left for the next.
const maxPending = 500

// SyncLink brings one link's two sides together (see the package doc) and
// marks the changes recorded for it with their outcome. It returns a
// *LeaseHeldError when another run holds the link. Errors worth retrying
// (Jira or Asana unavailable or rate limiting, the database) are returned
// and leave the changes pending; errors people must act on are shown on the
// link, the changes they concern are marked "error", and nil is returned.
func (e *Engine) SyncLink(ctx context.Context, linkID int64) (Result, error) {
	return e.syncLink(ctx, linkID, false)
}

// Resync is SyncLink applying the current field mapping to the link as if
// its fields were new: a field whose sides differ is made to agree (its
// direction's source wins; for a both-ways field, Jira's value unless it
// has none), where SyncLink waits for a change.
func (e *Engine) Resync(ctx context.Context, linkID int64) (Result, error) {
	return e.syncLink(ctx, linkID, true)
}

func (e *Engine) syncLink(ctx context.Context, linkID int64, force bool) (Result, error) {
	link, err := e.st.GetLink(ctx, linkID)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, nil // unlinked since; its changes went with it
	}
	if err != nil {
		return Result{}, wrap("sync link", err)
	}
	set, err := e.st.GetSyncSettings(ctx, link.WorkspaceGID, link.JiraServerID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, wrap("sync link", err)
	}
	owner := newOwner()
	leased := time.Now()
	state, err := e.st.AcquireSyncLease(ctx, linkID, owner, e.lease)
	if errors.Is(err, store.ErrConflict) {
		return Result{}, &LeaseHeldError{LinkID: linkID, Until: state.LeaseUntil}
	}
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, nil // unlinked meanwhile
	}
	if err != nil {
		return Result{}, wrap("sync link", err)
	}
	released := false // by the run's last transaction (end)
	defer func() {
		if released {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := e.st.ReleaseSyncLease(rctx, linkID, owner); err != nil {
			e.log.DebugContext(ctx, "could not release a link's sync lease; it lapses on its own", slog.Int64("link", linkID), slog.Any("error", err))
		}
	}()
	pending, err := e.st.PendingSyncChanges(ctx, linkID, maxPending)
	if err != nil {
		return Result{}, wrap("sync link", err)
	}
	r := &run{e: e, link: link, set: set, owner: owner, leased: leased, firstRun: state.LastSyncedAt.IsZero(), state: state, pending: pending, started: e.now(),
		wrote: map[string]bool{}, errs: map[string]*SyncError{}, deferred: map[string]bool{}, fieldEcho: map[string]bool{}, force: force}
	if !set.Enabled {
		return Result{}, r.finish(ctx) // switched off since they were recorded: each is a noop
	}
	runErr := r.sync(ctx)
	if runErr != nil && !isSyncError(runErr) {
		// Keep what was written (mappings are stored as they are made, the
		// completion state here) and retry the rest.
		if err := e.st.InTx(ctx, func(tx store.Tx) error {
			if err := r.saveKept(ctx, tx); err != nil {
				return err
			}
			return r.saveState(ctx, tx, false)
		}); err != nil {
			e.log.WarnContext(ctx, "could not save a link's sync state after a failed run", slog.Int64("link", linkID), slog.Any("error", err))
		}
		return Result{Writes: r.writes}, runErr
	}
	if err := r.end(ctx); err != nil {
		return Result{Writes: r.writes}, err
	}
	released = true
	if r.writes > 0 && e.inval != nil {
		e.inval.InvalidateIssue(link.JiraServerID, link.IssueKey)
	}
	res := Result{Writes: r.writes, Again: r.more}
	if !res.Again && len(r.deferred) > 0 {
		res.Again, res.After = true, r.after
	}
	if !res.Again {
		// Changes recorded while this run read and wrote have enqueued no
		// job of their own if they found this one running: run again.
		more, err := e.st.PendingSyncChanges(ctx, linkID, 1)
		if err != nil {
			return res, wrap("sync link", err)
		}
		res.Again = len(more) > 0
	}
	return res, nil
}

// run is one SyncLink.
type run struct {
	e     *Engine
	link  store.Link
	set   store.SyncSettings
	owner string // the lease owner
	// firstRun: the link was never synced before this run.
	firstRun bool
	// leased is when the lease was last taken or renewed, by this
	// process's clock, read before the statement (see renew).
	leased  time.Time
	state   store.SyncLinkState
	pending []store.SyncChange
	started time.Time
	// cutoff: comments created before it existed before sync and are never
	// mirrored.
	cutoff time.Time

	srv      store.JiraServer
	jc       *jira.Client  // the link owner's
	ac       *asana.Client // the link owner's
	issue    *jira.Issue
	comments []jira.Comment
	task     *asana.Task
	stories  []asana.Story
	maps     []store.SyncComment
	authors  map[string]string // Jira user name → the Asana user connected as them, looked up once per run

	// wrote records direction+"/"+kind for each kind of write made.
	wrote  map[string]bool
	writes int
	more   bool
	// errs are the errors people must act on, by kind.
	errs map[string]*SyncError
	// echo[side] says a completion change on that side can only be the
	// engine's own write coming back.
	echo map[string]bool

	// results holds side+"/"+id of the items recorded in the effects
	// ledger as results of writes to the task or the issue; intents are
	// the writes to them still pending (see writes.go). before holds
	// scope+"/"+key of those pending before the run read either side.
	results map[string]bool
	intents []store.SideEffect
	before  map[string]bool
	// deferred holds side+"/"+id of the items left for a later run, after
	// this long.
	deferred map[string]bool
	after    time.Duration

	// Field sync (fields.go): the task's routed project, the mapping that
	// applies (fieldsOn: one is saved), the fields' state, what the run
	// learnt of users, edit metadata and enum fields, and the sides whose
	// field change was the engine's own write coming back.
	project     string
	mapping     Mapping
	mappingSet  bool
	fieldsOn    bool
	fstate      map[string]store.SyncFieldState
	jiraEmails  map[string]string
	jiraByEmail map[string]string
	editmeta    map[string]map[string]bool
	enumFields  map[string]*asana.CustomField
	// projectFields are the routed project's custom fields as the run
	// last read them (nil: not read yet).
	projectFields []asana.CustomField
	// unsaved are field states no write changed, left for the run's next
	// transaction (keepField).
	unsaved   []store.SyncFieldState
	fieldEcho map[string]bool
	// force makes a "both" field whose sides differ take Jira's value on
	// its first run (a resync).
	force bool
}

func newOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

func isSyncError(err error) bool {
	var se *SyncError
	return errors.As(err, &se)
}

// fail records a sync error for kind ("" for all kinds).
func (r *run) fail(kind string, err error) {
	var se *SyncError
	if !errors.As(err, &se) {
		se = &SyncError{Msg: err.Error()}
	}
	r.errs[kind] = se
}

func (r *run) sync(ctx context.Context) error {
	r.cutoff = r.link.CreatedAt
	if r.set.EnabledAt.After(r.cutoff) {
		r.cutoff = r.set.EnabledAt
	}
	// Jira keeps milliseconds and Asana seconds: a comment written in the
	// second sync began counts as written after it.
	r.cutoff = r.cutoff.Truncate(time.Second)
	if r.set.Comments {
		if err := r.notePending(ctx); err != nil {
			return err
		}
	}
	if err := r.read(ctx); err != nil {
		if isSyncError(err) {
			r.fail("", err)
		}
		return err
	}
	if r.state.BaselineAt.IsZero() {
		r.state.BaselineAt = r.started
	}
	if err := r.loadMapping(ctx); err != nil {
		return err
	}
	if r.set.Comments {
		if err := r.syncComments(ctx); err != nil {
			if !isSyncError(err) {
				return err
			}
			r.fail(KindComment, err)
		}
	}
	if r.set.Completion {
		if err := r.syncCompletion(ctx); err != nil {
			if !isSyncError(err) {
				return err
			}
			r.fail(KindCompletion, err)
		}
	}
	if r.fieldsOn {
		if err := r.syncFields(ctx); err != nil {
			if !isSyncError(err) {
				return err
			}
			r.fail(KindField, err)
		}
		if r.mapping.Direction(FieldAttachments).ToAsana() {
			if err := r.askAttachments(ctx); err != nil {
				return err
			}
		}
	}
	// Without a field mapping the task's files still travel, as they do
	// when the link is made.
	if !r.fieldsOn || r.mapping.Direction(FieldAttachments).ToJira() {
		if err := r.askTaskAttachments(ctx); err != nil {
			return err
		}
	}
	return nil
}

// read fetches both sides as the link's owner.
func (r *run) read(ctx context.Context) error {
	owner := r.link.CreatedBy
	jc, srv, err := r.e.clients.Jira(ctx, owner, r.link.JiraServerID)
	if err != nil {
		return r.credentialError(ctx, err, owner, "Jira")
	}
	r.jc, r.srv = jc, srv
	ac, err := r.e.clients.Asana(ctx, owner)
	if err != nil {
		return r.credentialError(ctx, err, owner, "Asana")
	}
	r.ac = ac
	r.issue, err = jc.GetIssue(ctx, r.link.IssueID, &jira.GetIssueOptions{Fields: issueFieldFields, Expand: []string{"changelog"}})
	if err != nil {
		return r.jiraError(ctx, err, owner, "read "+r.link.IssueKey)
	}
	if r.set.Comments {
		for c, err := range jc.CommentsIter(ctx, r.link.IssueID) {
			if err != nil {
				return r.jiraError(ctx, err, owner, "read the comments of "+r.link.IssueKey)
			}
			r.comments = append(r.comments, c)
		}
	}
	r.task, err = ac.GetTask(ctx, r.link.TaskGID, taskFieldOptFields)
	if err != nil {
		return r.asanaError(ctx, err, owner, "read the task")
	}
	for s, err := range ac.Stories(ctx, r.link.TaskGID) {
		if err != nil {
			return r.asanaError(ctx, err, owner, "read the task's stories")
		}
		r.stories = append(r.stories, s)
	}
	r.maps, err = r.e.st.ListSyncComments(ctx, r.link.ID)
	return wrap("read the comment map", err)
}

// credentialError turns a missing or refused credential into a sync error
// naming who must connect.
func (r *run) credentialError(ctx context.Context, err error, user, service string) error {
	if errors.Is(err, bridge.ErrNotConnected) || errors.Is(err, bridge.ErrReconnectNeeded) {
		return &SyncError{Msg: fmt.Sprintf("%s must connect their %s account to asanajira again for this link to sync", r.userName(ctx, user), service), Err: err}
	}
	return wrap("credentials", err)
}

// jiraError classifies a failed Jira call made as user: a refused
// credential (marked for reconnection) and a missing permission are sync
// errors; the rest is returned to be retried.
func (r *run) jiraError(ctx context.Context, err error, user, action string) error {
	switch {
	case errors.Is(err, jira.ErrUnauthorized):
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if merr := r.e.st.MarkJiraCredentialReconnect(mctx, user, r.link.JiraServerID, "Jira refused the credential during sync"); merr != nil && !errors.Is(merr, store.ErrNotFound) {
			r.e.log.WarnContext(ctx, "could not flag a Jira credential for reconnection", slog.Any("error", merr))
		}
		return &SyncError{Msg: fmt.Sprintf("Jira refused %s's authorization; they must connect their Jira account again", r.userName(ctx, user)), Err: err}
	case errors.Is(err, jira.ErrNotFound), errors.Is(err, jira.ErrForbidden):
		return &SyncError{Msg: fmt.Sprintf("%s's Jira account cannot %s", r.userName(ctx, user), action), Err: err}
	}
	return fmt.Errorf("syncengine: %s: %w", action, err)
}

func (r *run) asanaError(ctx context.Context, err error, user, action string) error {
	switch {
	case errors.Is(err, asana.ErrUnauthorized):
		return &SyncError{Msg: fmt.Sprintf("Asana refused %s's authorization; they must connect their Asana account again", r.userName(ctx, user)), Err: err}
	case errors.Is(err, asana.ErrNotFound), errors.Is(err, asana.ErrForbidden):
		return &SyncError{Msg: fmt.Sprintf("%s's Asana account cannot %s", r.userName(ctx, user), action), Err: err}
	}
	return fmt.Errorf("syncengine: %s: %w", action, err)
}

// userName names an Asana user for people.
func (r *run) userName(ctx context.Context, gid string) string {
	if u, err := r.e.st.GetAsanaUser(ctx, gid); err == nil && u.Name != "" {
		return u.Name
	}
	return "Asana user " + gid
}

// renewWithin is the part of the lease within which a write needs no
// renewal first: the lease was taken or renewed for its whole length so
// recently that it cannot have lapsed, so no other run can hold the link.
const renewWithin = 3

// renew extends the lease before a write; a run whose lease went to
// another run stops. A lease taken or renewed less than a third of its
// length ago is left alone: another run takes a link only once its lease
// lapsed, and on SQLite each renewal is a turn on the one writer (a link's
// first run writes right after taking its lease).
func (r *run) renew(ctx context.Context) error {
	if r.owner == "" {
		return nil // a copy of attachments, which holds no lease (attachments.go)
	}
	if time.Since(r.leased) < r.e.lease/renewWithin {
		return nil
	}
	at := time.Now()
	if _, err := r.e.st.AcquireSyncLease(ctx, r.link.ID, r.owner, r.e.lease); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errLeaseLost
		}
		return wrap("renew the lease", err)
	}
	r.leased = at
	return nil
}

// budget reports whether another write may be made in this run.
func (r *run) budget() bool {
	if r.writes >= r.e.maxWrites {
		r.more = true
		return false
	}
	return true
}

func (r *run) wroteOne(dir, kind string) {
	r.writes++
	r.wrote[dir+"/"+kind] = true
}

func (r *run) history(ctx context.Context, dir, what, actor, detail string) {
	if err := r.e.st.AppendSyncHistory(ctx, r.historyLine(dir, what, actor, detail)); err != nil {
		r.e.log.WarnContext(ctx, "could not append to a link's sync history", slog.Int64("link", r.link.ID), slog.Any("error", err))
	}
}

func (r *run) historyLine(dir, what, actor, detail string) store.SyncHistory {
	return store.SyncHistory{LinkID: r.link.ID, At: r.e.now(), Direction: dir, What: what, Actor: actor, Detail: detail}
}

// saveState records the run's view of the link, on q (the store or the
// run's last transaction); done says the run ended (its errors replace the
// link's visible error).
func (r *run) saveState(ctx context.Context, q store.Queries, done bool) error {
	if done {
		now := r.e.now()
		r.state.LastSyncedAt = now
		var msgs []string
		for _, k := range []string{"", KindComment, KindCompletion, KindField} {
			if se := r.errs[k]; se != nil {
				msgs = append(msgs, se.Msg)
			}
		}
		msg := strings.Join(msgs, "; ")
		if msg != r.state.LastError || (msg != "" && r.state.LastErrorAt.IsZero()) {
			r.state.LastErrorAt = now
		}
		if msg == "" {
			r.state.LastErrorAt = time.Time{}
		} else if msg != r.state.LastError {
			if err := q.AppendSyncHistory(ctx, store.SyncHistory{LinkID: r.link.ID, At: now, What: "error", Detail: msg}); err != nil {
				return wrap("append to the link's history", err)
			}
		}
		r.state.LastError = msg
	}
	err := q.SaveSyncLinkState(ctx, r.state, r.owner)
	if errors.Is(err, store.ErrConflict) {
		return errLeaseLost
	}
	return wrap("save the link's state", err)
}

// finished is a change the run saw, with its outcome.
type finished struct {
	c                store.SyncChange
	outcome, errText string
}

// end saves the run's state (and the field states keepField noted), marks
// every change it saw with its outcome and gives the link's lease back, in
// one transaction: on SQLite each write of
// its own would take a turn on the one writer that the webhook receiver
// and the requests wait for. A crash before it commits leaves the changes
// pending, and the next run finds the writes made (the ledger, the field
// states saved with each write).
func (r *run) end(ctx context.Context) error {
	done := r.finished()
	crashAt("before-finish")
	err := r.e.st.InTx(ctx, func(tx store.Tx) error {
		if err := r.saveKept(ctx, tx); err != nil {
			return err
		}
		if err := r.saveState(ctx, tx, true); err != nil {
			return err
		}
		if err := markFinished(ctx, tx, done); err != nil {
			return err
		}
		if err := r.mapTask(ctx, tx); err != nil {
			return err
		}
		return wrap("release the lease", tx.ReleaseSyncLease(ctx, r.link.ID, r.owner))
	})
	if err != nil {
		return err
	}
	r.count(done)
	return nil
}

// mapTask stores, on a link's first run, the projects of its task as the
// run read them, in the run's last transaction: the Asana intake would
// read the task again for them (GET /tasks/{gid}?opt_fields=projects, and
// a write of its own) to know the projects whose events tell of it. Only
// when the intake watches each of them already: a task in a project new to
// it is left to the intake, which starts watching the project as it maps
// the task.
func (r *run) mapTask(ctx context.Context, tx store.Tx) error {
	if !r.firstRun || r.task == nil || len(r.task.Projects) == 0 {
		return nil
	}
	projects := make([]string, 0, len(r.task.Projects))
	for _, p := range r.task.Projects {
		if _, err := tx.GetAsanaProject(ctx, p.GID); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return wrap("map the task's projects", err)
		}
		projects = append(projects, p.GID)
	}
	return wrap("map the task's projects", tx.PutAsanaTaskProjects(ctx, r.link.TaskGID, r.link.WorkspaceGID, projects, r.e.now()))
}

// finish marks every change the run saw with its outcome, and counts them.
func (r *run) finish(ctx context.Context) error {
	done := r.finished()
	// One transaction for all: a run may finish hundreds of changes, and on
	// SQLite each write of its own would take a turn on the one writer that
	// the webhook receiver waits for.
	if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return markFinished(ctx, tx, done) }); err != nil {
		return err
	}
	r.count(done)
	return nil
}

// finished returns the changes the run saw with their outcome, but those
// left to a later run.
func (r *run) finished() []finished {
	var done []finished
	for _, c := range r.pending {
		if c.Object != "" && r.deferred[c.Side+"/"+c.Object] {
			continue // its run comes
		}
		outcome, errText := r.outcome(c)
		done = append(done, finished{c, outcome, errText})
	}
	return done
}

func markFinished(ctx context.Context, tx store.Tx, done []finished) error {
	for _, f := range done {
		if err := tx.FinishSyncChange(ctx, f.c.ID, f.outcome, f.errText); err != nil {
			return wrap("finish change", err)
		}
	}
	return nil
}

// count counts the changes finished in the metrics.
func (r *run) count(done []finished) {
	catch := map[string]bool{}
	for _, dir := range []string{JiraToAsana, AsanaToJira} {
		catch[dir] = r.wroteDir(dir)
	}
	for _, f := range done {
		c, outcome := f.c, f.outcome
		dir := direction(c.Side)
		r.e.metrics.events.WithLabelValues(dir, c.Kind, outcome).Inc()
		if outcome == OutcomeApplied {
			from := c.ObservedAt
			if from.IsZero() {
				from = c.ReceivedAt
			}
			r.e.metrics.propagation.WithLabelValues(dir).Observe(r.e.now().Sub(from).Seconds())
		}
		if c.Source != "reconcile" && c.Side == SideJira {
			catch[JiraToAsana] = false // a webhook told of it too
		}
		if c.Side == SideAsana {
			catch[AsanaToJira] = false // reconciliation covers Jira only
		}
	}
	if catch[JiraToAsana] && r.hasSource("reconcile") {
		r.e.metrics.catches.Inc()
	}
}

func (r *run) hasSource(src string) bool {
	for _, c := range r.pending {
		if c.Source == src {
			return true
		}
	}
	return false
}

func (r *run) wroteDir(dir string) bool {
	for k := range r.wrote {
		if strings.HasPrefix(k, dir+"/") {
			return true
		}
	}
	return false
}

// outcome tells what became of change c in this run.
func (r *run) outcome(c store.SyncChange) (string, string) {
	if !r.set.Enabled {
		return OutcomeNoop, ""
	}
	dir := direction(c.Side)
	if se := r.errs[""]; se != nil {
		return OutcomeError, se.Msg
	}
	kinds := []string{c.Kind}
	if c.Kind == KindAttachment && r.wrote[dir+"/"+KindAttachment] {
		return OutcomeApplied, "" // its copy is asked for
	}
	if c.Kind != KindComment && r.wrote[dir+"/"+KindField] {
		// A field write answers any change but a comment's: the intake
		// tells field changes as task or issue changes, and a status
		// change as completion.
		return OutcomeApplied, ""
	}
	if c.Kind != KindComment && c.Kind != KindCompletion {
		// The intake could not tell what changed: the change is applied by
		// writes that no change of a known kind accounts for.
		kinds = []string{KindComment, KindCompletion, KindField}
		for _, k := range kinds {
			if r.wrote[dir+"/"+k] && !r.told(c.Side, k) {
				return OutcomeApplied, ""
			}
		}
	} else if r.wrote[dir+"/"+c.Kind] {
		return OutcomeApplied, ""
	}
	for _, k := range kinds {
		if se := r.errs[k]; se != nil {
			return OutcomeError, se.Msg
		}
	}
	switch c.Kind {
	case KindComment:
		if r.ownObject(c) {
			return OutcomeEcho, ""
		}
	case KindCompletion:
		if r.echo[c.Side] || r.fieldEcho[c.Side] {
			return OutcomeEcho, ""
		}
	default:
		if r.fieldEcho[c.Side] {
			return OutcomeEcho, ""
		}
	}
	return OutcomeNoop, ""
}

// told reports whether a change of the given side and kind is among the
// run's changes.
func (r *run) told(side, kind string) bool {
	for _, c := range r.pending {
		if c.Side == side && c.Kind == kind {
			return true
		}
	}
	return false
}

// ownObject reports whether a comment change is about a mirror the engine
// wrote on the change's side.
func (r *run) ownObject(c store.SyncChange) bool {
	if c.Object == "" {
		return false
	}
	for _, m := range r.maps {
		switch {
		case c.Side == SideJira && m.JiraCommentID == c.Object:
			return m.Origin == store.OriginAsana || m.Origin == store.OriginOwn
		case c.Side == SideAsana && m.AsanaStoryGID == c.Object:
			return m.Origin == store.OriginJira || m.Origin == store.OriginOwn
		}
	}
	if r.recorded(c.Side, c.Object) {
		return true
	}
	if c.Side == SideJira {
		for i := range r.comments {
			if r.comments[i].ID == c.Object {
				return r.ownJiraComment(&r.comments[i])
			}
		}
	}
	return false
}

// asanaUserFor returns the Asana user connected as the Jira user name on
// the link's server ("" when none).
func (r *run) asanaUserFor(ctx context.Context, jiraName string) string {
	if jiraName == "" {
		return ""
	}
	key := strings.ToLower(jiraName)
	if gid, ok := r.authors[key]; ok {
		return gid
	}
	// By the server's index, not its every credential: a server may have
	// thousands of users.
	c, err := r.e.st.FindJiraCredential(ctx, r.link.JiraServerID, jiraName)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		r.e.log.WarnContext(ctx, "cannot read the Jira credentials to attribute a sync write", slog.Any("error", err))
		return ""
	}
	if r.authors == nil {
		r.authors = map[string]string{}
	}
	r.authors[key] = c.AsanaUserGID
	return c.AsanaUserGID
}

// asanaAs returns a client acting as the Asana user connected as Jira user
// jiraName, or the owner's (with ok false) when there is none.
func (r *run) asanaAs(ctx context.Context, jiraName string) (c *asana.Client, gid string, ok bool) {
	if g := r.asanaUserFor(ctx, jiraName); g != "" {
		if c, err := r.e.clients.Asana(ctx, g); err == nil {
			return c, g, true
		}
	}
	return r.ac, r.link.CreatedBy, false
}

// jiraAs returns a client acting as Asana user gid in Jira, or the owner's
// (with ok false) when gid has not connected Jira.
func (r *run) jiraAs(ctx context.Context, gid string) (c *jira.Client, actor string, ok bool) {
	if gid != "" {
		if gid == r.link.CreatedBy {
			return r.jc, gid, true
		}
		if c, _, err := r.e.clients.Jira(ctx, gid, r.link.JiraServerID); err == nil {
			return c, gid, true
		}
	}
	return r.jc, r.link.CreatedBy, false
}

// parseAsanaTime reads Asana's timestamps (RFC 3339).
func parseAsanaTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
