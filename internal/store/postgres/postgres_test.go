package postgres_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/storetest"
)

func newStore(t *testing.T, sealer store.Sealer, now func() time.Time) store.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.URL(t), sealer, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStore)
}

func TestConformanceThroughConfigCache(t *testing.T) {
	t.Parallel()
	storetest.RunConfigCache(t, newStore)
}

func TestNoPlaintextInRows(t *testing.T) {
	t.Parallel()
	c := time.Now()
	s := newStore(t, storetest.NewSealer(t), func() time.Time { return c })
	plain := storetest.WriteSecrets(t, s, c)
	for _, table := range []string{"jira_servers", "asana_users", "jira_credentials", "auth_states"} {
		// Each row as text, bytea columns in their hex form and, to be sure,
		// decoded as UTF-8 where possible.
		dump := dumpTable(t, s, table)
		for _, p := range plain {
			if strings.Contains(dump, p) || strings.Contains(dump, hexOf(p)) {
				t.Errorf("table %s holds %q in the clear", table, p)
			}
		}
	}
}

func dumpTable(t *testing.T, s store.Store, table string) string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), `SELECT t::text FROM `+table+` t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var dump strings.Builder
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			t.Fatal(err)
		}
		dump.WriteString(row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return dump.String()
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := range len(s) {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := postgres.OpenDB(t.Context(), url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			_, err = postgres.Migrate(t.Context(), db)
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(files) {
		t.Fatalf("schema_migrations has %d rows, want one per migration (%d)", n, len(files))
	}
}

func TestOpenErrorsHideTheURL(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url  string
		want string
	}{
		"unparsable":  {"postgres://user:s3cret-pw@[::1:5432/db", "cannot parse the URL"},
		"nobody home": {"postgres://user:s3cret-pw@127.0.0.1:1/db?connect_timeout=2", "cannot reach the database"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := postgres.OpenDB(t.Context(), tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

// TestMigration002 runs migration 002 over rows written by the earlier
// schema.
func TestMigration002(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := postgres.OpenDB(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.Migration002(t, db, func() error {
		b, err := os.ReadFile("migrations/001_initial.sql")
		if err != nil {
			return err
		}
		_, err = store.Migrate(ctx, db, fstest.MapFS{"001_initial.sql": {Data: b}})
		return err
	}, func() (store.Store, error) {
		_, err := postgres.Migrate(ctx, db)
		return store.NewSQL(db, postgres.Dialect, storetest.NewSealer(t), nil), err
	})
}

// TestDeliveryPayloadsSkipPglz checks migration 019: a stored delivery's
// payload is compressed with lz4 where the server has it, and left
// uncompressed where it has not, never with the default pglz (four times
// the database's time per delivery).
func TestDeliveryPayloadsSkipPglz(t *testing.T) {
	t.Parallel()
	s := newStore(t, storetest.NewSealer(t), nil)
	srv := store.JiraServer{Name: "Jira", BaseURL: "https://jira.example"}
	if err := s.CreateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"webhookEvent":"jira:issue_updated","issue":{"fields":{"description":"` +
		strings.Repeat("a long description that compresses well ", 400) + `"}}}`)
	ds := []store.JiraDelivery{{JiraServerID: srv.ID, DedupKey: "k", Event: "jira:issue_updated",
		Payload: payload, ExpiresAt: time.Now().Add(time.Hour)}}
	if err := s.AddJiraDeliveries(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	var lz4Column bool
	var storage, stored string
	if err := s.DB().QueryRowContext(t.Context(), `SELECT a.attcompression = 'l', a.attstorage::text,
			coalesce(pg_column_compression(d.payload), 'none')
		FROM pg_attribute a, jira_deliveries d
		WHERE a.attrelid = 'jira_deliveries'::regclass AND a.attname = 'payload' AND d.id = $1`, ds[0].ID).
		Scan(&lz4Column, &storage, &stored); err != nil {
		t.Fatal(err)
	}
	want := "lz4"
	if !lz4Column {
		want = "none"
		if storage != "e" {
			t.Errorf("payload storage %q, want e (external, uncompressed) where lz4 is not available", storage)
		}
	}
	if stored != want {
		t.Errorf("stored payload compressed with %s, want %s", stored, want)
	}
}

// TestLinkOfCreateCommitsWithoutFlushOnlyItself: a create's link commits
// without waiting for the log flush, and the setting ends with its
// statement: the next statement on the same connection (a claim, whose
// flush cannot be skipped) commits synchronously again.
func TestLinkOfCreateCommitsWithoutFlushOnlyItself(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t, storetest.NewSealer(t), nil)
	db := s.(interface{ DB() *sql.DB }).DB()
	db.SetMaxOpenConns(1)
	srv := store.JiraServer{Name: "Jira", BaseURL: "https://jira.example"}
	if err := s.CreateJiraServer(ctx, &srv); err != nil {
		t.Fatal(err)
	}
	l := store.Link{WorkspaceGID: "1", TaskGID: "2", JiraServerID: srv.ID, IssueID: "10001", IssueKey: "OPS-1", CreatedBy: "3"}
	if err := s.CreateLinkOfCreate(ctx, &l, store.LinkOfCreate{CopyPending: true}); err != nil {
		t.Fatal(err)
	}
	var setting string
	if err := db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "on" {
		t.Errorf("synchronous_commit after the link = %q, want on", setting)
	}
	if _, err := s.GetLinkByTask(ctx, srv.ID, "2"); err != nil {
		t.Errorf("link not stored: %v", err)
	}
}
