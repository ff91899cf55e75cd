package syncengine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
)

// writerTurns counts the engine's writes that take the database's writer
// each on their own: a transaction, or a write of the run's state, lease,
// fields, history, changes or ledger outside one (those inside a
// transaction go through its store.Tx and are not counted again). On
// SQLite each is a turn on the one writer that requests wait for.
type writerTurns struct {
	store.Store
	n atomic.Int64
}

func (w *writerTurns) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	w.n.Add(1)
	return w.Store.InTx(ctx, fn)
}

func (w *writerTurns) AcquireSyncLease(ctx context.Context, linkID int64, owner string, ttl time.Duration) (store.SyncLinkState, error) {
	w.n.Add(1)
	return w.Store.AcquireSyncLease(ctx, linkID, owner, ttl)
}

func (w *writerTurns) ReleaseSyncLease(ctx context.Context, linkID int64, owner string) error {
	w.n.Add(1)
	return w.Store.ReleaseSyncLease(ctx, linkID, owner)
}

func (w *writerTurns) SaveSyncLinkState(ctx context.Context, s store.SyncLinkState, owner string) error {
	w.n.Add(1)
	return w.Store.SaveSyncLinkState(ctx, s, owner)
}

func (w *writerTurns) PutSyncFieldState(ctx context.Context, s store.SyncFieldState) error {
	w.n.Add(1)
	return w.Store.PutSyncFieldState(ctx, s)
}

func (w *writerTurns) AppendSyncHistory(ctx context.Context, h store.SyncHistory) error {
	w.n.Add(1)
	return w.Store.AppendSyncHistory(ctx, h)
}

func (w *writerTurns) FinishSyncChange(ctx context.Context, id int64, outcome, errText string) error {
	w.n.Add(1)
	return w.Store.FinishSyncChange(ctx, id, outcome, errText)
}

func (w *writerTurns) ClaimSideEffect(ctx context.Context, c store.SideEffectClaim) (store.SideEffect, error) {
	w.n.Add(1)
	return w.Store.ClaimSideEffect(ctx, c)
}

func (w *writerTurns) CompleteSideEffect(ctx context.Context, scope, key, holder, result string) error {
	w.n.Add(1)
	return w.Store.CompleteSideEffect(ctx, scope, key, holder, result)
}

func (w *writerTurns) ReleaseSideEffect(ctx context.Context, scope, key, holder string) error {
	w.n.Add(1)
	return w.Store.ReleaseSideEffect(ctx, scope, key, holder)
}

// The first run of a link a create made writes Jira's status and priority
// to the task in one PUT and takes five turns on the writer: the lease,
// the ledger's intent and its completion, the field states (the two it
// wrote, with their history lines, and those it found agreeing), and the
// run's end (its state, its changes marked, the lease given back). Each
// state, line and step was a turn of its own (fourteen), with the lease
// renewed right after it was taken.
func TestFirstRunWriterTurns(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db string) {
		e, turns := withEngineStore(t, db, func(st store.Store) *writerTurns { return &writerTurns{Store: st} })
		ctx := t.Context()
		mapFields(t, e, syncengine.Mapping{DomainAliases: demoAliases})
		// The first link's run makes the project's Jira status and
		// priority fields; the second's finds them, as every later
		// create's does.
		var res syncengine.Result
		for _, name := range []string{"The first", "The second"} {
			task := e.NewTask(t, name)
			e.CreateIssue(t, task, name)
			if err := e.Engine.LinkMade(ctx, e.Server.ID, task); err != nil {
				t.Fatal(err)
			}
			turns.n.Store(0)
			var err error
			if res, err = e.Engine.SyncLink(ctx, e.Link.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := turns.n.Load(), int64(5); got != want {
			t.Errorf("the first run took the writer %d times, want %d", got, want)
		}
		if res.Writes != 2 {
			t.Errorf("the first run made %d writes, want 2 (status and priority, one PUT)", res.Writes)
		}
		got := readTask(t, e)
		for _, f := range []string{syncengine.JiraStatusField, syncengine.JiraPriorityField} {
			if got.Enums[f] == "" {
				t.Errorf("the first run set no %q on the task", f)
			}
		}
		st, err := e.Store.GetSyncLinkState(ctx, e.Link.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.LeaseOwner != "" || st.LastSyncedAt.IsZero() {
			t.Errorf("after the run: lease owner %q, last synced %v; want the lease given back and the run's end saved", st.LeaseOwner, st.LastSyncedAt)
		}
		for _, c := range e.Changes(t) {
			if c.AppliedAt.IsZero() {
				t.Errorf("change %+v left pending", c)
			}
		}
	})
}

// withEngineStore starts the bench with the engine's store wrapped by wrap,
// and returns the wrapper too.
func withEngineStore[S store.Store](t *testing.T, db string, wrap func(store.Store) S) (*synctest.Env, S) {
	t.Helper()
	var w S
	e := synctest.New(t, synctest.Options{DB: db, EngineStore: func(st store.Store) store.Store {
		w = wrap(st)
		return w
	}})
	return e, w
}
