package jobs

import (
	"context"
	"time"
)

// SweepCreateClaims runs one pass of the sweep_create_claims job on q, at
// the time now tells, as a worker of another replica would: tests run it
// at a time of their choosing, and several at once.
func SweepCreateClaims(ctx context.Context, q *Queue, finisher CreationFinisher, now func() time.Time) error {
	w := &SweepCreateClaimsWorker{q: q, finisher: finisher, now: now}
	return w.Work(ctx, nil)
}
