// Package demo runs asanajira's whole world on one machine: the Jira and
// Asana emulators on their usual ports, seeded, and a bridge configuration
// aimed at them. `asanajira demo`, the end-to-end tests and the benchmarks
// all start here, so a newcomer sees exactly what the tests prove.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/config"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// Options choose where the demo listens and keeps its data.
type Options struct {
	// DataDir holds the bridge's SQLite database, its key and demo.json. An
	// existing folder resumes the previous demo's bridge data.
	DataDir string
	// JiraListen, AsanaListen and BridgeListen are host:port; port 0 picks a
	// free port (tests).
	JiraListen, AsanaListen, BridgeListen string
	// JiraVersion is the Jira profile to emulate (default 9.12.0).
	JiraVersion string
	// Admins are more Asana users allowed into the admin console besides
	// the demo's admin: a demo user's login (alice, bob), an Asana user gid
	// or an email.
	Admins []string
	Log    *slog.Logger
	// OnUnknownRoute hears of every request an emulator ("jira" or "asana")
	// has no route for; tests fail on it. Nil leaves the emulators' default:
	// an error line in Log naming the method and path.
	OnUnknownRoute func(emulator, method, path string)
	// Wrap, when set, wraps each emulator's handler ("jira" or "asana")
	// before it is served: the benchmarks record the requests the bridge
	// makes this way.
	Wrap func(emulator string, h http.Handler) http.Handler
}

// wrap applies Options.Wrap to one emulator's handler.
func (o Options) wrap(emulator string, h http.Handler) http.Handler {
	if o.Wrap == nil {
		return h
	}
	return o.Wrap(emulator, h)
}

// unknownRoute is one emulator's OnUnknownRoute: nil (the emulator's
// default) unless the caller asked to hear of unknown routes.
func (o Options) unknownRoute(emulator string) func(method, path string) {
	if o.OnUnknownRoute == nil {
		return nil
	}
	return func(method, path string) { o.OnUnknownRoute(emulator, method, path) }
}

// The demo's sync pace (serve's defaults are 5 s and 5 min).
const (
	DefaultAsanaPollInterval = time.Second
	DefaultReconcileInterval = 10 * time.Second
)

// User is a demo login, the same on both emulators.
type User struct {
	Login      string `json:"login"`
	Password   string `json:"password"`
	AsanaToken string `json:"asana_token"`
	AsanaGID   string `json:"asana_gid"`
	Role       string `json:"role"`
}

// Demo is a running pair of emulators and the bridge configuration aimed at
// them.
type Demo struct {
	Jira  *fakejira.Server
	Asana *fakeasana.Server
	// JiraURL is Jira's base URL (with its /jira context path), AsanaURL the
	// Asana emulator's origin, BridgeURL the bridge's public URL.
	JiraURL, AsanaURL, BridgeURL string
	// BridgeListener is bound already so its port is known before the bridge
	// starts; the caller serves the bridge on it.
	BridgeListener net.Listener
	Config         config.Config
	Users          []User
	DataDir        string
	// Admins are the extra admins Options.Admins asked for, as given.
	Admins []string

	servers []*http.Server
	log     *slog.Logger
}

