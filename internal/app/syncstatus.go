package app

import (
	"context"

	"github.com/asanajira/asanajira/internal/admin"
	"github.com/asanajira/asanajira/internal/asanaintake"
	"github.com/asanajira/asanajira/internal/store"
)

// intakeStatus shows the Asana intake's status on the console's Sync page:
// the console, an HTTP edge, does not import the intake, another one.
type intakeStatus struct{ in *asanaintake.Intake }

func (s intakeStatus) Status(ctx context.Context) (admin.IntakeStatus, error) {
	st, err := s.in.Status(ctx)
	if err != nil {
		return admin.IntakeStatus{}, err
	}
	hooks := make(map[string]store.AsanaWebhook, len(st.Webhook))
	for _, h := range st.Webhook {
		hooks[h.ProjectGID] = h
	}
	b, wh := st.Budget, st.Webhooks
	out := admin.IntakeStatus{Mode: st.Mode, PollInterval: st.PollInterval, MaxIdleInterval: st.MaxIdleInterval,
		ReconcileEvery: st.ReconcileEvery, Active: st.Active, Idle: st.Idle, Due: st.Due,
		LastPollAt: st.LastPollAt, LastEventAt: st.LastEventAt,
		Budget: admin.IntakeBudget{TokenBudget: b.TokenBudget, Tokens: b.Tokens, PausedTokens: b.PausedTokens,
			LimitPerMinute: b.LimitPerMinute, UsedThisMinute: b.UsedThisMinute,
			DemandPerMinute: b.DemandPerMinute, FixedDemandPerMinute: b.FixedDemandPerMinute},
		Webhooks: admin.IntakeWebhooks{Active: wh.Active, Pending: wh.Pending, Failed: wh.Failed, Failing: wh.Failing,
			LastDeliveryAt: wh.LastDeliveryAt, LastHeartbeatAt: wh.LastHeartbeatAt},
	}
	for _, p := range st.Projects {
		h := hooks[p.ProjectGID]
		h.Secret = "" // the page has no use for it
		out.Projects = append(out.Projects, admin.IntakeProject{ProjectGID: p.ProjectGID, WorkspaceGID: p.WorkspaceGID,
			Interval: p.Interval, Active: p.Active, NextPollAt: p.NextPollAt, LastPollAt: p.LastPollAt,
			LastEventAt: p.LastEventAt, Requests: p.Requests, LastError: p.LastError, LastErrorAt: p.LastErrorAt, Webhook: h})
	}
	return out, nil
}
