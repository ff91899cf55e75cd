package jira

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// emulator starts the Jira emulator playing version under /jira and returns
// it with its base URL. publicBase, when set, is the URL it verifies OAuth
// signatures against.
func emulator(t *testing.T, version, publicBase string, opts ...func(*fakejira.Options)) (*fakejira.Server, string) {
	t.Helper()
	o := fakejira.Options{Version: version, PublicBaseURL: publicBase, OnUnknownRoute: func(method, path string) {
		t.Errorf("emulator: no route for %s %s", method, path)
	}}
	for _, f := range opts {
		f(&o)
	}
	fj, err := fakejira.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fj)
	t.Cleanup(func() { srv.Close(); fj.Close() })
	return fj, srv.URL + "/jira"
}

func fastRetries() Option {
	return WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: 2 * time.Second})
}

func patClient(t *testing.T, fj *fakejira.Server, base, user string) *Client {
	t.Helper()
	tok, err := fj.CreatePAT(user, "test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(base, NewHTTPClient(&BearerTransport{Token: tok}, 30*time.Second), fastRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEmulatorOAuth1 runs the whole OAuth 1.0a dance against the emulator
// on every version, then calls the API with the access token.
func TestEmulatorOAuth1(t *testing.T) {
	t.Parallel()
	for _, v := range fakejira.Versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			fj, base := emulator(t, v, "")
			key := testKey(t)
			if _, err := fj.RegisterConsumer("asanajira", "Asana", &key.PublicKey); err != nil {
				t.Fatal(err)
			}
			signer := &OAuth1Signer{ConsumerKey: "asanajira", PrivateKey: key}
			cfg := &OAuth1Config{BaseURL: base, Signer: signer, CallbackURL: "https://bridge.example.com/callback"}
			rt, err := cfg.RequestToken(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := fj.ApproveRequestToken(rt.Token, "alice")
			if err != nil {
				t.Fatal(err)
			}
			at, err := cfg.AccessToken(t.Context(), rt.Token, verifier)
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(base, NewHTTPClient(&OAuth1Transport{Signer: signer, Token: at.Token}, 30*time.Second), fastRetries())
			if err != nil {
				t.Fatal(err)
			}
			me, err := c.Myself(t.Context())
			if err != nil || me.Name != "alice" {
				t.Fatalf("Myself = %+v, %v", me, err)
			}
			// JQL with characters that must be percent-encoded in the signature.
			if _, err := c.Search(t.Context(), SearchOptions{JQL: `project = DEMO AND text ~ "a+b & c"`}); err != nil {
				t.Errorf("search: %v", err)
			}
			// A revoked token is a reconnect case.
			fj.RevokeAccessToken(at.Token)
			_, err = c.Myself(t.Context())
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrUnauthorized) || e.OAuthProblem != "token_rejected" {
				t.Errorf("after revoke: %v", err)
			}
			// An unknown consumer key is an admin problem.
			bad := &OAuth1Config{BaseURL: base, Signer: &OAuth1Signer{ConsumerKey: "nope", PrivateKey: key}}
			if _, err := bad.RequestToken(t.Context()); !errors.As(err, &e) || e.OAuthProblem != "consumer_key_unknown" {
				t.Errorf("unknown consumer: %v", err)
			}
		})
	}
}

