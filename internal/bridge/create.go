package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// CreateHooks let the caller keep records of its own with a create's, so
// that they are written, or not, with the create's. A signed form submit
// records its signature with the claim and its answer with the link
// (Signed): a create then writes twice (the claim before Jira is asked to
// create anything, the link after), where each record written on its own
// would wait for SQLite's one writer, or for PostgreSQL to flush its log,
// twice more.
type CreateHooks struct {
	// Signed is the signed request asking for the create, if any: the
	// creation's claim records it in the same statement
	// (store.ClaimCreation), and a repeat of it (its signature recorded
	// already, by this request's first copy or another route) ends the
	// create with ErrRepeat before anything is asked of Jira.
	Signed *SignedCreate
}

// SignedCreate is the record of the signed request asking for a create.
type SignedCreate struct {
	// Request is what the claim records: the signature's digest, the
	// route and how long to keep it.
	Request store.SignedRequest
	// Claimed is set once a creation's claim recorded Request (unanswered
	// yet). A create may end without it: the task had its issue already,
	// or another attempt was creating it.
	Claimed bool
	// First is the record of the signature found by the claim, when the
	// create ended with ErrRepeat.
	First *store.SignedRequest
	// Answer, when set, makes the answer to record for the request from
	// what the create answers; the link's statement records it
	// (store.CreateLinkOfCreate), and Answered is set to it once that
	// committed. It is not recorded when the link was stored already
	// (Created.Existing).
	Answer   func(c *Created) (status int, body []byte)
	Answered []byte
}

// ErrRepeat ends a create whose signed request was recorded already
// (SignedCreate.First).
var ErrRepeat = errors.New("bridge: the signed request was handled already")

// Created is the issue a task is linked to after a create or attach.
type Created struct {
	ServerID string
	IssueID  string
	IssueKey string
	Summary  string
	URL      string
	// Existing is true when the task already had this issue (a repeated
	// submit, a retried request), so nothing new was created.
	Existing bool
	// LinkID is the stored link. A link stored by this request (not
	// Existing) is marked with its copy job still to enqueue
	// (store.LinkOfCreate.CopyPending): the caller enqueues it once it
	// answered (store.ClaimLinkCopy), or a sweep does, later, should the
	// process die first.
	LinkID int64
	// RemoteLinked says this request added the remote link to the task on
	// the issue (a create whose remote link failed leaves it to the copy
	// job).
	RemoteLinked bool
	// remoteLink is what the create's remote link says (RemoteLinkState),
	// stored with the link as the two-way sync's state of it.
	remoteLink string
}

// ResourceName is how Asana names the attached issue: "KEY: summary".
func (c *Created) ResourceName() string {
	if c.Summary == "" {
		return c.IssueKey
	}
	return trunc(c.IssueKey+": "+c.Summary, 200)
}

// idempotency scope of issue creation; the key is server id + task gid.
const createScope = store.CreationScope

// CreateClaimTTL outlives any request creating an issue; a claim older than
// that belongs to a request that died, and a new one, or the sweep of
// unresolved claims (FinishCreation), may take over.
const CreateClaimTTL = 2 * time.Minute

// creationClaim is the claim of a task's issue's creation (key) for id,
// live for CreateClaimTTL: it records who creates, and in which
// workspace, for the sweep that finishes a create its holder left.
func (s *Service) creationClaim(id Identity, key string) store.IdempotencyKey {
	return store.IdempotencyKey{Scope: createScope, Key: key, ExpiresAt: s.now().Add(CreateClaimTTL), WorkspaceGID: id.Workspace, UserGID: id.User}
}

type createResult struct {
	Failed   bool   `json:"failed,omitempty"`
	IssueID  string `json:"issue_id,omitempty"`
	IssueKey string `json:"issue_key,omitempty"`
	Summary  string `json:"summary,omitempty"`
}

