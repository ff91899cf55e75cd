package main

import (
	"testing"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

// TestSmoke runs the benchmark in a very short mode on both databases, so
// CI proves it still works; the figures themselves are not checked.
func TestSmoke(t *testing.T) {
	short := []string{"-duration", "200ms", "-warmup", "0", "-concurrency", "4", "-rounds", "2", "-seq-n", "10"}
	harness.Smoke(t, "bench=widget ", run,
		append([]string{"-mode", "jira"}, short...),
		append([]string{"-mode", "cached", "-auth", "oauth1", "-scale", "-scale-sizes", harness.SmokeSizes}, short...))
}
