package jira

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/tlstest"
)

// A Jira behind a private CA: without its certificate in the CA bundle the
// call fails with a hint naming the CA bundle; with it the client works;
// another CA's certificate does not help; a certificate for another host
// name is told apart.
func TestPrivateCA(t *testing.T) {
	t.Parallel()
	fj, err := fakejira.New(fakejira.Options{OnUnknownRoute: func(m, p string) { t.Errorf("emulator: no route for %s %s", m, p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fj.Close)
	ca := tlstest.NewCA(t, "Example Corp Private CA")
	hs := ca.NewServer(t, fj)
	base := hs.URL + "/jira"
	tok, err := fj.CreatePAT("alice", "tls")
	if err != nil {
		t.Fatal(err)
	}
	client := func(t *testing.T, base string, opts TransportOptions) *Client {
		t.Helper()
		tr, err := NewTransport(base, opts)
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(base, NewHTTPClient(&BearerTransport{Token: tok, Base: tr}, 10*time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	u, _ := url.Parse(hs.URL)

	tests := []struct {
		name     string
		base     string
		opts     TransportOptions
		wantHint string // "" means the call succeeds
	}{
		{"no CA bundle", base, TransportOptions{}, "paste that CA's certificate (PEM) as the server's CA bundle"},
		{"another CA's bundle", base, TransportOptions{CABundlePEM: tlstest.NewCA(t, "Other CA").PEM}, "paste that CA's certificate (PEM) as the server's CA bundle"},
		{"the CA's bundle", base, TransportOptions{CABundlePEM: ca.PEM}, ""},
		{"the CA's bundle, another host name", "https://jira.example.com:" + u.Port() + "/jira",
			TransportOptions{CABundlePEM: ca.PEM, ConnectAddress: u.Host}, "not valid for this host name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := client(t, tc.base, tc.opts)
			me, err := c.Myself(t.Context())
			if tc.wantHint == "" {
				if err != nil {
					t.Fatal(err)
				}
				if me.Name != "alice" {
					t.Errorf("myself = %q", me.Name)
				}
				created, err := c.CreateIssue(t.Context(), IssueInput{Fields: map[string]any{
					"project": map[string]any{"key": "DEMO"}, "issuetype": map[string]any{"name": "Task"}, "summary": "over a private CA"}})
				if err != nil || !strings.HasPrefix(created.Key, "DEMO-") {
					t.Fatalf("create issue: %v %+v", err, created)
				}
				return
			}
			var je *Error
			if !errors.As(err, &je) || je.Kind != KindNetwork {
				t.Fatalf("err = %v, want a network *Error", err)
			}
			if !strings.Contains(je.Hint(), tc.wantHint) || !strings.Contains(err.Error(), tc.wantHint) {
				t.Errorf("error %q lacks the hint %q", err, tc.wantHint)
			}
		})
	}
}

// A CA bundle without any certificate is refused when the transport is
// built, not at the first call.
func TestCABundleWithoutCertificate(t *testing.T) {
	t.Parallel()
	for _, bundle := range []string{"not PEM", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := NewTransport("https://jira.example.com", TransportOptions{CABundlePEM: []byte(bundle)}); err == nil || !strings.Contains(err.Error(), "CA bundle") {
			t.Errorf("%q: err = %v", bundle, err)
		}
	}
}

// A refused certificate is not retried: it would be refused again, and the
// user would wait through the backoff for the same answer.
func TestRefusedCertificateIsNotRetried(t *testing.T) {
	t.Parallel()
	fj, err := fakejira.New(fakejira.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fj.Close)
	hs := tlstest.NewCA(t, "Unknown CA").NewServer(t, fj)
	c, err := New(hs.URL+"/jira", nil, WithRetryPolicy(RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	sleeps := 0
	c.sleep = func(context.Context, time.Duration) error { sleeps++; return nil }
	if _, err := c.ServerInfo(t.Context()); err == nil {
		t.Fatal("an unknown CA was trusted")
	}
	if sleeps != 0 {
		t.Errorf("retried %d times", sleeps)
	}
}
