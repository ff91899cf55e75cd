package doctor_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/doctor"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const consumerKey = "asanajira-doctor"

// keyPEM reads a fixed test key, so fingerprints in golden files are stable.
func keyPEM(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func privateKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	blk, _ := pem.Decode(keyPEM(t, name))
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	k, err := parseKey(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

func parseKey(der []byte) (*rsa.PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not RSA")
	}
	return rk, nil
}

// emulator is one Jira emulator on a loopback listener.
type emulator struct {
	fj   *fakejira.Server
	url  string // base URL with the context path, as dialled
	addr string // host:port of the listener
	srv  *httptest.Server
}

type setup struct {
	opts  fakejira.Options
	tls   bool
	wrap  func(http.Handler) http.Handler
	skipU bool // don't fail the test on unknown routes
}

func start(t *testing.T, s setup) *emulator {
	t.Helper()
	o := s.opts
	if !s.skipU {
		o.OnUnknownRoute = func(method, path string) { t.Errorf("emulator: no route for %s %s", method, path) }
	}
	fj, err := fakejira.New(o)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = fj
	if s.wrap != nil {
		h = s.wrap(fj)
	}
	srv := httptest.NewUnstartedServer(h)
	// The TCP check opens and closes a bare connection, which a TLS server
	// would log as a failed handshake.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if s.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() { srv.Close(); fj.Close() })
	return &emulator{fj: fj, url: srv.URL + fj.ContextPath(), addr: srv.Listener.Addr().String(), srv: srv}
}

// accessToken runs the OAuth 1.0a dance for user against public (reached
// at e.addr) and returns the access token.
func (e *emulator) accessToken(t *testing.T, public string, key *rsa.PrivateKey, user string) string {
	t.Helper()
	tr, err := jira.NewTransport(public, jira.TransportOptions{ConnectAddress: e.addr, DisableProxy: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &jira.OAuth1Config{BaseURL: public, Signer: &jira.OAuth1Signer{ConsumerKey: consumerKey, PrivateKey: key}, HTTPClient: &http.Client{Transport: tr}}
	rt, err := cfg.RequestToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.fj.ApproveRequestToken(rt.Token, user)
	if err != nil {
		t.Fatal(err)
	}
	at, err := cfg.AccessToken(t.Context(), rt.Token, v)
	if err != nil {
		t.Fatal(err)
	}
	return at.Token
}

// want is what a scenario expects of some checks.
type want struct {
	status   doctor.Status
	evidence []string // substrings of Evidence
	fix      []string // substrings of Fix
}

func statuses(r doctor.Report) map[string]doctor.Status {
	out := map[string]doctor.Status{}
	for _, c := range r.Checks {
		out[c.ID] = c.Status
	}
	return out
}

func verify(t *testing.T, rep doctor.Report, wantOK bool, checks map[string]want) {
	t.Helper()
	if rep.OK != wantOK {
		t.Errorf("OK = %v, want %v", rep.OK, wantOK)
	}
	for id, w := range checks {
		c, ok := rep.Check(id)
		if !ok {
			t.Errorf("no check %q", id)
			continue
		}
		if c.Status != w.status {
			t.Errorf("%s: status %s, want %s\nevidence: %s\nfix: %s", id, c.Status, w.status, c.Evidence, c.Fix)
		}
		for _, s := range w.evidence {
			if !strings.Contains(c.Evidence, s) {
				t.Errorf("%s: evidence lacks %q:\n%s", id, s, c.Evidence)
			}
		}
		for _, s := range w.fix {
			if !strings.Contains(c.Fix, s) {
				t.Errorf("%s: fix lacks %q:\n%s", id, s, c.Fix)
			}
		}
	}
	if t.Failed() {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Logf("report:\n%s", b.String())
	}
}

// TestHealthyProfiles: every check passes on every supported profile with
// all credentials given (TLS is skipped: the emulator speaks plain http).
func TestHealthyProfiles(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"7.13.5", "8.20.1", "9.12.0", "10.3.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			e := start(t, setup{opts: fakejira.Options{Version: version}})
			key := privateKey(t, "test-key-a.pem")
			if _, err := e.fj.RegisterConsumer(consumerKey, "asanajira", &key.PublicKey); err != nil {
				t.Fatal(err)
			}
			rep := doctor.Run(t.Context(), doctor.Options{
				JiraURL: e.url, ConsumerKey: consumerKey, PrivateKeyPEM: keyPEM(t, "test-key-a.pem"),
				AccessToken: e.accessToken(t, e.url, key, "alice"), AdminUser: "admin", AdminPassword: "admin",
			})
			got := statuses(rep)
			wantStatuses := map[string]doctor.Status{}
			for _, c := range rep.Checks {
				wantStatuses[c.ID] = doctor.StatusPass
			}
			wantStatuses[doctor.CheckTLS] = doctor.StatusSkip
			if diff := cmp.Diff(wantStatuses, got); diff != "" {
				var b bytes.Buffer
				_ = rep.WriteText(&b)
				t.Errorf("statuses (-want +got):\n%s\n%s", diff, b.String())
			}
			if rep.Version != version || !rep.OK {
				t.Errorf("Version = %q, OK = %v", rep.Version, rep.OK)
			}
			verify(t, rep, true, map[string]want{
				doctor.CheckVersion:         {status: doctor.StatusPass, evidence: []string{"Jira " + version + " is supported"}},
				doctor.CheckOAuthSignedCall: {status: doctor.StatusPass, evidence: []string{"answered as alice"}},
				doctor.CheckMyself:          {status: doctor.StatusPass, evidence: []string{"logged in as admin"}},
				doctor.CheckAppLinks:        {status: doctor.StatusPass, evidence: []string{`"asanajira" has the incoming consumer ` + consumerKey, "and asanajira's public key (SHA256:"}},
			})
		})
	}
}

