package processtest_test

import (
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// Two `asanajira serve` replicas on one PostgreSQL, reconciling every
// second: only river's leader enqueues the periodic reconcile_jira job, so
// the passes come once per interval across both (not once per replica), and
// a comment whose webhook Jira never sent (the drop_webhooks fault) reaches
// the task through them.
func TestReconciliationRunsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	b := newBed(t, "postgres")
	ctx := t.Context()
	one := b.start("replica 1", b.listen, "1s")
	two := b.start("replica 2", freeAddr(t), "1s")

	b.jiraFaults(`{"drop_webhooks":true}`)
	text := "Jira never told the bridge about this comment."
	if _, err := b.jira("bob").AddComment(ctx, "DEMO-1", text, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reconciliation to bring the comment to the task", time.Minute, func() bool { return b.look(text).storiesWith == 1 })
	changes, err := b.st.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: b.link.ID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		// The Asana intake records its own changes (its first poll of the
		// project resyncs every link); on Jira's side only reconciliation
		// can have told of the comment.
		if c.Side == store.SideJira && c.Source != "reconcile" {
			t.Errorf("a Jira %s change was recorded though Jira sent no webhook", c.Source)
		}
	}

	// Count the passes over a window while both replicas run.
	start := time.Now()
	const window = 8 * time.Second
	time.Sleep(window)
	var passes int
	if err := b.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'reconcile_jira'
		AND created_at >= $1 AND created_at < $2`, start, start.Add(window)).Scan(&passes); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d reconciliation passes in %v with two replicas reconciling every second", passes, window)
	if passes < 4 || passes > int(window/time.Second)+2 {
		t.Errorf("%d passes in %v; want about one per second across both replicas, not one per replica", passes, window)
	}
	if b.look(text).storiesWith != 1 {
		t.Error("the comment was mirrored more than once")
	}
	one.Stop()
	two.Stop()
}
