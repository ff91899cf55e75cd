package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
	workspace                                 string
	target, secret, user, client              string
	filters                                   []webhookFilter
	createdAt                                 time.Time
	lastSuccess, lastFailure, nextAttempt     time.Time
	firstFailure                              time.Time
	lastFailureContent                        string
	retryCount                                int
	deleteAfter                               time.Duration
	queue                                     []queued
	wake                                      chan struct{}
	stop                                      context.CancelFunc
}

// queued is an event waiting for delivery until due (wall clock; later than
// now under the delay faults).
type queued struct {
	ev  *event
	due time.Time
}

// webhookFilter is one WebhookFilter as the client sent it. It is a
// distinct type so that rendering never compacts it like a resource.
type webhookFilter map[string]any

// nullTime is a timestamp, or JSON null when unset: Asana sends the webhook
// health fields as null rather than leaving them out.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func (st *state) webhookObj(h *webhook) obj {
	var failureContent, deletion any
	if !h.lastFailure.IsZero() {
		failureContent = h.lastFailureContent
	}
	if !h.firstFailure.IsZero() {
		deletion = ts(h.firstFailure.Add(h.deleteAfter))
	}
	filters := make([]webhookFilter, len(h.filters))
	copy(filters, h.filters)
	return obj{
		"gid": h.gid, "resource_type": "webhook", "active": true, "target": h.target,
		"resource":                   obj{"gid": h.resource, "resource_type": h.resourceType, "name": h.resourceName},
		"created_at":                 ts(h.createdAt),
		"delivery_retry_count":       h.retryCount,
		"filters":                    filters,
		"last_success_at":            nullTime(h.lastSuccess),
		"last_failure_at":            nullTime(h.lastFailure),
		"last_failure_content":       failureContent,
		"next_attempt_after":         nullTime(h.nextAttempt),
		"failure_deletion_timestamp": deletion,
	}
}

// resolveResource names a webhook's resource (a task, project or
// workspace) and its workspace.
func (st *state) resolveResource(gid string) (typ, name, ws string, ok bool) {
	if t := st.lookupTask(gid); t != nil {
		return "task", t.name, t.workspace, true
	}
	if p := st.projects[gid]; p != nil {
		return "project", p.name, p.workspace, true
	}
	if w := st.workspaces[gid]; w != nil {
		return "workspace", w.name, w.gid, true
	}
	return "", "", "", false
}

// higherLevelFilters are what webhooks on a workspace may filter on: task,
// subtask and story events never reach them, and fields are not supported.
var higherLevelFilters = map[string][]string{
	"project":              {"added", "removed", "deleted", "undeleted", "changed"},
	"team_membership":      {"added", "removed"},
	"workspace_membership": {"added", "removed"},
}

var filterActions = []string{"added", "changed", "removed", "deleted", "undeleted"}

