package jira

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
)

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	b := fixture(t, "oauth1-test-key.pem")
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block in test key")
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fixedSigner(t testing.TB) *OAuth1Signer {
	return &OAuth1Signer{
		ConsumerKey: "asanajira-consumer",
		PrivateKey:  testKey(t),
		Now:         func() time.Time { return time.Unix(1700000000, 0) },
		Nonce:       func() string { return "fixednonce0123456789" },
	}
}

// verifyOAuth1 checks a request's RSA-SHA1 signature against the URL a Jira
// configured with publicBase would reconstruct, as Jira does.
func verifyOAuth1(t *testing.T, r *http.Request, publicBase string, pub *rsa.PublicKey) {
	t.Helper()
	params := parseOAuthHeader(r.Header.Get("Authorization"))
	if params == nil {
		t.Fatalf("no OAuth header: %q", r.Header.Get("Authorization"))
	}
	pb, _ := url.Parse(publicBase)
	u := *r.URL
	u.Scheme, u.Host = pb.Scheme, pb.Host
	base := signatureBaseString(r.Method, &u, nil, params)
	sig, err := base64.StdEncoding.DecodeString(params["oauth_signature"])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha1.Sum([]byte(base))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA1, digest[:], sig); err != nil {
		t.Errorf("signature does not verify for base string %q: %v", base, err)
	}
}

// TestOAuth1KnownAnswer pins the base string and signature for a fixed key,
// clock and nonce, including a context path and percent-encoded JQL.
func TestOAuth1KnownAnswer(t *testing.T) {
	t.Parallel()
	s := fixedSigner(t)
	req, _ := http.NewRequest("GET", "https://Jira.Example.com:443/jira/rest/api/2/search?jql=project%20%3D%20OPS%20AND%20text%20~%20%22a%2Bb%22&maxResults=50", nil)
	base, err := s.Sign(req, "accesstoken123", nil)
	if err != nil {
		t.Fatal(err)
	}
	const wantBase = "GET&https%3A%2F%2Fjira.example.com%2Fjira%2Frest%2Fapi%2F2%2Fsearch&jql%3Dproject%2520%253D%2520OPS%2520AND%2520text%2520~%2520%2522a%252Bb%2522%26maxResults%3D50%26oauth_consumer_key%3Dasanajira-consumer%26oauth_nonce%3Dfixednonce0123456789%26oauth_signature_method%3DRSA-SHA1%26oauth_timestamp%3D1700000000%26oauth_token%3Daccesstoken123%26oauth_version%3D1.0"
	if base != wantBase {
		t.Errorf("base string\n got %s\nwant %s", base, wantBase)
	}
	params := parseOAuthHeader(req.Header.Get("Authorization"))
	const wantSig = "c64q8hxqStyiqRJrJBIKv/KHU/YPs/WWkOIEVcPCrWgJY177sfI7zxSf3E4xD79bk/IQ2O5PFj+s6VmqdRNCxGP9JPfgZ+emEU4MBCsm6ktr/1Ed6VdCbx/ueI2vLKsFokI+BFgXLCPNO0zhluzcbMP6Voi9neZrACpP5/f0X8HuQxFDHHt2HfuWDaXTsXozpXcyt0WPiP2DIeQNGxEOH9MB6yCh1UPOLXjKfROBmSXJHTbRwycbJlx7l+pwpRwscAwCFjxxadnjndK/vAbsv/4b5M4GmRs2/Ym6lXL3ktOl7CxN9zCshIa4tkatFwZ5ZBwTCTOR+E4QcM4NHvRbsA=="
	if params["oauth_signature"] != wantSig {
		t.Errorf("signature\n got %s\nwant %s", params["oauth_signature"], wantSig)
	}
	wantHeader := `OAuth oauth_consumer_key="asanajira-consumer", oauth_nonce="fixednonce0123456789", oauth_signature="` + oauth1.PercentEncode(wantSig) + `", oauth_signature_method="RSA-SHA1", oauth_timestamp="1700000000", oauth_token="accesstoken123", oauth_version="1.0"`
	if got := req.Header.Get("Authorization"); got != wantHeader {
		t.Errorf("header\n got %s\nwant %s", got, wantHeader)
	}
}

