package admin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleInBrowser signs in through the Asana emulator's login page,
// connects the Jira emulator automatically, adds and connects a workspace,
// and sees both listed after the console is rebuilt on the same database.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	jira, base := newJira(t, "9.12.0")
	pat, err := jira.CreatePAT("admin", "asanajira setup")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.doctor = nil // the real doctor, against the emulator
	e.restart()
	ws := e.asana.Seed().Workspace

	c := newChrome(t)
	ctx, step, text := c.ctx, c.step, c.text
	c.signIn(e.hs.URL)
	step("connect the Jira emulator",
		chromedp.Click(`a[href="/admin/servers/new"]`),
		chromedp.WaitVisible(`#base_url`),
		chromedp.SendKeys(`#base_url`, base),
		chromedp.Click(`#check-server`),
		chromedp.WaitVisible(`#doctor-verdict`),
		chromedp.SendKeys(`#automatic_admin_token`, pat),
		chromedp.Click(`#connect-automatic`),
		chromedp.WaitVisible(`#flash`),
	)
	// The server page already had a flash before the setup; wait for the
	// page the setup redirects to, not just any flash.
	waitText := func(sel, want string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			got, err := chromedp.Run(tctx, chromedp.Text(sel))
			cancel()
			if err == nil && strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is %q (%v), want it to contain %q", sel, got, err, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitText(`#link-status`, "created automatically")
	waitText(`#webhook-status`, "registered")
	step("add the Asana workspace and connect it",
		chromedp.Click(`a[href="/admin/connections"]`),
		chromedp.WaitVisible(`#asana-workspaces`),
		chromedp.Click(`#asana-workspaces`),
		chromedp.WaitVisible(`tr[data-workspace="`+ws+`"] button`),
		chromedp.Click(`tr[data-workspace="`+ws+`"] button`),
		chromedp.WaitVisible(`div.workspace[data-workspace="`+ws+`"] a.connect-link`),
		chromedp.Click(`div.workspace[data-workspace="`+ws+`"] a.connect-link`),
		chromedp.WaitVisible(`form.connect-form button`),
		chromedp.Click(`form.connect-form button`),
		// The page had a flash already; wait for the default connection.
		chromedp.WaitVisible(`div.workspace[data-workspace="`+ws+`"] td strong`),
	)

	step("create an admin API token, shown once",
		chromedp.Click(`a[href="/admin/api-tokens"]`),
		chromedp.WaitVisible(`#token-name`),
		chromedp.SendKeys(`#token-name`, "deploy"),
		chromedp.Click(`input[name=scope][value=write]`),
		chromedp.Click(`#create-token`),
		chromedp.WaitVisible(`#token`),
	)
	if token := text(`#token`); !strings.HasPrefix(token, "ajt_") {
		t.Errorf("the new token reads %q", token)
	}
	step("the token is not shown again",
		chromedp.Navigate(e.hs.URL+"/admin/api-tokens"),
		chromedp.WaitVisible(`#tokens`),
	)
	if page := text(`main`); strings.Contains(page, "ajt_") || !strings.Contains(page, "deploy") {
		t.Errorf("the tokens page after a reload:\n%s", page)
	}

	// A restart: a new console on a newly opened store over the same file.
	e.store = e.openStore()
	e.deps.Store = e.store
	e.restart()
	// A navigation the last click started may still be settling; a new one
	// then reports ERR_ABORTED, so try again.
	for attempt := 1; ; attempt++ {
		err := chromedp.Do(ctx, chromedp.Navigate(e.hs.URL+"/admin/connections"), chromedp.WaitVisible(`#servers`))
		if err == nil {
			break
		}
		if attempt == 5 {
			t.Fatalf("reload after the restart: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
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
