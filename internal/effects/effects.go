// Package effects owns how asanajira writes to Asana and Jira exactly once:
// every external write (a story on a task, a comment or a transition in
// Jira, completing a task) goes through a Ledger, which follows one pattern.
//
//  1. Intent: before anything is sent, the write is recorded in the store's
//     side_effects ledger under a scope and a key that name it (for example
//     the task and the Jira comment it reports), and leased to this attempt.
//     Of attempts racing for one write (two webhook deliveries of one change,
//     a job retried on another replica) exactly one holds the lease; the
//     others get ErrBusy and try again later.
//  2. Write: the write carries a fingerprint derived from scope and key that
//     the other side keeps (see Write): a marker line in an Asana story
//     (AsanaStory), an entity property and the same line on a Jira comment
//     (JiraComment), or simply the target state for a write that sets a
//     state (a transition, completing a task).
//  3. Completion: once made, the write is marked done with its result (the
//     story gid, the comment id). Every later attempt sees "done" and writes
//     nothing.
//
// An attempt that fails or dies between 1 and 3 leaves the write pending.
// The next attempt to take the lease (at once after a failure the attempt
// saw, after the lease lapsed after a crash) first looks for the fingerprint
// on the other side and records what it finds instead of writing again. An
// attempt that created the intent itself skips the look: nothing can carry
// a fingerprint whose intent did not exist yet.
//
// The only window left is a request still in flight when its lease lapses
// and another attempt has looked and written; the Ledger bounds each
// attempt's work to three quarters of its lease, so this needs a write that
// the other side keeps processing after asanajira gave up on it for a
// quarter of a lease (15 s by default).
package effects

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// ErrBusy matches a *BusyError: another attempt holds the write's lease.
var ErrBusy = errors.New("effects: another attempt is making this write")