// Start binds all three ports (a busy one is a clear error), starts both
// emulators and returns the bridge configuration. Close stops them.
func Start(ctx context.Context, opts Options) (_ *Demo, err error) {
	if opts.JiraVersion == "" {
		opts.JiraVersion = fakejira.DefaultVersion
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.DataDir == "" {
		return nil, errors.New("demo: a data folder is required")
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: data folder: %w", err)
	}
	d := &Demo{DataDir: opts.DataDir, log: opts.Log}
	defer func() {
		if err != nil {
			d.Close(context.WithoutCancel(ctx))
		}
	}()

	jiraLn, err := bind(ctx, "--jira-listen", opts.JiraListen)
	if err != nil {
		return nil, err
	}
	asanaLn, err := bind(ctx, "--asana-listen", opts.AsanaListen)
	if err != nil {
		_ = jiraLn.Close()
		return nil, err
	}
	d.BridgeListener, err = bind(ctx, "--listen", opts.BridgeListen)
	if err != nil {
		_ = jiraLn.Close()
		_ = asanaLn.Close()
		return nil, err
	}
	d.BridgeURL = "http://" + d.BridgeListener.Addr().String()

	d.Jira, err = fakejira.New(fakejira.Options{Version: opts.JiraVersion, Logger: opts.Log.With("emulator", "jira"),
		OnUnknownRoute: opts.unknownRoute("jira")})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.JiraURL = "http://" + jiraLn.Addr().String() + d.Jira.ContextPath()
	if err := d.Jira.SetPublicBaseURL(d.JiraURL); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.Asana, err = fakeasana.New(fakeasana.Options{Logger: opts.Log.With("emulator", "asana"), OnUnknownRoute: opts.unknownRoute("asana")})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.AsanaURL = "http://" + asanaLn.Addr().String()
	if err := d.Asana.SetPublicBaseURL(d.AsanaURL); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.serve(jiraLn, opts.wrap("jira", d.Jira))
	d.serve(asanaLn, opts.wrap("asana", d.Asana))
	opts.Log.Info("Jira emulator started", slog.String("url", d.JiraURL), slog.String("version", d.Jira.Version()))
	opts.Log.Info("Asana emulator started", slog.String("url", d.AsanaURL))

	app := fakeasana.DefaultApp()
	seed := d.Asana.Seed()
	for _, login := range []string{"admin", "alice", "bob"} {
		role := "user"
		if login == "admin" {
			role = "administrator"
		}
		d.Users = append(d.Users, User{Login: login, Password: login, AsanaToken: seed.Tokens[login], AsanaGID: seed.Users[login], Role: role})
	}

	cfg := config.Default()
	cfg.Listen = d.BridgeListener.Addr().String()
	cfg.PublicURL = d.BridgeURL
	cfg.DatabaseURL = filepath.Join(opts.DataDir, "asanajira.db")
	cfg.AsanaURL = d.AsanaURL
	cfg.AsanaClientID = app.ClientID
	cfg.AsanaClientSecret = app.ClientSecret
	cfg.AppOrigin = d.AsanaURL
	if cfg.Admins, err = demoAdmins(seed.Users, opts.Admins); err != nil {
		_ = d.BridgeListener.Close()
		return nil, fmt.Errorf("demo: admins: %w", err)
	}
	cfg.AdminSignInHint = signInHint(opts.Admins)
	d.Admins = opts.Admins
	cfg.Public = true // the Asana emulator can call rule actions on this machine
	cfg.AsanaDownloadHosts = []string{d.downloadHost()}
	cfg.LogFormat = "text"
	cfg.ShutdownTimeout = 10 * time.Second
	// Two-way sync at demo pace: Asana polled every second, Jira
	// reconciled every ten.
	cfg.AsanaPollInterval = DefaultAsanaPollInterval
	cfg.ReconcileInterval = DefaultReconcileInterval
	d.Config = cfg
	return d, nil
}

// demoAdmins are the admin console's admins: the demo's admin and the
// extra ones asked for, a demo user's login turned into its gid.
func demoAdmins(users map[string]string, extra []string) ([]string, error) {
	admins := []string{users["admin"]}
	for _, a := range extra {
		a = strings.TrimSpace(a)
		switch gid, isLogin := users[strings.ToLower(a)]; {
		case a == "":
		case isLogin:
			admins = append(admins, gid)
		case strings.Contains(a, "@") || strings.Trim(a, "0123456789") == "":
			admins = append(admins, a)
		default:
			return nil, fmt.Errorf("%q is neither a demo user (admin, alice, bob), an Asana user gid nor an email", a)
		}
	}
	return slices.Compact(admins), nil
}

// CheckAdmins reports whether each entry of --admins is a demo user's
// login, an Asana user gid or an email, before anything starts.
func CheckAdmins(extra []string) error {
	_, err := demoAdmins(map[string]string{"admin": "", "alice": "", "bob": ""}, extra)
	return err
}

// signInHint tells someone the admin console refused how to get in during
// the demo.
func signInHint(extra []string) string {
	hint := "This is asanajira's demo: sign in to Asana as admin (password admin) to use the console."
	if len(extra) == 0 {
		return hint + " To let alice or bob in too, start the demo again with --admins alice,bob."
	}
	return hint + " The demo was started with --admins " + strings.Join(extra, ",") + "; start it again with others to let them in."
}

func bind(ctx context.Context, flag, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: cannot listen on %s (is another program using that port? choose another with %s): %w", addr, flag, err)
	}
	return ln, nil
}

