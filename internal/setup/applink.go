package setup

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// JiraAdmin is a Jira administrator's credentials, given for one operation
// and never stored: a personal access token (8.14+), or a user name and
// password.
type JiraAdmin struct {
	Token    string
	User     string
	Password string
}

// Given reports whether credentials were given.
func (a JiraAdmin) Given() bool { return a.Token != "" || (a.User != "" && a.Password != "") }

// who says whose credentials were used, for the audit log.
func (a JiraAdmin) who() string {
	if a.Token != "" {
		return "a Jira admin's personal access token"
	}
	return "Jira admin " + a.User
}

// wrap authenticates Jira calls with the credentials.
func (a JiraAdmin) wrap(rt http.RoundTripper) http.RoundTripper {
	if a.Token != "" {
		return &jira.BearerTransport{Token: a.Token, Base: rt}
	}
	return &jira.BasicAuthTransport{Username: a.User, Password: a.Password, Base: rt}
}

var errNoJiraAdmin = invalid("Give a Jira administrator's personal access token, or user name and password.")

// LinkName is the application link's, consumer's and webhook's name in
// Jira.
func (s *Service) LinkName() string {
	u, err := url.Parse(s.public)
	if err != nil {
		return "asanajira"
	}
	return "asanajira (" + u.Host + ")"
}

// ConnectAutomatic creates the application link, its incoming consumer and
// the webhook with a Jira administrator's credentials, proves the link with
// a signed request-token call, and records the result. An application link
// made earlier by asanajira is replaced, so running it again is safe. On
// failure the server is marked "link check failed" and the *Error names
// the step.
func (s *Service) ConnectAutomatic(ctx context.Context, actor Actor, id string, admin JiraAdmin) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, err
	}
	if !admin.Given() {
		return srv, errNoJiraAdmin
	}
	step, err := s.automatic(ctx, &srv, admin)
	if err != nil {
		srv.Status, srv.CheckedAt = StatusLinkFailed, s.now()
		if uerr := s.st.UpdateJiraServer(ctx, &srv); uerr != nil {
			return srv, fmt.Errorf("setup: automatic setup: %w", uerr)
		}
		if aerr := s.audit(ctx, actor, "server.connect_automatic_failed", srv.ID, step+": "+err.Error()); aerr != nil {
			return srv, aerr
		}
		return srv, &Error{Code: JiraFailed, Step: step, Err: err, Message: "Automatic setup stopped at “" + step + "”: " + explain(err)}
	}
	return srv, s.audit(ctx, actor, "server.connect_automatic", srv.ID,
		fmt.Sprintf("application link %s, consumer key %s, webhook %s, Jira %s, as %s; the credentials were not kept",
			srv.AppLinkID, srv.ConsumerKey, srv.WebhookURL, orUnknown(srv.Version), admin.who()))
}

// ConnectJira registers a Jira server, or finds it by base URL, and
// connects it automatically: for `asanajira demo` and scripts. A known
// server keeps its keys and takes the given CA bundle, so running it twice
// is safe.
func (s *Service) ConnectJira(ctx context.Context, actor Actor, in ServerInput, admin JiraAdmin) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	baseURL, bundle, err := checkServerInput(in)
	if err != nil {
		return store.JiraServer{}, err
	}
	if !admin.Given() {
		return store.JiraServer{}, errNoJiraAdmin
	}
	srv, found, err := s.serverByBaseURL(ctx, baseURL)
	if err != nil {
		return srv, err
	}
	switch {
	case !found:
		reg, err := s.RegisterServer(ctx, actor, in)
		if err != nil {
			return reg.Server, err
		}
		srv = reg.Server
	case bundle != "" && bundle != srv.CABundlePEM:
		if srv, err = s.SetCABundle(ctx, actor, srv.ID, bundle); err != nil {
			return srv, err
		}
	}
	return s.ConnectAutomatic(ctx, actor, srv.ID, admin)
}