// TestCreateMetaVariants: the doctor reads the createmeta variant of each
// version and explains the removal of the old one on 9.x.
func TestCreateMetaVariants(t *testing.T) {
	t.Parallel()
	tests := map[string]want{
		"7.13.5": {status: doctor.StatusPass, evidence: []string{"via the old GET rest/api/2/issue/createmeta (the only one before 8.4)"}},
		"8.20.1": {status: doctor.StatusPass, evidence: []string{"Jira 8.4+ endpoint", "fields on its create screen"}},
		"9.12.0": {status: doctor.StatusPass, evidence: []string{"GET rest/api/2/issue/createmeta/DEMO/issuetypes", `answers 404 "Issue Does Not Exist": it was removed in Jira 9.0`}},
		"10.3.0": {status: doctor.StatusPass, evidence: []string{"removed in Jira 9.0"}},
	}
	for version, w := range tests {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			e := start(t, setup{opts: fakejira.Options{Version: version}})
			rep := doctor.Run(t.Context(), doctor.Options{JiraURL: e.url, AdminUser: "admin", AdminPassword: "admin", Project: "DEMO"})
			verify(t, rep, true, map[string]want{doctor.CheckCreateMeta: w})
		})
	}
}

// TestScenarios reproduces the problems admins meet and checks that the
// doctor names them and says what to do.
func TestScenarios(t *testing.T) {
	t.Parallel()
	keyA := privateKey(t, "test-key-a.pem")
	keyB := privateKey(t, "test-key-b.pem")
	register := func(k *rsa.PrivateKey) func(*testing.T, *emulator) {
		return func(t *testing.T, e *emulator) {
			if _, err := e.fj.RegisterConsumer(consumerKey, "asanajira", &k.PublicKey); err != nil {
				t.Fatal(err)
			}
		}
	}
	oauthOpts := func(_ *testing.T, e *emulator, o *doctor.Options) {
		o.ConsumerKey, o.PrivateKeyPEM = consumerKey, keyPEM(t, "test-key-a.pem")
	}
	tests := map[string]struct {
		setup  setup
		before func(*testing.T, *emulator)
		opts   func(*testing.T, *emulator, *doctor.Options)
		ok     bool
		checks map[string]want
	}{
		"wrong base URL behind a proxy": {
			setup:  setup{opts: fakejira.Options{PublicBaseURL: "https://jira.example.com/jira"}},
			before: register(keyA),
			opts:   oauthOpts,
			checks: map[string]want{
				doctor.CheckBaseURL: {status: doctor.StatusFail,
					evidence: []string{"Jira says its base URL is https://jira.example.com/jira", "scheme: you gave http, Jira says https", "host: you gave 127.0.0.1, Jira says jira.example.com", "port: you gave"},
					fix:      []string{"proxyName=", "--jira-url https://jira.example.com/jira --connect-to 127.0.0.1:"}},
				doctor.CheckOAuthRequest: {status: doctor.StatusFail,
					evidence: []string{"oauth_problem=signature_invalid", "asanajira signed for http://127.0.0.1:", "Jira checked against https://jira.example.com/jira/plugins/servlet/oauth/request-token", "^ first difference, at character 10"},
					fix:      []string{"proxyName=", "--jira-url https://jira.example.com/jira --connect-to 127.0.0.1:"}},
				doctor.CheckOAuthSignedCall: {status: doctor.StatusSkip},
			},
		},
		"connect-to reaches Jira while signing for the public URL": {
			setup:  setup{opts: fakejira.Options{PublicBaseURL: "http://jira.public.example/jira"}},
			before: register(keyA),
			opts: func(t *testing.T, e *emulator, o *doctor.Options) {
				o.JiraURL, o.ConnectTo = "http://jira.public.example/jira", e.addr
				o.ConsumerKey, o.PrivateKeyPEM = consumerKey, keyPEM(t, "test-key-a.pem")
				o.AccessToken = e.accessToken(t, o.JiraURL, keyA, "bob")
			},
			ok: true,
			checks: map[string]want{
				doctor.CheckDNS:             {status: doctor.StatusPass, evidence: []string{"is an IP address", "jira.public.example is not looked up"}},
				doctor.CheckBaseURL:         {status: doctor.StatusPass, evidence: []string{"reached through --connect-to"}},
				doctor.CheckOAuthSignedCall: {status: doctor.StatusPass, evidence: []string{"answered as bob", "http://jira.public.example/jira"}},
				doctor.CheckOAuthAuthorize:  {status: doctor.StatusPass, evidence: []string{"users' browsers open this page at http://jira.public.example/jira"}},
			},
		},
		"clock skew": {
			before: func(t *testing.T, e *emulator) {
				register(keyA)(t, e)
				if err := e.fj.SetFaults(fakejira.Faults{ClockSkewSeconds: 600}); err != nil {
					t.Fatal(err)
				}
			},
			opts: oauthOpts,
			checks: map[string]want{
				doctor.CheckClock:        {status: doctor.StatusFail, evidence: []string{"ahead of this host's", "timestamp_refused"}, fix: []string{"NTP"}},
				doctor.CheckOAuthRequest: {status: doctor.StatusFail, evidence: []string{"oauth_problem=timestamp_refused"}, fix: []string{"NTP"}},
			},
		},
		"unknown consumer key": {
			before: register(keyA),
			opts: func(t *testing.T, e *emulator, o *doctor.Options) {
				o.ConsumerKey, o.PrivateKeyPEM = "asanajira-typo", keyPEM(t, "test-key-a.pem")
				o.AdminUser, o.AdminPassword = "admin", "admin"
			},
			checks: map[string]want{
				doctor.CheckOAuthRequest: {status: doctor.StatusFail, evidence: []string{"consumer_key_unknown", "no incoming application link with the consumer key asanajira-typo"}, fix: []string{"Atlassian product", "Generic Application"}},
				doctor.CheckAppLinks:     {status: doctor.StatusFail, evidence: []string{"no application link has the consumer key asanajira-typo", "their incoming consumer keys: " + consumerKey}},
			},
		},
		"wrong key pair": {
			before: register(keyB),
			opts: func(t *testing.T, e *emulator, o *doctor.Options) {
				oauthOpts(t, e, o)
				o.AdminUser, o.AdminPassword = "admin", "admin"
			},
			checks: map[string]want{
				doctor.CheckOAuthRequest: {status: doctor.StatusFail, evidence: []string{"signature_invalid", "Jira rebuilt exactly the base string asanajira signed", "does not pair"}, fix: []string{"replace the public key"}},
				doctor.CheckAppLinks:     {status: doctor.StatusFail, evidence: []string{"does not pair with asanajira's private key"}},
			},
		},
		"HMAC consumer": {
			// The emulator only has RSA consumers; this wrapper answers as
			// Jira does for a consumer set up with a shared secret.
			setup: setup{wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.Contains(r.Header.Get("Authorization"), `oauth_consumer_key="hmac-consumer"`) {
						w.Header().Set("WWW-Authenticate", `OAuth realm="jira", oauth_problem="signature_method_rejected"`)
						w.WriteHeader(http.StatusBadRequest)
						fmt.Fprint(w, "oauth_problem=signature_method_rejected&oauth_acceptable_signature_methods=HMAC-SHA1")
						return
					}
					h.ServeHTTP(w, r)
				})
			}},
			opts: func(t *testing.T, e *emulator, o *doctor.Options) {
				o.ConsumerKey, o.PrivateKeyPEM = "hmac-consumer", keyPEM(t, "test-key-a.pem")
			},
			checks: map[string]want{
				doctor.CheckOAuthRequest: {status: doctor.StatusFail, evidence: []string{"signature_method_rejected", "refused the RSA-SHA1 signature method"}, fix: []string{"shared secret", "paste asanajira's public key"}},
			},
		},
		"basic auth disabled": {
			setup: setup{opts: fakejira.Options{DisableBasicAuth: true}},
			opts:  func(_ *testing.T, _ *emulator, o *doctor.Options) { o.AdminUser, o.AdminPassword = "admin", "admin" },
			checks: map[string]want{
				doctor.CheckMyself:     {status: doctor.StatusFail, evidence: []string{"basic authentication is disabled", "Basic Authentication has been disabled on this instance."}, fix: []string{"personal access token", "--admin-token"}},
				doctor.CheckAppLinks:   {status: doctor.StatusSkip, evidence: []string{"admin credentials did not work"}},
				doctor.CheckCreateMeta: {status: doctor.StatusSkip},
			},
		},
		"CAPTCHA": {
			setup: setup{opts: fakejira.Options{CaptchaAfter: 1}},
			before: func(t *testing.T, e *emulator) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.url+"/rest/api/2/myself", nil)
				req.SetBasicAuth("admin", "wrong")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			},
			opts: func(_ *testing.T, _ *emulator, o *doctor.Options) { o.AdminUser, o.AdminPassword = "admin", "admin" },
			checks: map[string]want{
				doctor.CheckMyself: {status: doctor.StatusFail, evidence: []string{"CAPTCHA", "CAPTCHA_CHALLENGE"}, fix: []string{"Log in to Jira once in a browser as admin"}},
			},
		},
		"SSO login page instead of JSON": {
			before: func(t *testing.T, e *emulator) {
				if err := e.fj.SetFaults(fakejira.Faults{SSOHTML: true, PathPrefix: "/jira/rest/"}); err != nil {
					t.Fatal(err)
				}
			},
			opts: func(_ *testing.T, _ *emulator, o *doctor.Options) { o.AdminUser, o.AdminPassword = "admin", "admin" },
			checks: map[string]want{
				doctor.CheckWeb:        {status: doctor.StatusPass},
				doctor.CheckServerInfo: {status: doctor.StatusFail, evidence: []string{"HTML login page came back instead of JSON"}, fix: []string{"SSO"}},
				doctor.CheckVersion:    {status: doctor.StatusSkip},
				doctor.CheckMyself:     {status: doctor.StatusFail, evidence: []string{"HTML login page"}},
				doctor.CheckClock:      {status: doctor.StatusPass},
			},
		},
		"self-signed certificate without the CA bundle": {
			setup: setup{tls: true},
			checks: map[string]want{
				doctor.CheckTLS:        {status: doctor.StatusFail, evidence: []string{"not signed by a CA this host trusts"}, fix: []string{"--ca-bundle"}},
				doctor.CheckServerInfo: {status: doctor.StatusSkip, evidence: []string{"TLS certificate is not accepted"}},
			},
		},
		"self-signed certificate with the CA bundle": {
			setup: setup{tls: true},
			opts: func(_ *testing.T, e *emulator, o *doctor.Options) {
				o.CABundlePEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.srv.Certificate().Raw})
				o.AdminUser, o.AdminPassword = "admin", "admin"
			},
			ok: true,
			checks: map[string]want{
				doctor.CheckTLS:        {status: doctor.StatusPass, evidence: []string{"trusted for 127.0.0.1"}},
				doctor.CheckServerInfo: {status: doctor.StatusPass, evidence: []string{"base URL https://127.0.0.1:"}},
				doctor.CheckBaseURL:    {status: doctor.StatusPass},
			},
		},
		"CA bundle that is not PEM": {
			setup: setup{tls: true},
			opts:  func(_ *testing.T, _ *emulator, o *doctor.Options) { o.CABundlePEM = []byte("not a certificate") },
			checks: map[string]want{
				doctor.CheckTLS: {status: doctor.StatusFail, evidence: []string{"holds no PEM certificate"}},
			},
		},
		"public mode with a loopback Jira": {
			opts: func(_ *testing.T, _ *emulator, o *doctor.Options) { o.PublicMode = true },
			ok:   true,
			checks: map[string]want{
				doctor.CheckDNS: {status: doctor.StatusWarn, evidence: []string{"127.0.0.1 (loopback)"}, fix: []string{"same network"}},
			},
		},
		"no credentials": {
			ok: true,
			checks: map[string]want{
				doctor.CheckMyself:           {status: doctor.StatusPass, evidence: []string{"answers 401 with JSON"}},
				doctor.CheckOAuthRequest:     {status: doctor.StatusPass, evidence: []string{"oauth_problem=parameter_absent"}},
				doctor.CheckOAuthAccessToken: {status: doctor.StatusPass, evidence: []string{"oauth_problem=parameter_absent"}},
				doctor.CheckOAuthSignedCall:  {status: doctor.StatusSkip},
				doctor.CheckCreateMeta:       {status: doctor.StatusSkip, evidence: []string{"needs credentials"}},
				doctor.CheckAppLinks:         {status: doctor.StatusSkip},
			},
		},
		"admin personal access token": {
			opts: func(t *testing.T, e *emulator, o *doctor.Options) {
				tok, err := e.fj.CreatePAT("admin", "doctor")
				if err != nil {
					t.Fatal(err)
				}
				o.AdminToken = tok
			},
			ok: true,
			checks: map[string]want{
				doctor.CheckMyself:   {status: doctor.StatusPass, evidence: []string{"logged in as admin", "personal access token"}},
				doctor.CheckAppLinks: {status: doctor.StatusPass, evidence: []string{"no application links"}},
			},
		},
		"personal access token on 8.13": {
			setup: setup{opts: fakejira.Options{Version: "8.13.0"}},
			opts:  func(_ *testing.T, _ *emulator, o *doctor.Options) { o.AdminToken = "a-token" },
			checks: map[string]want{
				doctor.CheckMyself: {status: doctor.StatusFail, evidence: []string{"Jira 8.13.0 has no personal access tokens"}},
			},
		},
		"wrong access token": {
			before: register(keyA),
			opts: func(t *testing.T, e *emulator, o *doctor.Options) {
				oauthOpts(t, e, o)
				o.AccessToken = "revoked"
			},
			checks: map[string]want{
				doctor.CheckOAuthRequest:    {status: doctor.StatusPass},
				doctor.CheckOAuthAuthorize:  {status: doctor.StatusPass, evidence: []string{"with the request token just issued"}},
				doctor.CheckOAuthSignedCall: {status: doctor.StatusFail, evidence: []string{"oauth_problem=token_rejected"}, fix: []string{"Connect the Jira account again"}},
			},
		},
		"private key that is not PEM": {
			opts: func(_ *testing.T, _ *emulator, o *doctor.Options) {
				o.ConsumerKey, o.PrivateKeyPEM = consumerKey, []byte("garbage")
			},
			checks: map[string]want{
				doctor.CheckOAuthRequest:    {status: doctor.StatusFail, evidence: []string{"not PEM"}, fix: []string{"asanajira keys generate"}},
				doctor.CheckOAuthSignedCall: {status: doctor.StatusSkip},
			},
		},
		"private key without consumer key": {
			opts: func(t *testing.T, _ *emulator, o *doctor.Options) { o.PrivateKeyPEM = keyPEM(t, "test-key-a.pem") },
			checks: map[string]want{
				doctor.CheckOAuthRequest: {status: doctor.StatusFail, evidence: []string{"without its consumer key"}},
			},
		},
		"missing context path": {
			setup: setup{skipU: true},
			opts:  func(_ *testing.T, e *emulator, o *doctor.Options) { o.JiraURL = strings.TrimSuffix(e.url, "/jira") },
			checks: map[string]want{
				doctor.CheckWeb:        {status: doctor.StatusFail, evidence: []string{"404"}, fix: []string{"context path"}},
				doctor.CheckServerInfo: {status: doctor.StatusFail, fix: []string{"context path"}},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := start(t, tc.setup)
			if tc.before != nil {
				tc.before(t, e)
			}
			o := doctor.Options{JiraURL: e.url}
			if tc.opts != nil {
				tc.opts(t, e, &o)
			}
			rep := doctor.Run(t.Context(), o)
			verify(t, rep, tc.ok, tc.checks)
		})
	}
}

