package jobs

import (
	"context"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/riverqueue/river"
)

// CleanupArgs is the periodic job that deletes expired one-time auth states
// and idempotency keys.
type CleanupArgs struct{}

// Kind is part of the persisted contract; never change it.
func (CleanupArgs) Kind() string { return "cleanup_expired" }

// CleanupWorker runs CleanupArgs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	Store store.Store
	Now   func() time.Time
}

// Work deletes what expired; running it twice is harmless.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	_, err := w.Store.DeleteExpired(ctx, w.Now())
	return err
}
