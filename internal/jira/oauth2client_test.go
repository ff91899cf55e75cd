package jira

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// CheckOAuth2Client tells a known client from an unknown one and from a
// Jira without an OAuth 2.0 provider, against the emulator.
func TestCheckOAuth2Client(t *testing.T) {
	t.Parallel()
	const redirect = "https://bridge.example/connect/oauth2/callback"
	fj, base := emulator(t, "9.12.0", "")
	client, err := fj.RegisterOAuth2Client("asanajira", []string{redirect}, []string{"WRITE"})
	if err != nil {
		t.Fatal(err)
	}
	_, old := emulator(t, "8.20.1", "")
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	hc := NewHTTPClient(http.DefaultTransport, 10*time.Second)
	tests := []struct {
		name             string
		base, id, secret string
		want             error // nil, or a sentinel errors.Is matches
		kind             ErrorKind
	}{
		{"known client", base, client.ClientID, client.ClientSecret, nil, 0},
		{"wrong secret", base, client.ClientID, "wrong", ErrUnauthorized, KindUnauthorized},
		{"unknown client", base, "nobody", "nothing", ErrUnauthorized, KindUnauthorized},
		{"no provider before 8.22", old, "any", "any", ErrNotFound, KindNotFound},
		{"Jira does not answer", downURL, "any", "any", nil, KindNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckOAuth2Client(t.Context(), hc, tt.base, tt.id, tt.secret, redirect)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var je *Error
			if !errors.As(err, &je) || je.Kind != tt.kind {
				t.Fatalf("err = %#v, want an *Error of kind %d", err, tt.kind)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			if je.Kind != KindNetwork && je.URL != tt.base+"/rest/oauth2/latest/token" {
				t.Errorf("error URL %q", je.URL)
			}
		})
	}
}
