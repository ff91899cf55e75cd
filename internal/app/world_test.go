package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/demo"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
)

// world is the demo's two emulators and a bridge configuration aimed at
// them, provisioned as `asanajira demo` does (app registered, Jira
// connected, the Launch project routed to DEMO) with alice's Asana and Jira
// accounts connected. The bridge itself is started by each test, in this
// process or as the real binary, on cfg's database.
type world struct {
	t     *testing.T
	d     *demo.Demo
	cfg   config.Config
	seed  fakeasana.SeedIDs
	alice string // alice's Asana gid
	pat   string // alice's Jira personal access token
}

func newWorld(t *testing.T, database string) *world {
	t.Helper()
	ctx := t.Context()
	d, err := demo.Start(ctx, demo.Options{DataDir: t.TempDir(), JiraListen: "127.0.0.1:0", AsanaListen: "127.0.0.1:0", BridgeListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.WithoutCancel(ctx)) })
	w := &world{t: t, d: d, cfg: d.Config, seed: d.Asana.Seed()}
	w.cfg.LogFormat = "json"
	if database == "postgres" {
		key, err := secrets.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		w.cfg.DatabaseURL, w.cfg.SecretKey = pgtest.URL(t), key
	}
	a, err := app.New(ctx, w.cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv, err := d.Provision(ctx, a.Setup())
	if err != nil {
		t.Fatal(err)
	}
	// alice as after the task pane's authorization: an Asana OAuth token
	// and a Jira personal access token.
	w.alice = w.seed.Users["alice"]
	access, refresh, err := d.Asana.IssueAccessToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	if w.pat, err = d.Jira.CreatePAT("alice", "asanajira test"); err != nil {
		t.Fatal(err)
	}
	if err := a.Store().PutAsanaUser(ctx, store.AsanaUser{GID: w.alice, Name: "alice", AccessToken: store.Secret(access),
		RefreshToken: store.Secret(refresh), Expiry: time.Now().Add(50 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Store().PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: w.alice, JiraServerID: srv.ID, Method: store.AuthPAT,
		AccessToken: store.Secret(w.pat), JiraUsername: "alice", JiraDisplayName: "alice"}); err != nil {
		t.Fatal(err)
	}
	// Room for large files, none of them kept in memory.
	d.Jira.SetAttachmentLimit(1 << 30)
	d.Jira.SetDiscardAttachmentContent(true)
	return w
}

// serveInProcess runs the bridge in this process until stop is called;
// stop cancels Run's context, as SIGTERM does, and returns Run's error.
func (w *world) serveInProcess(ln net.Listener) (stop func() error) {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(w.t.Context()))
	a, err := app.New(ctx, w.cfg, quiet())
	if err != nil {
		cancel()
		w.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	stopped := false
	var runErr error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
			a.Close()
		}
		return runErr
	}
	w.t.Cleanup(func() { _ = stop() })
	return stop
}

// file is a generated Asana-hosted file and the CRC-32C of its content.
type file struct {
	name string
	size int64
	crc  uint32
}

// taskWithFiles creates a task in the routed project, as alice, holding
// generated Asana-hosted files of these names and sizes, in this order.
func (w *world) taskWithFiles(specs ...file) (string, []file) {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"name": "Files to copy", "workspace": w.seed.Workspace, "projects": []string{w.seed.Project}}})
	var out struct {
		Data struct {
			GID string `json:"gid"`
		} `json:"data"`
	}
	w.do(http.MethodPost, w.d.AsanaURL+"/api/1.0/tasks", "Bearer "+w.seed.Tokens["alice"], body, http.StatusCreated, &out)
	var fs []file
	for i, f := range specs {
		seed := uint64(i + 7)
		if _, err := w.d.Asana.AddGeneratedAttachment(fakeasana.GeneratedAttachment{Task: out.Data.GID, Name: f.name, Size: f.size, Seed: seed}); err != nil {
			w.t.Fatal(err)
		}
		sum := crc32.New(crc32.MakeTable(crc32.Castagnoli))
		if _, err := io.Copy(sum, fakeasana.GeneratedContent(seed, f.size)); err != nil {
			w.t.Fatal(err)
		}
		f.crc = sum.Sum32()
		fs = append(fs, f)
	}
	return out.Data.GID, fs
}

