// Package app is asanajira's composition root: it opens the database and
// the key that seals secrets, migrates, builds the job queue and the HTTP
// routes, runs them, and shuts them down in order.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/admin"
	"github.com/asanajira/asanajira/internal/appcomponents"
	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/asanaintake"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/connect"
	"github.com/asanajira/asanajira/internal/credentials"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/jirawebhook"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// maxBody is the default request body limit; endpoints that take files set
// their own.
const maxBody = 1 << 20

// App is a running asanajira: its database, queue and HTTP handler.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	store    store.Store
	queue    *jobs.Queue
	keyring  *secrets.Keyring
	creds    *credentials.Provider
	bridge   *bridge.Service
	sync     *syncengine.Engine
	setup    *setup.Service
	intake   *asanaintake.Intake
	console  *admin.Console
	registry *prometheus.Registry
	mux      *http.ServeMux
	handler  http.Handler
	closeDB  []func() error
}

// New opens and migrates the database, loads (or on SQLite creates) the
// sealing key and builds the queue and routes. cfg must be validated.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	kind, target, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	keyring, err := loadKeyring(cfg, kind, log)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, keyring: keyring, registry: prometheus.NewRegistry(), mux: http.NewServeMux()}
	for _, step := range []func() error{
		func() error { return a.openDatabase(ctx, kind, target) },
		a.buildCredentials,
		a.buildBridge,
		a.buildSync,
		a.buildAsanaIntake,
		func() error { return a.buildQueue(ctx, kind, target) },
		a.buildSetup,
		a.buildConsole,
	} {
		if err := step(); err != nil {
			a.Close()
			return nil, err
		}
	}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		jobs.NewCountCollector(ctx, readDB(a.store), log))
	a.routes()
	a.handler = foreground(httpx.Middleware(log, httpx.NewMetrics(a.registry), maxBody, a.mux))
	return a, nil
}

// foreground marks every request's context as a user waiting (on SQLite
// its writes take the writer before the background's: store.Foreground).
func foreground(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(store.Foreground(r.Context())))
	})
}

// loadKeyring reads the configured key, or on SQLite creates a key file
// beside the database the first time.
func loadKeyring(cfg config.Config, kind string, log *slog.Logger) (*secrets.Keyring, error) {
	switch {
	case cfg.SecretKey != "":
		kr, err := secrets.ParseKeys(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("--secret-key (ASANAJIRA_SECRET_KEY): %w", err)
		}
		return kr, nil
	case cfg.SecretKeyFile != "":
		kr, err := secrets.LoadKeyFile(cfg.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--secret-key-file (ASANAJIRA_SECRET_KEY_FILE): %w", err)
		}
		return kr, nil
	case kind == config.SQLite:
		path := cfg.KeyFilePath()
		kr, created, err := secrets.EnsureKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("key file %s (set --secret-key-file to use another): %w", path, err)
		}
		if created {
			log.Warn("created a new key to seal tokens at rest; back it up with the database, without it stored tokens cannot be read",
				slog.String("key_file", path), slog.String("key_id", kr.PrimaryID()))
		}
		return kr, nil
	}
	return nil, errors.New("--secret-key (ASANAJIRA_SECRET_KEY) or --secret-key-file is required with PostgreSQL")
}

func (a *App) openDatabase(ctx context.Context, kind, target string) error {
	st, err := openAndMigrate(ctx, kind, target, a.keyring, a.log)
	if err != nil {
		return err
	}
	// Every request reads the servers, connections and routes it needs
	// from memory; changes through this process are seen at once, another
	// replica's within store.ConfigCacheTTL.
	a.store = store.NewConfigCache(st, 0, nil)
	a.closeDB = append(a.closeDB, st.Close)
	return nil
}