// TestOAuth1MatchesLibrary signs the same requests with dghubble/oauth1's
// own transport and with OAuth1Signer and expects identical headers.
func TestOAuth1MatchesLibrary(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	var libHeader string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		libHeader = r.Header.Get("Authorization")
	}))
	defer srv.Close()
	tests := []string{
		"/jira/rest/api/2/myself",
		"/jira/rest/api/2/search?jql=project+%3D+OPS+ORDER+BY+updated&fields=summary%2Cstatus",
		"/jira/rest/api/2/issue/OPS-1/remotelink?globalId=asana%3Atask%3A123",
		"/jira/rest/api/2/user/search?username=j%C3%B6rg%40example.com",
	}
	for _, path := range tests {
		cfg := &oauth1.Config{ConsumerKey: "ck", Signer: &oauth1.RSASigner{PrivateKey: key}, Noncer: fixedNoncer{}}
		hc := cfg.Client(t.Context(), oauth1.NewToken("tok", "secret"))
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		ts := parseOAuthHeader(libHeader)["oauth_timestamp"]
		var sec int64
		_, _ = fmt.Sscan(ts, &sec)
		mine := &OAuth1Signer{ConsumerKey: "ck", PrivateKey: key, Now: func() time.Time { return time.Unix(sec, 0) }, Nonce: fixedNoncer{}.Nonce}
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if _, err := mine.Sign(req, "tok", nil); err != nil {
			t.Fatal(err)
		}
		if got := req.Header.Get("Authorization"); got != libHeader {
			t.Errorf("%s:\n mine %s\n  lib %s", path, got, libHeader)
		}
	}
}

type fixedNoncer struct{}

func (fixedNoncer) Nonce() string { return "n0nce" }

// TestOAuth1ConnectAddress signs for the public base URL while the TCP
// connection goes to another address; the server verifies the signature
// against its configured public URL.
func TestOAuth1ConnectAddress(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	const public = "http://jira.public.example/jira"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "jira.public.example" {
			t.Errorf("Host = %q, want the public host", r.Host)
		}
		verifyOAuth1(t, r, public, &key.PublicKey)
		writeJSON(w, 200, `{"name":"alice","key":"JIRAUSER10000"}`)
	}))
	defer srv.Close()
	tr, err := NewTransport(public, TransportOptions{ConnectAddress: srv.Listener.Addr().String(), DisableProxy: true})
	if err != nil {
		t.Fatal(err)
	}
	hc := NewHTTPClient(&OAuth1Transport{Signer: &OAuth1Signer{ConsumerKey: "ck", PrivateKey: key}, Token: "tok", Base: tr}, 10*time.Second)
	c, err := New(public, hc)
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.Myself(t.Context())
	if err != nil || me.Name != "alice" {
		t.Fatalf("Myself = %+v, %v", me, err)
	}
}