func (d *Demo) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	d.servers = append(d.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("emulator stopped", slog.Any("error", err))
		}
	}()
}

// Close stops the emulators, waiting at most five seconds.
func (d *Demo) Close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, s := range d.servers {
		_ = s.Shutdown(ctx) // a demo that is going away has nothing to report
	}
	if d.Jira != nil {
		d.Jira.Close()
	}
	if d.Asana != nil {
		d.Asana.Close()
	}
}

// Manifest is demo.json: what scripts and tests need to drive the demo.
type Manifest struct {
	JiraURL     string                    `json:"jira_url"`
	JiraVersion string                    `json:"jira_version"`
	AsanaURL    string                    `json:"asana_url"`
	BridgeURL   string                    `json:"bridge_url"`
	AdminURL    string                    `json:"admin_url"`
	Users       []User                    `json:"users"`
	App         fakeasana.AppRegistration `json:"app"`
	Seed        fakeasana.SeedIDs         `json:"seed"`
}

// Manifest describes the running demo.
func (d *Demo) Manifest() Manifest {
	return Manifest{
		JiraURL: d.JiraURL, JiraVersion: d.Jira.Version(), AsanaURL: d.AsanaURL, BridgeURL: d.BridgeURL,
		AdminURL: d.BridgeURL + "/admin/", Users: d.Users, App: d.Asana.App(), Seed: d.Asana.Seed(),
	}
}

// WriteManifest writes demo.json into the data folder and returns its path.
func (d *Demo) WriteManifest() (string, error) {
	b, err := json.MarshalIndent(d.Manifest(), "", "  ")
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	path := filepath.Join(d.DataDir, "demo.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("demo: write %s: %w", path, err)
	}
	return path, nil
}

// Banner is what `asanajira demo` prints once everything runs.
func (d *Demo) Banner() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nasanajira demo is running.\n\n")
	fmt.Fprintf(&b, "  Asana (task pane)  %s\n", d.AsanaURL)
	fmt.Fprintf(&b, "  Jira %-13s %s\n", d.Jira.Version(), d.JiraURL)
	fmt.Fprintf(&b, "  asanajira          %s   (admin console: %s/admin/, sign in as admin%s)\n\n", d.BridgeURL, d.BridgeURL,
		strings.Join(append([]string{""}, d.Admins...), " or "))
	fmt.Fprintf(&b, "  Users on both sides: admin/admin (administrator), alice/alice, bob/bob\n")
	fmt.Fprintf(&b, "  Asana personal access tokens: pat-admin, pat-alice, pat-bob\n")
	fmt.Fprintf(&b, "  In Jira, bob may not browse OPS and DEMO-4 is Confidential (admin and alice only).\n\n")
	fmt.Fprintf(&b, "  Open the Asana URL and sign in as alice. Add the app to the Launch project:\n")
	fmt.Fprintf(&b, "  Customize → Apps → + Add app (Jira Server) → Continue, then Allow in Asana and in Jira.\n")
	fmt.Fprintf(&b, "  Then on a task: Jira Server ▾ → Create new issue, or Link existing issue.\n")
	fmt.Fprintf(&b, "  demo.json in %s lists every URL, token and seeded ID.\n", d.DataDir)
	fmt.Fprintf(&b, "  Ctrl-C stops everything.\n\n")
	return b.String()
}