// CreateIssue creates a Jira issue from a submitted create form, as the
// user, links it to the task (remote link with GlobalID, stored link) and
// writes hooks' records with the claim and the link. A field Jira
// or the form rejects comes back as a *FieldErrors together with the form
// to show again. Creation is idempotent per (server, task): a double
// click, a retried request or two replicas racing produce one issue.
//
// When the server is known before the form is built (the values name one
// of the workspace's servers, or the workspace has one), the creation's
// claim and the globalId search run while the form is built
// (createBesideForm): the request waits for the longest of the three
// rather than for all three in turn.
func (s *Service) CreateIssue(ctx context.Context, id Identity, taskGID string, values Values, hooks CreateHooks) (*Created, *Form, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	defer timePhase(ctx, "create")()
	servers, err := s.workspaceServers(ctx, id.Workspace)
	if err != nil {
		return nil, nil, err
	}
	start := formStart{servers: servers, read: true}
	srv, known := submittedServer(servers, values)
	if !known && len(servers) == 1 {
		srv, known = servers[0], true
	}
	if known {
		// Not connected to Jira there: the form tells it, as it would
		// without the claim.
		if start.jc, start.srv, err = s.jiraFor(ctx, id.User, srv.ID); err == nil {
			return s.createBesideForm(ctx, id, taskGID, values, hooks, start)
		}
	}
	form, in, err := s.submittedForm(ctx, id, taskGID, values, start)
	if err != nil {
		return nil, form, err
	}
	c, err := s.createOnce(ctx, id, form.jc, form.srv, form.task, in, hooks, nil)
	return c, form, applyFieldErrors(err, form)
}

// submittedForm builds the form a submit was made from and checks the
// values against it: a *FieldErrors, set on the form, when the form
// offers no such choice or cannot create the issue.
func (s *Service) submittedForm(ctx context.Context, id Identity, taskGID string, values Values, start formStart) (*Form, jira.IssueInput, error) {
	done := timePhase(ctx, "form")
	form, err := s.buildForm(ctx, id, taskGID, values, start)
	done()
	if err != nil {
		return nil, jira.IssueInput{}, err
	}
	if fe := form.unoffered(values); fe != nil {
		fe.Apply(form)
		return form, jira.IssueInput{}, fe
	}
	if !form.CanSubmit {
		fe := &FieldErrors{Message: "This issue type has required fields this form cannot set; use the link to create it in Jira."}
		fe.Apply(form)
		return form, jira.IssueInput{}, fe
	}
	in, fe := form.issueInput(values)
	if fe != nil {
		fe.Apply(form)
		return form, jira.IssueInput{}, fe
	}
	return form, in, nil
}

// applyFieldErrors sets a create's field errors (Jira's refusal) on the
// form it was made from, and returns err.
func applyFieldErrors(err error, form *Form) error {
	var ferr *FieldErrors
	if errors.As(err, &ferr) {
		ferr.Apply(form)
	}
	return err
}

// firstClaim is how a create's first claim went when it was taken while
// the form was built: the claim's error, and the globalId search made
// beside it, when the claim was taken (nil when it was not).
type firstClaim struct {
	err    error
	search *globalIDSearch
}

// createBesideForm is CreateIssue on a server known before the form is
// built (start.srv, with the user's client start.jc): the creation's
// claim and the globalId search run while the form is built, each on its
// own, and the request waits for the longest of the three.
//
// The search's answer counts only when this claim is taken (see
// createOnce); a claim that is not taken cancels the search, and a repeat
// of a signed request, or a claim the store fails, cancels the form too.
// A claim taken for a submit whose form then fails (an error, a refused
// value, a form that cannot create) is let go (dropClaim): nothing was
// asked of Jira's create, so the next submit claims the creation as if
// this one had not. The request's record of its signature, which the
// claim made, is answered as any failure after the claim (appcomponents'
// onceWithin), and a repeat of the submit gets that answer. A form built
// for another server (a task routed elsewhere) lets the claim go too, and
// the create is claimed anew there, after the form.
func (s *Service) createBesideForm(ctx context.Context, id Identity, taskGID string, values Values, hooks CreateHooks, start formStart) (*Created, *Form, error) {
	srv, key := start.srv, start.srv.ID+":"+taskGID
	fctx, cancelForm := context.WithCancel(ctx)
	defer cancelForm()
	sctx, cancelSearch := context.WithCancel(ctx)
	defer cancelSearch()
	searched := make(chan globalIDSearch, 1)
	go func() { searched <- s.searchGlobalID(sctx, start.jc, taskGID) }()
	claimed := make(chan error, 1)
	go func() {
		err := s.claimCreation(ctx, id, key, srv.ID, taskGID, hooks.Signed)
		if err != nil {
			cancelSearch()
			if !errors.Is(err, store.ErrConflict) {
				// A repeat, or the store failing: no form is needed.
				cancelForm()
			}
		}
		claimed <- err
	}()
	form, in, ferr := s.submittedForm(fctx, id, taskGID, values, start)
	if ferr != nil || form.srv.ID != srv.ID {
		cancelSearch()
	}
	done := timePhase(ctx, "await")
	first := firstClaim{err: <-claimed}
	search := <-searched
	done()
	if first.err == nil {
		first.search = &search
	}
	switch {
	case errors.Is(first.err, ErrRepeat):
		return nil, form, first.err
	case first.err != nil && !errors.Is(first.err, store.ErrConflict):
		return nil, form, fmt.Errorf("bridge: claim issue creation: %w", first.err)
	case ferr != nil || form.srv.ID != srv.ID:
		if first.err == nil {
			s.dropClaim(ctx, key)
		}
		if ferr != nil {
			return nil, form, ferr
		}
		c, err := s.createOnce(ctx, id, form.jc, form.srv, form.task, in, hooks, nil)
		return c, form, applyFieldErrors(err, form)
	}
	c, err := s.createOnce(ctx, id, form.jc, form.srv, form.task, in, hooks, &first)
	return c, form, applyFieldErrors(err, form)
}

