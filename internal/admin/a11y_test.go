package admin_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/demo"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

var updateScreenshot = flag.Bool("update-screenshot", false,
	"write the admin console screenshots the README shows to docs/images/")

// axeDir holds axe-core, installed by `npm ci` from package-lock.json
// (.ci/run does it for every lock file).
const axeDir = "testdata/axe"

// axeSource is axe-core's script. Without it the accessibility checks skip
// on a developer's machine and fail under CI.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is missing (run npm ci in internal/admin/%s): %v", axeDir, err)
		}
		t.Skipf("axe-core is missing; run npm ci in internal/admin/%s", axeDir)
	}
	return string(b)
}

// consoleWorld is the demo's world: both emulators and the whole bridge
// (admin console and the connect pop-ups), on free ports.
type consoleWorld struct {
	d   *demo.Demo
	app *app.App
	srv store.JiraServer
}

func startConsoleWorld(t *testing.T) *consoleWorld {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	d, err := demo.Start(ctx, demo.Options{DataDir: t.TempDir(), JiraListen: "127.0.0.1:0", AsanaListen: "127.0.0.1:0",
		BridgeListen: "127.0.0.1:0", Log: log,
		OnUnknownRoute: func(emulator, method, path string) {
			t.Errorf("%s emulator: no route for %s %s", emulator, method, path)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.WithoutCancel(ctx)) })
	a, err := app.New(ctx, d.Config, log)
	if err != nil {
		_ = d.BridgeListener.Close()
		t.Fatal(err)
	}
	srv, err := d.Provision(ctx, a.Setup())
	if err != nil {
		_ = d.BridgeListener.Close()
		a.Close()
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, d.BridgeListener) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("bridge stopped with %v", err)
		}
		a.Close()
	})
	return &consoleWorld{d: d, app: a, srv: srv}
}

// violation is one axe-core rule a page breaks, with where.
type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun injects axe-core into the page and returns its violations; every
// <details> is opened first, so what a click would show is checked too.
func (c *chrome) axeRun(source string) []violation {
	c.t.Helper()
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[chromedp.Void](source)); err != nil {
		c.t.Fatalf("inject axe-core: %v", err)
	}
	raw, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`(async () => {
		document.querySelectorAll("details").forEach(d => d.open = true);
		const r = await axe.run(document, {resultTypes: ["violations"]});
		return JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " "))})));
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("run axe-core: %v", err)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		c.t.Fatalf("axe-core's answer %s: %v", raw, err)
	}
	return vs
}

// markFocusable marks each control a keyboard user must reach on the page
// (a radio group is one stop) and counts them, and the other tab stops.
const markFocusable = `(() => {
	const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
	const seen = new Set();
	let n = 0;
	for (const el of document.querySelectorAll('a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary')) {
		if (!shown(el) || el.closest("details:not([open]) > :not(summary)")) continue;
		const key = el.type === "radio" ? "radio:" + el.form?.action + ":" + el.name : "el:" + n;
		if (seen.has(key)) { el.dataset.a11y = [...seen].indexOf(key); continue; }
		seen.add(key);
		el.dataset.a11y = [...seen].indexOf(key);
		n++;
	}
	// Other tab stops (a table that scrolls) are passed on the way.
	const stops = [...document.querySelectorAll('[tabindex]:not([tabindex="-1"])')].filter(el => !el.dataset.a11y && shown(el)).length;
	return JSON.stringify({n, stops});
})()`

// focused describes the element that has the keyboard focus: its mark, and
// whether a focus indicator (an outline or a box shadow) shows.
const focused = `(() => {
	const el = document.activeElement;
	const cs = getComputedStyle(el);
	const ring = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== "none";
	return JSON.stringify({mark: el.dataset.a11y ?? "", ring, what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + (el.innerText || el.value || el.name || "").trim().slice(0, 40)});
})()`

// keyboard tabs through the page: every control is reached, in a cycle
// that comes back to the first, and shows where the focus is.
func (c *chrome) keyboard(page string) {
	c.t.Helper()
	raw, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](markFocusable))
	if err != nil {
		c.t.Fatalf("%s: mark the controls: %v", page, err)
	}
	var count struct{ N, Stops int }
	_ = json.Unmarshal([]byte(raw), &count)
	n := count.N
	reached := map[string]bool{}
	// Start from the document, as after loading the page.
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.getSelection().removeAllRanges()`)); err != nil {
		c.t.Fatal(err)
	}
	for range n + count.Stops + 2 {
		if err := chromedp.Do(c.ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			c.t.Fatalf("%s: tab: %v", page, err)
		}
		raw, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](focused))
		if err != nil {
			c.t.Fatalf("%s: read the focus: %v", page, err)
		}
		var f struct {
			Mark string
			Ring bool
			What string
		}
		_ = json.Unmarshal([]byte(raw), &f)
		if f.Mark == "" {
			continue // the browser's own UI between two rounds of the page
		}
		reached[f.Mark] = true
		if !f.Ring {
			c.t.Errorf("%s: %s shows no focus indicator", page, f.What)
		}
	}
	if len(reached) < n {
		var missed []string
		for i := range n {
			if !reached[strconv.Itoa(i)] {
				what, _ := chromedp.Run(c.ctx, chromedp.Evaluate[string](fmt.Sprintf(
					`(() => { const el = document.querySelector('[data-a11y="%d"]'); return el.tagName.toLowerCase() + " " + (el.id || el.name || el.innerText || "").trim().slice(0, 40); })()`, i)))
				missed = append(missed, what)
			}
		}
		c.t.Errorf("%s: the keyboard does not reach %d of %d controls: %v", page, n-len(reached), n, missed)
	}
}

