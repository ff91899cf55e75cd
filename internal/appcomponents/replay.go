package appcomponents

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
)

// Replays. A signed request stays valid until its expires_at (at most
// MaxExpiresAhead away), so whoever captures one could send it again within
// that window. The requests that change something (form submit, lookup
// attach, rule save and rule run) are therefore handled at most once per
// signature, on every replica: the first is recorded in the store's
// signed_requests table, keyed by a digest of its signature, with its
// answer. A repeat of it is answered with that first answer (status and
// body, marked by ReplayHeader) and does nothing else: a client that lost
// the first answer still gets it, and nothing is created, linked or saved
// twice. A repeat while the first is still running answers 409, and the
// same signature sent to another route answers 409 too. A first answer of
// 5xx is not kept, so a retry of a failure that may pass later runs again.
// GET requests (widget, form metadata, typeaheads) and the form change
// callbacks only read; Asana repeats them freely and they are not
// recorded.

// The form submit, which creates an issue, keeps the same rules with fewer
// writes and reads (onceWithin): the record of the signature is written
// inside the create's own statements, claimed with the creation's claim,
// which also tells a repeat, and answered with the link
// (bridge.CreateHooks), so that a create writes twice instead of four
// times and reads nothing first; an answer that created nothing looks for
// a first answer before it is sent, and is recorded in one transaction
// after.

// ReplayHeader marks the answer to a repeat of a signed request: the first
// request's answer repeated ("first-answer"), or a 409 because the first is
// still running ("in-progress"), was another call ("other-route") or kept
// no answer ("no-answer-kept").
const ReplayHeader = "Asanajira-Replay"

// replayKeepMargin keeps a record past its request's expiry, for replicas
// whose clocks run behind the one that recorded it.
const replayKeepMargin = 5 * time.Minute

// maxRecordedAnswer bounds the answer kept for replays; App Components
// answers are small JSON (a form is at most a few tens of kilobytes).
const maxRecordedAnswer = 256 << 10

// once runs fn for req unless a request with the same signature was
// handled already, and records its answer.
func (h *Handler) once(w http.ResponseWriter, r *http.Request, route string, req *request, fn appHandler) error {
	digest := sha256.Sum256([]byte(req.signature))
	sig := hex.EncodeToString(digest[:])
	first, claimed, err := h.d.Store.ClaimSignedRequest(r.Context(), store.SignedRequest{
		Signature: sig, Route: route, ExpiresAt: req.expires.Add(replayKeepMargin)})
	if err != nil {
		return fmt.Errorf("appcomponents: record signed request: %w", err)
	}
	if !claimed {
		return h.replay(w, r, route, first)
	}
	rec := &recorder{ResponseWriter: w}
	httpx.Handle(h.d.Log, func(w http.ResponseWriter, r *http.Request) error { return fn(w, r, req) }).ServeHTTP(rec, r)
	// The answer is recorded even if the client went away meanwhile.
	ctx := context.WithoutCancel(r.Context())
	if rec.status >= http.StatusInternalServerError || rec.status == 0 {
		err = h.d.Store.ReleaseSignedRequest(ctx, sig)
	} else {
		var body []byte
		if !rec.overflow {
			body = rec.body.Bytes()
		}
		err = h.d.Store.FinishSignedRequest(ctx, sig, rec.status, body)
	}
	if err != nil {
		// The answer is sent; a replay will find the request in progress
		// (409) until the record expires.
		h.d.Log.LogAttrs(ctx, slog.LevelError, "cannot record the answer of a signed request",
			slog.String("route", route), slog.Any("error", err))
	}
	return nil
}

// signedCreate is the record of one signed request handled by onceWithin,
// which the handler writes with its own (bridge.CreateHooks): claimed with
// the creation's claim (Claimed; First when that claim found the request a
// repeat) and answered with the link (Answered).
func signedCreate(req *request, route string) *bridge.SignedCreate {
	digest := sha256.Sum256([]byte(req.signature))
	return &bridge.SignedCreate{Request: store.SignedRequest{
		Signature: hex.EncodeToString(digest[:]), Route: route, ExpiresAt: req.expires.Add(replayKeepMargin)}}
}

// onceWithin is once for a handler that records its signature with its
// own writes (req.signed); what it did not record is recorded here. It
// reads no record first: the handler's claim tells a repeat, and an answer
// made without one (repeated) looks for a first answer before it is sent.
func (h *Handler) onceWithin(w http.ResponseWriter, r *http.Request, route string, req *request, fn appHandler) error {
	sc := signedCreate(req, route)
	req.signed = sc
	rec := &recorder{ResponseWriter: w}
	httpx.Handle(h.d.Log, func(w http.ResponseWriter, r *http.Request) error { return fn(w, r, req) }).ServeHTTP(rec, r)
	if sc.Answered != nil || sc.First != nil {
		return nil
	}
	// An answer that created nothing, or whose create found the link
	// stored already: when another copy of the request holds the claim,
	// that copy records its own.
	ctx := context.WithoutCancel(r.Context())
	var err error
	switch {
	case rec.status >= http.StatusInternalServerError || rec.status == 0:
		if sc.Claimed {
			err = h.d.Store.ReleaseSignedRequest(ctx, sc.Request.Signature)
		}
	default:
		a := sc.Request
		a.Status = rec.status
		if !rec.overflow {
			a.Response = rec.body.Bytes()
		}
		err = h.d.Store.AnswerSignedRequest(ctx, a, sc.Claimed)
	}
	if err != nil {
		h.d.Log.LogAttrs(ctx, slog.LevelError, "cannot record the answer of a signed request",
			slog.String("route", route), slog.Any("error", err))
	}
	return nil
}

// repeated reads the first record of a request under onceWithin that
// claimed nothing, before an answer that created nothing is sent: a
// repeat is answered from it.
func (h *Handler) repeated(ctx context.Context, req *request) (*store.SignedRequest, error) {
	sc := req.signed
	if sc == nil || sc.Claimed {
		return nil, nil
	}
	first, err := h.d.Store.GetSignedRequest(ctx, sc.Request.Signature)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("appcomponents: read signed request: %w", err)
	}
	sc.First = &first
	return &first, nil
}

// replay answers a repeat of an already handled signed request.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request, route string, first store.SignedRequest) error {
	h.d.Log.LogAttrs(r.Context(), slog.LevelWarn, "signed request received again",
		slog.String("route", route), slog.String("first_route", first.Route), slog.Int("first_status", first.Status))
	// Every answer to a repeat carries ReplayHeader, the 409s too, so a
	// client tells "a copy of mine is running" from a conflict of its own.
	switch {
	case first.Route != route:
		w.Header().Set(ReplayHeader, "other-route")
		return httpx.Errorf(http.StatusConflict, "This signed request was already used for another call.")
	case first.Status == 0:
		w.Header().Set(ReplayHeader, "in-progress")
		return httpx.Errorf(http.StatusConflict, "This request is already being handled; its answer comes with the first one.")
	case len(first.Response) == 0:
		w.Header().Set(ReplayHeader, "no-answer-kept")
		return httpx.Errorf(http.StatusConflict, "This request was handled already.")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set(ReplayHeader, "first-answer")
	w.WriteHeader(first.Status)
	_, _ = w.Write(first.Response) // the client went away; nothing to do
	return nil
}

// recorder passes an answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if !r.overflow {
		if r.body.Len()+len(b) > maxRecordedAnswer {
			r.overflow = true
			r.body.Reset()
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
