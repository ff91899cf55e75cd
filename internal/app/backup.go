package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/store/sqlite"
)

// BackupResult says what Backup did, or on PostgreSQL what to run.
type BackupResult struct {
	Kind    string // config.SQLite or config.Postgres
	File    string // SQLite: the copy written
	Dump    string // PostgreSQL: the pg_dump command line, password left out
	Restore string // PostgreSQL: the matching pg_restore command line
	Key     string // where the sealing key is, which must be backed up too
}

// Backup writes a consistent copy of the SQLite database to out while the
// server may keep running, or, on PostgreSQL, returns the pg_dump command
// that writes out. It never migrates or changes the database.
func Backup(ctx context.Context, cfg config.Config, out string) (BackupResult, error) {
	kind, target, err := cfg.Database()
	if err != nil {
		return BackupResult{}, err
	}
	res := BackupResult{Kind: kind, Key: keyLocation(cfg, kind)}
	if kind == config.Postgres {
		res.Dump, res.Restore, err = pgDumpCommands(target, out)
		return res, err
	}
	if _, err := os.Stat(target); err != nil {
		return res, fmt.Errorf("no SQLite database to back up at %s (set --database-url): %w", target, err)
	}
	db, err := sqlite.OpenDB(ctx, target)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if err := sqlite.Backup(ctx, db, out); err != nil {
		return res, err
	}
	res.File = out
	return res, nil
}

// keyLocation names where this configuration's sealing key lives.
func keyLocation(cfg config.Config, kind string) string {
	switch {
	case cfg.SecretKeyFile != "":
		return "the key file " + cfg.SecretKeyFile
	case cfg.SecretKey != "":
		return "the key given with --secret-key (ASANAJIRA_SECRET_KEY)"
	case kind == config.SQLite:
		return "the key file " + cfg.KeyFilePath()
	}
	return "the key given with --secret-key or --secret-key-file"
}

// pgDumpCommands turns the server's database URL into pg_dump and pg_restore
// command lines. The password is left out (PGPASSWORD or ~/.pgpass give it),
// parameters only pgx understands are dropped, and a search_path becomes
// --schema, so the commands work with libpq's tools as printed.
func pgDumpCommands(dbURL, out string) (dump, restore string, err error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", "", errors.New("--database-url (ASANAJIRA_DATABASE_URL) is not a valid URL")
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	schema := q.Get("search_path")
	for k := range q {
		if k == "search_path" || strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" ||
			k == "statement_cache_capacity" || k == "description_cache_capacity" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	dumpArgs := []string{"pg_dump", "--format=custom", "--file=" + shellQuote(out)}
	if schema != "" {
		dumpArgs = append(dumpArgs, "--schema="+shellQuote(schema))
	}
	dumpArgs = append(dumpArgs, "--dbname="+shellQuote(u.String()))
	restoreArgs := []string{"pg_restore", "--no-owner", "--exit-on-error", "--dbname=" + shellQuote(u.String()), shellQuote(out)}
	return strings.Join(dumpArgs, " "), strings.Join(restoreArgs, " "), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
