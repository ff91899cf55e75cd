package jira

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The web UI: enough Jira for a person (and the demo's browser tests) to
// log in, look at an issue and move it through the workflow.

// pageCSS makes the pages look like Jira Server's: the blue header, AUI
// buttons and lozenges, an issue view with a side column.
const pageCSS = `*{box-sizing:border-box}body{font:14px/1.43 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:#172b4d;background:#f4f5f7}
a{color:#0052cc;text-decoration:none}a:hover{text-decoration:underline}
header.aui{display:flex;align-items:center;gap:16px;background:#0747a6;color:#fff;padding:0 20px;height:48px}
header.aui a{color:#fff}header.aui .logo{font-weight:700;font-size:16px;display:flex;align-items:center;gap:8px}
header.aui .logo i{display:inline-block;width:18px;height:18px;border-radius:3px;background:linear-gradient(135deg,#2684ff,#fff);transform:rotate(45deg)}
header.aui .ver{opacity:.75;font-size:12px}header.aui .spacer{flex:1}header.aui .who{font-size:13px}header.aui .who b{font-weight:600}
main{padding:24px;max-width:1080px;margin:0 auto}
.panel{background:#fff;border-radius:3px;box-shadow:0 1px 2px rgba(9,30,66,.25);padding:20px 24px;margin-bottom:16px}
h1{font-size:24px;font-weight:500;margin:4px 0 16px}h2{font-size:14px;font-weight:600;color:#5e6c84;text-transform:uppercase;letter-spacing:.03em;margin:24px 0 8px;border-bottom:1px solid #dfe1e6;padding-bottom:4px}
.crumbs{color:#5e6c84;font-size:13px}
.error{color:#de350b}.muted{color:#5e6c84}
table{border-collapse:collapse;width:100%}td,th{padding:6px 10px;text-align:left;border-bottom:1px solid #dfe1e6;vertical-align:top}th{color:#5e6c84;font-weight:600;white-space:nowrap}
table.fields th{width:150px;border:0;padding:4px 10px 4px 0}table.fields td{border:0;padding:4px 0}
.lozenge{display:inline-block;border-radius:3px;padding:1px 6px;font-size:11px;font-weight:700;text-transform:uppercase;background:#dfe1e6;color:#42526e;white-space:nowrap}
.lozenge.new{background:#dfe1e6;color:#42526e}.lozenge.indeterminate{background:#deebff;color:#0747a6}.lozenge.done{background:#e3fcef;color:#006644}
.lozenge.restricted{background:#ffebe6;color:#bf2600}.lozenge.overdue{background:#ffebe6;color:#bf2600}
.issue{display:grid;grid-template-columns:1fr 300px;gap:24px}.issue .side h2:first-child,.issue .main h2:first-child{margin-top:0}
.toolbar{display:flex;gap:6px;flex-wrap:wrap;margin:0 0 20px}
button,input[type=submit]{font:inherit;border:0;border-radius:3px;padding:6px 12px;background:rgba(9,30,66,.06);color:#42526e;cursor:pointer}
button:hover,input[type=submit]:hover{background:rgba(9,30,66,.12)}
#approve,#login-form-submit,#comment-add-submit{background:#0052cc;color:#fff}#approve:hover,#login-form-submit:hover{background:#0065ff}
input[type=text],input[type=password],textarea{font:inherit;width:100%;padding:6px 8px;border:2px solid #dfe1e6;border-radius:3px;background:#fafbfc}
input:focus,textarea:focus,button:focus-visible,input[type=submit]:focus-visible{outline:none;border-color:#4c9aff;box-shadow:0 0 0 1px #4c9aff}
label{display:block;font-weight:600;color:#5e6c84;font-size:12px;margin:12px 0 4px}
form#login-form,form#oauth-authorize,form#oauth2-consent{max-width:420px}
main:not(:has(> .panel)){background:#fff;max-width:640px;margin:40px auto;border-radius:3px;box-shadow:0 1px 2px rgba(9,30,66,.25);padding:24px 32px}
ul.plain{list-style:none;margin:0;padding:0}ul.plain li{padding:6px 0;border-bottom:1px solid #f4f5f7}
#description-val{white-space:normal;line-height:1.6}
.comment{border-top:1px solid #dfe1e6;padding:10px 0}.comment .meta{color:#5e6c84;font-size:12px;margin-bottom:4px}.comment .meta b{color:#172b4d}.comment .body{white-space:pre-wrap}
.hint{color:#5e6c84;font-size:12px}`

// page writes a complete HTML page.
func (s *Server) page(w http.ResponseWriter, status int, title, body string) {
	s.pageFor(w, status, title, body, nil)
}

// pageFor writes a complete HTML page whose header names who is logged in.
func (s *Server) pageFor(w http.ResponseWriter, status int, title, body string, u *user) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(status)
	who := ""
	if u != nil {
		who = fmt.Sprintf(`<span class="who">Logged in as <b id="header-details-user-fullname">%s</b> (%s) · <a href="%s/logout">Log out</a></span>`,
			htmlEscape(u.displayName), htmlEscape(u.name), s.cp)
	}
	fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>%s - Jira</title><style>%s</style></head>
<body><header class="aui"><a class="logo" href="%s/secure/Dashboard.jspa"><i></i>Jira</a><span class="ver">Jira Server %s · asanajira emulator</span><span class="spacer"></span>%s</header><main>%s</main></body></html>
`, htmlEscape(title), pageCSS, s.cp, htmlEscape(s.prof.version), who, body)
}

// webTime is how Jira's pages show a time: "29/Nov/26 9:40 PM", in the
// viewer's time zone.
func webTime(t time.Time, u *user) string {
	if t.IsZero() {
		return ""
	}
	loc := time.UTC
	if u != nil {
		if l, err := time.LoadLocation(u.timeZone); err == nil {
			loc = l
		}
	}
	return t.In(loc).Format("02/Jan/06 3:04 PM")
}

// webDate is how Jira's pages show a date: "14/Mar/26".
func webDate(d string) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return d
	}
	return t.Format("02/Jan/06")
}

// webSize is a file size as Jira's attachment list shows it.
func webSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d kB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// statusLozenge is a status as Jira draws it, coloured by its category.
func statusLozenge(st status, id string) string {
	return fmt.Sprintf(`<span class="lozenge %s" id="%s">%s</span>`, lookupCategory(st.category).key, id, htmlEscape(st.name))
}

func (s *Server) webRoutes() {
	s.mux.HandleFunc("GET "+s.cp+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, s.cp+"/secure/Dashboard.jspa", http.StatusFound)
	})
	if s.cp != "" {
		s.mux.HandleFunc("GET "+s.cp, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, s.cp+"/secure/Dashboard.jspa", http.StatusFound)
		})
	}
	s.route("GET /login.jsp", anyone, nil, s.loginPage)
	s.route("POST /login.jsp", anyone, nil, s.loginPage)
	s.route("GET /logout", anyone, nil, s.logout)
	s.route("GET /secure/Dashboard.jspa", anyone, nil, s.dashboard)
	s.route("GET /browse/{key}", anyone, nil, s.browseIssue)
	s.route("POST /browse/{key}/transition", anyone, nil, s.webTransition)
	s.route("POST /browse/{key}/comment", anyone, nil, s.webComment)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ *user) {
	dest := r.FormValue("os_destination")
	if dest == "" || !strings.HasPrefix(dest, "/") || strings.HasPrefix(dest, "//") {
		dest = s.cp + "/secure/Dashboard.jspa"
	}
	msg := ""
	if r.Method == http.MethodPost {
		s.mu.Lock()
		u := s.login(r.FormValue("os_username"), r.FormValue("os_password"))
		if u != nil {
			s.startSession(w, u)
		}
		s.mu.Unlock()
		if u != nil {
			http.Redirect(w, r, dest, http.StatusFound)
			return
		}
		msg = `<p class="error">Sorry, your username and password are incorrect - please try again.</p>`
	}
	s.page(w, http.StatusOK, "Log in", fmt.Sprintf(`<div class="panel" style="max-width:420px;margin:40px auto"><h1>Log in</h1>%s<form method="post" action="%s/login.jsp" id="login-form">
<input type="hidden" name="os_destination" value="%s">
<label for="login-form-username">Username</label><input type="text" name="os_username" id="login-form-username" autocomplete="username" autofocus>
<label for="login-form-password">Password</label><input type="password" name="os_password" id="login-form-password" autocomplete="current-password">
<p><input type="submit" value="Log In" id="login-form-submit"></p></form>
<p class="hint">Demo users: admin/admin, alice/alice, bob/bob.</p></div>`, msg, s.cp, htmlEscape(dest)))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *user) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.Redirect(w, r, s.cp+"/login.jsp", http.StatusFound)
}

func (s *Server) requireWebUser(w http.ResponseWriter, r *http.Request, u *user) bool {
	if u != nil {
		return true
	}
	http.Redirect(w, r, s.cp+"/login.jsp?os_destination="+percentEncode(r.URL.RequestURI()), http.StatusFound)
	return false
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.requireWebUser(w, r, u) {
		return
	}
	s.mu.Lock()
	var b strings.Builder
	b.WriteString(`<div class="panel"><h1>Issues</h1><table><tr><th>Key</th><th>Summary</th><th>Status</th><th>Assignee</th><th>Updated</th></tr>`)
	for _, is := range s.issues {
		if !s.canBrowse(u, is) {
			continue
		}
		fmt.Fprintf(&b, `<tr><td><a href="%s/browse/%s">%s</a></td><td>%s</td><td>%s</td><td>%s</td><td class="muted">%s</td></tr>`,
			s.cp, is.key, is.key, htmlEscape(is.summary), statusLozenge(lookupStatus(is.statusID), "status-"+is.key),
			htmlEscape(s.displayName(is.assignee)), webTime(is.updated, u))
	}
	b.WriteString(`</table></div>`)
	s.mu.Unlock()
	s.pageFor(w, http.StatusOK, "Dashboard", b.String(), u)
}

func (s *Server) displayName(name string) string {
	if u := s.userByName(name); u != nil {
		return u.displayName
	}
	return "Unassigned"
}

func (s *Server) browseIssue(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.requireWebUser(w, r, u) {
		return
	}
	s.mu.Lock()
	is := s.issueByKey(r.PathValue("key"))
	if is == nil {
		s.mu.Unlock()
		s.page(w, http.StatusNotFound, "Issue does not exist", `<p class="error">The issue you are trying to view does not exist.</p>`)
		return
	}
	if !s.canBrowse(u, is) {
		s.mu.Unlock()
		s.page(w, http.StatusForbidden, "Permission Violation", `<p class="error">You do not have the permission to see the specified issue.</p>`)
		return
	}
	canTransition := s.hasPerm(u, permTransition, is.project, is)
	canComment := s.hasPerm(u, permComment, is.project, is)
	base := s.baseURL(r)
	t, _ := lookupIssueType(is.typeID)
	p, _ := lookupPriority(is.priorityID)
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="panel"><div class="crumbs"><a href="%s/secure/Dashboard.jspa">%s</a> / <a href="%s/browse/%s" id="key-val">%s</a></div><h1 id="summary-val">%s</h1>`,
		s.cp, htmlEscape(is.project.name), s.cp, is.key, is.key, htmlEscape(is.summary))
	b.WriteString(`<form method="post" action="` + s.cp + `/browse/` + is.key + `/transition" id="transitions" class="toolbar">`)
	for _, tr := range transitions {
		if tr.to != is.statusID && canTransition {
			fmt.Fprintf(&b, `<button type="submit" name="transition" value="%s" id="action_id_%s">%s</button>`, tr.id, tr.id, htmlEscape(tr.name))
		}
	}
	b.WriteString(`</form><div class="issue"><div class="main"><h2>Details</h2><table class="fields" id="issuedetails">`)
	row := func(k, v string) { fmt.Fprintf(&b, `<tr><th>%s</th><td>%s</td></tr>`, k, v) }
	row("Type", htmlEscape(t.name))
	row("Status", statusLozenge(lookupStatus(is.statusID), "status-val"))
	row("Priority", htmlEscape(p.name))
	if is.resolution != "" {
		res, _ := lookupResolution(is.resolution)
		row("Resolution", `<span id="resolution-val">`+htmlEscape(res.name)+`</span>`)
	} else {
		row("Resolution", `<span id="resolution-val">Unresolved</span>`)
	}
	row("Labels", orNone(htmlEscape(strings.Join(is.labels, ", "))))
	if lvl := s.securityLevelOf(is); lvl != nil {
		row("Security Level", `<span class="lozenge restricted" id="security-val">`+htmlEscape(lvl.name)+`</span>`)
	}
	for _, cf := range s.fields {
		if v, ok := is.custom[cf.id]; ok {
			if o, ok := v.(fieldOption); ok {
				v = o.value
			}
			row(htmlEscape(cf.name), htmlEscape(fmt.Sprint(v)))
		}
	}
	b.WriteString(`</table><h2>Description</h2><div id="description-val">`)
	if is.description != nil && *is.description != "" {
		b.WriteString(strings.ReplaceAll(htmlEscape(*is.description), "\n", "<br>"))
	} else {
		b.WriteString(`<span class="muted">Click to add description</span>`)
	}
	fmt.Fprintf(&b, `</div><h2>Attachments (%d)</h2><ul class="plain" id="attachments">`, len(is.attachments))
	for _, a := range is.attachments {
		fmt.Fprintf(&b, `<li><a href="%s/secure/attachment/%s/%s">%s</a> <span class="muted">%s · %s</span></li>`,
			base, a.id, pathEscape(a.filename), htmlEscape(a.filename), webSize(a.size), webTime(a.created, u))
	}
	if len(is.attachments) == 0 {
		b.WriteString(`<li class="muted">None</li>`)
	}
	b.WriteString(`</ul><h2>Issue links</h2><ul class="plain" id="remote-links">`)
	for _, l := range is.links {
		title, _ := l.object["title"].(string)
		link, _ := l.object["url"].(string)
		fmt.Fprintf(&b, `<li><a href="%s">%s</a> <span class="muted">%s</span></li>`, htmlEscape(link), htmlEscape(title), htmlEscape(hostOf(link)))
	}
	if len(is.links) == 0 {
		b.WriteString(`<li class="muted">None</li>`)
	}
	b.WriteString(`</ul><h2>Comments</h2><div id="comments">`)
	comments := s.visibleComments(u, is)
	for _, c := range comments {
		restricted := ""
		if c.visibility != nil {
			restricted = ` <span class="lozenge restricted">Restricted to ` + htmlEscape(c.visibility.value) + `</span>`
		}
		fmt.Fprintf(&b, `<div class="comment" id="comment-%s"><div class="meta"><b>%s</b> added a comment · %s%s</div><div class="body">%s</div></div>`,
			c.id, htmlEscape(s.displayName(c.author)), webTime(c.created, u), restricted, htmlEscape(c.body))
	}
	if len(comments) == 0 {
		b.WriteString(`<p class="muted">There are no comments yet on this issue.</p>`)
	}
	b.WriteString(`</div>`)
	if canComment {
		fmt.Fprintf(&b, `<form method="post" action="%s/browse/%s/comment" id="addcomment"><label for="comment">Comment</label><textarea id="comment" name="comment" rows="3"></textarea><p><input type="submit" value="Add" id="comment-add-submit"></p></form>`, s.cp, is.key)
	}
	b.WriteString(`</div><div class="side"><h2>People</h2><table class="fields">`)
	row("Assignee", `<span id="assignee-val">`+htmlEscape(s.displayName(is.assignee))+`</span>`)
	row("Reporter", `<span id="reporter-val">`+htmlEscape(s.displayName(is.reporter))+`</span>`)
	b.WriteString(`</table><h2>Dates</h2><table class="fields">`)
	if is.dueDate != "" {
		due := `<span id="due-date">` + webDate(is.dueDate) + `</span>`
		if is.resolution == "" && is.dueDate < time.Now().Format("2006-01-02") {
			due += ` <span class="lozenge overdue">Overdue</span>`
		}
		row("Due", due)
	}
	row("Created", `<span id="created-val">`+webTime(is.created, u)+`</span>`)
	row("Updated", `<span id="updated-val">`+webTime(is.updated, u)+`</span>`)
	if !is.resolved.IsZero() {
		row("Resolved", webTime(is.resolved, u))
	}
	b.WriteString(`</table></div></div></div>`)
	s.mu.Unlock()
	s.pageFor(w, http.StatusOK, is.key+" "+is.summary, b.String(), u)
}

// orNone is a field value, or Jira's "None".
func orNone(v string) string {
	if v == "" {
		return `<span class="muted">None</span>`
	}
	return v
}

// hostOf is the host of a link, shown beside it.
func hostOf(link string) string {
	if u, err := url.Parse(link); err == nil {
		return u.Host
	}
	return ""
}

func (s *Server) webTransition(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.requireWebUser(w, r, u) {
		return
	}
	if err := s.TransitionIssue(r.PathValue("key"), r.FormValue("transition"), u.name); err != nil {
		s.page(w, http.StatusBadRequest, "Workflow error", `<p class="error">`+htmlEscape(err.Error())+`</p>`)
		return
	}
	http.Redirect(w, r, s.cp+"/browse/"+r.PathValue("key"), http.StatusSeeOther)
}

func (s *Server) webComment(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.requireWebUser(w, r, u) {
		return
	}
	if err := s.AddComment(r.PathValue("key"), u.name, r.FormValue("comment")); err != nil {
		s.page(w, http.StatusBadRequest, "Comment error", `<p class="error">`+htmlEscape(err.Error())+`</p>`)
		return
	}
	http.Redirect(w, r, s.cp+"/browse/"+r.PathValue("key"), http.StatusSeeOther)
}
