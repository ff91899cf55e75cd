package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSmoke runs the benchmark in a very short mode, so CI proves it still
// works; the figures themselves are not checked.
func TestSmoke(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-size", "4194304"}, &out); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "bench=attachment ") {
		t.Errorf("want one summary line, got %q", out.String())
	}
}
