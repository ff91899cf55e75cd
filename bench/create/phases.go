package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/bridge"
)

// phases is -phases: how long each step of the bridge's requests took
// (bridge.PhaseRecorder, through the requests' contexts), each request the
// bridge served (its path; the webhook Jira delivers inside `POST /issue`
// among them) and each direct call, while on.
type phases struct {
	on    atomic.Bool
	mu    sync.Mutex
	took  map[string][]time.Duration
	order []string
}

func newPhases() *phases { return &phases{took: map[string][]time.Duration{}} }

// Phase implements bridge.PhaseRecorder.
func (p *phases) Phase(_ context.Context, name string, d time.Duration) { p.add("bridge "+name, d) }

func (p *phases) add(name string, d time.Duration) {
	if !p.on.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.took[name]; !ok {
		p.order = append(p.order, name)
	}
	p.took[name] = append(p.took[name], d)
}

// wrapBridge times every request the bridge serves and has the create's
// steps reported.
func (p *phases) wrapBridge(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r.WithContext(bridge.WithPhases(r.Context(), p)))
		p.add("serve "+r.Method+" "+generalise(r.URL.Path), time.Since(start))
	})
}

// wrapDirect times each call of the baseline.
func (p *phases) wrapDirect(c *http.Client) {
	base := c.Transport
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := base.RoundTrip(r)
		if err == nil {
			// The answer's headers are in: what the call costs the
			// caller before it reads the body.
			p.add("direct "+r.Method+" "+anyID.ReplaceAllString(generalise(r.URL.Path), "/{id}$1"), time.Since(start))
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// print writes one line a step: how many, p50 and mean, in milliseconds.
func (p *phases) print(out io.Writer, label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, name := range p.order {
		r := harness.ResultOf(p.took[name])
		fmt.Fprintf(out, "phases: %s %-40s n=%d p50_ms=%.3f mean_ms=%.3f\n", label, name, r.N,
			ms(r.P50), ms(r.Elapsed/time.Duration(r.N)))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
