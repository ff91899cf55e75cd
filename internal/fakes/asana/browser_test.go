package asana

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/browsertest"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// TestTaskPaneInBrowser drives the task pane page in headless Chromium
// against a test app: the form renders (all ten field types), a watched
// field re-renders it through on_change, the submit attaches the resource,
// and the widget card shows it.
func TestTaskPaneInBrowser(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, "app-secret")
	s, hs := newTestServer(t, Options{App: app.registration()})
	task := s.Seed().Tasks[2].GID
	if err := s.AddAppToProject(s.Seed().Project); err != nil {
		t.Fatal(err)
	}

	ctx := openPane(t, hs, "alice", task)
	err := chromedp.Do(ctx,
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
		choose(`#app-form select[name=issue_type]`, "bug"),
		chromedp.WaitVisible(`#app-form [data-field="steps"] input`),
	)
	if err != nil {
		t.Fatalf("change the issue type (on_change adds a field): %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#app-form [data-field="summary"] input`, "Checkout logs users out"),
		// The button is pressed from the page rather than by a mouse
		// event at its coordinates, which a loaded machine's late layout
		// can make miss it.
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector("#form-submit").click(), true)`))
			return err
		}),
		chromedp.WaitVisible(`.widget .w-title a`),
	)
	if err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#app-form") ? document.querySelector("#app-form").innerText : "(no form)"`))
		t.Fatalf("submit the form: %v; the form then read: %q", err, status)
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
	// One choice, one on_change call: a second one renders the form again
	// under the steps that follow.
	changes := 0
	for _, r := range app.received() {
		if r.Path == "/form/change" {
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("the app received %d on_change calls for one choice, want 1", changes)
	}
	// The browser, not the emulator, called the app: with the page's origin.
	origin := hs.URL
	for _, r := range app.received() {
		if r.Origin != origin {
			t.Errorf("%s came with Origin %q, want %q", r.Path, r.Origin, origin)
		}
	}
}

// TestTaskPaneEditsInBrowser changes a task in the pane as a person does in
// Asana (assignee, due date, section, an enum field) and wants the same
// system stories as the API records, shown in the task's activity.
func TestTaskPaneEditsInBrowser(t *testing.T) {
	t.Parallel()
	// A fixed clock: the due date story writes the year for another year.
	s, hs := newTestServer(t, Options{Now: func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }})
	seed := s.Seed()
	task := seed.Tasks[1].GID

	ctx := openPane(t, hs, "alice", task)
	// Each change re-renders the pane when the emulator has it; the next
	// step waits for that render, or it would act on a node being replaced.
	markOld := func() {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector("#pane .task-title h1").dataset.old = "1", true)`)); err != nil {
			t.Fatal(err)
		}
	}
	rendered := func(what string) {
		t.Helper()
		waitFor(t, what+" shown in the pane", func() bool {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const h = document.querySelector("#pane .task-title h1"); return !!h && !h.dataset.old; })()`))
			return err == nil && ok
		})
	}
	change := func(what, sel, value string, done func(Task) bool) {
		t.Helper()
		markOld()
		err := chromedp.Do(ctx,
			chromedp.WaitVisible(sel),
			choose(sel, value))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		waitFor(t, what, func() bool { return done(s.Task(task)) })
		rendered(what)
	}
	change("assign", `#assignee-select`, seed.Users["alice"], func(x Task) bool { return x.Assignee == seed.Users["alice"] })
	change("set the due date", `#due-input`, "2026-03-20", func(x Task) bool { return x.DueOn == "2026-03-20" })
	change("move to Done", `#section-select`, seed.Sections["Done"], func(x Task) bool { return x.Sections[seed.Project] == seed.Sections["Done"] })
	change("set the priority", `select.custom-field[data-field="`+seed.PriorityField+`"]`, seed.PriorityOptions["High"],
		func(x Task) bool { return x.CustomFields[seed.PriorityField] == seed.PriorityOptions["High"] })
	markOld()
	if err := chromedp.Do(ctx, chromedp.Click(`.task-title .check`)); err != nil {
		t.Fatalf("complete: %v", err)
	}
	waitFor(t, "completion", func() bool { return s.Task(task).Completed })

	var subtypes []string
	for _, sy := range s.Stories(task) {
		if sy.Type == "system" {
			subtypes = append(subtypes, sy.Subtype)
		}
	}
	want := []string{"assigned", "due_date_changed", "section_changed", "enum_custom_field_changed", "marked_complete"}
	if diff := cmp.Diff(want, subtypes); diff != "" {
		t.Errorf("system stories (-want +got):\n%s", diff)
	}
	err := chromedp.Do(ctx, chromedp.WaitVisible(`.stories li.system[data-subtype="marked_complete"]`))
	if err != nil {
		t.Fatalf("the pane does not show the activity: %v", err)
	}
	activity, err := chromedp.Run(ctx, chromedp.Text(`.stories`))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"assigned to Alice Anders", "changed the due date to March 20", `moved this task from "To do" to "Done" in Launch`} {
		if !strings.Contains(activity, text) {
			t.Errorf("activity lacks %q: %q", text, activity)
		}
	}
}

