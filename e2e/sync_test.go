package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// TestSyncInBrowser is the README walkthrough's two-way sync, in a real
// browser against the demo (sync on for Launch ↔ DEMO, Asana polled every
// second): alice adds the app and creates an issue from a task; a comment
// she types in the task pane appears on the issue's page in Jira, as
// hers, and does not come back to the task; moving the issue to Done on
// Jira's page completes the task, as the pane shows.
func TestSyncInBrowser(t *testing.T) {
	t.Parallel()
	w := startWorld(t, "9.12.0")
	b := newTab(t)
	task := w.task(checkoutTask)

	b.signIn(w, "alice")
	b.openTask(task, checkoutTask, 0)
	b.install(w, "alice", viaPAT)
	b.openForm()
	b.choose("issuetype", "Task", true)
	summary := "Fix the login on the checkout page"
	b.do("fill the form", chromedp.Clear(css(`#app-form input[name=summary]`)), chromedp.SendKeys(css(`#app-form input[name=summary]`), summary))
	b.do("create the issue", chromedp.Click(css(`#form-submit`)), chromedp.WaitVisible(css(`#widgets .widget .w-title a`)))
	key := regexp.MustCompile(`^DEMO-\d+`).FindString(b.text(`#widgets .widget .w-title a`))
	if key == "" {
		t.Fatalf("widget title %q", b.text(`#widgets .widget .w-title a`))
	}

	// A comment typed in the task pane reaches Jira's page.
	comment := "Checked on Safari 17: signing in at checkout works again"
	b.do("comment on the task", chromedp.SendKeys(css(`#comment-input`), comment), chromedp.Click(css(`.comment-box button`)))
	b.waitJS("the comment is on the task", `[...document.querySelectorAll(".stories li.comment .text")].some(e => e.textContent === `+jsString(comment)+`)`)
	poll(t, "the comment appears on "+key+"'s page in Jira", func() string {
		b.jiraIssuePage(w, key, "alice")
		got := eval[string](b, `[...document.querySelectorAll("#comments .comment")].map(c => c.innerText).find(t => t.includes(`+jsString(comment)+`)) || ""`)
		if got == "" {
			return "Jira's comments: " + lines(b.text(`#comments`))
		}
		if !strings.Contains(got, "Alice Anderson") {
			return "the comment is not alice's: " + lines(got)
		}
		return ""
	})

	// Done on Jira's page completes the task.
	b.do("move the issue to Done", chromedp.WaitVisible(css(`#action_id_31`)), chromedp.Click(css(`#action_id_31`)))
	b.waitJS("Jira shows Done", `(document.querySelector("#status-val") || {}).textContent === "Done"`)
	b.do("back to Asana", chromedp.Navigate(w.d.AsanaURL+"/#task="+task), chromedp.WaitVisible(css(`#widgets .widget`)))
	poll(t, "the task shows completed in the pane", func() string {
		b.openTask(task, checkoutTask, 1)
		if !eval[bool](b, `!!document.querySelector("#pane .task-title .check.done")`) {
			return "the pane's check mark is not done"
		}
		return ""
	})

	// The comment was mirrored once and not echoed back to the task.
	n := 0
	for _, s := range w.d.Asana.Stories(task) {
		if strings.Contains(s.Text, comment) {
			n++
		}
	}
	if is, _ := w.d.Jira.Issue(key); n != 1 || countComments(is.Comments, comment) != 1 {
		t.Errorf("the comment is on the task %d times and on %s %d times, want once each", n, key, countComments(is.Comments, comment))
	}
}

// jiraIssuePage opens an issue's page in the Jira emulator, logging in as
// login when Jira asks.
func (b *tab) jiraIssuePage(w *world, key, login string) {
	b.t.Helper()
	b.do("open "+key+" in Jira", chromedp.Navigate(w.d.JiraURL+"/browse/"+key), chromedp.WaitVisible(css(`body`)))
	if eval[bool](b, `!!document.querySelector("#login-form-username")`) {
		b.do("log in to Jira",
			chromedp.SendKeys(css(`#login-form-username`), login),
			chromedp.SendKeys(css(`#login-form-password`), login),
			chromedp.Click(css(`#login-form-submit`)),
			chromedp.WaitVisible(css(`#comments`)))
	}
}

// countComments counts the comments whose body holds text.
func countComments(comments []fakejira.Comment, text string) int {
	n := 0
	for _, c := range comments {
		if strings.Contains(c.Body, text) {
			n++
		}
	}
	return n
}