// createOnce creates the issue for a task unless the task already has one
// on this server.
//
// Exactly once. The claim (an idempotency key per server and task) is
// durable before Jira is asked to create anything, and the issue's
// fingerprint, the remote link whose globalId names the task, is written
// after the create, by a call of its own; an attempt that finds no stored
// link and takes the claim first asks Jira for an issue with that globalId
// (an earlier attempt that created one and died before storing the link).
// The claim therefore cannot be left to an unflushed commit
// (synchronous_commit off) or an advisory lock: a PostgreSQL crash that
// lost the claim while the first attempt was between Jira's create and its
// remote link would let a repeat submit find no claim and no fingerprint,
// and create a second issue. The claim is one statement, which also
// refuses a task linked already and records the signed request asking for
// the create (store.ClaimCreation): on PostgreSQL one round trip and one
// log flush, no transaction around it. Without first (below), the globalId
// search starts once it returned, so a repeat of a signed request asks
// nothing of Jira.
//
// The fingerprint and the link (which completes the claim) are both
// written after Jira's create, at once (createClaimed), the claim durable
// before either: a repeat finds the link, or, once the claim expired or
// was marked failed, the fingerprint, or, only when the process died
// between Jira's create and both writes, neither (and creates a second
// issue).
//
// A create interrupted at any point is resolved without anyone submitting
// again. The claim records who creates and where (creationClaim); once it
// expired unfinished, or marked failed (releaseClaim) with no submit
// taking it over, the sweep of such claims (jobs' sweep_create_claims,
// every minute) takes it over and finishes the create as the claim's user
// (FinishCreation):
//   - died after the claim, before Jira's create: Jira has no issue for
//     the task; the sweep lets the claim go, and the next submit creates.
//   - died after Jira's create, before the fingerprint and the link:
//     nothing in Jira names the task either, and the sweep lets the claim
//     go as above; the issue stays unlinked (the one window where a next
//     submit creates a second issue).
//   - died after the fingerprint, before the link's commit (or failed
//     then, marking the claim failed): the sweep finds the issue by its
//     globalId and stores the link as a request does, then enqueues its
//     copy job, which adds the task's files and checks the remote link.
//   - died after the link's commit, before the fingerprint: the link is
//     marked with its copy job still to enqueue; sweep_link_copies
//     enqueues it, told the remote link was not added (RemoteLinked
//     false), which adds it, two minutes on, when no request adds it any
//     more.
//   - died after both, before the copy job's enqueue: sweep_link_copies
//     as above.
//
// A submit after the claim expired resolves the first three as the sweep
// would (it takes the claim, searches, and links or creates); the sweep's
// take-over and a submit's claim exclude each other (the take-over sets a
// new expiry), so one of them works on it. A claim whose user must
// reconnect Jira the sweep marks failed (store.CreationAwaitingReconnect)
// with its next attempt as expiry: a submit takes it over at once, as a
// failed attempt's, and searches after (jobs' awaitReconnect says why
// that is sound).
//
// first, when set, is the first claim and a globalId search, both made
// while the form was built (createBesideForm). The search may have been
// answered before the claim committed; its answer counts only when that
// claim was taken, and is still sound then. A claim is taken only where
// none is live: the task's issue was never claimed, its last claim was let
// go by an attempt that had Jira create nothing (dropClaim), or it
// expired (a failed attempt's is taken over, never let go: awaitCreation).
// An expired claim outlived the request that held it by far
// (createClaimTTL, against the few seconds of a request's deadline), and
// that request wrote its remote link, if it did, before its deadline;
// the search started within this request, whose claim committed before
// its own deadline, so after that remote link was written, and finds its
// issue. A claim that is not taken (one that is live, completed or
// failed) goes to awaitCreation as above, and a claim taken again after
// it searches anew, after it. A repeat of a signed request still asks
// Jira to create nothing (its claim answers ErrRepeat), though its search
// may have been sent. The form is built with the values before anything
// is written to Jira, so a claim taken for values the form then refuses
// creates nothing, and is let go (dropClaim).
func (s *Service) createOnce(ctx context.Context, id Identity, jc *jira.Client, srv store.JiraServer, task *asana.Task, in jira.IssueInput, hooks CreateHooks,
	first *firstClaim) (*Created, error) {
	key := srv.ID + ":" + task.GID
	var (
		search *globalIDSearch
		over   bool // the claim was a failed attempt's, taken over
	)
	for {
		// A task linked already is a conflict too: awaitCreation below
		// then answers with its issue.
		var err error
		if first != nil {
			err, search, first = first.err, first.search, nil
		} else {
			err, search = s.claimCreation(ctx, id, key, srv.ID, task.GID, hooks.Signed), nil
		}
		if err == nil || errors.Is(err, ErrRepeat) {
			if err != nil {
				return nil, err
			}
			break
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("bridge: claim issue creation: %w", err)
		}
		// Once the claim is free again (expired or let go), claim again;
		// a failed attempt's claim taken over here is this attempt's.
		// Either way the search follows the claim.
		c, took, err := s.awaitCreation(ctx, id, jc, srv, task.GID, key)
		if err != nil || c != nil {
			return c, err
		}
		if took {
			over = true
			break
		}
	}
	c, mayExist, err := s.createClaimed(ctx, id, jc, srv, task, in, hooks, search)
	switch {
	case err == nil:
	case !mayExist && !over:
		// Jira created nothing (the search failed, or Jira refused the
		// values): the next attempt may claim the creation at once. (A
		// claim taken over stays marked: the attempt that failed with it
		// may have.)
		s.dropClaim(ctx, key)
	default:
		s.releaseClaim(ctx, key)
	}
	return c, err
}

