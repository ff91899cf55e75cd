package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SideEffectState is where an external write stands in the ledger.
type SideEffectState string

// The states of a side effect.
const (
	// SideEffectPending: the write was intended; it may or may not have
	// reached the other side.
	SideEffectPending SideEffectState = "pending"
	// SideEffectDone: the write was made (or found made) and recorded.
	SideEffectDone SideEffectState = "done"
)

// SideEffect is one external write in the ledger internal/effects keeps:
// recorded before the write, leased to one attempt at a time, marked done
// with the write's result once made.
type SideEffect struct {
	// Scope and Key name the write; Key is unique within Scope.
	Scope string
	Key   string
	// Fingerprint is what the write carries to the other side, so a later
	// attempt can find it there.
	Fingerprint string
	// Target says where the write goes ("asana:task:123"); the stories
	// and comments recorded as results of writes to a target are
	// asanajira's own there.
	Target string
	// Digest is what the write says (effects.Digest of its text) and
	// Author the Asana user whose account makes it, as recorded with the
	// intent: while the write is pending, an item by Author saying Digest
	// may be it. Both are "" for writes recorded before they were kept.
	Digest string
	Author string
	State  SideEffectState
	// Holder is the attempt holding the lease; LeaseUntil when it lapses.
	Holder     string
	LeaseUntil time.Time
	// Attempts counts the attempts that took the lease; above 1, an earlier
	// attempt may have written without recording it.
	Attempts  int
	Result    string
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// SideEffectClaim asks for the lease on a side effect, recording it first
// when it is new. The store's clock sets the lease and the expiry.
type SideEffectClaim struct {
	Scope, Key, Fingerprint, Target string
	// Digest and Author are recorded with a new intent; a claim of an
	// existing one leaves them as the first attempt recorded them.
	Digest, Author string
	// Holder names the attempt (unique per attempt).
	Holder string
	// Lease is how long the holder may write before another attempt may
	// take over.
	Lease time.Duration
	// Keep is how long the record lives after its last change.
	Keep time.Duration
}

// SideEffects is the ledger of external writes.
type SideEffects interface {
	// ClaimSideEffect records the side effect unless it exists, and gives
	// the lease to c.Holder when nobody else holds a live one. It returns
	// the record as it now stands: State done (made already: write
	// nothing), or pending with Holder == c.Holder (the caller holds the
	// lease). It returns the record and ErrConflict when another attempt
	// holds a live lease. It never raises a unique violation, so it is safe
	// inside InTx.
	ClaimSideEffect(ctx context.Context, c SideEffectClaim) (SideEffect, error)
	// CompleteSideEffect marks the side effect done with its result, if
	// holder still holds it (ErrConflict otherwise; ErrNotFound when it
	// does not exist).
	CompleteSideEffect(ctx context.Context, scope, key, holder, result string) error
	// ReleaseSideEffect ends holder's lease now; the side effect stays
	// pending, so the next attempt looks for it before writing.
	ReleaseSideEffect(ctx context.Context, scope, key, holder string) error
	// GetSideEffect reads one side effect.
	GetSideEffect(ctx context.Context, scope, key string) (SideEffect, error)
	// SideEffectResultRecorded reports whether result (a story gid, a
	// comment id) is the recorded result of a done side effect whose
	// target is target.
	SideEffectResultRecorded(ctx context.Context, target, result string) (bool, error)
	// ListSideEffectsByTarget lists the side effects, pending and done,
	// whose target is one of targets, oldest first.
	ListSideEffectsByTarget(ctx context.Context, targets ...string) ([]SideEffect, error)
}

const sideEffectColumns = `scope, key, fingerprint, target, digest, author, state, holder, lease_until, attempts, result,
	created_at, updated_at, expires_at`

func scanSideEffect(row scanner) (SideEffect, error) {
	var (
		e                       SideEffect
		state                   string
		lease, created, updated sql.NullTime
		expires                 sql.NullTime
	)
	err := row.Scan(&e.Scope, &e.Key, &e.Fingerprint, &e.Target, &e.Digest, &e.Author, &state, &e.Holder, &lease, &e.Attempts, &e.Result,
		&created, &updated, &expires)
	e.State = SideEffectState(state)
	e.LeaseUntil, e.CreatedAt, e.UpdatedAt, e.ExpiresAt = fromNullTime(lease), fromNullTime(created), fromNullTime(updated), fromNullTime(expires)
	return e, err
}

func (q queries) ClaimSideEffect(ctx context.Context, c SideEffectClaim) (SideEffect, error) {
	if c.Scope == "" || c.Key == "" || c.Holder == "" || c.Lease <= 0 || c.Keep <= 0 {
		return SideEffect{}, fmt.Errorf("store: claim side effect: scope, key, holder, lease and keep are required")
	}
	now := q.now()
	// One statement: insert the intent, or take the lease of a pending one
	// whose lease lapsed. A done side effect, or one leased to a live
	// attempt, is left alone and returns no row.
	e, err := scanSideEffect(q.q.QueryRowContext(ctx, `INSERT INTO side_effects (`+sideEffectColumns+`)
		VALUES ($1, $2, $3, $4, $11, $12, $5, $6, $7, 1, '', $8, $8, $9)
		ON CONFLICT (scope, key) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until,
			attempts = side_effects.attempts + 1, updated_at = excluded.updated_at, expires_at = excluded.expires_at
		WHERE side_effects.state = $10
			AND (side_effects.lease_until IS NULL OR side_effects.lease_until <= excluded.updated_at)
		RETURNING `+sideEffectColumns,
		c.Scope, c.Key, c.Fingerprint, c.Target, string(SideEffectPending), c.Holder, dbTime(now.Add(c.Lease)),
		now, dbTime(now.Add(c.Keep)), string(SideEffectPending), c.Digest, c.Author))
	if err == nil {
		return e, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return SideEffect{}, q.wrap("claim side effect", err)
	}
	e, err = q.GetSideEffect(ctx, c.Scope, c.Key)
	if err != nil {
		return SideEffect{}, err
	}
	if e.State == SideEffectDone {
		return e, nil
	}
	return e, fmt.Errorf("store: claim side effect %s/%s: leased to another attempt until %s: %w", c.Scope, c.Key, e.LeaseUntil.Format(time.RFC3339), ErrConflict)
}

func (q queries) CompleteSideEffect(ctx context.Context, scope, key, holder, result string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE side_effects SET state = $4, result = $5, lease_until = NULL, updated_at = $6
		WHERE scope = $1 AND key = $2 AND holder = $3 AND state = $7`,
		scope, key, holder, string(SideEffectDone), result, q.now(), string(SideEffectPending))
	return q.heldBy(ctx, "complete side effect", scope, key, res, err)
}

func (q queries) ReleaseSideEffect(ctx context.Context, scope, key, holder string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE side_effects SET lease_until = $4, updated_at = $4
		WHERE scope = $1 AND key = $2 AND holder = $3 AND state = $5`,
		scope, key, holder, q.now(), string(SideEffectPending))
	return q.heldBy(ctx, "release side effect", scope, key, res, err)
}

