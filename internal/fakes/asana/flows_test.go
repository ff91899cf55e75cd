package asana

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func TestOAuthFlow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, hs := newTestServer(t, Options{Now: clock, TokenLifetime: time.Hour,
		App: AppRegistration{RedirectURLs: []string{"https://bridge.example/oauth/callback"}}})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "a-long-random-code-verifier-string-for-pkce-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	auth := url.Values{"client_id": {"asanajira-demo"}, "redirect_uri": {"https://bridge.example/oauth/callback"},
		"response_type": {"code"}, "state": {"st-1"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}

	// The page lists the demo users; a wrong redirect URI gets no redirect.
	resp, err := browser.Get(hs.URL + "/-/oauth_authorize?" + auth.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "admin, alice, bob") {
		t.Fatalf("authorize page: %d", resp.StatusCode)
	}
	bad := url.Values{}
	for k, v := range auth {
		bad[k] = v
	}
	bad.Set("redirect_uri", "https://evil.example/cb")
	if resp, _ := browser.Get(hs.URL + "/-/oauth_authorize?" + bad.Encode()); resp.StatusCode != 400 {
		t.Errorf("bad redirect_uri: %d", resp.StatusCode)
	}

	decide := func(decision, user string) *url.URL {
		t.Helper()
		v := url.Values{"decision": {decision}, "username": {user}, "password": {user}}
		for k, vs := range auth {
			v[k] = vs
		}
		resp, err := browser.PostForm(hs.URL+"/-/oauth_authorize", v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("decision: %d", resp.StatusCode)
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc
	}
	denied := decide("deny", "alice")
	if denied.Query().Get("error") != "access_denied" || denied.Query().Get("state") != "st-1" {
		t.Errorf("deny redirect: %s", denied)
	}
	loc := decide("allow", "alice")
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "st-1" || loc.Host != "bridge.example" {
		t.Fatalf("allow redirect: %s", loc)
	}

	tokenURL := hs.URL + "/-/oauth_token"
	exchange := url.Values{"grant_type": {"authorization_code"}, "client_id": {"asanajira-demo"}, "client_secret": {"demo-secret"},
		"redirect_uri": {"https://bridge.example/oauth/callback"}, "code": {code}}
	// PKCE: a wrong verifier fails and burns the code.
	wrong := url.Values{}
	for k, v := range exchange {
		wrong[k] = v
	}
	wrong.Set("code_verifier", "wrong")
	if st, m := postForm(t, hs.Client(), tokenURL, wrong); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", st, m)
	}
	code, err = s.IssueOAuthCode("alice", "https://bridge.example/oauth/callback", challenge)
	if err != nil {
		t.Fatal(err)
	}
	exchange.Set("code", code)
	exchange.Set("code_verifier", verifier)
	st, tok := postForm(t, hs.Client(), tokenURL, exchange)
	if st != 200 {
		t.Fatalf("exchange: %d %v", st, tok)
	}
	if tok["token_type"] != "bearer" || tok["expires_in"] != float64(3600) || tok["refresh_token"] == nil ||
		tok["data"].(map[string]any)["gid"] != s.Seed().Users["alice"] {
		t.Errorf("token answer: %v", tok)
	}
	if st, _ := postForm(t, hs.Client(), tokenURL, exchange); st != 400 {
		t.Errorf("code reuse: %d", st)
	}
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	if r := call(t, hs, access, "GET", "/users/me", nil); r.Status != 200 {
		t.Errorf("access token: %d", r.Status)
	}
	// Expiry, then refresh.
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	if r := call(t, hs, access, "GET", "/users/me", nil); r.Status != 401 {
		t.Errorf("expired token: %d", r.Status)
	}
	st, tok = postForm(t, hs.Client(), tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {"asanajira-demo"},
		"client_secret": {"demo-secret"}, "redirect_uri": {"https://bridge.example/oauth/callback"}, "refresh_token": {refresh}})
	if st != 200 || tok["access_token"] == nil || tok["refresh_token"] != nil {
		t.Fatalf("refresh: %d %v", st, tok)
	}
	access = tok["access_token"].(string)
	if r := call(t, hs, access, "GET", "/users/me", nil); r.Status != 200 {
		t.Errorf("refreshed token: %d", r.Status)
	}
	// Wrong secret; revoke with an access token is refused; revoke works.
	if st, m := postForm(t, hs.Client(), tokenURL, url.Values{"grant_type": {"refresh_token"}, "client_id": {"asanajira-demo"},
		"client_secret": {"nope"}, "refresh_token": {refresh}}); st != 401 || m["error"] != "invalid_client" {
		t.Errorf("bad secret: %d %v", st, m)
	}
	revoke := url.Values{"client_id": {"asanajira-demo"}, "client_secret": {"demo-secret"}, "token": {access}}
	if st, _ := postForm(t, hs.Client(), hs.URL+"/-/oauth_revoke", revoke); st != 400 {
		t.Errorf("revoke access token: %d", st)
	}
	revoke.Set("token", refresh)
	if st, _ := postForm(t, hs.Client(), hs.URL+"/-/oauth_revoke", revoke); st != 200 {
		t.Errorf("revoke: %d", st)
	}
	if r := call(t, hs, access, "GET", "/users/me", nil); r.Status != 401 {
		t.Errorf("access token after revoke: %d", r.Status)
	}
	revoke.Set("token", "unknown")
	if st, _ := postForm(t, hs.Client(), hs.URL+"/-/oauth_revoke", revoke); st != 200 {
		t.Errorf("revoke unknown: %d", st)
	}
}