// readFilters checks the filters of a create or update for a webhook on a
// resource of type typ.
func readFilters(data map[string]any, typ string) ([]webhookFilter, error) {
	raw, present := data["filters"]
	list, isList := raw.([]any)
	if present && raw != nil && !isList {
		return nil, errorf(http.StatusBadRequest, "filters: Must be an array of WebhookFilter objects")
	}
	filters := []webhookFilter{}
	for i, f := range list {
		m, _ := f.(map[string]any)
		if m == nil {
			return nil, errorf(http.StatusBadRequest, "filters[%d]: Each filter must be an object", i)
		}
		rt, _ := m["resource_type"].(string)
		action, hasAction := m["action"].(string)
		if hasAction && !containsString(filterActions, action) {
			return nil, errorf(http.StatusBadRequest, "filters[%d].action: must be one of %s", i, strings.Join(filterActions, ", "))
		}
		fields, hasFields := m["fields"]
		if hasFields {
			if _, ok := fields.([]any); !ok {
				return nil, errorf(http.StatusBadRequest, "filters[%d].fields: Must be an array of field names", i)
			}
			if action != "changed" {
				return nil, errorf(http.StatusBadRequest, "filters[%d].fields: fields may only be used with action changed", i)
			}
		}
		if typ == "workspace" {
			if hasFields {
				return nil, errorf(http.StatusBadRequest, "filters[%d].fields: Webhooks on a workspace do not support fields filters", i)
			}
			actions, ok := higherLevelFilters[rt]
			if rt == "" {
				return nil, errorf(http.StatusBadRequest, "filters[%d].resource_type: Missing input", i)
			}
			if !ok {
				return nil, errorf(http.StatusBadRequest, "filters[%d].resource_type: Webhooks on a workspace never receive %s events; they may filter on project, team_membership or workspace_membership", i, rt)
			}
			if hasAction && !containsString(actions, action) {
				return nil, errorf(http.StatusBadRequest, "filters[%d].action: Webhooks on a workspace may filter %s events on %s only", i, rt, strings.Join(actions, ", "))
			}
		}
		filters = append(filters, webhookFilter(m))
	}
	if typ == "workspace" && len(filters) == 0 {
		return nil, errorf(http.StatusBadRequest, "filters: Webhooks on a workspace require filters")
	}
	return filters, nil
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
	s.mu.Lock()
	typ, name, ws, ok := s.st.resolveResource(resource)
	s.mu.Unlock()
	if !ok {
		return errorf(http.StatusBadRequest, "resource: Not a recognized ID: %s", resource)
	}
	filters, err := readFilters(q.data, typ)
	if err != nil {
		return err
	}
	secret := randomToken(32)
	if err := s.handshake(q.r.Context(), target, secret); err != nil {
		s.log.Info("asana emulator: webhook handshake failed", "target", target, "err", err)
		return errorf(http.StatusBadRequest, "Could not complete activation handshake with target URL. Please ensure that the receiving server is accepting connections and echoes the X-Hook-Secret header: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &webhook{gid: s.st.newGID(), resource: resource, resourceType: typ, resourceName: name, workspace: ws,
		target: target, secret: secret, user: q.user, client: q.client, filters: filters, createdAt: s.nowLocked(),
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

// listWebhooks is GET /webhooks?workspace=[&resource=]: the webhooks the
// calling app registered for the calling user in that workspace.
func (s *Server) listWebhooks(w http.ResponseWriter, q *apiRequest) error {
	v := q.r.URL.Query()
	ws := v.Get("workspace")
	if ws == "" {
		return errorf(http.StatusBadRequest, "workspace: Missing input")
	}
	s.mu.Lock()
	if s.st.workspaces[ws] == nil {
		s.mu.Unlock()
		return notFound("workspace")
	}
	items := []obj{}
	for _, gid := range s.st.webhookOrder {
		h := s.st.webhooks[gid]
		if h == nil || h.workspace != ws || h.user != q.user || h.client != q.client ||
			(v.Get("resource") != "" && h.resource != v.Get("resource")) {
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

// updateWebhook is PUT /webhooks/{webhook_gid}: it replaces the filters.
func (s *Server) updateWebhook(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.st.webhooks[q.r.PathValue("webhook_gid")]
	if h == nil {
		return notFound("webhook")
	}
	filters, err := readFilters(q.data, h.resourceType)
	if err != nil {
		return err
	}
	h.filters = filters
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
func (h *webhook) matches(ev *event) bool {
	if !containsString(ev.scopes, h.resource) {
		return false
	}
	if len(h.filters) == 0 {
		return true
	}
	res, _ := ev.hook["resource"].(obj)
	for _, f := range h.filters {
		if rt, ok := f["resource_type"].(string); ok && rt != res["resource_type"] {
			continue
		}
		if rs, ok := f["resource_subtype"].(string); ok && rs != res["resource_subtype"] {
			continue
		}
		if a, ok := f["action"].(string); ok && a != ev.action {
			continue
		}
		if fields, ok := f["fields"].([]any); ok && !slices.Contains(fields, any(ev.field)) {
			continue
		}
		return true
	}
	return false
}

// queueWebhookEventsLocked hands an event to every webhook that wants it,
// applying the delivery faults (drop, duplicate, delay) per webhook.
func (s *Server) queueWebhookEventsLocked(ev *event) {
	f := s.st.faults
	faulty := f.appliesTo(scopeWebhooks)
	for _, gid := range s.st.webhookOrder {
		h := s.st.webhooks[gid]
		if !h.matches(ev) {
			continue
		}
		copies, due := 1, time.Now()
		if faulty {
			if f.DropRate > 0 && s.st.rng.Float64() < f.DropRate {
				s.log.Debug("asana emulator: dropping a webhook event (drop_rate fault)", "webhook", h.gid, "seq", ev.seq)
				continue
			}
			if f.DuplicateRate > 0 && s.st.rng.Float64() < f.DuplicateRate {
				copies = 2
			}
			due = due.Add(s.deliveryDelayLocked())
		}
		for range copies {
			h.queue = append(h.queue, queued{ev: ev, due: due})
		}
		select {
		case h.wake <- struct{}{}:
		default:
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

// takeDueLocked removes and returns up to 100 queued events that are due,
// and when the next one falls due.
func (h *webhook) takeDueLocked(now time.Time) (batch []*event, next time.Time) {
	rest := h.queue[:0]
	for _, qd := range h.queue {
		switch {
		case !qd.due.After(now) && len(batch) < 100:
			batch = append(batch, qd.ev)
		default:
			rest = append(rest, qd)
			if next.IsZero() || qd.due.Before(next) {
				next = qd.due
			}
		}
	}
	h.queue = rest
	return batch, next
}

func (s *Server) deliveryLoop(ctx context.Context, h *webhook) {
	heartbeat := time.NewTimer(s.timing.Heartbeat)
	defer heartbeat.Stop()
	var due *time.Timer
	defer func() {
		if due != nil {
			due.Stop()
		}
	}()
	for {
		s.mu.Lock()
		batch, next := h.takeDueLocked(time.Now())
		if len(batch) > 1 && s.st.faults.Reorder && s.st.faults.appliesTo(scopeWebhooks) {
			s.st.rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		}
		s.mu.Unlock()
		if len(batch) == 0 {
			var dueC <-chan time.Time
			if !next.IsZero() {
				if due == nil {
					due = time.NewTimer(time.Until(next))
				} else {
					due.Reset(time.Until(next))
				}
				dueC = due.C
			}
			select {
			case <-ctx.Done():
				return
			case <-h.wake:
				// Asana batches what happens in short succession.
				if s.timing.DeliveryDelay > 0 && !sleepCtx(ctx, s.timing.DeliveryDelay) {
					return
				}
				continue
			case <-dueC:
				continue
			case <-heartbeat.C:
			}
		}
		// Deliver the batch (or a heartbeat), retrying with backoff until it
		// succeeds or the webhook is deleted.
		if !s.deliverWithRetry(ctx, h, batch) {
			return
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

// deliverWithRetry delivers one batch until it succeeds; false means stop
// (the server closes or the webhook was deleted after failing too long).
func (s *Server) deliverWithRetry(ctx context.Context, h *webhook, batch []*event) bool {
	for {
		err := s.deliver(ctx, h, batch)
		if ctx.Err() != nil {
			return false
		}
		s.mu.Lock()
		now := s.nowLocked()
		if err == nil {
			h.lastSuccess, h.retryCount = now, 0
			h.firstFailure, h.nextAttempt = time.Time{}, time.Time{}
			s.mu.Unlock()
			return true
		}
		h.lastFailure, h.lastFailureContent = now, err.Error()
		if h.firstFailure.IsZero() {
			h.firstFailure = now
		}
		if now.Sub(h.firstFailure) >= s.timing.DeleteAfter {
			s.log.Warn("asana emulator: deleting webhook after failed deliveries", "webhook", h.gid, "target", h.target, "err", err)
			s.removeWebhookLocked(h)
			s.mu.Unlock()
			return false
		}
		backoff := s.timing.RetryBackoff << min(h.retryCount, 20)
		backoff = min(backoff, s.timing.RetryBackoffMax)
		h.retryCount++
		h.nextAttempt = now.Add(backoff)
		s.mu.Unlock()
		s.log.Info("asana emulator: webhook delivery failed, will retry", "webhook", h.gid, "err", err, "retry_in", backoff)
		if !sleepCtx(ctx, backoff) {
			return false
		}
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
func (s *Server) deliver(ctx context.Context, h *webhook, batch []*event) error {
	evs := make([]obj, 0, len(batch))
	for _, ev := range batch {
		evs = append(evs, ev.hook)
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
