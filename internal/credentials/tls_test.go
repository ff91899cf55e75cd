package credentials

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/asanajira/asanajira/internal/asana"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/tlstest"
)

// tlsJira is the Jira emulator behind TLS with a certificate from its own
// private CA, recorded in the store with or without that CA as its bundle.
type tlsJira struct {
	fj     *fakejira.Server
	ca     *tlstest.CA
	server store.JiraServer
}

func newTLSJira(t *testing.T, st store.Store, withBundle bool) *tlsJira {
	t.Helper()
	fj, err := fakejira.New(fakejira.Options{OnUnknownRoute: func(method, path string) {
		t.Errorf("Jira emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fj.Close)
	ca := tlstest.NewCA(t, "Example Corp Private CA")
	base := ca.NewServer(t, fj).URL + fj.ContextPath()
	if _, err := fj.RegisterConsumer(testConsumer, "asanajira", &testKey().PublicKey); err != nil {
		t.Fatal(err)
	}
	oc, err := fj.RegisterOAuth2Client("asanajira", []string{testRedirect}, []string{"WRITE"})
	if err != nil {
		t.Fatal(err)
	}
	srv := store.JiraServer{ID: testServerID, Name: "Jira behind a private CA", BaseURL: base, ConsumerKey: testConsumer,
		PrivateKeyPEM: store.Secret(testKeyPEM(t)), Version: fakejira.DefaultVersion,
		OAuth2ClientID: oc.ClientID, OAuth2ClientSecret: store.Secret(oc.ClientSecret),
		AuthMethods: []store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT}}
	if withBundle {
		srv.CABundlePEM = string(ca.PEM)
	}
	if err := st.CreateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAsanaUser(t.Context(), store.AsanaUser{GID: testUser, Name: "Alice Anders"}); err != nil {
		t.Fatal(err)
	}
	return &tlsJira{fj: fj, ca: ca, server: srv}
}

// authorize obtains a credential for alice the way the install popup does,
// through the Provider's transports for the server: the OAuth 1.0a token
// calls on JiraHTTPClient, the OAuth 2.0 code exchange on
// JiraOAuth2Context, a personal access token checked with CheckJira. Only
// the consent steps a user's browser takes use a client of their own.
func (j *tlsJira) authorize(t *testing.T, p *Provider, method store.AuthMethod) (store.JiraCredential, error) {
	t.Helper()
	ctx := t.Context()
	srv := j.server
	cred := store.JiraCredential{AsanaUserGID: testUser, JiraServerID: srv.ID, Method: method, JiraUsername: "alice"}
	switch method {
	case store.AuthOAuth1:
		signer, err := p.JiraSigner(srv)
		if err != nil {
			return cred, err
		}
		hc, err := p.JiraHTTPClient(srv)
		if err != nil {
			return cred, err
		}
		cfg := &jira.OAuth1Config{BaseURL: srv.BaseURL, Signer: signer, HTTPClient: hc, CallbackURL: "https://bridge.example.com/connect/jira/oauth1/callback"}
		rt, err := cfg.RequestToken(ctx)
		if err != nil {
			return cred, err
		}
		v, err := j.fj.ApproveRequestToken(rt.Token, "alice")
		if err != nil {
			t.Fatal(err)
		}
		at, err := cfg.AccessToken(ctx, rt.Token, v)
		if err != nil {
			return cred, err
		}
		cred.AccessToken, cred.TokenSecret = store.Secret(at.Token), store.Secret(at.Secret)
	case store.AuthOAuth2:
		cfg, err := p.JiraOAuth2Config(srv)
		if err != nil {
			return cred, err
		}
		code, verifier := consent(t, j.browser(), cfg, "alice")
		octx, err := p.JiraOAuth2Context(ctx, srv)
		if err != nil {
			return cred, err
		}
		tok, err := cfg.Exchange(octx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			return cred, err
		}
		cred.AccessToken, cred.RefreshToken, cred.Expiry = store.Secret(tok.AccessToken), store.Secret(tok.RefreshToken), tok.Expiry
	case store.AuthPAT:
		tok, err := j.fj.CreatePAT("alice", "asanajira")
		if err != nil {
			t.Fatal(err)
		}
		cred.AccessToken = store.Secret(tok)
		if _, err := p.CheckJira(ctx, srv, cred); err != nil {
			return cred, err
		}
	}
	return cred, nil
}

// browser is alice's browser, which trusts the company CA.
func (j *tlsJira) browser() *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(j.ca.Cert)
	return &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// A Jira behind a private CA whose certificate is the server's CA bundle:
// each user auth method connects (its token calls included), and the
// user's client creates an issue and uploads an attachment; an OAuth 2.0
// token is refreshed over the same transport.
func TestPrivateCAEachMethod(t *testing.T) {
	t.Parallel()
	for _, m := range []store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			st := newSQLite(t)
			j := newTLSJira(t, st, true)
			p := newProvider(t, st)
			cred, err := j.authorize(t, p, m)
			if err != nil {
				t.Fatal(err)
			}
			if m == store.AuthOAuth2 {
				cred.Expiry = time.Now().Add(-time.Minute) // the first use refreshes it
			}
			if err := st.PutJiraCredential(t.Context(), cred); err != nil {
				t.Fatal(err)
			}
			c, err := p.Jira(t.Context(), testUser, testServerID)
			if err != nil {
				t.Fatal(err)
			}
			created, err := c.CreateIssue(t.Context(), jira.IssueInput{Fields: map[string]any{
				"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Task"}, "summary": "Created over a private CA"}})
			if err != nil {
				t.Fatal(err)
			}
			body := "launch plan, copied from Asana"
			if _, err := c.UploadAttachment(t.Context(), created.Key, "plan.txt", int64(len(body)), strings.NewReader(body), nil); err != nil {
				t.Fatal(err)
			}
			is, ok := j.fj.Issue(created.Key)
			if !ok || is.Reporter != "alice" || len(is.Attachments) != 1 || string(is.Attachments[0].Content) != body || is.Attachments[0].Author != "alice" {
				t.Fatalf("issue in Jira: %+v", is)
			}
			if m == store.AuthOAuth2 {
				stored, err := st.GetJiraCredential(t.Context(), testUser, testServerID)
				if err != nil || stored.AccessToken == cred.AccessToken || !stored.Expiry.After(time.Now()) {
					t.Errorf("the OAuth 2.0 token was not refreshed over TLS: %v", err)
				}
			}
		})
	}
}