// BusyError says which write is busy and until when its lease runs at the
// latest; a job retries after it.
type BusyError struct {
	Effect Effect
	Until  time.Time
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("effects: %s is being made by another attempt (lease until %s)", e.Effect, e.Until.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Effect names one external write.
type Effect struct {
	// Scope is the kind of write, e.g. "jira-event-story"; Key tells which
	// one within the scope (it may be a hash). Together they are the write's
	// identity: one scope and key are written once, ever.
	Scope string
	Key   string
	// Target says where the write goes ("asana:task:123"), for people
	// reading the ledger.
	Target string
}

func (e Effect) String() string { return e.Scope + "/" + e.Key }

// Fingerprint is what the write carries to the other side: 16 hex digits
// of SHA-256 over scope and key, stable across attempts and processes.
func (e Effect) Fingerprint() string {
	sum := sha256.Sum256([]byte(e.Scope + "\x00" + e.Key))
	return hex.EncodeToString(sum[:8])
}

// Write is one write to the other side. AsanaStory and JiraComment are in
// this package; the sync engine adds its own (transitions, task
// completion) the same way, where Find may read the state Make would set.
type Write interface {
	// Find looks on the other side for this write made by an earlier
	// attempt, by the fingerprint it carries, and returns its result (the
	// story gid, the comment id) when found. A write that sets a state may
	// report the state already being there as found.
	Find(ctx context.Context, fingerprint string) (result string, found bool, err error)
	// Make performs the write, carrying fingerprint so that Find recognises
	// it, and returns its result.
	Make(ctx context.Context, fingerprint string) (result string, err error)
}

// How tells how Apply came to its outcome.
type How int

// The ways a write ends up done.
const (
	// Made: this attempt wrote.
	Made How = iota + 1
	// Found: an earlier attempt had written without recording it; this one
	// found the fingerprint on the other side and recorded it.
	Found
	// Recorded: the ledger already had the write done; nothing was sent.
	Recorded
)

func (h How) String() string {
	switch h {
	case Made:
		return "made"
	case Found:
		return "found"
	case Recorded:
		return "recorded"
	}
	return "unknown"
}

// Outcome is a write that is done.
type Outcome struct {
	Result string
	How    How
}

// Store is the ledger's storage; store.Store implements it.
type Store interface {
	ClaimSideEffect(ctx context.Context, c store.SideEffectClaim) (store.SideEffect, error)
	CompleteSideEffect(ctx context.Context, scope, key, holder, result string) error
	ReleaseSideEffect(ctx context.Context, scope, key, holder string) error
}

// Options tune a Ledger; zero values are the defaults.
type Options struct {
	// Lease is how long one attempt may take over a write before another
	// attempt may take it over (default 1 minute). Each attempt's Find and
	// Make run with a deadline of three quarters of it.
	Lease time.Duration
	// Keep is how long a write is remembered after its last change
	// (default 30 days, beyond river's last retry of a job).
	Keep time.Duration
	// Log receives a line when an attempt loses its lease while writing.
	Log *slog.Logger
}

// Ledger makes writes exactly once. It is safe for concurrent use.
type Ledger struct {
	st    Store
	lease time.Duration
	keep  time.Duration
	log   *slog.Logger
}

// NewLedger returns a Ledger keeping its records in st.
func NewLedger(st Store, o Options) *Ledger {
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Keep <= 0 {
		o.Keep = 30 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Ledger{st: st, lease: o.Lease, keep: o.Keep, log: o.Log}
}

// Apply makes the write e once: it records the intent, looks for an earlier
// attempt's write when there may be one, writes when there is none, and
// records completion. It returns ErrBusy (a *BusyError) while another
// attempt holds the write; errors of Find and Make are returned wrapped, and
// the write stays pending for the next attempt.
func (l *Ledger) Apply(ctx context.Context, e Effect, w Write) (Outcome, error) {
	holder := newHolder()
	fp := e.Fingerprint()
	rec, err := l.st.ClaimSideEffect(ctx, store.SideEffectClaim{Scope: e.Scope, Key: e.Key, Fingerprint: fp,
		Target: e.Target, Holder: holder, Lease: l.lease, Keep: l.keep})
	if errors.Is(err, store.ErrConflict) {
		return Outcome{}, &BusyError{Effect: e, Until: rec.LeaseUntil}
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("effects: record the intent of %s: %w", e, err)
	}
	if rec.State == store.SideEffectDone {
		return Outcome{Result: rec.Result, How: Recorded}, nil
	}

	// Work only while the lease is surely ours.
	wctx, cancel := context.WithTimeout(ctx, l.lease*3/4)
	defer cancel()
	out := Outcome{How: Made}
	if rec.Attempts > 1 {
		res, found, err := w.Find(wctx, fp)
		if err != nil {
			l.release(ctx, e, holder)
			return Outcome{}, fmt.Errorf("effects: look for %s (%s) on %s: %w", e, fp, e.Target, err)
		}
		if found {
			out = Outcome{Result: res, How: Found}
		}
	}
	if out.How == Made {
		res, err := w.Make(wctx, fp)
		if err != nil {
			l.release(ctx, e, holder)
			return Outcome{}, fmt.Errorf("effects: write %s to %s: %w", e, e.Target, err)
		}
		out.Result = res
	}
	// Record on a context of its own: the write is out, and a cancelled
	// caller (a job timing out, a shutdown) should not make the next attempt
	// look for it.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	err = l.st.CompleteSideEffect(rctx, e.Scope, e.Key, holder, out.Result)
	switch {
	case errors.Is(err, store.ErrConflict):
		// The lease lapsed while writing and another attempt took over; it
		// looks for this write before making its own.
		l.log.WarnContext(ctx, "a write outlived its lease; the attempt that took over looks for it", slog.String("effect", e.String()))
	case err != nil:
		return Outcome{}, fmt.Errorf("effects: record %s as done (the next attempt looks for it first): %w", e, err)
	}
	return out, nil
}

// release ends the lease after a failed attempt, so the next one need not
// wait for it to lapse; best effort, as the lease lapses anyway.
func (l *Ledger) release(ctx context.Context, e Effect, holder string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := l.st.ReleaseSideEffect(rctx, e.Scope, e.Key, holder); err != nil {
		l.log.DebugContext(ctx, "could not release a write's lease; it lapses on its own", slog.String("effect", e.String()), slog.Any("error", err))
	}
}

// newHolder names one attempt.
func newHolder() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}