// buildQueue opens the job queue on the same database.
func (a *App) buildQueue(ctx context.Context, kind, target string) error {
	st := a.store
	var err error
	// River works on the store's pool: on SQLite the one write connection
	// (river's driver asks for one), so the queue's writes and the
	// store's queue for it together; the application's transactions
	// enqueue through InsertTx.
	riverDB := st.DB()
	driver, listener, err := jobs.Driver(ctx, st.Dialect(), riverDB, target)
	if err != nil {
		return err
	}
	migrate := func(*sql.Conn) error { return jobs.Migrate(ctx, driver) }
	if kind == config.Postgres {
		// Under the lock asanajira's own migrations take: river's
		// migrations are not safe to run from several replicas at once.
		err = postgres.MigrationLocked(ctx, st.DB(), migrate)
	} else {
		err = migrate(nil)
	}
	if err != nil {
		if listener != nil {
			listener.Close()
		}
		return err
	}
	a.queue, err = jobs.New(driver, riverDB, listener, st, a.log, jobs.Options{Attachments: a.bridge, JiraEvents: a.bridge, Creations: a.bridge,
		Sync: a.sync, ReconcileInterval: a.cfg.ReconcileInterval,
		AsanaIntake: a.intake, AsanaPollInterval: a.cfg.AsanaPollInterval})
	if err != nil && listener != nil {
		listener.Close()
	}
	return err
}

// readDB is the pool a store reads from (on SQLite, the read-only
// connections, so a metrics scrape never waits for the writer).
func readDB(st store.Store) *sql.DB {
	if r, ok := st.(interface{ ReadDB() *sql.DB }); ok {
		return r.ReadDB()
	}
	return st.DB()
}

// outboundClient is the HTTP client for calls to Asana and token endpoints.
// Nearly all of them go to one host, so it keeps more idle connections per
// host than the default two.
func outboundClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 64
	return &http.Client{Timeout: 60 * time.Second, Transport: t}
}

func (a *App) buildCredentials() error {
	pub := a.cfg.EffectivePublicURL()
	prov, err := credentials.New(credentials.Options{
		Store:                 a.store,
		AsanaOAuthURL:         a.cfg.AsanaURL,
		AsanaAPIURL:           strings.TrimRight(a.cfg.AsanaURL, "/") + "/api/1.0",
		AsanaClientID:         a.cfg.AsanaClientID,
		AsanaClientSecret:     a.cfg.AsanaClientSecret,
		AsanaRedirectURL:      pub + connect.AsanaCallbackPath,
		JiraOAuth2RedirectURL: pub + connect.JiraOAuth2CallbackPath,
		HTTPClient:            outboundClient(),
		JiraRetryPolicy:       interactiveRetries(),
		Log:                   a.log,
	})
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	a.creds = prov
	return nil
}

func (a *App) buildBridge() error {
	hosts := a.cfg.AsanaDownloadHosts
	if len(hosts) == 0 {
		hosts = bridge.DefaultDownloadHosts()
	}
	a.bridge = bridge.New(bridge.Config{
		Store: a.store, Clients: bridgeClients{a.creds, a.store}, Log: a.log,
		PublicURL: a.cfg.EffectivePublicURL(), DownloadHosts: hosts,
	})
	return nil
}

// buildSync builds the sync engine; it enqueues through the queue built
// after it (the queue runs the engine's jobs).
func (a *App) buildSync() error {
	e, err := syncengine.New(syncengine.Config{
		Store: a.store, Clients: bridgeClients{a.creds, a.store}, Enqueuer: syncEnqueuer{a},
		Invalidator: a.bridge, Log: a.log, Metrics: a.registry,
	})
	if err != nil {
		return err
	}
	a.sync = e
	return nil
}

// buildAsanaIntake builds the Asana intake (events poller, webhook manager
// and receiver); the queue runs its jobs.
func (a *App) buildAsanaIntake() error {
	in, err := asanaintake.New(asanaintake.Config{
		Store: a.store, Clients: pollClients{a.creds}, Recorder: a.sync, Log: a.log, Metrics: a.registry,
		Mode: a.cfg.AsanaIntake, PublicURL: a.cfg.EffectivePublicURL(), PollInterval: a.cfg.AsanaPollInterval,
	})
	if err != nil {
		return err
	}
	a.intake = in
	return nil
}

// pollClients gives the Asana intake users' clients that return a long
// Retry-After instead of sleeping through it: the intake holds that token
// back and polls with another. They share each user's rate limiter with
// every other client of that user.
type pollClients struct{ p *credentials.Provider }

func (c pollClients) Asana(ctx context.Context, asanaUserGID string) (*asana.Client, error) {
	return c.p.Asana(ctx, asanaUserGID, asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 2, BaseDelay: 250 * time.Millisecond,
		MaxDelay: time.Second}))
}

// syncEnqueuer hands the sync engine's jobs to the app's queue.
type syncEnqueuer struct{ a *App }

func (s syncEnqueuer) EnqueueSyncLink(ctx context.Context, tx *sql.Tx, linkID int64) error {
	return s.a.queue.EnqueueSyncLink(ctx, tx, linkID)
}

