// Command create measures creating a Jira issue from an Asana task through
// the App Components form submit (signed as Asana signs it) against the same
// external calls made directly, in the same run. Before measuring, it
// records which requests one create makes to Jira and Asana (the emulators'
// request logs, with the job queue held so that only the request's own
// calls are seen); the baseline replays that sequence as alice with the
// same credentials, for a fresh task each time. Creates and replays
// alternate one by one, so both meet the same emulator state and the same
// background work. It prints one line:
//
//	bench=create db=sqlite data=demo users=16 concurrency=1 n=… calls=… jira_calls=… asana_calls=… rps=… p50_ms=… p99_ms=… same_calls_p50_ms=… same_calls_p99_ms=… ratio=… first_fifth_p50_ms=… last_fifth_p50_ms=… drift=… same_calls_drift=… backlog_at_end=… drain_ms=…
//
// ratio is p50_ms / same_calls_p50_ms: what a create costs through the
// bridge over the calls it must make. drift is the last fifth's p50 over
// the first fifth's (same_calls_drift the same for the baseline: how much
// of the drift is the emulators'). backlog_at_end is the jobs still queued
// when the last create answered, drain_ms how long they took to finish.
//
// With -scale it then does it all again on a world the scale generator
// filled (-scale-sizes) and prints a second line, data=scale, with what
// was added, how long that took (fill_s) and scale_ratio: its ratio over
// the first line's.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench create:", err)
		os.Exit(1)
	}
}

