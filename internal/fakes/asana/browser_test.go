package asana

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/browsertest"
	"github.com/chromedp/chromedp"
)

// TestTaskPaneInBrowser drives the task pane page in headless Chromium
// against a test app: the form renders (all ten field types), a watched
// field re-renders it through on_change, the submit attaches the resource,
// and the widget card shows it.
func TestTaskPaneInBrowser(t *testing.T) {
	t.Parallel()
	exe := browsertest.Path(t)
	app := newTestApp(t, "app-secret")
	s, hs := newTestServer(t, Options{App: app.registration()})
	task := s.Seed().Tasks[2].GID

	opts := browsertest.Options(exe, t.TempDir(), chromedp.WindowSize(1280, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	err := chromedp.Do(ctx,
		chromedp.Navigate(hs.URL+"/-/login?next=/"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "alice"),
		chromedp.SendKeys(`input[name=password]`, "alice"),
		chromedp.Click(`button.primary`),
		chromedp.WaitVisible(`#task-list li`),
		chromedp.Click(`#task-list li[data-gid="`+task+`"]`),
		chromedp.WaitVisible(`#entry-point`),
		chromedp.Click(`#entry-point`),
		chromedp.Click(`.menu button[data-entry="form"]`),
		chromedp.WaitVisible(`#app-form [data-field="summary"] input`),
	)
	if err != nil {
		t.Fatalf("open the form: %v", err)
	}
	fieldCount, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#form-fields .form-field").length`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		// A watched dropdown calls on_change; the app adds a field.
		chromedp.SetValue(`#app-form select[name=issue_type]`, "bug"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#app-form select[name=issue_type]").dispatchEvent(new Event("change"))`))
			return err
		}),
		chromedp.WaitVisible(`#app-form [data-field="steps"] input`),
		chromedp.SendKeys(`#app-form [data-field="summary"] input`, "Checkout logs users out"),
		chromedp.Click(`#form-submit`),
		chromedp.WaitVisible(`.widget .w-title a`),
	)
	if err != nil {
		t.Fatalf("submit the form: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	widgetTitle, pill, attachments := text(`.widget .w-title a`), text(`.widget .pill`), text(`#attachments`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("ASANA_EMULATOR_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, "task-pane.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	if fieldCount != 10 {
		t.Errorf("form rendered %d fields, want 10", fieldCount)
	}
	if widgetTitle != "DEMO-7: Checkout page logs users out" || pill != "In Progress" {
		t.Errorf("widget title %q, pill %q", widgetTitle, pill)
	}
	if !strings.Contains(attachments, "DEMO-7: Checkout logs users out") {
		t.Errorf("attachments: %q", attachments)
	}
	atts := s.Attachments(task)
	if len(atts) != 1 || atts[0].URL != "https://jira.example/browse/DEMO-7" || !atts[0].ConnectedToApp {
		t.Errorf("emulator attachments: %+v", atts)
	}
	// The browser, not the emulator, called the app: with the page's origin.
	origin := hs.URL
	for _, r := range app.received() {
		if r.Origin != origin {
			t.Errorf("%s came with Origin %q, want %q", r.Path, r.Origin, origin)
		}
	}
}
