package admin_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/chromedp/chromedp"
)

// TestSyncPagesInBrowser: an admin opens the Sync page from the console's
// navigation, switches sync on for a connection, retries a link's sync
// error, and reads a link's sync history from the Links page.
func TestSyncPagesInBrowser(t *testing.T) {
	t.Parallel()
	b := newSyncBed(t, eventsIntake(time.Now()))
	c := newChrome(t)
	step, text := c.step, c.text
	c.signIn(b.hs.URL)
	step("open the Sync page",
		chromedp.Click(`nav.console-nav a[href="/admin/sync"]`),
		chromedp.WaitVisible(`#sync-connections`),
	)
	legacy := `tr[data-connection="` + acme + "/" + b.old.ID + `"]`
	if row := text(legacy); !strings.Contains(row, "off") {
		t.Fatalf("Legacy Jira's row before: %q", row)
	}
	step("switch sync on for Acme × Legacy Jira",
		chromedp.Click(legacy+` a`),
		chromedp.WaitVisible(`#sync-settings`),
		chromedp.Click(`#sync-enabled`),
		chromedp.Click(`#save-sync`),
		chromedp.WaitVisible(`#flash`),
	)
	if got := text(`#flash`); !strings.Contains(got, "two-way sync is on") {
		t.Errorf("flash after saving: %q", got)
	}
	if set, err := b.engine.Settings(t.Context(), acme, b.old.ID); err != nil || !set.Enabled || !set.Comments || !set.Completion {
		t.Errorf("settings after saving in the browser: %+v, %v", set, err)
	}

	step("retry the link with an error",
		chromedp.Navigate(b.hs.URL+"/admin/sync"),
		chromedp.WaitVisible(`#sync-connections`),
		chromedp.Click(`tr[data-connection="`+acme+"/"+b.dc.ID+`"] a.fail`),
		chromedp.WaitVisible(`#sync-link-errors`),
		chromedp.Click(`tr[data-link="`+strconv.FormatInt(b.broken.ID, 10)+`"] button`),
		chromedp.WaitVisible(`#flash`),
	)
	if got := text(`#flash`); !strings.Contains(got, "OPS-2 will be compared again") {
		t.Errorf("flash after the retry: %q", got)
	}
	changes, err := b.store.ListSyncChanges(t.Context(), store.SyncChangeFilter{LinkID: b.broken.ID})
	if err != nil || len(changes) == 0 || changes[0].Source != "manual" || !changes[0].AppliedAt.IsZero() {
		t.Errorf("no request to compare OPS-2 recorded: %+v, %v", changes, err)
	}

	step("read OPS-1's sync history from the Links page",
		chromedp.Click(`nav.console-nav a[href="/admin/links"]`),
		chromedp.WaitVisible(`#links`),
		chromedp.Click(`#links a[href="/admin/links/`+strconv.FormatInt(b.ok.ID, 10)+`"]`),
		chromedp.WaitVisible(`#sync-history`),
	)
	if got := text(`#sync-history`); !strings.Contains(got, "Jira → Asana") || !strings.Contains(got, "comment.created") ||
		!strings.Contains(got, "Bob <Brown>") {
		t.Errorf("OPS-1's history:\n%s", got)
	}
}
