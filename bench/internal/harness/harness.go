// Package harness is what the asanajira benchmarks share: the emulators and
// the bridge wired together (in this process or as a separate `asanajira
// serve` process), users connected without the browser flows, a bounded
// load generator, and the one-line summary every benchmark prints.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/demo"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
)

// Options choose how the world is started.
type Options struct {
	// DataDir holds the bridge's database and key; empty makes a temporary
	// folder that Close removes.
	DataDir string
	// Database is SQLite (the default) or Postgres; PostgresURL names the
	// server for Postgres (default PostgresURL()), where the world gets a
	// schema of its own, dropped by Close.
	Database    string
	PostgresURL string
	// Bridge is the asanajira binary to run as a separate process; empty
	// runs the bridge inside this process.
	Bridge string
	// BridgeLog receives the bridge's logs; nil discards them.
	BridgeLog io.Writer
	// Record puts a Recorder in front of both emulators (World.Recorder).
	Record bool
	// HoldJobs leaves the job queue stopped until StartJobs (in-process
	// bridge only): what a request alone does can then be recorded.
	HoldJobs bool
	// JiraAuth is how alice is connected to Jira: "pat" (the default) or
	// "oauth1" (an application-link access token, every request signed).
	JiraAuth string
	// Users is how many users the bridge knows connected (default 1, alice).
	// The emulators have three users, so the others act as alice there,
	// each with an Asana token of its own: to the bridge they are distinct
	// users, each with its own Asana quota.
	Users int
	// Scale, when set, fills the store and the Asana emulator with that
	// much more (World.Filled says how long it took) once the demo is
	// provisioned and the users connected, before the bridge serves.
	Scale *Sizes
	// Prepare runs after Scale, before the bridge serves.
	Prepare func(ctx context.Context, w *World, st store.Store) error
	// Configure adjusts the bridge's configuration before it starts (the
	// sync benchmark chooses the Asana intake here).
	Configure func(*config.Config)
	// Wrap wraps each emulator's handler ("jira" or "asana"), inside the
	// Recorder when there is one: the sync benchmark watches the bridge's
	// writes arrive this way.
	Wrap func(emulator string, h http.Handler) http.Handler
	// WrapBridge wraps the in-process bridge's handler: the create
	// benchmark times its requests' steps this way (-phases).
	WrapBridge func(h http.Handler) http.Handler
}

// World is both emulators and a provisioned bridge with alice connected to
// Asana and Jira.
type World struct {
	Demo *demo.Demo
	Seed fakeasana.SeedIDs
	// Server is the Jira emulator's record in the bridge's store.
	Server store.JiraServer
	// Alice is alice's Asana gid; AlicePAT her Jira personal access token
	// and AliceAsanaToken the Asana OAuth token the bridge holds for her.
	Alice, AlicePAT, AliceAsanaToken string
	// Users are the connected users' gids, alice first (Options.Users).
	Users []string
	// Database is SQLite or Postgres.
	Database string
	// App is the in-process bridge (nil when it runs as a process).
	App *app.App
	// Process is the bridge process (nil when the bridge runs in-process).
	Process *Process
	// Recorder logs the emulators' requests when Options.Record is set.
	Recorder *Recorder
	// Filled is what Options.Scale added (nil without it).
	Filled *Filled
	// Ready is how long the bridge process took from its start to
	// answering /readyz (Options.Bridge only).
	Ready time.Duration

	jiraAuth   func(base http.RoundTripper) http.RoundTripper
	aliceJira  store.JiraCredential
	startJobs  func(ctx context.Context) error
	stop       func()
	dropSchema func()
	removeDir  func()
}

