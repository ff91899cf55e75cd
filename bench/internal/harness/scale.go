package harness

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// Sizes are how much the scale generator adds to the demo's world.
type Sizes struct {
	Workspaces int // Asana workspaces, each connected to one of the servers, with one project routed
	Servers    int // Jira servers besides the demo's
	Users      int // Asana users, each with a sealed Asana token and a sealed Jira credential
	Links      int // task ↔ issue links, spread over the workspaces
	Audit      int // audit log entries
	Jobs       int // finished jobs in the queue's table (a hundredth of them failed)
	// Syncing connections have two-way sync on: those of the first
	// workspaces, so the Sync page's first page shows them. SyncedLinks
	// are their links (besides Links), each with its sync state and
	// changes.
	Syncing     int
	SyncedLinks int
}

// FullScale is the installation issue 14 asks every figure to hold at: a
// thousand workspaces, fifty Jira servers, ten thousand users and a
// hundred thousand links, with an audit log and a day of jobs to match.
var FullScale = Sizes{Workspaces: 1000, Servers: 50, Users: 10000, Links: 100000, Audit: 100000, Jobs: 50000,
	Syncing: 10, SyncedLinks: 20000}

// sizeKeys name the Sizes fields in String and ParseSizes.
var sizeKeys = []string{"workspaces", "servers", "users", "links", "audit", "jobs", "syncing", "synced_links"}

func (s *Sizes) fields() []*int {
	return []*int{&s.Workspaces, &s.Servers, &s.Users, &s.Links, &s.Audit, &s.Jobs, &s.Syncing, &s.SyncedLinks}
}

// String is the form ParseSizes reads: workspaces=1000,servers=50,….
func (s Sizes) String() string {
	parts := make([]string, len(sizeKeys))
	for i, f := range s.fields() {
		parts[i] = sizeKeys[i] + "=" + strconv.Itoa(*f)
	}
	return strings.Join(parts, ",")
}

// ParseSizes reads key=value pairs separated by commas; keys left out keep
// FullScale's value.
func ParseSizes(text string) (Sizes, error) {
	s := FullScale
	fields := s.fields()
	for _, part := range strings.Split(text, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		i := indexOf(sizeKeys, strings.TrimSpace(k))
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if i < 0 || err != nil || n < 0 {
			return Sizes{}, fmt.Errorf("harness: scale sizes: %q: want key=count with a key among %s", part, strings.Join(sizeKeys, ", "))
		}
		*fields[i] = n
	}
	if s.Links > 0 && (s.Workspaces == 0 || s.Servers == 0) {
		return Sizes{}, errors.New("harness: scale sizes: links need at least one workspace and one server")
	}
	if s.Users > 0 && s.Servers == 0 {
		return Sizes{}, errors.New("harness: scale sizes: users need at least one server for their credential")
	}
	if s.Workspaces > 0 && s.Servers == 0 {
		return Sizes{}, errors.New("harness: scale sizes: workspaces need at least one server to connect to")
	}
	if s.Syncing > s.Workspaces {
		return Sizes{}, errors.New("harness: scale sizes: the syncing connections are those of workspaces: at most one a workspace")
	}
	if s.SyncedLinks > 0 && s.Syncing == 0 {
		return Sizes{}, errors.New("harness: scale sizes: synced links need at least one syncing connection")
	}
	return s, nil
}

func indexOf(list []string, v string) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}

// Filled is what the scale generator added and how long it took.
type Filled struct {
	Sizes    Sizes
	Duration time.Duration
	Steps    []Step // each table's share of Duration
	// Synced is the first syncing connection (zero without one).
	Synced store.Connection
}

// Step is how long the generator took to fill one table.
type Step struct {
	Table    string
	Duration time.Duration
}

// String lists the steps: links=12.3s, ….
func (f Filled) String() string {
	parts := make([]string, len(f.Steps))
	for i, s := range f.Steps {
		parts[i] = fmt.Sprintf("%s=%.1fs", s.Table, s.Duration.Seconds())
	}
	return strings.Join(parts, " ")
}

