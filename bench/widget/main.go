// Command widget measures the App Components widget request: served from
// the bridge's cache, or with a Jira round trip on every request, against
// the same external calls made directly, in the same run. Before measuring
// it records which requests one widget with a Jira round trip makes (the
// emulators' request logs: one GET issue); the baseline replays them as
// alice with the same credentials (-auth pat or oauth1, every request then
// signed as the bridge signs it).
//
// Two figures, each in alternating rounds so that machine noise falls on
// both sides alike:
//   - throughput at -concurrency clients: overhead_ratio = same_calls_rps /
//     rps, how many times more requests per second the calls alone get;
//   - one request at a time: seq_ratio = seq_p50_ms / seq_same_calls_p50_ms.
//
// It prints one line:
//
//	bench=widget mode=jira auth=pat db=sqlite data=demo concurrency=32 calls=1 n=… rps=… p50_ms=… p99_ms=… same_calls_rps=… same_calls_p50_ms=… same_calls_p99_ms=… overhead_ratio=… seq_p50_ms=… seq_same_calls_p50_ms=… seq_ratio=… process_rss_mib=…
//
// process_rss_mib is this process's resident memory right after the
// throughput phases: the bridge, both emulators and the load generator
// together, so an upper bound of the bridge's own.
//
// With -scale it then measures again on a world the scale generator filled
// (-scale-sizes) and prints a second line, data=scale, with what was added,
// how long that took (fill_s), scale_ratio (its overhead_ratio over the
// first line's) and seq_scale_ratio (the same for seq_ratio).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench widget:", err)
		os.Exit(1)
	}
}

type config struct {
	harness.Flags
	mode, auth       string
	concurrency      int
	duration, warmup time.Duration
	rounds, seqN     int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("widget", flag.ContinueOnError)
	var c config
	c.Register(fs)
	fs.StringVar(&c.mode, "mode", "cached", "cached: every request a cache hit; jira: every request a cache miss, so a Jira round trip")
	fs.StringVar(&c.auth, "auth", "pat", "how alice is connected to Jira: pat, or oauth1 (every Jira request signed, RSA-SHA1)")
	fs.IntVar(&c.concurrency, "concurrency", 32, "concurrent clients for the throughput figure")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time of each side's throughput phase, over all rounds")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before the throughput phases")
	fs.IntVar(&c.rounds, "rounds", 3, "alternating rounds the throughput phases are split into")
	fs.IntVar(&c.seqN, "seq-n", 1000, "requests each way for the one-at-a-time figure (0 skips it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.mode != "cached" && c.mode != "jira" {
		return fmt.Errorf("unknown -mode %q: cached or jira", c.mode)
	}
	sizes, err := c.Sizes()
	if err != nil {
		return err
	}
	return harness.MeasureBoth(ctx, out, sizes, func(ctx context.Context, sizes *harness.Sizes) (harness.Figures, error) {
		return measure(ctx, c, sizes)
	})
}

// figures are one world's: the main figure is overhead_ratio, seq the
// one-at-a-time ratio.
type figures struct {
	harness.Figures
	seq float64
}

func measure(ctx context.Context, c config, sizes *harness.Sizes) (harness.Figures, error) {
	f, err := measureWorld(ctx, c, sizes)
	f.Also = []harness.Named{{Name: "seq", Value: f.seq}}
	return f.Figures, err
}

