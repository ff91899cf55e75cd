package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/riverqueue/river"
)

// A create claims the creation before Jira is asked, and completes
// the claim with the link (bridge: createOnce). A process, or a database
// server, that died between Jira's create and the link left the claim
// unfinished, or marked failed by an attempt that then failed and that no
// one took over; the issue stayed unlinked until someone submitted the
// form again. The sweep (SweepCreateClaimsArgs) takes each such claim over
// once it expired (store.TakeOverIdempotencyKey: of sweeps on several
// replicas, and submits claiming anew, one works on it) and has the bridge
// finish the create (CreationFinisher): the issue found in Jira is linked,
// and its copy job enqueued; a task whose create made no issue has its
// claim let go, for the next submit to create.
//
// A claim whose user has no usable Jira credential (never connected on
// the server, disconnected, or refused by Jira) cannot be finished until
// the user connects again, which may take days: the sweep puts it off
// (awaitReconnect) rather than retry it every pass.

const (
	// createClaimSweepBatch is how many claims one read of the sweep
	// lists.
	createClaimSweepBatch = 100
	// createClaimFinishTimeout bounds one claim's finish (a search in
	// Jira and the link), well inside the claim's new expiry and the
	// sweep's own bound (defaultBound).
	createClaimFinishTimeout = 10 * time.Second
	// DefaultCreateClaimSweepInterval is how often unresolved claims are
	// swept.
	DefaultCreateClaimSweepInterval = time.Minute
	// createClaimReconnectMaxWait bounds the growing wait between two
	// attempts at a claim whose user must reconnect Jira.
	createClaimReconnectMaxWait = 6 * time.Hour
)

// CreationFinisher finishes a create whose claim its holder left
// unresolved, once the sweep took the claim over (bridge.Service).
type CreationFinisher interface {
	FinishCreation(ctx context.Context, claim store.IdempotencyKey) (*bridge.Created, error)
}

// SweepCreateClaimsArgs is the periodic job that finishes the creates
// whose claims expired unresolved.
type SweepCreateClaimsArgs struct{}

// Kind is part of the persisted contract; never change it.
func (SweepCreateClaimsArgs) Kind() string { return "sweep_create_claims" }

// SweepCreateClaimsWorker runs SweepCreateClaimsArgs.
type SweepCreateClaimsWorker struct {
	river.WorkerDefaults[SweepCreateClaimsArgs]
	q        *Queue
	finisher CreationFinisher
	now      func() time.Time
}

// Work lists the expired unresolved claims a batch at a time and finishes
// each it takes over. A claim that cannot be finished now (Jira
// unreachable or rate limiting) is left with its new expiry, after which
// the next sweep retries it, and logged once for this attempt; one whose
// user must reconnect Jira is put off (awaitReconnect).
//
// A Jira server found unreachable or rate limiting is asked nothing more
// in this pass: its other claims stay as they are, for the next.
func (w *SweepCreateClaimsWorker) Work(ctx context.Context, _ *river.Job[SweepCreateClaimsArgs]) error {
	down := map[string]bool{}
	for {
		claims, err := w.q.st.ListUnresolvedCreations(ctx, w.now(), createClaimSweepBatch)
		if err != nil {
			return err
		}
		for _, k := range claims {
			server, _, _ := bridge.CreationOf(k.Key)
			if down[server] {
				continue
			}
			unavailable, err := w.finish(ctx, k)
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if unavailable {
				down[server] = true
			}
		}
		// A claim listed is taken over (live again) or was taken by
		// someone else (live too): the next read lists others, unless
		// a server's were left.
		if len(claims) < createClaimSweepBatch || len(down) > 0 {
			return nil
		}
	}
}

