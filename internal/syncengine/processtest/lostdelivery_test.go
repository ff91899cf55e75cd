package processtest_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asanaintake"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// A run of the link asked for before a Jira comment was made (a follow-up,
// a retry, a run snoozed) compares state, so it mirrors the comment even
// though no change tells of it yet. Killed before the write, the process
// never records the comment's delivery (Jira does not retry a delivery
// nobody answered), so no change is pending after the restart; the write's
// intent and the killed run's job are all that is left. River gives that
// job to the restarted process once its lease lapses, and its run writes
// the story once. (TestEveryChangeOnceAcrossCrashes met this by chance, when
// a run left from the step before ran while the comment was being made.)
func TestCommentOnceWhenARunWithoutItsChangeIsKilled(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			b := newBed(t, db)
			ctx := t.Context()
			b.baselineAndFirstRead()

			b.jiraFaults(`{"drop_webhooks":true}`)
			text := "Made while a run of the link was waiting; its delivery is lost."
			if _, err := b.jira("bob").AddComment(ctx, "DEMO-1", text, nil); err != nil {
				t.Fatal(err)
			}
			// The run asked for earlier: a job with no change of its own.
			must(t, b.st.InTx(ctx, func(tx store.Tx) error { return b.queue.EnqueueSyncLink(ctx, tx.SQL(), b.link.ID) }))
			p := b.serve("serve (crashing at before-asana-write)", "before-asana-write")
			if err := p.Wait(2 * time.Minute); !killedBySIGKILL(err) {
				t.Fatalf("serve exited with %v, want killed by SIGKILL mirroring the comment\n%s", err, p.Logs())
			}
			restarted := b.serve("serve (restarted)", "")
			if !eventually(2*time.Minute, b.settled) {
				t.Fatalf("not everything was done 2 minutes after the restart: %s\n%s", b.pending(), restarted.Logs())
			}
			after := b.look(text)
			restarted.Stop()
			if after.storiesWith != 1 || after.jiraCommentsWith != 1 {
				t.Errorf("%d stories and %d Jira comments say %q, want 1 each\nthe killed process logged:\n%s\nthe restarted one:\n%s",
					after.storiesWith, after.jiraCommentsWith, text, p.Logs(), restarted.Logs())
			}
			changes, err := b.st.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: b.link.ID, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range changes {
				if c.Side == store.SideJira {
					t.Errorf("a Jira change was recorded (%s %s): the comment's delivery was to be lost", c.Source, c.DedupKey)
				}
			}
		})
	}
}

// baselineAndFirstRead is baseline, waiting also for the Asana intake's
// first read of the project's events (which records a resync of the link):
// a later process then reads only what happened since.
func (b *bed) baselineAndFirstRead() {
	b.t.Helper()
	p := b.serve("serve (baseline)", "")
	b.recorder()
	b.recordAsana(syncengine.KindResync, "", "baseline")
	waitFor(b.t, "the baseline run and the Asana intake's first read", 2*time.Minute, func() bool {
		if !b.settled() {
			return false
		}
		changes, err := b.st.ListSyncChanges(b.t.Context(), store.SyncChangeFilter{LinkID: b.link.ID, Limit: 500})
		if err != nil {
			b.t.Fatal(err)
		}
		for _, c := range changes {
			if c.Source == asanaintake.SourceResync {
				return true
			}
		}
		return false
	})
	p.Stop()
}

// jiraFaults sets the Jira emulator's faults (a JSON object).
func (b *bed) jiraFaults(faults string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPut, b.jiraURL+"/_emulator/faults", bytes.NewBufferString(faults))
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("setting the Jira emulator's faults %s: %s", faults, resp.Status)
	}
}