// releaseClaim marks a creation's claim failed, on a context the request's
// end does not cancel: one of those waiting for it (awaitCreation) takes
// it over, and its globalId search, made then, finds an issue Jira created
// before the failure (whose remote link was written, as it is, before the
// claim was marked).
func (s *Service) releaseClaim(ctx context.Context, key string) {
	if err := s.st.CompleteIdempotencyKey(context.WithoutCancel(ctx), createScope, key, store.FailedCreation); err != nil {
		s.log.WarnContext(ctx, "could not release an issue creation claim", slog.Any("error", err))
	}
}

// dropClaim forgets a creation's claim whose holder had Jira create
// nothing (its form failed, its search failed, or Jira refused the
// values), on a context the request's end does not cancel: the next
// attempt, or one waiting in awaitCreation, claims the creation at once,
// rather than after reading it failed and taking it over. (Nothing in Jira
// names the task from this attempt, so a globalId search that began before
// the claim was let go misses nothing.)
func (s *Service) dropClaim(ctx context.Context, key string) {
	if err := s.st.ReleaseIdempotencyKey(context.WithoutCancel(ctx), createScope, key); err != nil {
		s.log.WarnContext(ctx, "could not release an issue creation claim", slog.Any("error", err))
	}
}

// claimCreation claims the creation of a task's issue (key), with the
// signed request asking for it, if any. A claim that is taken already, or
// a task linked already, is ErrConflict; a signature recorded already is
// ErrRepeat, with the record in signed.First.
func (s *Service) claimCreation(ctx context.Context, id Identity, key, serverID, taskGID string, signed *SignedCreate) error {
	k := s.creationClaim(id, key)
	var sig *store.SignedRequest
	if signed != nil && !signed.Claimed {
		// A request whose record a claim taken and released already
		// made (createBesideForm) records it no more.
		sig = &signed.Request
	}
	done := timePhase(ctx, "claim")
	first, repeat, err := s.st.ClaimCreation(ctx, k, serverID, taskGID, sig)
	done()
	switch {
	case err != nil:
		return err
	case repeat:
		signed.First = &first
		return ErrRepeat
	case signed != nil:
		signed.Claimed = true
	}
	return nil
}

