package asanaintake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/store"
)

// createTimeout bounds the creation of one webhook, handshake included;
// the handshake is accepted for as long.
const createTimeout = 30 * time.Second

// hookFilters are the events a project's webhook delivers: those of tasks
// and their stories (comments, system stories), nothing else.
var hookFilters = []asana.WebhookFilter{{ResourceType: "task"}, {ResourceType: "story"}}

// RepairResult says what one repair pass did.
type RepairResult struct {
	// Created counts webhooks created (the first time or again);
	// Recreated those of them that replaced one Asana deleted.
	Created, Recreated int
	// Deleted counts webhooks removed: of projects no longer synced, or
	// all of them outside webhooks mode.
	Deleted int
	// Failing counts webhooks Asana reports failing deliveries for.
	Failing int
	// Failed counts webhooks that could not be created.
	Failed int
}

// RepairWebhooks keeps one live Asana webhook per project that holds synced
// tasks (webhooks mode): it creates the missing ones, creates again those
// Asana deleted (after 24 hours of failed deliveries, or by hand) and
// records the health Asana reports; it deletes the webhooks of projects no
// longer synced. Outside webhooks mode it deletes every webhook it made.
// The asana_webhooks job calls it periodically.
func (in *Intake) RepairWebhooks(ctx context.Context) (RepairResult, error) {
	var res RepairResult
	now := in.cfg.Now()
	hooks, err := in.st.ListAsanaWebhooks(ctx)
	if err != nil {
		return res, wrap("webhooks", err)
	}
	b, err := in.loadBudget(ctx, now)
	if err != nil {
		return res, err
	}
	defer func() {
		if ferr := b.flush(ctx, in.st); ferr != nil {
			in.log.LogAttrs(ctx, slog.LevelWarn, "could not count the webhook requests", slog.Any("error", ferr))
		}
	}()
	want := map[string]store.AsanaProjectSync{}
	if in.cfg.Mode == ModeWebhooks {
		// New links' projects are learnt here too, so a pass right after
		// the start makes their webhooks without waiting for a tick.
		mapped, _, err := in.mapTasks(ctx, b, now)
		if err != nil {
			return res, err
		}
		if err := in.refresh(ctx, mapped > 0, now); err != nil {
			return res, err
		}
		ps, err := in.st.ListAsanaProjects(ctx)
		if err != nil {
			return res, wrap("projects", err)
		}
		for _, p := range ps {
			want[p.ProjectGID] = p
		}
	}
	have := map[string]store.AsanaWebhook{}
	var errs []error
	for _, h := range hooks {
		if _, ok := want[h.ProjectGID]; !ok {
			if err := in.deleteHook(ctx, b, h); err != nil {
				errs = append(errs, err)
				continue
			}
			res.Deleted++
			continue
		}
		have[h.ProjectGID] = h
	}
	if err := in.checkHealth(ctx, b, have, &res, now); err != nil {
		errs = append(errs, err)
	}
	for gid, p := range want {
		h, ok := have[gid]
		if ok && h.State == store.AsanaWebhookActive {
			continue
		}
		if ok && h.State == store.AsanaWebhookPending && now.Before(h.PendingUntil) {
			continue // being created by another pass
		}
		created, err := in.createHook(ctx, b, p, h, ok, now)
		switch {
		case err != nil:
			errs = append(errs, err)
		case created && ok && h.WebhookGID != "":
			res.Created++
			res.Recreated++
		case created:
			res.Created++
		default:
			res.Failed++
		}
	}
	return res, errors.Join(errs...)
}

