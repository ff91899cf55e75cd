package jobs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// rows inserts n finished (or running) job rows of a kind as river would
// have left them.
func (b *bed) rows(t *testing.T, kind string, state rivertype.JobState, n int) {
	t.Helper()
	driver, listener, err := jobs.Driver(t.Context(), b.dialect, b.riverDB, b.url)
	if err != nil {
		t.Fatal(err)
	}
	if listener != nil {
		listener.Close()
	}
	now := time.Now().UTC()
	params := &riverdriver.JobInsertFullManyParams{}
	for range n {
		p := &riverdriver.JobInsertFullParams{Kind: kind, State: state, EncodedArgs: []byte(`{}`), Metadata: []byte(`{}`),
			MaxAttempts: 1, Attempt: 1, AttemptedAt: &now, Queue: "default", Priority: 1, CreatedAt: &now, ScheduledAt: &now,
			Tags: []string{}}
		if state != rivertype.JobStateRunning {
			p.FinalizedAt = &now
		}
		params.Jobs = append(params.Jobs, p)
	}
	if _, err := driver.GetExecutor().JobInsertFullMany(t.Context(), params); err != nil {
		t.Fatal(err)
	}
}

// jobCounts counts river's rows by "kind state".
func jobCounts(t *testing.T, b *bed) map[string]int {
	t.Helper()
	rows, err := b.riverDB.QueryContext(t.Context(), `SELECT kind, state, count(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			kind, state string
			n           int
		)
		if err := rows.Scan(&kind, &state, &n); err != nil {
			t.Fatal(err)
		}
		out[kind+" "+state] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// completedPolls lists the ids of completed poll_asana rows, newest first.
func completedPolls(t *testing.T, b *bed, limit int) []int64 {
	t.Helper()
	rows, err := b.riverDB.QueryContext(t.Context(), `SELECT id FROM river_job WHERE kind = 'poll_asana' AND state = 'completed'
		ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// The prune pass keeps the newest 100 finished rows of each periodic kind
// in each finished state, and leaves running jobs and the kinds that carry
// work alone.
func TestPruneFinishedBoundsThePeriodicKinds(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bd := b.open(t)
			q := bd.queue(t, bd.st, jobs.Options{})
			bd.rows(t, "poll_asana", rivertype.JobStateCompleted, 250)
			bd.rows(t, "poll_asana", rivertype.JobStateDiscarded, 130)
			bd.rows(t, "poll_asana", rivertype.JobStateRunning, 1)
			bd.rows(t, "reconcile_jira", rivertype.JobStateCancelled, 40)
			bd.rows(t, "asana_webhooks", rivertype.JobStateCompleted, 101)
			bd.rows(t, "sweep_link_copies", rivertype.JobStateCompleted, 105)
			bd.rows(t, "sync_link", rivertype.JobStateCompleted, 150)
			bd.rows(t, "apply_jira_event", rivertype.JobStateDiscarded, 120)

			newest := completedPolls(t, bd, 100)

			deleted, err := q.PruneFinished(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if deleted != 150+30+1+5 {
				t.Errorf("deleted %d rows, want 186", deleted)
			}
			want := map[string]int{
				"poll_asana completed": 100, "poll_asana discarded": 100, "poll_asana running": 1,
				"reconcile_jira cancelled": 40, "asana_webhooks completed": 100, "sweep_link_copies completed": 100,
				"sync_link completed": 150, "apply_jira_event discarded": 120,
			}
			if diff := cmp.Diff(want, jobCounts(t, bd)); diff != "" {
				t.Errorf("rows by kind and state after the pass (-want +got):\n%s", diff)
			}
			kept := completedPolls(t, bd, 1000)
			if diff := cmp.Diff(newest, kept); diff != "" {
				t.Errorf("kept rows are not the newest 100 (-want +got):\n%s", diff)
			}

			// A second pass has nothing to do.
			if deleted, err := q.PruneFinished(t.Context()); err != nil || deleted != 0 {
				t.Errorf("second pass deleted %d, %v; want 0, nil", deleted, err)
			}
		})
	}
}

// The prune_jobs job, as the queue runs it, prunes.
func TestPruneJobsRunsAsAJob(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bd := b.open(t)
			q := bd.queue(t, bd.st, jobs.Options{})
			bd.rows(t, "reconcile_jira", rivertype.JobStateCompleted, 180)
			start(t, q)
			if err := q.Insert(t.Context(), jobs.PruneJobsArgs{}, nil); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				got := jobCounts(t, bd)
				if got["reconcile_jira completed"] == 100 && got["prune_jobs completed"] == 1 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("rows after the prune job: %s", fmt.Sprint(got))
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