// choose sets a select's or an input's value and fires one change event,
// as a person's choice does. Not chromedp.SetValue, which fires input and
// change itself: with another change after it, the pane got two on_change
// calls, whose second answer drew the form again after the test had moved
// on to it (keys typed into the form it replaced, a submit that found the
// summary empty, a node gone).
func choose(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const e = document.querySelector(`+strconv.Quote(sel)+`);
			e.value = `+strconv.Quote(value)+`;
			return e.dispatchEvent(new Event("change", { bubbles: true }));
		})()`))
		return err
	})
}

// openPane starts Chromium, signs in as user (password = name) and opens
// the task in the pane; the context lives as long as the test.
func openPane(t *testing.T, hs *httptest.Server, user, task string) context.Context {
	t.Helper()
	opts := browsertest.Options(browsertest.Path(t), t.TempDir(), chromedp.WindowSize(1280, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	err := chromedp.Do(ctx,
		chromedp.Navigate(hs.URL+"/-/login?next=/"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, user),
		chromedp.SendKeys(`input[name=password]`, user),
		chromedp.Click(`button.primary`),
		chromedp.WaitVisible(`#task-list li`),
		chromedp.Click(`#task-list li[data-gid="`+task+`"]`),
		chromedp.WaitVisible(`#assignee-select`),
	)
	if err != nil {
		t.Fatalf("open the task: %v", err)
	}
	return ctx
}

// TestAddAppFromCustomize is Asana's flow for an App Components app: a
// task shows no entry point until the app is added to its project from
// Customize → Apps; the install wizard's Continue opens the app's
// authentication popup; "success" adds the app and its entry point shows,
// "error" leaves the project as it was and says why and how to try again.
func TestAddAppFromCustomize(t *testing.T) {
	t.Parallel()
	for _, deny := range []bool{false, true} {
		t.Run(map[bool]string{false: "allowed", true: "denied"}[deny], func(t *testing.T) {
			t.Parallel()
			app := newTestApp(t, "app-secret")
			app.denyAuth.Store(deny)
			s, hs := newTestServer(t, Options{App: app.registration()})
			seed := s.Seed()
			ctx := openPane(t, hs, "alice", seed.Tasks[2].GID)
			err := chromedp.Do(ctx,
				chromedp.WaitVisible(`#no-apps`),
				chromedp.Click(`#customize-button`),
				chromedp.WaitVisible(`#add-app`),
				chromedp.Click(`#add-app`),
				chromedp.WaitVisible(`#install-continue`),
				chromedp.Click(`#install-continue`),
			)
			if err != nil {
				t.Fatalf("add the app: %v", err)
			}
			if deny {
				if err := chromedp.Do(ctx, chromedp.WaitVisible(`#install-status .notice`)); err != nil {
					t.Fatalf("no message after the popup said error: %v", err)
				}
				msg, err := chromedp.Run(ctx, chromedp.Text(`#install-status`))
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"Jira Bridge is not connected", "declined", "nothing was changed", "To try again"} {
					if !strings.Contains(msg, want) {
						t.Errorf("the wizard says %q, lacking %q", msg, want)
					}
				}
				if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#entry-point").length`)); n != 0 {
					t.Error("an entry point shows though the app was not added")
				}
				return
			}
			if err := chromedp.Do(ctx, chromedp.WaitVisible(`#flash.good`), chromedp.WaitVisible(`#entry-point`)); err != nil {
				t.Fatalf("after success: %v", err)
			}
			msg, _ := chromedp.Run(ctx, chromedp.Text(`#flash-text`))
			if !strings.Contains(msg, "Jira Bridge is added to Launch") {
				t.Errorf("flash %q", msg)
			}
			// Opened again, the page remembers: the entry point, and no
			// request to connect.
			if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(`#entry-point`)); err != nil {
				t.Fatalf("after a reload: %v", err)
			}
			if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("install-banner").hidden`)); !hidden {
				t.Error("after a reload the page asks to connect again")
			}
		})
	}
}

// TestPermalinkOpensTheTask: the permalink_url the API returns for a task
// opens it in the task pane (Jira's link back to the task uses it).
func TestPermalinkOpensTheTask(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	task := seed.Tasks[1]
	ctx := openPane(t, hs, "alice", seed.Tasks[0].GID)
	for _, link := range []string{
		hs.URL + "/1/" + seed.Workspace + "/project/" + seed.Project + "/task/" + task.GID,
		hs.URL + "/1/" + seed.Workspace + "/task/" + task.GID,
	} {
		err := chromedp.Do(ctx,
			chromedp.Navigate(link),
			chromedp.WaitVisible(`#pane .task-title h1`),
		)
		if err != nil {
			t.Fatalf("open %s: %v", link, err)
		}
		waitFor(t, "the task "+task.Name, func() bool {
			got, _ := chromedp.Run(ctx, chromedp.Text(`#pane .task-title h1`))
			return got == task.Name
		})
	}
}

// The permalink_url of a task as the API returns it is served: signed out,
// it leads to the sign-in page, which comes back to it.
func TestPermalinkFromTheAPIIsServed(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	link, _ := call(t, hs, seed.Tokens["alice"], "GET", "/tasks/"+seed.Tasks[0].GID+"?opt_fields=permalink_url", nil).data(t)["permalink_url"].(string)
	if !strings.HasPrefix(link, hs.URL+"/") {
		t.Fatalf("permalink_url %q", link)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link) //nolint:noctx // a test's one request
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "/-/login?next=" + url.QueryEscape(strings.TrimPrefix(link, hs.URL))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("GET %s: %d to %q, want 303 to %q", link, resp.StatusCode, resp.Header.Get("Location"), want)
	}
}
