package app_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// SIGTERM (Run's context cancelled) while the attachment copy waits on a
// slow Jira: the job runs to its end within --shutdown-timeout, on both
// databases, and the file arrives once.
func TestShutdownLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	for _, database := range []string{"sqlite", "postgres"} {
		t.Run(database, func(t *testing.T) {
			t.Parallel()
			c := startCopy(t, database, 2*time.Minute, 3*time.Second)
			w, db, key, files := c.w, c.db, c.key, c.files
			if err := c.stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if j := w.copyJob(db); j.State != "completed" || j.Errors != 0 {
				t.Fatalf("copy job after shutdown: %+v, want completed without errors", j)
			}
			if !w.copiedOnce(key, files) {
				t.Fatalf("%s has %v after the drained shutdown, want the file", key, w.attachments(key))
			}
		})
	}
}

// A job still running at the shutdown deadline is cancelled then, not
// before, and put back to run again: the next start copies the file, once.
func TestShutdownDeadlineCancelsAndRequeuesJobs(t *testing.T) {
	t.Parallel()
	for _, database := range []string{"sqlite", "postgres"} {
		t.Run(database, func(t *testing.T) {
			t.Parallel()
			c := startCopy(t, database, 2*time.Second, time.Hour)
			w, db, key, files := c.w, c.db, c.key, c.files
			if err := c.stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			// Interrupted by the shutdown, not failed: no error recorded,
			// the attempt given back, waiting to run.
			if j := w.copyJob(db); j.State != "available" || j.Errors != 0 || j.Attempt != 0 {
				t.Fatalf("copy job after the shutdown deadline: %+v, want available, attempt 0, no errors", j)
			}
			if got := w.attachments(key); len(got) != 0 {
				t.Fatalf("%s has %v, want nothing yet", key, got)
			}

			if err := w.d.Jira.SetFaults(fakejira.Faults{}); err != nil {
				t.Fatal(err)
			}
			ln, err := app.Listen(t.Context(), w.cfg.Listen)
			if err != nil {
				t.Fatal(err)
			}
			stop := w.serveInProcess(ln)
			waitFor(t, "the copy to run again and finish", 2*time.Minute, func() bool {
				return w.copyJob(db).State == "completed" && w.copiedOnce(key, files)
			})
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

// runningCopy is a bridge running in this process whose attachment copy
// is under way, held up by a slow Jira.
type runningCopy struct {
	w     *world
	db    *sql.DB
	key   string
	files []file
	stop  func() error
}

// startCopy serves the bridge with the given shutdown timeout, links a
// task holding one file to a new issue and returns once the copy job runs;
// Jira delays the upload by uploadDelay.
func startCopy(t *testing.T, database string, shutdownTimeout, uploadDelay time.Duration) runningCopy {
	t.Helper()
	c := runningCopy{w: newWorld(t, database)}
	c.w.cfg.ShutdownTimeout = shutdownTimeout
	c.db = c.w.db()
	var task string
	task, c.files = c.w.taskWithFiles(file{name: "report.bin", size: 8 << 20})
	c.key = c.w.createIssue()
	c.w.slowUploads(c.key, uploadDelay)
	c.stop = c.w.serveInProcess(c.w.d.BridgeListener)
	c.w.attach(task, c.key)
	waitFor(t, "the copy job to start", time.Minute, func() bool { return c.w.copyJob(c.db).State == "running" })
	return c
}
