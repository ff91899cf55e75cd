// Command idle measures `asanajira serve` at rest: the time from starting
// the process to /readyz answering 200, on a fresh SQLite database (key
// creation and migrations included) and again on the now existing one,
// and the resident memory of the second process after it has been idle.
// The bridge is configured against the Asana and Jira emulators as
// `asanajira demo` configures it. It prints one line:
//
//	bench=idle data=demo first_ready_ms=… ready_ms=… idle_s=5 rss_mib=… peak_rss_mib=…
//
// With -scale it then starts the bridge on a database the scale generator
// filled (-scale-sizes) and prints a second line, data=scale, with
// scale_ratio (its rss_mib over the first line's) and ready_scale_ratio
// (the same for ready_ms).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench idle:", err)
		os.Exit(1)
	}
}

const mib = 1 << 20

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	idle := fs.Duration("idle", 5*time.Second, "how long the bridge idles before its memory is read")
	bin := fs.String("bridge", "", "asanajira binary (default: build cmd/asanajira into a temporary folder)")
	verbose := fs.Bool("v", false, "show the bridge's warnings and errors on stderr")
	var scale harness.ScaleFlags
	scale.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	sizes, err := scale.Sizes()
	if err != nil {
		return err
	}
	dir, cleanup, err := harness.TempDir()
	if err != nil {
		return err
	}
	defer cleanup()
	if *bin == "" {
		if *bin, err = harness.BuildBridge(ctx, dir); err != nil {
			return err
		}
	}
	var logOut io.Writer
	if *verbose {
		logOut = os.Stderr
	}
	return harness.MeasureBoth(ctx, out, sizes, func(ctx context.Context, sizes *harness.Sizes) (harness.Figures, error) {
		if sizes != nil {
			return atScale(ctx, *bin, *sizes, *idle, logOut)
		}
		return onDemo(ctx, *bin, dir, *idle, logOut)
	})
}

// onDemo starts the bridge twice on the demo's database: fresh, then
// existing; it reads the memory of the second once it has idled.
func onDemo(ctx context.Context, bin, dir string, idle time.Duration, logOut io.Writer) (harness.Figures, error) {
	d, err := demo.Start(ctx, demo.Options{DataDir: dir, JiraListen: "127.0.0.1:0", AsanaListen: "127.0.0.1:0", BridgeListen: "127.0.0.1:0"})
	if err != nil {
		return harness.Figures{}, fmt.Errorf("emulators: %w", err)
	}
	defer d.Close(context.WithoutCancel(ctx))
	_ = d.BridgeListener.Close() // the bridge process binds it

	var first, second time.Duration
	var mem harness.Memory
	for i := range 2 {
		p, err := harness.StartBridge(ctx, bin, d.Config, logOut)
		if err != nil {
			return harness.Figures{}, err
		}
		ready, err := p.WaitReady(ctx, 30*time.Second)
		if err == nil && i == 1 {
			select {
			case <-time.After(idle):
				mem, err = p.Memory()
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		if serr := p.Stop(); err == nil && serr != nil {
			err = fmt.Errorf("stop the bridge: %w", serr)
		}
		if err != nil {
			return harness.Figures{}, err
		}
		if i == 0 {
			first = ready
		} else {
			second = ready
		}
	}
	return harness.Figures{Head: []any{"bench", "idle"}, Figure: float64(mem.RSS), Also: []harness.Named{{Name: "ready", Value: float64(second)}},
		Rest: []any{"first_ready_ms", first, "ready_ms", second,
			"idle_s", idle.Seconds(), "rss_mib", float64(mem.RSS) / mib, "peak_rss_mib", float64(mem.Peak) / mib}}, nil
}

// atScale starts the bridge on a database the scale generator filled (and
// migrated: what ready_ms measures on the demo's) and reads its memory once
// it has idled.
func atScale(ctx context.Context, bin string, sizes harness.Sizes, idle time.Duration, logOut io.Writer) (harness.Figures, error) {
	w, err := harness.Start(ctx, harness.Options{Bridge: bin, Scale: &sizes, BridgeLog: logOut})
	if err != nil {
		return harness.Figures{}, err
	}
	defer w.Close()
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return harness.Figures{}, ctx.Err()
	}
	mem, err := w.Process.Memory()
	if err != nil {
		return harness.Figures{}, err
	}
	return harness.Figures{Head: []any{"bench", "idle"}, Filled: w.Filled, Figure: float64(mem.RSS), Also: []harness.Named{{Name: "ready", Value: float64(w.Ready)}},
		Rest: []any{"ready_ms", w.Ready, "idle_s", idle.Seconds(), "rss_mib", float64(mem.RSS) / mib, "peak_rss_mib", float64(mem.Peak) / mib}}, nil
}
