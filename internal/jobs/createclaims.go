package jobs

import (
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
// unreachable or rate limiting, the user's credentials gone) is left with
// its new expiry, after which the next sweep retries it, and logged once
// for this attempt.
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
