package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
)

// Admin API tokens. An admin creates one on the API tokens page, with a
// name and a scope (read, or write which includes read); the token is
// shown once and only its SHA-256 is stored, so neither the database nor
// a backup holds a usable token. Revoking one ends it at its next request.

// tokenPrefix marks asanajira admin API tokens, so a leaked one is
// recognisable (and secret scanners can look for it).
const tokenPrefix = "ajt_"

// mintToken returns a new token and its hash.
func mintToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// hashToken is what the store keeps of a token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// apiTokensPage lists the admin API tokens and creates and revokes them.
type apiTokensPage struct{ *base }

func (c *apiTokensPage) mount(m *http.ServeMux) {
	m.Handle("GET /admin/api-tokens", c.admin(c.page))
	m.Handle("POST /admin/api-tokens", c.admin(c.create))
	m.Handle("POST /admin/api-tokens/{id}/revoke", c.admin(c.revoke))
}

type apiTokensData struct {
	Tokens []store.AdminAPIToken
	// New is the token just created, shown this once.
	New      string
	NewName  string
	NewScope string
	APIURL   string
	Error    string
}

func (c *apiTokensPage) page(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.show(w, r, s, http.StatusOK, apiTokensData{})
}

func (c *apiTokensPage) show(w http.ResponseWriter, r *http.Request, s *session, status int, d apiTokensData) error {
	tokens, err := c.d.Store.ListAdminAPITokens(r.Context())
	if err != nil {
		return fmt.Errorf("admin: API tokens: %w", err)
	}
	d.Tokens, d.APIURL = tokens, c.public+apiPrefix
	c.render(w, r, status, "api_tokens", s, "API tokens", d)
	return nil
}

// create makes a token and shows it on the answer itself, once: it is in
// no redirect, cookie or log.
func (c *apiTokensPage) create(w http.ResponseWriter, r *http.Request, s *session) error {
	name, scope := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("scope")
	switch {
	case name == "" || len(name) > 100:
		return c.show(w, r, s, http.StatusUnprocessableEntity, apiTokensData{Error: "Name the token (up to 100 characters) after what will use it, like “deploy pipeline”."})
	case scope != store.ScopeRead && scope != store.ScopeWrite:
		return c.show(w, r, s, http.StatusUnprocessableEntity, apiTokensData{Error: "Choose the token's scope: read, or write (which includes read)."})
	}
	token, hash := mintToken()
	t := store.AdminAPIToken{Name: name, Scope: scope, Hash: hash, CreatedBy: string(s.actor()), CreatedAt: c.now()}
	if err := c.d.Store.CreateAdminAPIToken(r.Context(), &t); err != nil {
		return fmt.Errorf("admin: create API token: %w", err)
	}
	if err := c.audit(r.Context(), s, "api_token.create", t.ID, name+" ("+scope+")"); err != nil {
		return err
	}
	return c.show(w, r, s, http.StatusOK, apiTokensData{New: token, NewName: name, NewScope: scope})
}

func (c *apiTokensPage) revoke(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	err := c.d.Store.RevokeAdminAPIToken(r.Context(), id, c.now())
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, "no live API token %q; it may have been revoked already", id)
	}
	if err != nil {
		return fmt.Errorf("admin: revoke API token: %w", err)
	}
	if err := c.audit(r.Context(), s, "api_token.revoke", id, ""); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/api-tokens", "Token revoked: requests with it are refused from now on.")
}

// authenticate finds the live token a request carries in its
// Authorization header.
func (c *base) authenticate(ctx context.Context, header string) (store.AdminAPIToken, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || !strings.HasPrefix(token, tokenPrefix) {
		return store.AdminAPIToken{}, errUnauthenticated
	}
	t, err := c.d.Store.GetAdminAPITokenByHash(ctx, hashToken(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t, errUnauthenticated
	case err != nil:
		return t, fmt.Errorf("admin: API token: %w", err)
	case t.Revoked():
		return t, errRevoked
	}
	// Record the use at most once a minute: a busy pipeline need not write
	// on every request.
	if now := c.now(); now.Sub(t.LastUsedAt) > minuteOfUse {
		if err := c.d.Store.TouchAdminAPIToken(ctx, t.ID, now); err != nil {
			c.log.WarnContext(ctx, "admin: record an API token's use", "token", t.ID, "error", err)
		}
	}
	return t, nil
}
