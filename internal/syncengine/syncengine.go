// Package syncengine owns asanajira's two-way sync between a linked Asana
// task and Jira issue: which change on one side becomes which write on the
// other, who the write is made as, how the engine recognises its own writes,
// and how every write is made exactly once. Its rules:
//
//   - Intake is recorded, never applied on the spot. An intake (the Jira
//     webhook job, Jira reconciliation, the Asana events poller and webhook
//     receiver) calls Record or RecordTx with a Change; the change is stored
//     once per (link, side, dedup key) and a sync_link job for the link is
//     enqueued in the same transaction. Only links whose connection has sync
//     enabled record anything.
//   - A sync run is per link and one at a time: SyncLink takes the link's
//     lease (sync_link_state), so runs of one link never overlap, on any
//     replica, and changes of a link are applied in order. A run that finds
//     the lease taken returns a *LeaseHeldError and its job snoozes.
//   - A run compares state, it does not replay events: it reads the issue,
//     its comments, the task and its stories as they are now, and writes the
//     differences. A lost, duplicated or reordered delivery cannot make it
//     wrong; it only decides when a run happens. Every change the run saw is
//     then marked with an outcome: applied (the run wrote something the change
//     asked for), echo (the change was the engine's own write coming back),
//     noop or error.
//   - The first run of a link takes its baseline: comments written before sync
//     was enabled for the connection (or before the link, if later) are
//     recorded as pre-existing and never mirrored, and the task's completion
//     and the issue's done-ness as they are.
//   - Comments. A Jira comment becomes a story on the task, and a comment
//     story (resource_subtype comment_added; never a system story) becomes a
//     Jira comment. Each is written as its author when that person has
//     connected their account on the other side (Jira user name ↔ the Asana
//     user whose Jira credential has that user name on the server);
//     otherwise as the link's owner, starting with "<Name> in Jira:" /
//     "<Name> in Asana:". A Jira comment restricted to a group or role
//     (visibility) is never mirrored, and the mirror of one that becomes
//     restricted is deleted (nothing of it stays on the task); a comment
//     that comes into view later (its restriction lifted) is mirrored then,
//     as a new story each time, as is a story that gets its text later.
//     Edits follow both ways (an edit is written as
//     the author of the item it changes; when that person has no connected
//     account the edit stays on its side and the history says so); when both
//     sides were edited since the last run the later edit wins on both. When
//     an original is deleted its mirror is deleted; a deleted mirror is not
//     written again and leaves its original alone.
//   - Echoes. asanajira's own stories and comments (mirrors, status notes,
//     copy reports, refusal notes) carry nothing people see, and are never
//     mirrored. The engine knows them by, in turn: (1) the comment map
//     (sync_comments: Jira comment id ↔ story gid, with a digest of both
//     texts as last written, so a mirror's own change coming back is no
//     change; items known otherwise are mapped too, as asanajira's, so they
//     stay known); (2) the effects ledger: an item recorded as the result of
//     any write to the link's task or issue is asanajira's (read after
//     both sides); (3) the Jira comment property "asanajira"; and, from before
//     fingerprints became invisible, the line "asanajira ref …" ending a
//     story or comment. (4) Pending writes: while the ledger has a write to
//     the task or the issue that is not recorded yet (made, perhaps, by an
//     attempt that died or lost its answer), a new item on that side that
//     may be it (by the write's author, made no earlier than its intent
//     less effects.ClockSkew, saying what it says) is not taken for a
//     person's comment: it is left, with its recorded change, for a later
//     run (the run asks to run again after a delay growing with the
//     write's age, at most a minute) until the write is recorded. The
//     engine settles its own pending mirror writes whose original is gone,
//     so they hold nothing up; only writes pending before the run read
//     both sides (one more read of the ledger), since the original of a
//     later one, begun by a run that took the link over after this one's
//     lease lapsed, may be newer than what this run saw.
//   - Completion ↔ status category. The task's completion and whether the
//     issue's status is in the done category are kept per side as last seen
//     or written. A side that changed is made to win on the other: completing
//     the task moves the issue through a transition to a done status (the
//     connection's choice by name when several, else the first), reopening it
//     through one to a to-do or in-progress status, acting as the Asana user
//     who changed it when connected to Jira, else as the link's owner; an
//     issue entering or leaving done completes or reopens the task as the
//     Asana user connected as the Jira user who moved it, else as the owner.
//     When no transition is allowed the link shows a sync error (the widget,
//     the console), it is not skipped silently. When both sides changed to
//     different values the later change wins on both; a value equal to what
//     the engine wrote is an echo. Both writes are idempotent by state: the
//     run reads first and writes only what is still needed.
//   - Exactly once. Comment writes go through internal/effects: a durable
//     intent (with what the write says and who makes it), the write, then
//     completion; a retry looks for an earlier attempt's write before
//     writing again: a Jira comment by its "asanajira" property
//     {"fingerprint"}, sent in the create request so comment and fingerprint
//     are stored together; a story by what it must look like (the writer's
//     comment, made after the intent, saying what the intent said, not
//     recorded for another write).
//   - Reconciliation. ReconcileJira searches each Jira server, as each link
//     owner in their own time zone and with their own rights, for issues of
//     the linked projects updated since its stored cursor minus a safety
//     margin, and records a "reconcile" change for each linked one: a webhook
//     Jira never sent is caught within one interval.
//
// The package serves no HTTP and knows nothing of the job queue: Record
// enqueues through an Enqueuer that internal/jobs implements.
package syncengine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Directions of a sync write, in metrics and history.
const (
	JiraToAsana = "jira_to_asana"
	AsanaToJira = "asana_to_jira"
)

