package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

// TestSmoke runs the benchmark in a very short mode, so CI proves it still
// works; the figures themselves are not checked.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-size", "4194304", "-scale", "-scale-sizes", harness.SmokeSizes}, &out); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "bench=attachment data=demo ") ||
		!strings.HasPrefix(lines[1], "bench=attachment data=scale ") || !strings.Contains(lines[1], " scale_ratio=") {
		t.Errorf("want a summary line on the demo data and one at scale, got %q", out.String())
	}
}