// TestEmulatorOAuth1ConnectAddress: the emulator believes its base URL is
// http://jira.public.example/jira; the client signs for that URL and dials
// the emulator's real address.
func TestEmulatorOAuth1ConnectAddress(t *testing.T) {
	t.Parallel()
	const public = "http://jira.public.example/jira"
	fj, base := emulator(t, "9.12.0", public)
	key := testKey(t)
	if _, err := fj.RegisterConsumer("asanajira", "Asana", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/jira")
	tr, err := NewTransport(public, TransportOptions{ConnectAddress: addr, DisableProxy: true})
	if err != nil {
		t.Fatal(err)
	}
	signer := &OAuth1Signer{ConsumerKey: "asanajira", PrivateKey: key}
	cfg := &OAuth1Config{BaseURL: public, Signer: signer, HTTPClient: &http.Client{Transport: tr}}
	rt, err := cfg.RequestToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := fj.ApproveRequestToken(rt.Token, "bob")
	if err != nil {
		t.Fatal(err)
	}
	at, err := cfg.AccessToken(t.Context(), rt.Token, verifier)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(public, NewHTTPClient(&OAuth1Transport{Signer: signer, Token: at.Token, Base: tr}, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if me, err := c.Myself(t.Context()); err != nil || me.Name != "bob" {
		t.Fatalf("Myself = %+v, %v", me, err)
	}
	// Signing for the address actually dialled fails: Jira rebuilds the
	// public URL, so the signature no longer matches.
	direct, _ := New(base, NewHTTPClient(&OAuth1Transport{Signer: signer, Token: at.Token}, 30*time.Second))
	_, err = direct.Myself(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.OAuthProblem != "signature_invalid" {
		t.Fatalf("signed for the internal URL: %v", err)
	}
	if !strings.Contains(e.OAuthSignatureBaseString, "jira.public.example") || !strings.Contains(e.SentSignatureBaseString, "127.0.0.1") {
		t.Errorf("base strings: Jira %q, sent %q", e.OAuthSignatureBaseString, e.SentSignatureBaseString)
	}
}

func TestEmulatorPATAndBasic(t *testing.T) {
	t.Parallel()
	fj, base := emulator(t, "9.12.0", "")
	c := patClient(t, fj, base, "alice")
	if me, err := c.Myself(t.Context()); err != nil || me.Name != "alice" {
		t.Errorf("PAT Myself = %+v, %v", me, err)
	}
	admin, _ := New(base, NewHTTPClient(&BasicAuthTransport{Username: "admin", Password: "admin"}, 30*time.Second))
	pat, err := admin.CreatePersonalAccessToken(t.Context(), "asanajira", 30)
	if err != nil || pat.RawToken == "" {
		t.Fatalf("CreatePersonalAccessToken = %+v, %v", pat, err)
	}
	wrong, _ := New(base, NewHTTPClient(&BasicAuthTransport{Username: "admin", Password: "nope"}, 30*time.Second))
	if _, err := wrong.Myself(t.Context()); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong password: %v", err)
	}
	// PATs do not exist before 8.14.
	fj7, base7 := emulator(t, "8.13.0", "")
	if _, err := fj7.CreatePAT("alice", "x"); err == nil {
		t.Error("8.13 minted a PAT")
	}
	old, _ := New(base7, NewHTTPClient(&BasicAuthTransport{Username: "admin", Password: "admin"}, 30*time.Second))
	if _, err := old.CreatePersonalAccessToken(t.Context(), "x", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("PAT on 8.13: %v", err)
	}
}

func TestEmulatorBasicAuthDisabledAndCaptcha(t *testing.T) {
	t.Parallel()
	_, base := emulator(t, "9.12.0", "", func(o *fakejira.Options) { o.DisableBasicAuth = true })
	c, _ := New(base, NewHTTPClient(&BasicAuthTransport{Username: "alice", Password: "alice"}, 30*time.Second))
	_, err := c.Myself(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindBasicAuthDisabled {
		t.Errorf("basic disabled: %v", err)
	}
	_, base2 := emulator(t, "9.12.0", "")
	wrong, _ := New(base2, NewHTTPClient(&BasicAuthTransport{Username: "bob", Password: "nope"}, 30*time.Second))
	for range 3 {
		_, _ = wrong.Myself(t.Context())
	}
	_, err = wrong.Myself(t.Context())
	if !errors.As(err, &e) || e.Kind != KindCaptcha {
		t.Errorf("after failed logins: %v", err)
	}
}

func TestEmulatorOAuth2(t *testing.T) {
	t.Parallel()
	fj, base := emulator(t, "9.12.0", "")
	const redirect = "https://bridge.example.com/oauth2/callback"
	client, err := fj.RegisterOAuth2Client("asanajira", []string{redirect}, []string{"WRITE"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := OAuth2Config(base, client.ClientID, client.ClientSecret, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(cfg.Endpoint.TokenURL, "/jira/rest/oauth2/latest/token") {
		t.Errorf("token URL %s", cfg.Endpoint.TokenURL)
	}
	// The consent step needs a browser; the emulator's admin twin of it is
	// not exported, so only the endpoints and an invalid code are checked.
	ctx := OAuth2Context(t.Context(), nil, redirect)
	if _, err := cfg.Exchange(ctx, "bad-code"); err == nil {
		t.Error("exchange of a bad code succeeded")
	}
}

func TestEmulatorCreateMetaProfiles(t *testing.T) {
	t.Parallel()
	for _, v := range fakejira.Versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			fj, base := emulator(t, v, "")
			admin, _ := New(base, NewHTTPClient(&BasicAuthTransport{Username: "admin", Password: "admin"}, 30*time.Second), fastRetries())
			info, err := admin.ServerInfo(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			ver := info.ParsedVersion()
			if ver.String() != v {
				t.Errorf("version %s, want %s", ver, v)
			}
			_ = fj
			ps, err := admin.Projects(t.Context())
			if err != nil || len(ps) == 0 {
				t.Fatalf("Projects = %v, %v", ps, err)
			}
			key := ps[0].Key
			types, err := admin.CreateIssueTypes(t.Context(), ver, key)
			if err != nil || len(types) == 0 {
				t.Fatalf("CreateIssueTypes = %v, %v", types, err)
			}
			fields, err := admin.CreateFields(t.Context(), ver, key, types[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			var summary *CreateField
			for i := range fields {
				if fields[i].ID == "summary" {
					summary = &fields[i]
				}
			}
			if summary == nil || !summary.Required || summary.Schema.Type != "string" {
				t.Errorf("summary field = %+v in %d fields", summary, len(fields))
			}
			// With an unknown version the client finds its way too.
			if _, err := admin.CreateFields(t.Context(), Version{}, key, types[0].ID); err != nil {
				t.Errorf("unknown version: %v", err)
			}
			// The endpoints the version lacks answer 404.
			if !ver.Features().LegacyCreateMeta {
				if _, err := admin.LegacyCreateMeta(t.Context(), key); !errors.Is(err, ErrNotFound) {
					t.Errorf("legacy createmeta on %s: %v", v, err)
				}
			}
			if !ver.Features().PaginatedCreateMeta {
				if _, err := collect(admin.CreateMetaIssueTypesIter(t.Context(), key)); !errors.Is(err, ErrNotFound) {
					t.Errorf("paginated createmeta on %s: %v", v, err)
				}
			}
		})
	}
}
