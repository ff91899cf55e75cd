// Command create measures creating a Jira issue from an Asana task through
// the App Components form submit (signed by the Asana emulator, as Asana
// does) against a direct create on the Jira emulator, in the same run. The
// direct creates run first, so the copy jobs each submit queues do not
// load them. It prints one line:
//
//	bench=create concurrency=1 n=… rps=… p50_ms=… p99_ms=… direct_rps=… direct_p50_ms=… direct_p99_ms=… ratio=…
//
// ratio is p50_ms / direct_p50_ms: how many times longer a create takes
// through the bridge.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/asanajira/asanajira/bench/internal/harness"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench create:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	n := fs.Int("n", 300, "issues created each way")
	concurrency := fs.Int("concurrency", 1, "concurrent creates")
	verbose := fs.Bool("v", false, "show the bridge's warnings and errors on stderr")
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
	dir, cleanup, err := harness.TempDir()
	if err != nil {
		return err
	}
	defer cleanup()
	opts := harness.Options{DataDir: dir}
	if *verbose {
		opts.BridgeLog = os.Stderr
	}
	w, err := harness.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer w.Close()
	client := harness.Client(*concurrency)

	// One fresh task per submit: creation is idempotent per task.
	tasks := make([]string, *n)
	for i := range tasks {
		if tasks[i], err = w.CreateTask(ctx, client, "Benchmark task "+strconv.Itoa(i)); err != nil {
			return err
		}
	}
	direct := func(ctx context.Context, i int) error {
		req, err := w.JiraRequest(ctx, http.MethodPost, "/rest/api/2/issue", map[string]any{"fields": map[string]any{
			"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"id": "10002"}, "summary": "Direct " + strconv.Itoa(i)}})
		if err != nil {
			return err
		}
		var is struct {
			Key string `json:"key"`
		}
		if err := harness.DoJSON(client, req, http.StatusCreated, &is); err != nil {
			return err
		}
		if is.Key == "" {
			return fmt.Errorf("direct create: no key")
		}
		return nil
	}
	submit := func(ctx context.Context, i int) error {
		r, err := w.Demo.Asana.CallApp(ctx, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: w.Demo.BridgeURL + "/asana/form/submit",
			User: w.Alice, Task: tasks[i], Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Benchmark task " + strconv.Itoa(i)}})
		if err != nil {
			return fmt.Errorf("form submit: %w", err)
		}
		var got struct {
			ResourceURL string `json:"resource_url"`
		}
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || !strings.Contains(got.ResourceURL, "/browse/DEMO-") {
			return fmt.Errorf("form submit: HTTP %d: %.300s", r.Status, r.Body)
		}
		return nil
	}
	jira, err := harness.Load(ctx, *concurrency, 0, *n, direct)
	if err != nil {
		return fmt.Errorf("direct to Jira: %w", err)
	}
	bridge, err := harness.Load(ctx, *concurrency, 0, *n, submit)
	if err != nil {
		return fmt.Errorf("through the bridge: %w", err)
	}
	_, err = fmt.Fprintln(out, harness.Line("bench", "create", "concurrency", *concurrency, "n", bridge.N,
		"rps", bridge.RPS(), "p50_ms", bridge.P50, "p99_ms", bridge.P99,
		"direct_rps", jira.RPS(), "direct_p50_ms", jira.P50, "direct_p99_ms", jira.P99,
		"ratio", float64(bridge.P50)/float64(jira.P50)))
	return err
}
