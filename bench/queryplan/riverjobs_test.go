package queryplan

import (
	"strings"
	"testing"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

// riverJobLists are the statements river (v0.51) runs for the Jobs page's
// lists (internal/jobs FailedJobs and RunningJobs): one state's jobs in id
// order, older than a cursor, of one kind. River runs them on its own
// connection, not through the store, so the recorder does not see them;
// their text follows river's JobList (its where clause for one state is
// "state = @state", for kinds an IN over json_each on SQLite and = any on
// PostgreSQL).
var riverJobLists = map[string][]statement{
	harness.SQLite: {
		{query: `SELECT * FROM river_job WHERE state = ? ORDER BY id DESC LIMIT ?`, args: []any{"discarded", 51}},
		{query: `SELECT * FROM river_job WHERE id < ? AND state = ? ORDER BY id DESC LIMIT ?`, args: []any{1000, "retryable", 51}},
		{query: `SELECT * FROM river_job WHERE kind IN (SELECT value FROM json_each(cast(? AS blob))) AND state = ? ORDER BY id DESC LIMIT ?`,
			args: []any{`["copy_attachments"]`, "cancelled", 51}},
		{query: `SELECT * FROM river_job WHERE state = ? ORDER BY id ASC LIMIT ?`, args: []any{"running", 100}},
	},
	harness.Postgres: {
		{query: `SELECT * FROM river_job WHERE state = $1 ORDER BY id DESC LIMIT $2`, args: []any{"discarded", 51}},
		{query: `SELECT * FROM river_job WHERE id < $1 AND state = $2 ORDER BY id DESC LIMIT $3`, args: []any{1000, "retryable", 51}},
		{query: `SELECT * FROM river_job WHERE kind = any($1::text[]) AND state = $2 ORDER BY id DESC LIMIT $3`,
			args: []any{"{copy_attachments}", "cancelled", 51}},
		{query: `SELECT * FROM river_job WHERE state = $1 ORDER BY id ASC LIMIT $2`, args: []any{"running", 100}},
	},
}

// TestJobsPageRiverListsUseIndexes is the EXPLAIN test of the Jobs page's
// lists from river's table: each reads one state's jobs from an index, so
// the finished jobs that accumulate (kept for river's retention) cost the
// page nothing. On SQLite, a SEARCH without a temporary b-tree: the
// (state, id) index gives the order too, so the list stops at its limit.
func TestJobsPageRiverListsUseIndexes(t *testing.T) {
	t.Parallel()
	for _, db := range []string{harness.SQLite, harness.Postgres} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			w, _ := startRecorded(t, db)
			rdb := readDB(t, w)
			for _, s := range riverJobLists[db] {
				s.path = "the admin page /admin/jobs (river's JobList)"
				var problems []string
				if db == harness.SQLite {
					problems = sqlitePlan(t, rdb, s)
					if plan := sqlitePlanText(t, rdb, s); strings.Contains(plan, "USE TEMP B-TREE") {
						problems = append(problems, "sorts every job of its state ("+oneLine(plan)+")")
					}
				} else {
					problems = postgresPlan(t, rdb, s)
				}
				for _, p := range problems {
					t.Errorf("%s ran a statement that %s:\n%s", s.path, p, oneLine(s.query))
				}
			}
		})
	}
}