// Start starts the emulators, provisions the bridge as `asanajira demo`
// does (app registered, Jira connected, workspace routed), connects alice,
// and serves the bridge until Close.
func Start(ctx context.Context, opts Options) (_ *World, err error) {
	w := &World{Database: opts.Database, stop: func() {}, dropSchema: func() {}, removeDir: func() {}}
	if w.Database == "" {
		w.Database = SQLite
	}
	if opts.DataDir == "" {
		if opts.DataDir, w.removeDir, err = TempDir(); err != nil {
			return nil, err
		}
	}
	dopts := demo.Options{DataDir: opts.DataDir, JiraListen: "127.0.0.1:0", AsanaListen: "127.0.0.1:0", BridgeListen: "127.0.0.1:0"}
	dopts.Wrap = opts.Wrap
	if opts.Record {
		w.Recorder = &Recorder{}
		dopts.Wrap = w.Recorder.Wrap
		if opts.Wrap != nil {
			dopts.Wrap = func(emulator string, h http.Handler) http.Handler {
				return w.Recorder.Wrap(emulator, opts.Wrap(emulator, h))
			}
		}
	}
	d, err := demo.Start(ctx, dopts)
	if err != nil {
		w.removeDir()
		return nil, fmt.Errorf("harness: %w", err)
	}
	w.Demo, w.Seed = d, d.Asana.Seed()
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	switch w.Database {
	case SQLite:
	case Postgres:
		base := opts.PostgresURL
		if base == "" {
			base = PostgresURL()
		}
		if d.Config.DatabaseURL, w.dropSchema, err = freshSchema(ctx, base); err != nil {
			_ = d.BridgeListener.Close()
			return nil, err
		}
		if d.Config.SecretKey, err = secrets.NewKey(); err != nil {
			_ = d.BridgeListener.Close()
			return nil, fmt.Errorf("harness: %w", err)
		}
	default:
		_ = d.BridgeListener.Close()
		return nil, fmt.Errorf("harness: unknown database %q: sqlite or postgres", w.Database)
	}
	if opts.Configure != nil {
		opts.Configure(&d.Config)
	}
	logOut := opts.BridgeLog
	if logOut == nil {
		logOut = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, d.Config, log)
	if err != nil {
		_ = d.BridgeListener.Close()
		return nil, fmt.Errorf("harness: %w", err)
	}
	srv, err := d.Provision(ctx, a.Setup())
	if err == nil {
		w.Server = srv
		err = w.connect(ctx, a, srv, "alice", opts.JiraAuth)
	}
	for i := 1; err == nil && i < opts.Users; i++ {
		err = w.addUser(ctx, a.Store(), srv, i)
	}
	if err == nil && opts.Scale != nil {
		var f Filled
		f, err = w.fill(ctx, a, *opts.Scale)
		w.Filled = &f
		if opts.BridgeLog != nil {
			fmt.Fprintf(opts.BridgeLog, "scale generator: %v in %.1fs: %v\n", *opts.Scale, f.Duration.Seconds(), f)
		}
	}
	if err == nil && opts.Prepare != nil {
		err = opts.Prepare(ctx, w, a.Store())
	}
	if err != nil {
		a.Close()
		_ = d.BridgeListener.Close()
		return nil, fmt.Errorf("harness: %w", err)
	}
	if opts.Bridge != "" {
		// The child binds the same address: the app registration and the
		// Jira webhook already point at it.
		a.Close()
		_ = d.BridgeListener.Close()
		w.Process, err = StartBridge(ctx, opts.Bridge, d.Config, opts.BridgeLog)
		if err != nil {
			return nil, err
		}
		w.stop = func() { _ = w.Process.Stop() } // the benchmark has its figures already
		if w.Ready, err = w.Process.WaitReady(ctx, 30*time.Second); err != nil {
			return nil, err
		}
		return w, nil
	}
	w.App = a
	w.serve(ctx, log, opts.HoldJobs, opts.WrapBridge)
	return w, nil
}

// serve serves the in-process bridge as App.Run does, with the job queue
// started now or, with hold, by StartJobs.
func (w *World) serve(ctx context.Context, log *slog.Logger, hold bool, wrap func(http.Handler) http.Handler) {
	a := w.App
	h := a.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(w.Demo.BridgeListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("bridge stopped", slog.Any("error", err))
		}
	}()
	var started bool
	w.startJobs = func(ctx context.Context) error {
		if started {
			return nil
		}
		started = true
		return a.Queue().Start(context.WithoutCancel(ctx))
	}
	if !hold {
		_ = w.startJobs(ctx) // fails only when started twice
	}
	w.stop = func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // the benchmark has its figures already
		<-done
		if started {
			_ = a.Queue().Stop(sctx)
		}
		a.Close()
	}
}

