package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/demo"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/httpx"
)

const demoDescription = `
Runs the whole product on this machine: the Jira Server emulator, the Asana
emulator with its task pane, and the asanajira bridge on SQLite, wired
together. The app is registered on the Asana emulator; the Jira emulator is
connected (application link and webhook) and the Acme workspace routed to it
by setup.yaml, which the demo writes into the data folder and applies as
'asanajira apply' does.

Users on both emulators: admin/admin (administrator), alice/alice, bob/bob;
Asana personal access tokens pat-admin, pat-alice, pat-bob.

Open the Asana URL it prints and sign in as alice. Add the app to the
Launch project: Customize → Apps → + Add app (Jira Server) → Continue; a
popup asks alice to allow asanajira on Asana, then on Jira. Then, on a task,
Jira Server ▾ offers Create new issue and Link existing issue. demo.json in
the data folder lists every URL, token, the app registration and the seeded
IDs, for scripts. Ctrl-C stops everything.

The admin console (the bridge's /admin/) lets in Asana's admin user; --admins
alice lets alice in too.

The emulators keep their data in memory: with an existing --data folder the
bridge resumes, the emulators start fresh and users authorize again.`

func runDemo(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "demo", "[flags]", demoDescription)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the bridge")
	jiraListen := fs.String("jira-listen", "127.0.0.1:2990", "address of the Jira emulator (served under /jira)")
	asanaListen := fs.String("asana-listen", "127.0.0.1:3000", "address of the Asana emulator")
	version := fs.String("jira-version", fakejira.DefaultVersion, "Jira version to emulate: "+strings.Join(fakejira.Versions(), ", "))
	data := fs.String("data", "", "folder for the bridge's database, key and demo.json (default: a new temporary folder)")
	metricsListen := fs.String("metrics-listen", "", "address serving the bridge's Prometheus metrics at /metrics, e.g. 127.0.0.1:9464\n(default: not served)")
	noBrowser := fs.Bool("no-browser", false, "do not open the task pane in a browser")
	verbose := fs.Bool("verbose", false, "log every request to the bridge and debug detail (default: only failed requests)")
	intake := fs.String("asana-intake", "events", "how the bridge learns of changes in Asana: events (polling) or webhooks\n(the Asana emulator delivers them to the bridge on this machine)")
	poll := fs.Duration("asana-poll-interval", demo.DefaultAsanaPollInterval, "how often an Asana project with recent changes is polled (at least 1s)")
	reconcile := fs.Duration("reconcile-interval", demo.DefaultReconcileInterval, "how often Jira is searched for changes whose webhook never arrived (at least 1s)")
	var admins []string
	fs.Func("admins", "more Asana users allowed into the admin console besides admin: a comma-separated `list`\nof demo users (alice, bob), Asana user gids or emails", func(s string) error {
		admins = nil
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				admins = append(admins, a)
			}
		}
		return demo.CheckAdmins(admins)
	})
	rest, err := parseFlags(fs, args, env)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	known := false
	for _, v := range fakejira.Versions() {
		known = known || v == *version
	}
	if !known {
		return usageErrorf("unknown --jira-version %q: choose one of %s", *version, strings.Join(fakejira.Versions(), ", "))
	}
	// The sync settings are serve's; the demo's bridge is public.
	probe := config.Default()
	probe.Public, probe.AsanaIntake, probe.AsanaPollInterval, probe.ReconcileInterval = true, *intake, *poll, *reconcile
	if err := probe.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	if *data == "" {
		if *data, err = os.MkdirTemp("", "asanajira-demo-"); err != nil {
			return fmt.Errorf("create a data folder: %w", err)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	var handler slog.Handler = slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level})
	if !*verbose {
		handler = quietAccessLog{handler}
	}
	log := slog.New(handler)

	metrics, err := listenMetrics(ctx, *metricsListen)
	if err != nil {
		return err
	}
	d, err := demo.Start(ctx, demo.Options{DataDir: *data, JiraListen: *jiraListen, AsanaListen: *asanaListen,
		BridgeListen: *listen, JiraVersion: *version, Admins: admins, Log: log})
	if err != nil {
		closeListeners(metrics) // the start-up error is the one to report
		return err
	}
	defer d.Close(ctx)
	d.Config.AsanaIntake, d.Config.AsanaPollInterval, d.Config.ReconcileInterval = *intake, *poll, *reconcile
	a, err := app.New(ctx, d.Config, log.With("component", "bridge"))
	if err != nil {
		closeListeners(d.BridgeListener, metrics)
		return err
	}
	defer a.Close()
	if _, err := d.Provision(ctx, a.Setup()); err != nil {
		closeListeners(d.BridgeListener, metrics)
		return err
	}
	path, err := d.WriteManifest()
	if err != nil {
		closeListeners(d.BridgeListener, metrics)
		return err
	}
	log.Info("wrote demo.json", slog.String("path", path))
	fmt.Fprint(env.Stdout, d.Banner())
	fmt.Fprint(env.Stdout, metricsBanner(metrics))
	if !*noBrowser {
		openBrowser(ctx, d.AsanaURL, log)
	}
	return runWithMetrics(ctx, a, d.BridgeListener, metrics, log.With("component", "bridge"))
}

// metricsBanner tells where the bridge's metrics are, or how to see them.
func metricsBanner(metrics net.Listener) string {
	if metrics == nil {
		return "  Metrics are not served; add --metrics-listen 127.0.0.1:9464 to see them at http://127.0.0.1:9464/metrics.\n\n"
	}
	return "  Metrics (Prometheus)  http://" + metrics.Addr().String() + "/metrics\n\n"
}

// openBrowser opens url in the desktop's browser when there is one; a
// server without a desktop just has the banner.
func openBrowser(ctx context.Context, url string, log *slog.Logger) {
	for _, opener := range []string{"xdg-open", "open"} {
		if path, err := exec.LookPath(opener); err == nil {
			if err := exec.CommandContext(ctx, path, url).Start(); err != nil {
				log.Debug("cannot open a browser", slog.Any("error", err))
			}
			return
		}
	}
}

// quietAccessLog keeps the demo's terminal readable: the access log line of
// a request that succeeded is left out (--verbose shows them); failed
// requests and everything else are logged.
type quietAccessLog struct{ slog.Handler }

func (q quietAccessLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == httpx.AccessLogMessage && r.Level <= slog.LevelInfo {
		failed := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "status" && a.Value.Kind() == slog.KindInt64 && a.Value.Int64() >= 400 {
				failed = true
			}
			return !failed
		})
		if !failed {
			return nil
		}
	}
	return q.Handler.Handle(ctx, r)
}

func (q quietAccessLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietAccessLog{q.Handler.WithAttrs(attrs)}
}

func (q quietAccessLog) WithGroup(name string) slog.Handler {
	return quietAccessLog{q.Handler.WithGroup(name)}
}
