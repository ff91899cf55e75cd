package jobs_test

import (
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// The failed jobs of the three failed states come back as one list, newest
// first, cut at the limit, older than the cursor and of the kind asked;
// each state's list is read from the (state, id) index.
func TestFailedJobsMergesStates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	q, riverDB := sqliteQueue(t, func(st store.Store) store.Store { return st })
	// Ids 1..9: the failed states interleaved with completed and running
	// jobs, which are never listed.
	for _, j := range []struct{ kind, state, finalized string }{
		{"a", "discarded", "datetime('now')"}, {"b", "retryable", "NULL"}, {"a", "completed", "datetime('now')"},
		{"a", "cancelled", "datetime('now')"}, {"b", "discarded", "datetime('now')"}, {"a", "running", "NULL"},
		{"a", "retryable", "NULL"}, {"b", "cancelled", "datetime('now')"}, {"a", "discarded", "datetime('now')"},
	} {
		//nolint:gosec // G202: the test's own constants
		if _, err := riverDB.ExecContext(ctx, `INSERT INTO river_job (args, kind, state, finalized_at, attempt, max_attempts)
			VALUES (jsonb('{}'), ?, ?, `+j.finalized+`, 1, 1)`, j.kind, j.state); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		kind   string
		before int64
		limit  int
		want   []int64
	}{
		{name: "all", limit: 50, want: []int64{9, 8, 7, 5, 4, 2, 1}},
		{name: "first page", limit: 3, want: []int64{9, 8, 7}},
		{name: "next page", before: 7, limit: 3, want: []int64{5, 4, 2}},
		{name: "last page", before: 2, limit: 3, want: []int64{1}},
		{name: "one kind", kind: "a", limit: 50, want: []int64{9, 7, 4, 1}},
		{name: "one kind, next page", kind: "b", before: 8, limit: 1, want: []int64{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			failed, err := q.FailedJobs(t.Context(), tc.kind, tc.before, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, j := range failed {
				got = append(got, j.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("plan", func(t *testing.T) {
		t.Parallel()
		var id, parent, unused int
		var detail string
		err := riverDB.QueryRowContext(t.Context(), `EXPLAIN QUERY PLAN SELECT * FROM river_job WHERE state = ? ORDER BY id DESC LIMIT 51`,
			"discarded").Scan(&id, &parent, &unused, &detail)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(detail, "asanajira_river_job_state_id") {
			t.Errorf("one state's jobs newest first are read by %q, not the (state, id) index", detail)
		}
	})
}
