package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
)

// errDied is what the writes of a process that died return.
var errDied = errors.New("the process died before writing")

// dyingStore is the store of a create whose process dies after Jira's
// create: the link's statement never runs (link), and, with died, neither
// does anything the attempt writes after it (its claim's completion or
// release), as when the process, or the database server, is gone.
type dyingStore struct {
	store.Store
	died bool
}

func (s *dyingStore) CreateLinkOfCreate(context.Context, *store.Link, store.LinkOfCreate) error {
	return errDied
}

func (s *dyingStore) CompleteIdempotencyKey(ctx context.Context, scope, key string, result []byte) error {
	if s.died {
		return errDied
	}
	return s.Store.CompleteIdempotencyKey(ctx, scope, key, result)
}

func (s *dyingStore) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	if s.died {
		return errDied
	}
	return s.Store.ReleaseIdempotencyKey(ctx, scope, key)
}

// clock is the sweep's clock: the time plus an offset a test moves on.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time      { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Add(d time.Duration) { c.off.Add(int64(d)) }

// createBed is the sync bench with alice's create of a task's issue at
// hand, the sweep's clock, and the queue's and bridge's log.
type createBed struct {
	*synctest.Env
	clk  *clock
	logs *logLines
	task string
	key  string // the creation's claim
}

// logLines keeps the lines logged.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count counts the lines logged at level that contain text.
func (l *logLines) count(level, text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.Lines(l.b.String()) {
		if strings.Contains(line, "level="+level) && strings.Contains(line, text) {
			n++
		}
	}
	return n
}

func newCreateBed(t *testing.T, db string, run bool) *createBed {
	t.Helper()
	b := &createBed{clk: &clock{}, logs: &logLines{}}
	b.Env = synctest.New(t, synctest.Options{DB: db, Run: run, Log: slog.New(slog.NewTextHandler(b.logs, nil)), QueueOptions: func(e *synctest.Env, o *jobs.Options) {
		// The sweep of link copies is left out: the copy job is the
		// create sweep's to enqueue.
		o.Attachments, o.LinkCopyGrace, o.Now = e.Bridge(), time.Hour, b.clk.Now
		if run {
			o.Creations, o.CreateClaimSweepInterval = e.Bridge(), 100*time.Millisecond
		}
	}})
	b.task = b.Seed.Tasks[0].GID
	b.key = b.Server.ID + ":" + b.task
	return b
}

// eachDB runs scenario on a bed of its own on each database, in
// parallel; run starts the queue, with the sweep every 100 ms.
func eachDB(t *testing.T, run bool, scenario func(t *testing.T, b *createBed)) {
	t.Helper()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			scenario(t, newCreateBed(t, db, run))
		})
	}
}

// forTask is the bed for another task's create.
func (b *createBed) forTask(gid string) *createBed {
	c := *b
	c.task, c.key = gid, b.Server.ID+":"+gid
	return &c
}

// alice is the identity of alice's requests.
func (b *createBed) alice() bridge.Identity {
	return bridge.Identity{User: b.Users["alice"], Workspace: b.Seed.Workspace}
}

// create submits alice's create form for the task through a bridge on st.
func (b *createBed) create(ctx context.Context, st store.Store, summary string) (*bridge.Created, error) {
	c, _, err := b.BridgeOn(st).CreateIssue(ctx, b.alice(), b.task, bridge.Values{"project": "DEMO", "issuetype": "10002", "summary": summary}, bridge.CreateHooks{})
	return c, err
}

// interrupt makes alice's create die after Jira's create and its remote
// link: before the link (died: and before anything after it), or with
// the link's statement failing (not died: the attempt marks its claim
// failed).
func (b *createBed) interrupt(t *testing.T, died bool) {
	t.Helper()
	if _, err := b.create(t.Context(), &dyingStore{Store: b.Store, died: died}, "Interrupted"); !errors.Is(err, errDied) {
		t.Fatalf("the interrupted create = %v, want it to die", err)
	}
	if got := b.issues(); len(got) != 1 {
		t.Fatalf("Jira holds %d issues for the task after the interrupted create, want 1", len(got))
	}
	if b.linked(t) != nil {
		t.Fatal("the interrupted create stored its link")
	}
}

// issues are Jira's issues whose remote link names the task.
func (b *createBed) issues() []string {
	var keys []string
	for _, is := range b.Jira.Issues() {
		for _, rl := range is.RemoteLinks {
			if rl.GlobalID == bridge.GlobalID(b.task) {
				keys = append(keys, is.Key)
				break
			}
		}
	}
	return keys
}

