package store_test

import (
	"os"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/store"
)

// TestNextJiraDeliveryIDsReadsTheKeyRange: SQLite reads the deliveries
// after an id by the primary key's range, not every delivery of the
// server by the unique key, sorted (each with its payload's pages: every
// job after a burst asks).
func TestNextJiraDeliveryIDsReadsTheKeyRange(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := databases(t)["sqlite"](t)
	if _, err := store.Migrate(ctx, db, os.DirFS("sqlite/migrations")); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+store.NextJiraDeliveryIDsQuery, int64(1), "server", 512)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var (
			id, parent, unused int
			detail             string
		)
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "INTEGER PRIMARY KEY (rowid>?)") || strings.Contains(got, "TEMP B-TREE") {
		t.Fatalf("plan %q, want the primary key's range and no sort", got)
	}
}
