package processtest_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/servetest"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// binary is asanajira built with the crashtest tag, once per test binary.
var binary struct {
	once sync.Once
	path string
	err  error
}

func crashBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the asanajira binary")
	}
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "asanajira-processtest-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "asanajira")
		out, err := exec.Command("go", "build", "-tags", "crashtest", "-o", binary.path, "github.com/asanajira/asanajira/cmd/asanajira").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build -tags crashtest: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		_ = os.RemoveAll(filepath.Dir(binary.path)) // a temporary folder
	}
	os.Exit(code)
}

// emulate runs `asanajira emulate kind` in a process of its own and
// returns the base URL it prints.
func emulate(t *testing.T, bin, kind string) string {
	t.Helper()
	cmd := exec.CommandContext(context.WithoutCancel(t.Context()), bin, "emulate", kind, "--listen", "127.0.0.1:0") //nolint:gosec // G204: the binary the test built
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait() // it was asked to stop
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), " listening on "); ok {
				urls <- strings.TrimSpace(u)
			}
		}
	}()
	select {
	case u := <-urls:
		return u
	case <-time.After(time.Minute):
		t.Fatalf("emulate %s printed no URL", kind)
		return ""
	}
}

// freeAddr is a local address nothing listens on, for serve to bind again
// after each restart (Jira's webhook points at it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// bed is one database, both emulators, the provisioned link and the view
// of the world the test checks.
type bed struct {
	t                 *testing.T
	bin               string
	db                string
	jiraURL, asanaURL string
	dbURL, key        string
	listen            string
	st                store.Store
	server            store.JiraServer
	link              store.Link
	engine            *syncengine.Engine // the test's own, to record Asana changes as an intake would
	queue             *jobs.Queue        // never started: it only inserts jobs for the serve process
	users             map[string]string
}

const webhookSecret = "crash-test-secret"

func newBed(t *testing.T, db string) *bed {
	t.Helper()
	ctx := t.Context()
	b := &bed{t: t, bin: crashBinary(t), db: db, listen: freeAddr(t),
		users: map[string]string{"alice": "1201000000000012", "bob": "1201000000000013"}}
	b.jiraURL, b.asanaURL = emulate(t, b.bin, "jira"), emulate(t, b.bin, "asana")
	var err error
	if b.key, err = secrets.NewKey(); err != nil {
		t.Fatal(err)
	}
	kr, err := secrets.ParseKeys(b.key)
	if err != nil {
		t.Fatal(err)
	}
	switch db {
	case "sqlite":
		b.dbURL = filepath.Join(t.TempDir(), "asanajira.db")
		b.st, err = sqlite.Open(ctx, b.dbURL, kr, nil)
	case "postgres":
		b.dbURL = pgtest.URL(t)
		b.st, err = postgres.Open(ctx, b.dbURL, kr, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.st.Close() })
	b.provision()
	return b
}

// provision connects the Acme workspace to the Jira emulator with sync on,
// connects alice and bob on both sides, and links the second seeded task
// to DEMO-1 as alice.
func (b *bed) provision() {
	t, ctx := b.t, b.t.Context()
	b.server = store.JiraServer{Name: "Jira", BaseURL: b.jiraURL, Version: "9.12.0", WebhookSecret: webhookSecret, Status: "ok"}
	must(t, b.st.CreateJiraServer(ctx, &b.server))
	seed := b.seed()
	must(t, b.st.PutWorkspace(ctx, store.Workspace{GID: seed.workspace, Name: "Acme"}))
	must(t, b.st.PutConnection(ctx, store.Connection{WorkspaceGID: seed.workspace, JiraServerID: b.server.ID, IsDefault: true}))
	for login, gid := range b.users {
		pat, err := b.jira(login).CreatePersonalAccessToken(ctx, "asanajira crash test", 0)
		if err != nil {
			t.Fatal(err)
		}
		must(t, b.st.PutAsanaUser(ctx, store.AsanaUser{GID: gid, Name: login, AccessToken: store.Secret("pat-" + login)}))
		must(t, b.st.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: gid, JiraServerID: b.server.ID, Method: store.AuthPAT,
			AccessToken: store.Secret(pat.RawToken), JiraUsername: login}))
	}
	issue, err := b.jira("alice").GetIssue(ctx, "DEMO-1", &jira.GetIssueOptions{Fields: []string{"summary"}})
	if err != nil {
		t.Fatal(err)
	}
	b.link = store.Link{WorkspaceGID: seed.workspace, TaskGID: seed.task, JiraServerID: b.server.ID, IssueID: issue.ID,
		IssueKey: "DEMO-1", CreatedBy: b.users["alice"]}
	must(t, b.st.CreateLink(ctx, &b.link))
	must(t, b.st.PutSyncSettings(ctx, store.SyncSettings{WorkspaceGID: seed.workspace, JiraServerID: b.server.ID,
		Enabled: true, Comments: true, Completion: true}))
	if _, err := b.jira("admin").CreateWebhook(ctx, jira.Webhook{Name: "asanajira", Enabled: true,
		URL:    "http://" + b.listen + "/jira/webhook/" + b.server.ID + "?secret=" + webhookSecret,
		Events: []string{"jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"}}); err != nil {
		t.Fatal(err)
	}
}

