// Package upgrade tests upgrades between asanajira releases on a real
// PostgreSQL: the previous release's schema and data (testdata), the
// previous release's binary built from its commit, and this tree's binary
// running side by side on one database, as in a rolling upgrade.
package upgrade

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/servetest"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/google/go-cmp/cmp"
)

// The previous release, as testdata/README.md describes.
const (
	previousCommit  = "ae713bdfcb901d30bbc6e484e4ae8d76e5b8111a" // asanajira 0.2.0
	previousDump    = "testdata/postgres-0.2.0.sql"
	previousSchema  = "asanajira_020"
	fixtureKey      = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	newVersionStamp = "0.0.0-upgrade-test"
)

// TestPostgresRollingUpgradeFromPreviousRelease: a 0.2.0 replica serves the
// previous release's database; a replica of this tree starts beside it and
// migrates; both serve and write at once; then every record of the
// previous release is still there, readable by the new code.
func TestPostgresRollingUpgradeFromPreviousRelease(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	schema := mustParse(t, dbURL).Query().Get("search_path")
	db := loadDump(t, dbURL, schema)
	before := snapshot(t, db, schema)
	if len(before["jira_servers"]) != 2 || len(before["river_job"]) != 2 {
		t.Fatalf("the fixture did not load: %d servers, %d jobs", len(before["jira_servers"]), len(before["river_job"]))
	}

	oldBin, newBin := binaries(t)
	env := []string{"ASANAJIRA_DATABASE_URL=" + dbURL, "ASANAJIRA_SECRET_KEY=" + fixtureKey,
		"ASANAJIRA_LISTEN=127.0.0.1:0", "ASANAJIRA_LOG_FORMAT=json", "ASANAJIRA_SHUTDOWN_TIMEOUT=10s"}

	oldReplica := servetest.Start(t, oldBin, "0.2.0 replica", env)
	oldURL := oldReplica.WaitReady()
	newReplica := servetest.Start(t, newBin, "new replica", env)
	newURL := newReplica.WaitReady() // it migrated the database while the old one served

	recorded := schemaVersions(t, db)
	if recorded[1] != "" {
		t.Errorf("migration 1 should keep its unknown applier, got %q", recorded[1])
	}
	if len(recorded) < 2 {
		t.Logf("this tree adds no migration after 0.2.0: only the schema_migrations column changed")
	}
	for v, by := range recorded {
		if v > 1 && by != newVersionStamp {
			t.Errorf("migration %d recorded as applied by %q, want %q", v, by, newVersionStamp)
		}
	}

	// Side by side on the migrated database: both answer, and both take
	// Jira webhooks, which write a dedup key (the new replica: the delivery)
	// and a job in one transaction.
	for _, base := range []string{oldURL, newURL} {
		if code := get(t, base+"/readyz"); code != http.StatusOK {
			t.Errorf("%s/readyz: %d", base, code)
		}
	}
	postWebhook(t, oldURL+"/jira/webhook/jira-old?secret=webhook-secret-old", nil, `{"timestamp":1764158400000,"webhookEvent":"jira:issue_updated","issue":{"id":"20001","key":"OPS-7","fields":{}}}`)
	body := `{"timestamp":1764158401000,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"DEMO-1","fields":{}}}`
	mac := hmac.New(sha256.New, []byte("webhook-secret-dc"))
	mac.Write([]byte(body))
	postWebhook(t, newURL+"/jira/webhook/jira-dc", map[string]string{"X-Hub-Signature": "sha256=" + hex.EncodeToString(mac.Sum(nil))}, body)

	oldReplica.Stop()
	newReplica.Stop()

	after := snapshot(t, db, schema)
	for table, rows := range before {
		if table == "river_leader" || table == "river_queue" {
			continue // the running replicas' leadership and queue bookkeeping
		}
		for key, row := range rows {
			got, ok := after[table][key]
			if !ok {
				t.Errorf("%s: row %s of the previous release is gone", table, key)
				continue
			}
			if diff := cmp.Diff(row, pick(got, row)); diff != "" {
				t.Errorf("%s row %s changed (-before +after):\n%s", table, key, diff)
			}
		}
	}
	queued := 0
	for key, job := range after["river_job"] {
		// The previous release queues apply_jira_event (which this one still
		// runs), this one apply_jira_deliveries.
		if _, old := before["river_job"][key]; !old && (job["kind"] == "apply_jira_event" || job["kind"] == "apply_jira_deliveries") {
			queued++
		}
	}
	if queued != 2 {
		t.Errorf("%d Jira events were queued by the two webhooks, want 2", queued)
	}
	checkThroughTheNewStore(t, dbURL)
}