// StartJobs starts the job queue of a world started with HoldJobs.
func (w *World) StartJobs(ctx context.Context) error {
	if w.startJobs == nil {
		return errors.New("harness: StartJobs needs the bridge in this process")
	}
	return w.startJobs(ctx)
}

// connect stores Asana and Jira credentials for a demo user, as if they had
// gone through the task pane's authorization: an emulator-issued Asana
// OAuth token and a Jira personal access token or, with auth "oauth1", an
// OAuth 1.0a access token of the application link.
func (w *World) connect(ctx context.Context, a *app.App, srv store.JiraServer, login, auth string) error {
	st := a.Store()
	gid := w.Seed.Users[login]
	access, refresh, err := w.Demo.Asana.IssueAccessToken(login)
	if err != nil {
		return err
	}
	pat, err := w.Demo.Jira.CreatePAT(login, "asanajira benchmark")
	if err != nil {
		return err
	}
	if err := st.PutAsanaUser(ctx, store.AsanaUser{GID: gid, Name: login, AccessToken: store.Secret(access),
		RefreshToken: store.Secret(refresh), Expiry: time.Now().Add(50 * time.Minute)}); err != nil {
		return fmt.Errorf("store the Asana user: %w", err)
	}
	cred := store.JiraCredential{AsanaUserGID: gid, JiraServerID: srv.ID, Method: store.AuthPAT,
		AccessToken: store.Secret(pat), JiraUsername: login, JiraDisplayName: login}
	jiraAuth := func(base http.RoundTripper) http.RoundTripper { return &jira.BearerTransport{Token: pat, Base: base} }
	switch auth {
	case "", "pat":
	case "oauth1":
		signer, err := a.Credentials().JiraSigner(srv)
		if err != nil {
			return err
		}
		cfg := &jira.OAuth1Config{BaseURL: w.Demo.JiraURL, Signer: signer}
		rt, err := cfg.RequestToken(ctx)
		if err != nil {
			return fmt.Errorf("oauth1 request token: %w", err)
		}
		verifier, err := w.Demo.Jira.ApproveRequestToken(rt.Token, login)
		if err != nil {
			return err
		}
		at, err := cfg.AccessToken(ctx, rt.Token, verifier)
		if err != nil {
			return fmt.Errorf("oauth1 access token: %w", err)
		}
		cred.Method, cred.AccessToken, cred.TokenSecret = store.AuthOAuth1, store.Secret(at.Token), store.Secret(at.Secret)
		jiraAuth = func(base http.RoundTripper) http.RoundTripper {
			return &jira.OAuth1Transport{Signer: signer, Token: at.Token, Base: base}
		}
	default:
		return fmt.Errorf("unknown Jira auth %q: pat or oauth1", auth)
	}
	if err := st.PutJiraCredential(ctx, cred); err != nil {
		return fmt.Errorf("store the Jira credential: %w", err)
	}
	if login == "alice" {
		w.Alice, w.AlicePAT, w.AliceAsanaToken, w.jiraAuth = gid, pat, access, jiraAuth
		w.Users = append(w.Users, gid)
		w.aliceJira = cred
	}
	return nil
}

// addUser connects the i-th extra user: a gid of its own, an Asana token
// of its own issued for alice, and alice's Jira credential.
func (w *World) addUser(ctx context.Context, st store.Store, srv store.JiraServer, i int) error {
	gid := fmt.Sprintf("77%014d", i)
	access, refresh, err := w.Demo.Asana.IssueAccessToken("alice")
	if err != nil {
		return err
	}
	if err := st.PutAsanaUser(ctx, store.AsanaUser{GID: gid, Name: fmt.Sprintf("bench user %d", i), AccessToken: store.Secret(access),
		RefreshToken: store.Secret(refresh), Expiry: time.Now().Add(50 * time.Minute)}); err != nil {
		return fmt.Errorf("store user %d: %w", i, err)
	}
	cred := w.aliceJira
	cred.AsanaUserGID = gid
	if err := st.PutJiraCredential(ctx, cred); err != nil {
		return fmt.Errorf("store user %d's Jira credential: %w", i, err)
	}
	w.Users = append(w.Users, gid)
	return nil
}