func TestOAuth1Dance(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jira/plugins/servlet/oauth/request-token", func(w http.ResponseWriter, r *http.Request) {
		verifyOAuth1(t, r, srvURL, &key.PublicKey)
		p := parseOAuthHeader(r.Header.Get("Authorization"))
		if p["oauth_callback"] != "https://bridge.example.com/connect/jira/callback?state=1" || p["oauth_token"] != "" {
			t.Errorf("request-token params = %v", p)
		}
		_, _ = io.WriteString(w, "oauth_token=reqtok&oauth_token_secret=reqsecret&oauth_callback_confirmed=true")
	})
	mux.HandleFunc("POST /jira/plugins/servlet/oauth/access-token", func(w http.ResponseWriter, r *http.Request) {
		verifyOAuth1(t, r, srvURL, &key.PublicKey)
		p := parseOAuthHeader(r.Header.Get("Authorization"))
		if p["oauth_token"] != "reqtok" || p["oauth_verifier"] == "" {
			t.Errorf("access-token params = %v", p)
		}
		if p["oauth_verifier"] == "bad" {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, "oauth_problem=token_rejected")
			return
		}
		_, _ = io.WriteString(w, "oauth_token=acctok&oauth_token_secret=accsecret&oauth_expires_in=157680000&oauth_session_handle=h&oauth_authorization_expires_in=160000000")
	})
	mux.HandleFunc("POST /jira/slow/plugins/servlet/oauth/request-token", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	cfg := &OAuth1Config{BaseURL: srv.URL + "/jira", Signer: &OAuth1Signer{ConsumerKey: "ck", PrivateKey: key}, CallbackURL: "https://bridge.example.com/connect/jira/callback?state=1"}
	rt, err := cfg.RequestToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rt.Token != "reqtok" || rt.Secret != "reqsecret" || !rt.CallbackConfirmed {
		t.Errorf("request token = %+v", rt)
	}
	au, err := cfg.AuthorizeURL(rt.Token)
	if err != nil || au != srv.URL+"/jira/plugins/servlet/oauth/authorize?oauth_token=reqtok" {
		t.Errorf("AuthorizeURL = %q, %v", au, err)
	}
	at, err := cfg.AccessToken(t.Context(), rt.Token, "verif")
	if err != nil {
		t.Fatal(err)
	}
	if at.Token != "acctok" || at.ExpiresIn != 157680000*time.Second || at.SessionHandle != "h" {
		t.Errorf("access token = %+v", at)
	}
	if _, err := cfg.AccessToken(t.Context(), rt.Token, "bad"); err == nil || !strings.Contains(err.Error(), "token_rejected") {
		t.Errorf("AccessToken(bad) = %v", err)
	}
	slow := &OAuth1Config{BaseURL: srv.URL + "/jira/slow", Signer: cfg.Signer, Timeout: 50 * time.Millisecond}
	// "did not answer" is the client's own timeout speaking: the slow
	// endpoint would otherwise answer.
	if _, err := slow.RequestToken(t.Context()); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("slow RequestToken = %v", err)
	}
}

// BenchmarkOAuth1Sign measures signing one API request (base string plus
// RSA-2048 SHA-1 signature).
func BenchmarkOAuth1Sign(b *testing.B) {
	s := &OAuth1Signer{ConsumerKey: "ck", PrivateKey: testKey(b)}
	req, _ := http.NewRequest("GET", "https://jira.example.com/jira/rest/api/2/search?jql=project%20%3D%20OPS&maxResults=50", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(req, "accesstoken", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func publicKeyPEM(t testing.TB) string {
	der, err := x509.MarshalPKIXPublicKey(&testKey(t).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// A single sign-on page in front of Jira answers the token servlets with a
// 200 HTML login page; it must read as SSO, not as a malformed token.
func TestOAuth1TokenCallBehindSSO(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><body><form action=\"/sso/login\">Sign in with Okta</form></body></html>")
	}))
	defer srv.Close()
	cfg := &OAuth1Config{BaseURL: srv.URL + "/jira", Signer: &OAuth1Signer{ConsumerKey: "ck", PrivateKey: key}, CallbackURL: "https://bridge.example.com/cb"}
	_, err := cfg.RequestToken(t.Context())
	var je *Error
	if !errors.As(err, &je) || je.Kind != KindSSO || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("RequestToken behind SSO: %v, want a KindSSO *Error", err)
	}
	if _, err := cfg.AccessToken(t.Context(), "tok", "verifier"); !errors.As(err, &je) || je.Kind != KindSSO {
		t.Fatalf("AccessToken behind SSO: %v, want a KindSSO *Error", err)
	}
}
