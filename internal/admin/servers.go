package admin

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/credentials"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
)

// Server statuses shown on the connections page.
const (
	statusNeedsSetup  = "needs setup"
	statusUnreachable = "unreachable"
	statusConnected   = "connected"
	statusLinkFailed  = "link check failed"
)

// manualLinkID marks an application link an admin created by hand: its
// Jira id is unknown to asanajira.
const manualLinkID = "manual"

// webhookEvents are the Jira events asanajira subscribes to.
var webhookEvents = []string{
	jira.EventIssueCreated, jira.EventIssueUpdated, jira.EventIssueDeleted,
	jira.EventCommentCreated, jira.EventCommentUpdated, jira.EventCommentDeleted,
}

// jiraTimeout bounds each setup call to Jira.
const jiraTimeout = 30 * time.Second

func (c *Console) newServerPage(w http.ResponseWriter, r *http.Request, s *session) error {
	c.render(w, r, http.StatusOK, "server_new", s, "Connect a Jira server", newServerData{})
	return nil
}

type newServerData struct {
	BaseURL, Name, ConnectAddress, CABundle, Error string
}

func (c *Console) createServer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	in := newServerData{
		BaseURL:        strings.TrimSpace(r.PostFormValue("base_url")),
		Name:           strings.TrimSpace(r.PostFormValue("name")),
		ConnectAddress: strings.TrimSpace(r.PostFormValue("connect_address")),
	}
	raw, pasted, bundleErr := formCABundle(r)
	bundle := ""
	if bundleErr == nil {
		bundle, bundleErr = normalizeCABundle(raw)
	}
	if !errors.Is(bundleErr, errPrivateKeyInBundle) { // a key is never shown again
		in.CABundle = pasted
	}
	invalid := func(msg string) error {
		in.Error = msg
		c.render(w, r, http.StatusUnprocessableEntity, "server_new", s, "Connect a Jira server", in)
		return nil
	}
	base, err := jira.ParseBaseURL(in.BaseURL)
	if in.BaseURL == "" || err != nil {
		return invalid("Enter Jira's base URL as users open it, like https://jira.example.com or https://example.com/jira.")
	}
	if in.ConnectAddress != "" {
		if _, _, err := net.SplitHostPort(in.ConnectAddress); err != nil {
			return invalid("The connect address must be host:port, like 10.0.0.5:8080.")
		}
	}
	if bundleErr != nil {
		return invalid(bundleErr.Error())
	}
	srv, err := c.recordServer(ctx, base, in.Name, in.ConnectAddress, bundle)
	if errors.Is(err, errCloud) {
		return invalid("This is Jira Cloud; asanajira connects Jira Server and Data Center only.")
	}
	if errors.Is(err, store.ErrConflict) {
		return invalid("A Jira server with this base URL is already connected; open it from the connections page.")
	}
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%s at %s, Jira %s, consumer key %s", srv.Name, srv.BaseURL, orUnknown(srv.Version), srv.ConsumerKey)
	if n := len(bundleCerts(srv.CABundlePEM)); n > 0 {
		detail += fmt.Sprintf(", CA bundle of %d certificate(s)", n)
	}
	if err := c.audit(ctx, s, "server.create", srv.ID, detail); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Jira server recorded with a new key pair. Choose how to create the application link.")
}

var errCloud = errors.New("admin: this is Jira Cloud; asanajira connects Jira Server and Data Center only")

