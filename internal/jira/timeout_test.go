package jira

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// NewHTTPClient's timeout bounds a call whose answer does not come, and
// one whose body stops half-way, as http.Client.Timeout did.
func TestNewHTTPClientTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	hc := NewHTTPClient(&BearerTransport{Token: "t"}, 100*time.Millisecond)

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/headers", nil)
	if _, err := hc.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled answer: %v, want a deadline error", err)
	}

	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/body", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled body: %v, want a deadline error", err)
	}

	// A context that ends sooner is the bound: with the client's own
	// timeout an hour away, only the context can end this call.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/headers", nil)
	if _, err := NewHTTPClient(&BearerTransport{Token: "t"}, time.Hour).Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context deadline: %v", err)
	}
}

// A finished call leaves nothing running: its deadline ends with its body.
func TestNewHTTPClientEndsDeadlineWithBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") }))
	t.Cleanup(srv.Close)
	var seen context.Context
	rt := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.Context()
		return http.DefaultTransport.RoundTrip(r)
	})
	hc := NewHTTPClient(rt, time.Minute)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := seen.Deadline(); !ok {
		t.Fatal("the transport saw no deadline")
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if seen.Err() == nil {
		t.Error("the deadline's timer outlived the call")
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