type seedIDs struct{ workspace, task string }

// seed reads the Asana emulator's seeded workspace and second task.
func (b *bed) seed() seedIDs {
	t, ctx := b.t, b.t.Context()
	var s seedIDs
	for w, err := range b.asana("alice").Workspaces(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if w.Name == "Acme" {
			s.workspace = w.GID
		}
	}
	for p, err := range b.asana("alice").Projects(ctx, s.workspace) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Launch" {
			continue
		}
		i := 0
		for task, err := range b.asana("alice").ProjectTasks(ctx, p.GID, []string{"name"}) {
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				s.task = task.GID
			}
			i++
		}
	}
	if s.workspace == "" || s.task == "" {
		t.Fatalf("the Asana emulator's seed: %+v", s)
	}
	return s
}

func (b *bed) jira(login string) *jira.Client {
	c, err := jira.New(b.jiraURL, jira.NewHTTPClient(&jira.BasicAuthTransport{Username: login, Password: login}, 10*time.Second),
		jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

func (b *bed) asana(login string) *asana.Client {
	c, err := asana.New(b.asanaURL+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: "pat-" + login}, Timeout: 10 * time.Second},
		asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// serve starts `asanajira serve` on the bed, killing itself at crashAt
// ("" for never).
func (b *bed) serve(name, crashAt string) *servetest.Process {
	b.t.Helper()
	return b.start(name, b.listen, "1h", syncengine.CrashEnv+"="+crashAt, syncengine.LeaseEnv+"=3s")
}

// start runs `asanajira serve` on listen with a reconciliation interval and
// extra environment, and waits until it is ready.
func (b *bed) start(name, listen, reconcile string, env ...string) *servetest.Process {
	b.t.Helper()
	p := servetest.Start(b.t, b.bin, name, env, "--listen", listen, "--database-url", b.dbURL, "--secret-key", b.key,
		"--asana-url", b.asanaURL, "--public-url", "http://"+listen, "--reconcile-interval", reconcile, "--log-format", "json")
	p.WaitReady()
	return p
}

// recorder is the test acting as the Asana intake: it records changes in
// the serve process's database, which the process's queue picks up.
func (b *bed) recorder() {
	b.t.Helper()
	ctx := b.t.Context()
	riverDB := b.st.DB()
	if b.db == "sqlite" {
		var err error
		if riverDB, err = sqlite.OpenDB(ctx, b.dbURL); err != nil {
			b.t.Fatal(err)
		}
		b.t.Cleanup(func() { _ = riverDB.Close() })
	}
	driver, listener, err := jobs.Driver(ctx, b.db, riverDB, pgURL(b))
	if err != nil {
		b.t.Fatal(err)
	}
	if listener != nil {
		b.t.Cleanup(listener.Close)
	}
	b.engine, err = syncengine.New(syncengine.Config{Store: b.st, Clients: bridgetest.NewClients(b.jiraURL, b.asanaURL, b.server),
		Enqueuer: enqueuer{&b.queue}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.t.Fatal(err)
	}
	// Never started: it only inserts sync_link jobs for the serve process.
	b.queue, err = jobs.New(driver, riverDB, nil, b.st, slog.New(slog.DiscardHandler), jobs.Options{Sync: b.engine})
	if err != nil {
		b.t.Fatal(err)
	}
}

func pgURL(b *bed) string {
	if b.db == "postgres" {
		return b.dbURL
	}
	return ""
}

type enqueuer struct{ q **jobs.Queue }

func (e enqueuer) EnqueueSyncLink(ctx context.Context, tx *sql.Tx, linkID int64) error {
	return (*e.q).EnqueueSyncLink(ctx, tx, linkID)
}

func (b *bed) recordAsana(kind, object, key string) {
	b.t.Helper()
	if _, err := b.engine.Record(b.t.Context(), syncengine.Change{LinkID: b.link.ID, Side: syncengine.SideAsana, Source: "events",
		DedupKey: key, Kind: kind, Object: object, ObservedAt: time.Now()}); err != nil {
		b.t.Fatal(err)
	}
}

// baseline runs serve once, for the first run that takes the link's
// baseline, and starts the recorder.
func (b *bed) baseline() {
	b.t.Helper()
	p := b.serve("serve (baseline)", "")
	b.recorder()
	b.recordAsana(syncengine.KindResync, "", "baseline")
	waitFor(b.t, "the baseline run", time.Minute, b.settled)
	p.Stop()
}

// world is what the test counts: stories and Jira comments containing a
// text, the task's completion stories, the issue's status moves.
type world struct {
	storiesWith, jiraCommentsWith int
	completes, reopens            int
	taskDone                      bool
	statusMoves                   int
	issueDone                     bool
}

func (b *bed) look(text string) world {
	b.t.Helper()
	ctx := b.t.Context()
	var w world
	for s, err := range b.asana("alice").Stories(ctx, b.link.TaskGID) {
		if err != nil {
			b.t.Fatal(err)
		}
		switch {
		case s.ResourceSubtype == "comment_added" && text != "" && strings.Contains(s.Text, text):
			w.storiesWith++
		case s.ResourceSubtype == "marked_complete":
			w.completes++
		case s.ResourceSubtype == "marked_incomplete":
			w.reopens++
		}
	}
	task, err := b.asana("alice").GetTask(ctx, b.link.TaskGID, []string{"completed"})
	if err != nil {
		b.t.Fatal(err)
	}
	w.taskDone = task.Completed
	for c, err := range b.jira("admin").CommentsIter(ctx, "DEMO-1") {
		if err != nil {
			b.t.Fatal(err)
		}
		if text != "" && strings.Contains(c.Body, text) {
			w.jiraCommentsWith++
		}
	}
	is, err := b.jira("admin").GetIssue(ctx, "DEMO-1", &jira.GetIssueOptions{Fields: []string{"status"}, Expand: []string{"changelog"}})
	if err != nil {
		b.t.Fatal(err)
	}
	w.issueDone = is.Fields.Status.StatusCategory.Key == "done"
	for _, h := range is.Changelog.Histories {
		for _, it := range h.Items {
			if it.Field == "status" {
				w.statusMoves++
			}
		}
	}
	return w
}

// settled reports whether the bridge has nothing left to do for the link:
// every recorded change applied, every stored Jira delivery applied, and no
// job that applies deliveries or runs the link waiting or running.
//
// Recorded changes alone do not tell: a run compares state, so a run of
// the link asked for earlier (a follow-up, a retry, a run snoozed) mirrors
// a comment whose delivery is not recorded yet, or never will be (killed
// with it, the process never answered Jira, which does not retry). Killed
// there, that run is the comment's only trace besides the write's intent,
// until river gives its job to the restarted process one lease later.
func (b *bed) settled() bool {
	b.t.Helper()
	pending, err := b.st.PendingSyncChanges(b.t.Context(), b.link.ID, 1)
	if err != nil {
		b.t.Fatal(err)
	}
	deliveries, waiting := b.unfinished()
	return len(pending) == 0 && deliveries == 0 && len(waiting) == 0
}

// workKinds are the jobs that record or apply the link's changes.
var workKinds = []string{jobs.SyncLinkArgs{}.Kind(), jobs.ApplyJiraDeliveriesArgs{}.Kind(), jobs.ApplyJiraEventArgs{}.Kind()}

// unfinished counts the stored Jira deliveries not applied yet and lists
// the jobs of workKinds not finished (waiting, running, or left running by
// a killed process).
func (b *bed) unfinished() (deliveries int, waiting []string) {
	b.t.Helper()
	ctx := b.t.Context()
	if err := b.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM jira_deliveries WHERE applied_at IS NULL`).Scan(&deliveries); err != nil {
		b.t.Fatal(err)
	}
	rows, err := b.st.DB().QueryContext(ctx, `SELECT id, kind, state, attempt FROM river_job
		WHERE kind IN ($1, $2, $3) AND state IN ('available', 'pending', 'running', 'scheduled', 'retryable') ORDER BY id`,
		workKinds[0], workKinds[1], workKinds[2])
	if err != nil {
		b.t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			id, attempt int64
			kind, state string
		)
		if err := rows.Scan(&id, &kind, &state, &attempt); err != nil {
			b.t.Fatal(err)
		}
		waiting = append(waiting, fmt.Sprintf("job %d %s %s (attempt %d)", id, kind, state, attempt))
	}
	if err := rows.Err(); err != nil {
		b.t.Fatal(err)
	}
	return deliveries, waiting
}

// eventually polls cond for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// pending describes what is not finished: changes, deliveries and jobs.
func (b *bed) pending() string {
	cs, err := b.st.PendingSyncChanges(b.t.Context(), b.link.ID, 0)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s %s (%s)", c.Side, c.Kind, c.DedupKey, c.Source))
	}
	deliveries, waiting := b.unfinished()
	if deliveries > 0 {
		out = append(out, fmt.Sprintf("%d Jira deliveries not applied", deliveries))
	}
	return strings.Join(append(out, waiting...), "; ")
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// killedBySIGKILL reports whether a process's exit was SIGKILL.
func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestEveryChangeOnceAcrossCrashes kills `asanajira serve` (SIGKILL, from
// inside, at a named step) during each step of a comment sync both ways and
// a completion sync both ways, restarts it, and checks that each change was
// applied exactly once: one mirror per comment, one transition per
// completion, one task completion per issue move.
func TestEveryChangeOnceAcrossCrashes(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			crashes(t, db)
		})
	}
}

func crashes(t *testing.T, db string) {
	b := newBed(t, db)
	ctx := t.Context()
	b.baseline()

	steps := []struct {
		step, change string
	}{
		{"before-asana-write", "jira comment"},
		{"after-asana-write", "jira comment"},
		{"after-asana-record", "jira comment"},
		{"before-jira-write", "asana comment"},
		{"after-jira-write", "asana comment"},
		{"after-jira-record", "asana comment"},
		{"before-jira-transition", "asana completion"},
		{"after-jira-transition", "asana completion"},
		{"before-asana-complete", "jira completion"},
		{"after-asana-complete", "jira completion"},
		{"before-finish", "jira comment"},
	}
	for i, s := range steps {
		text := fmt.Sprintf("Change %d, killed at %s.", i+1, s.step)
		before := b.look(text)
		p := b.serve("serve (crashing at "+s.step+")", s.step)
		switch s.change {
		case "jira comment":
			if _, err := b.jira("bob").AddComment(ctx, "DEMO-1", text, nil); err != nil {
				t.Fatal(err)
			}
		case "asana comment":
			st, err := b.asana("bob").AddComment(ctx, b.link.TaskGID, text, "")
			if err != nil {
				t.Fatal(err)
			}
			b.recordAsana(syncengine.KindComment, st.GID, "story-added:"+st.GID)
		case "asana completion":
			if _, err := b.asana("bob").UpdateTask(ctx, b.link.TaskGID, map[string]any{"completed": !before.taskDone}); err != nil {
				t.Fatal(err)
			}
			b.recordAsana(syncengine.KindCompletion, "", fmt.Sprintf("completion-%d", i))
		case "jira completion":
			to := "31" // Done
			if before.issueDone {
				to = "11" // To Do
			}
			if err := b.jira("bob").DoTransition(ctx, "DEMO-1", jira.TransitionInput{ID: to}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Wait(2 * time.Minute); !killedBySIGKILL(err) {
			t.Fatalf("%s: serve exited with %v, want killed by SIGKILL at the step\n%s", s.step, err, p.Logs())
		}
		restarted := b.serve("serve (restarted after "+s.step+")", "")
		if !eventually(2*time.Minute, b.settled) {
			t.Fatalf("%s: not every change was applied 2 minutes after the restart: %s\n%s", s.step, b.pending(), restarted.Logs())
		}
		after := b.look(text)
		restarted.Stop()
		logs := fmt.Sprintf("the killed process logged:\n%s\nthe restarted one:\n%s", p.Logs(), restarted.Logs())

		var bad []string
		switch s.change {
		case "jira comment":
			if after.storiesWith != 1 || after.jiraCommentsWith != 1 {
				bad = append(bad, fmt.Sprintf("%d stories and %d Jira comments say %q, want 1 each", after.storiesWith, after.jiraCommentsWith, text))
			}
		case "asana comment":
			if after.storiesWith != 1 || after.jiraCommentsWith != 1 {
				bad = append(bad, fmt.Sprintf("%d stories and %d Jira comments say %q, want 1 each", after.storiesWith, after.jiraCommentsWith, text))
			}
		case "asana completion":
			if after.statusMoves != before.statusMoves+1 || after.issueDone == before.issueDone || after.taskDone == before.taskDone {
				bad = append(bad, fmt.Sprintf("task done %v → %v, issue done %v → %v in %d moves; want both flipped by one move",
					before.taskDone, after.taskDone, before.issueDone, after.issueDone, after.statusMoves-before.statusMoves))
			}
		case "jira completion":
			writes := (after.completes + after.reopens) - (before.completes + before.reopens)
			if writes != 1 || after.taskDone == before.taskDone || after.issueDone == before.issueDone {
				bad = append(bad, fmt.Sprintf("task done %v → %v by %d completion writes, issue done %v → %v; want one write",
					before.taskDone, after.taskDone, writes, before.issueDone, after.issueDone))
			}
		}
		for _, msg := range bad {
			t.Errorf("%s (%s): %s\n%s", s.step, s.change, msg, logs)
		}
	}
	state, err := b.st.GetSyncLinkState(ctx, b.link.ID)
	if err != nil || state.LastError != "" {
		t.Fatalf("the link's state: error %q (%v)", state.LastError, err)
	}
}
