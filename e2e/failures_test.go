package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// issuesFrom counts the Jira issues linked to the task (by the remote
// link's globalId) and those with this summary.
func (w *world) issuesFrom(task, summary string) (linked, named int) {
	for _, is := range w.d.Jira.Issues() {
		if is.Summary == summary {
			named++
		}
		for _, l := range is.RemoteLinks {
			if l.GlobalID == "asana:task:"+task {
				linked++
				break
			}
		}
	}
	return linked, named
}

// formNotice is the message the form shows after a failed submit: under
// the form, or under a field (a 400 answer carries its message there, as
// Asana shows nothing else of it).
func (b *tab) formNotice() string {
	b.t.Helper()
	const sel = `#app-form .notice, #app-form .field-error`
	b.do("the form says what went wrong", chromedp.WaitVisible(css(sel)))
	return b.text(sel)
}

// TestJiraTroubleWhileCreating: Jira stops or throttles after the person
// opened the form. The form says so plainly, nothing is created, and once
// Jira is back the same form creates exactly one issue.
func TestJiraTroubleWhileCreating(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault fakejira.Faults
		want  []string // in the message the person reads
	}{
		{"stopped", fakejira.Faults{Reset: true}, []string{"Jira", "try again"}},
		{"proxy error", fakejira.Faults{ErrorRate: 1, ErrorStatus: 502}, []string{"Jira", "try again"}},
		{"rate limited", fakejira.Faults{Throttle: true, RetryAfterSeconds: 30}, []string{"Jira", "rate limiting", "try again"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := startWorld(t, "9.12.0")
			b := newTab(t)
			task := w.task(launchTask)
			b.signIn(w, "alice")
			b.openTask(task, launchTask, 0)
			b.install(w, "alice", viaOAuth1)
			b.openForm()
			before := len(w.d.Jira.Issues())

			if err := w.d.Jira.SetFaults(tc.fault); err != nil {
				t.Fatal(err)
			}
			b.do("submit while Jira is in trouble", chromedp.Click(css(`#form-submit`)))
			msg := b.formNotice()
			if m := missing(msg, tc.want...); m != "" || strings.Contains(msg, "Something went wrong") {
				t.Errorf("the form says %q; want a clear message with %q", msg, tc.want)
			}
			if n := len(w.d.Jira.Issues()); n != before {
				t.Errorf("%d issues created while Jira was in trouble", n-before)
			}

			// Jira is back; the person presses the button again, twice.
			if err := w.d.Jira.SetFaults(fakejira.Faults{}); err != nil {
				t.Fatal(err)
			}
			b.do("submit again", chromedp.WaitEnabled(css(`#form-submit`)), chromedp.DoubleClick(css(`#form-submit`)),
				chromedp.WaitVisible(css(`#widgets .widget .w-title a`)))
			if linked, named := w.issuesFrom(task, launchTask); linked != 1 || named != 1 {
				t.Errorf("after Jira came back: %d issues linked to the task, %d named after it; want 1", linked, named)
			}
			if n := len(w.d.Jira.Issues()); n != before+1 {
				t.Errorf("%d issues created in all, want 1", n-before)
			}
		})
	}
}

// TestJiraStopsAfterTheCreate: Jira creates the issue, then stops answering
// for that issue (the remote link back to Asana, the attachments). The
// person still gets the issue; once Jira is back the copy job finishes the
// work, each file once, and the link back to the task is there.
func TestJiraStopsAfterTheCreate(t *testing.T) {
	t.Parallel()
	w := startWorld(t, "10.3.0")
	b := newTab(t)
	task := w.task(launchTask)
	b.signIn(w, "alice")
	b.openTask(task, launchTask, 0)
	b.install(w, "alice", viaOAuth1)
	b.openForm()
	demoIssues := 0
	for _, is := range w.d.Jira.Issues() {
		if is.Project == "DEMO" {
			demoIssues++
		}
	}
	next := "DEMO-" + strconv.Itoa(demoIssues+1)
	if err := w.d.Jira.SetFaults(fakejira.Faults{Reset: true, PathPrefix: "/jira/rest/api/2/issue/" + next + "/"}); err != nil {
		t.Fatal(err)
	}
	b.do("create the issue", chromedp.Click(css(`#form-submit`)), chromedp.WaitVisible(css(`#widgets .widget .w-title a`)))
	if got := b.text(`#widgets .widget .w-title a`); !strings.HasPrefix(got, next+": ") {
		t.Fatalf("widget title %q, want %s", got, next)
	}
	if err := w.d.Jira.SetFaults(fakejira.Faults{}); err != nil {
		t.Fatal(err)
	}
	w.waitCopied(next, task)
	if linked, named := w.issuesFrom(task, launchTask); linked != 1 || named != 1 {
		t.Errorf("%d issues linked to the task, %d named after it; want 1", linked, named)
	}
}

