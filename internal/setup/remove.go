package setup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Removal is what RemoveServer did, and what it left in Jira for an admin
// to remove by hand.
type Removal struct {
	Server store.JiraServer
	// Undone lists what was removed from Jira.
	Undone []string
	// LeftInJira lists what exists in Jira and must be removed by hand,
	// each with where to find it.
	LeftInJira []string
}

// RemoveServer removes a server and, through the database's cascades, its
// connections, routes, users' Jira authorizations and links. With a Jira
// administrator's credentials it first removes from Jira what asanajira
// made there and only that: the application link it created, the webhook
// it registered. A failure in Jira stops before anything is removed, so
// the removal can be tried again. What exists in Jira and could not be
// removed (no credentials, a link made by hand) is listed.
func (s *Service) RemoveServer(ctx context.Context, actor Actor, id string, admin JiraAdmin) (Removal, error) {
	if err := need(actor); err != nil {
		return Removal{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return Removal{Server: srv}, err
	}
	rm := Removal{Server: srv}
	links := srv.BaseURL + "/plugins/servlet/applinks/listApplicationLinks"
	hooks := srv.BaseURL + "/plugins/servlet/webhooks"
	if admin.Given() {
		cl, err := s.jiraClient(&srv, admin.wrap)
		if err != nil {
			return rm, err
		}
		if srv.AppLinkID != "" && srv.AppLinkID != ManualLinkID {
			err := cl.DeleteAppLink(ctx, srv.AppLinkID)
			switch {
			case err == nil:
				rm.Undone = append(rm.Undone, "the application link "+s.LinkName())
			case errors.Is(err, jira.ErrNotFound):
				// Gone already: nothing to undo.
			default:
				return rm, stepFailed("remove the application link", err)
			}
		}
		if srv.WebhookURL != "" {
			n, err := s.removeWebhooks(ctx, cl, srv)
			if err != nil {
				return rm, stepFailed("remove the webhook", err)
			}
			if n > 0 {
				rm.Undone = append(rm.Undone, "the webhook "+srv.WebhookURL)
			}
		}
	} else {
		if srv.AppLinkID != "" && srv.AppLinkID != ManualLinkID {
			rm.LeftInJira = append(rm.LeftInJira, "the application link "+s.LinkName()+" (Administration → Applications → Application links, "+links+")")
		}
		if srv.WebhookURL != "" {
			rm.LeftInJira = append(rm.LeftInJira, "the webhook "+s.LinkName()+" (Administration → System → WebHooks, "+hooks+")")
		}
	}
	if srv.AppLinkID == ManualLinkID {
		rm.LeftInJira = append(rm.LeftInJira, "the application link made by hand for consumer key "+srv.ConsumerKey+" (Administration → Applications → Application links, "+links+")")
	}
	if err := s.st.DeleteJiraServer(ctx, srv.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return rm, notFound("No Jira server %q; it may have been removed.", id)
		}
		return rm, fmt.Errorf("setup: remove server: %w", err)
	}
	detail := srv.Name + " at " + srv.BaseURL
	if len(rm.Undone) > 0 {
		detail += "; removed from Jira: " + strings.Join(rm.Undone, ", ") + " (as " + admin.who() + "; the credentials were not kept)"
	}
	if len(rm.LeftInJira) > 0 {
		detail += "; left in Jira: " + strings.Join(rm.LeftInJira, ", ")
	}
	return rm, s.audit(ctx, actor, "server.delete", srv.ID, detail)
}