// createIssue creates a DEMO issue directly in Jira, as alice, and returns
// its key.
func (w *world) createIssue() string {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{"fields": map[string]any{"project": map[string]any{"key": "DEMO"},
		"issuetype": map[string]any{"id": "10002"}, "summary": "Files arrive here"}})
	var out struct {
		Key string `json:"key"`
	}
	w.do(http.MethodPost, w.d.JiraURL+"/rest/api/2/issue", "Bearer "+w.pat, body, http.StatusCreated, &out)
	return out.Key
}

// attach links the task to the issue through the task pane's lookup, as
// alice; the bridge queues the copy of the task's files.
func (w *world) attach(task, key string) {
	w.t.Helper()
	r, err := w.d.Asana.CallApp(w.t.Context(), fakeasana.AppCall{Kind: fakeasana.CallAttach, User: w.alice, Task: task, Query: key})
	if err != nil {
		w.t.Fatal(err)
	}
	if r.Status != http.StatusOK || r.Invalid != nil {
		w.t.Fatalf("attach %s: HTTP %d %s (%v)", key, r.Status, r.Body, r.Invalid)
	}
}

// slowUploads delays every upload to the issue by d before Jira reads it.
func (w *world) slowUploads(key string, d time.Duration) {
	w.t.Helper()
	if err := w.d.Jira.SetFaults(fakejira.Faults{LatencyMS: int(d / time.Millisecond),
		PathPrefix: w.d.Jira.ContextPath() + "/rest/api/2/issue/" + key + "/attachments"}); err != nil {
		w.t.Fatal(err)
	}
}

// attachments returns the issue's attachments by file name.
func (w *world) attachments(key string) map[string][]fakejira.Attachment {
	w.t.Helper()
	is, ok := w.d.Jira.Issue(key)
	if !ok {
		w.t.Fatalf("no issue %s", key)
	}
	out := map[string][]fakejira.Attachment{}
	for _, a := range is.Attachments {
		out[a.Filename] = append(out[a.Filename], a)
	}
	return out
}

// copiedOnce reports whether the issue has exactly one attachment per file,
// with the file's size and content, and nothing else; extra copies fail
// the test at once.
func (w *world) copiedOnce(key string, files []file) bool {
	w.t.Helper()
	got := w.attachments(key)
	for _, f := range files {
		as := got[f.name]
		if len(as) > 1 {
			w.t.Fatalf("%s has %d copies of %s, want exactly one", key, len(as), f.name)
		}
		if len(as) == 0 {
			return false
		}
		if as[0].Size != f.size || as[0].CRC32C != f.crc {
			w.t.Fatalf("%s: %s arrived with %d bytes (crc %08x), want %d (crc %08x)", key, f.name, as[0].Size, as[0].CRC32C, f.size, f.crc)
		}
	}
	if len(got) != len(files) {
		w.t.Fatalf("%s has attachments %v, want only %d files", key, got, len(files))
	}
	return true
}

func (w *world) do(method, url, auth string, body []byte, status int, out any) {
	w.t.Helper()
	req, err := http.NewRequestWithContext(w.t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		w.t.Fatalf("%s %s: HTTP %d %s", method, url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		w.t.Fatalf("%s %s: %v", method, url, err)
	}
}

// db opens the bridge's database for the test to read river's table.
func (w *world) db() *sql.DB {
	w.t.Helper()
	kind, target, err := w.cfg.Database()
	if err != nil {
		w.t.Fatal(err)
	}
	var db *sql.DB
	if kind == config.SQLite {
		db, err = sqlite.OpenDB(w.t.Context(), target)
	} else {
		db, err = sql.Open("pgx", target)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = db.Close() })
	return db
}

// copyJob is the state of the newest copy_attachments job.
type copyJob struct {
	State   string
	Attempt int
	Errors  int
}

// copyJob reads the newest copy_attachments job from river's table.
func (w *world) copyJob(db *sql.DB) copyJob {
	w.t.Helper()
	count := "coalesce(array_length(errors, 1), 0)"
	if kind, _, _ := w.cfg.Database(); kind == config.SQLite {
		count = "json_array_length(coalesce(errors, '[]'))"
	}
	var j copyJob
	err := db.QueryRowContext(w.t.Context(), `SELECT state, attempt, `+count+` FROM river_job
		WHERE kind = 'copy_attachments' ORDER BY id DESC LIMIT 1`).Scan(&j.State, &j.Attempt, &j.Errors)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		w.t.Fatal(err)
	}
	return j
}

// waitFor polls cond; the bound only turns a hang into a failure.
func waitFor(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