// Outcomes of a recorded change.
const (
	OutcomeApplied = "applied"
	OutcomeEcho    = "echo"
	OutcomeNoop    = "noop"
	OutcomeError   = "error"
)

// Invalidator drops cached views of an issue after the engine changed it
// (bridge.Service implements it for the widget).
type Invalidator interface {
	InvalidateIssue(serverID, issueKey string)
}

// Config configures an Engine.
type Config struct {
	Store store.Store
	// Clients gives each user's own Jira and Asana clients; errors match
	// bridge.ErrNotConnected or bridge.ErrReconnectNeeded.
	Clients bridge.Clients
	// Enqueuer enqueues sync_link jobs for Record.
	Enqueuer Enqueuer
	// Invalidator, when set, is told about every issue the engine wrote to.
	Invalidator Invalidator
	Log         *slog.Logger
	// Metrics registers the sync metrics (nil: not registered).
	Metrics prometheus.Registerer
	// Lease is how long a run holds its link before another run may take it
	// over; the holder renews it before every write (default 30 s).
	Lease time.Duration
	// WriteLease is the lease of one external write in the effects ledger
	// (default 20 s): after a crash, the write is looked for after it.
	WriteLease time.Duration
	// MaxWrites bounds the writes of one run; a run with more to do asks to
	// run again (default 25).
	MaxWrites int
	// ReconcileMargin is subtracted from the reconciliation cursor (default
	// 2 min): Jira's search index lags, and clocks differ.
	ReconcileMargin time.Duration
	// ReconcileLookback is how far back the first reconciliation of a
	// server looks (default 1 h).
	ReconcileLookback time.Duration
	// AsanaUploadLimit is the largest Jira attachment uploaded to Asana
	// (default asana.UploadLimit, 100 MB); a larger one is linked.
	AsanaUploadLimit int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Engine is the sync engine. It is safe for concurrent use.
type Engine struct {
	st        store.Store
	clients   bridge.Clients
	enq       Enqueuer
	inval     Invalidator
	log       *slog.Logger
	ledger    *effects.Ledger
	metrics   *metrics
	lease     time.Duration
	maxWrites int
	margin    time.Duration
	lookback  time.Duration
	now       func() time.Time
	// writeLease and uploadLimit are for the copy of attachments.
	writeLease  time.Duration
	uploadLimit int64
	// handled is what reconciliation handled, by server (reconcile.go).
	handledMu sync.Mutex
	handled   map[string]*handled
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Clients == nil {
		return nil, errors.New("syncengine: a store and clients are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	testLeases(&cfg)
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.WriteLease <= 0 {
		cfg.WriteLease = 20 * time.Second
	}
	if cfg.MaxWrites <= 0 {
		cfg.MaxWrites = 25
	}
	if cfg.ReconcileMargin <= 0 {
		cfg.ReconcileMargin = 2 * time.Minute
	}
	if cfg.ReconcileLookback <= 0 {
		cfg.ReconcileLookback = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AsanaUploadLimit <= 0 {
		cfg.AsanaUploadLimit = asana.UploadLimit
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Engine{
		st: cfg.Store, clients: cfg.Clients, enq: cfg.Enqueuer, inval: cfg.Invalidator, log: cfg.Log,
		ledger:  effects.NewLedger(cfg.Store, effects.Options{Lease: cfg.WriteLease, Log: cfg.Log}),
		metrics: m, lease: cfg.Lease, maxWrites: cfg.MaxWrites, margin: cfg.ReconcileMargin,
		lookback: cfg.ReconcileLookback, now: cfg.Now, writeLease: cfg.WriteLease, uploadLimit: cfg.AsanaUploadLimit,
		handled: map[string]*handled{},
	}, nil
}

// ErrLeaseHeld matches a *LeaseHeldError.
var ErrLeaseHeld = errors.New("syncengine: another run is syncing this link")

// LeaseHeldError says that another run holds the link, until when at most.
type LeaseHeldError struct {
	LinkID int64
	Until  time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("syncengine: link %d is being synced by another run (lease until %s)", e.LinkID, e.Until.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLeaseHeld) true.
func (e *LeaseHeldError) Is(target error) bool { return target == ErrLeaseHeld }

// errLeaseLost stops a run whose lease another run took over (it ran past
// its lease, e.g. on a stalled database).
var errLeaseLost = errors.New("syncengine: the link's lease was taken over by another run")

// SyncError is a failure people must act on (a missing Jira permission, a
// workflow without a fitting transition). It is shown on the link, and the
// changes it concerns are marked "error" instead of being retried.
type SyncError struct {
	Msg string
	Err error
}

func (e *SyncError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *SyncError) Unwrap() error { return e.Err }
