package store_test

import (
	"io/fs"
	"os"
	"testing"
	"testing/fstest"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// TestMigration022CopiesTheConnectionOfSyncRows upgrades a database whose
// sync changes and link states were written before migration 022: each
// gets its link's connection, which the Sync page reads them by.
func TestMigration022CopiesTheConnectionOfSyncRows(t *testing.T) {
	t.Parallel()
	for name, open := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := open(t)
			dir := os.DirFS(name + "/migrations")
			before := fstest.MapFS{}
			files, err := fs.Glob(dir, "*.sql")
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if f < "022" {
					data, err := fs.ReadFile(dir, f)
					if err != nil {
						t.Fatal(err)
					}
					before[f] = &fstest.MapFile{Data: data}
				}
			}
			if _, err := store.Migrate(ctx, db, before); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO jira_servers (id, name, base_url, created_at, updated_at) VALUES ('s1', 'One', 'https://one.example', '2026-11-30 10:00:00', '2026-11-30 10:00:00')`,
				`INSERT INTO jira_servers (id, name, base_url, created_at, updated_at) VALUES ('s2', 'Two', 'https://two.example', '2026-11-30 10:00:00', '2026-11-30 10:00:00')`,
				`INSERT INTO workspaces (gid, name, created_at) VALUES ('w1', 'W', '2026-11-30 10:00:00')`,
				`INSERT INTO links (workspace_gid, task_gid, jira_server_id, issue_id, issue_key, created_at)
					VALUES ('w1', 't1', 's1', '10001', 'ONE-1', '2026-11-30 10:00:00'), ('w1', 't2', 's2', '20001', 'TWO-1', '2026-11-30 10:00:00')`,
				`INSERT INTO sync_changes (link_id, side, source, dedup_key, kind, received_at)
					SELECT id, 'jira', 'webhook', 'a', 'comment', created_at FROM links`,
				`INSERT INTO sync_link_state (link_id, updated_at) SELECT id, created_at FROM links`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
			}
			if _, err := store.Migrate(ctx, db, dir); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"sync_changes", "sync_link_state"} {
				var got [][3]string
				func() {
					rows, err := db.QueryContext(ctx, `SELECT l.task_gid, s.workspace_gid, s.jira_server_id FROM `+table+` s
						JOIN links l ON l.id = s.link_id ORDER BY l.task_gid`)
					if err != nil {
						t.Fatal(err)
					}
					defer rows.Close()
					for rows.Next() {
						var r [3]string
						if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
							t.Fatal(err)
						}
						got = append(got, r)
					}
					if err := rows.Err(); err != nil {
						t.Fatal(err)
					}
				}()
				if diff := cmp.Diff([][3]string{{"t1", "w1", "s1"}, {"t2", "w1", "s2"}}, got); diff != "" {
					t.Errorf("%s after 022 (-want +got):\n%s", table, diff)
				}
			}
		})
	}
}
