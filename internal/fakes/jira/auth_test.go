package jira

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dghubble/oauth1"
	"github.com/google/go-cmp/cmp"
)

func TestBasicAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       Options
		hdr        []string
		wantStatus int
		wantUser   string
		wantBody   string
	}{
		{"admin", Options{}, basic("admin"), 200, "admin", `"name":"admin"`},
		{"alice", Options{}, basic("alice"), 200, "alice", `"name":"alice"`},
		{"wrong password", Options{}, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:nope"))}, 401, "anonymous", "not authenticated"},
		{"anonymous", Options{}, nil, 401, "anonymous", "not authenticated"},
		{"disabled on 8.20", Options{Version: "8.20.1", DisableBasicAuth: true}, basic("alice"), 403, "anonymous", "Basic Authentication has been disabled on this instance."},
		{"toggle absent on 8.13", Options{Version: "8.13.0", DisableBasicAuth: true}, basic("alice"), 200, "alice", `"name":"alice"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, tc.opts)
			r := call(t, "GET", base(s, ts)+"/rest/api/2/myself", nil, tc.hdr...)
			if r.status != tc.wantStatus || !strings.Contains(string(r.body), tc.wantBody) {
				t.Fatalf("got %d %s, want %d containing %q", r.status, r.body, tc.wantStatus, tc.wantBody)
			}
			if got := r.header.Get("X-AUSERNAME"); got != tc.wantUser {
				t.Errorf("X-AUSERNAME = %q, want %q", got, tc.wantUser)
			}
		})
	}
}

func TestBasicAuthCaptcha(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	bad := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:wrong"))}
	for range 3 {
		if r := call(t, "GET", base(s, ts)+"/rest/api/2/myself", nil, bad...); r.status != 401 {
			t.Fatalf("bad password: %d", r.status)
		}
	}
	r := call(t, "GET", base(s, ts)+"/rest/api/2/myself", nil, basic("bob")...)
	if r.status != 403 || r.header.Get("X-Seraph-LoginReason") != "AUTHENTICATION_DENIED" ||
		!strings.HasPrefix(r.header.Get("X-Authentication-Denied-Reason"), "CAPTCHA_CHALLENGE; login-url=") {
		t.Fatalf("after 3 failures: %d %v", r.status, r.header)
	}
	// A web login clears the CAPTCHA.
	if r := call(t, "POST", base(s, ts)+"/login.jsp", "os_username=bob&os_password=bob"); r.status != 302 {
		t.Fatalf("web login: %d", r.status)
	}
	if r := call(t, "GET", base(s, ts)+"/rest/api/2/myself", nil, basic("bob")...); r.status != 200 {
		t.Fatalf("after web login: %d %s", r.status, r.body)
	}
}

func TestPersonalAccessTokens(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Version: "9.12.0"})
	r := call(t, "POST", base(s, ts)+"/rest/pat/latest/tokens", map[string]any{"name": "ci", "expirationDuration": 90}, basic("alice")...)
	if r.status != 201 {
		t.Fatalf("create PAT: %d %s", r.status, r.body)
	}
	m := r.json(t)
	raw, _ := m["rawToken"].(string)
	if len(raw) != 44 || m["expiringAt"] == nil || m["id"] == nil {
		t.Fatalf("PAT response %v", m)
	}
	if r := call(t, "GET", base(s, ts)+"/rest/api/2/myself", nil, bearer(raw)...); r.status != 200 || r.header.Get("X-AUSERNAME") != "alice" {
		t.Fatalf("bearer PAT: %d %s", r.status, r.body)
	}
	goRaw, err := s.CreatePAT("bob", "helper")
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", base(s, ts)+"/rest/api/2/myself", nil, bearer(goRaw)...); r.header.Get("X-AUSERNAME") != "bob" {
		t.Fatalf("Go PAT: %d %s", r.status, r.body)
	}
	if !s.RevokeAccessToken(raw) {
		t.Fatal("revoke: token not found")
	}
	if r := call(t, "GET", base(s, ts)+"/rest/api/2/myself", nil, bearer(raw)...); r.status != 401 {
		t.Fatalf("revoked PAT: %d", r.status)
	}
}

// oauthEnv is an emulator with an application link made over REST.
type oauthEnv struct {
	s    *Server
	base string // URL clients sign
	cfg  *oauth1.Config
	ctx  context.Context
}

func newOAuthEnv(t *testing.T, opts Options, signBase string) *oauthEnv {
	t.Helper()
	s, ts := start(t, opts)
	b := base(s, ts)
	r := call(t, "PUT", b+"/rest/applinks/3.0/applicationlink",
		map[string]any{"id": nil, "name": "asanajira", "rpcUrl": "https://bridge.example.com", "displayUrl": "https://bridge.example.com", "typeId": "generic"},
		basic("admin")...)
	if r.status != 201 {
		t.Fatalf("create applink: %d %s", r.status, r.body)
	}
	href := r.json(t)["resources-created"].(map[string]any)["href"].(string)
	id := href[strings.LastIndex(href, "/")+1:]
	r = call(t, "PUT", b+"/rest/applinks-oauth/1.0/applicationlink/"+id+"/authentication/consumer",
		map[string]any{"key": "asanajira-test", "name": "asanajira", "description": nil, "sharedSecret": nil,
			"publicKey": publicKeyPEM(&testKey().PublicKey), "outgoing": false, "twoLOAllowed": false,
			"executingTwoLOUser": nil, "twoLOImpersonationAllowed": nil},
		basic("admin")...)
	if r.status != 201 {
		t.Fatalf("create consumer: %d %s", r.status, r.body)
	}
	if signBase == "" {
		signBase = b
	}
	// Requests are signed for signBase but always dialled to the test server.
	addr := strings.TrimPrefix(ts.URL, "http://")
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cfg := &oauth1.Config{
		ConsumerKey: "asanajira-test", CallbackURL: "https://bridge.example.com/callback",
		Endpoint: oauth1.Endpoint{
			RequestTokenURL: signBase + "/plugins/servlet/oauth/request-token",
			AuthorizeURL:    signBase + "/plugins/servlet/oauth/authorize",
			AccessTokenURL:  signBase + "/plugins/servlet/oauth/access-token",
		},
		Signer:     &oauth1.RSASigner{PrivateKey: testKey()},
		HTTPClient: hc,
	}
	return &oauthEnv{s: s, base: signBase, cfg: cfg, ctx: context.WithValue(t.Context(), oauth1.HTTPClient, hc)}
}

// dance runs the three legs and returns an access token.
func (e *oauthEnv) dance(t *testing.T, user string) *oauth1.Token {
	t.Helper()
	rt, rs, err := e.cfg.RequestToken()
	if err != nil {
		t.Fatalf("request token: %v", err)
	}
	v, err := e.s.ApproveRequestToken(rt, user)
	if err != nil {
		t.Fatal(err)
	}
	at, as, err := e.cfg.AccessToken(rt, rs, v)
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	return oauth1.NewToken(at, as)
}

func (e *oauthEnv) get(t *testing.T, cfg *oauth1.Config, tok *oauth1.Token, path string) resp {
	t.Helper()
	c := cfg.Client(e.ctx, tok)
	res, err := c.Get(e.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(res))
	return resp{res.StatusCode, res.Header, []byte(b.String())}
}

func readAll(res *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestOAuth1Dance(t *testing.T) {
	t.Parallel()
	for _, v := range Versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			e := newOAuthEnv(t, Options{Version: v}, "")
			tok := e.dance(t, "alice")
			r := e.get(t, e.cfg, tok, "/rest/api/2/search?jql="+url.QueryEscape(`project = DEMO AND text ~ "safari" ORDER BY key`))
			if r.status != 200 || r.header.Get("X-AUSERNAME") != "alice" {
				t.Fatalf("signed search: %d %s", r.status, r.body)
			}
			if total := r.json(t)["total"]; total != 1.0 {
				t.Errorf("total = %v, want 1", total)
			}
		})
	}
}

func TestOAuth1BehindProxy(t *testing.T) {
	t.Parallel()
	// Jira knows itself as http://jira.example.com/jira (Tomcat proxyName);
	// the client signs that URL and reaches Jira through another address.
	e := newOAuthEnv(t, Options{PublicBaseURL: "http://jira.example.com/jira"}, "http://jira.example.com/jira")
	tok := e.dance(t, "bob")
	if r := e.get(t, e.cfg, tok, "/rest/api/2/myself"); r.status != 200 {
		t.Fatalf("signed for the public URL: %d %s", r.status, r.body)
	}
	// A client that signs the internal address fails with signature_invalid,
	// and the answer carries the base string Jira computed.
	if err := e.s.SetPublicBaseURL("https://jira.example.com:443/jira"); err != nil {
		t.Fatal(err)
	}
	r := e.get(t, e.cfg, tok, "/rest/api/2/myself")
	if r.status != 401 || !strings.Contains(string(r.body), "oauth_problem=signature_invalid") ||
		!strings.Contains(string(r.body), "oauth_signature_base_string=GET%26https%253A%252F%252Fjira.example.com%252Fjira%252Frest%252Fapi%252F2%252Fmyself") {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `oauth_problem="signature_invalid"`) {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
}

type fixedNoncer string

func (n fixedNoncer) Nonce() string { return string(n) }

func TestOAuth1Problems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token)
		status int
		want   string
	}{
		{"consumer_key_unknown", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			c := *e.cfg
			c.ConsumerKey = "nobody"
			return &c, tok
		}, 401, "oauth_problem=consumer_key_unknown"},
		{"signature_method_rejected", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			c := *e.cfg
			c.Signer = &oauth1.HMACSigner{ConsumerSecret: "secret"}
			return &c, tok
		}, 400, "oauth_problem=signature_method_rejected"},
		{"signature_invalid wrong key", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			c := *e.cfg
			c.Signer = &oauth1.RSASigner{PrivateKey: otherKey()}
			return &c, tok
		}, 401, "oauth_problem=signature_invalid&oauth_signature="},
		{"timestamp_refused", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			if err := e.s.SetFaults(Faults{ClockSkewSeconds: 600}); err != nil {
				t.Fatal(err)
			}
			return e.cfg, tok
		}, 401, "oauth_problem=timestamp_refused&oauth_acceptable_timestamps="},
		{"nonce_used", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			c := *e.cfg
			c.Noncer = fixedNoncer("same-nonce")
			if r := e.get(t, &c, tok, "/rest/api/2/myself"); r.status != 200 {
				t.Fatalf("first use: %d %s", r.status, r.body)
			}
			return &c, tok
		}, 401, "oauth_problem=nonce_used"},
		{"token_rejected after revocation", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			if !e.s.RevokeAccessToken(tok.Token) {
				t.Fatal("token not found")
			}
			return e.cfg, tok
		}, 401, "oauth_problem=token_rejected"},
		{"token_rejected after link deletion", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			// Deleting the link drops the consumer: the key is unknown now.
			links := e.s.ApplicationLinks()
			b := strings.TrimSuffix(e.base, "")
			if r := call(t, "DELETE", b+"/rest/applinks/3.0/applicationlink/"+links[0].ID, nil, basic("admin")...); r.status != 204 {
				t.Fatalf("delete link: %d %s", r.status, r.body)
			}
			if _, err := e.s.RegisterConsumer("asanajira-test", "again", &testKey().PublicKey); err != nil {
				t.Fatal(err)
			}
			return e.cfg, tok
		}, 401, "oauth_problem=token_rejected"},
		{"unknown token", func(t *testing.T, e *oauthEnv, tok *oauth1.Token) (*oauth1.Config, *oauth1.Token) {
			return e.cfg, oauth1.NewToken("not-a-token", "x")
		}, 401, "oauth_problem=token_rejected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newOAuthEnv(t, Options{}, "")
			tok := e.dance(t, "alice")
			cfg, tok := tc.setup(t, e, tok)
			r := e.get(t, cfg, tok, "/rest/api/2/myself")
			if r.status != tc.status || !strings.HasPrefix(string(r.body), tc.want) {
				t.Fatalf("got %d %q, want %d %q", r.status, r.body, tc.status, tc.want)
			}
		})
	}
}

func TestOAuth1DanceProblems(t *testing.T) {
	t.Parallel()
	t.Run("permission_denied", func(t *testing.T) {
		t.Parallel()
		e := newOAuthEnv(t, Options{}, "")
		rt, rs, err := e.cfg.RequestToken()
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.DenyRequestToken(rt); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.cfg.AccessToken(rt, rs, "denied")
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("access token after Deny: %v", err)
		}
	})
	t.Run("permission_unknown before approval", func(t *testing.T) {
		t.Parallel()
		e := newOAuthEnv(t, Options{}, "")
		rt, rs, err := e.cfg.RequestToken()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.cfg.AccessToken(rt, rs, "x"); err == nil {
			t.Fatal("access token without approval succeeded")
		}
	})
	t.Run("parameter_absent", func(t *testing.T) {
		t.Parallel()
		e := newOAuthEnv(t, Options{}, "")
		r := call(t, "POST", e.base+"/plugins/servlet/oauth/request-token", nil, "Authorization", `OAuth oauth_consumer_key="asanajira-test"`)
		if r.status != 400 || !strings.HasPrefix(string(r.body), "oauth_problem=parameter_absent&oauth_parameters_absent=") {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("authorize page Allow and Deny", func(t *testing.T) {
		t.Parallel()
		e := newOAuthEnv(t, Options{}, "")
		for _, action := range []string{"approve", "deny"} {
			rt, rs, err := e.cfg.RequestToken()
			if err != nil {
				t.Fatal(err)
			}
			page := call(t, "GET", e.base+"/plugins/servlet/oauth/authorize?oauth_token="+rt, nil)
			if page.status != 200 || !strings.Contains(string(page.body), `name="os_username"`) {
				t.Fatalf("authorize page: %d %s", page.status, page.body)
			}
			form := url.Values{"oauth_token": {rt}, "os_username": {"alice"}, "os_password": {"alice"}, action: {"x"}}
			r := call(t, "POST", e.base+"/plugins/servlet/oauth/authorize", form.Encode())
			loc, _ := url.Parse(r.header.Get("Location"))
			if r.status != 302 || loc.Query().Get("oauth_token") != rt || !strings.HasPrefix(loc.String(), "https://bridge.example.com/callback") {
				t.Fatalf("%s: %d %v", action, r.status, r.header)
			}
			_, _, err = e.cfg.AccessToken(rt, rs, loc.Query().Get("oauth_verifier"))
			if (err == nil) != (action == "approve") {
				t.Fatalf("%s: access token err = %v", action, err)
			}
		}
	})
}

func TestApplinksAdminOnly(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	r := call(t, "PUT", base(s, ts)+"/rest/applinks/3.0/applicationlink", map[string]any{"name": "x", "rpcUrl": "https://x"}, basic("alice")...)
	if r.status != 403 {
		t.Fatalf("non-admin: %d", r.status)
	}
	r = call(t, "GET", base(s, ts)+"/rest/applinks/latest/listApplicationlinks", nil, basic("admin")...)
	if diff := cmp.Diff(map[string]any{"list": []any{}}, r.json(t)); diff != "" {
		t.Errorf("empty list (-want +got):\n%s", diff)
	}
}

func TestOAuth2(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{Version: "9.12.0"})
	b := base(s, ts)
	c, err := s.RegisterOAuth2Client("asanajira", []string{"https://bridge.example.com/oauth2/callback"}, []string{"WRITE"})
	if err != nil {
		t.Fatal(err)
	}
	verifier := "a-verifier-that-is-long-enough-for-pkce-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {c.ClientID}, "redirect_uri": {c.RedirectURLs[0]}, "response_type": {"code"}, "scope": {"WRITE"},
		"state": {"xyz"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	if r := call(t, "GET", b+"/rest/oauth2/latest/authorize?"+q.Encode(), nil); r.status != 200 || !strings.Contains(string(r.body), "os_password") {
		t.Fatalf("consent page: %d %s", r.status, r.body)
	}
	q.Set("os_username", "alice")
	q.Set("os_password", "alice")
	q.Set("approve", "Allow")
	r := call(t, "POST", b+"/rest/oauth2/latest/authorize", q.Encode())
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.status != 302 || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") == "" {
		t.Fatalf("approve: %d %v", r.status, r.header)
	}
	code := loc.Query().Get("code")
	tokenForm := func(kv ...string) string {
		v := url.Values{"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}, "redirect_uri": {c.RedirectURLs[0]}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	if r := call(t, "POST", b+"/rest/oauth2/latest/token", tokenForm("grant_type", "authorization_code", "code", code, "code_verifier", "wrong")); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
		t.Fatalf("wrong verifier: %d %s", r.status, r.body)
	}
	// The code was consumed by the failed attempt; authorize again.
	r = call(t, "POST", b+"/rest/oauth2/latest/authorize", q.Encode())
	loc, _ = url.Parse(r.header.Get("Location"))
	r = call(t, "POST", b+"/rest/oauth2/latest/token", tokenForm("grant_type", "authorization_code", "code", loc.Query().Get("code"), "code_verifier", verifier))
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	tok := r.json(t)
	if tok["expires_in"] != 3600.0 || tok["token_type"] != "bearer" {
		t.Errorf("token response %v", tok)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	if r := call(t, "GET", b+"/rest/api/2/myself", nil, bearer(access)...); r.header.Get("X-AUSERNAME") != "alice" {
		t.Fatalf("bearer: %d %s", r.status, r.body)
	}
	r = call(t, "POST", b+"/rest/oauth2/latest/token", tokenForm("grant_type", "refresh_token", "refresh_token", refresh))
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", b+"/rest/api/2/myself", nil, bearer(access)...); r.status != 401 {
		t.Errorf("old access token after refresh: %d", r.status)
	}
	if r := call(t, "POST", b+"/rest/oauth2/latest/token", tokenForm("grant_type", "refresh_token", "refresh_token", refresh)); r.status != 400 {
		t.Errorf("old refresh token reused: %d", r.status)
	}
	// Deny redirects with access_denied.
	q.Del("approve")
	q.Set("deny", "Deny")
	r = call(t, "POST", b+"/rest/oauth2/latest/authorize", q.Encode())
	loc, _ = url.Parse(r.header.Get("Location"))
	if loc.Query().Get("error") != "access_denied" {
		t.Errorf("deny: %v", r.header)
	}
}
