package queryplan

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/jobs"
)

// statement is one SQL text the store ran, with the arguments of its first
// run and the request path that ran it first.
type statement struct {
	query string
	args  []any
	path  string
}

// recorder collects the statements while on.
type recorder struct {
	mu    sync.Mutex
	on    bool
	path  string
	seen  map[string]bool
	stmts []statement
}

func (r *recorder) observe(ctx context.Context, query string, args []any) {
	if sweeps[jobs.KindFromContext(ctx)] {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on || r.seen[query] {
		return
	}
	r.seen[query] = true
	r.stmts = append(r.stmts, statement{query: query, args: slices.Clone(args), path: r.path})
}

// stop turns the recorder off and returns what it recorded.
func (r *recorder) stop() []statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return slices.Clone(r.stmts)
}

func (r *recorder) during(path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on, r.path = true, path
}

// TestRequestPathsUseIndexes is the EXPLAIN test: every statement the
// request paths run must find its rows through an index (or a primary key),
// so none costs more as workspaces, users, links and jobs accumulate.
func TestRequestPathsUseIndexes(t *testing.T) {
	t.Parallel()
	for _, db := range []string{harness.SQLite, harness.Postgres} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			w, rec := startRecorded(t, db)
			runRequestPaths(t, w, rec)
			stmts := rec.stop()
			if len(stmts) < 20 {
				t.Fatalf("only %d statements recorded; the request paths did not run", len(stmts))
			}
			db := readDB(t, w)
			for _, s := range stmts {
				if intakeState(s.query) {
					continue
				}
				for _, p := range planProblems(t, w, db, s) {
					// The list of servers may read them all; what it reads
					// per server (counts) must still go by index.
					if listsEveryServer(s.query) && (strings.Contains(p, "SCAN jira_servers") || strings.Contains(p, "Seq Scan on jira_servers")) {
						continue
					}
					t.Errorf("%s ran a statement that %s:\n%s", s.path, p, oneLine(s.query))
				}
			}
			t.Logf("%d statements checked", len(stmts))
		})
	}
}

// listsEveryServer reports the statements allowed to read a whole table:
// the names of every connected Jira server (the Connections and Sync pages
// name a page's connections by them, the project picker offers the
// workspace's), one row per server an administrator connected.
func listsEveryServer(query string) bool {
	q := oneLine(query)
	return strings.HasPrefix(q, "SELECT ") && strings.HasSuffix(q, " FROM jira_servers ORDER BY name, id")
}

// intakeState reports the statements that read the Asana intake's whole
// state for the Sync pages (every watched project, webhook and poll
// token, ordered by key): known to grow with the watched projects and the
// users whose tokens poll, and not yet paged. The scale generator watches
// no project, so bench/admin does not see them grow either.
func intakeState(query string) bool {
	q := oneLine(query)
	for _, table := range []string{"asana_projects_sync ORDER BY project_gid", "asana_webhooks ORDER BY project_gid", "asana_poll_tokens ORDER BY user_gid"} {
		if strings.HasPrefix(q, "SELECT ") && strings.HasSuffix(q, " FROM "+table) {
			return true
		}
	}
	return false
}

// sweeps are the periodic jobs that compare whole tables by design, on a
// timer and never for a request (reconciliation with Jira, the Asana
// intake's polling and webhook upkeep). What they run is not a request
// path's; the hourly cleanup is checked like a request path.
var sweeps = map[string]bool{
	jobs.ReconcileJiraArgs{}.Kind(): true,
	jobs.PollAsanaArgs{}.Kind():     true,
	jobs.AsanaWebhooksArgs{}.Kind(): true,
}

func readDB(t *testing.T, w *harness.World) *sql.DB {
	t.Helper()
	if r, ok := w.App.Store().(interface{ ReadDB() *sql.DB }); ok {
		return r.ReadDB()
	}
	return w.App.Store().DB()
}

var spaces = regexp.MustCompile(`\s+`)

