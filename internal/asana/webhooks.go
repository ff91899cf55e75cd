package asana

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"iter"
	"net/http"
	"net/url"
	"strings"
)

// Webhook is an Asana webhook registration.
type Webhook struct {
	GID      string `json:"gid"`
	Resource Ref    `json:"resource"`
	Target   string `json:"target"`
	Active   bool   `json:"active"`
	// Secret is the X-Hook-Secret of the handshake, when the create answer
	// carries it (in data or as a header).
	Secret             string `json:"x_hook_secret,omitempty"`
	LastSuccessAt      string `json:"last_success_at,omitempty"`
	LastFailureAt      string `json:"last_failure_at,omitempty"`
	LastFailureContent string `json:"last_failure_content,omitempty"`
	// DeliveryRetryCount counts the failed attempts of the current
	// delivery; NextAttemptAfter is when Asana tries again, and
	// FailureDeletionTimestamp when it deletes the webhook if deliveries
	// keep failing (null while they succeed).
	DeliveryRetryCount       int    `json:"delivery_retry_count,omitempty"`
	NextAttemptAfter         string `json:"next_attempt_after,omitempty"`
	FailureDeletionTimestamp string `json:"failure_deletion_timestamp,omitempty"`
}

// webhookFields are the opt_fields of a webhook with its health.
var webhookFields = []string{"active", "resource", "target", "last_success_at", "last_failure_at", "last_failure_content",
	"delivery_retry_count", "next_attempt_after", "failure_deletion_timestamp"}

// Webhook reads a webhook with its health fields; ErrNotFound once Asana
// deleted it.
//
// https://developers.asana.com/reference/getwebhook
func (c *Client) Webhook(ctx context.Context, gid string) (*Webhook, error) {
	var w Webhook
	if _, err := c.get(ctx, "webhooks/"+url.PathEscape(gid), optFields(nil, webhookFields), &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// Webhooks yields the webhooks this app made with this token in a
// workspace, on resource when it is not "", with their health fields.
//
// https://developers.asana.com/reference/getwebhooks
func (c *Client) Webhooks(ctx context.Context, workspace, resource string) iter.Seq2[Webhook, error] {
	q := url.Values{"workspace": {workspace}}
	if resource != "" {
		q.Set("resource", resource)
	}
	return list[Webhook](ctx, c, "webhooks", optFields(q, webhookFields))
}

// WebhookFilter narrows the events of a webhook.
type WebhookFilter struct {
	ResourceType    string   `json:"resource_type"`
	ResourceSubtype string   `json:"resource_subtype,omitempty"`
	Action          string   `json:"action,omitempty"`
	Fields          []string `json:"fields,omitempty"`
}

// CreateWebhook registers a webhook on resource that delivers to target.
// Asana performs the X-Hook-Secret handshake with target before this call
// returns, so the receiving handler must already be serving.
//
// https://developers.asana.com/reference/createwebhook
func (c *Client) CreateWebhook(ctx context.Context, resource, target string, filters []WebhookFilter) (*Webhook, error) {
	body := map[string]any{"resource": resource, "target": target}
	if len(filters) > 0 {
		body["filters"] = filters
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "webhooks", body)
	if err != nil {
		return nil, err
	}
	var w Webhook
	resp, err := c.Do(req, &w)
	if err != nil {
		return nil, err
	}
	if w.Secret == "" {
		w.Secret = resp.Header.Get("X-Hook-Secret")
	}
	return &w, nil
}

// DeleteWebhook removes a webhook.
//
// https://developers.asana.com/reference/deletewebhook
func (c *Client) DeleteWebhook(ctx context.Context, gid string) error {
	return c.send(ctx, http.MethodDelete, "webhooks/"+url.PathEscape(gid), nil, nil)
}

// VerifySignature checks an X-Hook-Signature header: the lowercase hex
// HMAC-SHA256 of the raw request body, keyed with the webhook's
// X-Hook-Secret. Pass the bytes exactly as received, never re-encoded JSON.
// The comparison takes constant time.
func VerifySignature(secret string, rawBody []byte, header string) bool {
	want, err := hex.DecodeString(strings.TrimSpace(header))
	if err != nil || len(want) != sha256.Size || secret == "" {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(rawBody)
	return hmac.Equal(mac.Sum(nil), want)
}
