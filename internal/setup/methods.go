package setup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// MethodOption is one user sign-in method and whether the server can
// offer it.
type MethodOption struct {
	Method store.AuthMethod `json:"method"`
	Label  string           `json:"label"`
	// Available says the server can offer it; Why says why not.
	Available bool   `json:"available"`
	Why       string `json:"why,omitempty"`
	// On says the server offers it now.
	On bool `json:"on"`
}

// MethodOptions lists the three sign-in methods for srv: OAuth 1.0a
// always, OAuth 2.0 on Data Center 8.22+ once its client is entered,
// personal access tokens from 8.14. An unknown version offers all.
func MethodOptions(srv store.JiraServer) []MethodOption {
	v, verr := jira.ParseVersion(srv.Version)
	known := verr == nil && srv.Version != ""
	f := v.Features()
	on := func(m store.AuthMethod) bool { return slices.Contains(srv.AuthMethods, m) }
	pat := MethodOption{Method: store.AuthPAT, Label: "Personal access token", Available: !known || f.PersonalAccessTokens, On: on(store.AuthPAT)}
	if !pat.Available {
		pat.Why = "Jira " + v.String() + " has no personal access tokens (8.14+)"
	}
	o2 := MethodOption{Method: store.AuthOAuth2, Label: "OAuth 2.0", On: on(store.AuthOAuth2),
		Available: (!known || f.OAuth2Provider) && srv.OAuth2ClientID != ""}
	switch {
	case known && !f.OAuth2Provider:
		o2.Why = "Jira " + v.String() + " has no OAuth 2.0 provider (8.22+ Data Center)"
	case srv.OAuth2ClientID == "":
		o2.Why = "enter the OAuth 2.0 client id and secret first"
	}
	return []MethodOption{
		{Method: store.AuthOAuth1, Label: "OAuth 1.0a (application link)", Available: true, On: on(store.AuthOAuth1)},
		o2, pat,
	}
}

// SetMethods sets which sign-in methods users are offered on a server.
func (s *Service) SetMethods(ctx context.Context, actor Actor, id string, methods []store.AuthMethod) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, err
	}
	opts := MethodOptions(srv)
	var chosen []store.AuthMethod
	for _, m := range methods {
		i := slices.IndexFunc(opts, func(o MethodOption) bool { return o.Method == m })
		if i < 0 {
			return srv, invalid("There is no sign-in method %q; choose from oauth1, oauth2 and pat.", m)
		}
		if !opts[i].Available {
			return srv, invalid("The sign-in method %q is not available on this server: %s.", m, opts[i].Why)
		}
		if !slices.Contains(chosen, m) {
			chosen = append(chosen, m)
		}
	}
	if len(chosen) == 0 {
		return srv, invalid("Offer at least one way for users to connect.")
	}
	if slices.Equal(chosen, srv.AuthMethods) {
		return srv, nil
	}
	srv.AuthMethods = chosen
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return srv, fmt.Errorf("setup: methods: %w", err)
	}
	return srv, s.audit(ctx, actor, "server.methods", srv.ID, joinMethods(chosen))
}

func joinMethods(ms []store.AuthMethod) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// SetOAuth2Client stores the client id and secret of an OAuth 2.0 incoming
// link after Jira's token endpoint confirmed it knows them, and offers
// OAuth 2.0 to users.
func (s *Service) SetOAuth2Client(ctx context.Context, actor Actor, id, clientID, clientSecret string) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, err
	}
	clientID, clientSecret = strings.TrimSpace(clientID), strings.TrimSpace(clientSecret)
	if clientID == "" || clientSecret == "" {
		return srv, invalid("Paste both the client ID and the client secret Jira showed for the incoming link.")
	}
	if err := s.checkOAuth2Client(ctx, srv, clientID, clientSecret); err != nil {
		if aerr := s.audit(ctx, actor, "server.oauth2_failed", srv.ID, err.Error()); aerr != nil {
			return srv, aerr
		}
		return srv, err
	}
	if clientID == srv.OAuth2ClientID && clientSecret == srv.OAuth2ClientSecret.Reveal() && slices.Contains(srv.AuthMethods, store.AuthOAuth2) {
		return srv, nil
	}
	srv.OAuth2ClientID, srv.OAuth2ClientSecret = clientID, store.Secret(clientSecret)
	if !slices.Contains(srv.AuthMethods, store.AuthOAuth2) {
		srv.AuthMethods = append(srv.AuthMethods, store.AuthOAuth2)
	}
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return srv, fmt.Errorf("setup: oauth2: %w", err)
	}
	return srv, s.audit(ctx, actor, "server.oauth2", srv.ID, "OAuth 2.0 client "+clientID+" saved; users may connect with OAuth 2.0")
}

// checkOAuth2Client asks Jira whether it knows the client, in words for
// the admin.
func (s *Service) checkOAuth2Client(ctx context.Context, srv store.JiraServer, clientID, clientSecret string) error {
	rt, err := s.transport(&srv)
	if err != nil {
		return err
	}
	err = jira.CheckOAuth2Client(ctx, jira.NewHTTPClient(rt, jiraTimeout), srv.BaseURL, clientID, clientSecret, s.redirect)
	var je *jira.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jira.ErrNotFound):
		return &Error{Code: Invalid, Err: err, Message: "This Jira has no OAuth 2.0 provider (Jira Data Center 8.22 or later); use OAuth 1.0a or personal access tokens."}
	case errors.Is(err, jira.ErrUnauthorized):
		return &Error{Code: Invalid, Err: err, Message: "Jira does not know this client ID and secret; copy them again from the incoming link (Application links → the link → Edit)."}
	case errors.As(err, &je) && je.Kind == jira.KindNetwork:
		return &Error{Code: JiraFailed, Err: err, Message: "asanajira could not reach Jira's OAuth 2.0 token endpoint; check the base URL and the network."}
	case errors.As(err, &je):
		return &Error{Code: JiraFailed, Err: err, Message: fmt.Sprintf("Jira's token endpoint answered %d %s; check that the incoming link exists and the base URL is right.", je.StatusCode, je.Message)}
	}
	return fmt.Errorf("setup: oauth2 check: %w", err)
}