func oneLine(q string) string { return strings.TrimSpace(spaces.ReplaceAllString(q, " ")) }

// runRequestPaths makes every request a user, Asana, Jira or an admin
// sends, with the background work they cause.
func runRequestPaths(t *testing.T, w *harness.World, rec *recorder) {
	t.Helper()
	ctx := t.Context()
	c := harness.Client(2)
	task := func(name string) string {
		gid, err := w.CreateTask(ctx, c, name)
		if err != nil {
			t.Fatal(err)
		}
		return gid
	}
	created, linked, ruled := task("Created from the form"), task("Linked to an issue"), task("Created by a rule")
	get := func(path string, q url.Values) {
		t.Helper()
		status, body, err := w.AppGet(ctx, c, w.Alice, path, q)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: %d %v %.300s", path, status, err, body)
		}
	}
	post := func(path string, data map[string]any) {
		t.Helper()
		status, body, err := w.AppPost(ctx, c, w.Alice, path, data)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: %d %v %.300s", path, status, err, body)
		}
	}
	drain := func() {
		t.Helper()
		if _, err := w.Drain(ctx, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	issue := w.Demo.JiraURL + "/browse/DEMO-2"

	rec.during("the widget")
	get("/asana/widget", url.Values{"task": {created}, "resource_url": {issue + "?focusedCommentId=1"}})
	get("/asana/widget", url.Values{"task": {created}, "resource_url": {issue + "?focusedCommentId=1"}})
	rec.during("the create form")
	get("/asana/form", url.Values{"task": {created}})
	post("/asana/form/change", map[string]any{"task": created, "changed_field": "issuetype",
		"values": map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "From the form"}})
	rec.during("the form submit")
	key, err := w.SubmitCreate(ctx, c, w.Alice, created, "From the form")
	if err != nil {
		t.Fatal(err)
	}
	rec.during("the widget of a linked issue")
	get("/asana/widget", url.Values{"task": {created}, "resource_url": {w.Demo.JiraURL + "/browse/" + key}})
	rec.during("the lookup")
	get("/asana/lookup/typeahead", url.Values{"task": {linked}, "query": {"DEMO"}})
	post("/asana/lookup/attach", map[string]any{"task": linked, "query": "DEMO-1"})
	rec.during("the rule action")
	get("/asana/rule/form", url.Values{"project": {w.Seed.Project}, "action_type": {"create_jira_issue"}})
	post("/asana/rule/submit", map[string]any{"project": w.Seed.Project, "action_type": "create_jira_issue", "rule_name": "To Jira",
		"values": map[string]any{"project": "DEMO", "issuetype": "10002"}})
	post("/asana/rule/run", map[string]any{"project": w.Seed.Project, "action_type": "create_jira_issue", "action": "action-1",
		"target_object": ruled, "idempotency_key": "run-1"})
	rec.during("the jobs of the creates and links")
	drain()
	rec.during("a Jira comment: its webhook and job")
	if err := w.Demo.Jira.AddComment(key, "bob", "Looked at it."); err != nil {
		t.Fatal(err)
	}
	drain()

	admin, err := w.AdminClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/admin/links", "/admin/links?q=" + key, "/admin/links?q=DEMO", "/admin/links?q=" + created,
		"/admin/links?server=" + w.Server.ID, "/admin/users", "/admin/users?q=alice", "/admin/users?after=" + w.Seed.Users["alice"], "/admin/jobs", "/admin/audit",
		"/admin/connections", "/admin/connections?q=" + url.QueryEscape(w.Seed.Workspace), "/admin/connections?q=demo",
		"/admin/connections?after=" + w.Seed.Workspace, "/admin/connections?servers_after=" + w.Server.ID, "/admin/servers/" + w.Server.ID,
		"/admin/workspaces/" + w.Seed.Workspace + "/connect", "/admin/workspaces/" + w.Seed.Workspace + "/connect?after=" + w.Server.ID,
		"/admin/workspaces/" + w.Seed.Workspace + "/projects", "/admin/sync", "/admin/sync?after=" + w.Seed.Workspace,
		"/admin/sync/" + w.Seed.Workspace + "/" + w.Server.ID, "/admin/sync/" + w.Seed.Workspace + "/" + w.Server.ID + "/fields"} {
		rec.during("the admin page " + page)
		if _, err := w.AdminPage(ctx, admin, page); err != nil {
			t.Fatal(err)
		}
	}
}

