package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

const (
	launchTask   = "Write the launch announcement" // an Asana-hosted PDF and PNG, a Google Drive and a Dropbox link
	checkoutTask = "Fix the checkout page login bug"
)

// TestJourney is the newcomer's walk through the demo (the README's
// walkthrough), in a real browser: sign in to Asana, open a task with files
// and links, add the app to the project from Customize → Apps (Asana
// consent, then Jira authorization, the popup naming the Jira account),
// create an issue with the form, see the widget; Jira has the issue with
// its link back, the files and the cloud links, and the task a comment
// saying what was copied; moving the issue to Done in Jira's own page
// changes the widget on the next open, and Jira's link back opens the task;
// an existing issue is linked by key on another task after a key that
// matches nothing says so; the admin console lists the server.
func TestJourney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		jira   string
		method consentMethod
		// issueType is chosen in the form; required are the fields it then
		// requires, by field id, and what the person types.
		issueType  string
		required   map[string]string
		screenshot bool
	}{
		{jira: "8.20.1", method: viaOAuth1, issueType: "Epic", required: map[string]string{fakejira.FieldEpicName: "Spring launch"}},
		{jira: "10.3.0", method: viaOAuth1, issueType: "Task", screenshot: true},
		{jira: "9.12.0", method: viaPAT, issueType: "Bug"},
	}
	for _, tc := range tests {
		t.Run(tc.jira+"/"+string(tc.method), func(t *testing.T) {
			t.Parallel()
			w := startWorld(t, tc.jira)
			b := newTab(t)
			task := w.task(launchTask)

			b.signIn(w, "alice")
			b.openTask(task, launchTask, 0)
			// Apps are added per project: none yet.
			b.do("the task has no app yet", chromedp.WaitVisible(css(`#no-apps`)))
			b.install(w, "alice", tc.method)

			// Create the issue.
			b.openForm()
			if got := eval[string](b, `document.querySelector("#app-form textarea[name=description]").value`); !strings.Contains(got, "Draft the announcement") {
				t.Errorf("the description is not prefilled from the task notes: %q", got)
			}
			b.choose("issuetype", tc.issueType, true)
			summary := "Announce the launch on the blog and in the newsletter"
			b.do("fill the form",
				chromedp.Clear(css(`#app-form input[name=summary]`)),
				chromedp.SendKeys(css(`#app-form input[name=summary]`), summary),
				chromedp.SendKeys(css(`#app-form input[name=labels]`), "launch, marketing"),
			)
			b.choose("priority", "High", false)
			for id := range tc.required {
				// Asana's form insists on required fields before it submits.
				b.do("submit without "+id, chromedp.Click(css(`#form-submit`)),
					chromedp.WaitVisible(css(`#app-form [data-field="`+id+`"] .field-error`)))
			}
			for id, v := range tc.required {
				b.do("fill "+id, chromedp.SendKeys(css(`#app-form [data-field="`+id+`"] input`), v))
			}
			b.do("create the issue", chromedp.Click(css(`#form-submit`)), chromedp.WaitVisible(css(`#widgets .widget .w-title a`)))
			title := b.text(`#widgets .widget .w-title a`)
			key := regexp.MustCompile(`^DEMO-\d+`).FindString(title)
			if key == "" || title != key+": "+summary {
				t.Fatalf("widget title %q", title)
			}
			// The priority was prefilled from the task's Priority (High);
			// the widget names the Jira account it reads the issue with.
			if got := lines(b.widgetText()); missing(got, "To Do", "High", tc.issueType, "connected as alice — Alice Anderson") != "" {
				t.Errorf("widget lacks %q: %s", missing(got, "To Do", "High", tc.issueType, "connected as alice — Alice Anderson"), got)
			}

			// Jira has the issue, linked back to the task, with the fields.
			is, ok := w.d.Jira.Issue(key)
			if !ok {
				t.Fatalf("no %s in Jira", key)
			}
			if is.Summary != summary || is.IssueType != tc.issueType || is.Priority != "High" || is.Reporter != "alice" ||
				!slices.Equal(is.Labels, []string{"launch", "marketing"}) {
				t.Errorf("issue in Jira: %+v", is)
			}
			for id, v := range tc.required {
				if is.Custom[id] != v {
					t.Errorf("%s = %v in Jira, want %q", id, is.Custom[id], v)
				}
			}
			if !slices.ContainsFunc(is.RemoteLinks, func(l fakejira.RemoteLink) bool { return l.GlobalID == "asana:task:"+task }) {
				t.Errorf("no remote link back to the task: %+v", is.RemoteLinks)
			}

			// The copy job: files into Jira, cloud links as remote links, a
			// comment on the task.
			w.waitCopied(key, task)

			// The screenshot for the README: the widget, the files, the comment.
			b.openTask(task, launchTask, 1)
			if tc.screenshot {
				eval[bool](b, `(document.getElementById("flash").hidden = true, true)`) // the message of step 2
				b.screenshot()
			}
			// The comment's sentences are lines of their own.
			comment := eval[string](b, `[...document.querySelectorAll(".stories li.comment .text")].map(e => e.innerText).find(t => t.includes("brought this task's files")) || ""`)
			if !regexp.MustCompile(`(?m)^Copied: .+\.$`).MatchString(comment) || !regexp.MustCompile(`(?m)^Linked: .+\.$`).MatchString(comment) {
				t.Errorf("the files comment reads %q", comment)
			}

			// Done in Jira's own page, by the person.
			b.jiraIssuePage(w, key, "alice")
			b.do("move the issue to Done", chromedp.WaitVisible(css(`#action_id_31`)), chromedp.Click(css(`#action_id_31`)))
			b.waitJS("Jira shows Done", `(document.querySelector("#status-val") || {}).textContent === "Done"`)
			if got := lines(b.text(`header`)); !strings.Contains(got, "Logged in as Alice Anderson (alice)") {
				t.Errorf("Jira's header says %q", got)
			}
			if !eval[bool](b, `document.querySelector("#status-val").classList.contains("done")`) {
				t.Error("Jira's Done status is not a green lozenge")
			}
			// The link back to the task, as Jira shows it, opens the task.
			back := eval[string](b, `([...document.querySelectorAll("#remote-links a")].find(a => a.href.endsWith("/task/`+task+`")) || {}).href || ""`)
			if back == "" {
				t.Fatalf("Jira's issue page has no link back to the task: %s", lines(b.text(`#remote-links`)))
			}
			b.do("follow the link back to Asana", chromedp.Navigate(back))
			b.waitJS("the link opens the task", `(document.querySelector("#pane .task-title h1") || {}).textContent === `+jsString(launchTask))
			if is, _ := w.d.Jira.Issue(key); is.Status != "Done" || is.Resolution != "Done" {
				t.Fatalf("%s in Jira after Done: status %q, resolution %q", key, is.Status, is.Resolution)
			}
			b.do("back to Asana", chromedp.Navigate(w.d.AsanaURL+"/#task="+task), chromedp.WaitVisible(css(`#widgets .widget`)))
			poll(t, "the widget shows Done", func() string {
				b.openTask(task, launchTask, 1)
				if got := b.text(`#widgets .widget .pill`); got != "Done" {
					return "the pill says " + got
				}
				return ""
			})
			poll(t, "the status change reaches the task's comments", func() string {
				for _, s := range w.d.Asana.Stories(task) {
					if strings.Contains(s.Text, key) && strings.Contains(s.Text, "Done") {
						return ""
					}
				}
				return "no story about " + key + " moving to Done"
			})

			// Link an existing issue by key on another task.
			other := w.task(checkoutTask)
			b.openTask(other, checkoutTask, 0)
			b.do("open the lookup",
				chromedp.Click(css(`#entry-point`)),
				chromedp.Click(css(`.menu button[data-entry="lookup"]`)),
				chromedp.WaitVisible(css(`#lookup-input`)),
				chromedp.SendKeys(css(`#lookup-input`), "DEMO-999"),
			)
			b.waitJS("a key that matches nothing says so", `[...document.querySelectorAll(".ta-header")].some(h => h.textContent.includes("No Jira issue matches “DEMO-999”"))`)
			eval[bool](b, `(document.getElementById("lookup-input").value = "", true)`)
			b.do("type DEMO-2",
				chromedp.SendKeys(css(`#lookup-input`), "DEMO-2"),
				chromedp.WaitVisible(css(`.ta-item`)),
			)
			// Each keystroke may show its own results first; wait for the
			// answer to the whole key.
			poll(t, "typeahead for DEMO-2", func() string {
				if got := b.text(`.ta-list`); !strings.Contains(got, "DEMO-2: Login page crashes on Safari") || strings.Contains(got, "null") {
					return fmt.Sprintf("the typeahead offers %q", got)
				}
				return ""
			})
			eval[bool](b, `(document.getElementById("lookup-form").requestSubmit(), true)`) // Enter: attach by key
			b.do("attach DEMO-2 by key", chromedp.WaitVisible(css(`#widgets .widget .w-title a`)))
			if got := lines(b.widgetText()); missing(got, "DEMO-2: Login page crashes on Safari", "In Progress") != "" {
				t.Errorf("linked widget: %s", got)
			}
			if is, _ := w.d.Jira.Issue("DEMO-2"); !slices.ContainsFunc(is.RemoteLinks, func(l fakejira.RemoteLink) bool { return l.GlobalID == "asana:task:"+other }) {
				t.Errorf("DEMO-2 has no remote link to the task: %+v", is.RemoteLinks)
			}

			if !eval[bool](b, `document.getElementById("install-banner").hidden`) {
				t.Error("the task pane asks alice to connect again")
			}

			// The admin console lists the server.
			admin := newTab(t)
			admin.do("sign in to the admin console with Asana",
				chromedp.Navigate(w.d.BridgeURL+"/admin/"),
				chromedp.WaitVisible(css(`#signin`)),
				chromedp.Click(css(`#signin`)),
				chromedp.WaitVisible(css(`input[name=username]`)),
				chromedp.SendKeys(css(`input[name=username]`), "admin"),
				chromedp.SendKeys(css(`input[name=password]`), "admin"),
				chromedp.Click(css(`button[value=allow]`)),
				chromedp.WaitVisible(css(`#signout`)),
				chromedp.Navigate(w.d.BridgeURL+"/admin/connections"),
				chromedp.WaitVisible(css(`#servers`)),
			)
			if got := lines(admin.text(`#servers`)); missing(got, w.d.JiraURL, tc.jira, "connected") != "" {
				t.Errorf("the admin console's servers lack %q: %s", missing(got, w.d.JiraURL, tc.jira, "connected"), got)
			}
		})
	}
}

