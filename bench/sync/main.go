// Command sync measures asanajira's two-way sync: how long a change made on
// one side of a linked task and issue takes to appear on the other, and how
// many Jira webhook deliveries the bridge accepts a second, durably, before
// applying every one of them.
//
// Propagation latency is measured for -n changes each way: Jira → Asana
// (through Jira's webhook), Asana → Jira with the events intake (polled
// every -poll) and Asana → Jira with Asana webhooks. A change is written on
// one emulator through its REST API as alice; it has arrived when the
// bridge's write carrying it has been answered by the other emulator (the
// emulators are wrapped, so nothing polls for it). Each change is paired
// with the same work done directly, on a task and an issue that are not
// linked: the write on one side, the read of that side a sync makes, and
// the write on the other. -concurrency workers each own a link and wait a
// random part of -spread before each change, so changes fall anywhere in
// the poll cycle. -change picks what changes: a comment (the default) or
// the task's name ↔ the summary (name), a field the demo's field
// mapping syncs both ways. It prints one line per direction:
//
//	bench=sync db=sqlite direction=jira_to_asana intake=webhook change=comment n=… concurrency=… p50_ms=… p99_ms=… max_ms=… target_p99_ms=2000.00 meets_target=true direct_p50_ms=… direct_p99_ms=… ratio=…
//
// ratio is p50_ms / direct_p50_ms.
//
// Durable intake sends -deliveries recorded Jira deliveries (an
// issue_commented jira:issue_updated, each with a comment of its own, on
// the links' issues) to the bridge's webhook endpoint from
// -intake-concurrency clients, in two rounds alternating with the same
// bodies sent to a plain handler that stores each in one transaction on the
// same database (the floor of accepting durably), then waits until every
// accepted delivery was applied: recorded by the sync engine as a change
// and handled by a sync run. It prints:
//
//	bench=sync db=sqlite phase=intake deliveries=… concurrency=… accepted=… accepted_per_s=… target_per_s=2000 meets_target=… same_insert_per_s=… ratio=… applied=… all_applied=true drain_ms=… accept_cpu_process_s=… accept_cpu_db_s=… accept_cpu_machine_s=… same_cpu_…=… drain_cpu_…=…
//
// ratio is same_insert_per_s / accepted_per_s. The cpu figures are the CPU
// time spent while the bridge accepted (accept_), while the plain handler
// did (same_) and while the bridge applied what it had accepted (drain_),
// by this process (load generator, bridge, jobs), by the local PostgreSQL
// server's processes (db; 0 on SQLite) and by the whole machine (every
// core: what is not the other two is other work sharing it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench sync:", err)
		os.Exit(1)
	}
}

// Phases of the benchmark, for -only.
const (
	phaseJiraToAsana   = "jira_to_asana"
	phaseAsanaEvents   = "asana_to_jira_events"
	phaseAsanaWebhooks = "asana_to_jira_webhooks"
	phaseIntake        = "intake"
)

var allPhases = []string{phaseJiraToAsana, phaseAsanaEvents, phaseAsanaWebhooks, phaseIntake}

type settings struct {
	harness.Flags
	n, concurrency                int
	change                        string
	poll, spread, timeout         time.Duration
	deliveries, intakeConcurrency int
	only                          []string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	var c settings
	c.Register(fs)
	fs.IntVar(&c.n, "n", 200, "changes measured each way (and as many made directly)")
	fs.IntVar(&c.concurrency, "concurrency", 4, "links changed at once, one worker each")
	fs.StringVar(&c.change, "change", "comment", "what changes: "+strings.Join(changeNames(), ", "))
	fs.DurationVar(&c.poll, "poll", time.Second, "the events intake's poll interval (--asana-poll-interval)")
	fs.DurationVar(&c.spread, "spread", time.Second, "each worker waits a random time up to this before each change")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "how long one change may take to appear before the run fails")
	fs.IntVar(&c.deliveries, "deliveries", 10_000, "Jira webhook deliveries sent in the intake phase (and as many to the plain handler)")
	fs.IntVar(&c.intakeConcurrency, "intake-concurrency", 32, "concurrent deliveries in the intake phase")
	only := fs.String("only", strings.Join(allPhases, ","), "phases to run: "+strings.Join(allPhases, ", "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	kind, ok := changes[c.change]
	if !ok {
		return fmt.Errorf("-change %q: choose %s", c.change, strings.Join(changeNames(), ", "))
	}
	for p := range strings.SplitSeq(*only, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !slices.Contains(allPhases, p) {
			return fmt.Errorf("-only %q: phases are %s", p, strings.Join(allPhases, ", "))
		}
		c.only = append(c.only, p)
	}
	if c.n < 1 || c.concurrency < 1 || c.deliveries < 2 || c.intakeConcurrency < 1 {
		return errors.New("-n, -concurrency and -intake-concurrency must be at least 1, -deliveries at least 2")
	}
	wants := func(p string) bool { return slices.Contains(c.only, p) }

	// The events intake is serve's default: Jira → Asana, Asana → Jira by
	// polling and the intake run on it. Asana webhooks need a bridge
	// started in that mode.
	if wants(phaseJiraToAsana) || wants(phaseAsanaEvents) || wants(phaseIntake) {
		e, err := start(ctx, c, kind, intakeEvents)
		if err != nil {
			return err
		}
		err = func() error {
			defer e.Close()
			if wants(phaseJiraToAsana) {
				if err := e.latency(ctx, out, sideJira, "webhook"); err != nil {
					return err
				}
			}
			if wants(phaseAsanaEvents) {
				if err := e.latency(ctx, out, sideAsana, intakeEvents); err != nil {
					return err
				}
			}
			if wants(phaseIntake) {
				return e.intake(ctx, out)
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	if wants(phaseAsanaWebhooks) {
		e, err := start(ctx, c, kind, intakeWebhooks)
		if err != nil {
			return err
		}
		defer e.Close()
		return e.latency(ctx, out, sideAsana, intakeWebhooks)
	}
	return nil
}
