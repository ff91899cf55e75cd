// Package browsertest starts the headless Chromium that asanajira's browser
// tests drive (the task pane, the admin console, the end-to-end journeys),
// with the flags this closed network needs. Test support only.
package browsertest

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path finds Debian's chromium. Without it a test skips on a developer's
// machine and fails under CI (CI set), which installs it.
func Path(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed; apt-get install -y chromium to run the browser tests")
	return ""
}

// Options are the allocator options for a headless Chromium at exe with its
// own profile folder: no sandbox (tests run as root), no GPU, and none of
// the background network traffic a machine without internet refuses.
func Options(exe, userDataDir string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(userDataDir),
	)
	return append(opts, extra...)
}