func TestEventsSyncTokens(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	task := seed.Tasks[0].GID
	r := call(t, hs, "pat-alice", "GET", "/events?resource="+task, nil)
	if r.Status != http.StatusPreconditionFailed {
		t.Fatalf("first call: %d", r.Status)
	}
	sync := r.decode(t)["sync"].(string)
	if r := call(t, hs, "pat-alice", "GET", "/events?resource="+task+"&sync=stale-token", nil); r.Status != 412 || r.decode(t)["sync"] == "" {
		t.Errorf("unknown token: %d", r.Status)
	}
	call(t, hs, "pat-alice", "PUT", "/tasks/"+task, map[string]any{"data": map[string]any{"name": "Renamed"}})
	call(t, hs, "pat-bob", "POST", "/tasks/"+task+"/stories", map[string]any{"data": map[string]any{"text": "hi"}})
	r = call(t, hs, "pat-alice", "GET", "/events?resource="+task+"&sync="+sync, nil)
	if r.Status != 200 {
		t.Fatalf("events: %d %s", r.Status, r.Body)
	}
	body := r.decode(t)
	var got []string
	for _, e := range body["data"].([]any) {
		m := e.(map[string]any)
		got = append(got, m["action"].(string)+" "+m["resource"].(map[string]any)["resource_type"].(string))
	}
	// The rename records the task change and its name_changed story.
	if diff := cmp.Diff([]string{"changed task", "added story", "added story"}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if body["has_more"] != false {
		t.Errorf("has_more: %v", body["has_more"])
	}
	// Project streams see task events too; 75 renames (150 events: the
	// change and its story each) come in two pages.
	r = call(t, hs, "pat-alice", "GET", "/events?resource="+seed.Project, nil)
	psync := r.decode(t)["sync"].(string)
	for i := range 75 {
		call(t, hs, "pat-alice", "PUT", "/tasks/"+task, map[string]any{"data": map[string]any{"name": "n" + string(rune('a'+i%26))}})
	}
	r = call(t, hs, "pat-alice", "GET", "/events?resource="+seed.Project+"&sync="+psync, nil)
	body = r.decode(t)
	if n := len(body["data"].([]any)); n != 100 || body["has_more"] != true {
		t.Fatalf("first page: %d events, has_more %v", n, body["has_more"])
	}
	r = call(t, hs, "pat-alice", "GET", "/events?resource="+seed.Project+"&sync="+body["sync"].(string), nil)
	body = r.decode(t)
	if n := len(body["data"].([]any)); n != 50 || body["has_more"] != false {
		t.Errorf("second page: %d events, has_more %v", n, body["has_more"])
	}
	// A token is bound to its resource.
	if r := call(t, hs, "pat-alice", "GET", "/events?resource="+task+"&sync="+body["sync"].(string), nil); r.Status != 412 {
		t.Errorf("token of another resource: %d", r.Status)
	}
}

// hookTarget is a webhook receiver that answers the handshake and records
// verified deliveries.
type hookTarget struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	fail     bool
	bodies   []map[string]any
	badSigs  int
	attempts int
	block    chan struct{}
	// hold, when set, runs (once) before the next delivery is answered.
	hold func()
}