// TestConsentDenied: the person says no, in Asana or in Jira. The popup
// says what happened and tells the task pane "error"; the task pane says
// the app was not added and how to try again, and the project has no entry
// point.
func TestConsentDenied(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		deny func(p *tab)
		// says is what the popup shows before it closes.
		says string
	}{
		{name: "in Asana", deny: func(p *tab) { p.asanaConsent("alice", "deny") }, says: "You did not allow asanajira to use your Asana account"},
		{name: "in Jira", deny: func(p *tab) {
			p.asanaConsent("alice", "allow")
			p.do("choose OAuth", chromedp.WaitVisible(css(`#method-oauth1`)), chromedp.Click(css(`#method-oauth1`)))
			p.jiraAuthorize("alice", "deny")
		}, says: "You did not allow asanajira to use your Jira account"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := startWorld(t, "8.20.1")
			b := newTab(t)
			b.signIn(w, "alice")
			eval[bool](b, `(window.e2eMessages = [], window.addEventListener("message", (e) => window.e2eMessages.push(String(e.data))), true)`)
			p := b.openInstallPopup()
			tc.deny(p)
			p.waitJS("the popup says why", `document.body.innerText.includes(`+jsString(tc.says)+`)`)
			b.waitJS("the popup tells the task pane", `window.e2eMessages.includes("error")`)
			b.do("the task pane says what happened", chromedp.WaitVisible(css(`#install-status .notice`)))
			if got := lines(b.text(`#install-status`)); missing(got, "Jira Server is not connected", "declined", "nothing was changed", "To try again") != "" {
				t.Errorf("the task pane says %q", got)
			}
			if got := eval[string](b, `window.e2eMessages.join(",")`); strings.Contains(got, "success") {
				t.Errorf("the popup told the task pane %q", got)
			}
			b.do("the wizard offers to try again", chromedp.WaitVisible(css(`#install-continue`)))
			if eval[bool](b, `!!document.querySelector("#entry-point")`) {
				t.Error("the task offers the app's entry point though it was not added")
			}
			if _, err := w.app.Store().GetJiraCredential(t.Context(), w.seed.Users["alice"], w.srv.ID); err == nil {
				t.Error("a Jira credential was stored after the person said no")
			}
		})
	}
}

// TestTokenRevokedInJira: Jira's administrator revokes asanajira's access
// token. The widget asks the person to connect again; connecting again
// brings the issue back.
func TestTokenRevokedInJira(t *testing.T) {
	t.Parallel()
	w := startWorld(t, "10.3.0")
	b := newTab(t)
	task := w.task(checkoutTask)
	b.signIn(w, "alice")
	b.openTask(task, checkoutTask, 0)
	b.install(w, "alice", viaOAuth1)
	b.do("link DEMO-2",
		chromedp.Click(css(`#entry-point`)),
		chromedp.Click(css(`.menu button[data-entry="lookup"]`)),
		chromedp.WaitVisible(css(`#lookup-input`)),
		chromedp.SendKeys(css(`#lookup-input`), "DEMO-2"),
	)
	eval[bool](b, `(document.getElementById("lookup-form").requestSubmit(), true)`)
	b.do("the widget shows DEMO-2", chromedp.WaitVisible(css(`#widgets .widget .pill`)))
	b.waitJS("the Link existing issue dialog closes", `document.getElementById("modal").hidden`)

	cred, err := w.app.Store().GetJiraCredential(t.Context(), w.seed.Users["alice"], w.srv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !w.d.Jira.RevokeAccessToken(cred.AccessToken.Reveal()) {
		t.Fatal("Jira did not know the token")
	}
	// The widget keeps what it showed for its short cache (30 seconds);
	// the first open after that goes to Jira and hears the refusal.
	poll(t, "the widget asks to reconnect", func() string {
		b.openTask(task, checkoutTask, 1)
		if !eval[bool](b, `!!document.querySelector("#widgets .widget.failed button.primary")`) {
			return "the widget says: " + lines(b.widgetText())
		}
		return ""
	})
	if got := lines(b.widgetText()); missing(got, "authoriz", "Connect Jira Server") != "" {
		t.Errorf("the widget says %q", got)
	}

	// Connect again from the widget.
	p := b.popup("reconnect from the widget", chromedp.Click(css(`#widgets .widget.failed button.primary`)))
	p.asanaConsent("alice", "allow")
	p.do("choose OAuth", chromedp.WaitVisible(css(`#method-oauth1`)), chromedp.Click(css(`#method-oauth1`)))
	p.jiraAuthorize("alice", "approve")
	b.waitJS("the widget works again", `!document.querySelector("#widgets .widget.failed") && !!document.querySelector("#widgets .widget .pill")`)
	if got := lines(b.widgetText()); missing(got, "DEMO-2: Login page crashes on Safari", "In Progress") != "" {
		t.Errorf("after reconnecting the widget says %q", got)
	}
}