// recordServer stores a new Jira server with its detected version, default
// auth methods, a fresh key pair and webhook secret. An unreachable Jira is
// still recorded; the doctor explains why.
func (c *Console) recordServer(ctx context.Context, base *url.URL, name, connectAddress, caBundle string) (store.JiraServer, error) {
	srv := store.JiraServer{
		Name:           name,
		BaseURL:        strings.TrimRight(base.String(), "/"),
		ConnectAddress: connectAddress,
		CABundlePEM:    caBundle,
		Status:         statusNeedsSetup,
		CheckedAt:      c.now(),
	}
	if srv.Name == "" {
		srv.Name = base.Host
	}
	if info, err := c.serverInfo(ctx, &srv, nil); err != nil {
		srv.Status = statusUnreachable
	} else {
		if info.IsCloud() {
			return srv, errCloud
		}
		srv.Version = info.ParsedVersion().String()
	}
	srv.AuthMethods = defaultMethods(srv.Version)
	kp, err := secrets.GenerateKeyPair(secrets.MinRSABits, "")
	if err != nil {
		return srv, fmt.Errorf("admin: create server: %w", err)
	}
	srv.ConsumerKey, srv.PrivateKeyPEM, srv.PublicKeyPEM = kp.ConsumerKey, store.Secret(kp.PrivateKeyPEM), kp.PublicKeyPEM
	srv.WebhookSecret = store.Secret(randomToken(32))
	if err := c.d.Store.CreateJiraServer(ctx, &srv); err != nil {
		return srv, fmt.Errorf("admin: create server: %w", err)
	}
	return srv, nil
}

// AutomaticSetup is what ConnectJira needs: Jira's base URL and, once, a
// Jira administrator's personal access token or user name and password.
type AutomaticSetup struct {
	BaseURL, Name, ConnectAddress string
	// CABundlePEM holds the CA certificate(s) (PEM) of a Jira behind a
	// private CA; it replaces the stored bundle of a known server.
	CABundlePEM              string
	AdminToken               string
	AdminUser, AdminPassword string
	// Actor is who the audit log names ("demo", an admin's gid).
	Actor string
}

// ConnectJira records a Jira server and connects it automatically (the
// console's "Automatic" path, for `asanajira demo` and scripted installs):
// application link, incoming consumer, a signed verification call and the
// webhook. A server already recorded with the same base URL keeps its keys
// and is set up again, so running it twice is safe. The admin credentials
// are used and forgotten.
func (c *Console) ConnectJira(ctx context.Context, in AutomaticSetup) (store.JiraServer, error) {
	base, err := jira.ParseBaseURL(in.BaseURL)
	if err != nil {
		return store.JiraServer{}, fmt.Errorf("admin: connect Jira: %w", err)
	}
	bundle, err := normalizeCABundle(in.CABundlePEM)
	if err != nil {
		return store.JiraServer{}, fmt.Errorf("admin: connect Jira: %w", err)
	}
	srv, found, err := c.serverByBaseURL(ctx, strings.TrimRight(base.String(), "/"))
	if err != nil {
		return srv, err
	}
	switch {
	case !found:
		if srv, err = c.recordServer(ctx, base, in.Name, in.ConnectAddress, bundle); err != nil {
			return srv, err
		}
	case bundle != "" && bundle != srv.CABundlePEM:
		srv.CABundlePEM = bundle
		if err := c.d.Store.UpdateJiraServer(ctx, &srv); err != nil {
			return srv, fmt.Errorf("admin: connect Jira: %w", err)
		}
	}
	var wrap func(http.RoundTripper) http.RoundTripper
	switch {
	case in.AdminToken != "":
		wrap = func(rt http.RoundTripper) http.RoundTripper {
			return &jira.BearerTransport{Token: in.AdminToken, Base: rt}
		}
	case in.AdminUser != "" && in.AdminPassword != "":
		wrap = func(rt http.RoundTripper) http.RoundTripper {
			return &jira.BasicAuthTransport{Username: in.AdminUser, Password: in.AdminPassword, Base: rt}
		}
	default:
		return srv, errors.New("admin: connect Jira: give a Jira administrator's token or user name and password")
	}
	if step, err := c.automatic(ctx, &srv, wrap); err != nil {
		return srv, fmt.Errorf("admin: connect Jira: %s: %w", step, err)
	}
	actor := &session{Name: in.Actor, GID: in.Actor}
	return srv, c.audit(ctx, actor, "server.connect_automatic", srv.ID,
		fmt.Sprintf("application link %s, consumer key %s, webhook %s, Jira %s; the credentials were not kept", srv.AppLinkID, srv.ConsumerKey, srv.WebhookURL, orUnknown(srv.Version)))
}

