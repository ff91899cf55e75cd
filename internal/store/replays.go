package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SignedRequest is the record of a signed App Components request that
// changes something, kept until shortly after the request expires so that a
// replay within its validity window, on any replica, is recognised.
type SignedRequest struct {
	// Signature identifies the request: a digest of the signature Asana
	// sent (the signature covers the whole message, expiry included).
	Signature string
	// Route is the route the request was first sent to.
	Route string
	// Status and Response are the first answer; Status is 0 while the
	// first request is still being handled.
	Status    int
	Response  []byte
	ExpiresAt time.Time
	CreatedAt time.Time
}

// SignedRequestQueries are the reads and writes of the replay cache.
type SignedRequestQueries interface {
	// ClaimSignedRequest records r as handled now. When a live record of
	// the same signature exists it is returned with claimed false and
	// nothing is written; an expired one is replaced.
	ClaimSignedRequest(ctx context.Context, r SignedRequest) (existing SignedRequest, claimed bool, err error)
	// GetSignedRequest reads the live record of a signature: ErrNotFound
	// when there is none or it expired. A read, so a request that is not a
	// repeat learns it without writing.
	GetSignedRequest(ctx context.Context, signature string) (SignedRequest, error)
	// FinishSignedRequest records the answer of a claimed request.
	FinishSignedRequest(ctx context.Context, signature string, status int, response []byte) error
	// ReleaseSignedRequest forgets a claim, so the same request may be
	// handled again (after a failure worth retrying).
	ReleaseSignedRequest(ctx context.Context, signature string) error
}

func (q queries) ClaimSignedRequest(ctx context.Context, r SignedRequest) (SignedRequest, bool, error) {
	if r.Signature == "" || r.ExpiresAt.IsZero() {
		return SignedRequest{}, false, fmt.Errorf("store: claim signed request: a signature and an expiry are required")
	}
	// A record released between the insert and the read is gone: claim
	// again then.
	for range 3 {
		existing, claimed, err := q.claimSignedRequest(ctx, r)
		if !errors.Is(err, ErrNotFound) {
			return existing, claimed, err
		}
	}
	return SignedRequest{}, false, fmt.Errorf("store: claim signed request: claimed and released repeatedly meanwhile: %w", ErrConflict)
}

func (q queries) claimSignedRequest(ctx context.Context, r SignedRequest) (SignedRequest, bool, error) {
	now := q.now()
	// One statement, so two replicas receiving the same request at once
	// cannot both claim it; DO UPDATE only replaces an expired record, and
	// a live one makes it write nothing rather than fail (which would abort
	// a surrounding PostgreSQL transaction).
	res, err := q.q.ExecContext(ctx, `INSERT INTO signed_requests (signature, route, status, response, expires_at, created_at)
		VALUES ($1, $2, 0, NULL, $3, $4)
		ON CONFLICT (signature) DO UPDATE SET route = excluded.route, status = 0, response = NULL,
			expires_at = excluded.expires_at, created_at = excluded.created_at
		WHERE signed_requests.expires_at <= excluded.created_at`,
		r.Signature, r.Route, dbTime(r.ExpiresAt), now)
	if err != nil {
		return SignedRequest{}, false, q.wrap("claim signed request", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return SignedRequest{}, false, q.wrap("claim signed request", err)
	}
	if n > 0 {
		return SignedRequest{}, true, nil
	}
	var (
		e                SignedRequest
		expires, created sql.NullTime
	)
	err = q.q.QueryRowContext(ctx, `SELECT signature, route, status, response, expires_at, created_at
		FROM signed_requests WHERE signature = $1`, r.Signature).
		Scan(&e.Signature, &e.Route, &e.Status, &e.Response, &expires, &created)
	e.ExpiresAt, e.CreatedAt = fromNullTime(expires), fromNullTime(created)
	return e, false, q.wrap("read signed request", err)
}

func (q queries) GetSignedRequest(ctx context.Context, signature string) (SignedRequest, error) {
	var (
		e                SignedRequest
		expires, created sql.NullTime
	)
	err := q.q.QueryRowContext(ctx, `SELECT signature, route, status, response, expires_at, created_at
		FROM signed_requests WHERE signature = $1 AND expires_at > $2`, signature, q.now()).
		Scan(&e.Signature, &e.Route, &e.Status, &e.Response, &expires, &created)
	e.ExpiresAt, e.CreatedAt = fromNullTime(expires), fromNullTime(created)
	return e, q.wrap("read signed request", err)
}

func (q queries) FinishSignedRequest(ctx context.Context, signature string, status int, response []byte) error {
	if response == nil {
		response = []byte{}
	}
	res, err := q.q.ExecContext(ctx, `UPDATE signed_requests SET status = $2, response = $3 WHERE signature = $1`,
		signature, status, response)
	return q.mustAffect("finish signed request", res, err)
}

func (q queries) ReleaseSignedRequest(ctx context.Context, signature string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM signed_requests WHERE signature = $1`, signature)
	return q.wrap("release signed request", err)
}