// checkThroughTheNewStore reads the previous release's records with this
// tree's store: sealed values open with the key, routing still routes.
func checkThroughTheNewStore(t *testing.T, dbURL string) {
	t.Helper()
	kr, err := secrets.ParseKeys(fixtureKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(t.Context(), dbURL, kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	srv, err := st.GetJiraServer(ctx, "jira-dc")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(srv.PrivateKeyPEM.Reveal(), "fixture-private-key") || srv.OAuth2ClientSecret.Reveal() != "oauth2-client-secret" ||
		srv.WebhookSecret.Reveal() != "webhook-secret-dc" || srv.ConnectAddress != "10.0.0.5:8080" || srv.Version != "9.12.0" {
		t.Errorf("jira-dc after the upgrade: %+v", srv)
	}
	alice, err := st.GetAsanaUser(ctx, "9001")
	if err != nil || alice.AccessToken.Reveal() != "asana-access-alice" || alice.RefreshToken.Reveal() != "asana-refresh-alice" {
		t.Errorf("alice: %+v, %v", alice, err)
	}
	bob, err := st.GetJiraCredential(ctx, "9002", "jira-dc")
	if err != nil || bob.Method != store.AuthOAuth2 || bob.RefreshToken.Reveal() != "oauth2-refresh-bob" || bob.JiraDisplayName != "Bob B." {
		t.Errorf("bob's OAuth 2.0 credential: %+v, %v", bob, err)
	}
	revoked, err := st.GetJiraCredential(ctx, "9001", "jira-old")
	if err != nil || !revoked.ReconnectNeeded || revoked.ReconnectReason != "token revoked in Jira" || revoked.AccessToken.Reveal() != "pat-alice-old" {
		t.Errorf("alice's PAT: %+v, %v", revoked, err)
	}
	for _, tc := range []struct{ workspace, project, want string }{
		{"1201", "3001", "jira-old"}, // routed project
		{"1201", "9999", "jira-dc"},  // the workspace's default
		{"1202", "9999", "jira-old"},
	} {
		got, err := st.RouteProject(ctx, tc.workspace, tc.project)
		if err != nil || got.ID != tc.want {
			t.Errorf("RouteProject(%s, %s) = %s, %v; want %s", tc.workspace, tc.project, got.ID, err, tc.want)
		}
	}
	links, err := st.ListLinksByTask(ctx, "5003")
	if err != nil || len(links) != 1 || links[0].IssueKey != "OPS-7" || links[0].CreatedBy != "9001" {
		t.Errorf("links of task 5003: %+v, %v", links, err)
	}
	done, err := st.GetIdempotencyKey(ctx, "create_issue", "task:5001")
	if err != nil || string(done.Result) != `{"key":"DEMO-1"}` {
		t.Errorf("completed idempotency key: %+v, %v", done, err)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// loadDump replaces pgtest's empty schema with the previous release's
// dump, renamed to it, and returns a pool on the database.
func loadDump(t *testing.T, dbURL, schema string) *sql.DB {
	t.Helper()
	dump, err := os.ReadFile(previousDump)
	if err != nil {
		t.Fatal(err)
	}
	// The dump sets search_path to '' for its session: load it on a pool
	// of its own.
	loader, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer loader.Close()
	if _, err := loader.ExecContext(t.Context(), `DROP SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	// pg_dump 15.14 and later frame the dump with psql's \restrict and
	// \unrestrict meta-commands, which only psql understands.
	var script strings.Builder
	for _, line := range strings.SplitAfter(string(dump), "\n") {
		if !strings.HasPrefix(line, `\`) {
			script.WriteString(line)
		}
	}
	if _, err := loader.ExecContext(t.Context(), strings.ReplaceAll(script.String(), previousSchema, schema)); err != nil {
		t.Fatalf("loading %s: %v", previousDump, err)
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// snapshot reads every row of every table in schema as a map from the
// row's primary key (or whole row) to its columns.
func snapshot(t *testing.T, db *sql.DB, schema string) map[string]map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]map[string]any{}
	for _, table := range queryStrings(t, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`, schema) {
		out[table] = map[string]map[string]any{}
		keyCols := primaryKey(t, db, schema, table)
		for _, raw := range queryStrings(t, db, fmt.Sprintf(`SELECT row_to_json(t)::text FROM %s.%s t`, schema, table)) {
			var row map[string]any
			if err := json.Unmarshal([]byte(raw), &row); err != nil {
				t.Fatal(err)
			}
			key := raw
			if len(keyCols) > 0 {
				var parts []string
				for _, c := range keyCols {
					parts = append(parts, fmt.Sprint(row[c]))
				}
				key = strings.Join(parts, "|")
			}
			out[table][key] = row
		}
	}
	return out
}

// queryStrings returns the single text column of query's rows.
func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func primaryKey(t *testing.T, db *sql.DB, schema, table string) []string {
	t.Helper()
	return queryStrings(t, db, `SELECT a.attname::text FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = ($1 || '.' || $2)::regclass AND i.indisprimary ORDER BY a.attnum`, schema, table)
}

// pick keeps the columns of row that like has: the previous release's
// columns of a row that may have gained new ones.
func pick(row, like map[string]any) map[string]any {
	out := map[string]any{}
	for k := range like {
		if v, ok := row[k]; ok {
			out[k] = v
		}
	}
	return out
}

func schemaVersions(t *testing.T, db *sql.DB) map[int]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version, app_version FROM schema_migrations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]string{}
	for rows.Next() {
		var (
			v  int
			by string
		)
		if err := rows.Scan(&v, &by); err != nil {
			t.Fatal(err)
		}
		got[v] = by
	}
	return got
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd)) // e2e/upgrade
}