// existing returns the task's issue when a link is stored.
func (s *Service) existing(ctx context.Context, user string, jc *jira.Client, srv store.JiraServer, taskGID string) (*Created, bool) {
	l, err := s.st.GetLinkByTask(ctx, srv.ID, taskGID)
	if err != nil {
		return nil, false
	}
	c := &Created{ServerID: srv.ID, IssueID: l.IssueID, IssueKey: l.IssueKey, URL: BrowseURL(srv, l.IssueKey), Existing: true, LinkID: l.ID}
	if is, err := jc.GetIssue(ctx, l.IssueKey, &jira.GetIssueOptions{Fields: []string{"summary"}}); err == nil {
		c.Summary, c.IssueKey = is.Fields.Summary, is.Key
		c.URL = BrowseURL(srv, is.Key)
	}
	return c, true
}

// awaitCreation waits for a concurrent creation of the same task's issue.
// It returns the issue once linked; nil once the claim is free to take
// again (it expired or was let go); or took true when the other attempt
// failed and this one took its claim over (of several attempts waiting,
// one does, and the others wait for it): the key is never free between
// the two, so no attempt whose globalId search began before the failed
// attempt wrote its remote link can claim it meanwhile (createOnce).
func (s *Service) awaitCreation(ctx context.Context, id Identity, jc *jira.Client, srv store.JiraServer, taskGID, key string) (c *Created, took bool, err error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if c, ok := s.existing(ctx, id.User, jc, srv, taskGID); ok {
			return c, false, nil
		}
		k, err := s.st.GetIdempotencyKey(ctx, createScope, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("bridge: await issue creation: %w", err)
		case k.Result != nil:
			var r createResult
			if json.Unmarshal(k.Result, &r) == nil && r.Failed {
				took, err := s.st.TakeOverIdempotencyKey(ctx, s.creationClaim(id, key), k.Result, time.Time{})
				if err != nil {
					return nil, false, fmt.Errorf("bridge: take over a failed issue creation: %w", err)
				}
				if took {
					return nil, true, nil
				}
				// Another attempt took it over first: wait for it.
			}
		}
		select {
		case <-ctx.Done():
			return nil, false, newError(ErrJiraUnavailable, ctx.Err(), "The issue for this task is still being created; wait a moment and reopen the task.")
		case <-t.C:
		}
	}
}