// choose picks an option of a form dropdown by its label. A watched field
// (project, issue type) makes the app rebuild the form: then this waits
// for the new form, which must show the choice.
func (b *tab) choose(field, label string, watched bool) {
	b.t.Helper()
	sel := `#app-form select[name=` + field + `]`
	value := eval[string](b, `[...document.querySelectorAll("`+sel+` option")].find(o => o.textContent === `+jsString(label)+`)?.value || ""`)
	if value == "" {
		b.fail("choose "+label, errNoOption(field, label))
	}
	eval[bool](b, `(() => {
		document.getElementById("app-form").dataset.old = "1";
		const s = document.querySelector("`+sel+`");
		s.value = `+jsString(value)+`;
		return s.dispatchEvent(new Event("change"));
	})()`)
	rebuilt := "true"
	if watched {
		rebuilt = `!document.getElementById("app-form").dataset.old`
	}
	b.waitJS("choose "+label, rebuilt+` && (document.querySelector("`+sel+`") || {}).value === `+jsString(value))
}

// screenshot writes the page to docs/images/task-pane.png with
// -update-screenshot, else to the test's temporary folder.
func (b *tab) screenshot() {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.t.TempDir(), "task-pane.png")
	if *updateScreenshot {
		path = filepath.Join("..", "docs", "images", "task-pane.png")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil { //nolint:gosec // a picture for the README
		b.t.Fatal(err)
	}
	b.t.Logf("task pane screenshot: %s", path)
}
