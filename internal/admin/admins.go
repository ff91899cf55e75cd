package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// Who is an admin. An Asana user is an asanajira admin while they are
// listed in Deps.Admins (the --admins setting, by gid or email) or their gid
// is in the admins table: the first admin, let in by a bootstrap link, and
// whoever an admin adds on the Admins page. Sessions are checked against
// both on every request, so removing someone from either ends their access
// at once. The audit log records every grant, removal and sign-in but is
// never consulted.
//
// A bootstrap link works only while there is no admin at all: nobody in
// the table and nobody configured. Each start prints a new link and the
// store keeps only the newest; using one checks again that there is no
// admin, and the grant is one statement that succeeds only on an empty
// table, so two people racing with links make one admin.

// bootstrapGrantedBy is the granted_by of the admin a bootstrap link made.
const bootstrapGrantedBy = "bootstrap link"

// configuredAdmin reports whether the Asana user is in Deps.Admins, by gid
// or (case-insensitively) by email.
func (c *base) configuredAdmin(gid, email string) bool {
	return slices.ContainsFunc(c.d.Admins, func(a string) bool {
		a = strings.TrimSpace(a)
		return a != "" && (a == gid || (email != "" && strings.EqualFold(a, email)))
	})
}

// hasConfiguredAdmins reports whether Deps.Admins names anyone.
func (c *base) hasConfiguredAdmins() bool {
	return slices.ContainsFunc(c.d.Admins, func(a string) bool { return strings.TrimSpace(a) != "" })
}

// bootstrapOpen reports whether there is no admin yet, the only time a
// bootstrap link may be made or used.
func (c *base) bootstrapOpen(ctx context.Context) (bool, error) {
	if c.hasConfiguredAdmins() {
		return false, nil
	}
	has, err := c.d.Store.HasAdmin(ctx)
	if err != nil {
		return false, fmt.Errorf("admin: look for admins: %w", err)
	}
	return !has, nil
}

// tableAdmin reports whether gid is in the admins table.
func (c *base) tableAdmin(ctx context.Context, gid string) (bool, error) {
	if gid == "" {
		return false, nil
	}
	_, err := c.d.Store.GetAdmin(ctx, gid)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("admin: look up admin %s: %w", gid, err)
}

// stillAdmin re-checks a session on every request against the
// configuration and the admins table; a bootstrap session without Asana
// sign-in lasts while there is no admin.
func (c *base) stillAdmin(ctx context.Context, s *session) (bool, error) {
	if s.GID == "" {
		if !s.Bootstrap {
			return false, nil
		}
		return c.bootstrapOpen(ctx)
	}
	if c.configuredAdmin(s.GID, s.Email) {
		return true, nil
	}
	return c.tableAdmin(ctx, s.GID)
}

// admit decides whether the Asana user of s, just signed in, is an admin.
// Through a bootstrap link it first tries to make them the first admin,
// which succeeds only while there is none. refusal says why not, for the
// audit log.
func (c *base) admit(ctx context.Context, s *session, bootstrap bool) (ok bool, refusal string, err error) {
	if c.configuredAdmin(s.GID, s.Email) {
		return true, "", nil
	}
	if bootstrap && !c.hasConfiguredAdmins() {
		err := c.d.Store.GrantFirstAdmin(ctx, store.Admin{GID: s.GID, Name: s.Name, Email: s.Email,
			GrantedBy: bootstrapGrantedBy, GrantedAt: c.now()})
		switch {
		case err == nil:
			if err := c.audit(ctx, s, actionGrant, s.GID, "first admin, signed in with the bootstrap link"); err != nil {
				return false, "", err
			}
			return true, "", nil
		case !errors.Is(err, store.ErrConflict):
			return false, "", fmt.Errorf("admin: grant the first admin: %w", err)
		}
	}
	ok, err = c.tableAdmin(ctx, s.GID)
	if err != nil || ok {
		return ok, "", err
	}
	if bootstrap {
		return false, "bootstrap link used while an admin exists", nil
	}
	return false, "not an admin", nil
}

// Audit action of an admin's removal (a grant is actionGrant).
const actionRevoke = "admin.revoke"

// adminsPage lists who may use the console and lets an admin add and
// remove table admins.
type adminsPage struct{ *base }

func (c *adminsPage) mount(m *http.ServeMux) {
	m.Handle("GET /admin/admins", c.admin(c.page))
	m.Handle("POST /admin/admins", c.admin(c.addAdmin))
	m.Handle("POST /admin/admins/delete", c.admin(c.removeAdmin))
}

type adminsData struct {
	// Configured are the --admins entries, which only the configuration
	// changes.
	Configured []string
	Admins     []store.Admin
	// Candidates are users who installed the app and are not admins yet.
	Candidates []store.AsanaUser
	Self       string
}

func (c *adminsPage) page(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	admins, err := c.d.Store.ListAdmins(ctx)
	if err != nil {
		return fmt.Errorf("admin: admins: %w", err)
	}
	users, err := c.d.Store.ListAsanaUsers(ctx)
	if err != nil {
		return fmt.Errorf("admin: admins: %w", err)
	}
	d := adminsData{Admins: admins, Self: s.GID}
	for _, a := range c.d.Admins {
		if a = strings.TrimSpace(a); a != "" {
			d.Configured = append(d.Configured, a)
		}
	}
	for _, u := range users {
		if !slices.ContainsFunc(admins, func(a store.Admin) bool { return a.GID == u.GID }) && !c.configuredAdmin(u.GID, u.Email) {
			d.Candidates = append(d.Candidates, u)
		}
	}
	c.render(w, r, http.StatusOK, "admins", s, "Admins", d)
	return nil
}

// addAdmin makes an Asana user, by gid, an admin.
func (c *adminsPage) addAdmin(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	gid := strings.TrimSpace(r.PostFormValue("gid"))
	if !setup.ValidGID(gid) {
		return httpx.Errorf(http.StatusUnprocessableEntity, "an Asana user gid is a number, like 1201000000000012 (the Users page lists them)")
	}
	a := store.Admin{GID: gid, GrantedBy: string(s.actor()), GrantedAt: c.now()}
	if u, err := c.d.Store.GetAsanaUser(ctx, gid); err == nil {
		a.Name, a.Email = u.Name, u.Email
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("admin: add admin: %w", err)
	}
	if already, err := c.tableAdmin(ctx, gid); err != nil || already {
		if err != nil {
			return err
		}
		return c.redirect(w, r, "/admin/admins", gid+" is an admin already.")
	}
	if err := c.d.Store.PutAdmin(ctx, a); err != nil {
		return fmt.Errorf("admin: add admin: %w", err)
	}
	if err := c.audit(ctx, s, actionGrant, gid, "added on the Admins page"); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/admins", "Added "+or(a.Name, gid)+" as an admin.")
}

// removeAdmin removes a table admin; their session ends at their next
// request. An admin cannot remove themselves, so the console never locks
// out the person using it.
func (c *adminsPage) removeAdmin(w http.ResponseWriter, r *http.Request, s *session) error {
	gid := strings.TrimSpace(r.PostFormValue("gid"))
	if gid == s.GID {
		return httpx.Errorf(http.StatusUnprocessableEntity, "you cannot remove yourself; another admin can")
	}
	err := c.d.Store.DeleteAdmin(r.Context(), gid)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, "%s is not in the admins table (admins from --admins are removed in the configuration)", gid)
	}
	if err != nil {
		return fmt.Errorf("admin: remove admin: %w", err)
	}
	if err := c.audit(r.Context(), s, actionRevoke, gid, "removed on the Admins page"); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/admins", "Removed "+gid+" from the admins.")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
