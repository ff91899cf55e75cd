package main

import (
	"testing"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

// TestSmoke reads every page twice from two small worlds on both databases,
// so CI proves the benchmark still works; the figures are not checked.
func TestSmoke(t *testing.T) {
	harness.Smoke(t, "bench=admin ", run, []string{"-n", "2", "-scale-sizes", harness.SmokeSizes,
		"-small-sizes", "workspaces=2,servers=2,users=3,links=3,audit=3,jobs=3,syncing=1,synced_links=4"})
}
