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

// TestSmokeFieldChange runs the field change (the task's name ↔ the
// issue's summary) through the propagation phases.
func TestSmokeFieldChange(t *testing.T) {
	harness.Smoke(t, "bench=sync ", run, []string{"-change", "name", "-only", "jira_to_asana,asana_to_jira_events,asana_to_jira_webhooks",
		"-n", "4", "-concurrency", "2", "-spread", "100ms"})
}
