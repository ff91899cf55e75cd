package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// serverPages connect a Jira server: the new-server form, the server page
// (doctor table, the three ways to make the application link, OAuth 2.0,
// CA bundle, sign-in methods, removal) and its forms. Each form is one
// setup operation.
type serverPages struct {
	*base
	// fresh holds the doctor report of a server just registered, so the
	// page the registration redirects to shows it instead of running the
	// doctor again. An entry is used once, within a minute.
	mu    sync.Mutex
	fresh map[string]freshReport
}

type freshReport struct {
	report setup.DoctorReport
	at     time.Time
}

func (c *serverPages) mount(m *http.ServeMux) {
	m.Handle("GET /admin/servers/new", c.admin(c.newServerPage))
	m.Handle("POST /admin/servers", c.admin(c.createServer))
	m.Handle("GET /admin/servers/{id}", c.admin(c.serverPage))
	m.Handle("POST /admin/servers/{id}/check", c.admin(c.recheck))
	m.Handle("POST /admin/servers/{id}/automatic", c.admin(c.setupAutomatic))
	m.Handle("POST /admin/servers/{id}/verify", c.admin(c.verifyManual))
	m.Handle("POST /admin/servers/{id}/webhook", c.admin(c.webhookManual))
	m.Handle("POST /admin/servers/{id}/webhook/repair", c.admin(c.webhookRepair))
	m.Handle("POST /admin/servers/{id}/oauth2", c.admin(c.setupOAuth2))
	m.Handle("POST /admin/servers/{id}/methods", c.admin(c.setMethods))
	m.Handle("POST /admin/servers/{id}/ca-bundle", c.admin(c.setCABundle))
	m.Handle("POST /admin/servers/{id}/settings", c.admin(c.saveSettings))
	m.Handle("POST /admin/servers/{id}/delete", c.admin(c.deleteServer))
}

func (c *serverPages) newServerPage(w http.ResponseWriter, r *http.Request, s *session) error {
	c.render(w, r, http.StatusOK, "server_new", s, "Connect a Jira server", newServerData{})
	return nil
}

type newServerData struct {
	BaseURL, Name, ConnectAddress, CABundle, Error string
	// Doctor is the report of checks that failed, when nothing was saved.
	Doctor *setup.DoctorReport
}

// createServer checks a Jira server and records it. A server that fails
// its required checks (a mistyped URL, a Jira that refuses connections) is
// not recorded: the form comes back with the checks, to correct the input
// or, with "Save anyway", to record it regardless.
func (c *serverPages) createServer(w http.ResponseWriter, r *http.Request, s *session) error {
	in := newServerData{
		BaseURL:        strings.TrimSpace(r.PostFormValue("base_url")),
		Name:           strings.TrimSpace(r.PostFormValue("name")),
		ConnectAddress: strings.TrimSpace(r.PostFormValue("connect_address")),
	}
	insist := r.PostFormValue("insist") != ""
	raw, pasted, err := formCABundle(r)
	var reg setup.Registration
	if err == nil {
		reg, err = c.setup.RegisterServer(r.Context(), s.actor(), setup.ServerInput{BaseURL: in.BaseURL, Name: in.Name,
			ConnectAddress: in.ConnectAddress, CABundlePEM: raw, RefuseFailing: !insist})
		if err == nil {
			c.keepReport(reg.Server.ID, reg.Doctor)
			flash := "Jira server saved with a new key pair. Create the application link below."
			if !reg.Doctor.OK {
				flash = "Jira server saved although some checks failed. Fix them in Jira, then run the checks again; the application link can be made once Jira answers."
			}
			return c.redirect(w, r, "/admin/servers/"+reg.Server.ID, flash)
		}
	}
	var se *setup.Error
	if !errors.As(err, &se) || se.Code == setup.NotFound {
		return err
	}
	if !errors.Is(err, setup.ErrPrivateKeyInBundle) { // a key is never shown again
		in.CABundle = pasted
	}
	if errors.Is(err, setup.ErrChecksFailed) {
		in.Doctor = &reg.Doctor
	}
	in.Error = se.Message
	c.render(w, r, http.StatusUnprocessableEntity, "server_new", s, "Connect a Jira server", in)
	return nil
}