// checkHealth reads the health of the active webhooks, one list per
// workspace and token: a webhook missing from Asana's list was deleted and
// is marked failed (created again below); a failing one keeps its error
// shown.
func (in *Intake) checkHealth(ctx context.Context, b *budget, have map[string]store.AsanaWebhook, res *RepairResult, now time.Time) error {
	type owner struct{ workspace, user string }
	groups := map[owner][]string{}
	for gid, h := range have {
		if h.State == store.AsanaWebhookActive && h.WebhookGID != "" {
			k := owner{h.WorkspaceGID, h.TokenUser}
			groups[k] = append(groups[k], gid)
		}
	}
	var errs []error
	for k, projects := range groups {
		health, err := in.listHooks(ctx, b, k.user, k.workspace, now)
		if err != nil {
			// Unknown health is not a deletion: try again next pass.
			errs = append(errs, err)
			continue
		}
		for _, gid := range projects {
			h := have[gid]
			w, alive := health[h.WebhookGID]
			h.LastCheckedAt = now
			switch {
			case !alive:
				h.State, h.LastError, h.LastErrorAt = store.AsanaWebhookFailed, "Asana deleted the webhook", now
				in.log.LogAttrs(ctx, slog.LevelWarn, "an Asana webhook is gone; creating it again", slog.String("project", gid),
					slog.String("webhook", h.WebhookGID))
			case w.FailureDeletionTimestamp != "" || (w.LastFailureAt != "" && w.LastFailureAt > w.LastSuccessAt):
				res.Failing++
				h.LastError, h.LastErrorAt = fmt.Sprintf("Asana cannot deliver to %s (%s); it deletes the webhook at %s unless a delivery succeeds",
					h.Target, w.LastFailureContent, w.FailureDeletionTimestamp), now
			default:
				h.LastError, h.LastErrorAt = "", time.Time{}
			}
			if err := in.st.PutAsanaWebhook(ctx, h); err != nil {
				errs = append(errs, wrap("save webhook", err))
				continue
			}
			have[gid] = h
		}
	}
	return errors.Join(errs...)
}

// listHooks lists the webhooks user made in workspace, by gid.
func (in *Intake) listHooks(ctx context.Context, b *budget, user, workspace string, now time.Time) (map[string]asana.Webhook, error) {
	c, err := in.cfg.Clients.Asana(ctx, user)
	if err != nil {
		return nil, wrap("webhook health", err)
	}
	out := map[string]asana.Webhook{}
	for w, err := range c.Webhooks(ctx, workspace, "") {
		if err != nil {
			in.countRequest("webhooks", err)
			if errors.Is(err, asana.ErrRateLimited) {
				in.pauseFor(ctx, b, user, err, now)
			}
			return nil, wrap("webhook health", err)
		}
		out[w.GID] = w
	}
	b.charge(user, 1+len(out)/100, now)
	in.countRequest("webhooks", nil)
	return out, nil
}

