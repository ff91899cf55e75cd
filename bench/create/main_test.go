package main

import (
	"testing"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

// TestSmoke runs the benchmark in a very short mode on both databases, so
// CI proves it still works; the figures themselves are not checked.
func TestSmoke(t *testing.T) {
	harness.Smoke(t, "bench=create ", run, []string{"-n", "5", "-census", "2", "-users", "2", "-scale", "-scale-sizes", harness.SmokeSizes},
		[]string{"-n", "3", "-users", "2", "-phases", "-background=false"})
}
