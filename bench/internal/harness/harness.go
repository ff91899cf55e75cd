// Package harness is what the asanajira benchmarks share: the emulators and
// the bridge wired together (in this process or as a separate `asanajira
// serve` process), users connected without the browser flows, a bounded
// load generator, and the one-line summary every benchmark prints.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/demo"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
)

// Options choose how the world is started.
type Options struct {
	// DataDir holds the bridge's database and key; required.
	DataDir string
	// Bridge is the asanajira binary to run as a separate process; empty
	// runs the bridge inside this process.
	Bridge string
	// BridgeLog receives the bridge's logs; nil discards them.
	BridgeLog io.Writer
}

// World is both emulators and a provisioned bridge with alice connected to
// Asana and Jira.
type World struct {
	Demo *demo.Demo
	Seed fakeasana.SeedIDs
	// Alice is alice's Asana gid; AlicePAT her Jira personal access token.
	Alice, AlicePAT string
	// Process is the bridge process (nil when the bridge runs in-process).
	Process *Process

	stop func()
}

// Start starts the emulators, provisions the bridge as `asanajira demo`
// does (app registered, Jira connected, workspace routed), connects alice,
// and serves the bridge until Close.
func Start(ctx context.Context, opts Options) (_ *World, err error) {
	d, err := demo.Start(ctx, demo.Options{DataDir: opts.DataDir, JiraListen: "127.0.0.1:0", AsanaListen: "127.0.0.1:0", BridgeListen: "127.0.0.1:0"})
	if err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	w := &World{Demo: d, Seed: d.Asana.Seed(), stop: func() {}}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
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
	srv, err := d.Provision(ctx, a.Console(), a.Store())
	if err == nil {
		err = w.connect(ctx, a.Store(), srv, "alice")
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
		if _, err := w.Process.WaitReady(ctx, 30*time.Second); err != nil {
			return nil, err
		}
		return w, nil
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Run(runCtx, d.BridgeListener); err != nil {
			log.Error("bridge stopped", slog.Any("error", err))
		}
	}()
	w.stop = func() {
		cancel()
		<-done
		a.Close()
	}
	return w, nil
}

// connect stores Asana and Jira credentials for a demo user, as if they had
// gone through the task pane's authorization: an emulator-issued Asana
// OAuth token and a Jira personal access token.
func (w *World) connect(ctx context.Context, st store.Store, srv store.JiraServer, login string) error {
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
	if err := st.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: gid, JiraServerID: srv.ID, Method: store.AuthPAT,
		AccessToken: store.Secret(pat), JiraUsername: login, JiraDisplayName: login}); err != nil {
		return fmt.Errorf("store the Jira credential: %w", err)
	}
	if login == "alice" {
		w.Alice, w.AlicePAT = gid, pat
	}
	return nil
}

// Close stops the bridge and the emulators.
func (w *World) Close() {
	w.stop()
	w.Demo.Close(context.Background())
}

// CreateTask adds a task to the routed project through Asana's REST API,
// as alice, and returns its gid.
func (w *World) CreateTask(ctx context.Context, client *http.Client, name string) (string, error) {
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"name": name, "workspace": w.Seed.Workspace, "projects": []string{w.Seed.Project}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.Demo.AsanaURL+"/api/1.0/tasks", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("create task: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+w.Seed.Tokens["alice"])
	req.Header.Set("Content-Type", "application/json")
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
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("jira request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.Demo.JiraURL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("jira request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+w.AlicePAT)
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
