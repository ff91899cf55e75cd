package harness

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one load run's figures.
type Result struct {
	N        int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// RPS is requests per second.
func (r Result) RPS() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// Load runs fn from workers goroutines until duration has passed or max
// calls have started (0: no count bound), and stops at the first error.
// fn gets a sequence number unique within the run.
func Load(ctx context.Context, workers int, duration time.Duration, max int, fn func(ctx context.Context, seq int) error) (Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(duration)
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil && (duration <= 0 || time.Now().Before(deadline)) {
				seq := int(next.Add(1)) - 1
				if max > 0 && seq >= max {
					return
				}
				t := time.Now()
				if err := fn(ctx, seq); err != nil {
					cancel(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return Result{}, fmt.Errorf("harness: no request completed")
	}
	slices.Sort(all)
	return Result{N: len(all), Elapsed: elapsed, P50: quantile(all, 0.50), P99: quantile(all, 0.99)}, nil
}

// quantile is the nearest-rank quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Line formats the summary a script reads: key=value pairs separated by
// spaces, floats with two decimals, durations in milliseconds by the
// caller's choice of key.
func Line(kv ...any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch v := kv[i+1].(type) {
		case float64:
			fmt.Fprintf(&b, "%s=%.2f", kv[i], v)
		case time.Duration:
			fmt.Fprintf(&b, "%s=%.2f", kv[i], float64(v)/float64(time.Millisecond))
		default:
			fmt.Fprintf(&b, "%s=%v", kv[i], v)
		}
	}
	return b.String()
}
