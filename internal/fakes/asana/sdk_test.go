package asana

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAsanaNodeSDK runs testdata/sdkcheck/check.js, which uses Asana's
// official Node SDK (pinned in package-lock.json), against the emulator.
// Run `npm ci` in that folder first; without node_modules the test skips
// on a developer machine and fails in CI.
func TestAsanaNodeSDK(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "sdkcheck")
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "asana")); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or the asana SDK is missing (run npm ci in %s): %v %v", dir, err, statErr)
		}
		t.Skipf("node or the asana SDK is missing; run npm ci in %s", dir)
	}
	// A small quota in a short window, so the script's burst meets 429s
	// and its retries after Retry-After succeed quickly.
	_, hs := newTestServer(t, Options{RateLimit: true, RateLimitRequests: 20, RateLimitWindow: 2 * time.Second})
	cmd := exec.CommandContext(t.Context(), node, "check.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ASANA_BASE_URL="+hs.URL, "ASANA_TOKEN=pat-alice")
	out, err := cmd.CombinedOutput()
	t.Logf("node check.js:\n%s", out)
	if err != nil {
		t.Fatalf("SDK check failed: %v", err)
	}
	if !strings.Contains(string(out), "SDK check passed") {
		t.Errorf("the script did not finish")
	}
}
