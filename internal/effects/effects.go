// Package effects owns how asanajira writes to Asana and Jira exactly once:
// every external write (a story on a task, a comment in Jira) goes through a
// Ledger, which follows one pattern.
//
//  1. Intent: before anything is sent, the write is recorded in the store's
//     side_effects ledger under a scope and a key that name it (for example
//     the task and the Jira comment it reports), with what it says (Digest)
//     and who makes it (Effect.Author), and leased to this attempt. Of
//     attempts racing for one write (two webhook deliveries of one change, a
//     job retried on another replica) exactly one holds the lease; the others
//     get ErrBusy and try again later.
//  2. Write: the write is made so that a later attempt can tell it on the
//     other side (see Write), with nothing people see: a Jira comment
//     carries its fingerprint as the entity property "asanajira", sent in
//     the request that creates it (JiraComment); an Asana story, where Asana
//     keeps no hidden data, is known by what it must look like (AsanaStory):
//     a comment by the acting user, made no earlier than the intent, saying
//     what the intent says, and not the recorded result of another write to
//     the same task.
//  3. Completion: once made, the write is marked done with its result (the
//     story gid, the comment id). Every later attempt sees "done" and writes
//     nothing.
//
// An attempt that fails or dies between 1 and 3 leaves the write pending.
// The next attempt to take the lease (at once after a failure the attempt
// saw, after the lease lapsed after a crash) first looks for the write on
// the other side (Find, with the Lookup the ledger gives) and records what
// it finds instead of writing again. An attempt that created the intent
// itself skips the look: nothing can be that write yet. A write that is no
// longer wanted (what it reported is gone) is settled instead (Settle):
// recorded with what an earlier attempt made, or as dropped.
//
// The ledger is also how asanajira knows its own items on a task or an
// issue without marking them: a story or comment recorded as the result of
// a write to its target is asanajira's (store.SideEffectResultRecorded,
// ListSideEffectsByTarget), and while a write is pending, an item by its
// author saying what it says may be it.
//
// Windows left: a request still in flight when its lease lapses and another
// attempt has looked and written (the Ledger bounds each attempt's work to
// three quarters of its lease, so this needs a write the other side keeps
// processing after asanajira gave up on it for a quarter of a lease, 15 s by
// default); and, on a Jira that drops the properties of a new comment, a
// crash between creating the comment and setting its property.
package effects

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	// Target says where the write goes ("asana:task:123"): the results of
	// the writes to a target are asanajira's own items there, so every
	// writer to one task or issue names it alike.
	Target string
	// Author is the Asana user whose account makes the write (in Asana as
	// that user; in Jira with their Jira credential), recorded with the
	// intent.
	Author string
}

func (e Effect) String() string { return e.Scope + "/" + e.Key }

// Fingerprint names the write where the other side keeps hidden data (a
// Jira comment's property): 16 hex digits of SHA-256 over scope and key,
// stable across attempts and processes.
func (e Effect) Fingerprint() string {
	sum := sha256.Sum256([]byte(e.Scope + "\x00" + e.Key))
	return hex.EncodeToString(sum[:8])
}

// ClockSkew is how far the other side's clock may be behind the ledger's:
// an item made up to this long before a write's intent was recorded may
// still be that write.
const ClockSkew = 2 * time.Minute

// Lookup is what the ledger knows of a pending write when an attempt looks
// for it on the other side.
type Lookup struct {
	// Fingerprint is derived from the write's scope and key (see
	// Effect.Fingerprint).
	Fingerprint string
	// IntendedAt is when the write's intent was first recorded (the
	// ledger's clock); nothing made before it (less ClockSkew) is the write.
	IntendedAt time.Time
	// Digest is what the write said when its intent was first recorded
	// (Digest of its text), "" for an intent recorded before digests were
	// kept. An earlier attempt may have said it although the text to write
	// changed since (an edited comment, a status that moved on).
	Digest string
	// Taken reports whether result (a story gid) is the recorded result of
	// another write to the same target already; such an item is not this
	// write, even when it says the same.
	Taken func(ctx context.Context, result string) (bool, error)
}

// taken is l.Taken, false when there is none.
func (l Lookup) taken(ctx context.Context, result string) (bool, error) {
	if l.Taken == nil {
		return false, nil
	}
	return l.Taken(ctx, result)
}

// Finder looks on the other side for a write an earlier attempt made.
type Finder interface {
	// Find looks for the write and returns its result (the story gid, the
	// comment id) when found.
	Find(ctx context.Context, lk Lookup) (result string, found bool, err error)
}

// Write is one write to the other side. AsanaStory and JiraComment are in
// this package.
type Write interface {
	Finder
	// Digest is what the write says (Digest of its text), recorded with
	// its intent.
	Digest() string
	// Make performs the write, so that Find recognises it (carrying
	// fingerprint where the other side keeps hidden data), and returns its
	// result.
	Make(ctx context.Context, fingerprint string) (result string, err error)
}

