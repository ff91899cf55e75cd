package app

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/version"
)

// openAndMigrate opens the database and applies asanajira's migrations,
// recording this build's version beside them. A database migrated by a
// newer asanajira is refused (store.ErrSchemaTooNew) before anything
// changes. On SQLite, a database that already holds data is copied beside
// itself before the first migration runs, and the store writes through one
// connection (which the job queue shares) and reads from a read-only pool.
func openAndMigrate(ctx context.Context, kind, target string, sealer store.Sealer, log *slog.Logger) (*store.SQL, error) {
	opts := store.MigrateOptions{AppVersion: version.Get().Version}
	var (
		db      *sql.DB
		dialect store.Dialect
		err     error
	)
	switch kind {
	case config.SQLite:
		if db, err = sqlite.OpenWriter(ctx, target, log); err != nil {
			return nil, err
		}
		dialect = sqlite.Dialect
		opts.BeforeApply = sqlite.BackupBeforeMigrating(db, target, time.Now, func(backup string, from int, pending []int) {
			log.Info("backed up the database before migrating it; keep the copy with the key file until the upgrade is proven",
				slog.String("backup", backup), slog.Int("from_schema", from), slog.Int("to_schema", pending[len(pending)-1]))
		})
		_, err = sqlite.MigrateWith(ctx, db, opts)
	default:
		if db, err = postgres.OpenDB(ctx, target); err != nil {
			return nil, err
		}
		dialect = postgres.Dialect
		_, err = postgres.MigrateWith(ctx, db, opts)
	}
	if err != nil {
		_ = db.Close() // the migration error explains why
		return nil, err
	}
	if kind == config.SQLite {
		return sqlite.NewStore(ctx, db, target, sealer, nil)
	}
	return store.NewSQL(db, dialect, sealer, nil), nil
}