// heldBy tells why an update of a held side effect touched nothing: the
// side effect does not exist (ErrNotFound), or the lease went elsewhere or
// it is done (ErrConflict).
func (q queries) heldBy(ctx context.Context, op, scope, key string, res sql.Result, err error) error {
	err = q.mustAffect(op, res, err)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, gerr := q.GetSideEffect(ctx, scope, key); gerr != nil {
		return gerr
	}
	return fmt.Errorf("store: %s %s/%s: not held by this attempt: %w", op, scope, key, ErrConflict)
}

func (q queries) GetSideEffect(ctx context.Context, scope, key string) (SideEffect, error) {
	e, err := scanSideEffect(q.q.QueryRowContext(ctx, `SELECT `+sideEffectColumns+` FROM side_effects
		WHERE scope = $1 AND key = $2`, scope, key))
	return e, q.wrap("get side effect "+scope+"/"+key, err)
}

func (q queries) SideEffectResultRecorded(ctx context.Context, target, result string) (bool, error) {
	if result == "" {
		return false, nil
	}
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM side_effects WHERE target = $1 AND result = $2 AND state = $3`,
		target, result, string(SideEffectDone)).Scan(&n)
	return n > 0, q.wrap("look up a side effect's result", err)
}

func (q queries) ListSideEffectsByTarget(ctx context.Context, targets ...string) ([]SideEffect, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	marks := make([]string, len(targets))
	args := make([]any, len(targets))
	for i, t := range targets {
		marks[i], args[i] = fmt.Sprintf("$%d", i+1), t
	}
	return list(ctx, q, "list side effects by target", `SELECT `+sideEffectColumns+` FROM side_effects
		WHERE target IN (`+strings.Join(marks, ", ")+`) ORDER BY created_at, scope, key`, scanSideEffect, args...)
}
