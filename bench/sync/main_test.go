package main

import (
	"testing"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

// TestSmoke runs the benchmark in a very short mode on both databases, so
// CI proves it still works; the figures themselves are not checked.
func TestSmoke(t *testing.T) {
	harness.Smoke(t, "bench=sync ", run, []string{"-n", "4", "-concurrency", "2", "-deliveries", "40", "-intake-concurrency", "4", "-spread", "100ms"})
}
