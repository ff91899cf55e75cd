package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/config"
)

// Asana intakes.
const (
	intakeEvents   = "events"
	intakeWebhooks = "webhooks"
)

// env is one world (emulators and an in-process bridge with two-way sync
// on for the demo's connection) with -concurrency linked pairs and as many
// unlinked ones.
type env struct {
	c        settings
	kind     change
	mode     string
	w        *harness.World
	watch    *watcher
	client   *http.Client
	links    []pair
	unlinked []pair
}

// start starts a world whose Asana intake is intake and makes its pairs.
func start(ctx context.Context, c settings, kind change, intake string) (_ *env, err error) {
	e := &env{c: c, kind: kind, mode: intake, watch: &watcher{kind: kind, waiting: map[string]chan time.Time{}}}
	opts := c.Options()
	opts.Wrap = e.watch.wrap // the demo's setup file turns two-way sync on
	opts.Configure = func(cfg *config.Config) {
		cfg.AsanaIntake = intake
		cfg.AsanaPollInterval = c.poll
	}
	if e.w, err = harness.Start(ctx, opts); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.w.Close()
		}
	}()
	e.client = harness.Client(max(c.concurrency, c.intakeConcurrency))
	for i := range c.concurrency {
		task, err := e.w.CreateTask(ctx, e.client, "Synced benchmark task "+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		key, err := e.w.SubmitCreate(ctx, e.client, e.w.Alice, task, "Synced benchmark issue "+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		e.links = append(e.links, pair{task, key})
		task, err = e.w.CreateTask(ctx, e.client, "Unlinked benchmark task "+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		key, err = e.createIssue(ctx, "Unlinked benchmark issue "+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		e.unlinked = append(e.unlinked, pair{task, key})
	}
	if intake == intakeWebhooks {
		if err := e.awaitWebhook(ctx); err != nil {
			return nil, err
		}
	}
	// One change each way on every link, not counted: the links' first
	// sync runs take their baselines, the intake learns the links'
	// project, and the bridge's caches warm up.
	if err := e.each(ctx, c.concurrency, func(ctx context.Context, i int) error {
		for _, from := range []string{sideJira, sideAsana} {
			if _, err := e.propagate(ctx, from, e.links[i], fmt.Sprintf("wx%s%03d", from, i), 3*time.Minute); err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *env) Close() { e.w.Close() }

// createIssue creates an issue in DEMO directly, as alice.
func (e *env) createIssue(ctx context.Context, summary string) (string, error) {
	req, err := e.w.JiraRequest(ctx, http.MethodPost, "/rest/api/2/issue", map[string]any{"fields": map[string]any{
		"project": map[string]string{"key": "DEMO"}, "issuetype": map[string]string{"id": "10002"}, "summary": summary}})
	if err != nil {
		return "", err
	}
	var out struct {
		Key string `json:"key"`
	}
	if err := harness.DoJSON(e.client, req, http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("create issue: %w", err)
	}
	return out.Key, nil
}

// awaitWebhook has the intake learn the links' project and make its Asana
// webhook now, rather than at its next periodic pass, and waits until the
// webhook is active.
func (e *env) awaitWebhook(ctx context.Context) error {
	in := e.w.App.AsanaIntake()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := in.Tick(ctx); err != nil {
			return fmt.Errorf("asana intake: %w", err)
		}
		if _, err := in.RepairWebhooks(ctx); err != nil {
			return fmt.Errorf("asana webhooks: %w", err)
		}
		st, err := in.Status(ctx)
		if err != nil {
			return fmt.Errorf("asana intake: %w", err)
		}
		if st.Webhooks.Active > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no Asana webhook became active within a minute: %+v", st.Webhooks)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// propagate makes a change carrying marker on side from of a linked pair
// and returns how long it took to appear on the other side.
func (e *env) propagate(ctx context.Context, from string, p pair, marker string, timeout time.Duration) (time.Duration, error) {
	arrived := e.watch.expect(other(from), marker)
	defer e.watch.forget(marker)
	start := time.Now()
	if err := e.kind.write(ctx, e, from, p, marker); err != nil {
		return 0, fmt.Errorf("write on %s: %w", from, err)
	}
	select {
	case at := <-arrived:
		return at.Sub(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(timeout):
		return 0, fmt.Errorf("change %s made on %s did not appear on %s within %v", marker, from, other(from), timeout)
	}
}

// latency measures -n changes from side from through the bridge, each
// paired with the same work done directly, and prints their line.
func (e *env) latency(ctx context.Context, out io.Writer, from, intake string) error {
	n := e.c.n
	bridge, same := make([]time.Duration, n), make([]time.Duration, n)
	dir := from + "_to_" + other(from)
	var next atomic.Int64
	prof, err := e.c.StartProfiles()
	if err != nil {
		return err
	}
	defer prof.Stop() //nolint:errcheck // stopped below; this covers the error paths
	err = e.each(ctx, e.c.concurrency, func(ctx context.Context, worker int) error {
		link, free := e.links[worker], e.unlinked[worker]
		for {
			seq := int(next.Add(1)) - 1
			if seq >= n {
				return nil
			}
			// Letters and digits only, so no markup either side knows
			// changes it; the direct work's marker is not a part of the
			// bridge's.
			marker := fmt.Sprintf("%s%s%s%06d", intake[:2], from[:1], other(from)[:1], seq)
			viaBridge := func() error {
				d, err := e.propagate(ctx, from, link, "bx"+marker, e.c.timeout)
				bridge[seq] = d
				if d > time.Second {
					e.c.Logf("slow: bx%s on %s took %v (written at %s)", marker, link.task, d, time.Now().Add(-d).Format("15:04:05.000"))
				}
				return err
			}
			directly := func() error {
				t := time.Now()
				err := direct(ctx, e, e.kind, from, free, "dx"+marker)
				same[seq] = time.Since(t)
				return err
			}
			if e.c.spread > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(rand.N(e.c.spread)): //nolint:gosec // G404: a pause, not a secret
				}
			}
			first, second := viaBridge, directly
			if seq%2 == 1 {
				first, second = directly, viaBridge
			}
			if err := first(); err != nil {
				return err
			}
			if err := second(); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return err
	}
	if err := prof.Stop(); err != nil {
		return err
	}
	b, d := harness.ResultOf(bridge), harness.ResultOf(same)
	target := 2 * time.Second
	if from == sideAsana && intake == intakeEvents {
		target = e.c.poll + time.Second
	}
	_, err = fmt.Fprintln(out, harness.Line("bench", "sync", "db", e.w.Database, "direction", dir, "intake", intake, "change", e.c.change,
		"n", b.N, "concurrency", e.c.concurrency, "p50_ms", b.P50, "p99_ms", b.P99, "max_ms", slicesMax(bridge),
		"target_p99_ms", target, "meets_target", b.P99 < target,
		"direct_p50_ms", d.P50, "direct_p99_ms", d.P99, "ratio", float64(b.P50)/float64(d.P50)))
	return err
}

func slicesMax(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// each runs fn for workers 0..n-1 at once and returns the first error,
// cancelling the others.
func (e *env) each(ctx context.Context, n int, fn func(ctx context.Context, worker int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// watcher tells when the bridge's write carrying a marker was answered by
// the emulator it went to.
type watcher struct {
	kind    change
	mu      sync.Mutex
	waiting map[string]chan time.Time // emulator + " " + marker
}

// expect starts waiting for marker on emulator.
func (wt *watcher) expect(emulator, marker string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	wt.mu.Lock()
	wt.waiting[emulator+" "+marker] = ch
	wt.mu.Unlock()
	return ch
}

// forget stops waiting for marker.
func (wt *watcher) forget(marker string) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	for _, em := range []string{sideJira, sideAsana} {
		delete(wt.waiting, em+" "+marker)
	}
}

// wrap is a harness.Options.Wrap: it passes every request through and,
// for a write the change kind may carry, answered with success, signals
// the markers awaited on that emulator that its body holds.
func (wt *watcher) wrap(emulator string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wt.kind.carries(emulator, r.Method, r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status >= http.StatusMultipleChoices {
			return
		}
		at := time.Now()
		wt.mu.Lock()
		defer wt.mu.Unlock()
		for k, ch := range wt.waiting {
			em, marker, _ := bytes.Cut([]byte(k), []byte(" "))
			if string(em) == emulator && bytes.Contains(body, marker) {
				ch <- at
				delete(wt.waiting, k)
			}
		}
	})
}

// statusWriter keeps the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
