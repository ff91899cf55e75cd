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
	// Samples are the latencies in the order the calls started.
	Samples []time.Duration
}

// P50Of is the median of samples.
func P50Of(samples []time.Duration) time.Duration {
	s := slices.Clone(samples)
	slices.Sort(s)
	return quantile(s, 0.5)
}

// Fifth is the median latency of the i-th fifth (0 to 4) of the samples,
// in the order the calls started.
func (r Result) Fifth(i int) time.Duration {
	n := len(r.Samples)
	return P50Of(r.Samples[i*n/5 : max((i+1)*n/5, i*n/5+1)])
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
	type sample struct {
		seq int
		d   time.Duration
	}
	lat := make([][]sample, workers)
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
				lat[w] = append(lat[w], sample{seq, time.Since(t)})
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	ordered := slices.Concat(lat...)
	if len(ordered) == 0 {
		return Result{}, fmt.Errorf("harness: no request completed")
	}
	slices.SortFunc(ordered, func(a, b sample) int { return a.seq - b.seq })
	samples := make([]time.Duration, len(ordered))
	for i, s := range ordered {
		samples[i] = s.d
	}
	all := slices.Clone(samples)
	slices.Sort(all)
	return Result{N: len(all), Elapsed: elapsed, P50: quantile(all, 0.50), P99: quantile(all, 0.99), Samples: samples}, nil
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

// Pairs runs a and b for each of n sequence numbers, from workers
// goroutines, timing each on its own, and stops at the first error. The
// two alternate which goes first (a then b for even numbers), so that
// neither always runs right after the other: what one leaves behind (the
// bridge's background jobs) falls on both alike. This is how a figure and
// its baseline are measured in the same run, on the same emulator state.
func Pairs(ctx context.Context, workers, n int, a, b func(ctx context.Context, seq int) error) (Result, Result, error) {
	var ra, rb []time.Duration
	ra, rb = make([]time.Duration, n), make([]time.Duration, n)
	timed := func(ctx context.Context, fn func(context.Context, int) error, seq int, into []time.Duration) error {
		t := time.Now()
		if err := fn(ctx, seq); err != nil {
			return err
		}
		into[seq] = time.Since(t)
		return nil
	}
	_, err := Load(ctx, workers, 0, n, func(ctx context.Context, seq int) error {
		if seq%2 == 0 {
			if err := timed(ctx, a, seq, ra); err != nil {
				return err
			}
			return timed(ctx, b, seq, rb)
		}
		if err := timed(ctx, b, seq, rb); err != nil {
			return err
		}
		return timed(ctx, a, seq, ra)
	})
	if err != nil {
		return Result{}, Result{}, err
	}
	return ResultOf(ra), ResultOf(rb), nil
}

// ResultOf summarises latencies measured one by one (one side of Pairs);
// its Elapsed is the sum of the latencies, their share of the run.
func ResultOf(samples []time.Duration) Result {
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	all := slices.Clone(samples)
	slices.Sort(all)
	return Result{N: len(all), Elapsed: sum, P50: quantile(all, 0.50), P99: quantile(all, 0.99), Samples: samples}
}

// Rounds measures a and b at workers concurrency for d each, split into
// rounds that alternate which side goes first, and sums each side's
// rounds: machine noise falls on both sides alike.
func Rounds(ctx context.Context, workers, rounds int, d time.Duration, a, b func(ctx context.Context, seq int) error) (Result, Result, error) {
	rounds = max(rounds, 1)
	fns := [2]func(context.Context, int) error{a, b}
	var got [2][]Result
	seq := 0
	for i := range rounds {
		for j := range 2 {
			side := (i + j) % 2 // a first in even rounds, b first in odd ones
			base := seq
			r, err := Load(ctx, workers, d/time.Duration(rounds), 0, func(ctx context.Context, k int) error { return fns[side](ctx, base+k) })
			if err != nil {
				return Result{}, Result{}, err
			}
			seq += r.N + workers // sequence numbers stay unique across the loads
			got[side] = append(got[side], r)
		}
	}
	return merge(got[0]), merge(got[1]), nil //nolint:gosec // G602: got is an array of the two sides
}

// merge adds up rounds of one side.
func merge(rs []Result) Result {
	var out Result
	for _, r := range rs {
		out.N += r.N
		out.Elapsed += r.Elapsed
		out.Samples = append(out.Samples, r.Samples...)
	}
	all := slices.Clone(out.Samples)
	slices.Sort(all)
	out.P50, out.P99 = quantile(all, 0.50), quantile(all, 0.99)
	return out
}