// FinishCreation finishes a create its holder left unresolved: claim is
// its claim (store.ListUnresolvedCreations), which the caller, the sweep
// of such claims, took over (store.TakeOverIdempotencyKey), so no submit
// and no other sweep works on it meanwhile. As the claim's user on the
// claim's server, it searches Jira for the issue whose remote link names
// the task (the holder died after Jira's create, or failed after it):
//   - found: the link is stored as a request stores it (storeLink: the
//     link, the claim's completion, the link's copy job marked still to
//     enqueue; no signed answer), and the Created returned (LinkID) for
//     the caller to enqueue the copy job, which adds the task's files and
//     repairs the remote link (it was not added here);
//   - not found: the claim is let go, and the next submit creates;
//   - the task linked already (by another path): the claim is let go,
//     nothing else.
//
// A failure to search (Jira unreachable or rate limiting, the user's
// credentials gone or refused: ErrNotConnected, ErrReconnectNeeded) is
// returned, and the claim left as it is, for the caller to let lapse
// (the next sweep retries it) or, when the user must reconnect, to put
// off (store.PostponeCreation: a failed claim, which a submit takes over
// at once). The result is nil when nothing was linked.
func (s *Service) FinishCreation(ctx context.Context, claim store.IdempotencyKey) (*Created, error) {
	serverID, taskGID, ok := CreationOf(claim.Key)
	if claim.Scope != createScope || !ok || claim.UserGID == "" {
		return nil, fmt.Errorf("bridge: finish creation %s:%s: not a creation's claim with its intent", claim.Scope, claim.Key)
	}
	id := Identity{User: claim.UserGID, Workspace: claim.WorkspaceGID}
	log := s.log.With(slog.String("task", taskGID), slog.String("jira_server", serverID), slog.String("user", id.User))
	linked, err := s.st.GetLinkByTask(ctx, serverID, taskGID)
	switch {
	case err == nil:
		log.InfoContext(ctx, "an interrupted create's task is linked already; its claim is let go", slog.String("issue", linked.IssueKey))
		return nil, s.releaseFinished(ctx, claim.Key)
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("bridge: finish creation: %w", err)
	}
	jc, srv, err := s.jiraFor(ctx, id.User, serverID)
	if err != nil {
		return nil, err
	}
	search := s.searchGlobalID(ctx, jc, taskGID)
	if search.err != nil {
		return nil, s.jiraError(ctx, id.User, srv, search.err, "check for an issue already created from this task")
	}
	if len(search.found.Issues) == 0 {
		log.InfoContext(ctx, "an interrupted create made no issue in Jira; its claim is let go, and the next submit creates it")
		return nil, s.releaseFinished(ctx, claim.Key)
	}
	is := search.found.Issues[0]
	c := &Created{ServerID: srv.ID, IssueID: is.ID, IssueKey: is.Key, Summary: is.Fields.Summary, URL: BrowseURL(srv, is.Key)}
	if err := s.storeLink(ctx, id, srv, taskGID, c, CreateHooks{}); err != nil {
		if !errors.Is(err, ErrInvalid) {
			return nil, err
		}
		// The task was linked to another issue meanwhile, or the issue
		// to another task: nothing is left to finish.
		log.WarnContext(ctx, "an interrupted create's issue cannot be linked; its claim is let go", slog.String("issue", is.Key), slog.Any("error", err))
		return nil, s.releaseFinished(ctx, claim.Key)
	}
	if c.Existing {
		// Linked to this issue by another path meanwhile: the link's
		// statement wrote nothing, the claim included.
		return nil, s.releaseFinished(ctx, claim.Key)
	}
	log.InfoContext(ctx, "linked "+c.IssueKey+" to task "+taskGID+" after an interrupted create", slog.String("issue", c.IssueKey))
	if err := s.st.AppendAudit(ctx, store.AuditEntry{At: s.now(), Actor: "asanajira", Action: "link.create_finished", Target: c.IssueKey,
		Detail: "linked " + c.IssueKey + " to task " + taskGID + " after an interrupted create by " + id.User}); err != nil {
		log.WarnContext(ctx, "could not audit the link of an interrupted create", slog.Any("error", err))
	}
	return c, nil
}

// CreationOf is the Jira server and the task of a creation's claim's key;
// ok is false when key is not one.
func CreationOf(key string) (serverID, taskGID string, ok bool) {
	i := strings.LastIndexByte(key, ':')
	if i <= 0 || i == len(key)-1 {
		return "", "", false
	}
	return key[:i], key[i+1:], true
}

// releaseFinished lets go of a claim the sweep took over and has nothing
// more to do for.
func (s *Service) releaseFinished(ctx context.Context, key string) error {
	if err := s.st.ReleaseIdempotencyKey(ctx, createScope, key); err != nil {
		return fmt.Errorf("bridge: let go of a finished creation's claim: %w", err)
	}
	return nil
}

// globalIDSearch is Jira's answer to the search for the issue whose
// remote link names a task (GlobalID).
type globalIDSearch struct {
	found *jira.SearchResult
	err   error
}

func (s *Service) searchGlobalID(ctx context.Context, jc *jira.Client, taskGID string) globalIDSearch {
	done := timePhase(ctx, "lookup")
	defer done()
	found, err := jc.Search(ctx, jira.SearchOptions{JQL: fmt.Sprintf(`issue in issuesWithRemoteLinksByGlobalId(%q)`, GlobalID(taskGID)),
		MaxResults: 1, Fields: []string{"summary"}})
	return globalIDSearch{found: found, err: err}
}

