package asana

import (
	"context"
	"sync"
	"time"
)

// LimiterOptions size a Limiter; zero fields take the defaults.
type LimiterOptions struct {
	// Reads and Writes cap concurrent GETs and other requests. Asana allows
	// 50 and 15 per token; the defaults are those numbers.
	Reads  int
	Writes int
	// PerMinute is the request quota per minute (default 1400, under the 1500
	// of paid workspaces; use 140 for free ones). Burst is how many requests
	// may go at once after a quiet spell (default PerMinute/10).
	PerMinute int
	Burst     int
}

// Limiter keeps one Asana token within its quotas: a concurrency cap for
// reads and one for writes, a token bucket for the per-minute quota, and a
// pause for everyone after a 429's Retry-After. Share one Limiter among all
// Clients of the same token (WithLimiter).
//
// Interactive requests come first: a call whose context is marked
// Background (a job) takes from the bucket only while more than half the
// burst is left, so background work, however much is queued, never makes a
// user's request wait for quota; it waits itself instead.
type Limiter struct {
	reads  chan struct{}
	writes chan struct{}

	mu          sync.Mutex
	tokens      float64
	burst       float64
	reserve     float64 // tokens background calls leave to interactive ones
	perSecond   float64
	last        time.Time
	pausedUntil time.Time
	now         func() time.Time
}

// NewLimiter returns a Limiter.
func NewLimiter(o LimiterOptions) *Limiter {
	if o.Reads <= 0 {
		o.Reads = 50
	}
	if o.Writes <= 0 {
		o.Writes = 15
	}
	if o.PerMinute <= 0 {
		o.PerMinute = 1400
	}
	if o.Burst <= 0 {
		o.Burst = max(1, o.PerMinute/10)
	}
	return &Limiter{
		reads:     make(chan struct{}, o.Reads),
		writes:    make(chan struct{}, o.Writes),
		tokens:    float64(o.Burst),
		burst:     float64(o.Burst),
		reserve:   float64(o.Burst / 2),
		perSecond: float64(o.PerMinute) / 60,
		now:       time.Now,
	}
}

// acquire waits for quota and a concurrency slot; release frees the slot.
func (l *Limiter) acquire(ctx context.Context, write bool) (release func(), err error) {
	if err := l.take(ctx); err != nil {
		return nil, err
	}
	sem := l.reads
	if write {
		sem = l.writes
	}
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type backgroundKey struct{}

// Background marks ctx as background work: its Asana calls yield the
// token's quota to interactive requests (see Limiter).
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// take removes one token from the bucket, waiting as needed. A background
// call needs the interactive reserve left over besides its own token.
func (l *Limiter) take(ctx context.Context) error {
	need := 1.0
	if IsBackground(ctx) {
		need += l.reserve
	}
	for {
		l.mu.Lock()
		now := l.now()
		if !l.last.IsZero() {
			l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.perSecond)
		}
		l.last = now
		var wait time.Duration
		switch {
		case now.Before(l.pausedUntil):
			wait = l.pausedUntil.Sub(now)
		case l.tokens >= need:
			l.tokens--
			l.mu.Unlock()
			return nil
		default:
			wait = time.Duration((need - l.tokens) / l.perSecond * float64(time.Second))
		}
		l.mu.Unlock()
		if err := sleepCtx(ctx, max(wait, time.Millisecond)); err != nil {
			return err
		}
	}
}

// pause holds every request of the token for d (a 429's Retry-After).
func (l *Limiter) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
}
