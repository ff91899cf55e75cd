package queryplan

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/store"
)

// TestSyncRowsReadRangesByConnection checks the statements of a Sync page
// row (SyncConnectionStatus, CountConnectionLinks) and of a connection's
// links with an error (ListSyncLinkErrors): each figure is a range of an
// index by connection (migration 022), so a row costs the same however
// many links its connection has. Besides finding their rows by index,
// they must go by those indexes: none may reach the changes or the states
// through the connection's links (a read of every one of them), and none
// may sort (SQLite: a temporary b-tree).
func TestSyncRowsReadRangesByConnection(t *testing.T) {
	t.Parallel()
	for _, db := range []string{harness.SQLite, harness.Postgres} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			w, rec := startRecorded(t, db)
			ctx := t.Context()
			st := w.App.Store()
			ws, srv := w.Seed.Workspace, w.Server.ID
			// A link with a change waiting each way and an error, so that
			// every statement runs.
			l := store.Link{WorkspaceGID: ws, TaskGID: "9900000000000001", JiraServerID: srv, IssueID: "990001", IssueKey: "DEMO-9901",
				CreatedBy: w.Alice}
			if err := st.CreateLink(ctx, &l); err != nil {
				t.Fatal(err)
			}
			for _, side := range []string{store.SideJira, store.SideAsana} {
				c := store.SyncChange{LinkID: l.ID, Side: side, Source: "webhook", DedupKey: "plan:" + side, Kind: "comment"}
				if _, err := st.RecordSyncChange(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			state, err := st.AcquireSyncLease(ctx, l.ID, "plan", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			state.LastSyncedAt, state.LastError, state.LastErrorAt = time.Now(), "no transition to Done", time.Now()
			if err := st.SaveSyncLinkState(ctx, state, "plan"); err != nil {
				t.Fatal(err)
			}
			rec.during("a Sync page row")
			status, err := st.SyncConnectionStatus(ctx, ws, srv, "resync")
			if err != nil {
				t.Fatal(err)
			}
			if status.Jira.Pending != 1 || status.Asana.Pending != 1 || status.Errors != 1 || status.Jira.Oldest.ID == 0 {
				t.Fatalf("status %+v: the link's changes and error are not counted", status)
			}
			if _, err := st.CountConnectionLinks(ctx, ws, srv); err != nil {
				t.Fatal(err)
			}
			rec.during("a connection's links with an error")
			if errs, err := st.ListSyncLinkErrors(ctx, ws, srv, 50); err != nil || len(errs) != 1 {
				t.Fatalf("link errors: %+v, %v", errs, err)
			}
			stmts := rec.stop()
			if len(stmts) < 6 {
				t.Fatalf("%d statements recorded, want the row's and the errors'", len(stmts))
			}
			rdb := readDB(t, w)
			for _, s := range stmts {
				var problems []string
				var plan string
				if w.Database == harness.SQLite {
					problems = sqlitePlan(t, rdb, s)
					plan = sqlitePlanText(t, rdb, s)
					if strings.Contains(plan, "TEMP B-TREE") {
						problems = append(problems, "sorts")
					}
				} else {
					problems = postgresPlan(t, rdb, s)
					plan = postgresIndexes(t, rdb, s)
				}
				q := oneLine(s.query)
				for _, table := range []string{"sync_changes", "sync_link_state"} {
					if strings.Contains(q, " "+table+" ") && !strings.Contains(plan, table+"_connection") && !strings.Contains(plan, table+"_errors") {
						problems = append(problems, "reads "+table+" by no index of 022:\n"+plan)
					}
				}
				// The changes waiting are the partial index's entries
				// alone: the full one would read every change of the side
				// until the first waiting.
				if strings.Contains(q, "applied_at IS NULL") && !strings.Contains(plan, "sync_changes_connection_pending") {
					problems = append(problems, "reads the changes waiting by an index of every change:\n"+plan)
				}
				// A link is joined by its key only (the count of a
				// connection's links is the range of links_connection).
				if strings.Contains(q, " JOIN links ") && strings.Contains(plan, "links_connection") {
					problems = append(problems, "reaches the sync rows through the connection's links:\n"+plan)
				}
				for _, p := range problems {
					t.Errorf("%s ran a statement that %s:\n%s", s.path, p, q)
				}
			}
		})
	}
}

// postgresIndexes is the names of the indexes a statement's plan reads,
// one a line.
func postgresIndexes(t *testing.T, db *sql.DB, s statement) string {
	t.Helper()
	var raw []byte
	if err := db.QueryRowContext(t.Context(), "EXPLAIN (FORMAT JSON) "+s.query, s.args...).Scan(&raw); err != nil {
		t.Fatalf("EXPLAIN: %v\n%s", err, oneLine(s.query))
	}
	var plans []struct {
		Plan node `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &plans); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range plans {
		p.Plan.walk(func(n node) {
			if n.Index != "" {
				b.WriteString(n.Type + " " + n.Index + "\n")
			}
		})
	}
	return b.String()
}
