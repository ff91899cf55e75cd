package asanaintake

import (
	"context"
	"sort"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// Budget is the Asana intake's request budget, for the Sync page: what it
// may spend a minute over the connected users' tokens, what it spent in the
// current minute, and what its schedule asks for.
type Budget struct {
	// TokenBudget is what one token may spend a minute; Tokens how many
	// tokens the intake used in the last hour, PausedTokens how many are
	// held back by a 429 now.
	TokenBudget          int
	Tokens, PausedTokens int
	// LimitPerMinute is what all tokens together may spend a minute (the
	// global cap when lower).
	LimitPerMinute int
	// UsedThisMinute is what they spent since the minute began.
	UsedThisMinute int
	// DemandPerMinute is the requests a minute the current schedule asks
	// for: every project at its current interval. A fixed poll of every
	// project at the poll interval would ask FixedDemandPerMinute.
	DemandPerMinute      float64
	FixedDemandPerMinute float64
}

// ProjectStatus is one watched project, for the Sync page.
type ProjectStatus struct {
	ProjectGID   string
	WorkspaceGID string
	// Interval is how often it is polled now.
	Interval    time.Duration
	Active      bool
	NextPollAt  time.Time
	LastPollAt  time.Time
	LastEventAt time.Time
	TokenUser   string
	Requests    int64
	LastError   string
	LastErrorAt time.Time
	// Webhook is its webhook's state ("" in events mode or before one).
	Webhook string
}

// WebhookStatus counts the webhooks by state (webhooks mode).
type WebhookStatus struct {
	Active, Pending, Failed, Failing int
	LastDeliveryAt, LastHeartbeatAt  time.Time
}

// Status is the Asana intake as the Sync page shows it.
type Status struct {
	Mode            string
	PollInterval    time.Duration
	MaxIdleInterval time.Duration
	// ReconcileEvery is the poll interval of a project with a live webhook.
	ReconcileEvery time.Duration
	// Projects are the watched projects, those with an error first.
	Projects                []ProjectStatus
	Active, Idle, Due       int
	LastPollAt, LastEventAt time.Time
	Budget                  Budget
	Webhooks                WebhookStatus
	// Webhook lists every webhook record (webhooks mode).
	Webhook []store.AsanaWebhook
}

// Status reads the intake's state from the store, so every replica shows
// the same.
func (in *Intake) Status(ctx context.Context) (Status, error) {
	now := in.cfg.Now()
	st := Status{Mode: in.cfg.Mode, PollInterval: in.cfg.PollInterval, MaxIdleInterval: in.cfg.MaxIdleInterval,
		ReconcileEvery: in.cfg.ReconcileEvery}
	ps, err := in.st.ListAsanaProjects(ctx)
	if err != nil {
		return st, wrap("status", err)
	}
	hooks, err := in.st.ListAsanaWebhooks(ctx)
	if err != nil {
		return st, wrap("status", err)
	}
	hookState := map[string]string{}
	for _, h := range hooks {
		hookState[h.ProjectGID] = h.State
		switch {
		case h.State == store.AsanaWebhookActive && h.LastError != "":
			st.Webhooks.Failing++
		case h.State == store.AsanaWebhookActive:
			st.Webhooks.Active++
		case h.State == store.AsanaWebhookPending:
			st.Webhooks.Pending++
		default:
			st.Webhooks.Failed++
		}
		st.Webhooks.LastDeliveryAt = later(st.Webhooks.LastDeliveryAt, h.LastDeliveryAt)
		st.Webhooks.LastHeartbeatAt = later(st.Webhooks.LastHeartbeatAt, h.LastHeartbeatAt)
	}
	st.Webhook = hooks
	for _, p := range ps {
		hooked := hookState[p.ProjectGID] == store.AsanaWebhookActive && in.cfg.Mode == ModeWebhooks
		ivl := in.currentInterval(p, hooked, now)
		st.Projects = append(st.Projects, ProjectStatus{ProjectGID: p.ProjectGID, WorkspaceGID: p.WorkspaceGID, Interval: ivl,
			Active: p.IdleLevel == 0, NextPollAt: p.NextPollAt, LastPollAt: p.LastPollAt, LastEventAt: p.LastEventAt,
			TokenUser: p.TokenUser, Requests: p.Requests, LastError: p.LastError, LastErrorAt: p.LastErrorAt,
			Webhook: hookState[p.ProjectGID]})
		if p.IdleLevel == 0 {
			st.Active++
		} else {
			st.Idle++
		}
		if !p.NextPollAt.After(now) {
			st.Due++
		}
		st.LastPollAt = later(st.LastPollAt, p.LastPollAt)
		st.LastEventAt = later(st.LastEventAt, p.LastEventAt)
		st.Budget.DemandPerMinute += float64(time.Minute) / float64(ivl)
		st.Budget.FixedDemandPerMinute += float64(time.Minute) / float64(in.cfg.PollInterval)
	}
	sort.SliceStable(st.Projects, func(i, j int) bool {
		return st.Projects[i].LastError != "" && st.Projects[j].LastError == ""
	})
	b, err := in.Budget(ctx)
	if err != nil {
		return st, err
	}
	b.DemandPerMinute, b.FixedDemandPerMinute = st.Budget.DemandPerMinute, st.Budget.FixedDemandPerMinute
	st.Budget = b
	return st, nil
}

// Budget reads the request budget of the current minute.
func (in *Intake) Budget(ctx context.Context) (Budget, error) {
	now := in.cfg.Now()
	b, err := in.loadBudget(ctx, now)
	if err != nil {
		return Budget{}, err
	}
	limit, used := b.totals(now)
	out := Budget{TokenBudget: in.cfg.TokenBudget, LimitPerMinute: limit, UsedThisMinute: used}
	for _, u := range b.users {
		if now.Sub(u.lastUsed) < recentToken || u.used > 0 {
			out.Tokens++
		}
		if now.Before(u.paused) {
			out.PausedTokens++
		}
	}
	return out, nil
}

// currentInterval is how often a project is polled as things stand.
func (in *Intake) currentInterval(p store.AsanaProjectSync, hooked bool, now time.Time) time.Duration {
	switch {
	case hooked:
		return in.cfg.ReconcileEvery
	case p.IdleLevel == 0 || now.Before(p.ActiveUntil):
		return in.cfg.PollInterval
	}
	return in.interval(p.IdleLevel)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