// recheck runs the doctor again and records its verdict and time.
func (c *serverPages) recheck(w http.ResponseWriter, r *http.Request, s *session) error {
	srv, rep, err := c.setup.Recheck(r.Context(), s.actor(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c.keepReport(srv.ID, rep)
	flash := "Checked again: every required check passed."
	if !rep.OK {
		flash = "Checked again: some required checks failed; each says what to change."
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, flash)
}

// keepReport remembers a fresh doctor report for the page that follows.
func (c *serverPages) keepReport(id string, rep setup.DoctorReport) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh == nil {
		c.fresh = map[string]freshReport{}
	}
	for k, f := range c.fresh {
		if c.now().Sub(f.at) > time.Minute {
			delete(c.fresh, k)
		}
	}
	c.fresh[id] = freshReport{report: rep, at: c.now()}
}

// takeReport returns the fresh report of a server, once.
func (c *serverPages) takeReport(id string) (setup.DoctorReport, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.fresh[id]
	delete(c.fresh, id)
	return f.report, ok && c.now().Sub(f.at) <= time.Minute
}

// serverData is what the server page shows.
type serverData struct {
	Server   store.JiraServer
	Version  jira.Version
	Known    bool // the version is known
	Features jira.Features
	// NewLinkUI is the 8.22+ "Create link" dialog; unknown versions show both.
	NewLinkUI      bool
	Doctor         *setup.DoctorReport
	LinkName       string
	PublicURL      string
	OAuth2Redirect string
	WebhookURL     string
	// WebhookSecret is shown only inside the manual webhook steps, which
	// need it pasted into Jira.
	WebhookSecret string
	SecretInURL   bool
	Methods       []methodOption
	// CACerts list the server's CA bundle; none means the system's CAs only.
	CACerts []setup.CACert
	// Removal is what removing the server would remove.
	Removal removalPlan
	Error   string
}

// removalPlan describes what removing a server removes, from what exists:
// the confirmation names no connection, link or webhook that is not there.
type removalPlan struct {
	Name                              string
	Connections, Routes, Users, Links int
	LinksCapped                       bool
	Workspaces                        []string
	// JiraItems are what asanajira made in Jira for the server.
	JiraItems []string
}

// Describe says in a sentence what goes from asanajira.
func (m removalPlan) Describe() string {
	var parts []string
	if m.Connections > 0 {
		names := strings.Join(m.Workspaces, ", ")
		if more := m.Connections - len(m.Workspaces); more > 0 {
			names += " and " + strconv.Itoa(more) + " more"
		}
		parts = append(parts, plural(m.Connections, "workspace connection", "workspace connections")+" ("+names+")")
	}
	if m.Routes > 0 {
		parts = append(parts, plural(m.Routes, "project override", "project overrides"))
	}
	if m.Users > 0 {
		parts = append(parts, plural(m.Users, "user's Jira authorization", "users' Jira authorizations"))
	}
	if m.Links > 0 {
		n := plural(m.Links, "task ↔ issue link", "task ↔ issue links")
		if m.LinksCapped {
			n = "more than " + n
		}
		parts = append(parts, n)
	}
	if len(parts) == 0 {
		return "Removes " + m.Name + " from asanajira. No workspace uses it, nobody has authorized it and it has no links."
	}
	return "Removes " + m.Name + " from asanajira with its " + joinAnd(parts) + "."
}

// InJira names what asanajira made in Jira, "" when nothing.
func (m removalPlan) InJira() string { return joinAnd(m.JiraItems) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

type methodOption struct {
	Value, Label, Why string
	Available, On     bool
}

func (c *serverPages) serverPage(w http.ResponseWriter, r *http.Request, s *session) error {
	srv, err := c.setup.Server(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c.renderServer(w, r, s, http.StatusOK, srv, "")
	return nil
}

// renderServer runs the doctor and renders the server page, with errMsg
// from a failed setup step when there is one.
func (c *serverPages) renderServer(w http.ResponseWriter, r *http.Request, s *session, status int, srv store.JiraServer, errMsg string) {
	d := c.serverView(srv)
	d.Error = errMsg
	rm, err := c.removal(r.Context(), srv)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	d.Removal = rm
	rep, ok := c.takeReport(srv.ID)
	if !ok {
		rep = c.setup.Doctor(r.Context(), srv)
	}
	d.Doctor = &rep
	c.render(w, r, status, "server", s, srv.Name, d)
}

// failServer renders the server page for a setup error the admin can act
// on there, and returns any other error.
func (c *serverPages) failServer(w http.ResponseWriter, r *http.Request, s *session, id string, err error) error {
	var se *setup.Error
	if !errors.As(err, &se) || se.Code == setup.NotFound || se.Code == 0 {
		return err
	}
	srv, lerr := c.setup.Server(r.Context(), id)
	if lerr != nil {
		return lerr
	}
	c.renderServer(w, r, s, setupStatus(se.Code), srv, se.Message)
	return nil
}

func (c *serverPages) serverView(srv store.JiraServer) serverData {
	d := serverData{Server: srv, LinkName: c.setup.LinkName(), PublicURL: c.setup.PublicURL(),
		OAuth2Redirect: c.setup.OAuth2RedirectURL()}
	if v, err := jira.ParseVersion(srv.Version); err == nil && srv.Version != "" {
		d.Version, d.Known, d.Features = v, true, v.Features()
		d.NewLinkUI = d.Features.OAuth2Provider
	}
	d.WebhookURL, d.SecretInURL = c.setup.WebhookURL(srv, true)
	d.WebhookSecret = srv.WebhookSecret.Reveal()
	for _, o := range setup.MethodOptions(srv) {
		d.Methods = append(d.Methods, methodOption{Value: string(o.Method), Label: o.Label, Why: o.Why, Available: o.Available, On: o.On})
	}
	d.CACerts = setup.BundleCerts(srv.CABundlePEM)
	return d
}

// removalNames is how many of a server's workspaces its removal names;
// the rest are counted.
const removalNames = 10

// removal reads what removing srv would remove: counts through the
// server's indexes and the names of a few of its workspaces, so that the
// page costs the same whatever the installation's size.
func (c *serverPages) removal(ctx context.Context, srv store.JiraServer) (removalPlan, error) {
	m := removalPlan{Name: srv.Name}
	var err error
	if m.Connections, m.Routes, err = c.d.Store.CountServerUse(ctx, srv.ID); err != nil {
		return m, fmt.Errorf("admin: removal of %s: %w", srv.ID, err)
	}
	if m.Connections > 0 {
		ws, err := c.d.Store.ListServerWorkspaces(ctx, srv.ID, removalNames)
		if err != nil {
			return m, fmt.Errorf("admin: removal of %s: %w", srv.ID, err)
		}
		for _, w := range ws {
			m.Workspaces = append(m.Workspaces, w.Name)
		}
	}
	if m.Users, err = c.d.Store.CountJiraCredentials(ctx, srv.ID); err != nil {
		return m, fmt.Errorf("admin: removal of %s: %w", srv.ID, err)
	}
	if m.Links, err = c.d.Store.CountLinks(ctx, srv.ID, linkCountCap); err != nil {
		return m, fmt.Errorf("admin: removal of %s: %w", srv.ID, err)
	}
	m.LinksCapped = m.Links == linkCountCap
	if srv.AppLinkID != "" && srv.AppLinkID != setup.ManualLinkID {
		m.JiraItems = append(m.JiraItems, "the application link "+c.setup.LinkName())
	}
	if srv.WebhookURL != "" {
		m.JiraItems = append(m.JiraItems, "the webhook")
	}
	return m, nil
}

// adminForm is how a form asks for a Jira administrator's credentials
// (the "jira-admin" template): Prefix keeps its ids unique on the page,
// Token preselects a personal access token where the version has them.
type adminForm struct {
	Prefix    string
	Token     bool
	TokenNote string
}

func credsForm(prefix string, d serverData) adminForm {
	f := adminForm{Prefix: prefix, Token: !d.Known || d.Features.PersonalAccessTokens}
	if !f.Token {
		f.TokenNote = "Jira " + d.Version.String() + " has none; 8.14+"
	}
	return f
}

// formJiraAdmin reads the Jira administrator's credentials a form carries
// and forgets the form at once: nothing later in the request (an error
// page, a log line) can echo them.
func formJiraAdmin(r *http.Request) setup.JiraAdmin {
	var a setup.JiraAdmin
	switch r.PostFormValue("auth") {
	case "token":
		a.Token = r.PostFormValue("admin_token")
	case "password":
		a.User, a.Password = r.PostFormValue("admin_user"), r.PostFormValue("admin_password")
	}
	r.PostForm, r.Form = nil, nil
	if r.MultipartForm != nil {
		_ = r.MultipartForm.RemoveAll() // nothing was written to disk for a small form
		r.MultipartForm = nil
	}
	return a
}

// setupAutomatic creates the application link, its incoming consumer and
// the webhook with a Jira admin's credentials, given once in this request
// and never stored, logged or shown.
func (c *serverPages) setupAutomatic(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	srv, err := c.setup.ConnectAutomatic(r.Context(), s.actor(), id, formJiraAdmin(r))
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Connected: application link created and verified, webhook registered. The admin credentials were not kept.")
}

// verifyManual checks an application link the admin created by hand.
func (c *serverPages) verifyManual(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	srv, err := c.setup.Verify(r.Context(), s.actor(), id)
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "The application link works: Jira accepted a signed request-token call.")
}

// webhookManual records that the admin registered the webhook in Jira's UI.
func (c *serverPages) webhookManual(w http.ResponseWriter, r *http.Request, s *session) error {
	srv, err := c.setup.RecordManualWebhook(r.Context(), s.actor(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Webhook recorded as created by hand.")
}

// webhookRepair makes Jira's webhook registration right with a Jira
// admin's credentials.
func (c *serverPages) webhookRepair(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	rep, err := c.setup.RepairWebhook(r.Context(), s.actor(), id, formJiraAdmin(r))
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	flash := "The webhook was registered correctly already; nothing changed. The admin credentials were not kept."
	if rep.Changed {
		flash = "Webhook repaired: Jira now delivers every event asanajira needs. The admin credentials were not kept."
	}
	return c.redirect(w, r, "/admin/servers/"+rep.Server.ID, flash)
}

// setupOAuth2 stores the client id and secret of an OAuth 2.0 incoming
// link after checking them against Jira's token endpoint.
func (c *serverPages) setupOAuth2(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	clientID, secret := r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	r.PostForm, r.Form = nil, nil
	srv, err := c.setup.SetOAuth2Client(r.Context(), s.actor(), id, clientID, secret)
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "OAuth 2.0 client saved. Users can now connect with OAuth 2.0.")
}

// setMethods sets which user auth methods are offered on the server.
func (c *serverPages) setMethods(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	var chosen []store.AuthMethod
	for _, v := range r.PostForm["method"] {
		chosen = append(chosen, store.AuthMethod(v))
	}
	srv, err := c.setup.SetMethods(r.Context(), s.actor(), id, chosen)
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Auth methods saved.")
}

// saveSettings renames a server or changes its connect address; the checks
// run again when the address changed, since they now reach Jira elsewhere.
func (c *serverPages) saveSettings(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	before, err := c.setup.Server(r.Context(), id)
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	name, addr := r.PostFormValue("name"), r.PostFormValue("connect_address")
	srv, err := c.setup.UpdateServer(r.Context(), s.actor(), id, setup.ServerChanges{Name: &name, ConnectAddress: &addr})
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	switch {
	case srv.ConnectAddress != before.ConnectAddress:
		srv, report, err := c.setup.Recheck(r.Context(), s.actor(), id)
		if err != nil {
			return c.failServer(w, r, s, id, err)
		}
		flash := "Saved. The checks ran again through the new address and passed."
		if !report.OK {
			flash = "Saved. The checks ran again through the new address and some failed: see Checks."
		}
		return c.redirect(w, r, "/admin/servers/"+srv.ID, flash)
	case srv.Name != before.Name:
		return c.redirect(w, r, "/admin/servers/"+srv.ID, "Saved: the server is now called “"+srv.Name+"”.")
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Nothing changed.")
}

// setCABundle replaces a server's CA bundle, or removes it (the remove
// button).
func (c *serverPages) setCABundle(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	var bundle string
	if r.PostFormValue("remove") == "" {
		raw, _, err := formCABundle(r)
		if err == nil {
			bundle, err = setup.NormalizeCABundle(raw)
		}
		if err == nil && bundle == "" {
			err = &setup.Error{Code: setup.Invalid, Message: "Paste the CA's certificate(s) in PEM form or choose the file; to trust the system's CAs only, press Remove."}
		}
		if err != nil {
			return c.failServer(w, r, s, id, err)
		}
	}
	srv, err := c.setup.SetCABundle(r.Context(), s.actor(), id, bundle)
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	flash := "CA bundle removed: asanajira trusts the system's CAs only for this server."
	if srv.CABundlePEM != "" {
		flash = "CA bundle saved. Every connection to this Jira now trusts it; the checks below ran with it."
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, flash)
}

// deleteServer removes a server and, through the database's cascades, its
// connections, routes, user credentials and links. The admin confirms by
// typing the server's name; with a Jira admin's credentials what asanajira
// made in Jira is removed too.
func (c *serverPages) deleteServer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	id := r.PathValue("id")
	srv, err := c.setup.Server(ctx, id)
	if err != nil {
		return err
	}
	confirm := strings.TrimSpace(r.PostFormValue("confirm"))
	admin := formJiraAdmin(r)
	if confirm != srv.Name {
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, "Type the server's name exactly to remove it.")
		return nil
	}
	rm, err := c.setup.RemoveServer(ctx, s.actor(), id, admin)
	if err != nil {
		return c.failServer(w, r, s, id, err)
	}
	flash := "Removed " + srv.Name + "."
	if len(rm.Undone) > 0 {
		flash += " Removed from Jira: " + strings.Join(rm.Undone, "; ") + "."
	}
	if len(rm.LeftInJira) > 0 {
		flash += " Also delete in Jira: " + strings.Join(rm.LeftInJira, "; ") + "."
	}
	return c.redirect(w, r, "/admin/connections", flash)
}
