package asana

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specPath names one of Asana's official OpenAPI files, kept in the
// repository (internal/testdata/README.md says where they come from).
func specPath(name string) string {
	return filepath.Join("..", "..", "testdata", "asana", name)
}

var restSpec struct {
	once   sync.Once
	router routers.Router
	err    error
}

// restRouter loads asana_oas.yaml once per test binary: it is 3 MB and slow.
func restRouter(t testing.TB) routers.Router {
	t.Helper()
	path := specPath("asana_oas.yaml")
	restSpec.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			restSpec.err = err
			return
		}
		restSpec.router, restSpec.err = gorillamux.NewRouter(doc)
	})
	if restSpec.err != nil {
		t.Fatalf("load asana_oas.yaml: %v", restSpec.err)
	}
	return restSpec.router
}

// validateREST checks one REST answer against asana_oas.yaml.
func validateREST(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	if status == http.StatusTooManyRequests || status == http.StatusBadGateway || status == http.StatusServiceUnavailable {
		// Most operations do not list these statuses; Asana sends its
		// usual error envelope with them.
		var e struct {
			Errors []struct{ Message string } `json:"errors"`
		}
		if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 || e.Errors[0].Message == "" {
			t.Errorf("%s %s -> %d: not an error envelope: %s", method, path, status, body)
		}
		return
	}
	router := restRouter(t)
	u, _ := url.Parse("https://app.asana.com" + path)
	req := httptest.NewRequest(method, u.String(), nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: not in asana_oas.yaml: %v", method, path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{ExcludeRequestBody: true}},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d does not match asana_oas.yaml: %v\nbody: %s", method, path, status, err, truncate(string(body), 2000))
	}
}

// newTestServer starts the emulator under httptest and fails the test on
// any request no route knows.
func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.OnUnknownRoute == nil {
		opts.OnUnknownRoute = func(method, path string) { t.Errorf("unexpected request %s %s", method, path) }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	t.Cleanup(s.Close)
	if err := s.SetPublicBaseURL(hs.URL); err != nil {
		t.Fatal(err)
	}
	return s, hs
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// apiResp is one REST answer.
type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r apiResp) decode(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return m
}

func (r apiResp) data(t testing.TB) map[string]any {
	t.Helper()
	d, ok := r.decode(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", r.Body)
	}
	return d
}

func (r apiResp) list(t testing.TB) []any {
	t.Helper()
	d, ok := r.decode(t)["data"].([]any)
	if !ok {
		t.Fatalf("no data list in %s", r.Body)
	}
	return d
}

// call sends a REST request with token and validates the answer against
// the spec (unless the path is not a spec path, e.g. a 404 probe).
func call(t testing.TB, hs *httptest.Server, token, method, path string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(context.Background(), method, hs.URL+"/api/1.0"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	validateREST(t, method, "/api/1.0"+path, resp.StatusCode, resp.Header, raw)
	return apiResp{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// newLogger logs into b (guarded by mu) for assertions on log output.
func newLogger(b *strings.Builder, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{b, mu}, nil))
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