// The two binaries, built once for the tests of this package.
var builds struct {
	once              sync.Once
	dir               string
	previous, current string
	err               error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir) // a temporary folder; nothing to report
	}
	os.Exit(code)
}

// binaries returns the previous release's binary, built from its commit in
// this repository's history, and this tree's, stamped newVersionStamp.
func binaries(t *testing.T) (previous, current string) {
	t.Helper()
	builds.once.Do(func() {
		builds.dir, builds.err = os.MkdirTemp("", "asanajira-upgrade-")
		if builds.err != nil {
			return
		}
		root := moduleRoot(t)
		src := filepath.Join(builds.dir, "previous-src")
		if builds.err = extractCommit(root, previousCommit, src); builds.err != nil {
			return
		}
		builds.previous = filepath.Join(builds.dir, "asanajira-previous")
		if builds.err = build(src, builds.previous); builds.err != nil {
			return
		}
		builds.current = filepath.Join(builds.dir, "asanajira-current")
		builds.err = build(root, builds.current, "-ldflags", "-X github.com/asanajira/asanajira/internal/version.Version="+newVersionStamp)
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	return builds.previous, builds.current
}

// extractCommit writes the tree of commit into dir.
func extractCommit(root, commit, dir string) error {
	if out, err := exec.Command("git", "-C", root, "cat-file", "-e", commit+"^{commit}").CombinedOutput(); err != nil {
		return fmt.Errorf("commit %s (the previous release) is not in this clone's history (git fetch --unshallow?): %w\n%s", commit, err, out)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", commit)
	var tarball bytes.Buffer
	archive.Stdout = &tarball
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive %s: %w", commit, err)
	}
	untar := exec.Command("tar", "-x", "-C", dir)
	untar.Stdin = &tarball
	if out, err := untar.CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %w\n%s", err, out)
	}
	return nil
}

func build(dir, bin string, flags ...string) error {
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, flags...), "./cmd/asanajira")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", dir, err, out)
	}
	return nil
}

func get(t *testing.T, u string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func postWebhook(t *testing.T, u string, headers map[string]string, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(b), `"queued"`) {
		t.Errorf("POST %s: %d %s, want 202 queued", u, resp.StatusCode, b)
	}
}