func (c *Console) serverByBaseURL(ctx context.Context, baseURL string) (store.JiraServer, bool, error) {
	all, err := c.d.Store.ListJiraServers(ctx)
	if err != nil {
		return store.JiraServer{}, false, fmt.Errorf("admin: %w", err)
	}
	for _, srv := range all {
		if strings.EqualFold(srv.BaseURL, baseURL) {
			return srv, true, nil
		}
	}
	return store.JiraServer{}, false, nil
}

// defaultMethods preselects the user auth methods a Jira version offers
// without further setup: OAuth 1.0a everywhere, personal access tokens from
// 8.14. OAuth 2.0 is added once its client id and secret are entered.
func defaultMethods(version string) []store.AuthMethod {
	ms := []store.AuthMethod{store.AuthOAuth1}
	if v, err := jira.ParseVersion(version); err == nil && v.Features().PersonalAccessTokens {
		ms = append(ms, store.AuthPAT)
	}
	return ms
}

func orUnknown(v string) string {
	if v == "" {
		return "version unknown"
	}
	return v
}

// transport returns the network transport for one Jira server: the
// configured client's when tests or the app supplied one, else a transport
// that honours the server's connect address and CA bundle.
func (c *Console) transport(srv *store.JiraServer) (http.RoundTripper, error) {
	if c.hc.Transport != nil {
		return c.hc.Transport, nil
	}
	t, err := jira.NewTransport(srv.BaseURL, credentials.ServerTransportOptions(*srv))
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return t, nil
}

// jiraClient returns a client for srv authenticated by wrap (nil means
// anonymous). Setup calls are not retried: the admin sees each failure.
func (c *Console) jiraClient(srv *store.JiraServer, wrap func(http.RoundTripper) http.RoundTripper) (*jira.Client, error) {
	rt, err := c.transport(srv)
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		rt = wrap(rt)
	}
	cl, err := jira.New(srv.BaseURL, jira.NewHTTPClient(rt, jiraTimeout), jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	return cl, nil
}

func (c *Console) serverInfo(ctx context.Context, srv *store.JiraServer, wrap func(http.RoundTripper) http.RoundTripper) (*jira.ServerInfo, error) {
	cl, err := c.jiraClient(srv, wrap)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return cl.ServerInfo(ctx)
}

// serverData is what the server page shows.
type serverData struct {
	Server   store.JiraServer
	Version  jira.Version
	Known    bool // the version is known
	Features jira.Features
	// NewLinkUI is the 8.22+ "Create link" dialog; unknown versions show both.
	NewLinkUI      bool
	Doctor         *DoctorReport
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
	CACerts []caCert
	Error   string
}

type methodOption struct {
	Value, Label, Why string
	Available, On     bool
}

func (c *Console) loadServer(ctx context.Context, id string) (store.JiraServer, error) {
	srv, err := c.d.Store.GetJiraServer(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return srv, httpx.Errorf(http.StatusNotFound, "no Jira server %q; it may have been removed", id)
	}
	if err != nil {
		return srv, fmt.Errorf("admin: %w", err)
	}
	return srv, nil
}

func (c *Console) serverPage(w http.ResponseWriter, r *http.Request, s *session) error {
	srv, err := c.loadServer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c.renderServer(w, r, s, http.StatusOK, srv, "")
	return nil
}

// renderServer runs the doctor and renders the server page, with errMsg
// from a failed setup step when there is one.
func (c *Console) renderServer(w http.ResponseWriter, r *http.Request, s *session, status int, srv store.JiraServer, errMsg string) {
	d := c.serverView(srv)
	d.Error = errMsg
	ctx, cancel := context.WithTimeout(r.Context(), 45*time.Second)
	defer cancel()
	req := DoctorRequest{JiraURL: srv.BaseURL, ConnectTo: srv.ConnectAddress, CABundlePEM: []byte(srv.CABundlePEM)}
	if srv.AppLinkID != "" {
		req.ConsumerKey, req.PrivateKeyPEM = srv.ConsumerKey, []byte(srv.PrivateKeyPEM.Reveal())
	}
	rep := c.d.Doctor(ctx, req)
	d.Doctor = &rep
	c.render(w, r, status, "server", s, srv.Name, d)
}