// createClaimed creates the issue once the claim is held (or the other
// attempt failed), then adds its remote link and stores its link at once
// (see createOnce). search is the globalId search made once the claim was
// taken, if it was made already. On failure, mayExist says whether Jira
// may hold an issue from this attempt: false when the search failed or
// Jira refused the values, so nothing was created.
func (s *Service) createClaimed(ctx context.Context, id Identity, jc *jira.Client, srv store.JiraServer, task *asana.Task, in jira.IssueInput,
	hooks CreateHooks, search *globalIDSearch) (c *Created, mayExist bool, err error) {
	// A previous attempt may have created the issue and died before
	// storing the link: Jira knows it by the remote link's globalId.
	if search == nil {
		found := s.searchGlobalID(ctx, jc, task.GID)
		search = &found
	}
	if search.err != nil {
		return nil, false, s.jiraError(ctx, id.User, srv, search.err, "check for an issue already created from this task")
	}
	c = &Created{ServerID: srv.ID}
	if found := search.found; len(found.Issues) > 0 {
		is := found.Issues[0]
		c.IssueID, c.IssueKey, c.Summary = is.ID, is.Key, is.Fields.Summary
	} else {
		done := timePhase(ctx, "jira.create")
		ci, err := jc.CreateIssue(ctx, in)
		done()
		if err != nil {
			var je *jira.Error
			if errors.As(err, &je) && je.Kind == jira.KindValidation {
				return nil, false, fieldErrors(je)
			}
			return nil, true, s.jiraError(ctx, id.User, srv, err, "create the issue")
		}
		c.IssueID, c.IssueKey = ci.ID, ci.Key
		c.Summary, _ = in.Fields["summary"].(string)
	}
	c.URL = BrowseURL(srv, c.IssueKey)
	// The remote link (the issue's fingerprint) is added while the link is
	// stored: both follow Jira's create, neither needs the other. No one
	// else adds it meanwhile: the copy job, which repairs it, is enqueued
	// once the request answered (after both), the sweep enqueues only a
	// link marked for longer than any request lives (LinkCopyGrace), and
	// a sync run of the new link finds the remote link recorded (only a
	// task changed within these milliseconds has it written again, by its
	// globalId).
	// The link records the remote link as the request writes it, so the
	// two-way sync's first run does not write it again; should the
	// upsert fail, that record is removed (forgetRemoteLink) before the
	// request answers and the copy job, told the request did not add it
	// (RemoteLinked false), adds it.
	//
	// The request sends the remote link, and the link's statement runs on
	// a goroutine of its own: the request waits for Jira's answer at once,
	// so the statement runs meanwhile even on one processor (a goroutine
	// that sent it would start only once the request waited: SQLite's
	// statement is the request's CPU, not a wait).
	rl := RemoteLinkFor(task)
	c.remoteLink = RemoteLinkState(rl)
	issueKey := c.IssueKey
	stored := make(chan error, 1)
	go func(c *Created) { stored <- s.storeLink(ctx, id, srv, task.GID, c, hooks) }(c)
	done := timePhase(ctx, "jira.remotelink")
	_, err = jc.UpsertRemoteLink(ctx, issueKey, rl)
	done()
	done = timePhase(ctx, "await.link")
	serr := <-stored
	done()
	if serr != nil {
		return nil, true, serr
	}
	if err != nil {
		s.log.WarnContext(ctx, "could not add the Asana remote link now; the attachment job will retry",
			slog.String("issue", c.IssueKey), slog.Any("error", err))
		if !c.Existing {
			s.forgetRemoteLink(ctx, c)
		}
		c.remoteLink = ""
		return c, false, nil
	}
	c.RemoteLinked = true
	return c, false, nil
}

// forgetRemoteLink removes the record of the remote link a create stored
// with its link (c) when the remote link then failed: the two-way sync's
// first run then does not take it for written. It runs before the request
// answers, so before the link's copy job is enqueued (and the first run
// with it), on a context the request's deadline does not end (a remote
// link that outlived it is the usual failure). Should it fail, the copy
// job still adds the remote link (RemoteLinked false), which the record
// then describes.
//
// Its commit waits for the log flush, and so makes the link's durable on
// PostgreSQL too (the link's own commit does not wait for it, see the
// store's CreateLinkOfCreate; the log is flushed in order): without a
// remote link there is no fingerprint in Jira by which the sweep of
// unresolved claims could find the issue again, so this link must not be
// lost before the request answers. Only a database that fails this
// delete and then crashes within the log writer's delay loses it.
func (s *Service) forgetRemoteLink(ctx context.Context, c *Created) {
	done := timePhase(ctx, "link.forget_remotelink")
	_, err := s.st.DeleteSyncFieldState(context.WithoutCancel(ctx), store.SyncFieldState{LinkID: c.LinkID, Field: RemoteLinkField})
	done()
	if err != nil {
		s.log.WarnContext(ctx, "could not forget the remote link that failed; the attachment job adds it",
			slog.String("issue", c.IssueKey), slog.Any("error", err))
	}
}

