package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Admin API token scopes: a read token may only read, a write token may
// also change the setup.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// AdminAPIToken is a token of the JSON admin API. The token itself is shown
// once when it is created; the store keeps only its SHA-256 (Hash), so the
// database never holds a usable token.
type AdminAPIToken struct {
	ID    string
	Name  string
	Scope string // ScopeRead or ScopeWrite
	// Hash is the hex SHA-256 of the token.
	Hash       string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: live
}

// Revoked reports whether the token was revoked.
func (t AdminAPIToken) Revoked() bool { return !t.RevokedAt.IsZero() }

// AdminAPITokenQueries are the reads and writes of admin API tokens.
type AdminAPITokenQueries interface {
	// CreateAdminAPIToken stores a new token and fills its ID and
	// CreatedAt; a hash already stored is ErrConflict.
	CreateAdminAPIToken(ctx context.Context, t *AdminAPIToken) error
	// GetAdminAPITokenByHash returns the token with this hash, revoked or
	// not.
	GetAdminAPITokenByHash(ctx context.Context, hash string) (AdminAPIToken, error)
	// ListAdminAPITokens lists every token, newest first.
	ListAdminAPITokens(ctx context.Context) ([]AdminAPIToken, error)
	// RevokeAdminAPIToken revokes a live token; ErrNotFound when there is
	// no live token with this id.
	RevokeAdminAPIToken(ctx context.Context, id string, at time.Time) error
	// TouchAdminAPIToken records that a token was used at at.
	TouchAdminAPIToken(ctx context.Context, id string, at time.Time) error
}

const adminAPITokenColumns = `id, name, scope, token_hash, created_by, created_at, last_used_at, revoked_at`

func scanAdminAPIToken(row scanner) (AdminAPIToken, error) {
	var (
		t                      AdminAPIToken
		created, used, revoked sql.NullTime
	)
	err := row.Scan(&t.ID, &t.Name, &t.Scope, &t.Hash, &t.CreatedBy, &created, &used, &revoked)
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = fromNullTime(created), fromNullTime(used), fromNullTime(revoked)
	return t, err
}

func (q queries) CreateAdminAPIToken(ctx context.Context, t *AdminAPIToken) error {
	if t.Name == "" || t.Hash == "" || t.CreatedBy == "" {
		return errors.New("store: create admin API token: a name, a hash and who created it are required")
	}
	if t.Scope != ScopeRead && t.Scope != ScopeWrite {
		return fmt.Errorf("store: create admin API token: scope %q is neither %q nor %q", t.Scope, ScopeRead, ScopeWrite)
	}
	if t.ID == "" {
		id, err := newID("at_")
		if err != nil {
			return err
		}
		t.ID = id
	}
	t.CreatedAt = q.stamp(t.CreatedAt)
	_, err := q.q.ExecContext(ctx, `INSERT INTO admin_api_tokens (`+adminAPITokenColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)`, t.ID, t.Name, t.Scope, t.Hash, t.CreatedBy, t.CreatedAt)
	return q.wrap("create admin API token "+t.Name, err)
}

func (q queries) GetAdminAPITokenByHash(ctx context.Context, hash string) (AdminAPIToken, error) {
	t, err := scanAdminAPIToken(q.q.QueryRowContext(ctx, `SELECT `+adminAPITokenColumns+` FROM admin_api_tokens WHERE token_hash = $1`, hash))
	return t, q.wrap("get admin API token", err)
}

func (q queries) ListAdminAPITokens(ctx context.Context) ([]AdminAPIToken, error) {
	return list(ctx, q, "list admin API tokens", `SELECT `+adminAPITokenColumns+` FROM admin_api_tokens ORDER BY created_at DESC, id`, scanAdminAPIToken)
}

func (q queries) RevokeAdminAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE admin_api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, q.stamp(at))
	return q.mustAffect("revoke admin API token "+id, res, err)
}

func (q queries) TouchAdminAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := q.q.ExecContext(ctx, `UPDATE admin_api_tokens SET last_used_at = $2 WHERE id = $1`, id, q.stamp(at))
	return q.mustAffect("touch admin API token "+id, res, err)
}