func (c *Console) serverView(srv store.JiraServer) serverData {
	d := serverData{Server: srv, LinkName: c.linkName(), PublicURL: c.public,
		OAuth2Redirect: c.d.JiraOAuth2RedirectURL}
	if v, err := jira.ParseVersion(srv.Version); err == nil && srv.Version != "" {
		d.Version, d.Known, d.Features = v, true, v.Features()
		d.NewLinkUI = d.Features.OAuth2Provider
	}
	d.WebhookURL, d.SecretInURL = c.webhookURL(srv, true)
	d.WebhookSecret = srv.WebhookSecret.Reveal()
	d.Methods = c.methodOptions(d, srv)
	d.CACerts = bundleCerts(srv.CABundlePEM)
	return d
}

func (c *Console) methodOptions(d serverData, srv store.JiraServer) []methodOption {
	on := func(m store.AuthMethod) bool { return slices.Contains(srv.AuthMethods, m) }
	pat := methodOption{Value: string(store.AuthPAT), Label: "Personal access token", Available: !d.Known || d.Features.PersonalAccessTokens, On: on(store.AuthPAT)}
	if !pat.Available {
		pat.Why = "Jira " + d.Version.String() + " has no personal access tokens (8.14+)"
	}
	o2 := methodOption{Value: string(store.AuthOAuth2), Label: "OAuth 2.0", On: on(store.AuthOAuth2),
		Available: (!d.Known || d.Features.OAuth2Provider) && srv.OAuth2ClientID != ""}
	switch {
	case d.Known && !d.Features.OAuth2Provider:
		o2.Why = "Jira " + d.Version.String() + " has no OAuth 2.0 provider (8.22+ Data Center)"
	case srv.OAuth2ClientID == "":
		o2.Why = "enter the OAuth 2.0 client id and secret first"
	}
	return []methodOption{
		{Value: string(store.AuthOAuth1), Label: "OAuth 1.0a (application link)", Available: true, On: on(store.AuthOAuth1)},
		o2, pat,
	}
}

// linkName is the application link's and consumer's name in Jira.
func (c *Console) linkName() string {
	u, err := url.Parse(c.public)
	if err != nil {
		return "asanajira"
	}
	return "asanajira (" + u.Host + ")"
}

// webhookURL is where Jira delivers events for srv. Jira before 10.0 cannot
// sign webhooks, so there the secret travels in the URL's query instead;
// withSecret=false returns the URL as stored (never with the secret).
func (c *Console) webhookURL(srv store.JiraServer, withSecret bool) (string, bool) {
	u := c.public + "/jira/webhook/" + url.PathEscape(srv.ID)
	if v, err := jira.ParseVersion(srv.Version); err == nil && srv.Version != "" && v.Features().AsyncWebhooksOnly {
		return u, false // 10.0+: HMAC signature (X-Hub-Signature) with the secret
	}
	if !withSecret {
		return u, true
	}
	return u + "?secret=" + url.QueryEscape(srv.WebhookSecret.Reveal()), true
}