// The generated records' gids: digits, like Asana's, in ranges of their
// own that neither emulator hands out.
const (
	scaleWorkspaceBase = 1400000000000000
	scaleProjectBase   = 1500000000000000
	scaleUserBase      = 1600000000000000
	scaleTaskBase      = 1700000000000000
	// scaleSyncOwner made the links of the syncing connections: a user no
	// longer connected to Jira, so reconciliation skips their links
	// without calling the generated servers, whose URLs do not resolve.
	scaleSyncOwner = "1600000099999999"
)

// ScaleUser is the gid of the i-th generated user.
func ScaleUser(i int) string { return strconv.Itoa(scaleUserBase + i) }

// fill adds sz to the bridge's store, in bulk (multi-row INSERTs in one
// transaction per table, every secret sealed with the bridge's key), and
// the workspaces and users to the Asana emulator. The servers other than
// the demo's are records only: their URLs do not resolve, and nothing
// calls them (the syncing connections' links were made by a user with no
// Jira credential, whom reconciliation skips, and their tasks are mapped
// to no project, so the Asana intake watches none of them); the links name
// issues that exist in no Jira (the Jira emulator finds an issue by
// scanning all of them, so a hundred thousand there would measure the
// emulator).
func (w *World) fill(ctx context.Context, a *app.App, sz Sizes) (Filled, error) {
	start := time.Now()
	f := Filled{Sizes: sz}
	st, kr := a.Store(), a.Keyring()
	now := time.Now().UTC().Truncate(time.Microsecond)
	seal := func(v string) ([]byte, error) {
		b, err := kr.Seal([]byte(v))
		if err != nil {
			return nil, fmt.Errorf("harness: scale: seal: %w", err)
		}
		return b, nil
	}

	servers := make([]string, sz.Servers)
	for i := range servers {
		srv := store.JiraServer{Name: fmt.Sprintf("Scale Jira %02d", i), BaseURL: fmt.Sprintf("https://jira-%02d.scale.invalid/jira", i),
			ConsumerKey: fmt.Sprintf("asanajira-scale-%02d", i), Version: "9.12.0",
			AuthMethods: []store.AuthMethod{store.AuthPAT, store.AuthOAuth1}, Status: setup.StatusConnected, CheckedAt: now}
		if err := st.CreateJiraServer(ctx, &srv); err != nil {
			return Filled{}, fmt.Errorf("harness: scale: server %d: %w", i, err)
		}
		servers[i] = srv.ID
	}
	f.Steps = append(f.Steps, Step{"jira_servers", time.Since(start)})
	serverOf := func(workspace int) string { return servers[workspace%len(servers)] }
	workspace := func(i int) string { return strconv.Itoa(scaleWorkspaceBase + i) }
	projectKey := func(server int) string { return fmt.Sprintf("SC%02d", server) }

	db := st.DB()
	steps := []struct {
		table string
		cols  []string
		n     int
		row   func(i int) ([]any, error)
	}{
		{"workspaces", []string{"gid", "name", "created_at"}, sz.Workspaces, func(i int) ([]any, error) {
			return []any{workspace(i), fmt.Sprintf("Scale workspace %04d", i), now}, nil
		}},
		{"connections", []string{"workspace_gid", "jira_server_id", "is_default", "created_at"}, sz.Workspaces, func(i int) ([]any, error) {
			return []any{workspace(i), serverOf(i), true, now}, nil
		}},
		{"project_routes", []string{"workspace_gid", "project_gid", "jira_server_id", "jira_project_key", "created_at"}, sz.Workspaces, func(i int) ([]any, error) {
			return []any{workspace(i), strconv.Itoa(scaleProjectBase + i), serverOf(i), projectKey(i % len(servers)), now}, nil
		}},
		{"asana_users", []string{"gid", "name", "email", "access_token", "refresh_token", "expiry", "reconnect_needed", "created_at", "updated_at"}, sz.Users,
			func(i int) ([]any, error) {
				access, err := seal(fmt.Sprintf("scale-asana-access-%d", i))
				if err != nil {
					return nil, err
				}
				refresh, err := seal(fmt.Sprintf("scale-asana-refresh-%d", i))
				if err != nil {
					return nil, err
				}
				return []any{ScaleUser(i), fmt.Sprintf("Scale user %05d", i), fmt.Sprintf("scale.user%05d@scale.example", i),
					access, refresh, now.Add(time.Hour), false, now, now}, nil
			}},
		{"jira_credentials", []string{"asana_user_gid", "jira_server_id", "method", "access_token", "jira_username", "jira_display_name",
			"reconnect_needed", "reconnect_reason", "created_at", "updated_at"}, sz.Users, func(i int) ([]any, error) {
			pat, err := seal(fmt.Sprintf("scale-pat-%d", i))
			if err != nil {
				return nil, err
			}
			return []any{ScaleUser(i), servers[i%len(servers)], string(store.AuthPAT), pat, fmt.Sprintf("scale%05d", i),
				fmt.Sprintf("Scale User %05d", i), false, "", now, now}, nil
		}},
		// Links oldest first, a minute apart, so ids and times agree; each
		// server's links are issues of its one project.
		{"links", []string{"workspace_gid", "task_gid", "jira_server_id", "issue_id", "issue_key", "issue_project", "created_by", "created_at"}, sz.Links,
			func(i int) ([]any, error) {
				ws := i % max(sz.Workspaces, 1)
				srv := ws % len(servers)
				n := i + 1
				owner := ScaleUser(i % max(sz.Users, 1))
				if ws < sz.Syncing {
					owner = scaleSyncOwner // reconciliation would call the server as a connected owner
				}
				return []any{workspace(ws), strconv.Itoa(scaleTaskBase + i), servers[srv], strconv.Itoa(200000 + n),
					projectKey(srv) + "-" + strconv.Itoa(n), projectKey(srv), owner,
					now.Add(-time.Duration(sz.Links-i) * time.Minute)}, nil
			}},
		{"audit_log", []string{"at", "actor", "action", "target", "detail"}, sz.Audit, func(i int) ([]any, error) {
			actions := [...]string{"server.verify", "server.methods", "sync.settings", "workspace.connect"}
			target := w.Server.ID
			if len(servers) > 0 {
				target = servers[i%len(servers)]
			}
			return []any{now.Add(-time.Duration(sz.Audit-i) * 30 * time.Second), w.Seed.Users["admin"], actions[i%len(actions)],
				target, "scale entry " + strconv.Itoa(i)}, nil
		}},
	}
	for _, s := range steps {
		if s.n == 0 {
			continue
		}
		t := time.Now()
		if err := bulkInsert(ctx, db, s.table, s.cols, s.n, s.row); err != nil {
			return Filled{}, err
		}
		f.Steps = append(f.Steps, Step{s.table, time.Since(t)})
	}
	t := time.Now()
	synced, err := fillSync(ctx, db, sz, servers, workspace, projectKey, now)
	if err != nil {
		return Filled{}, err
	}
	f.Synced = synced
	if sz.Syncing > 0 {
		f.Steps = append(f.Steps, Step{"sync", time.Since(t)})
	}
	t = time.Now()
	if err := fillJobs(ctx, db, st.Dialect(), sz.Jobs); err != nil {
		return Filled{}, err
	}
	f.Steps = append(f.Steps, Step{"river_job", time.Since(t)})
	for i := range sz.Workspaces {
		w.Demo.Asana.AddWorkspace(workspace(i), fmt.Sprintf("Scale workspace %04d", i))
	}
	for i := range sz.Users {
		w.Demo.Asana.AddUser(ScaleUser(i), fmt.Sprintf("Scale user %05d", i), fmt.Sprintf("scale.user%05d@scale.example", i))
	}
	// PostgreSQL's autovacuum gathers statistics on tables that grew this
	// much within a minute; the benchmark does not wait for it. SQLite has
	// none unless ANALYZE runs, which asanajira does not do: its planner
	// goes by the indexes alone, at scale as in an installation.
	if st.Dialect() == Postgres {
		if _, err := db.ExecContext(ctx, `ANALYZE jira_servers, workspaces, connections, project_routes, asana_users,
			jira_credentials, links, audit_log, river_job, sync_settings, sync_link_state, sync_changes, asana_task_projects`); err != nil {
			return Filled{}, fmt.Errorf("harness: scale: analyze: %w", err)
		}
	}
	f.Duration = time.Since(start)
	return f, nil
}