// linked is the task's link, nil without one.
func (b *createBed) linked(t *testing.T) *store.Link {
	t.Helper()
	l, err := b.Store.GetLinkByTask(t.Context(), b.Server.ID, b.task)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	must(t, err)
	return &l
}

// claim is the creation's claim as stored, expired or not; ok false when
// there is none.
func (b *createBed) claim(t *testing.T) (result []byte, expires time.Time, ok bool) {
	t.Helper()
	var at sql.NullTime
	err := b.Store.DB().QueryRowContext(t.Context(), `SELECT result, expires_at FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		store.CreationScope, b.key).Scan(&result, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, false
	}
	must(t, err)
	return result, at.Time, true
}

// lapse moves the sweep's clock past the expiry of a claim made (or taken
// over) at its time.
func (b *createBed) lapse() { b.clk.Add(bridge.CreateClaimTTL + time.Second) }

// sweep runs one pass of the sweep at the clock's time.
func (b *createBed) sweep(t *testing.T) {
	t.Helper()
	must(t, b.pass(t.Context()))
}

// pass is one pass of the sweep at the clock's time, as a replica's
// worker runs it.
func (b *createBed) pass(ctx context.Context) error {
	return jobs.SweepCreateClaims(ctx, b.Queue, b.Bridge(), b.clk.Now)
}

// wantLinked checks the task linked, by its create's claim, to the one
// issue Jira holds for it, with one copy job, which checks the remote
// link (RemoteLinked false).
func (b *createBed) wantLinked(t *testing.T) {
	t.Helper()
	issues := b.issues()
	if len(issues) != 1 {
		t.Fatalf("Jira holds %v for the task, want one issue", issues)
	}
	l := b.linked(t)
	if l == nil || l.IssueKey != issues[0] || l.CreatedBy != b.Users["alice"] || l.WorkspaceGID != b.Seed.Workspace {
		t.Fatalf("the task's link = %+v, want to %s, alice's, in the workspace", l, issues[0])
	}
	result, _, ok := b.claim(t)
	if !ok || string(result) == "" || string(result) == string(store.FailedCreation) {
		t.Errorf("the claim after the sweep = %q (%v), want completed with the issue", result, ok)
	}
	want := []bridge.CopyAttachmentsArgs{{JiraServerID: b.Server.ID, TaskGID: b.task, IssueKey: issues[0], AsanaUser: b.Users["alice"]}}
	var got []bridge.CopyAttachmentsArgs
	for _, a := range copyJobs(t, b.Store, b.DB) {
		if a.TaskGID == b.task {
			got = append(got, a)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copy jobs (-want +got):\n%s", diff)
	}
}

// A create whose process died after Jira's create and its remote link,
// before its link, is linked by the periodic sweep once its claim
// expired, without anyone submitting again: the link, the claim
// completed, one copy job (which copies the task's files), one issue in
// Jira, and an audit entry.
func TestSweepLinksAnInterruptedCreate(t *testing.T) {
	t.Parallel()
	eachDB(t, true, func(t *testing.T, b *createBed) {
		b.interrupt(t, true)
		time.Sleep(300 * time.Millisecond) // sweeps before the claim expired
		if b.linked(t) != nil {
			t.Fatal("the sweep linked the task while its claim was live")
		}
		b.lapse()
		waitUntil(t, "the sweep to link the task", func() bool { return b.linked(t) != nil })
		waitUntil(t, "the copy job to copy the task's files", func() bool {
			is, _ := b.Jira.Issue(b.issues()[0])
			return len(is.Attachments) == 2
		})
		b.wantLinked(t)
		audit, err := b.Store.ListAudit(t.Context(), store.AuditFilter{Action: "link.create_finished"})
		must(t, err)
		if len(audit) != 1 || audit[0].Target != b.issues()[0] {
			t.Errorf("audit of the finished create = %+v, want one entry for %s", audit, b.issues()[0])
		}
	})
}

// An attempt that failed after Jira's create (its link's statement
// failed) marks its claim failed; once expired with no submit taking it
// over, the sweep links the issue.
func TestSweepLinksAFailedAttemptsIssue(t *testing.T) {
	t.Parallel()
	eachDB(t, false, func(t *testing.T, b *createBed) {
		b.interrupt(t, false)
		if result, _, _ := b.claim(t); string(result) != string(store.FailedCreation) {
			t.Fatalf("the failed attempt's claim = %q, want marked failed", result)
		}
		b.sweep(t)
		if b.linked(t) != nil {
			t.Fatal("the sweep took over a live failed claim")
		}
		b.lapse()
		b.sweep(t)
		b.wantLinked(t)
	})
}

// A claim that expired with no issue in Jira (its holder died before
// Jira's create) is let go by the sweep, and the next submit creates
// exactly one issue.
func TestSweepLetsGoAClaimWithoutIssue(t *testing.T) {
	t.Parallel()
	eachDB(t, false, func(t *testing.T, b *createBed) {
		k := store.IdempotencyKey{Scope: store.CreationScope, Key: b.key, ExpiresAt: time.Now().Add(bridge.CreateClaimTTL),
			WorkspaceGID: b.Seed.Workspace, UserGID: b.Users["alice"]}
		_, _, err := b.Store.ClaimCreation(t.Context(), k, b.Server.ID, b.task, nil)
		must(t, err)
		b.lapse()
		b.sweep(t)
		if _, _, ok := b.claim(t); ok {
			t.Fatal("the sweep kept a claim whose create made no issue")
		}
		if b.linked(t) != nil || len(b.issues()) != 0 || len(copyJobs(t, b.Store, b.DB)) != 0 {
			t.Fatal("the sweep linked or created something for a create that made no issue")
		}
		c, err := b.create(t.Context(), b.Store, "Submitted again")
		must(t, err)
		if issues := b.issues(); len(issues) != 1 || issues[0] != c.IssueKey || b.linked(t) == nil {
			t.Fatalf("after the next submit: Jira holds %v, the submit made %s; want that one issue, linked", issues, c.IssueKey)
		}
	})
}

// A sweep that cannot search Jira (Jira answering 503, closing the
// connection, or rate limiting) keeps the claim with its new expiry,
// links nothing, and the next sweep after it lapsed, once Jira answers
// again, links the issue.
func TestSweepRetriesWhileJiraCannotBeAsked(t *testing.T) {
	t.Parallel()
	faults := func(f fakejira.Faults) func(t *testing.T, b *createBed) func() {
		return func(t *testing.T, b *createBed) func() {
			must(t, b.Jira.SetFaults(f))
			return func() { must(t, b.Jira.SetFaults(fakejira.Faults{})) }
		}
	}
	tests := map[string]func(t *testing.T, b *createBed) (fix func()){
		"Jira answers 503": faults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 503}),
		"Jira closes":      faults(fakejira.Faults{Reset: true}),
		"Jira rate limits": faults(fakejira.Faults{Throttle: true, RetryAfterSeconds: 1}),
	}
	for name, breakIt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			eachDB(t, false, func(t *testing.T, b *createBed) {
				b.interrupt(t, true)
				_, expired, _ := b.claim(t)
				fix := breakIt(t, b)
				b.lapse()
				b.sweep(t)
				result, expires, ok := b.claim(t)
				if !ok || result != nil || !expires.After(expired) || b.linked(t) != nil {
					t.Fatalf("after a sweep that could not ask Jira: claim %q (%v), expiring %v (was %v), link %v; want kept unfinished with a later expiry, no link",
						result, ok, expires, expired, b.linked(t))
				}
				if n := b.logs.count("WARN", "could not finish an interrupted create"); n != 1 {
					t.Errorf("warnings of the attempt = %d, want 1", n)
				}
				fix()
				b.sweep(t) // its new expiry has not lapsed
				if b.linked(t) != nil {
					t.Fatal("a sweep retried the claim before its new expiry lapsed")
				}
				b.lapse()
				b.sweep(t)
				b.wantLinked(t)
				if n := b.logs.count("INFO", "linked "+b.issues()[0]+" to task "+b.task+" after an interrupted create"); n != 1 {
					t.Errorf("info lines of the link = %d, want 1", n)
				}
				if n := b.logs.count("WARN", "could not finish an interrupted create"); n != 1 {
					t.Errorf("warnings after the retry = %d, want the first attempt's alone", n)
				}
			})
		})
	}
}

// mustReconnect are the ways alice's Jira credential is gone: each breaks
// it and returns the fix, alice connecting again.
var mustReconnect = map[string]func(t *testing.T, b *createBed) (fix func()){
	"disconnected": func(t *testing.T, b *createBed) func() {
		b.DisconnectJira(t, "alice")
		return func() { b.Connect(t, "alice") }
	},
	"refused by Jira": func(t *testing.T, b *createBed) func() {
		b.BreakJiraToken(t, "alice")
		return func() { b.Connect(t, "alice") }
	},
}

// eachMustReconnect runs scenario on each database for each way alice's
// Jira credential is gone (mustReconnect), on a task whose create was
// interrupted after Jira's create, once the credential is broken; fix
// connects alice again.
func eachMustReconnect(t *testing.T, scenario func(t *testing.T, b *createBed, fix func())) {
	t.Helper()
	for name, breakIt := range mustReconnect {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			eachDB(t, false, func(t *testing.T, b *createBed) {
				b.interrupt(t, true)
				scenario(t, b, breakIt(t, b))
			})
		})
	}
}

// reconnectWarning is the start of the warning that alice must reconnect
// Jira for the task's interrupted create to be finished.
func (b *createBed) reconnectWarning() string {
	return "user " + b.Users["alice"] + " must reconnect Jira (server " + b.Server.ID + ") for the interrupted create of task " + b.task + " to be finished"
}

// A claim whose user's Jira credential is gone (disconnected, or refused
// by Jira) is put off: marked failed, awaiting a reconnect, until an
// attempt as long after as the claim is old (up to six hours), with one
// warning naming the user, the task and the server. The passes before
// that time leave it alone; the attempt at that time, still refused, puts
// it off about twice as long, logged at info; once alice reconnected, the
// attempt after links the issue.
func TestSweepPutsOffAClaimWhoseUserMustReconnect(t *testing.T) {
	t.Parallel()
	eachMustReconnect(t, func(t *testing.T, b *createBed, fix func()) {
		warned := b.logs.count("WARN", "") // the interrupted create's
		b.lapse()
		at := b.clk.Now()
		b.sweep(t)
		result, next, _ := b.claim(t)
		if string(result) != string(store.CreationAwaitingReconnect) || next.Sub(at) < bridge.CreateClaimTTL || b.linked(t) != nil {
			t.Fatalf("after a sweep whose user must reconnect: claim %q expiring %v after the sweep, link %v; want awaiting a reconnect for %v at least, no link",
				result, next.Sub(at), b.linked(t), bridge.CreateClaimTTL)
		}
		wantPutOff := func(when string, next time.Time) {
			t.Helper()
			if r, e, _ := b.claim(t); string(r) != string(store.CreationAwaitingReconnect) || !e.Equal(next) {
				t.Fatalf("%s: claim %q expiring %v; want awaiting a reconnect until %v", when, r, e, next)
			}
		}
		b.sweep(t)
		wantPutOff("the next pass", next)
		b.clk.Add(next.Sub(b.clk.Now()) - time.Second)
		b.sweep(t)
		wantPutOff("a pass a second before its time", next)

		b.clk.Add(2 * time.Second)
		at, wait := b.clk.Now(), next.Sub(at)
		b.sweep(t)
		_, later, _ := b.claim(t)
		wantPutOff("the attempt at its time", later)
		if again := later.Sub(at); again < wait*3/2 {
			t.Errorf("the wait after a second refusal = %v, want about twice the first's (%v)", again, wait)
		}
		if n := b.logs.count("INFO", "an interrupted create still waits for its user to reconnect Jira"); n != 1 {
			t.Errorf("info lines of the second refusal = %d, want 1", n)
		}

		// Days on, the wait is at its longest.
		b.clk.Add(3 * 24 * time.Hour)
		at = b.clk.Now()
		b.sweep(t)
		_, longest, _ := b.claim(t)
		if w := longest.Sub(at); w < 6*time.Hour || w > 6*time.Hour+time.Second {
			t.Errorf("the wait of a claim three days old = %v, want six hours", w)
		}

		fix()
		b.clk.Add(longest.Sub(b.clk.Now()) + time.Second)
		b.sweep(t)
		b.wantLinked(t)
		if n := b.logs.count("WARN", b.reconnectWarning()); n != 1 {
			t.Errorf("warnings that alice must reconnect = %d, want the first refusal's alone", n)
		}
		if n := b.logs.count("WARN", "") - warned; n != 1 {
			t.Errorf("warnings of the sweeps = %d, want the first refusal's alone:\n%s", n, b.logs.String())
		}
	})
}

// A submit once alice reconnected, while the sweep has put off the
// task's claim for her reconnect, takes the claim over at once, as a
// failed attempt's, rather than wait for it (which would outlast the
// request), and links the issue the interrupted create made.
func TestSubmitTakesOverAClaimPutOffForAReconnect(t *testing.T) {
	t.Parallel()
	eachMustReconnect(t, func(t *testing.T, b *createBed, fix func()) {
		interrupted := b.issues()[0]
		b.lapse()
		b.sweep(t)
		if result, until, _ := b.claim(t); string(result) != string(store.CreationAwaitingReconnect) || !until.After(time.Now().Add(time.Minute)) {
			t.Fatalf("the claim after the sweep = %q until %v; want awaiting a reconnect, live for minutes", result, until)
		}
		fix()
		c, err := b.create(t.Context(), b.Store, "Submitted again")
		if err != nil {
			t.Fatalf("the submit after the reconnect = %v, want the issue linked", err)
		}
		if c.IssueKey != interrupted || c.Existing {
			t.Errorf("the submit after the reconnect = %+v, want %s linked now", c, interrupted)
		}
		if issues := b.issues(); len(issues) != 1 {
			t.Errorf("Jira holds %v for the task, want the interrupted create's alone", issues)
		}
		if l := b.linked(t); l == nil || l.IssueKey != interrupted {
			t.Errorf("the task's link = %+v, want to %s", l, interrupted)
		}
		if result, _, ok := b.claim(t); !ok || string(result) == "" || string(result) == string(store.CreationAwaitingReconnect) {
			t.Errorf("the claim after the submit = %q (%v), want completed with the issue", result, ok)
		}
	})
}

// Sweeps on several replicas at once work on an interrupted create once:
// one link, one copy job, one issue.
func TestSweepsAtOnceLinkOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, false, func(t *testing.T, b *createBed) {
		b.interrupt(t, true)
		b.lapse()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for range 4 {
			wg.Go(func() {
				if err := b.pass(t.Context()); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("sweeps failed: %v", errs)
		}
		b.wantLinked(t)
	})
}

// A task linked by another path after its create was interrupted has its
// claim resolved, and nothing else: no copy job of the sweep's. The
// lookup's attach completes the claim with its link; a link stored
// without it (CreateLink) leaves the claim for the sweep to let go.
func TestSweepLetsGoTheClaimOfALinkedTask(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T, b *createBed, key string){
		"attached from the lookup": func(t *testing.T, b *createBed, key string) {
			if _, err := b.Bridge().Attach(t.Context(), b.alice(), b.task, key); err != nil {
				t.Fatal(err)
			}
		},
		"linked without the claim": func(t *testing.T, b *createBed, key string) {
			is, _ := b.Jira.Issue(key)
			must(t, b.Store.CreateLink(t.Context(), &store.Link{WorkspaceGID: b.Seed.Workspace, TaskGID: b.task, JiraServerID: b.Server.ID,
				IssueID: is.ID, IssueKey: key, CreatedBy: b.Users["bob"]}))
		},
	}
	for name, link := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			eachDB(t, false, func(t *testing.T, b *createBed) {
				b.interrupt(t, true)
				key := b.issues()[0]
				link(t, b, key)
				jobsBefore := len(copyJobs(t, b.Store, b.DB))
				b.lapse()
				b.sweep(t)
				if left, err := b.Store.ListUnresolvedCreations(t.Context(), b.clk.Now().Add(time.Hour), 10); err != nil || len(left) != 0 {
					t.Errorf("unresolved claims after the sweep = %+v, %v; want none", left, err)
				}
				if l := b.linked(t); l == nil || l.IssueKey != key {
					t.Errorf("the task's link = %+v, want to %s", l, key)
				}
				if n := len(copyJobs(t, b.Store, b.DB)); n != jobsBefore {
					t.Errorf("copy jobs after the sweep = %d, want the %d before", n, jobsBefore)
				}
			})
		})
	}
}

// A sweep that finds a Jira server unreachable asks it nothing more in
// that pass: the server's other claims stay as they are (not taken over,
// their expiry unchanged) for the next pass, which links them all once
// Jira answers.
func TestSweepAsksAnUnreachableJiraOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, false, func(t *testing.T, first *createBed) {
		second := first.forTask(first.NewTask(t, "Second"))
		first.interrupt(t, true)
		second.interrupt(t, true)
		_, firstExpiry, _ := first.claim(t)
		_, secondExpiry, _ := second.claim(t)
		must(t, first.Jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 503}))
		first.lapse()
		first.sweep(t)
		_, a, _ := first.claim(t)
		_, b, _ := second.claim(t)
		if moved := btoi(a.After(firstExpiry)) + btoi(b.After(secondExpiry)); moved != 1 {
			t.Fatalf("claims taken over by a sweep that found Jira down = %d, want 1 (the first asked)", moved)
		}
		must(t, first.Jira.SetFaults(fakejira.Faults{}))
		first.lapse()
		first.sweep(t)
		first.wantLinked(t)
		second.wantLinked(t)
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
