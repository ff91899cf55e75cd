package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specPath is the admin API's OpenAPI description, in the repository.
const specPath = "../../docs/admin-api.yaml"

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// apiSpec loads and validates docs/admin-api.yaml once.
func apiSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		loader := openapi3.NewLoader()
		if spec.doc, spec.err = loader.LoadFromFile(specPath); spec.err != nil {
			return
		}
		if spec.err = spec.doc.Validate(loader.Context); spec.err != nil {
			return
		}
		spec.router, spec.err = gorillamux.NewRouter(spec.doc)
	})
	if spec.err != nil {
		t.Fatalf("%s: %v", specPath, spec.err)
	}
	return spec.doc, spec.router
}

// apiClient calls the admin API with a token and holds every request and
// answer to the OpenAPI description; covered collects the operations and
// statuses seen.
type apiClient struct {
	t       *testing.T
	base    string
	token   string
	mu      sync.Mutex
	covered map[string][]int
}

type apiAnswer struct {
	Status int
	Body   map[string]any
	Raw    string
	Header http.Header
}

func (c *apiClient) call(method, path string, body any) apiAnswer {
	c.t.Helper()
	_, router := apiSpec(c.t)
	var raw []byte
	if s, ok := body.(string); ok {
		raw = []byte(s)
	} else if body != nil {
		raw, _ = json.Marshal(body)
	}
	newReq := func() *http.Request {
		req, _ := http.NewRequestWithContext(c.t.Context(), method, c.base+"/admin/api/v1"+path, bytes.NewReader(raw))
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		return req
	}
	resp, err := http.DefaultClient.Do(newReq())
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	a := apiAnswer{Status: resp.StatusCode, Raw: string(got), Header: resp.Header}
	if len(got) > 0 {
		if err := json.Unmarshal(got, &a.Body); err != nil {
			c.t.Errorf("%s %s -> %d: not a JSON object: %s", method, path, resp.StatusCode, got)
		}
	}

	req := newReq()
	route, params, err := router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s %s is not in %s: %v", method, path, specPath, err)
		return a
	}
	reqIn := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
				return openapi3filter.ErrAuthenticationServiceMissing
			}
			return nil
		}}}
	// Requests the test sends wrong on purpose (no token, bad JSON) are
	// not held to the description; their answers are.
	if a.Status != http.StatusUnauthorized && a.Status != http.StatusBadRequest {
		if err := openapi3filter.ValidateRequest(c.t.Context(), reqIn); err != nil {
			c.t.Errorf("%s %s: the request does not match %s: %v", method, path, specPath, err)
		}
	}
	reqIn.Options = &openapi3filter.Options{ExcludeRequestBody: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	respIn := &openapi3filter.ResponseValidationInput{RequestValidationInput: reqIn, Status: a.Status, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	respIn.SetBodyBytes(got)
	if err := openapi3filter.ValidateResponse(c.t.Context(), respIn); err != nil {
		c.t.Errorf("%s %s -> %d: the answer does not match %s: %v\n%s", method, path, a.Status, specPath, err, got)
	}
	c.mu.Lock()
	c.covered[route.Operation.OperationID] = append(c.covered[route.Operation.OperationID], a.Status)
	c.mu.Unlock()
	return a
}

// want checks an answer's status and, for errors, its code.
func (a apiAnswer) want(t *testing.T, status int, code string) apiAnswer {
	t.Helper()
	if a.Status != status || (code != "" && a.Body["code"] != code) {
		t.Fatalf("answer %d %s, want %d %s", a.Status, a.Raw, status, code)
	}
	return a
}

var tokenRE = regexp.MustCompile(`<code id="token">(ajt_[A-Za-z0-9_-]+)</code>`)

// createToken creates an API token on the console's API tokens page.
func (e *env) createToken(b *browser, name, scope string) string {
	e.t.Helper()
	r := e.postForm(b, "/admin/api-tokens", url.Values{"name": {name}, "scope": {scope}})
	m := tokenRE.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		e.t.Fatalf("create token: %d\n%s", r.Status, r.Body)
	}
	return m[1]
}