// TestUnreachable: no emulator listens; the TCP check fails and every
// later check is skipped with the reason.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	rep := doctor.Run(t.Context(), doctor.Options{JiraURL: "http://" + addr + "/jira", AdminUser: "admin", AdminPassword: "admin"})
	verify(t, rep, false, map[string]want{
		doctor.CheckDNS:      {status: doctor.StatusPass},
		doctor.CheckTCP:      {status: doctor.StatusFail, evidence: []string{"connection to " + addr + " refused"}, fix: []string{"running"}},
		doctor.CheckAppLinks: {status: doctor.StatusSkip, evidence: []string{"cannot open a TCP connection"}},
	})
	for _, c := range rep.Checks[3:] {
		if c.Status != doctor.StatusSkip {
			t.Errorf("%s: %s after a failed TCP check", c.ID, c.Status)
		}
	}
}

// TestDNSFailure uses a resolver whose DNS server cannot be reached.
func TestDNSFailure(t *testing.T) {
	t.Parallel()
	res := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in this test")
	}}
	rep := doctor.Run(t.Context(), doctor.Options{JiraURL: "https://jira.doctor.invalid/jira", Resolver: res})
	verify(t, rep, false, map[string]want{
		doctor.CheckDNS: {status: doctor.StatusFail, evidence: []string{"jira.doctor.invalid"}},
		doctor.CheckTCP: {status: doctor.StatusSkip, evidence: []string{"does not resolve"}},
	})
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		opts  doctor.Options
		check string
		ev    string
	}{
		"no URL":         {doctor.Options{}, doctor.CheckURL, "no Jira URL"},
		"not a URL":      {doctor.Options{JiraURL: "jira.example.com"}, doctor.CheckURL, "must start with https://"},
		"bad connect-to": {doctor.Options{JiraURL: "http://127.0.0.1:1/jira", ConnectTo: "10.0.0.5"}, doctor.CheckURL, "not host:port"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := doctor.Run(t.Context(), tc.opts)
			c, _ := rep.Check(tc.check)
			if !strings.Contains(c.Evidence, tc.ev) {
				t.Errorf("%s evidence = %q, want %q", tc.check, c.Evidence, tc.ev)
			}
			if c.Status != doctor.StatusFail || rep.OK {
				t.Errorf("status %s, OK %v", c.Status, rep.OK)
			}
		})
	}
}

