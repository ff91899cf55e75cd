package jobs

import (
	"errors"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/riverqueue/river"
)

// Bounds of a snooze while another attempt makes the same write: long
// enough not to spin, short enough to finish soon after that attempt.
const (
	minBusySnooze = time.Second
	maxBusySnooze = time.Minute
)

// outcome tells river what to do with a job whose rule returned err, the
// same way for every job that calls Jira and Asana for a user:
//   - the user must connect (again), or Jira refuses them the issue: cancel,
//     since retrying cannot help (a credential Jira or Asana refused is
//     flagged for reconnection by the rule and the credentials, and the
//     widget asks the user; a refused copy is told on the task);
//   - Jira or Asana rate limiting with a Retry-After: snooze that long;
//   - another attempt is making the same write (effects.ErrBusy): snooze
//     until its lease ends;
//   - anything else: fail, and river retries with its backoff.
func outcome(err error) error {
	var (
		je   *jira.Error
		ae   *asana.Error
		busy *effects.BusyError
	)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bridge.ErrNotConnected), errors.Is(err, bridge.ErrReconnectNeeded), errors.Is(err, bridge.ErrNoAccess):
		return river.JobCancel(err)
	case errors.Is(err, jira.ErrRateLimited) && errors.As(err, &je) && je.RetryAfter > 0:
		return river.JobSnooze(je.RetryAfter)
	case errors.Is(err, asana.ErrRateLimited) && errors.As(err, &ae) && ae.RetryAfter > 0:
		return river.JobSnooze(ae.RetryAfter)
	case errors.As(err, &busy):
		return river.JobSnooze(min(max(time.Until(busy.Until), minBusySnooze), maxBusySnooze))
	}
	return err
}