// TestAPIAgainstOpenAPI drives every operation of the admin API against
// the Jira emulator with tokens made in the console, and holds every
// request and answer to docs/admin-api.yaml.
func TestAPIAgainstOpenAPI(t *testing.T) {
	t.Parallel()
	doc, _ := apiSpec(t)
	j, base := newJira(t, "9.12.0")
	e := newEnv(t)
	b := e.admin()
	writeToken, readToken := e.createToken(b, "deploy", "write"), e.createToken(b, "monitor", "read")
	covered := map[string][]int{}
	w := &apiClient{t: t, base: e.hs.URL, token: writeToken, covered: covered}
	ro := &apiClient{t: t, base: e.hs.URL, token: readToken, covered: covered}
	anon := &apiClient{t: t, base: e.hs.URL, covered: covered}
	forged := &apiClient{t: t, base: e.hs.URL, token: "ajt_forged", covered: covered}

	anon.call("GET", "/servers", nil).want(t, 401, "unauthorized")
	if a := forged.call("GET", "/servers", nil).want(t, 401, "unauthorized"); !strings.Contains(a.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without WWW-Authenticate: %v", a.Header)
	}
	ro.call("GET", "/servers", nil).want(t, 200, "")
	ro.call("POST", "/servers", map[string]any{"base_url": base}).want(t, 403, "forbidden")
	w.call("POST", "/servers", `{"base_url": `).want(t, 400, "bad_request")
	w.call("POST", "/servers", map[string]any{"base_url": base, "nmae": "typo"}).want(t, 400, "bad_request")
	w.call("POST", "/servers", map[string]any{"base_url": "ftp://x"}).want(t, 422, "invalid")

	created := w.call("POST", "/servers", map[string]any{"base_url": base, "name": "Main Jira"}).want(t, 201, "")
	srv := created.Body["server"].(map[string]any)
	id := srv["id"].(string)
	if created.Header.Get("Location") != "/admin/api/v1/servers/"+id || srv["status"] != "needs setup" || created.Body["doctor"].(map[string]any)["ok"] != true {
		t.Errorf("registration: %s (Location %q)", created.Raw, created.Header.Get("Location"))
	}
	w.call("POST", "/servers", map[string]any{"base_url": base}).want(t, 409, "conflict")
	w.call("GET", "/servers/js_missing", nil).want(t, 404, "not_found")
	ro.call("GET", "/servers/"+id, nil).want(t, 200, "")
	ro.call("GET", "/servers/"+id+"/doctor", nil).want(t, 200, "")
	w.call("POST", "/servers/"+id+"/verify", nil).want(t, 422, "invalid")
	bad := w.call("POST", "/servers/"+id+"/connect", map[string]any{"jira_admin": map[string]any{"user": "alice", "password": "alice"}}).want(t, 502, "jira_failed")
	if bad.Body["step"] != "create the application link" || strings.Contains(bad.Raw, `"alice"`) {
		t.Errorf("failed connect: %s", bad.Raw)
	}
	w.call("POST", "/servers/"+id+"/connect", map[string]any{"jira_admin": map[string]any{}}).want(t, 422, "invalid")
	connected := w.call("POST", "/servers/"+id+"/connect", map[string]any{"jira_admin": map[string]any{"user": "admin", "password": "admin"}}).want(t, 200, "")
	if connected.Body["status"] != "connected" || connected.Body["application_link"] != "created automatically" || len(j.Webhooks()) != 1 {
		t.Errorf("connected: %s", connected.Raw)
	}
	w.call("POST", "/servers/"+id+"/verify", nil).want(t, 200, "")
	if a := w.call("POST", "/servers/"+id+"/webhook/repair", map[string]any{"jira_admin": map[string]any{"user": "admin", "password": "admin"}}).want(t, 200, ""); a.Body["changed"] != false {
		t.Errorf("repair of a sound webhook: %s", a.Raw)
	}
	w.call("POST", "/servers/"+id+"/webhook/manual", nil).want(t, 200, "")
	w.call("PUT", "/servers/"+id+"/oauth2", map[string]any{"client_id": "nobody", "client_secret": "nothing"}).want(t, 422, "invalid")
	w.call("PUT", "/servers/"+id+"/methods", map[string]any{"methods": []string{"pat"}}).want(t, 200, "")
	w.call("PUT", "/servers/"+id+"/methods", map[string]any{"methods": []string{"oauth2"}}).want(t, 422, "invalid")
	w.call("PUT", "/servers/"+id+"/ca-bundle", map[string]any{"pem": "not a certificate"}).want(t, 422, "invalid")
	w.call("PUT", "/servers/"+id+"/ca-bundle", map[string]any{"pem": ""}).want(t, 200, "")
	if a := w.call("PATCH", "/servers/"+id, map[string]any{"name": "Jira"}).want(t, 200, ""); a.Body["name"] != "Jira" {
		t.Errorf("rename: %s", a.Raw)
	}
	w.call("PATCH", "/servers/"+id, map[string]any{"connect_address": "nohost"}).want(t, 422, "invalid")

	if a := w.call("PUT", "/workspaces/1201000000000001", map[string]any{"name": "Acme"}).want(t, 200, ""); a.Body["changed"] != true {
		t.Errorf("add workspace: %s", a.Raw)
	}
	if a := w.call("PUT", "/workspaces/1201000000000001", map[string]any{"name": "Acme"}).want(t, 200, ""); a.Body["changed"] != false {
		t.Errorf("add it again: %s", a.Raw)
	}
	w.call("PUT", "/workspaces/acme", map[string]any{}).want(t, 422, "invalid")
	ro.call("GET", "/workspaces", nil).want(t, 200, "")
	w.call("PUT", "/routes/1201000000000001/1201000000000101", map[string]any{"server": id}).want(t, 422, "invalid")
	w.call("PUT", "/connections/1201000000000001/"+id, map[string]any{"default": true}).want(t, 200, "")
	w.call("PUT", "/connections/1201000000000001/js_missing", map[string]any{}).want(t, 404, "not_found")
	w.call("PUT", "/routes/1201000000000001/1201000000000101", map[string]any{"server": id, "jira_project": "demo"}).want(t, 200, "")
	routing := ro.call("GET", "/routing", nil).want(t, 200, "")
	if !strings.Contains(routing.Raw, `"jira_project":"DEMO"`) || !strings.Contains(routing.Raw, `"default":true`) {
		t.Errorf("routing: %s", routing.Raw)
	}
	w.call("DELETE", "/routes/1201000000000001/1201000000000101", nil).want(t, 204, "")
	w.call("DELETE", "/routes/1201000000000001/1201000000000101", nil).want(t, 404, "not_found")
	w.call("DELETE", "/connections/1201000000000001/"+id, nil).want(t, 204, "")
	w.call("DELETE", "/connections/1201000000000001/"+id, nil).want(t, 404, "not_found")
	w.call("DELETE", "/workspaces/1201000000000001", nil).want(t, 204, "")
	w.call("DELETE", "/workspaces/1201000000000001", nil).want(t, 404, "not_found")

	w.call("POST", "/servers/"+id+"/remove", map[string]any{"jira_admin": map[string]any{"user": "alice", "password": "alice"}}).want(t, 502, "jira_failed")
	removed := w.call("POST", "/servers/"+id+"/remove", map[string]any{"jira_admin": map[string]any{"user": "admin", "password": "admin"}}).want(t, 200, "")
	if len(removed.Body["undone"].([]any)) != 2 || len(j.ApplicationLinks())+len(j.Webhooks()) != 0 {
		t.Errorf("removal: %s; Jira keeps %d links", removed.Raw, len(j.ApplicationLinks()))
	}
	_, base2 := newJira(t, "9.12.0")
	id2 := w.call("POST", "/servers", map[string]any{"base_url": base2, "jira_admin": map[string]any{"user": "admin", "password": "admin"}}).want(t, 201, "").Body["server"].(map[string]any)["id"].(string)
	if a := w.call("DELETE", "/servers/"+id2, nil).want(t, 200, ""); len(a.Body["left_in_jira"].([]any)) != 2 {
		t.Errorf("removal without credentials: %s", a.Raw)
	}
	w.call("DELETE", "/servers/"+id2, nil).want(t, 404, "not_found")
	// A path the API does not have answers in JSON too.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.hs.URL+"/admin/api/v1/nothing-here", nil)
	req.Header.Set("Authorization", "Bearer "+writeToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("an unknown path: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Revoked in the console: the next request is refused.
	tokens, err := e.store.ListAdminAPITokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if tok.Name == "deploy" {
			if r := e.postForm(b, "/admin/api-tokens/"+tok.ID+"/revoke", nil); r.Status != http.StatusSeeOther {
				t.Fatalf("revoke: %d", r.Status)
			}
			if tok.LastUsedAt.IsZero() {
				t.Error("the token's use was not recorded")
			}
			if tok.Hash == writeToken || strings.Contains(tok.Hash, writeToken[4:]) {
				t.Error("the store holds the token, not its hash")
			}
		}
	}
	if a := w.call("GET", "/servers", nil).want(t, 401, "unauthorized"); !strings.Contains(a.Raw, "revoked") {
		t.Errorf("revoked token: %s", a.Raw)
	}

	// The audit log names the token for every change it made.
	entries, _ := e.store.ListAudit(t.Context(), store.AuditFilter{Limit: 200})
	for _, en := range entries {
		isAdminAction := strings.HasPrefix(en.Action, "admin.") || strings.HasPrefix(en.Action, "api_token.")
		if !isAdminAction && !regexp.MustCompile(`^API token deploy \(at_[0-9a-f]{16}\)$`).MatchString(en.Actor) {
			t.Errorf("audit entry %+v does not name the token", en)
		}
	}

	// Every operation the description lists was called (the sync
	// endpoints by TestAPISync, which has a sync engine).
	checkCovered(t, doc, covered, func(path string) bool { return !strings.HasPrefix(path, "/sync/") })
	if !slices.Contains(covered["listServers"], 401) {
		t.Error("no 401 seen")
	}
}

// The API tokens page: a token is shown once, listed by name with its
// scope, and revoked; a bad name or scope is refused.
func TestAPITokensPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	for _, bad := range []url.Values{{"name": {""}, "scope": {"read"}}, {"name": {"x"}, "scope": {"admin"}}} {
		if r := e.postForm(b, "/admin/api-tokens", bad); r.Status != http.StatusUnprocessableEntity || tokenRE.MatchString(r.Body) {
			t.Errorf("%v: %d", bad, r.Status)
		}
	}
	token := e.createToken(b, "deploy pipeline", "write")
	page := b.get(e.hs.URL + "/admin/api-tokens")
	if strings.Contains(page.Body, token) || !strings.Contains(page.Body, "deploy pipeline") || !strings.Contains(page.Body, ">write<") {
		t.Errorf("the tokens page:\n%s", page.Body)
	}
	tokens, _ := e.store.ListAdminAPITokens(t.Context())
	if len(tokens) != 1 {
		t.Fatalf("tokens %+v", tokens)
	}
	if r := e.postForm(b, "/admin/api-tokens/"+tokens[0].ID+"/revoke", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Status)
	}
	if r := e.postForm(b, "/admin/api-tokens/"+tokens[0].ID+"/revoke", nil); r.Status != http.StatusNotFound {
		t.Errorf("revoke again: %d", r.Status)
	}
	if page := b.get(e.hs.URL + "/admin/api-tokens"); !strings.Contains(page.Body, `revoked <time datetime=`) {
		t.Errorf("the revoked token is not marked:\n%s", page.Body)
	}
	golden(t, "api_tokens", b.get(e.hs.URL+"/admin/api-tokens").Body)
}

// checkCovered fails t for each operation of the description under a path
// that mine accepts that covered has not seen called.
func checkCovered(t *testing.T, doc *openapi3.T, covered map[string][]int, mine func(path string) bool) {
	t.Helper()
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if mine(path) && len(covered[op.OperationID]) == 0 {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations of %s no test called: %v", specPath, missing)
	}
}