// storeLink stores the link with the creation's result, the signed
// request's answer, if any, and the mark of its copy job still to enqueue
// (Created.LinkID), in one statement: on PostgreSQL one round trip and one
// commit, with no transaction around it. The copy job (the task's files,
// the remote link's repair, the link's first sync run) is not inserted
// here: river's insert and its notification would be the request's to
// wait for.
func (s *Service) storeLink(ctx context.Context, id Identity, srv store.JiraServer, taskGID string, c *Created, hooks CreateHooks) error {
	res, _ := json.Marshal(createResult{IssueID: c.IssueID, IssueKey: c.IssueKey, Summary: c.Summary})
	// The claim's completion (attach has no claim), and the remote link
	// as this request writes it, so the two-way sync's first run does not
	// write it again.
	rec := store.LinkOfCreate{Claim: store.IdempotencyKey{Scope: createScope, Key: srv.ID + ":" + taskGID, Result: res}, CopyPending: true}
	if c.remoteLink != "" {
		rec.RemoteLink = &store.SyncFieldState{Field: RemoteLinkField, AsanaValue: c.remoteLink, JiraValue: c.remoteLink, Written: store.SideJira}
	}
	if sc := hooks.Signed; sc != nil && sc.Answer != nil {
		a := sc.Request
		a.Status, a.Response = sc.Answer(c)
		rec.Answer, rec.Claimed = &a, sc.Claimed
	}
	done := timePhase(ctx, "link.tx")
	// Jira has the issue now: the link is stored even when the request's
	// deadline passes (a slow Jira create, or the remote link beside it
	// failing or outliving it), or a repeat would find neither the link
	// nor the fingerprint.
	l := store.Link{WorkspaceGID: id.Workspace, TaskGID: taskGID, JiraServerID: srv.ID, IssueID: c.IssueID, IssueKey: c.IssueKey, CreatedBy: id.User}
	err := s.st.CreateLinkOfCreate(context.WithoutCancel(ctx), &l, rec)
	done()
	if errors.Is(err, store.ErrConflict) {
		l, gerr := s.st.GetLinkByTask(ctx, srv.ID, taskGID)
		if gerr == nil && l.IssueID == c.IssueID {
			c.Existing, c.LinkID = true, l.ID
			return nil
		}
		return newError(ErrInvalid, err, "This task is already linked to another issue on %s (or %s to another task).", serverName(srv), c.IssueKey)
	}
	if err != nil {
		return fmt.Errorf("bridge: store link: %w", err)
	}
	c.LinkID = l.ID
	if rec.Answer != nil {
		hooks.Signed.Answered = rec.Answer.Response
	}
	return nil
}

func (s *Service) upsertRemoteLink(ctx context.Context, jc *jira.Client, issueKey string, task *asana.Task) error {
	_, err := jc.UpsertRemoteLink(ctx, issueKey, RemoteLinkFor(task))
	return err
}

// RemoteLinkFor is the Jira remote link pointing back at a task.
func RemoteLinkFor(task *asana.Task) jira.RemoteLink {
	u := task.PermalinkURL
	if u == "" {
		u = "https://app.asana.com/0/0/" + task.GID + "/f"
	}
	title := task.Name
	if title == "" {
		title = "Asana task " + task.GID
	}
	return jira.RemoteLink{
		GlobalID:     GlobalID(task.GID),
		Application:  &jira.RemoteLinkApp{Type: "com.asana", Name: "Asana"},
		Relationship: "Asana task",
		Object:       jira.RemoteLinkObject{URL: u, Title: trunc(title, 255), Status: &jira.RemoteLinkStatus{Resolved: task.Completed}},
	}
}

// RemoteLinkField names the remote link on the issue among a link's field
// states (store.SyncFieldState): the two-way sync keeps it following the
// task's name and completion.
const RemoteLinkField = "link"

// RemoteLinkState is how a link's field state records a remote link: its
// title and whether it is marked resolved.
func RemoteLinkState(rl jira.RemoteLink) string {
	return rl.Object.Title + "\nresolved=" + strconv.FormatBool(rl.Object.Status != nil && rl.Object.Status.Resolved)
}

// fieldErrors turns Jira's 400 into per-field errors.
func fieldErrors(je *jira.Error) *FieldErrors {
	fe := &FieldErrors{Message: strings.Join(je.ErrorMessages, " ")}
	keys := make([]string, 0, len(je.Errors))
	for k := range je.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fe.Fields = append(fe.Fields, FieldError{Field: k, Message: je.Errors[k]})
	}
	if fe.Message == "" && len(fe.Fields) == 0 {
		fe.Message = "Jira rejected the issue."
	}
	return fe
}
