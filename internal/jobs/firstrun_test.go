package jobs_test

import (
	"testing"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertest"
)

// A new link's copy job starts the link's first sync run, once however
// often it runs, and a later copy (files attached since) starts none: the
// create's own issue_created delivery reaches the bridge inside Jira's
// answer, before the link is stored, and often finds no link to start it.
func TestCopyAttachmentsStartsTheLinksFirstRun(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			e := synctest.New(t, synctest.Options{DB: db})
			driver, tx := riverTx(t)
			w := rivertest.NewWorker(t, driver, &river.Config{}, &jobs.CopyAttachmentsWorker{Copier: e.Bridge(), Sync: e.Engine})
			later := bridge.CopyArgsFor(e.Link)
			later.Later = true
			for _, args := range []bridge.CopyAttachmentsArgs{bridge.CopyArgsFor(e.Link), bridge.CopyArgsFor(e.Link), later} {
				if res, err := w.Work(t.Context(), t, tx, args, nil); err != nil || res.EventKind != river.EventKindJobCompleted {
					t.Fatalf("Work(%+v) = %+v, %v", args, res, err)
				}
			}
			firstRuns := func() []store.SyncChange {
				var out []store.SyncChange
				for _, c := range e.Changes(t) {
					if c.Source == "link" {
						out = append(out, c)
					}
				}
				return out
			}
			cs := firstRuns()
			if len(cs) != 1 || cs[0].Kind != syncengine.KindResync || cs[0].Actor != e.Link.CreatedBy {
				t.Fatalf("changes from the link's copy jobs = %+v, want one resync by %s", cs, e.Link.CreatedBy)
			}
			e.Sync(t)
			if cs := firstRuns(); cs[0].Outcome == "" {
				t.Errorf("the first run left the link's change unapplied: %+v", cs[0])
			}
		})
	}
}