// setupAutomatic creates the application link, its incoming consumer and
// the webhook with a Jira admin's credentials, given once in this request
// and never stored, logged or shown.
func (c *Console) setupAutomatic(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	srv, err := c.loadServer(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	mode := r.PostFormValue("auth")
	token, user, password := r.PostFormValue("admin_token"), r.PostFormValue("admin_user"), r.PostFormValue("admin_password")
	// Forget the credentials as soon as they are read: nothing later in
	// this request (an error page, a log line) can echo them.
	r.PostForm, r.Form = nil, nil
	var wrap func(http.RoundTripper) http.RoundTripper
	as := ""
	switch {
	case mode == "token" && token != "":
		wrap = func(rt http.RoundTripper) http.RoundTripper { return &jira.BearerTransport{Token: token, Base: rt} }
		as = "a Jira admin's personal access token"
	case mode == "password" && user != "" && password != "":
		wrap = func(rt http.RoundTripper) http.RoundTripper {
			return &jira.BasicAuthTransport{Username: user, Password: password, Base: rt}
		}
		as = "Jira admin " + user
	default:
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, "Give a Jira administrator's personal access token, or user name and password.")
		return nil
	}
	step, err := c.automatic(ctx, &srv, wrap)
	if err != nil {
		srv.Status, srv.CheckedAt = statusLinkFailed, c.now()
		if uerr := c.d.Store.UpdateJiraServer(ctx, &srv); uerr != nil {
			return fmt.Errorf("admin: automatic setup: %w", uerr)
		}
		if aerr := c.audit(ctx, s, "server.connect_automatic_failed", srv.ID, step+": "+err.Error()); aerr != nil {
			return aerr
		}
		c.renderServer(w, r, s, http.StatusBadGateway, srv, "Automatic setup stopped at “"+step+"”: "+explain(err))
		return nil
	}
	if err := c.audit(ctx, s, "server.connect_automatic", srv.ID,
		fmt.Sprintf("application link %s, consumer key %s, webhook %s, Jira %s, as %s; the credentials were not kept", srv.AppLinkID, srv.ConsumerKey, srv.WebhookURL, orUnknown(srv.Version), as)); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Connected: application link created and verified, webhook registered. The admin credentials were not kept.")
}

// automatic runs the automatic setup steps, saving progress as it goes so
// a retry cleans up after a half-finished attempt. It returns the step that
// failed.
func (c *Console) automatic(ctx context.Context, srv *store.JiraServer, wrap func(http.RoundTripper) http.RoundTripper) (string, error) {
	cl, err := c.jiraClient(srv, wrap)
	if err != nil {
		return "prepare", err
	}
	info, err := cl.ServerInfo(ctx)
	if err != nil {
		return "read server info", err
	}
	if info.IsCloud() {
		return "read server info", errors.New("this is Jira Cloud; asanajira connects Jira Server and Data Center only")
	}
	srv.Version = info.ParsedVersion().String()
	if srv.AppLinkID != "" && srv.AppLinkID != manualLinkID {
		if err := cl.DeleteAppLink(ctx, srv.AppLinkID); err != nil && !errors.Is(err, jira.ErrNotFound) {
			return "remove the previous application link", err
		}
		srv.AppLinkID = ""
	}
	id, err := cl.CreateAppLink(ctx, jira.AppLink{Name: c.linkName(), RPCURL: c.public, DisplayURL: c.public, TypeID: "generic"})
	if err != nil {
		return "create the application link", err
	}
	srv.AppLinkID = id
	if err := c.d.Store.UpdateJiraServer(ctx, srv); err != nil {
		return "save the application link", err
	}
	if err := cl.SetAppLinkConsumer(ctx, id, jira.AppLinkConsumer{Key: srv.ConsumerKey, Name: c.linkName(), PublicKey: srv.PublicKeyPEM}); err != nil {
		return "add the incoming consumer", err
	}
	if err := c.verifyLink(ctx, srv); err != nil {
		return "verify the link with a signed request-token call", err
	}
	hookURL, secretInURL := c.webhookURL(*srv, true)
	stored, _ := c.webhookURL(*srv, false)
	hook := jira.Webhook{Name: c.linkName(), URL: hookURL, Events: webhookEvents, Enabled: true}
	if !secretInURL {
		// Only Jira 10+ documents the secret field (HMAC X-Hub-Signature);
		// older releases get the secret in the URL instead.
		hook.Secret = srv.WebhookSecret.Reveal()
	}
	hooks, err := cl.Webhooks(ctx)
	if err != nil {
		return "list webhooks", err
	}
	for _, h := range hooks {
		if h.URL == stored || strings.HasPrefix(h.URL, stored+"?") {
			if err := cl.DeleteWebhook(ctx, h.ID()); err != nil && !errors.Is(err, jira.ErrNotFound) {
				return "remove the previous webhook", err
			}
		}
	}
	if _, err := cl.CreateWebhook(ctx, hook); err != nil {
		return "register the webhook", err
	}
	srv.WebhookURL = stored
	srv.Status, srv.CheckedAt = statusConnected, c.now()
	if err := c.d.Store.UpdateJiraServer(ctx, srv); err != nil {
		return "save the server", err
	}
	return "", nil
}