func (s syncEnqueuer) EnqueueJiraAttachments(ctx context.Context, linkID int64, upTo string) error {
	return s.a.queue.EnqueueJiraAttachments(ctx, linkID, upTo)
}

func (a *App) buildSetup() error {
	svc, err := newSetup(a.cfg, a.store, a.log, a.sync)
	a.setup = svc
	return err
}

func (a *App) buildConsole() error {
	console, err := admin.New(admin.Deps{
		Store: a.store, Setup: a.setup, Sealer: a.keyring, Jobs: a.queue, Log: a.log,
		Sync: a.sync, AsanaIntake: intakeStatus{a.intake},
		PublicURL: a.cfg.EffectivePublicURL(), AsanaURL: a.cfg.AsanaURL,
		AsanaClientID: a.cfg.AsanaClientID, AsanaClientSecret: a.cfg.AsanaClientSecret,
		Admins: a.cfg.Admins, SignInHint: a.cfg.AdminSignInHint,
	})
	if err != nil {
		return err
	}
	a.console = console
	return nil
}

// bridgeClients gives the bridge each user's own authenticated clients,
// translating the credential errors into the bridge's.
type bridgeClients struct {
	p  *credentials.Provider
	st store.Store
}

// Jira's clients retry as interactiveRetries says (the Provider is built
// with it) and are kept between requests by the Provider.
func (b bridgeClients) Jira(ctx context.Context, asanaUserGID, jiraServerID string) (*jira.Client, store.JiraServer, error) {
	srv, err := b.st.GetJiraServer(ctx, jiraServerID)
	if err != nil {
		return nil, store.JiraServer{}, err
	}
	c, err := b.p.Jira(ctx, asanaUserGID, jiraServerID)
	return c, srv, mapCredentialErr(err)
}

func (b bridgeClients) Asana(ctx context.Context, asanaUserGID string) (*asana.Client, error) {
	c, err := b.p.Asana(ctx, asanaUserGID)
	return c, mapCredentialErr(err)
}

// interactiveRetries is the retry policy of users' Jira clients:
// interactive requests must not sleep through a long Retry-After, the user
// gets "Jira is rate limiting" instead of a timeout.
func interactiveRetries() jira.RetryPolicy {
	p := jira.DefaultRetryPolicy()
	p.MaxRetryAfter = time.Second
	return p
}

func mapCredentialErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, credentials.ErrNotConnected):
		return fmt.Errorf("%w: %w", bridge.ErrNotConnected, err)
	case errors.Is(err, credentials.ErrReconnectNeeded):
		return fmt.Errorf("%w: %w", bridge.ErrReconnectNeeded, err)
	}
	return err
}

// asanaAppMissing answers the routes that need the Asana app while none is
// configured.
func asanaAppMissing(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{
		"error": "asanajira has no Asana app configured: set --asana-client-id and --asana-client-secret (ASANAJIRA_ASANA_CLIENT_ID, ASANAJIRA_ASANA_CLIENT_SECRET)",
	})
}

// Console is the admin console.
func (a *App) Console() *admin.Console { return a.console }

// Setup is the setup service behind the console, the CLI and the API.
func (a *App) Setup() *setup.Service { return a.setup }

// Credentials turns stored credentials into API clients.
func (a *App) Credentials() *credentials.Provider { return a.creds }

// Sync is the two-way sync engine.
func (a *App) Sync() *syncengine.Engine { return a.sync }

// AsanaIntake is the Asana intake (its Status feeds the Sync page).
func (a *App) AsanaIntake() *asanaintake.Intake { return a.intake }

// Store is the app's database.
func (a *App) Store() store.Store { return a.store }

// Queue is the app's job queue.
func (a *App) Queue() *jobs.Queue { return a.queue }

// Keyring is the key set sealing secrets.
func (a *App) Keyring() *secrets.Keyring { return a.keyring }

// Handler is the whole HTTP surface with its middleware.
func (a *App) Handler() http.Handler { return a.handler }