// createHook creates a project's webhook. The record is pending (with no
// secret) while Asana's create call runs, so the receiver accepts that
// handshake and no other; no transaction is held meanwhile, as the
// handshake writes the secret from another request. It reports whether the
// webhook was created; a failure is recorded on the webhook and the project
// keeps being polled at the events interval.
func (in *Intake) createHook(ctx context.Context, b *budget, p store.AsanaProjectSync, old store.AsanaWebhook, existed bool, now time.Time) (bool, error) {
	users, err := in.st.AsanaProjectUsers(ctx, p.ProjectGID, p.WorkspaceGID)
	if err != nil {
		return false, wrap("project users", err)
	}
	user, _ := b.pick(users, old.TokenUser, now)
	if user == "" {
		return false, nil // no usable token now: next pass
	}
	c, err := in.cfg.Clients.Asana(ctx, user)
	if err != nil {
		b.refund(user)
		return false, nil
	}
	if existed && old.WebhookGID != "" {
		// Whatever is left of the old one goes first: one webhook per
		// project, and its secret is replaced.
		if err := in.deleteRemote(ctx, b, old); err != nil {
			in.log.LogAttrs(ctx, slog.LevelWarn, "could not delete an old Asana webhook", slog.String("project", p.ProjectGID),
				slog.Any("error", err))
		}
	}
	h := store.AsanaWebhook{ProjectGID: p.ProjectGID, WorkspaceGID: p.WorkspaceGID, Target: in.Target(p.ProjectGID),
		State: store.AsanaWebhookPending, PendingUntil: now.Add(createTimeout), TokenUser: user,
		LastDeliveryAt: old.LastDeliveryAt, LastHeartbeatAt: old.LastHeartbeatAt, Recreated: old.Recreated}
	if existed && old.WebhookGID != "" {
		h.Recreated++
	}
	if err := in.st.PutAsanaWebhook(ctx, h); err != nil {
		return false, wrap("save webhook", err)
	}
	cctx, cancel := context.WithTimeout(ctx, createTimeout)
	w, err := c.CreateWebhook(cctx, p.ProjectGID, h.Target, hookFilters)
	cancel()
	in.countRequest("webhooks", err)
	now = in.cfg.Now()
	if err != nil {
		if errors.Is(err, asana.ErrRateLimited) {
			in.pauseFor(ctx, b, user, err, now)
		}
		h.State, h.PendingUntil, h.LastError, h.LastErrorAt = store.AsanaWebhookFailed, time.Time{}, "creating the webhook failed: "+err.Error(), now
		in.log.LogAttrs(ctx, slog.LevelWarn, "could not create an Asana webhook", slog.String("project", p.ProjectGID),
			slog.String("target", h.Target), slog.Any("error", err))
		return false, wrap("save webhook", in.st.PutAsanaWebhook(ctx, h))
	}
	secret := store.Secret(w.Secret)
	if secret == "" {
		// The create answer carried no secret: the handshake's is stored.
		saved, err := in.st.GetAsanaWebhook(ctx, p.ProjectGID)
		if err != nil {
			return false, wrap("webhook", err)
		}
		secret = saved.Secret
	}
	h.WebhookGID, h.Secret, h.State, h.PendingUntil = w.GID, secret, store.AsanaWebhookActive, time.Time{}
	h.LastError, h.LastErrorAt, h.LastCheckedAt = "", time.Time{}, now
	if secret == "" {
		h.State, h.LastError, h.LastErrorAt = store.AsanaWebhookFailed, "Asana created the webhook without a handshake secret", now
	}
	if err := in.st.PutAsanaWebhook(ctx, h); err != nil {
		return false, wrap("save webhook", err)
	}
	if h.State != store.AsanaWebhookActive {
		return false, nil
	}
	// From now on the events stream is reconciliation: polled rarely.
	p.NextPollAt = now.Add(in.cfg.ReconcileEvery)
	if p.LastPollAt.IsZero() {
		p.NextPollAt = now // the first poll takes the sync token and compares every link
	}
	p.IdleLevel = 0
	if err := ignoreGone(in.st.SaveAsanaProject(ctx, p)); err != nil {
		return true, wrap("save project", err)
	}
	in.log.LogAttrs(ctx, slog.LevelInfo, "Asana webhook created", slog.String("project", p.ProjectGID), slog.String("webhook", w.GID))
	return true, nil
}

// deleteHook deletes a webhook at Asana and its record.
func (in *Intake) deleteHook(ctx context.Context, b *budget, h store.AsanaWebhook) error {
	if err := in.deleteRemote(ctx, b, h); err != nil {
		return err
	}
	return wrap("delete webhook", in.st.DeleteAsanaWebhook(ctx, h.ProjectGID))
}

// deleteRemote deletes a webhook at Asana; one already gone is fine.
func (in *Intake) deleteRemote(ctx context.Context, b *budget, h store.AsanaWebhook) error {
	if h.WebhookGID == "" || h.TokenUser == "" {
		return nil
	}
	c, err := in.cfg.Clients.Asana(ctx, h.TokenUser)
	if err != nil {
		return nil // its token is gone, and with it the webhook's owner
	}
	err = c.DeleteWebhook(ctx, h.WebhookGID)
	b.charge(h.TokenUser, 1, in.cfg.Now())
	in.countRequest("webhooks", err)
	if err != nil && !errors.Is(err, asana.ErrNotFound) {
		return wrap("delete webhook of project "+h.ProjectGID, err)
	}
	return nil
}
