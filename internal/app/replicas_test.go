package app_test

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
)

// TestReplicasStartTogetherOnAFreshPostgres starts four `asanajira serve`
// processes at once on a new, empty schema, five times over: each must
// migrate (asanajira's tables and river's), start its queue and become
// ready. Unserialized, river's migrations collide (duplicate types and
// relations, a missing trigger, deadlocks) and replicas exit.
func TestReplicasStartTogetherOnAFreshPostgres(t *testing.T) {
	t.Parallel()
	const replicas, rounds = 4, 5
	bin := asanajiraBinary(t)
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for round := range rounds {
		url := pgtest.URL(t)
		env := []string{"ASANAJIRA_DATABASE_URL=" + url, "ASANAJIRA_SECRET_KEY=" + key, "ASANAJIRA_LISTEN=127.0.0.1:0"}
		procs := make([]*serveProcess, replicas)
		var wg sync.WaitGroup
		for i := range procs {
			wg.Go(func() {
				procs[i] = startServe(t, bin, fmt.Sprintf("round %d replica %d", round+1, i+1), env, "--log-level", "info")
			})
		}
		wg.Wait()
		for _, p := range procs {
			p.WaitReady()
		}
		for _, p := range procs {
			p.Stop()
		}
		assertRiverInSchema(t, url)
	}
}

// assertRiverInSchema checks that river's tables live in the schema the URL
// selects, beside asanajira's, and not in another one.
func assertRiverInSchema(t *testing.T, url string) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var schema string
	var river, store sql.NullString
	if err := db.QueryRowContext(t.Context(), `SELECT current_schema(), to_regclass(current_schema() || '.river_job')::text,
		to_regclass(current_schema() || '.schema_migrations')::text`).Scan(&schema, &river, &store); err != nil {
		t.Fatal(err)
	}
	if !river.Valid || !store.Valid {
		t.Fatalf("schema %s: river_job %v, schema_migrations %v; want both there", schema, river, store)
	}
}