// automatic runs the automatic setup steps, saving progress as it goes so
// a retry cleans up after a half-finished attempt. It returns the step that
// failed.
func (s *Service) automatic(ctx context.Context, srv *store.JiraServer, admin JiraAdmin) (string, error) {
	cl, err := s.jiraClient(srv, admin.wrap)
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
	if srv.AppLinkID != "" && srv.AppLinkID != ManualLinkID {
		if err := cl.DeleteAppLink(ctx, srv.AppLinkID); err != nil && !errors.Is(err, jira.ErrNotFound) {
			return "remove the previous application link", err
		}
		srv.AppLinkID = ""
	}
	linkID, err := cl.CreateAppLink(ctx, jira.AppLink{Name: s.LinkName(), RPCURL: s.public, DisplayURL: s.public, TypeID: "generic"})
	if err != nil {
		return "create the application link", err
	}
	srv.AppLinkID = linkID
	if err := s.st.UpdateJiraServer(ctx, srv); err != nil {
		return "save the application link", err
	}
	if err := cl.SetAppLinkConsumer(ctx, linkID, jira.AppLinkConsumer{Key: srv.ConsumerKey, Name: s.LinkName(), PublicKey: srv.PublicKeyPEM}); err != nil {
		return "add the incoming consumer", err
	}
	if err := s.verifyLink(ctx, srv); err != nil {
		return "verify the link with a signed request-token call", err
	}
	if step, _, err := s.ensureWebhook(ctx, cl, srv); err != nil {
		return step, err
	}
	srv.Status, srv.CheckedAt = StatusConnected, s.now()
	if err := s.st.UpdateJiraServer(ctx, srv); err != nil {
		return "save the server", err
	}
	return "", nil
}

// verifyLink proves the incoming consumer exists with our public key: Jira
// issues a request token only for a correctly signed call.
func (s *Service) verifyLink(ctx context.Context, srv *store.JiraServer) error {
	key, err := parsePrivateKey(srv.PrivateKeyPEM.Reveal())
	if err != nil {
		return err
	}
	rt, err := s.transport(srv)
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
		return nil, errors.New("setup: the stored private key is not PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("setup: the stored private key is not RSA")
	}
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("setup: parse private key: %w", err)
	}
	return k, nil
}

// CheckLink makes a signed request-token call and reports whether Jira
// accepts the application link, changing nothing.
func (s *Service) CheckLink(ctx context.Context, srv store.JiraServer) error {
	if err := s.verifyLink(ctx, &srv); err != nil {
		return &Error{Code: Invalid, Err: err, Message: "Jira did not accept a signed request-token call: " + explain(err)}
	}
	return nil
}

// Verify checks an application link (made by hand or automatically) with a
// signed request-token call and records the verdict; a link made by hand
// is recorded as such.
func (s *Service) Verify(ctx context.Context, actor Actor, id string) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, err
	}
	if info, err := s.serverInfo(ctx, &srv, nil); err == nil {
		srv.Version = info.ParsedVersion().String()
	}
	verr := s.CheckLink(ctx, srv)
	srv.CheckedAt = s.now()
	if verr != nil {
		srv.Status = StatusLinkFailed
	} else {
		srv.Status = StatusConnected
		if srv.AppLinkID == "" {
			srv.AppLinkID = ManualLinkID
		}
	}
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return srv, fmt.Errorf("setup: verify: %w", err)
	}
	if verr != nil {
		var se *Error
		errors.As(verr, &se)
		if err := s.audit(ctx, actor, "server.verify_failed", srv.ID, se.Err.Error()); err != nil {
			return srv, err
		}
		return srv, verr
	}
	return srv, s.audit(ctx, actor, "server.verify", srv.ID, "application link verified with a signed request-token call")
}

// WebhookURL is where Jira delivers events for srv. Jira before 10.0
// cannot sign webhooks, so there the secret travels in the URL's query
// instead (secretInURL); withSecret=false returns the URL as stored, never
// with the secret.
func (s *Service) WebhookURL(srv store.JiraServer, withSecret bool) (u string, secretInURL bool) {
	u = s.public + "/jira/webhook/" + url.PathEscape(srv.ID)
	if v, err := jira.ParseVersion(srv.Version); err == nil && srv.Version != "" && v.Features().AsyncWebhooksOnly {
		return u, false // 10.0+: HMAC signature (X-Hub-Signature) with the secret
	}
	if !withSecret {
		return u, true
	}
	return u + "?secret=" + url.QueryEscape(srv.WebhookSecret.Reveal()), true
}

// RecordManualWebhook records that an admin registered the webhook in
// Jira's UI.
func (s *Service) RecordManualWebhook(ctx context.Context, actor Actor, id string) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, err
	}
	srv.WebhookURL, _ = s.WebhookURL(srv, false)
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return srv, fmt.Errorf("setup: webhook: %w", err)
	}
	return srv, s.audit(ctx, actor, "server.webhook_manual", srv.ID, "webhook created by hand at "+srv.WebhookURL)
}

// linkState says what exists of a server's application link.
func linkState(srv store.JiraServer) string {
	switch srv.AppLinkID {
	case "":
		return "not created"
	case ManualLinkID:
		return "created by hand"
	}
	return "created automatically"
}

// LinkState says what exists of a server's application link: "not
// created", "created by hand" or "created automatically".
func LinkState(srv store.JiraServer) string { return linkState(srv) }

// WebhookState says whether the server's webhook is registered.
func WebhookState(srv store.JiraServer) string {
	if srv.WebhookURL == "" {
		return "not registered"
	}
	return "registered"
}

func trimQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}
