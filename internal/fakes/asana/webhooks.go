package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// WebhookTiming sets the pace of webhook work. Zero fields take Asana's
// documented values; tests shrink them to milliseconds.
type WebhookTiming struct {
	// DeliveryDelay batches events for this long before a delivery
	// (Asana delivers "usually within a minute"); zero delivers at once.
	DeliveryDelay time.Duration
	// RetryBackoff is the first retry delay after a failed delivery; it
	// doubles per attempt up to RetryBackoffMax. Default 1 minute / 1 hour.
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// DeleteAfter deletes a webhook whose deliveries and heartbeats have
	// failed for this long. Default 24 hours.
	DeleteAfter time.Duration
	// Heartbeat is the interval of empty heartbeat deliveries. Default 8 hours.
	Heartbeat time.Duration
}

func (t WebhookTiming) withDefaults() WebhookTiming {
	if t.RetryBackoff <= 0 {
		t.RetryBackoff = time.Minute
	}
	if t.RetryBackoffMax <= 0 {
		t.RetryBackoffMax = time.Hour
	}
	if t.DeleteAfter <= 0 {
		t.DeleteAfter = 24 * time.Hour
	}
	if t.Heartbeat <= 0 {
		t.Heartbeat = 8 * time.Hour
	}
	return t
}

type webhook struct {
	gid, resource, resourceType, resourceName string
	target, secret, user                      string
	filters                                   []obj
	createdAt                                 time.Time
	lastSuccess, lastFailure, nextAttempt     time.Time
	firstFailure                              time.Time
	lastFailureContent                        string
	retryCount                                int
	deleteAfter                               time.Duration
	queue                                     []event
	wake                                      chan struct{}
	stop                                      context.CancelFunc
}

func (st *state) webhookObj(h *webhook) obj {
	o := obj{
		"gid": h.gid, "resource_type": "webhook", "active": true, "target": h.target,
		"resource":             obj{"gid": h.resource, "resource_type": h.resourceType, "name": h.resourceName},
		"created_at":           ts(h.createdAt),
		"delivery_retry_count": h.retryCount,
		"filters":              h.filters,
	}
	if !h.lastSuccess.IsZero() {
		o["last_success_at"] = ts(h.lastSuccess)
	}
	if !h.lastFailure.IsZero() {
		o["last_failure_at"] = ts(h.lastFailure)
		o["last_failure_content"] = h.lastFailureContent
	}
	if !h.nextAttempt.IsZero() {
		o["next_attempt_after"] = ts(h.nextAttempt)
	}
	if !h.firstFailure.IsZero() {
		o["failure_deletion_timestamp"] = ts(h.firstFailure.Add(h.deleteAfter))
	}
	return o
}

// resolveResource names a webhook's resource: a task, project or workspace.
func (st *state) resolveResource(gid string) (typ, name string, ok bool) {
	if t := st.lookupTask(gid); t != nil {
		return "task", t.name, true
	}
	if p := st.projects[gid]; p != nil {
		return "project", p.name, true
	}
	if w := st.workspaces[gid]; w != nil {
		return "workspace", w.name, true
	}
	return "", "", false
}