func newHookTarget(t *testing.T) *hookTarget {
	h := &hookTarget{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.block != nil {
			<-h.block
		}
		if s := r.Header.Get("X-Hook-Secret"); s != "" {
			h.mu.Lock()
			h.secret = s
			h.mu.Unlock()
			w.Header().Set("X-Hook-Secret", s)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		hold := h.hold
		h.hold = nil
		h.mu.Unlock()
		if hold != nil {
			hold()
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.attempts++
		if h.fail {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("X-Hook-Signature") != Sign(h.secret, string(raw)) {
			h.badSigs++
		}
		var m map[string]any
		_ = json.Unmarshal(raw, &m) // a body that is not JSON is recorded as nil
		h.bodies = append(h.bodies, m)
	}))
	t.Cleanup(h.Close)
	return h
}

// waitFor polls cond until it holds; the test's own timeout bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{WebhookTiming: WebhookTiming{RetryBackoff: time.Millisecond, RetryBackoffMax: 5 * time.Millisecond,
		DeleteAfter: 50 * time.Millisecond, Heartbeat: time.Hour}})
	seed := s.Seed()
	target := newHookTarget(t)

	// A target that does not echo the secret fails the create call.
	noEcho := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer noEcho.Close()
	if r := call(t, hs, "pat-alice", "POST", "/webhooks", map[string]any{"data": map[string]any{"resource": seed.Project, "target": noEcho.URL}}); r.Status != 400 {
		t.Errorf("no echo: %d", r.Status)
	}

	r := call(t, hs, "pat-alice", "POST", "/webhooks", map[string]any{"data": map[string]any{
		"resource": seed.Project, "target": target.URL + "/hooks?conn=1",
		"filters": []any{map[string]any{"resource_type": "story", "action": "added"}}}})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	target.mu.Lock()
	secret := target.secret
	target.mu.Unlock()
	if secret == "" || r.Header.Get("X-Hook-Secret") != secret || r.decode(t)["X-Hook-Secret"] != secret {
		t.Fatalf("handshake secret not echoed in the answer")
	}
	gid := r.data(t)["gid"].(string)

	// A task change is filtered out; a comment is delivered, signed.
	call(t, hs, "pat-alice", "PUT", "/tasks/"+seed.Tasks[0].GID, map[string]any{"data": map[string]any{"name": "x"}})
	call(t, hs, "pat-bob", "POST", "/tasks/"+seed.Tasks[0].GID+"/stories", map[string]any{"data": map[string]any{"text": "hello"}})
	waitFor(t, "delivery", func() bool { target.mu.Lock(); defer target.mu.Unlock(); return len(target.bodies) > 0 })
	target.mu.Lock()
	evs := target.bodies[0]["events"].([]any)
	bad := target.badSigs
	target.mu.Unlock()
	if len(evs) != 1 || evs[0].(map[string]any)["resource"].(map[string]any)["resource_type"] != "story" || bad != 0 {
		t.Errorf("delivered %v (bad signatures %d)", evs, bad)
	}
	// The target has the body before the emulator records the success.
	waitFor(t, "last_success_at", func() bool {
		r := call(t, hs, "pat-alice", "GET", "/webhooks/"+gid, nil)
		return r.Status == 200 && r.data(t)["last_success_at"] != nil
	})
	if r := call(t, hs, "pat-alice", "GET", "/webhooks?workspace="+seed.Workspace, nil); len(r.list(t)) != 1 {
		t.Errorf("list: %s", r.Body)
	}

	// A failing target is retried, then the webhook is deleted.
	target.mu.Lock()
	target.fail = true
	target.mu.Unlock()
	call(t, hs, "pat-bob", "POST", "/tasks/"+seed.Tasks[0].GID+"/stories", map[string]any{"data": map[string]any{"text": "again"}})
	waitFor(t, "deletion", func() bool { return len(s.Webhooks()) == 0 })
	target.mu.Lock()
	attempts := target.attempts
	target.mu.Unlock()
	if attempts < 3 {
		t.Errorf("only %d attempts before deletion", attempts)
	}
	if r := call(t, hs, "pat-alice", "GET", "/webhooks/"+gid, nil); r.Status != 404 {
		t.Errorf("deleted webhook: %d", r.Status)
	}
}