// finish takes one listed claim over and has it finished; only a failure
// of the store to take it over is the sweep's error. unavailable says
// whether Jira could not be asked.
func (w *SweepCreateClaimsWorker) finish(ctx context.Context, listed store.IdempotencyKey) (unavailable bool, err error) {
	now := w.now()
	claim := listed
	claim.ExpiresAt, claim.Result = now.Add(bridge.CreateClaimTTL), nil
	taken, err := w.q.st.TakeOverIdempotencyKey(ctx, claim, listed.Result, now)
	if err != nil {
		return false, fmt.Errorf("jobs: take over the claim of an interrupted create: %w", err)
	}
	if !taken {
		return false, nil // a submit, or another sweep, has it
	}
	fctx, cancel := context.WithTimeout(ctx, createClaimFinishTimeout)
	defer cancel()
	c, err := w.finisher.FinishCreation(fctx, claim)
	if errors.Is(err, bridge.ErrNotConnected) || errors.Is(err, bridge.ErrReconnectNeeded) {
		w.awaitReconnect(ctx, listed, claim, now, err)
		return false, nil
	}
	if err != nil {
		w.q.log.LogAttrs(ctx, slog.LevelWarn, "could not finish an interrupted create; the next sweep retries it once its claim lapses",
			slog.String("claim", claim.Key), slog.String("user", claim.UserGID), slog.Any("error", err))
		return errors.Is(err, bridge.ErrJiraUnavailable) || errors.Is(err, bridge.ErrJiraRateLimited), nil
	}
	if c == nil {
		return false, nil
	}
	// As a request would once answered; the remote link was not added
	// here, so the copy job repairs it. Should this fail, the link keeps
	// its mark for sweep_link_copies.
	if _, err := w.q.claimCopies(ctx, false, claimLinkCopy(ctx, c.LinkID)); err != nil {
		w.q.log.LogAttrs(ctx, slog.LevelWarn, "could not enqueue the copy job of an interrupted create's link; the sweep of link copies will",
			slog.Int64("link", c.LinkID), slog.Any("error", err))
	}
	return false, nil
}

// awaitReconnect puts off a claim the sweep took over (taken) whose user
// has no usable Jira credential (cause): it is marked failed, awaiting a
// reconnect, with an expiry at the next attempt (store.PostponeCreation),
// as long after now as the claim is old (from CreateClaimTTL up to
// createClaimReconnectMaxWait): the wait doubles from one attempt to the
// next. The first time (the claim as listed was not awaiting a reconnect
// yet), a warning tells the administrator who must reconnect; later
// attempts log at info.
//
// This delays no submit, and keeps createOnce's reasoning whole. The
// sweep asked Jira to create nothing, so the claim stands as it lapsed:
// Jira may hold its holder's issue, named by the remote link the holder
// wrote before its request ended, long before the claim expired. "Failed"
// says just that, as a request that failed after Jira's create says it
// (releaseClaim). A submit claims over an expired failed claim, and takes
// a live one over at once (awaitCreation: one statement that finds the
// result it read), never waiting for its expiry. Either way its globalId
// search follows that remote link, so it links the holder's issue rather
// than create a second: after a take-over the search is made anew, once
// it holds the claim (the one made beside its form counts only when its
// first claim was taken, which a live claim refuses); over an expired
// claim the search beside the form is made within a request that began
// long after the holder's ended (createOnce). The expiry of a failed
// claim thus holds off the sweep alone (its listing, and its take-over
// only of a claim expired).
// The claim is put off only while the sweep holds it as it took it: one
// that a submit claimed anew after the sweep's hold lapsed is left alone,
// or marking it failed would let a second submit take it over while the
// first was between Jira's create and its remote link.
func (w *SweepCreateClaimsWorker) awaitReconnect(ctx context.Context, listed, taken store.IdempotencyKey, now time.Time, cause error) {
	wait := min(max(now.Sub(listed.CreatedAt), bridge.CreateClaimTTL), createClaimReconnectMaxWait)
	next := now.Add(wait)
	server, task, _ := bridge.CreationOf(taken.Key)
	attrs := []slog.Attr{slog.String("user", taken.UserGID), slog.String("task", task), slog.String("jira_server", server),
		slog.Time("next_attempt", next), slog.Any("error", cause)}
	held, err := w.q.st.PostponeCreation(ctx, taken, next)
	switch {
	case err != nil:
		w.q.log.LogAttrs(ctx, slog.LevelWarn, "could not put off an interrupted create whose user must reconnect Jira; the next sweep retries it once its claim lapses",
			append(attrs, slog.Any("store_error", err))...)
	case !held:
		// Taken by a submit or another sweep after this one's hold
		// lapsed: theirs now.
	case !bytes.Equal(listed.Result, store.CreationAwaitingReconnect):
		w.q.log.LogAttrs(ctx, slog.LevelWarn, fmt.Sprintf("user %s must reconnect Jira (server %s) for the interrupted create of task %s to be finished; "+
			"until then it is retried at growing intervals, up to every %d hours, for a week after the create", taken.UserGID, server, task, createClaimReconnectMaxWait/time.Hour), attrs...)
	default:
		w.q.log.LogAttrs(ctx, slog.LevelInfo, "an interrupted create still waits for its user to reconnect Jira", attrs...)
	}
}