func TestSignatureDiffText(t *testing.T) {
	t.Parallel()
	e := start(t, setup{opts: fakejira.Options{PublicBaseURL: "https://jira.example.com/jira"}})
	key := privateKey(t, "test-key-a.pem")
	if _, err := e.fj.RegisterConsumer(consumerKey, "asanajira", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	rep := doctor.Run(t.Context(), doctor.Options{JiraURL: e.url, ConsumerKey: consumerKey, PrivateKeyPEM: keyPEM(t, "test-key-a.pem")})
	c, _ := rep.Check(doctor.CheckOAuthRequest)
	d := c.Signature
	if d == nil {
		t.Fatalf("no signature diff: %+v", c)
	}
	if d.Ours[:d.FirstDifference] != d.Jira[:d.FirstDifference] || d.Ours[d.FirstDifference] == d.Jira[d.FirstDifference] {
		t.Errorf("first difference %d is wrong:\n%s\n%s", d.FirstDifference, d.Ours, d.Jira)
	}
	// The caret sits under the first differing character of both lines.
	lines := strings.Split(d.Text(), "\n")
	col := strings.Index(lines[2], "^")
	ours, theirs := []rune(lines[0]), []rune(lines[1])
	if col <= 0 || col >= len(ours) || col >= len(theirs) || ours[col] == theirs[col] || string(ours[:col])[6:] != string(theirs[:col])[6:] {
		t.Errorf("caret at %d does not mark the difference:\n%s", col, d.Text())
	}
	for _, s := range []string{d.Ours, d.Jira} {
		if strings.Contains(s, "oauth_token%3D") && !strings.Contains(s, "oauth_token%3DREDACTED") {
			t.Errorf("token not redacted: %s", s)
		}
	}
}

// TestJSON: the report encodes with stable field names.
func TestJSON(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	rep := doctor.Run(t.Context(), doctor.Options{JiraURL: e.url})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		JiraURL string `json:"jira_url"`
		Version string `json:"version"`
		OK      bool   `json:"ok"`
		Checks  []struct {
			ID, Title, Status, Evidence string
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.JiraURL != e.url || back.Version != "9.12.0" || !back.OK || len(back.Checks) != len(rep.Checks) || back.Checks[0].ID != "url" || back.Checks[0].Status != "pass" {
		t.Errorf("JSON = %s", b)
	}
}

// mask replaces the values that change between runs (ports) by
// same-length placeholders, so carets in the golden files stay aligned.
func mask(s string) string {
	re := regexp.MustCompile(`(127\.0\.0\.1(?::|%3A|%253A)|port: you gave |proxyPort=")(\d+)`)
	return re.ReplaceAllStringFunc(s, func(m string) string {
		sub := re.FindStringSubmatch(m)
		return sub[1] + strings.Repeat("N", len(sub[2]))
	})
}

func TestGoldenText(t *testing.T) {
	t.Parallel()
	key := privateKey(t, "test-key-a.pem")
	tests := map[string]func(t *testing.T) doctor.Options{
		"healthy": func(t *testing.T) doctor.Options {
			e := start(t, setup{opts: fakejira.Options{Version: "9.12.0"}})
			if _, err := e.fj.RegisterConsumer(consumerKey, "asanajira", &key.PublicKey); err != nil {
				t.Fatal(err)
			}
			return doctor.Options{JiraURL: e.url, ConsumerKey: consumerKey, PrivateKeyPEM: keyPEM(t, "test-key-a.pem"),
				AccessToken: e.accessToken(t, e.url, key, "alice"), AdminUser: "admin", AdminPassword: "admin"}
		},
		"proxy": func(t *testing.T) doctor.Options {
			e := start(t, setup{opts: fakejira.Options{Version: "9.12.0", PublicBaseURL: "https://jira.example.com/jira"}})
			if _, err := e.fj.RegisterConsumer(consumerKey, "asanajira", &key.PublicKey); err != nil {
				t.Fatal(err)
			}
			return doctor.Options{JiraURL: e.url, ConsumerKey: consumerKey, PrivateKeyPEM: keyPEM(t, "test-key-a.pem"), AdminUser: "admin", AdminPassword: "admin"}
		},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rep := doctor.Run(t.Context(), opts(t))
			var b bytes.Buffer
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			got := mask(b.String())
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantB, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(wantB), got); diff != "" {
				t.Errorf("text report (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStoppedContext: a cancelled run still returns a full report.
func TestStoppedContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rep := doctor.Run(ctx, doctor.Options{JiraURL: "http://127.0.0.1:1/jira", Timeout: time.Second})
	if len(rep.Checks) == 0 || rep.Checks[0].Status != doctor.StatusSkip || rep.OK {
		t.Errorf("checks = %+v", rep.Checks)
	}
}
