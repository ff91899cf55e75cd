package admin_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/riverqueue/river/rivertype"
)

// seededJobs are the ids of the jobs seedJobs leaves in river's table.
type seededJobs struct{ failed, running, stuck int64 }

// seedJobs gives the console the real job queue on the env's database (not
// started: the page only reads river's table) and leaves one job in each
// state the page shows: failed for good, running, and running with its
// lease long expired (its process died).
func seedJobs(t *testing.T, e *env) (*jobs.Queue, seededJobs) {
	t.Helper()
	return seedJobsWith(t, e, jobs.Options{})
}

// seedJobsWith is seedJobs with a queue built with opts.
func seedJobsWith(t *testing.T, e *env, opts jobs.Options) (*jobs.Queue, seededJobs) {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.OpenDB(ctx, e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	driver, _, err := jobs.Driver(ctx, "sqlite", db, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, driver); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(driver, db, nil, e.store, discard(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for range 3 {
		res, err := q.Client().Insert(ctx, jobs.CleanupArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Job.ID)
	}
	s := seededJobs{failed: ids[0], running: ids[1], stuck: ids[2]}
	for _, u := range []struct {
		id  int64
		sql string
	}{
		{s.failed, `UPDATE river_job SET state = 'discarded', attempt = 5, max_attempts = 5, finalized_at = '2026-03-01 09:30:00.000',
			errors = json_array(json_object('at', '2026-03-01T09:30:00Z', 'attempt', 5, 'error',
				'jira: POST https://jira.example.com/jira/rest/api/2/issue/OPS-1/attachments: 413 Request Entity Too Large', 'trace', ''))
			WHERE id = $1`},
		{s.running, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec') WHERE id = $1`},
		{s.stuck, `UPDATE river_job SET state = 'running', attempt = 2, attempted_at = datetime('now', '-5 minutes', 'subsec') WHERE id = $1`},
	} {
		if _, err := db.ExecContext(ctx, u.sql, u.id); err != nil {
			t.Fatal(err)
		}
	}
	withJobs(q)(&e.deps)
	e.restart()
	return q, s
}

// The jobs page tells a running job from one whose process died, and lists
// failed jobs apart from both.
func TestJobsPageShowsRunningAndStuckJobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, s := seedJobs(t, e)
	r := e.admin().get(e.hs.URL + "/admin/jobs")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /admin/jobs: %d", r.Status)
	}
	row := func(id int64) string {
		_, after, ok := strings.Cut(r.Body, `<tr data-job="`+strconv.FormatInt(id, 10)+`">`)
		if !ok {
			t.Fatalf("no row for job %d:\n%s", id, r.Body)
		}
		line, _, _ := strings.Cut(after, "</tr>")
		return line
	}
	if got := row(s.stuck); !strings.Contains(got, `<span class="lozenge fail">stuck</span>`) {
		t.Errorf("the job whose process died is not marked stuck: %s", got)
	}
	if got := row(s.running); !strings.Contains(got, `<span class="lozenge">running</span>`) || strings.Contains(got, "stuck") {
		t.Errorf("the running job is not shown as running: %s", got)
	}
	if got := row(s.failed); !strings.Contains(got, "413 Request Entity Too Large") || !strings.Contains(got, "Retry") {
		t.Errorf("the failed job is not listed with its error and a retry button: %s", got)
	}
}

func TestJobsRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q, s := seedJobs(t, e)
	b := e.admin()
	if r := e.postForm(b, "/admin/jobs/"+strconv.FormatInt(s.failed, 10)+"/retry", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	if r := e.postForm(b, "/admin/jobs/987654/retry", nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("retry unknown job: %d", r.Status)
	}
	j, err := q.Client().JobGet(t.Context(), s.failed)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != rivertype.JobStateAvailable {
		t.Errorf("retried job is %s, want available", j.State)
	}
}
