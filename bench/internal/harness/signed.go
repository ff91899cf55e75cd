package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/appcomponents"
)

// AppGet sends a signed App Components GET to the bridge as Asana does, for
// user (one of Users): params plus user, workspace and expires_at, the raw query string signed
// with the app's client secret. It returns the status and body.
func (w *World) AppGet(ctx context.Context, client *http.Client, user, path string, params url.Values) (int, []byte, error) {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set("user", user)
	q.Set("workspace", w.Seed.Workspace)
	q.Set("expires_at", time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
	raw := q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.Demo.BridgeURL+path+"?"+raw, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("app call %s: %w", path, err)
	}
	req.Header.Set(appcomponents.SignatureHeader, appcomponents.Sign(w.Demo.Config.AsanaClientSecret, raw))
	req.Header.Set("Origin", w.Demo.AsanaURL)
	return send(client, req)
}

// AppPost sends a signed App Components POST: {"data": "<JSON string>"},
// the data string signed, data holding data's fields plus user, workspace
// and expires_at.
func (w *World) AppPost(ctx context.Context, client *http.Client, user, path string, data map[string]any) (int, []byte, error) {
	d := map[string]any{}
	for k, v := range data {
		d[k] = v
	}
	d["user"], d["workspace"] = user, w.Seed.Workspace
	d["expires_at"] = time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
	msg, err := json.Marshal(d)
	if err != nil {
		return 0, nil, fmt.Errorf("app call %s: %w", path, err)
	}
	body, err := json.Marshal(map[string]string{"data": string(msg)})
	if err != nil {
		return 0, nil, fmt.Errorf("app call %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.Demo.BridgeURL+path, strings.NewReader(string(body)))
	if err != nil {
		return 0, nil, fmt.Errorf("app call %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(appcomponents.SignatureHeader, appcomponents.Sign(w.Demo.Config.AsanaClientSecret, string(msg)))
	req.Header.Set("Origin", w.Demo.AsanaURL)
	return send(client, req)
}

func send(client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req) //nolint:gosec // G704: the bridge on loopback, by design
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// SubmitCreate submits the "Create new issue" form for a task, as Asana
// does when user presses Create, and returns the new issue's key.
func (w *World) SubmitCreate(ctx context.Context, client *http.Client, user, task, summary string) (string, error) {
	status, body, err := w.AppPost(ctx, client, user, "/asana/form/submit", map[string]any{"task": task,
		"values": map[string]any{"project": "DEMO", "issuetype": "10002", "summary": summary}})
	if err != nil {
		return "", fmt.Errorf("form submit: %w", err)
	}
	var got struct {
		ResourceURL string `json:"resource_url"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil || !strings.Contains(got.ResourceURL, "/browse/DEMO-") {
		return "", fmt.Errorf("form submit: HTTP %d: %.300s", status, body)
	}
	return got.ResourceURL[strings.LastIndex(got.ResourceURL, "/")+1:], nil
}
