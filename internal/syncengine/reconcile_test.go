package syncengine_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
)

// A change whose webhook Jira never delivered is found by reconciliation:
// the search of the link owner's projects records a "reconcile" change,
// the run writes what the webhook would have caused, and the catch is
// counted. A change whose webhook did arrive is not recorded again by
// reconciliation: the delivery's run read the issue after it.
func TestReconciliationCatchesADroppedWebhook(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e := synctest.New(t, synctest.Options{DB: db})
		ctx := t.Context()
		e.Sync(t)
		// The first pass sets the server's cursor.
		if _, err := e.Engine.ReconcileJira(ctx); err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		catches := func() float64 { return metric(t, e, "asanajira_sync_reconcile_catches_total", nil) }
		base := catches()

		// A comment whose webhook arrives: reconciliation catches nothing.
		if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Delivered.", nil); err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		res, err := e.Engine.ReconcileJira(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Seen == 0 || res.Recorded != 0 {
			t.Fatalf("reconciliation after a delivered webhook = %+v, want the issue seen and nothing recorded", res)
		}
		e.Sync(t)
		if catches() != base || e.StoriesWith("Delivered.") != 1 {
			t.Fatalf("catches %v → %v, %d stories; want no catch and one story", base, catches(), e.StoriesWith("Delivered."))
		}

		// Jira cannot reach the bridge (the emulator's drop_webhooks fault):
		// a comment and a move to Done arrive only through reconciliation.
		if err := e.Jira.SetFaults(fakejira.Faults{DropWebhooks: true}); err != nil {
			t.Fatal(err)
		}
		before := len(e.Changes(t))
		if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Never delivered.", nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Jira.TransitionIssue("DEMO-1", "Done", "bob"); err != nil {
			t.Fatal(err)
		}
		if len(e.Changes(t)) != before {
			t.Fatal("a dropped delivery was recorded")
		}
		res, err = e.Engine.ReconcileJira(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Recorded != 1 {
			t.Fatalf("reconciliation recorded %d changes, want 1 (the issue updated since the last pass): %+v", res.Recorded, res)
		}
		if c := e.Changes(t)[0]; c.Source != "reconcile" || c.Side != syncengine.SideJira {
			t.Fatalf("recorded %+v", c)
		}
		if n := e.Sync(t); n != 2 {
			t.Fatalf("the reconciled run wrote %d times, want the story and the completion", n)
		}
		if e.StoriesWith("Never delivered.") != 1 || !e.Asana.Task(e.Link.TaskGID).Completed {
			t.Fatal("the missed changes did not reach the task")
		}
		if catches() != base+1 {
			t.Fatalf("catches %v → %v, want one more", base, catches())
		}
		// The same window searched again records nothing new.
		if res, err := e.Engine.ReconcileJira(ctx); err != nil || res.Recorded != 0 {
			t.Fatalf("a second pass recorded %d changes (%v), want none", res.Recorded, err)
		}
	})
}

// The reconciliation's search runs as each link owner, in their time zone:
// Jira reads JQL dates in the caller's zone, so the cursor is written in
// it. An owner who must connect again is skipped (their links show it);
// the cursor moves on.
func TestReconciliationSearchesAsTheOwner(t *testing.T) {
	t.Parallel()
	e := synctest.New(t, synctest.Options{})
	ctx := t.Context()
	if _, err := e.Engine.ReconcileJira(ctx); err != nil {
		t.Fatal(err)
	}
	cursor, err := e.Store.GetSyncCursor(ctx, "jira-reconcile:"+e.Server.ID)
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339Nano, cursor)
	if err != nil || time.Since(at) > time.Minute {
		t.Fatalf("cursor %q (%v), want about now", cursor, err)
	}
	e.DisconnectJira(t, "alice")
	if _, err := e.Engine.ReconcileJira(ctx); err != nil {
		t.Fatalf("a pass whose only owner must connect again: %v", err)
	}
	next, _ := e.Store.GetSyncCursor(ctx, "jira-reconcile:"+e.Server.ID)
	if next == cursor || !strings.Contains(next, "T") {
		t.Fatalf("the cursor did not move: %q → %q", cursor, next)
	}
}

// metric sums the series of a metric in the bench's registry whose labels
// include want.
func metric(t *testing.T, e *synctest.Env, name string, want map[string]string) float64 {
	t.Helper()
	return synctest.Metric(t, e.Metrics, name, want)
}

// observedChecks counts the engine's reads of whether a change was told.
type observedChecks struct {
	store.Store
	n atomic.Int64
}

func (o *observedChecks) SyncChangeObservedSince(ctx context.Context, linkID int64, side string, at time.Time, sources ...string) (bool, error) {
	o.n.Add(1)
	return o.Store.SyncChangeObservedSince(ctx, linkID, side, at, sources...)
}

// The searches of passes close together return the same updates: a pass
// reads the store only for an update no earlier pass of the process
// handled, and still records an update whose webhook was lost.
func TestReconciliationReadsAnUpdateOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e, checks := withEngineStore(t, db, func(st store.Store) *observedChecks { return &observedChecks{Store: st} })
		ctx := t.Context()
		pass := func(want syncengine.ReconcileResult, wantChecks int64) {
			t.Helper()
			checks.n.Store(0)
			res, err := e.Engine.ReconcileJira(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, res); diff != "" || checks.n.Load() != wantChecks {
				t.Fatalf("pass (-want +got):\n%s\nstore read %d times, want %d", diff, checks.n.Load(), wantChecks)
			}
		}
		if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Delivered.", nil); err != nil {
			t.Fatal(err)
		}
		e.Sync(t)
		pass(syncengine.ReconcileResult{Servers: 1, Seen: 1}, 1)
		pass(syncengine.ReconcileResult{Servers: 1, Seen: 1}, 0)

		if err := e.Jira.SetFaults(fakejira.Faults{DropWebhooks: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.JiraAs(t, "bob").AddComment(ctx, "DEMO-1", "Never delivered.", nil); err != nil {
			t.Fatal(err)
		}
		pass(syncengine.ReconcileResult{Servers: 1, Seen: 1, Recorded: 1}, 1)
		pass(syncengine.ReconcileResult{Servers: 1, Seen: 1}, 0)
		e.Sync(t)
		if e.StoriesWith("Never delivered.") != 1 {
			t.Fatal("the missed comment did not reach the task")
		}
	})
}
