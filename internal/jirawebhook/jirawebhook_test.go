package jirawebhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

const secret = "webhook-secret-for-tests"

// fixtureDir holds the recorded Jira webhook bodies (their source is noted
// in internal/jira/testdata/README.md); the Jira client's tests parse the
// same files.
var fixtureDir = filepath.Join("..", "jira", "testdata", "webhooks")

type fixture struct {
	st      store.Store
	h       *handler
	handler http.Handler
	server  string
}

// databases are the stores the receiver is tested on: SQLite always,
// PostgreSQL when TEST_POSTGRES_URL is set (required under CI).
var databases = []string{"sqlite", "postgres"}

func setupOn(t *testing.T, dialect string) fixture {
	t.Helper()
	var (
		st      store.Store
		riverDB *sql.DB
		url     string
		err     error
	)
	switch dialect {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "asanajira.db")
		st, err = sqlite.Open(t.Context(), path, storetest.NewSealer(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		riverDB, err = sqlite.OpenDB(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		riverDB.SetMaxOpenConns(1)
		t.Cleanup(func() { _ = riverDB.Close() })
	case "postgres":
		url = pgtest.URL(t)
		st, err = postgres.Open(t.Context(), url, storetest.NewSealer(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		riverDB = st.DB()
	}
	driver, listener, err := jobs.Driver(t.Context(), dialect, riverDB, url)
	if err != nil {
		t.Fatal(err)
	}
	if listener != nil {
		t.Cleanup(listener.Close)
	}
	if err := jobs.Migrate(t.Context(), driver); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	q, err := jobs.New(driver, riverDB, listener, st, log, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := store.JiraServer{Name: "Jira", BaseURL: "https://jira.example/jira", WebhookSecret: secret}
	if err := st.CreateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	noSecret := store.JiraServer{ID: "js_nosecret", Name: "old", BaseURL: "https://old.example"}
	if err := st.CreateJiraServer(t.Context(), &noSecret); err != nil {
		t.Fatal(err)
	}
	h := newHandler(Deps{Store: st, Enqueuer: q, Log: log})
	return fixture{st: st, h: h, handler: h.routes(), server: srv.ID}
}

// with is f with a new handler on the same store and queue, its Deps
// changed by change.
func (f fixture) with(change func(*Deps)) fixture {
	d := f.h.Deps
	d.MaxBatch, d.MaxInFlight = 0, 0
	change(&d)
	f.h = newHandler(d)
	f.handler = f.h.routes()
	return f
}

func (f fixture) jobs(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.st.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'apply_jira_deliveries'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sign(body []byte, key string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func fixtureBody(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(f fixture, t *testing.T, path string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

func TestReceive(t *testing.T) {
	t.Parallel()
	good := fixtureBody(t, "webhook-server-issue-updated-resolved.json")
	tests := map[string]struct {
		path     func(f fixture) string
		body     []byte
		header   func(body []byte) map[string]string
		status   int
		contains string
		jobs     int
	}{
		"signed":            {nil, good, func(b []byte) map[string]string { return map[string]string{"X-Hub-Signature": sign(b, secret)} }, 202, `"queued"`, 1},
		"secret in the url": {func(f fixture) string { return "/jira/webhook/" + f.server + "?secret=" + secret }, good, nil, 202, `"queued"`, 1},
		"unsigned":          {nil, good, nil, 401, "unsigned webhook", 0},
		"wrong signature":   {nil, good, func(b []byte) map[string]string { return map[string]string{"X-Hub-Signature": sign(b, "other")} }, 401, "does not match", 0},
		"malformed signature": {nil, good, func([]byte) map[string]string { return map[string]string{"X-Hub-Signature": "md5=abc"} },
			401, "X-Hub-Signature must be sha256=", 0},
		"wrong url secret": {func(f fixture) string { return "/jira/webhook/" + f.server + "?secret=nope" }, good, nil, 401, "secret in the URL is wrong", 0},
		"unknown server":   {func(fixture) string { return "/jira/webhook/js_unknown" }, good, nil, 404, "no Jira server", 0},
		"server without secret": {func(fixture) string { return "/jira/webhook/js_nosecret?secret=x" }, good, nil, 403,
			"no webhook secret", 0},
		"malformed json": {nil, []byte(`{"webhookEvent":`), func(b []byte) map[string]string { return map[string]string{"X-Hub-Signature": sign(b, secret)} },
			400, "not a Jira webhook payload", 0},
		"a field of the wrong type": {nil, []byte(`{"timestamp":1,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"P-1","fields":{"summary":5}}}`),
			func(b []byte) map[string]string { return map[string]string{"X-Hub-Signature": sign(b, secret)} },
			400, "issue.fields.summary", 0},
		"not jira": {nil, []byte(`{"hello":"world"}`), func(b []byte) map[string]string { return map[string]string{"X-Hub-Signature": sign(b, secret)} },
			400, "no webhookEvent", 0},
		"too large": {nil, bytes.Repeat([]byte("x"), MaxBody+1), func(b []byte) map[string]string { return map[string]string{"X-Hub-Signature": sign(b, secret)} },
			413, "larger than", 0},
		"get": {nil, nil, nil, 405, "", 0},
	}
	for _, db := range databases {
		for name, tc := range tests {
			t.Run(db+"/"+name, func(t *testing.T) {
				t.Parallel()
				f := setupOn(t, db)
				path := "/jira/webhook/" + f.server
				if tc.path != nil {
					path = tc.path(f)
				}
				var header map[string]string
				if tc.header != nil {
					header = tc.header(tc.body)
				}
				var rec *httptest.ResponseRecorder
				if name == "get" {
					rec = httptest.NewRecorder()
					f.handler.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
				} else {
					rec = post(f, t, path, tc.body, header)
				}
				if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.contains) {
					t.Fatalf("= %d %s, want %d containing %q", rec.Code, rec.Body, tc.status, tc.contains)
				}
				if n := f.jobs(t); n != tc.jobs {
					t.Fatalf("%d jobs queued, want %d", n, tc.jobs)
				}
			})
		}
	}
}

// Jira Server delivers some changes twice; the second delivery is
// acknowledged but not applied again, on both databases (on PostgreSQL a
// conflicting claim must not abort the transaction that answers it).
func TestDuplicateDeliveryQueuedOnce(t *testing.T) {
	t.Parallel()
	body := fixtureBody(t, "webhook-server-issue-updated-commented-1.json")
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			f := setupOn(t, db)
			for i, want := range []string{`"queued"`, `"duplicate"`, `"duplicate"`} {
				rec := post(f, t, "/jira/webhook/"+f.server, body, map[string]string{"X-Hub-Signature": sign(body, secret)})
				if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), want) {
					t.Fatalf("delivery %d = %d %s, want 202 %s", i+1, rec.Code, rec.Body, want)
				}
			}
			if n := f.jobs(t); n != 1 {
				t.Fatalf("%d jobs, want 1", n)
			}
		})
	}
}

// Every recorded payload from real Jira servers is accepted.
func TestAcceptsEveryRecordedPayload(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			f := setupOn(t, db)
			for _, file := range files {
				body := fixtureBody(t, filepath.Base(file))
				rec := post(f, t, "/jira/webhook/"+f.server, body, map[string]string{"X-Hub-Signature": sign(body, secret)})
				if rec.Code != http.StatusAccepted {
					t.Errorf("%s: %d %s", filepath.Base(file), rec.Code, rec.Body)
				}
			}
		})
	}
}

// TestReadBody: the body is read whole whatever size is announced (the
// right one, none, too small, too large) and however the reader splits it.
func TestReadBody(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	tests := map[string]struct {
		body []byte
		size int64
	}{
		"exact":     {body, int64(len(body))},
		"unknown":   {body, -1},
		"too small": {body, 100},
		"too large": {body, int64(len(body)) * 2},
		"empty":     {nil, 0},
		"one byte":  {[]byte("x"), 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, r := range []io.Reader{bytes.NewReader(tc.body), iotest.OneByteReader(bytes.NewReader(tc.body))} {
				got, err := readBody(r, tc.size)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tc.body) {
					t.Fatalf("read %d bytes, want %d", len(got), len(tc.body))
				}
			}
		})
	}
}
