package asana

import (
	"math"
	"net/http"
	"time"
)

type rateLimitConfig struct {
	enabled             bool
	requests            int
	window              time.Duration
	maxReads, maxWrites int
}

// tokenRate is one token's quota state: the times of its admitted requests
// in the current window and its in-flight reads and writes.
type tokenRate struct {
	admitted      []time.Time
	reads, writes int
}

// admit applies Asana's per-token limits: a request quota per sliding window
// and caps on concurrent reads and writes. It returns a release func to call
// when the request ends, or limited with the Retry-After seconds.
func (s *Server) admit(token, method string) (release func(), retryAfter int, limited bool) {
	if !s.rateLimit.enabled {
		return func() {}, 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tr := s.st.rate[token]
	if tr == nil {
		tr = &tokenRate{}
		s.st.rate[token] = tr
	}
	now := s.clock()
	cut := now.Add(-s.rateLimit.window)
	i := 0
	for i < len(tr.admitted) && !tr.admitted[i].After(cut) {
		i++
	}
	tr.admitted = tr.admitted[i:]
	if len(tr.admitted) >= s.rateLimit.requests {
		wait := tr.admitted[0].Add(s.rateLimit.window).Sub(now)
		return nil, max(1, int(math.Ceil(wait.Seconds()))), true
	}
	read := method == http.MethodGet || method == http.MethodHead
	if read && tr.reads >= s.rateLimit.maxReads || !read && tr.writes >= s.rateLimit.maxWrites {
		// The wait covers in-flight requests finishing.
		return nil, 1, true
	}
	tr.admitted = append(tr.admitted, now)
	if read {
		tr.reads++
	} else {
		tr.writes++
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if read {
			tr.reads--
		} else {
			tr.writes--
		}
	}, 0, false
}

// InFlight returns how many requests of token are being served, for tests of
// the concurrency caps.
func (s *Server) InFlight(token string) (reads, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tr := s.st.rate[token]; tr != nil {
		return tr.reads, tr.writes
	}
	return 0, 0
}
