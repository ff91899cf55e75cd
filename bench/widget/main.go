// Command widget measures the App Components widget request at a fixed
// number of concurrent clients: served from the bridge's cache, or with a
// Jira round trip on every request, and, in the same run, the same issue
// read straight from the Jira emulator. It prints one line:
//
//	bench=widget mode=cached concurrency=32 n=… rps=… p50_ms=… p99_ms=… direct_n=… direct_rps=… direct_p50_ms=… direct_p99_ms=… overhead_ratio=…
//
// overhead_ratio is direct_rps / rps: how many times more requests per
// second Jira answers directly than through the bridge.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/appcomponents"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench widget:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("widget", flag.ContinueOnError)
	mode := fs.String("mode", "cached", "cached: every request a cache hit; jira: every request a cache miss, so a Jira round trip")
	concurrency := fs.Int("concurrency", 32, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "length of each measured phase (bridge, then direct)")
	warmup := fs.Duration("warmup", time.Second, "unmeasured load before each phase")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *mode != "cached" && *mode != "jira" {
		return fmt.Errorf("unknown -mode %q: cached or jira", *mode)
	}
	dir, cleanup, err := harness.TempDir()
	if err != nil {
		return err
	}
	defer cleanup()
	w, err := harness.Start(ctx, harness.Options{DataDir: dir})
	if err != nil {
		return err
	}
	defer w.Close()
	client := harness.Client(*concurrency)
	secret := w.Demo.Config.AsanaClientSecret
	issueURL := w.Demo.JiraURL + "/browse/DEMO-2"

	widget := func(ctx context.Context, seq int) error {
		resource := issueURL
		if *mode == "jira" {
			// The widget cache is keyed by the URL as Asana sends it; a
			// focusedCommentId, as in URLs copied from Jira, makes every
			// request a miss while naming the same issue.
			resource += "?focusedCommentId=" + strconv.Itoa(seq)
		}
		q := url.Values{"workspace": {w.Seed.Workspace}, "task": {w.Seed.Tasks[0].GID}, "user": {w.Alice},
			"resource_url": {resource}, "expires_at": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}}
		raw := q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.Demo.BridgeURL+"/asana/widget?"+raw, nil)
		if err != nil {
			return fmt.Errorf("widget: %w", err)
		}
		// Asana signs the raw query string with the app's client secret.
		req.Header.Set(appcomponents.SignatureHeader, appcomponents.Sign(secret, raw))
		return expectOK(client, req, "DEMO-2")
	}
	fields := "summary,status,assignee,priority,issuetype,duedate,resolution,updated,comment"
	direct := func(ctx context.Context, _ int) error {
		req, err := w.JiraRequest(ctx, http.MethodGet, "/rest/api/2/issue/DEMO-2?fields="+fields, nil)
		if err != nil {
			return err
		}
		return expectOK(client, req, "DEMO-2")
	}

	bridge, err := phase(ctx, *concurrency, *warmup, *duration, widget)
	if err != nil {
		return fmt.Errorf("through the bridge: %w", err)
	}
	jira, err := phase(ctx, *concurrency, *warmup, *duration, direct)
	if err != nil {
		return fmt.Errorf("direct to Jira: %w", err)
	}
	_, err = fmt.Fprintln(out, harness.Line("bench", "widget", "mode", *mode, "concurrency", *concurrency,
		"n", bridge.N, "rps", bridge.RPS(), "p50_ms", bridge.P50, "p99_ms", bridge.P99,
		"direct_n", jira.N, "direct_rps", jira.RPS(), "direct_p50_ms", jira.P50, "direct_p99_ms", jira.P99,
		"overhead_ratio", jira.RPS()/bridge.RPS()))
	return err
}

// phase warms up, then measures.
func phase(ctx context.Context, n int, warmup, d time.Duration, fn func(context.Context, int) error) (harness.Result, error) {
	seq := 0
	if warmup > 0 {
		r, err := harness.Load(ctx, n, warmup, 0, fn)
		if err != nil {
			return r, err
		}
		seq = r.N + n // sequence numbers stay unique across both loads
	}
	return harness.Load(ctx, n, d, 0, func(ctx context.Context, i int) error { return fn(ctx, seq+i) })
}

// expectOK sends req and checks a 200 answer that names the issue.
func expectOK(client *http.Client, req *http.Request, want string) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%s: HTTP %d: %.300s", req.URL.Path, resp.StatusCode, body)
	}
	return nil
}
