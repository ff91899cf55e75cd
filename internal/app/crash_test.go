package app_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/config"
)

// serveFlags are the serve flags for cfg: the configuration a test
// provisioned, run by the real binary.
func serveFlags(cfg config.Config) []string {
	args := []string{"--listen", cfg.Listen, "--public-url", cfg.PublicURL, "--database-url", cfg.DatabaseURL,
		"--asana-url", cfg.AsanaURL, "--asana-client-id", cfg.AsanaClientID, "--asana-client-secret", cfg.AsanaClientSecret,
		"--app-origin", cfg.AppOrigin, "--asana-download-hosts", strings.Join(cfg.AsanaDownloadHosts, ","),
		"--admins", strings.Join(cfg.Admins, ","), "--log-format", "json", "--log-level", "info"}
	if cfg.SecretKey != "" {
		args = append(args, "--secret-key", cfg.SecretKey)
	}
	return args
}

// kill -9 of `asanajira serve` while the attachment copy uploads a large
// Asana-hosted file to a slow Jira: once restarted, the copy completes
// (the job lease lets river rescue it in about a minute; the time is
// logged), each file exactly once on the issue. Before the job lease, the
// dead process's job stayed "running" for river's default hour.
func TestKilledCopyCompletesOnceAfterRestart(t *testing.T) {
	t.Parallel()
	bin := asanajiraBinary(t)
	for _, database := range []string{"sqlite", "postgres"} {
		t.Run(database, func(t *testing.T) {
			t.Parallel()
			killedCopy(t, bin, database)
		})
	}
}

func killedCopy(t *testing.T, bin, database string) {
	w := newWorld(t, database)
	task, files := w.taskWithFiles(file{name: "notes.txt", size: 64 << 10}, file{name: "big.bin", size: 256 << 20})
	key := w.createIssue()
	w.slowUploads(key, 3*time.Second)
	if err := w.d.BridgeListener.Close(); err != nil { // the process binds the same address
		t.Fatal(err)
	}
	first := startServe(t, bin, "asanajira serve", nil, serveFlags(w.cfg)...)
	first.WaitReady()
	db := w.db()

	w.attach(task, key)
	// The small file arrives first; the large one's upload then waits on
	// Jira. Kill the process during it.
	waitFor(t, "the first file to arrive", 2*time.Minute, func() bool { return len(w.attachments(key)["notes.txt"]) == 1 })
	time.Sleep(time.Second)
	first.Signal(syscall.SIGKILL)
	if err := first.Wait(time.Minute); err == nil {
		t.Fatal("serve exited cleanly after SIGKILL")
	}
	if got := w.attachments(key); len(got["big.bin"]) != 0 {
		t.Fatalf("the kill came after the copy: %s has %v", key, got)
	}
	if j := w.copyJob(db); j.State != "running" {
		t.Fatalf("the killed process left the copy job %+v, want it running", j)
	}

	restarted := time.Now()
	second := startServe(t, bin, "asanajira serve (restarted)", nil, serveFlags(w.cfg)...)
	second.WaitReady()
	waitFor(t, "the copy to complete after the restart", 3*time.Minute, func() bool {
		return w.copyJob(db).State == "completed" && w.copiedOnce(key, files)
	})
	// How soon river rescues the job is its lease's business (internal/jobs
	// tests the lease and the rescue settings); here it is only reported,
	// since a wall-clock bound fails on a loaded machine.
	t.Logf("the copy completed %v after the restart", time.Since(restarted).Round(time.Millisecond))
	second.Stop()
	if !w.copiedOnce(key, files) {
		t.Fatalf("%s lost a file: %v", key, w.attachments(key))
	}
}
