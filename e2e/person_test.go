package e2e

import (
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// What a person does in the Asana task pane and the install popup.

type css = chromedp.CSS

// signIn signs in to the Asana emulator and waits for the task list.
func (b *tab) signIn(w *world, login string) {
	b.t.Helper()
	b.do("sign in to Asana as "+login,
		chromedp.Navigate(w.d.AsanaURL+"/-/login?next=/"),
		chromedp.WaitVisible(css(`input[name=username]`)),
		chromedp.SendKeys(css(`input[name=username]`), login),
		chromedp.SendKeys(css(`input[name=password]`), login),
		chromedp.Click(css(`button.primary`)),
		chromedp.WaitVisible(css(`#task-list li`)),
	)
}

// openTask clicks a task in the list and waits until its pane has been
// drawn again with at least widgets widget cards (working or failed).
//
// The task is clicked again when its pane has not rendered after a while:
// once, under the full suite's load, a click (or the pane's read it
// starts) was lost and the pane kept the old render for the whole
// deadline. Opening a task again changes nothing but the pane.
func (b *tab) openTask(gid, name string, widgets int) {
	b.t.Helper()
	open := `(() => {
		const h = document.querySelector("#pane .task-title h1");
		if (h) h.dataset.old = "1";
		const li = document.querySelector('#task-list li[data-gid="` + gid + `"]');
		if (li) li.click();
		return !!li;
	})()`
	rendered := `(() => {
		const h = document.querySelector("#pane .task-title h1");
		return !!h && !h.dataset.old && h.textContent === ` + strconv.Quote(name) + ` &&
			document.querySelectorAll("#widgets .widget").length >= ` + strconv.Itoa(widgets) + `;
	})()`
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		b.waitJS("find the task "+name+" in the list", open)
		if b.pollJS(rendered, 15*time.Second) {
			return
		}
	}
	b.waitJS("open the task "+name, rendered)
}

// consentMethod is how the person authorizes asanajira in Jira.
type consentMethod string

const (
	viaOAuth1 consentMethod = "oauth1"
	viaPAT    consentMethod = "pat"
)

// install adds the app to the project as a person does in Asana:
// Customize → Apps → + Add app → Continue opens the authentication popup:
// Asana's consent, then Jira's authorization by method. The popup's last
// page names the Jira account, tells the task pane "success" and closes;
// the task pane says the app is added and the task offers its entry point.
func (b *tab) install(w *world, login string, method consentMethod) {
	b.t.Helper()
	p := b.openInstallPopup()
	p.asanaConsent(login, "allow")
	switch method {
	case viaOAuth1:
		p.do("choose OAuth", chromedp.WaitVisible(css(`#method-oauth1`)), chromedp.Click(css(`#method-oauth1`)))
		p.jiraAuthorize(login, "approve")
	case viaPAT:
		p.do("choose the personal access token", chromedp.WaitVisible(css(`#method-pat`)), chromedp.Click(css(`#method-pat`)),
			chromedp.WaitVisible(css(`input[name=token]`)))
		// The person creates the token on their Jira profile page.
		pat, err := w.d.Jira.CreatePAT(login, "asanajira")
		if err != nil {
			b.t.Fatal(err)
		}
		p.do("paste the token", chromedp.SendKeys(css(`input[name=token]`), pat), chromedp.Submit(css(`input[name=token]`)))
	}
	p.waitJS("the popup names the Jira account", `document.body.innerText.includes("Connected as Jira user `+login+` — ")`)
	b.do("the task pane hears success", chromedp.WaitVisible(css(`#flash.good`)), chromedp.WaitVisible(css(`#entry-point`)))
	if got := b.text(`#flash-text`); !strings.Contains(got, "Jira Server is added to Launch") {
		b.t.Errorf("after adding the app the task pane says %q", got)
	}
	// The message sits above the task list and the pane and hides itself
	// 10 s after it showed, moving everything under it up (the entry
	// point by 42 px). A mouse click whose coordinates were taken before
	// that and sent after lands beside its button: on a loaded machine
	// the next steps may straddle those 10 s. Dismissed here, as a person
	// may, the page's layout no longer moves by itself.
	eval[bool](b, `(document.getElementById("flash-close").click(), true)`)
	b.waitJS("the message is dismissed", `document.getElementById("flash").hidden`)
}

// openInstallPopup goes to Customize → Apps → + Add app → Continue and
// returns the app's authentication popup.
func (b *tab) openInstallPopup() *tab {
	b.t.Helper()
	b.do("open Customize → Apps", chromedp.WaitVisible(css(`#customize-button`)), chromedp.Click(css(`#customize-button`)),
		chromedp.WaitVisible(css(`#add-app`)), chromedp.Click(css(`#add-app`)))
	return b.popup("continue to the app's authentication popup", chromedp.WaitVisible(css(`#install-continue`)), chromedp.Click(css(`#install-continue`)))
}

// asanaConsent answers Asana's OAuth page: sign in when asked, then
// decision "allow" or "deny".
func (b *tab) asanaConsent(login, decision string) {
	b.t.Helper()
	b.do("Asana's consent page", chromedp.WaitVisible(css(`button[value=`+decision+`]`)))
	if eval[bool](b, `!!document.querySelector("input[name=username]")`) {
		b.do("sign in on Asana's consent page",
			chromedp.SendKeys(css(`input[name=username]`), login),
			chromedp.SendKeys(css(`input[name=password]`), login))
	}
	b.do("press "+decision+" on Asana's consent page", chromedp.Click(css(`button[value=`+decision+`]`)))
}

// jiraAuthorize answers Jira's OAuth access request: log in when asked,
// then "approve" or "deny".
func (b *tab) jiraAuthorize(login, button string) {
	b.t.Helper()
	b.do("Jira's OAuth access request", chromedp.WaitVisible(css(`#`+button)))
	if eval[bool](b, `!!document.querySelector("#login-form-username")`) {
		b.do("log in to Jira",
			chromedp.SendKeys(css(`#login-form-username`), login),
			chromedp.SendKeys(css(`#login-form-password`), login))
	}
	b.do("press "+button+" in Jira", chromedp.Click(css(`#`+button)))
}

// openForm opens the app's "Create new issue" form on the open task.
func (b *tab) openForm() {
	b.t.Helper()
	b.do("open the create form",
		chromedp.Click(css(`#entry-point`)),
		chromedp.Click(css(`.menu button[data-entry="form"]`)),
		chromedp.WaitVisible(css(`#app-form #form-submit`)),
	)
}

// widgetText is the text of the widget card on the open task, "" when
// there is none.
func (b *tab) widgetText() string {
	return eval[string](b, `(document.querySelector("#widgets .widget") || {}).innerText || ""`)
}

func lines(s string) string { return strings.Join(strings.Fields(s), " ") }
