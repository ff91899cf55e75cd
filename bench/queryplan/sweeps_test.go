package queryplan

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
)

// TestSweepsReadOnlySyncedConnections checks the reads of the periodic
// sweeps that scale with the links: reconciliation's links of a server
// (ListSyncedLinks, once per server every pass) and the Asana intake's
// tasks to map (AsanaTasksToMap, every poll tick). Both start from the
// connections that sync (a partial index, sync_settings_enabled: its scan
// reads only those) and reach their links by key, so links of connections
// that do not sync are never read.
func TestSweepsReadOnlySyncedConnections(t *testing.T) {
	t.Parallel()
	for _, db := range []string{harness.SQLite, harness.Postgres} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			w, rec := startRecorded(t, db)
			ctx := t.Context()
			st := w.App.Store()
			servers, err := st.ListJiraServers(ctx)
			if err != nil || len(servers) == 0 {
				t.Fatalf("servers: %v, %v", servers, err)
			}
			rec.during("reconciliation")
			if _, err := st.ListSyncedLinks(ctx, servers[0].ID); err != nil {
				t.Fatal(err)
			}
			rec.during("the Asana intake's task map")
			if _, err := st.AsanaTasksToMap(ctx, time.Now(), 50); err != nil {
				t.Fatal(err)
			}
			stmts := rec.stop()
			if len(stmts) != 2 {
				t.Fatalf("%d statements recorded, want 2", len(stmts))
			}
			rdb := readDB(t, w)
			for _, s := range stmts {
				var problems []string
				if w.Database == harness.SQLite {
					problems = sqlitePlan(t, rdb, s)
					// Every link found by key is not enough: the links must
					// be reached from the connections that sync, not read
					// (by server, or by task) and then checked.
					if !strings.Contains(sqlitePlanText(t, rdb, s), "SEARCH s USING INDEX sync_settings_enabled") &&
						!strings.Contains(sqlitePlanText(t, rdb, s), "SCAN s USING INDEX sync_settings_enabled") {
						problems = append(problems, "does not start from the connections that sync:\n"+sqlitePlanText(t, rdb, s))
					}
				} else {
					problems = postgresPlan(t, rdb, s)
				}
				for _, p := range problems {
					if strings.Contains(p, "sync_settings_enabled") {
						continue // the connections that sync, and only those
					}
					t.Errorf("%s ran a statement that %s:\n%s", s.path, p, oneLine(s.query))
				}
			}
		})
	}
}

// startRecorded starts a world on db whose store reports its statements
// to the returned recorder (off until during is called).
func startRecorded(t *testing.T, db string) (*harness.World, *recorder) {
	t.Helper()
	opts := harness.Options{Database: db, Users: 1}
	if db == harness.Postgres {
		opts.PostgresURL = pgtest.URL(t)
	}
	rec := &recorder{seen: map[string]bool{}}
	opts.Prepare = func(_ context.Context, _ *harness.World, st store.Store) error {
		o, ok := st.(interface {
			ObserveQueries(func(context.Context, string, []any))
		})
		if !ok {
			return fmt.Errorf("the store %T cannot report its statements", st)
		}
		o.ObserveQueries(rec.observe)
		return nil
	}
	w, err := harness.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w, rec
}

// sqlitePlanText is EXPLAIN QUERY PLAN's details, one a line.
func sqlitePlanText(t *testing.T, db *sql.DB, s statement) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+s.query, s.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestLinkCopyClaimsUseTheirIndexes checks the claims of a link's pending
// copy job: the request's, by the link's key (ClaimLinkCopy), and the
// sweep's of the marks no request cleared (ClaimLinkCopies), which must
// read the marked links through their partial index (links_copy_pending)
// and so never the links whose job was enqueued long ago.
func TestLinkCopyClaimsUseTheirIndexes(t *testing.T) {
	t.Parallel()
	for _, db := range []string{harness.SQLite, harness.Postgres} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			w, rec := startRecorded(t, db)
			ctx := t.Context()
			st := w.App.Store()
			rec.during("the request's claim of its link's copy")
			must(t, st.InTx(ctx, func(tx store.Tx) error {
				_, _, err := tx.ClaimLinkCopy(ctx, 1)
				return err
			}))
			rec.during("the sweep of pending copies")
			must(t, st.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.ClaimLinkCopies(ctx, time.Now().Add(-time.Hour), 100)
				return err
			}))
			stmts := rec.stop()
			if len(stmts) != 2 {
				t.Fatalf("%d statements recorded, want 2", len(stmts))
			}
			checkSweep(t, w, stmts, stmts[1], "links_copy_pending", "the marked links")
		})
	}
}