// Digest is what a text says, as the ledger keeps it and Find compares it:
// 16 hex digits of SHA-256 over its words, so whitespace the other side
// changed does not count.
func Digest(text string) string {
	sum := sha256.Sum256([]byte(strings.Join(strings.Fields(text), " ")))
	return hex.EncodeToString(sum[:8])
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
	// Dropped: a write settled as no longer wanted that no earlier attempt
	// had made; it is recorded done without a result and never made.
	Dropped
)

func (h How) String() string {
	switch h {
	case Made:
		return "made"
	case Found:
		return "found"
	case Recorded:
		return "recorded"
	case Dropped:
		return "dropped"
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
	SideEffectResultRecorded(ctx context.Context, target, result string) (bool, error)
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
	return l.attempt(ctx, e, w.Digest(), w, func(ctx context.Context) (Outcome, error) {
		res, err := w.Make(ctx, e.Fingerprint())
		if err != nil {
			return Outcome{}, fmt.Errorf("effects: write %s to %s: %w", e, e.Target, err)
		}
		return Outcome{Result: res, How: Made}, nil
	})
}

// Settle ends a write that is no longer wanted (what it was to report is
// gone): when an earlier attempt made it, its result is recorded (Found);
// otherwise it is recorded done without a result (Dropped), so that no
// attempt makes it. A write done already is left as it is (Recorded). It
// returns ErrBusy while another attempt holds the write.
func (l *Ledger) Settle(ctx context.Context, e Effect, f Finder) (Outcome, error) {
	return l.attempt(ctx, e, "", f, func(context.Context) (Outcome, error) {
		return Outcome{How: Dropped}, nil
	})
}

// attempt is one attempt at e: it takes the write's lease (recording its
// intent, saying digest, when new), looks for an earlier attempt's write
// when there may be one, else ends it with otherwise, and records the
// outcome.
func (l *Ledger) attempt(ctx context.Context, e Effect, digest string, f Finder, otherwise func(context.Context) (Outcome, error)) (Outcome, error) {
	holder := newHolder()
	rec, err := l.claim(ctx, e, digest, holder)
	if err != nil {
		return Outcome{}, err
	}
	if rec.State == store.SideEffectDone {
		return Outcome{Result: rec.Result, How: Recorded}, nil
	}

	// Work only while the lease is surely ours.
	wctx, cancel := context.WithTimeout(ctx, l.lease*3/4)
	defer cancel()
	found := false
	var out Outcome
	if rec.Attempts > 1 {
		var res string
		if res, found, err = l.find(wctx, e, rec, f); err != nil {
			l.release(ctx, e, holder)
			return Outcome{}, err
		}
		out = Outcome{Result: res, How: Found}
	}
	if !found {
		if out, err = otherwise(wctx); err != nil {
			l.release(ctx, e, holder)
			return Outcome{}, err
		}
	}
	if err := l.complete(ctx, e, holder, out.Result); err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// claim records the intent of e, or takes the lease of its pending intent;
// a done write is returned as it is.
func (l *Ledger) claim(ctx context.Context, e Effect, digest, holder string) (store.SideEffect, error) {
	rec, err := l.st.ClaimSideEffect(ctx, store.SideEffectClaim{Scope: e.Scope, Key: e.Key, Fingerprint: e.Fingerprint(),
		Target: e.Target, Digest: digest, Author: e.Author, Holder: holder, Lease: l.lease, Keep: l.keep})
	if errors.Is(err, store.ErrConflict) {
		return rec, &BusyError{Effect: e, Until: rec.LeaseUntil}
	}
	if err != nil {
		return rec, fmt.Errorf("effects: record the intent of %s: %w", e, err)
	}
	return rec, nil
}

// find looks for the write of the pending intent rec on the other side.
func (l *Ledger) find(ctx context.Context, e Effect, rec store.SideEffect, f Finder) (string, bool, error) {
	lk := Lookup{Fingerprint: rec.Fingerprint, IntendedAt: rec.CreatedAt, Digest: rec.Digest,
		Taken: func(ctx context.Context, result string) (bool, error) {
			return l.st.SideEffectResultRecorded(ctx, e.Target, result)
		}}
	if lk.Fingerprint == "" {
		lk.Fingerprint = e.Fingerprint()
	}
	res, found, err := f.Find(ctx, lk)
	if err != nil {
		return "", false, fmt.Errorf("effects: look for %s (%s) on %s: %w", e, lk.Fingerprint, e.Target, err)
	}
	return res, found, nil
}

// complete records the write as done with its result.
func (l *Ledger) complete(ctx context.Context, e Effect, holder, result string) error {
	// Record on a context of its own: the write is out, and a cancelled
	// caller (a job timing out, a shutdown) should not make the next attempt
	// look for it.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	err := l.st.CompleteSideEffect(rctx, e.Scope, e.Key, holder, result)
	switch {
	case errors.Is(err, store.ErrConflict):
		// The lease lapsed while writing and another attempt took over; it
		// looks for this write before making its own.
		l.log.WarnContext(ctx, "a write outlived its lease; the attempt that took over looks for it", slog.String("effect", e.String()))
	case err != nil:
		return fmt.Errorf("effects: record %s as done (the next attempt looks for it first): %w", e, err)
	}
	return nil
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