func TestWebhookHeartbeat(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{WebhookTiming: WebhookTiming{Heartbeat: 5 * time.Millisecond}})
	target := newHookTarget(t)
	if r := call(t, hs, "pat-alice", "POST", "/webhooks", map[string]any{"data": map[string]any{"resource": s.Seed().Tasks[0].GID, "target": target.URL}}); r.Status != 201 {
		t.Fatalf("create: %d", r.Status)
	}
	waitFor(t, "heartbeat", func() bool { target.mu.Lock(); defer target.mu.Unlock(); return len(target.bodies) >= 2 })
	target.mu.Lock()
	defer target.mu.Unlock()
	if evs := target.bodies[0]["events"].([]any); len(evs) != 0 || target.badSigs != 0 {
		t.Errorf("heartbeat body %v, bad signatures %d", target.bodies[0], target.badSigs)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	put := func(body string) (int, string) { return putFaults(t, hs, hs.URL, body) }
	get := func(path string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer pat-alice")
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if st, _ := put(`{"error_rate": 2}`); st != 400 {
		t.Errorf("bad error_rate: %d", st)
	}
	if st, _ := put(`{"unknown": 1}`); st != 400 {
		t.Errorf("unknown field: %d", st)
	}
	tests := []struct {
		name, faults, path string
		status             int
		retryAfter, ctype  string
	}{
		{"throttle", `{"throttle": true, "retry_after_seconds": 7}`, "/api/1.0/users/me", 429, "7", "application/json; charset=UTF-8"},
		{"errors", `{"error_rate": 1, "error_status": 502}`, "/api/1.0/users/me", 502, "", "application/json; charset=UTF-8"},
		{"503 with retry", `{"error_rate": 1}`, "/api/1.0/users/me", 503, "5", "application/json; charset=UTF-8"},
		{"sso page", `{"sso_html": true}`, "/api/1.0/users/me", 200, "", "text/html; charset=utf-8"},
		{"prefix elsewhere", `{"throttle": true, "path_prefix": "/api/1.0/tasks"}`, "/api/1.0/users/me", 200, "", "application/json; charset=UTF-8"},
		{"prefix match", `{"throttle": true, "path_prefix": "/api/1.0/users"}`, "/api/1.0/users/me", 429, "5", "application/json; charset=UTF-8"},
		{"never on /_emulator", `{"throttle": true}`, "/_emulator/faults", 200, "", "application/json; charset=UTF-8"},
		{"reset", `{"throttle": true, "reset": true}`, "/api/1.0/users/me", 200, "", "application/json; charset=UTF-8"},
	}
	for _, tc := range tests {
		// Sequential: the faults are server-wide.
		if st, body := put(tc.faults); st != 200 {
			t.Fatalf("%s: put %d %s", tc.name, st, body)
		}
		resp := get(tc.path)
		if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter || resp.Header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d Retry-After %q Content-Type %q", tc.name, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
		}
	}
	if err := s.SetFaults(Faults{LatencyMS: 1}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "DELETE", hs.URL+"/_emulator/faults", nil)
	resp, _ := hs.Client().Do(req)
	resp.Body.Close()
	if diff := cmp.Diff(Faults{}, s.Faults()); diff != "" {
		t.Errorf("after DELETE (-want +got):\n%s", diff)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, hs := newTestServer(t, Options{Now: clock, RateLimit: true, RateLimitRequests: 3, RateLimitWindow: time.Minute, MaxConcurrentWrites: 1})
	for i := range 3 {
		if r := call(t, hs, "pat-alice", "GET", "/users/me", nil); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	r := call(t, hs, "pat-alice", "GET", "/users/me", nil)
	if r.Status != 429 || r.Header.Get("Retry-After") != "60" {
		t.Errorf("over quota: %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	// Quotas are per token.
	if r := call(t, hs, "pat-bob", "GET", "/users/me", nil); r.Status != 200 {
		t.Errorf("other token: %d", r.Status)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if r := call(t, hs, "pat-alice", "GET", "/users/me", nil); r.Status != 200 {
		t.Errorf("after the window: %d", r.Status)
	}

	// Concurrency: a write held in flight (a webhook handshake that waits)
	// makes a second write from the same token get 429.
	target := newHookTarget(t)
	target.block = make(chan struct{})
	done := make(chan apiResp)
	go func() {
		done <- call(t, hs, "pat-bob", "POST", "/webhooks", map[string]any{"data": map[string]any{"resource": s.Seed().Project, "target": target.URL}})
	}()
	waitFor(t, "a write in flight", func() bool { _, w := s.InFlight("pat-bob"); return w == 1 })
	if r := call(t, hs, "pat-bob", "POST", "/tasks/"+s.Seed().Tasks[0].GID+"/stories", map[string]any{"data": map[string]any{"text": "x"}}); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("second write: %d", r.Status)
	}
	close(target.block)
	if r := <-done; r.Status != 201 {
		t.Errorf("held write: %d", r.Status)
	}
}