// checkSweep checks that none of stmts scans a whole table, and that the
// sweep's read (sweep) reads what it sweeps (what) by its index.
func checkSweep(t *testing.T, w *harness.World, stmts []statement, sweep statement, index, what string) {
	t.Helper()
	rdb := readDB(t, w)
	for _, s := range stmts {
		for _, p := range planProblems(t, w, rdb, s) {
			t.Errorf("%s ran a statement that %s:\n%s", s.path, p, oneLine(s.query))
		}
	}
	var plan string
	if w.Database == harness.SQLite {
		plan = sqlitePlanText(t, rdb, sweep)
	} else {
		plan = postgresPlanText(t, rdb, sweep)
	}
	if !strings.Contains(plan, index) {
		t.Errorf("the sweep does not read %s by their index:\n%s", what, plan)
	}
}

// postgresPlanText is EXPLAIN's text, planned as postgresPlan plans
// (sequential scans last), so that a small table is not read whole.
func postgresPlanText(t *testing.T, db *sql.DB, s statement) string {
	t.Helper()
	tx := withoutSeqScans(t, db)
	defer tx.Rollback() //nolint:errcheck // EXPLAIN changes nothing
	rows, err := tx.QueryContext(t.Context(), "EXPLAIN "+s.query, s.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestUnresolvedCreationsUseTheirIndex checks the sweep of creations'
// claims left unresolved: its list (ListUnresolvedCreations) must read the
// claims through their partial index (idempotency_keys_unresolved_creations)
// and so never the completed claims of every create, its take-over
// (TakeOverIdempotencyKey) goes by the claim's key, and the cleanup that
// keeps those claims for it (DeleteExpired) still reads only the expired
// keys, and its removal of the unresolved claims a week old (which it
// names: DeleteAbandonedCreations) reads those through the partial index
// too. A user's reconnect brings their claims put off for it due
// (WakeCreationsAwaitingReconnect) through the same partial index, so it
// reads the unresolved claims not yet due alone.
func TestUnresolvedCreationsUseTheirIndex(t *testing.T) {
	t.Parallel()
	for _, db := range []string{harness.SQLite, harness.Postgres} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			w, rec := startRecorded(t, db)
			ctx := t.Context()
			st := w.App.Store()
			now := time.Now()
			rec.during("the sweep's list of unresolved creations")
			if _, err := st.ListUnresolvedCreations(ctx, now, 100); err != nil {
				t.Fatal(err)
			}
			rec.during("the sweep's take-over of one")
			k := store.IdempotencyKey{Scope: store.CreationScope, Key: "js_1:1", ExpiresAt: now.Add(2 * time.Minute), WorkspaceGID: "1", UserGID: "2"}
			if _, err := st.TakeOverIdempotencyKey(ctx, k, nil, now); err != nil {
				t.Fatal(err)
			}
			rec.during("the cleanup, which keeps them for the sweep")
			if _, err := st.DeleteExpired(ctx, now); err != nil {
				t.Fatal(err)
			}
			rec.during("the cleanup's removal of those a week old")
			if _, err := st.DeleteAbandonedCreations(ctx, now); err != nil {
				t.Fatal(err)
			}
			rec.during("a user's reconnect, which brings their claims put off for it due")
			if _, err := st.WakeCreationsAwaitingReconnect(ctx, "js_1", "2", now); err != nil {
				t.Fatal(err)
			}
			stmts := rec.stop()
			if len(stmts) < 5 {
				t.Fatalf("%d statements recorded, want the list, the take-over, the cleanup's two and the reconnect's", len(stmts))
			}
			checkSweep(t, w, stmts, stmts[0], "idempotency_keys_unresolved_creations", "the unresolved claims")
			checkSweep(t, w, nil, stmts[len(stmts)-2], "idempotency_keys_unresolved_creations", "the claims given up")
			checkSweep(t, w, nil, stmts[len(stmts)-1], "idempotency_keys_unresolved_creations", "the claims put off")
		})
	}
}