// TestEveryPageInBrowser walks every page of the admin console and every
// page of the connection pop-up in Chromium, against the demo's world: on
// each, axe-core finds no serious or critical accessibility violation, and
// the keyboard reaches every control with a visible focus indicator. With
// -update-screenshot it writes the README's screenshots of the console.
func TestEveryPageInBrowser(t *testing.T) {
	t.Parallel()
	source := axeSource(t)
	w := startConsoleWorld(t)
	c := newChrome(t)
	ctx := t.Context()
	base := w.d.BridgeURL
	seed := w.d.Asana.Seed()

	// A link, for the Links page and a link's page.
	issue, ok := w.d.Jira.Issue("DEMO-2") // one alice may read
	if !ok {
		t.Fatal("the Jira emulator has no DEMO-2")
	}
	link := store.Link{WorkspaceGID: seed.Workspace, TaskGID: seed.Tasks[0].GID, JiraServerID: w.srv.ID, IssueID: issue.ID,
		IssueKey: issue.Key, CreatedBy: seed.Users["alice"]}
	if err := w.app.Store().CreateLink(ctx, &link); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/jira"
	_ = ln.Close()

	var checked []string
	check := func(name string) {
		t.Helper()
		checked = append(checked, name)
		c.keyboard(name)
		for _, v := range c.axeRun(source) {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s: %s (%s, axe rule %s) at %s", name, v.Help, v.Impact, v.ID, strings.Join(v.Nodes, "; "))
			} else {
				t.Logf("%s: %s (%s, axe rule %s)", name, v.Help, v.Impact, v.ID)
			}
		}
	}
	visit := func(name, path, ready string) {
		t.Helper()
		c.step(name, chromedp.Navigate(base+path), chromedp.WaitVisible(ready))
		check(name)
	}
	shot := func(file string, full bool) {
		t.Helper()
		if !*updateScreenshot {
			return
		}
		action := chromedp.CaptureScreenshot()
		if full {
			action = chromedp.FullScreenshot(100)
		}
		png, err := chromedp.Run(c.ctx, action)
		if err != nil {
			t.Fatalf("screenshot %s: %v", file, err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "images", file), png, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	visit("sign-in page", "/admin/signin", `#signin`)
	visit("bootstrap page", "/admin/bootstrap?token=unused", `#bootstrap`)
	c.signIn(base)
	visit("connections", "/admin/connections", `#servers`)
	c.step("connections, for the screenshot", chromedp.Navigate(base+"/admin/connections"), chromedp.WaitVisible(`#servers`))
	shot("admin-connections.png", true)
	visit("a connected server", "/admin/servers/"+w.srv.ID, `#recheck`)
	c.step("the server's page, for the screenshot", chromedp.Navigate(base+"/admin/servers/"+w.srv.ID), chromedp.WaitVisible(`#recheck`))
	shot("admin-server.png", false)
	c.step("run the checks again", chromedp.Click(`#recheck`), chromedp.WaitVisible(`#flash`))
	check("a server checked again")
	visit("connect a Jira server", "/admin/servers/new", `#base_url`)
	c.step("a Jira that refuses connections",
		chromedp.SendKeys(`#base_url`, refused),
		chromedp.Click(`#check-server`),
		chromedp.WaitVisible(`#failed-checks`),
	)
	check("a server that failed its checks")
	c.step("save it anyway", chromedp.Click(`#save-anyway`), chromedp.WaitVisible(`#recheck`))
	check("a server without a link")
	visit("add a workspace", "/admin/workspaces/asana", `#asana-workspace-list`)
	visit("connect a workspace", "/admin/workspaces/"+seed.Workspace+"/connect", `h1`)
	visit("route a project", "/admin/workspaces/"+seed.Workspace+"/projects", `#asana-project-list`)
	visit("search the projects", "/admin/workspaces/"+seed.Workspace+"/projects?q=lau", `#asana-project-list`)
	visit("links", "/admin/links", `#links`)
	visit("a link", "/admin/links/"+strconv.FormatInt(link.ID, 10), `#link-status`)
	visit("sync", "/admin/sync", `#sync-connections`)
	visit("a connection's sync", "/admin/sync/"+seed.Workspace+"/"+w.srv.ID, `#sync-settings`)
	visit("a connection's fields", "/admin/sync/"+seed.Workspace+"/"+w.srv.ID+"/fields", `#fields-form`)
	c.step("preview the field mapping of a link whose owner has not connected", chromedp.SendKeys(`#preview-issue`, link.IssueKey),
		chromedp.Click(`#preview`), chromedp.WaitVisible(`#preview-error`))
	check("a field mapping preview that failed")
	c.step("save the field mapping", chromedp.Click(`#save-fields`), chromedp.WaitVisible(`#flash`))
	check("a saved field mapping")
	visit("users", "/admin/users", `#q`)
	visit("jobs", "/admin/jobs", `#kind`)
	visit("audit log", "/admin/audit", `#audit`)
	visit("admins", "/admin/admins", `#add-admin`)
	visit("API tokens", "/admin/api-tokens", `#create-token`)
	c.step("create a token", chromedp.SendKeys(`#token-name`, "deploy"), chromedp.Click(`#create-token`), chromedp.WaitVisible(`#token`))
	check("a new API token")
	visit("a page that does not exist", "/admin/no-such-page", `#error`)
	c.step("sign out", chromedp.Click(`#signout`), chromedp.WaitVisible(`#signin`))

	// Signed in to Asana as alice, who is no admin.
	c.step("sign in as alice",
		chromedp.Navigate(w.d.AsanaURL+"/-/login"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "alice"),
		chromedp.SendKeys(`input[name=password]`, "alice"),
		chromedp.Submit(`input[name=password]`),
		chromedp.Sleep(200*time.Millisecond),
		chromedp.Navigate(base+"/admin/signin"),
		chromedp.Click(`#signin`),
		chromedp.WaitVisible(`button[value=allow]`),
		chromedp.Click(`button[value=allow]`),
		chromedp.WaitVisible(`#not-admin`),
	)
	check("not an admin")

	// The connection pop-up, as alice: Asana's consent, then ours.
	c.step("connect: allow in Asana",
		chromedp.Navigate(base+"/connect/auth"),
		chromedp.WaitVisible(`button[value=allow]`),
		chromedp.Click(`button[value=allow]`),
		chromedp.WaitVisible(`#method-pat`),
	)
	check("connect: how to authorize")
	visit("connect: the Jira servers", "/connect/jira", `#finish`)
	visit("connect: a personal access token", "/connect/jira/"+w.srv.ID+"/pat", `#token`)
	c.step("connect: a wrong token", chromedp.SendKeys(`#token`, "not-a-token"), chromedp.Submit(`#token`), chromedp.WaitVisible(`#error`))
	check("connect: a token Jira refuses")
	pat, err := w.d.Jira.CreatePAT("alice", "asanajira")
	if err != nil {
		t.Fatal(err)
	}
	c.step("connect: alice's token", chromedp.Navigate(base+"/connect/jira/"+w.srv.ID+"/pat"), chromedp.WaitVisible(`#token`),
		chromedp.SendKeys(`#token`, pat), chromedp.Submit(`#token`), chromedp.WaitVisible(`#message`))
	check("connect: connected")
	visit("connect: done", "/connect/done", `#message`)
	c.step("connect: deny in Asana",
		chromedp.Navigate(base+"/connect/auth"),
		chromedp.WaitVisible(`button[value=deny]`),
		chromedp.Click(`button[value=deny]`),
		chromedp.WaitVisible(`#message`),
	)
	check("connect: denied")

	// Alice is connected now: back as admin, the preview reads her link's
	// task and issue.
	if _, err := chromedp.Call(c.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("forget alice's sessions: %v", err)
	}
	c.signIn(base)
	c.step("preview the field mapping on alice's link",
		chromedp.Navigate(base+"/admin/sync/"+seed.Workspace+"/"+w.srv.ID+"/fields"), chromedp.WaitVisible(`#fields-form`),
		chromedp.SendKeys(`#preview-issue`, link.IssueKey), chromedp.Click(`#preview`),
		chromedp.WaitVisible(`#preview-table, #preview-error`))
	problem, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`(document.getElementById("preview-error") || {}).textContent || ""`))
	if err != nil {
		t.Fatal(err)
	}
	if problem != "" {
		t.Fatalf("the preview of %s failed: %s", link.IssueKey, problem)
	}
	rows, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#preview-table tbody tr").length`))
	if err != nil || rows != len(syncengine.Fields) {
		t.Errorf("the preview shows %d rows (%v), want one per field (%d)", rows, err, len(syncengine.Fields))
	}
	check("a field mapping preview")

	// Every page the console serves was walked.
	for _, want := range []string{"connections", "a connected server", "connect a Jira server", "a server that failed its checks",
		"add a workspace", "connect a workspace", "route a project", "links", "a link", "sync", "a connection's sync", "a connection's fields",
		"a field mapping preview", "users", "jobs", "audit log",
		"admins", "API tokens", "a page that does not exist", "sign-in page", "bootstrap page", "not an admin"} {
		if !slices.Contains(checked, want) {
			t.Errorf("the walk missed %s", want)
		}
	}
}