// sqlitePlan lists what is wrong with a statement's plan on SQLite: a SCAN
// of a table (every row, or every entry of an index) instead of a SEARCH.
// One scan is bounded: a first page, a statement without WHERE that reads
// its ORDER BY from an index (no temporary b-tree) and stops at its LIMIT.
func sqlitePlan(t *testing.T, db *sql.DB, s statement) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+s.query, s.args...)
	if err != nil {
		t.Errorf("EXPLAIN QUERY PLAN of a statement of %s: %v\n%s", s.path, err, oneLine(s.query))
		return nil
	}
	defer rows.Close()
	var scans []string
	sorted := false
	// Subqueries in FROM (a count up to a limit) are read as co-routines:
	// scanning one reads its rows, which its own plan lines check.
	subqueries := map[string]bool{}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"CO-ROUTINE ", "MATERIALIZE "} {
			if name, ok := strings.CutPrefix(detail, kind); ok {
				subqueries[name] = true
			}
		}
		if table, ok := strings.CutPrefix(detail, "SCAN "); ok && !strings.HasPrefix(table, "CONSTANT ROW") && !strings.Contains(table, "VIRTUAL TABLE") &&
			!subqueries[table] {
			scans = append(scans, detail)
		}
		sorted = sorted || strings.HasPrefix(detail, "USE TEMP B-TREE")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	q := oneLine(s.query)
	if len(scans) == 1 && !sorted && !strings.Contains(q, " WHERE ") && strings.Contains(q, " ORDER BY ") && strings.Contains(q, " LIMIT ") {
		return nil
	}
	var problems []string
	for _, d := range scans {
		problems = append(problems, "scans a whole table ("+d+")")
	}
	return problems
}

// withoutSeqScans begins a transaction that plans with sequential scans
// off; the caller rolls it back.
func withoutSeqScans(t *testing.T, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "SET LOCAL enable_seqscan = off"); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	return tx
}

// planProblems lists what is wrong with a statement's plan on the world's
// database (sqlitePlan, postgresPlan).
func planProblems(t *testing.T, w *harness.World, db *sql.DB, s statement) []string {
	t.Helper()
	if w.Database == harness.SQLite {
		return sqlitePlan(t, db, s)
	}
	return postgresPlan(t, db, s)
}

// postgresPlan lists what is wrong with a statement's plan on PostgreSQL,
// asked with sequential scans off (on tables this small the planner would
// rightly prefer them): a Seq Scan left means no index can serve it.
func postgresPlan(t *testing.T, db *sql.DB, s statement) []string {
	t.Helper()
	tx := withoutSeqScans(t, db)
	defer tx.Rollback() //nolint:errcheck // EXPLAIN changes nothing
	var raw []byte
	if err := tx.QueryRowContext(t.Context(), "EXPLAIN (FORMAT JSON) "+s.query, s.args...).Scan(&raw); err != nil {
		t.Errorf("EXPLAIN of a statement of %s: %v\n%s", s.path, err, oneLine(s.query))
		return nil
	}
	var plans []struct {
		Plan node `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &plans); err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, p := range plans {
		p.Plan.walk(func(n node) {
			if n.Type == "Seq Scan" {
				problems = append(problems, "scans a whole table (Seq Scan on "+n.Relation+")")
			}
		})
	}
	return problems
}

type node struct {
	Type     string `json:"Node Type"`
	Relation string `json:"Relation Name"`
	Index    string `json:"Index Name"`
	Plans    []node `json:"Plans"`
}

func (n node) walk(fn func(node)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}