// bulkInsert inserts n rows into table, many to a statement, in one
// transaction.
func bulkInsert(ctx context.Context, db *sql.DB, table string, cols []string, n int, row func(i int) ([]any, error)) error {
	// A hundred rows a statement: SQLite's driver binds parameters at a
	// cost that grows with their number, so a thousand rows a statement
	// took five times as long (100,000 links: 31 s against 7 s).
	per := min(100, 30000/len(cols))
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("harness: scale: %s: %w", table, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	for first := 0; first < n; first += per {
		count := min(per, n-first)
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, count*len(cols))
		for i := first; i < first+count; i++ {
			vals, err := row(i)
			if err != nil {
				return err
			}
			if i > first {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range vals {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(len(args)+j+1))
			}
			b.WriteByte(')')
			args = append(args, vals...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("harness: scale: insert into %s: %w", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("harness: scale: %s: %w", table, err)
	}
	return nil
}

// fillSync switches sync on for the connections of the first sz.Syncing
// workspaces and gives them sz.SyncedLinks links (in blocks, so each
// connection's are consecutive), each link with its sync state as a run
// leaves it (synced now; one link in four showing an error) and four
// changes, two a side, all applied but the last of each side on one link
// in ten. The tasks are mapped to no project, checked now, as the Asana
// intake leaves a task it found in none. The state and changes are
// written from the links by the database, a statement a connection, with
// the link's connection as the store writes it (migration 022).
func fillSync(ctx context.Context, db *sql.DB, sz Sizes, servers []string, workspace func(int) string, projectKey func(int) string,
	now time.Time) (store.Connection, error) {
	if sz.Syncing == 0 {
		return store.Connection{}, nil
	}
	settings := []string{"workspace_gid", "jira_server_id", "enabled", "comments", "completion", "enabled_at", "updated_by", "updated_at"}
	if err := bulkInsert(ctx, db, "sync_settings", settings, sz.Syncing, func(i int) ([]any, error) {
		return []any{workspace(i), servers[i%len(servers)], true, true, true, now.Add(-time.Duration(sz.SyncedLinks+1) * time.Minute), "scale", now}, nil
	}); err != nil {
		return store.Connection{}, err
	}
	links := []string{"workspace_gid", "task_gid", "jira_server_id", "issue_id", "issue_key", "issue_project", "created_by", "created_at"}
	if err := bulkInsert(ctx, db, "links", links, sz.SyncedLinks, func(i int) ([]any, error) {
		ws := i * sz.Syncing / sz.SyncedLinks
		srv := ws % len(servers)
		n := sz.Links + i + 1
		return []any{workspace(ws), strconv.Itoa(scaleTaskBase + n - 1), servers[srv], strconv.Itoa(200000 + n),
			projectKey(srv) + "-" + strconv.Itoa(n), projectKey(srv), scaleSyncOwner,
			now.Add(-time.Duration(sz.SyncedLinks-i) * time.Minute)}, nil
	}); err != nil {
		return store.Connection{}, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return store.Connection{}, fmt.Errorf("harness: scale: sync: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// Each statement reads one connection's links ($1, $2).
	const ofConnection = ` FROM links WHERE workspace_gid = $1 AND jira_server_id = $2`
	type statement struct {
		q    string
		args []any
	}
	kinds := [...]string{"comment", "comment", "completion", "completion"}
	for k := range sz.Syncing {
		ws, srv := workspace(k), servers[k%len(servers)]
		stmts := []statement{
			{`INSERT INTO asana_task_projects (task_gid, project_gid, workspace_gid, checked_at) SELECT task_gid, '', workspace_gid, $3` + ofConnection,
				[]any{now}},
			{`INSERT INTO sync_link_state (link_id, workspace_gid, jira_server_id, baseline_at, asana_completed, jira_done, last_synced_at,
					updated_at)
				SELECT id, workspace_gid, jira_server_id, $3, $4, $4, $3, $3` + ofConnection, []any{now, false}},
			{`UPDATE sync_link_state SET last_error = 'Jira answered 404: the issue does not exist or you may not see it',
				last_error_at = last_synced_at WHERE link_id IN (SELECT id` + ofConnection + ` AND id % 4 = 0)`, nil},
		}
		for i, side := range []string{store.SideJira, store.SideAsana, store.SideJira, store.SideAsana} {
			at := now.Add(-time.Duration(4-i) * time.Minute)
			stmts = append(stmts, statement{`INSERT INTO sync_changes (link_id, workspace_gid, jira_server_id, side, source, dedup_key, kind,
					observed_at, received_at, applied_at, outcome)
				SELECT id, workspace_gid, jira_server_id, $3, 'webhook', $4, $5, $6, $6, $6, 'applied'` + ofConnection, []any{side, "scale:" + strconv.Itoa(i), kinds[i], at}})
		}
		stmts = append(stmts, statement{`UPDATE sync_changes SET applied_at = NULL, outcome = '' WHERE dedup_key IN ('scale:2', 'scale:3')
			AND link_id IN (SELECT id` + ofConnection + ` AND id % 10 = 0)`, nil})
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s.q, append([]any{ws, srv}, s.args...)...); err != nil {
				return store.Connection{}, fmt.Errorf("harness: scale: sync of connection %d: %w", k, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return store.Connection{}, fmt.Errorf("harness: scale: sync: %w", err)
	}
	return store.Connection{WorkspaceGID: workspace(0), JiraServerID: servers[0]}, nil
}

// fillJobs adds n finished jobs to river's table, as a day of creates
// leaves them (river keeps finished jobs a day): completed attachment
// copies and webhook applications, and one in a hundred discarded. They are
// written by the database's own series, stamped with its own clock as
// river stamps its rows.
func fillJobs(ctx context.Context, db *sql.DB, dialect string, n int) error {
	if n == 0 {
		return nil
	}
	now, state, args := "datetime('now', 'subsec')", "%s", "'{}'"
	if dialect == Postgres {
		now, state, args = "now()", "%s::river_job_state", "'{}'::jsonb"
	}
	for _, part := range []struct {
		kind, state string
		n           int
	}{
		{"copy_attachments", "completed", n / 2},
		{"apply_jira_event", "completed", n - n/2 - n/100},
		{"copy_attachments", "discarded", n / 100},
	} {
		if part.n == 0 {
			continue
		}
		//nolint:gosec // G202: the pieces joined are this function's constants, by dialect
		q := `WITH RECURSIVE series(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE i < $1)
			INSERT INTO river_job (args, attempt, attempted_at, created_at, finalized_at, kind, max_attempts, scheduled_at, state)
			SELECT ` + args + `, 1, ` + now + `, ` + now + `, ` + now + `, $2, 25, ` + now + `, ` + fmt.Sprintf(state, "'"+part.state+"'") + ` FROM series`
		if _, err := db.ExecContext(ctx, q, part.n, part.kind); err != nil {
			return fmt.Errorf("harness: scale: jobs: %w", err)
		}
	}
	return nil
}