// createWebhook is POST /webhooks: it performs the X-Hook-Secret handshake
// with the target before it answers, as Asana does.
func (s *Server) createWebhook(w http.ResponseWriter, q *apiRequest) error {
	resource, _ := str(q.data, "resource")
	target, _ := str(q.data, "target")
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errorf(http.StatusBadRequest, "target: Must be an absolute https URL")
	}
	var filters []obj
	if fs, ok := q.data["filters"].([]any); ok {
		for _, f := range fs {
			m, _ := f.(map[string]any)
			if m == nil {
				return errorf(http.StatusBadRequest, "filters: Each filter must be an object")
			}
			if _, hasFields := m["fields"]; hasFields && m["action"] != "changed" {
				return errorf(http.StatusBadRequest, "filters: fields may only be used with action changed")
			}
			filters = append(filters, obj(m))
		}
	}
	s.mu.Lock()
	typ, name, ok := s.st.resolveResource(resource)
	s.mu.Unlock()
	if !ok {
		return errorf(http.StatusBadRequest, "resource: Not a recognized ID: %s", resource)
	}
	if (typ == "workspace") && len(filters) == 0 {
		return errorf(http.StatusBadRequest, "filters: Webhooks on a workspace require filters")
	}
	secret := randomToken(32)
	if err := s.handshake(q.r.Context(), target, secret); err != nil {
		s.log.Info("asana emulator: webhook handshake failed", "target", target, "err", err)
		return errorf(http.StatusBadRequest, "Could not complete activation handshake with target URL. Please ensure that the receiving server is accepting connections and echoes the X-Hook-Secret header: %v", err)
	}
	if filters == nil {
		filters = []obj{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &webhook{gid: s.st.newGID(), resource: resource, resourceType: typ, resourceName: name,
		target: target, secret: secret, user: q.user, filters: filters, createdAt: s.nowLocked(),
		wake: make(chan struct{}, 1), deleteAfter: s.timing.DeleteAfter}
	s.st.webhooks[h.gid] = h
	s.st.webhookOrder = append(s.st.webhookOrder, h.gid)
	s.startDelivery(h)
	w.Header().Set("X-Hook-Secret", secret)
	w.Header().Set("Location", "/api/1.0/webhooks/"+h.gid)
	writeJSON(w, http.StatusCreated, obj{"data": selectFields(s.st.webhookObj(h), q.optFields, false), "X-Hook-Secret": secret})
	return nil
}

// handshake POSTs the secret to the target and wants it echoed with 200/204.
func (s *Server) handshake(ctx context.Context, target, secret string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, http.NoBody)
	if err != nil {
		return fmt.Errorf("handshake request: %w", err)
	}
	req.Header.Set("X-Hook-Secret", secret)
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("handshake: target answered %d", resp.StatusCode)
	}
	if resp.Header.Get("X-Hook-Secret") != secret {
		return fmt.Errorf("handshake: target did not echo X-Hook-Secret")
	}
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, q *apiRequest) error {
	v := q.r.URL.Query()
	if v.Get("workspace") == "" {
		return errorf(http.StatusBadRequest, "workspace: Missing input")
	}
	s.mu.Lock()
	var items []obj
	for _, gid := range s.st.webhookOrder {
		h := s.st.webhooks[gid]
		if h == nil || (v.Get("resource") != "" && h.resource != v.Get("resource")) {
			continue
		}
		items = append(items, s.st.webhookObj(h))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) getWebhook(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.st.webhooks[q.r.PathValue("webhook_gid")]
	if h == nil {
		return notFound("webhook")
	}
	return writeOne(w, http.StatusOK, q, s.st.webhookObj(h))
}

func (s *Server) updateWebhook(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.st.webhooks[q.r.PathValue("webhook_gid")]
	if h == nil {
		return notFound("webhook")
	}
	fs, _ := q.data["filters"].([]any)
	h.filters = []obj{}
	for _, f := range fs {
		if m, ok := f.(map[string]any); ok {
			h.filters = append(h.filters, obj(m))
		}
	}
	return writeOne(w, http.StatusOK, q, s.st.webhookObj(h))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.st.webhooks[q.r.PathValue("webhook_gid")]
	if h == nil {
		return notFound("webhook")
	}
	s.removeWebhookLocked(h)
	writeJSON(w, http.StatusOK, obj{"data": obj{}})
	return nil
}

func (s *Server) removeWebhookLocked(h *webhook) {
	h.stop()
	delete(s.st.webhooks, h.gid)
	s.st.webhookOrder = removeString(s.st.webhookOrder, h.gid)
}

// matches reports whether any filter admits the event (no filters: all do).
func (h *webhook) matches(ev event) bool {
	if !containsString(ev.scopes, h.resource) {
		return false
	}
	if len(h.filters) == 0 {
		return true
	}
	for _, f := range h.filters {
		if rt, ok := f["resource_type"].(string); ok && rt != ev.resource["resource_type"] {
			continue
		}
		if rs, ok := f["resource_subtype"].(string); ok && rs != ev.resource["resource_subtype"] {
			continue
		}
		if a, ok := f["action"].(string); ok && a != ev.action {
			continue
		}
		if fields, ok := f["fields"].([]any); ok {
			field, _ := ev.change["field"].(string)
			found := false
			for _, x := range fields {
				found = found || x == field
			}
			if !found {
				continue
			}
		}
		return true
	}
	return false
}

func (s *Server) queueWebhookEventsLocked(ev event) {
	for _, h := range s.st.webhooks {
		if h.matches(ev) {
			h.queue = append(h.queue, ev)
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
}

// startDelivery runs the webhook's delivery loop until the webhook is
// deleted or the server closes. s.mu is held.
func (s *Server) startDelivery(h *webhook) {
	ctx, cancel := context.WithCancel(s.ctx)
	h.stop = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.deliveryLoop(ctx, h)
	}()
}

func (s *Server) deliveryLoop(ctx context.Context, h *webhook) {
	heartbeat := time.NewTimer(s.timing.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
			if s.timing.DeliveryDelay > 0 && !sleepCtx(ctx, s.timing.DeliveryDelay) {
				return
			}
		case <-heartbeat.C:
		}
		// Deliver what is queued (or a heartbeat), retrying with backoff
		// until it succeeds or the webhook is deleted.
		for {
			s.mu.Lock()
			batch := h.queue
			if len(batch) > 100 {
				batch = batch[:100]
			}
			s.mu.Unlock()
			err := s.deliver(ctx, h, batch)
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			now := s.nowLocked()
			if err == nil {
				h.queue = h.queue[len(batch):]
				h.lastSuccess, h.retryCount = now, 0
				h.firstFailure, h.nextAttempt = time.Time{}, time.Time{}
				more := len(h.queue) > 0
				s.mu.Unlock()
				if more {
					continue
				}
				break
			}
			h.lastFailure, h.lastFailureContent = now, err.Error()
			if h.firstFailure.IsZero() {
				h.firstFailure = now
			}
			if now.Sub(h.firstFailure) >= s.timing.DeleteAfter {
				s.log.Warn("asana emulator: deleting webhook after failed deliveries", "webhook", h.gid, "target", h.target, "err", err)
				s.removeWebhookLocked(h)
				s.mu.Unlock()
				return
			}
			backoff := s.timing.RetryBackoff << min(h.retryCount, 20)
			backoff = min(backoff, s.timing.RetryBackoffMax)
			h.retryCount++
			h.nextAttempt = now.Add(backoff)
			s.mu.Unlock()
			s.log.Info("asana emulator: webhook delivery failed, will retry", "webhook", h.gid, "err", err, "retry_in", backoff)
			if !sleepCtx(ctx, backoff) {
				return
			}
		}
		if !heartbeat.Stop() {
			select {
			case <-heartbeat.C:
			default:
			}
		}
		heartbeat.Reset(s.timing.Heartbeat)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// deliver POSTs {"events": [...]} signed with X-Hook-Signature (HMAC-SHA256
// of the raw body with the webhook's secret). An empty batch is a heartbeat.
func (s *Server) deliver(ctx context.Context, h *webhook, batch []event) error {
	evs := make([]obj, 0, len(batch))
	for _, ev := range batch {
		evs = append(evs, ev.json())
	}
	body, err := json.Marshal(obj{"events": evs})
	if err != nil {
		return fmt.Errorf("encode events: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("delivery request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hook-Signature", Sign(h.secret, string(body)))
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("target answered %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// WebhookInfo is a webhook as tests see it.
type WebhookInfo struct {
	GID, Resource, Target, Secret string
	RetryCount                    int
	LastSuccess, LastFailure      time.Time
	Queued                        int
}

// Webhooks returns the active webhooks, oldest first.
func (s *Server) Webhooks() []WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []WebhookInfo
	for _, gid := range s.st.webhookOrder {
		h := s.st.webhooks[gid]
		out = append(out, WebhookInfo{GID: h.gid, Resource: h.resource, Target: h.target, Secret: h.secret,
			RetryCount: h.retryCount, LastSuccess: h.lastSuccess, LastFailure: h.lastFailure, Queued: len(h.queue)})
	}
	return out
}