// verifyLink proves the incoming consumer exists with our public key: Jira
// issues a request token only for a correctly signed call.
func (c *Console) verifyLink(ctx context.Context, srv *store.JiraServer) error {
	key, err := parsePrivateKey(srv.PrivateKeyPEM.Reveal())
	if err != nil {
		return err
	}
	rt, err := c.transport(srv)
	if err != nil {
		return err
	}
	cfg := &jira.OAuth1Config{BaseURL: srv.BaseURL, Signer: &jira.OAuth1Signer{ConsumerKey: srv.ConsumerKey, PrivateKey: key},
		HTTPClient: jira.NewHTTPClient(rt, jiraTimeout), Timeout: jiraTimeout}
	_, err = cfg.RequestToken(ctx)
	return err
}

func parsePrivateKey(p string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("admin: the stored private key is not PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("admin: the stored private key is not RSA")
	}
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("admin: parse private key: %w", err)
	}
	return k, nil
}

// explain turns an error into one sentence for the admin, with the Jira
// client's hint when it has one (its message already carries it).
func explain(err error) string {
	var je *jira.Error
	if errors.As(err, &je) {
		return je.Error()
	}
	return err.Error()
}

// verifyManual checks an application link the admin created by hand.
func (c *Console) verifyManual(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	srv, err := c.loadServer(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if info, err := c.serverInfo(ctx, &srv, nil); err == nil {
		srv.Version = info.ParsedVersion().String()
	}
	verr := c.verifyLink(ctx, &srv)
	srv.CheckedAt = c.now()
	if verr != nil {
		srv.Status = statusLinkFailed
	} else {
		srv.Status = statusConnected
		if srv.AppLinkID == "" {
			srv.AppLinkID = manualLinkID
		}
	}
	if err := c.d.Store.UpdateJiraServer(ctx, &srv); err != nil {
		return fmt.Errorf("admin: verify: %w", err)
	}
	if verr != nil {
		if err := c.audit(ctx, s, "server.verify_failed", srv.ID, verr.Error()); err != nil {
			return err
		}
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, "Jira did not accept a signed request-token call: "+explain(verr))
		return nil
	}
	if err := c.audit(ctx, s, "server.verify", srv.ID, "application link verified with a signed request-token call"); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "The application link works: Jira accepted a signed request-token call.")
}

// webhookManual records that the admin registered the webhook in Jira's UI.
func (c *Console) webhookManual(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	srv, err := c.loadServer(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	srv.WebhookURL, _ = c.webhookURL(srv, false)
	if err := c.d.Store.UpdateJiraServer(ctx, &srv); err != nil {
		return fmt.Errorf("admin: webhook: %w", err)
	}
	if err := c.audit(ctx, s, "server.webhook_manual", srv.ID, "webhook created by hand at "+srv.WebhookURL); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Webhook recorded as created by hand.")
}

// setupOAuth2 stores the client id and secret of an OAuth 2.0 incoming
// link after checking them against Jira's token endpoint.
func (c *Console) setupOAuth2(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	srv, err := c.loadServer(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	id, secret := strings.TrimSpace(r.PostFormValue("client_id")), strings.TrimSpace(r.PostFormValue("client_secret"))
	r.PostForm, r.Form = nil, nil
	if id == "" || secret == "" {
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, "Paste both the client ID and the client secret Jira showed for the incoming link.")
		return nil
	}
	if err := c.checkOAuth2Client(ctx, &srv, id, secret); err != nil {
		if aerr := c.audit(ctx, s, "server.oauth2_failed", srv.ID, err.Error()); aerr != nil {
			return aerr
		}
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, err.Error())
		return nil
	}
	srv.OAuth2ClientID, srv.OAuth2ClientSecret = id, store.Secret(secret)
	if !slices.Contains(srv.AuthMethods, store.AuthOAuth2) {
		srv.AuthMethods = append(srv.AuthMethods, store.AuthOAuth2)
	}
	if err := c.d.Store.UpdateJiraServer(ctx, &srv); err != nil {
		return fmt.Errorf("admin: oauth2: %w", err)
	}
	if err := c.audit(ctx, s, "server.oauth2", srv.ID, "OAuth 2.0 client "+id+" saved; users may connect with OAuth 2.0"); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "OAuth 2.0 client saved. Users can now connect with OAuth 2.0.")
}

