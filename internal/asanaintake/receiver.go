package asanaintake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
)

// MaxBody is the largest webhook delivery accepted: at most 100 compact
// events, a few tens of KiB.
const MaxBody = 1 << 20

// Receiver returns the handler of POST /asana/hooks/{project}, where Asana
// delivers a project's webhook events:
//   - a request with X-Hook-Secret is the handshake of a webhook being
//     created: accepted (the header echoed, 200) only while that project's
//     registration is pending and has no secret yet, else 403;
//   - a delivery must carry X-Hook-Signature, the HMAC-SHA256 of the raw
//     body under the handshake's secret, checked before the body is read
//     (401 when missing or wrong, 404 for a project without a webhook);
//   - an empty delivery is a heartbeat (200); otherwise the changes the
//     events tell of are recorded in one transaction, then 200. A body that
//     is not {"events": [...]} is a 400; nothing is recorded for a refused
//     request, and a failure to record is a 500, which Asana retries.
func (in *Intake) Receiver() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+HookPath+"{project}", httpx.Handle(in.log, in.receive))
	return mux
}

func (in *Intake) receive(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	project := r.PathValue("project")
	if !isGID(project) {
		return in.refuse(http.StatusNotFound, "%q is not an Asana project id", project)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		in.metrics.deliveries.WithLabelValues("refused").Inc()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return httpx.Wrap(http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook body larger than %d bytes", MaxBody), err)
		}
		return httpx.Wrap(http.StatusBadRequest, "cannot read the webhook body", err)
	}
	now := in.cfg.Now()
	if secret := r.Header.Get("X-Hook-Secret"); secret != "" {
		ok, err := in.st.AcceptAsanaWebhookHandshake(ctx, project, in.Target(project), store.Secret(secret), now)
		if err != nil {
			return wrap("webhook handshake", err)
		}
		if !ok {
			return in.refuse(http.StatusForbidden, "no Asana webhook registration is pending for project %s", project)
		}
		in.metrics.deliveries.WithLabelValues("handshake").Inc()
		w.Header().Set("X-Hook-Secret", secret)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	sig := r.Header.Get("X-Hook-Signature")
	if sig == "" {
		return in.refuse(http.StatusUnauthorized, "unsigned delivery: X-Hook-Signature is missing")
	}
	hook, err := in.st.GetAsanaWebhook(ctx, project)
	if errors.Is(err, store.ErrNotFound) {
		return in.refuse(http.StatusNotFound, "asanajira has no Asana webhook for project %s", project)
	}
	if err != nil {
		return wrap("webhook", err)
	}
	if !asana.VerifySignature(hook.Secret.Reveal(), body, sig) {
		return in.refuse(http.StatusUnauthorized, "X-Hook-Signature does not match the body")
	}
	var delivery struct {
		Events *[]asana.Event `json:"events"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&delivery); err != nil || delivery.Events == nil {
		return in.refuse(http.StatusBadRequest, "the body is not an Asana webhook delivery ({\"events\": [...]})")
	}
	events := *delivery.Events
	if len(events) == 0 {
		if err := in.st.TouchAsanaWebhook(ctx, project, true, now); err != nil {
			return wrap("heartbeat", err)
		}
		in.metrics.deliveries.WithLabelValues("heartbeat").Inc()
		w.WriteHeader(http.StatusOK)
		return nil
	}
	var rec recorded
	err = in.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if rec, err = in.recordEvents(ctx, tx, SourceWebhook, events, nil); err != nil {
			return err
		}
		if rec.unplaced > 0 {
			// A story edited or deleted names no task, and no mirror maps
			// it: the events stream is read now, where the poller can ask
			// Asana which task the story is on.
			if err := tx.WakeAsanaProject(ctx, project, now); err != nil {
				return err
			}
		}
		return tx.TouchAsanaWebhook(ctx, project, false, now)
	})
	if err != nil {
		return fmt.Errorf("asanaintake: record a delivery for project %s: %w", project, err)
	}
	in.metrics.deliveries.WithLabelValues("events").Inc()
	in.log.LogAttrs(ctx, slog.LevelDebug, "Asana webhook delivery", slog.String("project", project),
		slog.Int("events", len(events)), slog.Int("recorded", rec.recorded), slog.Int("duplicates", rec.duplicates))
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"recorded": rec.recorded, "duplicates": rec.duplicates})
	return nil
}

func (in *Intake) refuse(status int, format string, a ...any) error {
	in.metrics.deliveries.WithLabelValues("refused").Inc()
	return httpx.Errorf(status, format, a...)
}

// isGID reports whether s looks like an Asana gid (digits only).
func isGID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
