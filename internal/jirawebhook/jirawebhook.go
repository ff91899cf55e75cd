// Package jirawebhook owns the endpoint Jira's webhooks call: it
// authenticates each delivery against the secret of the Jira server it is
// addressed to, rejects malformed and oversized bodies, stores the delivery
// once (Jira Server may deliver the same change twice) and enqueues its
// application in the same transaction, then answers 202 at once so Jira's
// request thread is never held up.
//
// Jira Server and Data Center do not retry deliveries, so nothing is
// accepted before it is durably queued. A transaction per delivery would
// cap the intake at the database's commits a second, so deliveries that
// arrive together share one (group commit, committer.go): each is answered
// once the transaction holding it has committed. On PostgreSQL several such
// transactions are under way at once.
package jirawebhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// MaxBody is the largest webhook body accepted (the server-wide request
// limit too). Jira's issue payloads carry
// the full field set; a few hundred KiB is already unusual.
const MaxBody = 1 << 20

// dedupWindow is how long a delivery's identity is remembered.
const dedupWindow = 48 * time.Hour

// Enqueuer queues, in the caller's transaction, the application of stored
// deliveries (store.JiraDelivery ids) of one Jira server, in their order.
type Enqueuer interface {
	EnqueueJiraDeliveries(ctx context.Context, tx *sql.Tx, jiraServerID string, ids []int64) error
}

// Deps are what the handler needs.
type Deps struct {
	Store    store.Store
	Enqueuer Enqueuer
	Log      *slog.Logger
	Now      func() time.Time
	// MaxBatch bounds the deliveries one transaction stores (default
	// DefaultMaxBatch).
	MaxBatch int
	// MaxInFlight bounds the batches committing at once (default
	// DefaultMaxInFlight of the store's dialect, else 1).
	MaxInFlight int
}

type handler struct {
	Deps
	c *committer
}

// New returns the handler for POST /jira/webhook/{server}.
//
// The delivery must prove it comes from that server's webhook: either the
// X-Hub-Signature header (sha256=<hex HMAC of the body with the webhook
// secret>, sent by Jira versions that have a secret field) or a secret query
// parameter equal to the webhook secret (for older versions, where the secret
// travels in the registered URL).
func New(d Deps) http.Handler { return newHandler(d).routes() }

func newHandler(d Deps) *handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxBatch <= 0 {
		d.MaxBatch = DefaultMaxBatch
	}
	if d.MaxInFlight <= 0 {
		d.MaxInFlight = max(1, DefaultMaxInFlight[d.Store.Dialect()])
	}
	return &handler{Deps: d, c: &committer{st: d.Store, enq: d.Enqueuer, max: d.MaxBatch, inFlight: d.MaxInFlight}}
}

func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /jira/webhook/{server}", httpx.Handle(h.Log, h.receive))
	return mux
}

func (h *handler) receive(w http.ResponseWriter, r *http.Request) error {
	serverID := r.PathValue("server")
	srv, err := h.Store.GetJiraServer(r.Context(), serverID)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, "no Jira server %q is connected to asanajira", serverID)
	}
	if err != nil {
		return err
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxBody), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return httpx.Wrap(http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook body larger than %d bytes", MaxBody), err)
		}
		return httpx.Wrap(http.StatusBadRequest, "cannot read the webhook body", err)
	}
	if err := authenticate(r, body, srv.WebhookSecret.Reveal()); err != nil {
		return err
	}
	// The summary, with every field the job that applies the delivery
	// decodes checked for its type (without keeping them): a delivery the
	// job could not read is refused now, while Jira can still be told.
	ev, err := jira.CheckWebhook(body)
	if err != nil {
		return httpx.Wrap(http.StatusBadRequest, err.Error(), err)
	}
	now := h.Now()
	duplicate, err := h.c.submit(r.Context(), store.JiraDelivery{JiraServerID: srv.ID, DedupKey: deliveryKey(ev),
		Event: ev.WebhookEvent, IssueID: ev.IssueID(), Payload: body, ReceivedAt: now, ExpiresAt: now.Add(dedupWindow)})
	if err != nil {
		return fmt.Errorf("jirawebhook: queue %s from %s: %w", ev.WebhookEvent, srv.ID, err)
	}
	status := "queued"
	if duplicate {
		status = "duplicate"
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]string{"status": status, "event": ev.WebhookEvent})
	return nil
}

// readBody reads a body of size bytes (-1: unknown) straight into a
// buffer of that size: io.ReadAll reads into chunks growing from 512 bytes
// and copies them into one at the end, some allocations and a copy more
// for every 15 KiB delivery.
func readBody(r io.Reader, size int64) ([]byte, error) {
	n := 512
	if size > 0 && size < MaxBody {
		n = int(size) + 1 // room to see the end without growing
	}
	b := make([]byte, 0, n)
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// authenticate checks the delivery's HMAC signature or URL secret.
func authenticate(r *http.Request, body []byte, secret string) error {
	if secret == "" {
		return httpx.Errorf(http.StatusForbidden, "this Jira server has no webhook secret; reconnect it from the admin console")
	}
	if sig := r.Header.Get("X-Hub-Signature"); sig != "" {
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		got, err := hex.DecodeString(hexSig)
		if !ok || err != nil {
			return httpx.Errorf(http.StatusUnauthorized, "X-Hub-Signature must be sha256=<hex>")
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if !hmac.Equal(got, mac.Sum(nil)) {
			return httpx.Errorf(http.StatusUnauthorized, "X-Hub-Signature does not match the body; check the webhook secret in Jira")
		}
		return nil
	}
	if q := r.URL.Query().Get("secret"); q != "" {
		if subtle.ConstantTimeCompare([]byte(q), []byte(secret)) != 1 {
			return httpx.Errorf(http.StatusUnauthorized, "the webhook secret in the URL is wrong; re-register the webhook from the admin console")
		}
		return nil
	}
	return httpx.Errorf(http.StatusUnauthorized, "unsigned webhook: expected X-Hub-Signature or the secret query parameter")
}

// deliveryKey identifies one change, so Jira's second delivery of the same
// change (Server sends comment changes twice) is recognised.
func deliveryKey(ev *jira.WebhookSummary) string {
	parts := []string{ev.WebhookEvent, strconv.FormatInt(ev.Timestamp, 10)}
	if ev.Issue != nil {
		parts = append(parts, ev.Issue.ID)
	}
	if ev.Changelog != nil {
		parts = append(parts, ev.Changelog.ID)
	}
	if ev.Comment != nil {
		parts = append(parts, ev.Comment.ID)
	}
	return strings.Join(parts, "/")
}
