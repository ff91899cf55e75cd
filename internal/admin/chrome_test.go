package admin_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// chrome is a headless Chromium tab for the console's browser tests; it
// closes when the test ends. The whole test is bounded by six minutes,
// only to turn a hang into a failure: the walk of every page with axe-core
// takes over a minute alone and more on a busy machine.
type chrome struct {
	t   *testing.T
	ctx context.Context
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	exe := browsertest.Path(t)
	opts := browsertest.Options(exe, t.TempDir(), chromedp.WindowSize(1280, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(cancelTimeout)
	return &chrome{t: t, ctx: ctx}
}

// step runs actions; on failure the test stops with the page and a
// screenshot in the test's temp dir.
func (c *chrome) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		shot, _ := chromedp.Run(c.ctx, chromedp.FullScreenshot(80))
		p := filepath.Join(c.t.TempDir(), "failure.png")
		_ = os.WriteFile(p, shot, 0o600)
		html, _ := chromedp.Run(c.ctx, chromedp.OuterHTML("html"))
		c.t.Fatalf("%s: %v (screenshot %s)\n%s", name, err, p, html)
	}
}

// text is the text of the first element matching sel.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Text(sel))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// signIn signs in to the console at base as the Asana emulator's admin.
func (c *chrome) signIn(base string) {
	c.t.Helper()
	c.step("sign in with Asana",
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(`#signin`),
		chromedp.Click(`#signin`),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "admin"),
		chromedp.SendKeys(`input[name=password]`, "admin"),
		chromedp.Click(`button[value=allow]`),
		chromedp.WaitVisible(`#signout`),
	)
}
