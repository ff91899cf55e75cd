package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
)

// serverFlags parses the settings shared by serve, migrate and secrets.
func serverFlags(env Env, name, synopsis, description string, args []string, extra func(fs *flag.FlagSet)) (config.Config, error) {
	cfg := config.Default()
	fs := newFlagSet(env, name, synopsis, description)
	ff := cfg.Flags(fs)
	if extra != nil {
		extra(fs)
	}
	rest, err := parseFlags(fs, args, env)
	if err != nil {
		return cfg, err
	}
	if len(rest) > 0 {
		return cfg, usageErrorf("unexpected argument %q", rest[0])
	}
	if err := ff.Resolve(os.ReadFile); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// newLogger builds the process logger from the config.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated already; the zero value is info
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

const serveDescription = `
Runs the bridge: the App Components endpoints Asana calls, the account
connection flows, the Jira webhook receiver, the admin console, and the job
queue. With no settings it uses ./asanajira.db (SQLite) and creates
./asanajira.key to seal tokens at rest; keep both, and back them up together.

With --database-url postgres://... several replicas may share one database;
they must share one --secret-key as well.

Operational endpoints: /healthz (alive), /readyz (database answers).
Prometheus metrics are served at /metrics on --metrics-listen only (e.g.
127.0.0.1:9464), never on --listen; without it they are not served.

SIGTERM or Ctrl-C stops taking requests, lets in-flight requests and
running jobs finish within --shutdown-timeout, then exits.`

func runServe(ctx context.Context, args []string, env Env) error {
	var printConfig bool
	cfg, err := serverFlags(env, "serve", "[flags]", serveDescription, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&printConfig, "print-config", false, "print the effective configuration (secrets redacted) as JSON and exit")
	})
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	if printConfig {
		if kind, path, err := cfg.Database(); err == nil && kind == config.SQLite && strings.TrimSpace(cfg.DatabaseURL) == "" {
			// Show the file serve opens, not the empty setting.
			cfg.DatabaseURL = "./" + path
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cfg.Redacted())
	}
	log := newLogger(env.Stderr, cfg)
	ln, err := app.Listen(ctx, cfg.Listen)
	if err != nil {
		return err
	}
	metrics, err := listenMetrics(ctx, cfg.MetricsListen)
	if err != nil {
		_ = ln.Close() // the start-up error is the one to report
		return err
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		closeListeners(ln, metrics) // the start-up error is the one to report
		return err
	}
	defer a.Close()
	return runWithMetrics(ctx, a, ln, metrics, log)
}

func runMigrate(ctx context.Context, args []string, env Env) error {
	cfg, err := serverFlags(env, "migrate", "[flags]", `
Applies asanajira's and the job queue's database migrations, then exits.
serve migrates on start too; run this to migrate ahead of a rolling upgrade.`, args, nil)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	if err := app.Migrate(ctx, cfg, newLogger(env.Stderr, cfg)); err != nil {
		return err
	}
	kind, _, _ := cfg.Database()
	fmt.Fprintf(env.Stdout, "%s database is up to date\n", kind)
	return nil
}