type config struct {
	harness.Flags
	n, concurrency, users int
	census                int
	phases, background    bool
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	var c config
	c.Register(fs)
	fs.IntVar(&c.n, "n", 1000, "issues created each way (through the bridge, and by the same calls made directly)")
	fs.IntVar(&c.concurrency, "concurrency", 1, "concurrent creates")
	fs.IntVar(&c.census, "census", 0, "before measuring, create this many issues one by one with the job queue running, wait for their background work to finish, and print (stderr) the jobs by kind and the external calls by endpoint per create beyond the request's own")
	fs.BoolVar(&c.phases, "phases", false, "print (stderr) the p50 and mean of each step of the bridge's creates, of each request the bridge served (the webhook Jira delivers among them) and of each direct call")
	fs.BoolVar(&c.background, "background", true, "run the job queue while measuring; false holds it, so the creates meet no background work (backlog_at_end then counts what they left)")
	fs.IntVar(&c.users, "users", 16, "users the creates are spread over, round-robin (each user's Asana quota, 1,400 calls a minute, binds below 16 at this pace)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes, err := c.Sizes()
	if err != nil {
		return err
	}
	return harness.MeasureBoth(ctx, out, sizes, func(ctx context.Context, sizes *harness.Sizes) (figures, error) {
		return measure(ctx, c, sizes)
	})
}

type figures = harness.Figures

// measure runs one world: on the demo's data, or filled to sizes. Its
// main figure is ratio.
func measure(ctx context.Context, c config, sizes *harness.Sizes) (figures, error) {
	opts := c.Options()
	opts.Record, opts.HoldJobs, opts.Users, opts.Scale = true, true, c.users, sizes
	var ph *phases
	if c.phases {
		ph = newPhases()
		opts.WrapBridge = ph.wrapBridge
	}
	if c.census > 0 && !c.background {
		return figures{}, errors.New("-census needs the job queue: leave -background on")
	}
	w, err := harness.Start(ctx, opts)
	if err != nil {
		return figures{}, err
	}
	defer w.Close()
	client := harness.Client(c.concurrency)
	direct := w.DirectClient(c.concurrency)
	if ph != nil {
		ph.wrapDirect(direct)
	}

	// One fresh task per create: creation is idempotent per task. Two
	// more for the calibration.
	tasks := make([]string, 2*c.n+2)
	for i := range tasks {
		if tasks[i], err = w.CreateTask(ctx, client, "Benchmark task "+strconv.Itoa(i)); err != nil {
			return figures{}, err
		}
	}
	calls, calTask, err := calibrate(ctx, w, client, tasks[0], tasks[1])
	if err != nil {
		return figures{}, err
	}
	tasks = tasks[2:]
	jiraCalls := 0
	for _, call := range calls {
		if call.Emulator == "jira" {
			jiraCalls++
		}
	}
	c.Logf("one create makes %d external calls: %s", len(calls), harness.Summary(calls, generalise))
	if c.background {
		if err := w.StartJobs(ctx); err != nil {
			return figures{}, err
		}
	}

	if c.census > 0 {
		extra := make([]string, c.census)
		for i := range extra {
			if extra[i], err = w.CreateTask(ctx, client, "Census task "+strconv.Itoa(i)); err != nil {
				return figures{}, err
			}
		}
		if err := census(ctx, w, client, extra, len(calls), c.Verbose); err != nil {
			return figures{}, err
		}
	}

	submit := func(ctx context.Context, i int) error {
		_, err := w.SubmitCreate(ctx, client, w.Users[i%len(w.Users)], tasks[i], "Benchmark task "+strconv.Itoa(i))
		return err
	}
	same := func(ctx context.Context, i int) error {
		return w.Replay(ctx, direct, calls, map[string]string{calTask: tasks[c.n+i]})
	}
	prof, err := c.StartProfiles()
	if err != nil {
		return figures{}, err
	}
	defer prof.Stop() //nolint:errcheck // stopped below; this covers the error paths
	if ph != nil {
		ph.on.Store(true)
	}
	bridge, baseline, err := harness.Pairs(ctx, c.concurrency, c.n, submit, same)
	if err != nil {
		return figures{}, err
	}
	if ph != nil {
		ph.on.Store(false)
		ph.print(os.Stderr, w.Database)
	}
	backlog, err := w.Backlog(ctx)
	if err != nil {
		return figures{}, err
	}
	var drain time.Duration
	if c.background {
		if drain, err = w.Drain(ctx, 5*time.Minute); err != nil {
			return figures{}, err
		}
	}
	if err := prof.Stop(); err != nil {
		return figures{}, err
	}
	ratio := float64(bridge.P50) / float64(baseline.P50)
	return figures{Filled: w.Filled, Figure: ratio,
		Head: []any{"bench", "create", "db", w.Database},
		Rest: []any{"users", len(w.Users), "concurrency", c.concurrency, "n", bridge.N,
			"calls", len(calls), "jira_calls", jiraCalls, "asana_calls", len(calls) - jiraCalls,
			"rps", bridge.RPS(), "p50_ms", bridge.P50, "p99_ms", bridge.P99,
			"same_calls_p50_ms", baseline.P50, "same_calls_p99_ms", baseline.P99, "ratio", ratio,
			"first_fifth_p50_ms", bridge.Fifth(0), "last_fifth_p50_ms", bridge.Fifth(4),
			"drift", float64(bridge.Fifth(4)) / float64(bridge.Fifth(0)),
			"same_calls_drift", float64(baseline.Fifth(4)) / float64(baseline.Fifth(0)),
			"backlog_at_end", backlog, "drain_ms", drain}}, nil
}

// calibrate creates one issue to warm the bridge's caches (create metadata)
// and then records the external calls a second create makes, with the job
// queue still held, so only the request's own calls are seen. It returns
// them and the task they name.
func calibrate(ctx context.Context, w *harness.World, client *http.Client, warm, task string) ([]harness.Call, string, error) {
	if _, err := w.SubmitCreate(ctx, client, w.Alice, warm, "Calibration warm-up"); err != nil {
		return nil, "", err
	}
	w.Recorder.Start()
	_, err := w.SubmitCreate(ctx, client, w.Alice, task, "Calibration")
	calls := w.Recorder.Stop()
	if err != nil {
		return nil, "", err
	}
	if len(calls) == 0 {
		return nil, "", errors.New("the emulators saw no call of the create")
	}
	return calls, task, nil
}

// census creates an issue for each task, one after the other, as the
// users in turn, with the job queue running and the recorder on, waits for
// the queue to drain, and prints to stderr, per create, the jobs queued by
// kind and the external calls by endpoint beyond the request's own
// (requestCalls a create), taken once the queue stays drained; with dump, every call too, in the order they
// came (bodies of writes cut at 400 bytes). The periodic jobs (poll_asana every second,
// reconcile_jira every ten in the demo) run meanwhile and are counted too.
func census(ctx context.Context, w *harness.World, client *http.Client, tasks []string, requestCalls int, dump bool) error {
	db := w.App.Store().DB()
	var first, firstChange int64
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM river_job`).Scan(&first); err != nil {
		return fmt.Errorf("census: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM sync_changes`).Scan(&firstChange); err != nil {
		return fmt.Errorf("census: %w", err)
	}
	start := time.Now()
	w.Recorder.Start()
	for i, task := range tasks {
		if _, err := w.SubmitCreate(ctx, client, w.Users[i%len(w.Users)], task, "Census task "+strconv.Itoa(i)); err != nil {
			w.Recorder.Stop()
			return err
		}
	}
	// Drained twice, three seconds apart: the Asana intake polls every
	// second and may queue sync runs for the writes the first drain saw.
	for range 2 {
		if _, err := w.Drain(ctx, 5*time.Minute); err != nil {
			w.Recorder.Stop()
			return err
		}
		select {
		case <-ctx.Done():
			w.Recorder.Stop()
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
	calls := w.Recorder.Stop()
	took := time.Since(start)
	rows, err := db.QueryContext(ctx, `SELECT kind, count(*) FROM river_job WHERE id > $1 GROUP BY kind ORDER BY kind`, first)
	if err != nil {
		return fmt.Errorf("census: %w", err)
	}
	defer rows.Close()
	n := float64(len(tasks))
	fmt.Fprintf(os.Stderr, "census: %d creates in %.1fs; jobs a create:", len(tasks), took.Seconds())
	for rows.Next() {
		var kind string
		var k int
		if err := rows.Scan(&kind, &k); err != nil {
			return fmt.Errorf("census: %w", err)
		}
		fmt.Fprintf(os.Stderr, " %s=%.2f", kind, float64(k)/n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("census: %w", err)
	}
	fmt.Fprintln(os.Stderr)
	if err := changeCensus(ctx, db, firstChange, n); err != nil {
		return err
	}
	// A delivery recorded but not applied once the queue is drained would
	// be a change no run saw.
	var unapplied int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM jira_deliveries WHERE applied_at IS NULL`).Scan(&unapplied); err != nil {
		return fmt.Errorf("census: %w", err)
	}
	fmt.Fprintf(os.Stderr, "census: Jira deliveries not applied at the end: %d\n", unapplied)
	fmt.Fprintf(os.Stderr, "census: external calls a create (the request's own %d included): %.2f\n", requestCalls, float64(len(calls))/n)
	byCall := map[string]int{}
	var order []string
	for _, call := range calls {
		k := call.Emulator + " " + call.Method + " " + anyID.ReplaceAllString(generalise(call.Path), "/{id}$1")
		if byCall[k] == 0 {
			order = append(order, k)
		}
		byCall[k]++
	}
	for _, k := range order {
		fmt.Fprintf(os.Stderr, "census:   %-50s %.2f\n", k, float64(byCall[k])/n)
	}
	if dump {
		for _, call := range calls {
			if call.Method != http.MethodGet {
				fmt.Fprintf(os.Stderr, "dump: %s %s %s %.400s\n", call.At.Format("15:04:05.000"), call, call.RawQuery, call.Body)
			} else {
				fmt.Fprintf(os.Stderr, "dump: %s %s %s\n", call.At.Format("15:04:05.000"), call, call.RawQuery)
			}
		}
	}
	return nil
}

var (
	digits   = regexp.MustCompile(`/\d{6,}`)
	issueKey = regexp.MustCompile(`/[A-Z][A-Z0-9]+-\d+`)
	anyID    = regexp.MustCompile(`/\d{3,}(/|$)`)
)

// generalise hides gids and keys in a path: /tasks/{gid}, /issue/{key}.
func generalise(p string) string {
	return issueKey.ReplaceAllString(digits.ReplaceAllString(p, "/{gid}"), "/{key}")
}

// changeCensus prints (stderr), per create, the sync changes recorded
// since the census began, by side, source, what the intake saw and the
// outcome the sync run gave each.
func changeCensus(ctx context.Context, db *sql.DB, firstChange int64, n float64) error {
	rows, err := db.QueryContext(ctx, `SELECT side, source, detail, outcome, count(*) FROM sync_changes
		WHERE id > $1 GROUP BY side, source, detail, outcome ORDER BY side, source, detail, outcome`, firstChange)
	if err != nil {
		return fmt.Errorf("census: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var side, source, detail, outcome string
		var k int
		if err := rows.Scan(&side, &source, &detail, &outcome, &k); err != nil {
			return fmt.Errorf("census: %w", err)
		}
		fmt.Fprintf(os.Stderr, "census:   change %s %s %q %q %.2f\n", side, source, detail, outcome, float64(k)/n)
	}
	return rows.Err()
}