// DirectClient is an HTTP client for n concurrent workers that calls the
// emulators as alice, with the credentials the bridge holds for her: the
// requests it sends are authenticated as the bridge's are.
func (w *World) DirectClient(n int) *http.Client {
	c := Client(n)
	base := c.Transport
	jiraHost, asanaHost := hostOf(w.Demo.JiraURL), hostOf(w.Demo.AsanaURL)
	toJira, toAsana := w.jiraAuth(base), &jira.BearerTransport{Token: w.AliceAsanaToken, Base: base}
	c.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		switch req.URL.Host {
		case jiraHost:
			return toJira.RoundTrip(req)
		case asanaHost:
			return toAsana.RoundTrip(req)
		}
		return base.RoundTrip(req)
	})
	return c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// Close stops the bridge and the emulators and drops a PostgreSQL schema.
func (w *World) Close() {
	w.stop()
	w.Demo.Close(context.Background())
	w.dropSchema()
	w.removeDir()
}

// CreateTask adds a task to the routed project through Asana's REST API,
// as alice, and returns its gid.
func (w *World) CreateTask(ctx context.Context, client *http.Client, name string) (string, error) {
	req, err := w.AsanaRequest(ctx, http.MethodPost, "/tasks", map[string]any{"data": map[string]any{"name": name,
		"workspace": w.Seed.Workspace, "projects": []string{w.Seed.Project}}})
	if err != nil {
		return "", fmt.Errorf("create task: %w", err)
	}
	var out struct {
		Data struct {
			GID string `json:"gid"`
		} `json:"data"`
	}
	if err := DoJSON(client, req, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("create task: %w", err)
	}
	return out.Data.GID, nil
}

// JiraRequest is a request to the Jira emulator's REST API as alice.
func (w *World) JiraRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	return request(ctx, method, w.Demo.JiraURL+path, "Bearer "+w.AlicePAT, body)
}

// AsanaRequest is a request to the Asana emulator's REST API (path after
// /api/1.0) as alice, with her personal access token.
func (w *World) AsanaRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	return request(ctx, method, w.Demo.AsanaURL+"/api/1.0"+path, "Bearer "+w.Seed.Tokens["alice"], body)
}

// request is a request with an Authorization header and body as JSON.
func request(ctx context.Context, method, url, auth string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set("Authorization", auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// DoJSON sends req, expects status and decodes the answer into out (nil
// discards it).
func DoJSON(client *http.Client, req *http.Request, status int, out any) error {
	resp, err := client.Do(req) //nolint:gosec // G704: the emulators on loopback, by design
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Asana answers a created task with 201, Jira a created issue with 201
	// and an upload with 200: 201 accepts either.
	if resp.StatusCode != status && (status != http.StatusCreated || resp.StatusCode != http.StatusOK) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Client is an HTTP client that keeps enough idle connections for n
// concurrent workers, so the benchmark measures requests, not handshakes.
func Client(n int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 4*n, 2*n
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// TempDir makes a data folder removed by the returned function.
func TempDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "asanajira-bench-")
	if err != nil {
		return "", nil, fmt.Errorf("harness: %w", err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// Backlog counts the jobs waiting or running (available, running,
// retryable, scheduled) on the in-process bridge's queue.
func (w *World) Backlog(ctx context.Context) (int, error) {
	if w.App == nil {
		return 0, errors.New("harness: Backlog needs the bridge in this process")
	}
	var n int
	err := w.App.Store().DB().QueryRowContext(ctx,
		`SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled') AND kind <> 'cleanup_expired'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("harness: backlog: %w", err)
	}
	return n, nil
}

// Drain waits until the queue's backlog is empty and returns how long
// that took (at most limit).
func (w *World) Drain(ctx context.Context, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		n, err := w.Backlog(ctx)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return time.Since(start), fmt.Errorf("harness: %d jobs still queued after %v", n, limit)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
