package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
)

const backupDescription = `
Backs up asanajira's database. On SQLite it writes a consistent copy of the
database file to --out (VACUUM INTO) while serve may keep running; restore by
stopping serve and putting the copy in the database's place. On PostgreSQL it
prints the pg_dump command that writes --out, and the pg_restore command that
restores it.

The database alone is not enough: tokens and keys in it are sealed with the
sealing key (--secret-key, --secret-key-file, or asanajira.key beside the
SQLite file). Back the key up too, and keep its copy apart from the
database backups: whoever holds both can read every token.`

func runBackup(ctx context.Context, args []string, env Env) error {
	var out string
	cfg, err := serverFlags(env, "backup", "--out FILE [flags]", backupDescription, args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "file to write the backup to (it must not exist yet)")
	})
	if err != nil {
		return err
	}
	if out == "" {
		return usageErrorf("--out FILE is required")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	res, err := app.Backup(ctx, cfg, out)
	if err != nil {
		return err
	}
	if res.Kind == config.Postgres {
		fmt.Fprintln(env.Stdout, "asanajira's data is in PostgreSQL: back it up with pg_dump (the password is left out; give it")
		fmt.Fprintln(env.Stdout, "with PGPASSWORD or ~/.pgpass):")
		fmt.Fprintln(env.Stdout)
		fmt.Fprintln(env.Stdout, "  "+res.Dump)
		fmt.Fprintln(env.Stdout)
		fmt.Fprintln(env.Stdout, "Restore it into an empty database, with every asanajira replica stopped:")
		fmt.Fprintln(env.Stdout)
		fmt.Fprintln(env.Stdout, "  "+res.Restore)
	} else {
		fmt.Fprintf(env.Stdout, "Wrote a consistent copy of the SQLite database to %s.\n", res.File)
		fmt.Fprintln(env.Stdout, "To restore: stop serve, put the copy in the database's place (remove any -wal and -shm")
		fmt.Fprintln(env.Stdout, "files beside it), start serve.")
	}
	fmt.Fprintln(env.Stdout)
	fmt.Fprintf(env.Stdout, "Back up the sealing key with it: %s. Without the key, the tokens and keys in the\n", res.Key)
	fmt.Fprintln(env.Stdout, "backup cannot be opened.")
	return nil
}
