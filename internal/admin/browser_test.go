package admin_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; without it the browser test skips
// on a developer machine and fails in CI, which installs it.
func chromiumPath(t *testing.T) string {
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
	t.Skip("chromium is not installed; apt-get install -y chromium to run the browser test")
	return ""
}

// TestConsoleInBrowser signs in through the Asana emulator's login page,
// connects the Jira emulator automatically, adds and connects a workspace,
// and sees both listed after the console is rebuilt on the same database.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	exe := chromiumPath(t)
	jira, base := newJira(t, "9.12.0")
	pat, err := jira.CreatePAT("admin", "asanajira setup")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.deps.Doctor = nil // the real doctor, against the emulator
	e.restart()
	ws := e.asana.Seed().Workspace

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
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot, _ := chromedp.Run(ctx, chromedp.FullScreenshot(80))
			p := filepath.Join(t.TempDir(), "failure.png")
			_ = os.WriteFile(p, shot, 0o600)
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML("html"))
			t.Fatalf("%s: %v\n%s", name, err, html)
		}
	}

	step("sign in with Asana",
		chromedp.Navigate(e.hs.URL+"/admin/"),
		chromedp.WaitVisible(`#signin`),
		chromedp.Click(`#signin`),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "admin"),
		chromedp.SendKeys(`input[name=password]`, "admin"),
		chromedp.Click(`button[value=allow]`),
		chromedp.WaitVisible(`#signout`),
	)
	step("connect the Jira emulator",
		chromedp.Click(`a[href="/admin/servers/new"]`),
		chromedp.WaitVisible(`#base_url`),
		chromedp.SendKeys(`#base_url`, base),
		chromedp.Click(`#check-server`),
		chromedp.WaitVisible(`#doctor`),
		chromedp.SendKeys(`#admin_token`, pat),
		chromedp.Click(`#connect-automatic`),
		chromedp.WaitVisible(`#flash`),
	)
	if got := text(`#link-status`); !strings.Contains(got, "created automatically") {
		t.Fatalf("link status %q", got)
	}
	if got := text(`#webhook-status`); !strings.Contains(got, "registered") {
		t.Fatalf("webhook status %q", got)
	}
	step("add the Asana workspace and connect it",
		chromedp.Click(`a[href="/admin/connections"]`),
		chromedp.WaitVisible(`#asana-workspaces`),
		chromedp.Click(`#asana-workspaces`),
		chromedp.WaitVisible(`tr[data-workspace="`+ws+`"] button`),
		chromedp.Click(`tr[data-workspace="`+ws+`"] button`),
		chromedp.WaitVisible(`div.workspace[data-workspace="`+ws+`"] form.row button`),
		chromedp.Click(`div.workspace[data-workspace="`+ws+`"] form.row button`),
		chromedp.WaitVisible(`#flash`),
	)

	// A restart: a new console on a newly opened store over the same file.
	e.store = e.openStore()
	e.deps.Store = e.store
	e.restart()
	step("reload after the restart",
		chromedp.Navigate(e.hs.URL+"/admin/connections"),
		chromedp.WaitVisible(`#servers`),
	)
	servers, workspace := text(`#servers`), text(`div.workspace[data-workspace="`+ws+`"]`)
	if !strings.Contains(servers, base) || !strings.Contains(servers, "9.12.0") {
		t.Errorf("servers after restart:\n%s", servers)
	}
	if !strings.Contains(servers, "connected") || !strings.Contains(servers, "created automatically") || !strings.Contains(servers, "registered") {
		t.Errorf("server row after restart lacks its status:\n%s", servers)
	}
	if !strings.Contains(workspace, "default") {
		t.Errorf("workspace after restart is not connected by default:\n%s", workspace)
	}
	if n := len(jira.ApplicationLinks()); n != 1 {
		t.Errorf("%d application links in Jira, want 1", n)
	}
}
