package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AdminBootstrapKind is the AuthState kind of the admin console's bootstrap
// link. At most one such state exists (PutAdminBootstrapState): creating a
// link revokes the earlier ones.
const AdminBootstrapKind = "admin-bootstrap"

// Admin is an Asana user allowed into the admin console by the admins
// table: the first admin, let in by a bootstrap link, and the admins they
// grant. Admins listed in the configuration are not rows.
type Admin struct {
	GID       string
	Name      string
	Email     string
	GrantedBy string
	GrantedAt time.Time
	// Bootstrap marks the admin let in by a bootstrap link; there is at
	// most one.
	Bootstrap bool
}

// AdminQueries are the reads and writes of the admins table and of the
// bootstrap link's state.
type AdminQueries interface {
	// GrantFirstAdmin adds a as the bootstrap admin if the table has no
	// admin, in one statement: of two people racing with bootstrap links,
	// one becomes admin and the other gets ErrConflict, as does anyone
	// once an admin exists.
	GrantFirstAdmin(ctx context.Context, a Admin) error
	// PutAdmin adds an admin granted by another, or updates the name and
	// email of an existing one.
	PutAdmin(ctx context.Context, a Admin) error
	GetAdmin(ctx context.Context, gid string) (Admin, error)
	ListAdmins(ctx context.Context) ([]Admin, error)
	DeleteAdmin(ctx context.Context, gid string) error
	// HasAdmin reports whether the admins table has any row.
	HasAdmin(ctx context.Context) (bool, error)
	// PutAdminBootstrapState stores a bootstrap link's state (Kind is
	// AdminBootstrapKind) as the only one: earlier links stop working.
	PutAdminBootstrapState(ctx context.Context, state string, expiresAt time.Time) error
}

const adminColumns = `gid, name, email, granted_by, granted_at, bootstrap`

func scanAdmin(row scanner) (Admin, error) {
	var (
		a       Admin
		granted sql.NullTime
	)
	err := row.Scan(&a.GID, &a.Name, &a.Email, &a.GrantedBy, &granted, &a.Bootstrap)
	a.GrantedAt = fromNullTime(granted)
	return a, err
}

func (q queries) GrantFirstAdmin(ctx context.Context, a Admin) error {
	if a.GID == "" {
		return fmt.Errorf("store: grant first admin: a gid is required")
	}
	// NOT EXISTS alone lets two concurrent transactions on PostgreSQL both
	// see an empty table; the unique index on bootstrap (migration 002)
	// then makes the second insert a conflict, which DO NOTHING turns into
	// no row rather than an aborted transaction.
	res, err := q.q.ExecContext(ctx, `INSERT INTO admins (`+adminColumns+`)
		SELECT $1, $2, $3, $4, $5, TRUE WHERE NOT EXISTS (SELECT 1 FROM admins)
		ON CONFLICT DO NOTHING`, a.GID, a.Name, a.Email, a.GrantedBy, q.stamp(a.GrantedAt))
	return q.claimed("grant first admin (an admin exists already when this conflicts)", res, err)
}

// stamp is t for the database, or now when t is zero.
func (q queries) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return q.now()
	}
	return dbTime(t)
}

func (q queries) PutAdmin(ctx context.Context, a Admin) error {
	if a.GID == "" {
		return fmt.Errorf("store: put admin: a gid is required")
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO admins (`+adminColumns+`) VALUES ($1, $2, $3, $4, $5, FALSE)
		ON CONFLICT (gid) DO UPDATE SET
			name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE admins.name END,
			email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE admins.email END`,
		a.GID, a.Name, a.Email, a.GrantedBy, q.stamp(a.GrantedAt))
	return q.wrap("put admin "+a.GID, err)
}

func (q queries) GetAdmin(ctx context.Context, gid string) (Admin, error) {
	a, err := scanAdmin(q.q.QueryRowContext(ctx, `SELECT `+adminColumns+` FROM admins WHERE gid = $1`, gid))
	return a, q.wrap("get admin "+gid, err)
}

func (q queries) ListAdmins(ctx context.Context) ([]Admin, error) {
	return list(ctx, q, "list admins", `SELECT `+adminColumns+` FROM admins ORDER BY granted_at, gid`, scanAdmin)
}

func (q queries) DeleteAdmin(ctx context.Context, gid string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM admins WHERE gid = $1`, gid)
	return q.mustAffect("delete admin "+gid, res, err)
}

func (q queries) HasAdmin(ctx context.Context) (bool, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM admins LIMIT 1) a`).Scan(&n)
	return n > 0, q.wrap("count admins", err)
}

func (q queries) PutAdminBootstrapState(ctx context.Context, state string, expiresAt time.Time) error {
	if state == "" || expiresAt.IsZero() {
		return fmt.Errorf("store: put admin bootstrap state: a state and an expiry are required")
	}
	// One statement against the partial unique index on kind (migration
	// 002): replicas starting together leave exactly one live link.
	_, err := q.q.ExecContext(ctx, `INSERT INTO auth_states (state, kind, data, expires_at, created_at)
		VALUES ($1, $2, NULL, $3, $4)
		ON CONFLICT (kind) WHERE kind = '`+AdminBootstrapKind+`' DO UPDATE SET
			state = excluded.state, data = NULL, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		state, AdminBootstrapKind, dbTime(expiresAt), q.now())
	return q.wrap("put admin bootstrap state", err)
}