func measureWorld(ctx context.Context, c config, sizes *harness.Sizes) (figures, error) {
	opts := c.Options()
	opts.Record, opts.JiraAuth, opts.Scale = true, c.auth, sizes
	w, err := harness.Start(ctx, opts)
	if err != nil {
		return figures{}, err
	}
	defer w.Close()
	client := harness.Client(c.concurrency)
	direct := w.DirectClient(c.concurrency)
	issueURL := w.Demo.JiraURL + "/browse/DEMO-2"

	widget := func(ctx context.Context, seq int) error {
		resource := issueURL
		if c.mode == "jira" {
			// The widget cache is keyed by the URL as Asana sends it; a
			// focusedCommentId, as in URLs copied from Jira, makes every
			// request a miss while naming the same issue.
			resource += "?focusedCommentId=" + strconv.Itoa(seq)
		}
		status, body, err := w.AppGet(ctx, client, w.Alice, "/asana/widget", url.Values{"task": {w.Seed.Tasks[0].GID}, "resource_url": {resource}})
		if err != nil {
			return fmt.Errorf("widget: %w", err)
		}
		if status != http.StatusOK || !strings.Contains(string(body), "DEMO-2") {
			return fmt.Errorf("widget: HTTP %d: %.300s", status, body)
		}
		return nil
	}
	// What one widget with a Jira round trip calls (a miss, whatever the
	// mode: the baseline is the Jira read a cache hit saves).
	w.Recorder.Start()
	err = widget(ctx, -1)
	if c.mode == "cached" {
		err = errors.Join(err, widgetMiss(ctx, w, client, issueURL))
	}
	calls := w.Recorder.Stop()
	if err != nil {
		return figures{}, err
	}
	if len(calls) == 0 {
		return figures{}, errors.New("the emulators saw no call of the widget")
	}
	if c.mode == "cached" {
		calls = calls[len(calls)-1:] // the miss's; the first request may have been a miss too
	}
	c.Logf("one widget with a Jira round trip makes %d external calls: %s", len(calls), harness.Summary(calls, func(p string) string { return p }))
	same := func(ctx context.Context, _ int) error { return w.Replay(ctx, direct, calls, nil) }

	prof, err := c.StartProfiles()
	if err != nil {
		return figures{}, err
	}
	defer prof.Stop() //nolint:errcheck // stopped below; this covers the error paths
	if c.warmup > 0 {
		if _, err := harness.Load(ctx, c.concurrency, c.warmup, 0, widget); err != nil {
			return figures{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	bridge, baseline, err := harness.Rounds(ctx, c.concurrency, c.rounds, c.duration, widget, same)
	if err != nil {
		return figures{}, err
	}
	// What the process holds right after the load: the bridge, both
	// emulators and the load generator together, so an upper bound of
	// the bridge's own.
	mem, err := harness.ReadMemory(os.Getpid())
	if err != nil {
		return figures{}, err
	}
	f := figures{Figures: harness.Figures{Figure: baseline.RPS() / bridge.RPS(), Filled: w.Filled}}
	var seqB, seqS harness.Result
	if c.seqN > 0 {
		offset := 1 << 30 // sequence numbers stay unique across the phases
		seqB, seqS, err = harness.Pairs(ctx, 1, c.seqN, func(ctx context.Context, i int) error { return widget(ctx, offset+i) }, same)
		if err != nil {
			return figures{}, err
		}
		f.seq = float64(seqB.P50) / float64(seqS.P50)
	}
	if err := prof.Stop(); err != nil {
		return figures{}, err
	}
	f.Head = []any{"bench", "widget", "mode", c.mode, "auth", c.auth, "db", w.Database}
	f.Rest = []any{"concurrency", c.concurrency, "calls", len(calls),
		"n", bridge.N, "rps", bridge.RPS(), "p50_ms", bridge.P50, "p99_ms", bridge.P99,
		"same_calls_rps", baseline.RPS(), "same_calls_p50_ms", baseline.P50, "same_calls_p99_ms", baseline.P99,
		"overhead_ratio", f.Figure,
		"seq_p50_ms", seqB.P50, "seq_same_calls_p50_ms", seqS.P50, "seq_ratio", f.seq,
		"process_rss_mib", float64(mem.RSS) / (1 << 20)}
	return f, nil
}

// widgetMiss makes one widget request that misses the cache.
func widgetMiss(ctx context.Context, w *harness.World, client *http.Client, issueURL string) error {
	status, body, err := w.AppGet(ctx, client, w.Alice, "/asana/widget", url.Values{"task": {w.Seed.Tasks[0].GID},
		"resource_url": {issueURL + "?focusedCommentId=calibration"}})
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("widget: HTTP %d: %.300s", status, body)
	}
	return err
}
