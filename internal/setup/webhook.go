package setup

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// webhookEvents are the Jira events asanajira subscribes to.
var webhookEvents = []string{
	jira.EventIssueCreated, jira.EventIssueUpdated, jira.EventIssueDeleted,
	jira.EventCommentCreated, jira.EventCommentUpdated, jira.EventCommentDeleted,
}

// wantedWebhook is the registration asanajira needs in Jira for srv.
func (s *Service) wantedWebhook(srv store.JiraServer) jira.Webhook {
	hookURL, secretInURL := s.WebhookURL(srv, true)
	hook := jira.Webhook{Name: s.LinkName(), URL: hookURL, Events: webhookEvents, Enabled: true}
	if !secretInURL {
		// Only Jira 10+ documents the secret field (HMAC X-Hub-Signature);
		// older releases get the secret in the URL instead.
		hook.Secret = srv.WebhookSecret.Reveal()
	}
	return hook
}

// ours reports whether a registered webhook points at srv's receiver.
func (s *Service) ours(srv store.JiraServer, h jira.Webhook) bool {
	stored, _ := s.WebhookURL(srv, false)
	return trimQuery(h.URL) == stored
}

// sound reports whether a registered webhook of ours delivers what
// asanajira needs: the right URL (with the right secret before 10.0),
// enabled, every event, with the body.
func sound(want, h jira.Webhook) bool {
	if h.URL != want.URL || !h.Enabled || h.ExcludeBody {
		return false
	}
	for _, jql := range h.Filters {
		if jql != "" {
			return false // a JQL filter would hide events of some issues
		}
	}
	got := slices.Clone(h.Events)
	slices.Sort(got)
	need := slices.Clone(want.Events)
	slices.Sort(need)
	return slices.Equal(got, need)
}

// ensureWebhook leaves exactly one sound webhook of ours in Jira: it keeps
// a sound one, removes the others pointing at asanajira's receiver, and
// registers one when none is sound. It reports the failed step and whether
// it changed anything.
func (s *Service) ensureWebhook(ctx context.Context, cl *jira.Client, srv *store.JiraServer) (step string, changed bool, err error) {
	want := s.wantedWebhook(*srv)
	hooks, err := cl.Webhooks(ctx)
	if err != nil {
		return "list webhooks", false, err
	}
	kept := false
	for _, h := range hooks {
		if !s.ours(*srv, h) {
			continue
		}
		if !kept && sound(want, h) {
			kept = true
			continue
		}
		if err := cl.DeleteWebhook(ctx, h.ID()); err != nil && !errors.Is(err, jira.ErrNotFound) {
			return "remove the previous webhook", changed, err
		}
		changed = true
	}
	if !kept {
		if _, err := cl.CreateWebhook(ctx, want); err != nil {
			return "register the webhook", changed, err
		}
		changed = true
	}
	srv.WebhookURL, _ = s.WebhookURL(*srv, false)
	return "", changed, nil
}

// WebhookRepair is what RepairWebhook did.
type WebhookRepair struct {
	Server store.JiraServer
	// Changed is false when Jira already had exactly the webhook needed.
	Changed bool
}

// RepairWebhook makes Jira's webhook registration right with a Jira
// administrator's credentials: one enabled webhook to asanajira's receiver
// with every event asanajira needs. It changes nothing when that is so.
func (s *Service) RepairWebhook(ctx context.Context, actor Actor, id string, admin JiraAdmin) (WebhookRepair, error) {
	if err := need(actor); err != nil {
		return WebhookRepair{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return WebhookRepair{Server: srv}, err
	}
	if !admin.Given() {
		return WebhookRepair{Server: srv}, errNoJiraAdmin
	}
	cl, err := s.jiraClient(&srv, admin.wrap)
	if err != nil {
		return WebhookRepair{Server: srv}, err
	}
	info, err := cl.ServerInfo(ctx)
	if err != nil {
		return WebhookRepair{Server: srv}, stepFailed("read server info", err)
	}
	srv.Version = info.ParsedVersion().String()
	before := srv.WebhookURL
	step, changed, err := s.ensureWebhook(ctx, cl, &srv)
	if err != nil {
		return WebhookRepair{Server: srv}, stepFailed(step, err)
	}
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return WebhookRepair{Server: srv}, fmt.Errorf("setup: webhook: %w", err)
	}
	if !changed && before == srv.WebhookURL {
		return WebhookRepair{Server: srv}, nil
	}
	detail := "webhook at " + srv.WebhookURL + " registered"
	if !changed {
		detail = "webhook at " + srv.WebhookURL + " found registered in Jira"
	}
	return WebhookRepair{Server: srv, Changed: true},
		s.audit(ctx, actor, "server.webhook_repair", srv.ID, detail+", as "+admin.who()+"; the credentials were not kept")
}

// CheckWebhook reports, with a Jira administrator's credentials, whether
// Jira has exactly the webhook asanajira needs, changing nothing.
func (s *Service) CheckWebhook(ctx context.Context, srv store.JiraServer, admin JiraAdmin) (bool, error) {
	if !admin.Given() {
		return false, errNoJiraAdmin
	}
	cl, err := s.jiraClient(&srv, admin.wrap)
	if err != nil {
		return false, err
	}
	hooks, err := cl.Webhooks(ctx)
	if err != nil {
		return false, stepFailed("list webhooks", err)
	}
	want := s.wantedWebhook(srv)
	n, good := 0, false
	for _, h := range hooks {
		if s.ours(srv, h) {
			n++
			good = good || sound(want, h)
		}
	}
	return n == 1 && good, nil
}

// removeWebhooks deletes every webhook pointing at srv's receiver and
// reports how many went.
func (s *Service) removeWebhooks(ctx context.Context, cl *jira.Client, srv store.JiraServer) (int, error) {
	hooks, err := cl.Webhooks(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hooks {
		if !s.ours(srv, h) {
			continue
		}
		if err := cl.DeleteWebhook(ctx, h.ID()); err != nil && !errors.Is(err, jira.ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}
