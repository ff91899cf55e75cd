package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/browsertest"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/demo"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
)

var (
	updateScreenshot = flag.Bool("update-screenshot", false, "write the task pane screenshot to docs/images/task-pane.png")
	verbose          = flag.Bool("e2e-log", false, "log what the demo does to stderr")
)

// deadline bounds every wait of one browser step. Waits are polls, so this
// only decides how long a broken step takes to fail, never how fast a
// working one must be.
const deadline = 90 * time.Second

// The browser: one Chromium for the whole package, each test in browser
// contexts of its own (separate cookies), so parallel tests cost tabs, not
// browsers, on a two-core machine.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

func startBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := browsertest.Path(t)
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "asanajira-e2e-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		// Popups and background tabs must run at full speed: the install
		// flow happens in a popup while the task pane waits.
		opts := browsertest.Options(exe, dir,
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
			chromedp.Flag("disable-popup-blocking", true),
			chromedp.WindowSize(1280, 1000),
		)
		// The browser outlives every test: TestMain stops it.
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(allocCtx)
		browser.ctx = ctx
		browser.cancel = func() {
			cancelCtx()
			cancelAlloc()
			_ = os.RemoveAll(dir)
		}
		_, browser.err = chromedp.Run(ctx, chromedp.Title())
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	return browser.ctx
}

// world is one running demo: both emulators and the bridge, on free ports,
// with their own data folder.
type world struct {
	t    *testing.T
	d    *demo.Demo
	app  *app.App
	srv  store.JiraServer
	seed fakeasana.SeedIDs
}

func startWorld(t *testing.T, jiraVersion string) *world {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	d, err := demo.Start(ctx, demo.Options{DataDir: t.TempDir(), JiraListen: "127.0.0.1:0", AsanaListen: "127.0.0.1:0",
		BridgeListen: "127.0.0.1:0", JiraVersion: jiraVersion, Log: log,
		OnUnknownRoute: func(emulator, method, path string) {
			t.Errorf("%s emulator: no route for %s %s", emulator, method, path)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	a, err := app.New(ctx, d.Config, log.With("component", "bridge"))
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
	return &world{t: t, d: d, app: a, srv: srv, seed: d.Asana.Seed()}
}

// task returns the gid of the seeded task with this name.
func (w *world) task(name string) string {
	w.t.Helper()
	for _, task := range w.seed.Tasks {
		if task.Name == name {
			return task.GID
		}
	}
	w.t.Fatalf("no seeded task %q", name)
	return ""
}

// tab is one browser tab in a browser context of its own.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// newTab opens a tab with fresh cookies; it closes when the test ends.
func newTab(t *testing.T) *tab {
	t.Helper()
	root := startBrowser(t)
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &tab{t: t, ctx: ctx}
}

// do runs browser actions, each wait bounded by deadline; on failure the
// test stops with the page's HTML and a screenshot in the test's temp dir.
func (b *tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, deadline)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

func (b *tab) fail(step string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if shot, serr := chromedp.Run(ctx, chromedp.FullScreenshot(80)); serr == nil {
		p := filepath.Join(b.t.TempDir(), "failure.png")
		if os.WriteFile(p, shot, 0o600) == nil {
			b.t.Logf("screenshot of the failed step: %s", p)
		}
	}
	b.t.Fatalf("%s: %v\npage:\n%s", step, err, html)
}

// text is the visible text of the first element matching sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, deadline)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("text of "+sel, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, deadline)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate "+expr, err)
	}
	return v
}

// pollJS polls a JavaScript expression until it is true, for at most
// d, and reports whether it was. Errors (a page that is navigating) count
// as "not yet".
func (b *tab) pollJS(expr string, d time.Duration) bool {
	b.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) && b.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// waitJS polls a JavaScript expression until it is true. Errors (a page
// that is navigating) count as "not yet".
func (b *tab) waitJS(step, expr string) {
	b.t.Helper()
	end := time.Now().Add(deadline)
	var last error
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if b.ctx.Err() != nil {
			break
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		last = errors.New("still false")
	}
	b.fail(step+" (waiting for "+expr+")", last)
}

// popup runs trigger and returns the window it opens.
func (b *tab) popup(step string, trigger ...chromedp.Action[chromedp.Void]) *tab {
	b.t.Helper()
	// Target events reach every tab of the browser: match this tab's own
	// popup, not one another test opens at the same moment.
	opener := chromedp.FromContext(b.ctx).Target.TargetID
	ch := chromedp.WaitNewTarget(b.ctx, func(i *target.Info) bool { return i.Type == "page" && i.OpenerID == opener })
	b.do(step, trigger...)
	select {
	case id, ok := <-ch:
		if !ok {
			b.fail(step, fmt.Errorf("no popup"))
		}
		ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
		b.t.Cleanup(cancel)
		if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil {
			b.fail(step, fmt.Errorf("attach to the popup: %w", err))
		}
		return &tab{t: b.t, ctx: ctx}
	case <-time.After(deadline):
		b.fail(step, fmt.Errorf("no popup opened"))
	}
	return nil
}

// poll calls check until it returns "" (done) or the deadline passes; the
// last complaint is the failure.
func poll(t *testing.T, what string, check func() string) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// contains reports whether s contains every one of subs; the first missing
// one is returned.
func missing(s string, subs ...string) string {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return sub
		}
	}
	return ""
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func errNoOption(field, label string) error {
	return fmt.Errorf("the form's %s has no option %q", field, label)
}

// waitCopied waits for the attachment copy job of the issue created from
// task: every Asana-hosted file is on the issue once, with its content;
// every cloud link is a remote link; a comment on the task names them all.
func (w *world) waitCopied(key, task string) {
	w.t.Helper()
	// The issue itself is attached to the task too, as the app's resource.
	atts := slices.DeleteFunc(w.d.Asana.Attachments(task), func(a fakeasana.TaskAttachment) bool {
		return strings.HasPrefix(a.URL, w.d.JiraURL+"/")
	})
	if len(atts) == 0 {
		w.t.Fatalf("task %s has no attachments", task)
	}
	poll(w.t, "the attachments of "+key, func() string {
		is, _ := w.d.Jira.Issue(key)
		for _, a := range atts {
			if a.Host == "asana" {
				n := 0
				for _, j := range is.Attachments {
					if j.Filename == a.Name {
						n++
						if int64(len(j.Content)) != a.Size || a.Content != nil && !bytes.Equal(j.Content, a.Content) {
							return fmt.Sprintf("%s arrived with %d bytes, want %d", a.Name, len(j.Content), a.Size)
						}
					}
				}
				if n != 1 {
					return fmt.Sprintf("%s is on %s %d times", a.Name, key, n)
				}
				continue
			}
			if !slices.ContainsFunc(is.RemoteLinks, func(l fakejira.RemoteLink) bool { return l.URL == a.URL }) {
				return fmt.Sprintf("no remote link to %s (%s)", a.Name, a.URL)
			}
		}
		names := make([]string, len(atts))
		for i, a := range atts {
			names[i] = a.Name
		}
		var texts []string
		for _, s := range w.d.Asana.Stories(task) {
			if strings.Contains(s.Text, key) && missing(s.Text, names...) == "" {
				return ""
			}
			texts = append(texts, s.Text)
		}
		return fmt.Sprintf("no comment on the task names everything copied to %s (%s); the comments: %q", key, strings.Join(names, ", "), texts)
	})
}
