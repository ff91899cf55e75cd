package jira

import (
	"fmt"
	"net/http"
	"strings"
)

// The web UI: enough Jira for a person (and the demo's browser tests) to
// log in, look at an issue and move it through the workflow.

const pageCSS = `body{font-family:-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#172b4d}
header{background:#0747a6;color:#fff;padding:10px 20px}header a{color:#fff}main{padding:20px;max-width:960px}
.error{color:#de350b}table{border-collapse:collapse}td,th{padding:4px 10px;text-align:left;border-bottom:1px solid #dfe1e6}
.lozenge{border-radius:3px;padding:2px 6px;font-size:11px;font-weight:bold;text-transform:uppercase;background:#dfe1e6}
.comment{border-left:3px solid #dfe1e6;padding:4px 10px;margin:8px 0}`

// page writes a complete HTML page.
func (s *Server) page(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%s - Jira</title><style>%s</style></head>
<body><header><a href="%s/secure/Dashboard.jspa">Jira</a> %s (asanajira emulator)</header><main>%s</main></body></html>
`, htmlEscape(title), pageCSS, s.cp, htmlEscape(s.prof.version), body)
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
	s.page(w, http.StatusOK, "Log in", fmt.Sprintf(`<h1>Log in</h1>%s<form method="post" action="%s/login.jsp" id="login-form">
<input type="hidden" name="os_destination" value="%s">
<p><label>Username <input type="text" name="os_username" id="login-form-username"></label></p>
<p><label>Password <input type="password" name="os_password" id="login-form-password"></label></p>
<p><input type="submit" value="Log In" id="login-form-submit"></p></form>
<p>Demo users: admin/admin, alice/alice, bob/bob.</p>`, msg, s.cp, htmlEscape(dest)))
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
	fmt.Fprintf(&b, `<h1>Issues</h1><p>Logged in as %s. <a href="%s/logout">Log out</a></p><table><tr><th>Key</th><th>Summary</th><th>Status</th><th>Assignee</th></tr>`,
		htmlEscape(u.displayName), s.cp)
	for _, is := range s.issues {
		if !s.canBrowse(u, is) {
			continue
		}
		fmt.Fprintf(&b, `<tr><td><a href="%s/browse/%s">%s</a></td><td>%s</td><td><span class="lozenge">%s</span></td><td>%s</td></tr>`,
			s.cp, is.key, is.key, htmlEscape(is.summary), htmlEscape(lookupStatus(is.statusID).name), htmlEscape(s.displayName(is.assignee)))
	}
	b.WriteString(`</table>`)
	s.mu.Unlock()
	s.page(w, http.StatusOK, "Dashboard", b.String())
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
	fmt.Fprintf(&b, `<p><a href="%s/secure/Dashboard.jspa">%s</a> / %s</p><h1 id="summary-val">%s</h1>`, s.cp, htmlEscape(is.project.name), is.key, htmlEscape(is.summary))
	b.WriteString(`<form method="post" action="` + s.cp + `/browse/` + is.key + `/transition" id="transitions">`)
	for _, tr := range transitions {
		if tr.to != is.statusID && canTransition {
			fmt.Fprintf(&b, `<button type="submit" name="transition" value="%s" id="action_id_%s">%s</button> `, tr.id, tr.id, htmlEscape(tr.name))
		}
	}
	b.WriteString(`</form><table id="issuedetails">`)
	row := func(k, v string) { fmt.Fprintf(&b, `<tr><th>%s</th><td>%s</td></tr>`, k, v) }
	row("Type", htmlEscape(t.name))
	row("Status", `<span class="lozenge" id="status-val">`+htmlEscape(lookupStatus(is.statusID).name)+`</span>`)
	row("Priority", htmlEscape(p.name))
	row("Assignee", htmlEscape(s.displayName(is.assignee)))
	row("Reporter", htmlEscape(s.displayName(is.reporter)))
	row("Labels", htmlEscape(strings.Join(is.labels, ", ")))
	if lvl := s.securityLevelOf(is); lvl != nil {
		row("Security Level", `<span class="lozenge restricted" id="security-val">`+htmlEscape(lvl.name)+`</span>`)
	}
	if is.resolution != "" {
		res, _ := lookupResolution(is.resolution)
		row("Resolution", htmlEscape(res.name))
	}
	for _, cf := range s.fields {
		if v, ok := is.custom[cf.id]; ok {
			if o, ok := v.(fieldOption); ok {
				v = o.value
			}
			row(htmlEscape(cf.name), htmlEscape(fmt.Sprint(v)))
		}
	}
	row("Created", fmtTime(is.created))
	row("Updated", fmtTime(is.updated))
	b.WriteString(`</table><h2>Description</h2><div id="description-val">`)
	if is.description != nil {
		b.WriteString(strings.ReplaceAll(htmlEscape(*is.description), "\n", "<br>"))
	}
	b.WriteString(`</div><h2>Attachments</h2><ul id="attachments">`)
	for _, a := range is.attachments {
		fmt.Fprintf(&b, `<li><a href="%s/secure/attachment/%s/%s">%s</a> (%d bytes)</li>`, base, a.id, pathEscape(a.filename), htmlEscape(a.filename), a.size)
	}
	b.WriteString(`</ul><h2>Issue links</h2><ul id="remote-links">`)
	for _, l := range is.links {
		title, _ := l.object["title"].(string)
		link, _ := l.object["url"].(string)
		fmt.Fprintf(&b, `<li><a href="%s">%s</a></li>`, htmlEscape(link), htmlEscape(title))
	}
	b.WriteString(`</ul><h2>Comments</h2><div id="comments">`)
	for _, c := range s.visibleComments(u, is) {
		restricted := ""
		if c.visibility != nil {
			restricted = ` <span class="lozenge restricted">Restricted to ` + htmlEscape(c.visibility.value) + `</span>`
		}
		fmt.Fprintf(&b, `<div class="comment" id="comment-%s"><b>%s</b> %s%s<br>%s</div>`, c.id, htmlEscape(s.displayName(c.author)), fmtTime(c.created), restricted, htmlEscape(c.body))
	}
	b.WriteString(`</div>`)
	if canComment {
		fmt.Fprintf(&b, `<form method="post" action="%s/browse/%s/comment" id="addcomment"><textarea name="comment" rows="3" cols="60"></textarea><br><input type="submit" value="Add" id="comment-add-submit"></form>`, s.cp, is.key)
	}
	s.mu.Unlock()
	s.page(w, http.StatusOK, is.key+" "+is.summary, b.String())
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