// Without the CA bundle, every transport of the server refuses Jira's
// certificate, and the error says to add the CA bundle.
func TestPrivateCAWithoutBundle(t *testing.T) {
	t.Parallel()
	for _, m := range []store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			st := newSQLite(t)
			j := newTLSJira(t, st, false)
			p := newProvider(t, st)
			_, err := j.authorize(t, p, m)
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("authorizing without the CA bundle: %v, want a certificate error", err)
			}
			// A credential obtained elsewhere does not help either.
			trusted := newProvider(t, st)
			j.server.CABundlePEM = string(j.ca.PEM)
			cred, err := j.authorize(t, trusted, m)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.PutJiraCredential(t.Context(), cred); err != nil {
				t.Fatal(err)
			}
			c, err := p.Jira(t.Context(), testUser, testServerID)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Myself(t.Context())
			var je *jira.Error
			if !errors.As(err, &je) || je.Kind != jira.KindNetwork || !strings.Contains(err.Error(), "as the server's CA bundle in the admin console") {
				t.Fatalf("Myself without the CA bundle: %v", err)
			}
			if stored, _ := st.GetJiraCredential(t.Context(), testUser, testServerID); stored.ReconnectNeeded {
				t.Error("a TLS failure marked the credential for reconnection")
			}
		})
	}
}

// Saving a CA bundle on a server takes effect for the clients handed out
// next, without a restart: transports are keyed by the bundle too.
func TestCABundleChangeTakesEffect(t *testing.T) {
	t.Parallel()
	st := newSQLite(t)
	j := newTLSJira(t, st, false)
	p := newProvider(t, st)
	tok, err := j.fj.CreatePAT("alice", "asanajira")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutJiraCredential(t.Context(), store.JiraCredential{AsanaUserGID: testUser, JiraServerID: testServerID,
		Method: store.AuthPAT, JiraUsername: "alice", AccessToken: store.Secret(tok)}); err != nil {
		t.Fatal(err)
	}
	myself := func() error {
		c, err := p.Jira(t.Context(), testUser, testServerID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Myself(t.Context())
		return err
	}
	if err := myself(); err == nil {
		t.Fatal("Jira's certificate was trusted without the CA bundle")
	}
	srv := j.server
	srv.CABundlePEM = string(j.ca.PEM)
	if err := st.UpdateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	if err := myself(); err != nil {
		t.Fatalf("after saving the CA bundle: %v", err)
	}
	srv.CABundlePEM = ""
	if err := st.UpdateJiraServer(t.Context(), &srv); err != nil {
		t.Fatal(err)
	}
	if err := myself(); err == nil {
		t.Fatal("Jira's certificate still trusted after the CA bundle was removed")
	}
}

// A Jira server's CA bundle is trusted for that Jira only: the Asana client
// the same Provider hands out keeps the system's CAs, so an Asana endpoint
// presenting a certificate from that private CA is refused, and no process
// wide default changes.
func TestJiraCABundleIsNotTrustedForAsana(t *testing.T) {
	t.Parallel()
	st := newSQLite(t)
	j := newTLSJira(t, st, true)
	fa, err := fakeasana.New(fakeasana.Options{OnUnknownRoute: func(method, path string) {
		t.Errorf("Asana emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fa.Close)
	asanaURL := j.ca.NewServer(t, fa).URL
	if err := fa.SetPublicBaseURL(asanaURL); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t, st, func(o *Options) { o.AsanaOAuthURL, o.AsanaAPIURL = asanaURL, asanaURL+"/api/1.0" })
	access, refresh, err := fa.IssueAccessToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAsanaUser(t.Context(), store.AsanaUser{GID: testUser, Name: "Alice Anders", AccessToken: store.Secret(access),
		RefreshToken: store.Secret(refresh), Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cred, err := j.authorize(t, p, store.AuthPAT)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutJiraCredential(t.Context(), cred); err != nil {
		t.Fatal(err)
	}
	jc, err := p.Jira(t.Context(), testUser, testServerID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jc.Myself(t.Context()); err != nil {
		t.Fatalf("Jira with its CA bundle: %v", err)
	}
	ac, err := p.Asana(t.Context(), testUser, asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	var ua x509.UnknownAuthorityError
	if _, err := ac.Me(t.Context()); !errors.As(err, &ua) {
		t.Fatalf("Asana behind the Jira server's private CA: %v, want the certificate refused", err)
	}
	if dt := http.DefaultTransport.(*http.Transport); dt.TLSClientConfig != nil && dt.TLSClientConfig.RootCAs != nil {
		t.Error("http.DefaultTransport was given root CAs")
	}
}
