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

// LinkOfCreate is what a create records with its link
// (CreateLinkOfCreate).
type LinkOfCreate struct {
	// Claim completes the creation's claim (an idempotency key, with its
	// Result), when Key is set.
	Claim IdempotencyKey
	// RemoteLink is the sync state of the remote link the create added,
	// when it did.
	RemoteLink *SyncFieldState
	// Answer is the answer (Status, Response) of the signed request that
	// asked for the create, when there is one. It is written over the
	// request's own record when Claimed (the creation's claim recorded it,
	// ClaimCreation) or over an expired one, and written anew when there is
	// none; a live record of another copy of the request is left alone, as
	// that copy records its own answer.
	Answer  *SignedRequest
	Claimed bool
	// CopyPending marks the link as having its after-link work (the
	// copy_attachments job) still to enqueue: the caller enqueues it once
	// the link committed (ClaimLinkCopy), and a sweep enqueues what a
	// crash left marked (ClaimLinkCopies).
	CopyPending bool
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
	// AnswerSignedRequest records the answer (Status, Response) of a
	// request as LinkOfCreate.Answer does: over its own claim when
	// claimed, over an expired record, or as a new record; a live record
	// of another copy of the request is left alone.
	AnswerSignedRequest(ctx context.Context, r SignedRequest, claimed bool) error
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

func (q queries) AnswerSignedRequest(ctx context.Context, a SignedRequest, claimed bool) error {
	response := a.Response
	if response == nil {
		response = []byte{}
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO signed_requests (signature, route, status, response, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (signature) DO UPDATE SET `+answerUpdate+`
		WHERE `+answerOver("$7"),
		a.Signature, a.Route, a.Status, response, dbTime(a.ExpiresAt), q.now(), claimed)
	return q.wrap("answer signed request", err)
}

// answerUpdate and answerOver are the ON CONFLICT of an answer's insert,
// shared by AnswerSignedRequest and PostgreSQL's CreateLinkOfCreate:
// which record an answer replaces (the request's own claim, if claimed is
// true, or an expired one) and what it writes.
const answerUpdate = `route = excluded.route, status = excluded.status, response = excluded.response,
			expires_at = excluded.expires_at, created_at = excluded.created_at`

func answerOver(claimed string) string {
	return `signed_requests.expires_at <= excluded.created_at OR (` + claimed + ` AND signed_requests.status = 0)`
}
