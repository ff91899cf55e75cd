package connect

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
)

// asanaState is kept in the store between the authentication URL and
// Asana's redirect.
type asanaState struct {
	Verifier string `json:"v"`
	// Workspace and Project narrow the Jira servers offered when the
	// authentication URL carries them (Asana does not document any query
	// parameters, so both are optional).
	Workspace string `json:"w,omitempty"`
	Project   string `json:"p,omitempty"`
}

func (h *Handler) asanaOAuth() (*oauth2.Config, error) {
	cfg, err := asana.OAuth2Config(h.d.AsanaURL, h.d.AsanaClientID, h.d.AsanaClientSecret, h.d.PublicURL+AsanaCallbackPath)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return cfg, nil
}

// startAsana is the authentication URL: it binds a random state to this
// browser with a short-lived cookie and sends the user to Asana's consent
// page with a PKCE challenge.
func (h *Handler) startAsana(w http.ResponseWriter, r *http.Request) error {
	cfg, err := h.asanaOAuth()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	st := asanaState{Verifier: oauth2.GenerateVerifier(), Workspace: gid(q.Get("workspace")), Project: gid(q.Get("project"))}
	state := randomString(32)
	if err := h.putState(r, state, kindAsana, st); err != nil {
		return err
	}
	h.setCookie(w, stateCookie, state, stateTTL)
	return redirect(w, r, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(st.Verifier)))
}

// gid keeps a query parameter only if it looks like an Asana gid.
func gid(s string) string {
	if s == "" || len(s) > 32 || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return s
}

// asanaCallback is Asana's redirect. A state that does not match this
// browser's cookie is refused with 422, as Asana's app review asks; Deny
// tells Asana's window "error"; otherwise the code is exchanged, the user
// identified and their token stored sealed.
func (h *Handler) asanaCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	c, err := r.Cookie(stateCookie)
	if err != nil || q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(q.Get("state"))) != 1 {
		return httpx.Errorf(http.StatusUnprocessableEntity,
			"The answer from Asana does not belong to this window (the state does not match). Close this window and connect again from Asana.")
	}
	h.clearCookie(w, stateCookie)
	var st asanaState
	stateErr := h.consumeState(r, q.Get("state"), kindAsana, &st)
	if q.Get("error") != "" {
		// The user pressed Deny (or Asana refused): Asana's window must
		// hear "error" whatever became of the state.
		return h.message(w, http.StatusOK, pageData{Title: "Not connected", PostMessage: "error", CloseAfterMS: deniedDelay,
			Message: "You did not allow asanajira to use your Asana account, so it cannot show or create Jira issues for you. Nothing was changed. To try again, choose Connect in Asana."})
	}
	if stateErr != nil {
		return stateErr
	}
	code := q.Get("code")
	if code == "" {
		return httpx.Errorf(http.StatusBadRequest, "Asana's answer has no authorization code. Close this window and connect again from Asana.")
	}
	cfg, err := h.asanaOAuth()
	if err != nil {
		return err
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, h.d.HTTPClient)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return httpx.Wrap(http.StatusBadRequest, "Asana refused the authorization ("+re.ErrorCode+"). Close this window and connect again from Asana.", err)
		}
		return httpx.Wrap(http.StatusBadGateway, "asanajira could not reach Asana to finish the sign-in. Try again in a minute; if it keeps failing, tell your administrator.", err)
	}
	me, err := h.asanaMe(r.Context(), tok.AccessToken)
	if err != nil {
		return httpx.Wrap(http.StatusBadGateway, "asanajira could not read your Asana profile. Try again in a minute.", err)
	}
	err = h.d.Store.PutAsanaUser(r.Context(), store.AsanaUser{GID: me.GID, Name: me.Name, Email: me.Email,
		AccessToken: store.Secret(tok.AccessToken), RefreshToken: store.Secret(tok.RefreshToken), Expiry: tok.Expiry})
	if err != nil {
		return fmt.Errorf("connect: save Asana user: %w", err)
	}
	s := session{User: me.GID, Name: me.Name, Project: st.Project}
	for _, w := range me.Workspaces {
		s.Workspaces = append(s.Workspaces, w.GID)
	}
	if st.Workspace != "" && slices.Contains(s.Workspaces, st.Workspace) {
		s.Workspaces = []string{st.Workspace}
	}
	h.startSession(w, s)
	return redirect(w, r, "/connect/jira?auto=1")
}

func (h *Handler) asanaMe(ctx context.Context, token string) (*asana.User, error) {
	hc := &http.Client{Transport: &asana.BearerTransport{Token: token, Base: h.d.HTTPClient.Transport}, Timeout: h.d.HTTPClient.Timeout}
	c, err := asana.New(h.d.AsanaURL+"/api/1.0", hc, asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	me, err := c.Me(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return me, nil
}
