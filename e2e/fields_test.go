package e2e

import (
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFieldsInBrowser is the field mapping in a real browser against the
// demo (name, due date and assignee both ways with acme.example ↔
// example.com, "Jira status" to Asana, sections ↔ status): alice creates an
// issue from a task; the due date and the assignee she sets in the task
// pane show on the issue's page in Jira; moving the issue to In Progress on
// Jira's page moves the task to the In progress section and sets its
// "Jira status" field, as the pane shows.
func TestFieldsInBrowser(t *testing.T) {
	t.Parallel()
	w := startWorld(t, "9.12.0")
	b := newTab(t)
	task := w.task(checkoutTask)

	b.signIn(w, "alice")
	b.openTask(task, checkoutTask, 0)
	b.install(w, "alice", viaPAT)
	b.openForm()
	b.choose("issuetype", "Task", true)
	b.do("create the issue", chromedp.Click(css(`#form-submit`)), chromedp.WaitVisible(css(`#widgets .widget .w-title a`)))
	key := regexp.MustCompile(`^DEMO-\d+`).FindString(b.text(`#widgets .widget .w-title a`))
	if key == "" {
		t.Fatalf("widget title %q", b.text(`#widgets .widget .w-title a`))
	}

	// The due date and the assignee, set in the task pane.
	bob := w.d.Asana.Seed().Users["bob"]
	eval[bool](b, `(() => {
		const due = document.querySelector("#due-input");
		due.value = "2027-03-15";
		due.dispatchEvent(new Event("change"));
		return true;
	})()`)
	b.waitJS("the pane shows the due date", `(document.querySelector("#due-input") || {}).value === "2027-03-15"`)
	eval[bool](b, `(() => {
		const sel = document.querySelector("#assignee-select");
		sel.value = `+jsString(bob)+`;
		sel.dispatchEvent(new Event("change"));
		return true;
	})()`)
	b.waitJS("the pane shows bob", `(document.querySelector("#assignee-select") || {}).value === `+jsString(bob))
	poll(t, key+"'s page in Jira shows the due date and bob", func() string {
		b.jiraIssuePage(w, key, "alice")
		// Jira's page has no due date row until the issue has one: read it
		// without waiting for it, so the poll loads the page again.
		due := eval[string](b, `(document.querySelector("#due-date") || {}).textContent || ""`)
		who := b.text(`#assignee-val`)
		if who != "Bob Brown" || missing(due, "15", "Mar") != "" {
			return "Jira shows due " + due + ", assignee " + who
		}
		return ""
	})

	// In Progress on Jira's page: the task's section and "Jira status".
	b.do("move the issue to In Progress", chromedp.WaitVisible(css(`#action_id_21`)), chromedp.Click(css(`#action_id_21`)))
	b.waitJS("Jira shows In Progress", `(document.querySelector("#status-val") || {}).textContent === "In Progress"`)
	b.do("back to Asana", chromedp.Navigate(w.d.AsanaURL+"/#task="+task), chromedp.WaitVisible(css(`#widgets .widget`)))
	poll(t, "the pane shows the In progress section and Jira status In Progress", func() string {
		b.openTask(task, checkoutTask, 1)
		section := eval[string](b, `(() => { const s = document.querySelector("#section-select"); return s ? s.options[s.selectedIndex].text : ""; })()`)
		status := eval[string](b, `(() => {
			const dt = [...document.querySelectorAll("#pane dl.fields dt")].find(d => d.textContent === "Jira status");
			const sel = dt && dt.nextElementSibling.querySelector("select");
			return sel ? sel.options[sel.selectedIndex].text : "";
		})()`)
		if section != "In progress" || status != "In Progress" {
			return "the pane shows section " + section + ", Jira status " + status
		}
		return ""
	})
}