// Mount adds a route; feature packages are mounted by New, tests may add more.
func (a *App) Mount(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

// Run starts the queue and serves ln until ctx is cancelled, then stops
// taking requests and jobs, lets in-flight ones finish within the shutdown
// timeout, cancels jobs still running at the deadline (they run again
// later), and returns. It does not close the database; Close does.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	// The queue outlives ctx (the signal): Stop below drains it.
	if err := a.queue.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // attachments stream through
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	a.logBootstrapLink(ctx)
	a.log.Info("asanajira is serving", slog.String("listen", ln.Addr().String()),
		slog.String("public_url", a.cfg.EffectivePublicURL()), slog.String("database", a.store.Dialect()))

	var err error
	select {
	case err = <-serveErr:
		err = fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		a.log.Info("shutting down: finishing in-flight requests and jobs", slog.Duration("timeout", a.cfg.ShutdownTimeout))
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	// Requests and jobs drain side by side, within one deadline: the queue
	// stops fetching now and cancels what still runs at the deadline.
	queueStopped := make(chan error, 1)
	go func() { queueStopped <- a.queue.Stop(shutdownCtx) }()
	if serr := srv.Shutdown(shutdownCtx); serr != nil {
		a.log.Warn("requests still running at the shutdown deadline were cut", slog.Any("error", serr))
		_ = srv.Close() // force-close what Shutdown could not drain
	}
	if qerr := <-queueStopped; qerr != nil && err == nil {
		err = qerr
	}
	if err == nil {
		a.log.Info("asanajira stopped")
	}
	return err
}

// logBootstrapLink prints the one-time admin link while there is no admin
// (none configured, none in the admins table); it revokes earlier links.
func (a *App) logBootstrapLink(ctx context.Context) {
	if len(a.cfg.Admins) > 0 {
		return // configured admins sign in directly
	}
	link, ok, err := a.console.BootstrapURL(ctx)
	switch {
	case err != nil:
		a.log.Warn("cannot create the admin bootstrap link", slog.Any("error", err))
	case ok:
		a.log.Warn("there is no admin yet: open this one-time link (valid 24 h; links printed before no longer work) and sign in with Asana to become the first admin",
			slog.String("url", link))
	}
}

// Close closes the database pools.
func (a *App) Close() {
	for i := len(a.closeDB) - 1; i >= 0; i-- {
		_ = a.closeDB[i]() // closing a pool fails only if it is already closed
	}
	a.closeDB = nil
}

// Listen binds cfg.Listen with a message that says what to do when the port
// is taken.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need privileges; pick another with --listen)", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s (is another process using it? pick another with --listen): %w", addr, err)
	}
	return ln, nil
}

// routes mounts the operational endpoints.
func (a *App) routes() {
	a.mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	a.mux.Handle("GET /readyz", httpx.Handle(a.log, a.readyz))
	if a.cfg.AsanaClientID != "" {
		a.mux.Handle("/connect/", connect.New(connect.Deps{
			Store: a.store, Credentials: a.creds, Log: a.log, PublicURL: a.cfg.EffectivePublicURL(),
			AsanaURL: a.cfg.AsanaURL, AsanaClientID: a.cfg.AsanaClientID, AsanaClientSecret: a.cfg.AsanaClientSecret,
			AppOrigin: a.cfg.AppOrigin, HTTPClient: outboundClient(),
		}))
	} else {
		a.mux.HandleFunc("/connect/", asanaAppMissing)
	}
	if a.cfg.AsanaClientSecret != "" {
		a.mux.Handle("/asana/", appcomponents.New(appcomponents.Deps{
			Store: a.store, Bridge: a.bridge, Enqueuer: a.queue, Waker: a.intake, ClientSecret: a.cfg.AsanaClientSecret,
			AppOrigin: a.cfg.AppOrigin, PublicURL: a.cfg.EffectivePublicURL(), PublicMode: a.cfg.Public, Log: a.log,
		}))
	} else {
		a.mux.HandleFunc("/asana/", asanaAppMissing)
	}
	a.mux.Handle("/admin/", a.console)
	a.mux.Handle("POST /jira/webhook/{server}", jirawebhook.New(jirawebhook.Deps{Store: a.store, Enqueuer: a.queue, Log: a.log}))
	a.mux.Handle("POST "+asanaintake.HookPath+"{project}", a.intake.Receiver())
	a.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(web.Static())))
	a.mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "asanajira is running.")
		fmt.Fprintln(w, "Health: /healthz  Readiness: /readyz  (Prometheus metrics: on --metrics-listen only)")
	}))
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		return httpx.Wrap(http.StatusServiceUnavailable, "database is not answering", err)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": a.store.Dialect()})
	return nil
}

// Migrate applies asanajira's and river's migrations without serving.
func Migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	a.Close()
	return nil
}