// checkOAuth2Client exchanges a made-up code: Jira answers invalid_grant
// when it knows the client and its secret, invalid_client when it does not.
func (c *Console) checkOAuth2Client(ctx context.Context, srv *store.JiraServer, id, secret string) error {
	rt, err := c.transport(srv)
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"asanajira-check-" + randomToken(8)},
		"redirect_uri": {c.d.JiraOAuth2RedirectURL}, "client_id": {id}, "client_secret": {secret}}
	ctx, cancel := context.WithTimeout(ctx, jiraTimeout)
	defer cancel()
	//nolint:gosec // G704: an admin entered this Jira URL; calling it is the point.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.BaseURL+"/rest/oauth2/latest/token", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("admin: oauth2 check: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := jira.NewHTTPClient(rt, jiraTimeout).Do(req) //nolint:gosec // G704: as above

	if err != nil {
		return adminMessage("asanajira could not reach Jira's OAuth 2.0 token endpoint; check the base URL and the network")
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) // a non-JSON answer is judged by its status
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return adminMessage("This Jira has no OAuth 2.0 provider (Jira Data Center 8.22 or later); use OAuth 1.0a or personal access tokens")
	case body.Error == "invalid_client" || resp.StatusCode == http.StatusUnauthorized:
		return adminMessage("Jira does not know this client ID and secret; copy them again from the incoming link (Application links → the link → Edit)")
	case body.Error == "invalid_grant" || body.Error == "invalid_request":
		return nil
	}
	return adminMessage(fmt.Sprintf("Jira's token endpoint answered %d %s; check that the incoming link exists and the base URL is right", resp.StatusCode, body.Error))
}

// setMethods sets which user auth methods are offered on the server.
func (c *Console) setMethods(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	srv, err := c.loadServer(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	opts := c.serverView(srv).Methods
	var chosen []store.AuthMethod
	for _, v := range r.PostForm["method"] {
		i := slices.IndexFunc(opts, func(o methodOption) bool { return o.Value == v })
		if i < 0 || !opts[i].Available {
			return httpx.Errorf(http.StatusUnprocessableEntity, "the auth method %q is not available on this server", v)
		}
		if !slices.Contains(chosen, store.AuthMethod(v)) {
			chosen = append(chosen, store.AuthMethod(v))
		}
	}
	if len(chosen) == 0 {
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, "Offer at least one way for users to connect.")
		return nil
	}
	srv.AuthMethods = chosen
	if err := c.d.Store.UpdateJiraServer(ctx, &srv); err != nil {
		return fmt.Errorf("admin: methods: %w", err)
	}
	names := make([]string, len(chosen))
	for i, m := range chosen {
		names[i] = string(m)
	}
	if err := c.audit(ctx, s, "server.methods", srv.ID, strings.Join(names, ", ")); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, "Auth methods saved.")
}

// deleteServer removes a server and, through the database's cascades, its
// connections, routes, user credentials and links. The admin confirms by
// typing the server's name.
func (c *Console) deleteServer(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	srv, err := c.loadServer(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if strings.TrimSpace(r.PostFormValue("confirm")) != srv.Name {
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, "Type the server's name exactly to remove it.")
		return nil
	}
	if err := c.d.Store.DeleteJiraServer(ctx, srv.ID); err != nil {
		return fmt.Errorf("admin: delete server: %w", err)
	}
	if err := c.audit(ctx, s, "server.delete", srv.ID, srv.Name+" at "+srv.BaseURL); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/connections",
		"Removed "+srv.Name+". Also delete the application link and the webhook in Jira (Administration → Applications → Application links; System → WebHooks).")
}

// adminMessage is an error whose text is a full sentence shown to the admin
// as is.
type adminMessage string

func (m adminMessage) Error() string { return string(m) }
