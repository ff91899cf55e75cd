package jira

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults string
		path   string
		check  func(t *testing.T, r resp)
	}{
		{"throttle", `{"throttle":true,"retry_after_seconds":7}`, "/rest/api/2/myself", func(t *testing.T, r resp) {
			if r.status != 429 || r.header.Get("Retry-After") != "7" {
				t.Errorf("got %d Retry-After=%q", r.status, r.header.Get("Retry-After"))
			}
		}},
		{"throttle default retry", `{"throttle":true}`, "/rest/api/2/myself", func(t *testing.T, r resp) {
			if r.status != 429 || r.header.Get("Retry-After") != "5" {
				t.Errorf("got %d Retry-After=%q", r.status, r.header.Get("Retry-After"))
			}
		}},
		{"error 503 default", `{"error_rate":1}`, "/rest/api/2/myself", func(t *testing.T, r resp) {
			if r.status != 503 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("got %d %q", r.status, r.header.Get("Content-Type"))
			}
		}},
		{"error 500 json", `{"error_rate":1,"error_status":500}`, "/rest/api/2/myself", func(t *testing.T, r resp) {
			if r.status != 500 || !strings.Contains(string(r.body), "errorMessages") {
				t.Errorf("got %d %s", r.status, r.body)
			}
		}},
		{"sso html", `{"sso_html":true}`, "/rest/api/2/myself", func(t *testing.T, r resp) {
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.body), "okta") {
				t.Errorf("got %d %q", r.status, r.header.Get("Content-Type"))
			}
		}},
		{"path prefix spares other paths", `{"throttle":true,"path_prefix":"/jira/rest/api/2/search"}`, "/rest/api/2/myself", func(t *testing.T, r resp) {
			if r.status != 200 {
				t.Errorf("got %d", r.status)
			}
		}},
		{"latency", `{"latency_ms":1}`, "/rest/api/2/myself", func(t *testing.T, r resp) {
			if r.status != 200 {
				t.Errorf("got %d", r.status)
			}
		}},
		{"clock skew", `{"clock_skew_seconds":3600}`, "/rest/api/2/serverInfo", func(t *testing.T, r resp) {
			if r.status != 200 || r.header.Get("Date") == "" {
				t.Errorf("got %d", r.status)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{})
			b := base(s, ts)
			if r := call(t, "PUT", b+"/_emulator/faults", []byte(tc.faults)); r.status != 200 {
				t.Fatalf("set faults: %d %s", r.status, r.body)
			}
			tc.check(t, call(t, "GET", b+tc.path, nil, basic("alice")...))
			// /_emulator is never faulted, and DELETE clears the faults.
			if r := call(t, "DELETE", b+"/_emulator/faults", nil); r.status != 204 {
				t.Fatalf("clear: %d", r.status)
			}
			if r := call(t, "GET", b+"/rest/api/2/myself", nil, basic("alice")...); r.status != 200 {
				t.Errorf("after clear: %d", r.status)
			}
		})
	}
}

func TestFaultsAPI(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	if r := call(t, "PUT", b+"/_emulator/faults", []byte(`{"error_rate":2}`)); r.status != 400 {
		t.Errorf("invalid rate: %d", r.status)
	}
	if r := call(t, "PUT", b+"/_emulator/faults", []byte(`{"error_status":404}`)); r.status != 400 {
		t.Errorf("invalid status: %d", r.status)
	}
	// A misspelt or unknown key is refused, not ignored.
	for _, body := range []string{`{"drop_webhook":true}`, `{"latency":5}`, `{"throttle":true} {}`} {
		if r := call(t, "PUT", b+"/_emulator/faults", []byte(body)); r.status != 400 || !strings.Contains(string(r.body), "invalid body") {
			t.Errorf("PUT %s: %d %s", body, r.status, r.body)
		}
	}
	if got := s.CurrentFaults(); got != (Faults{}) {
		t.Errorf("refused bodies changed the faults: %+v", got)
	}
	want := Faults{LatencyMS: 5, ErrorRate: 0.5, ErrorStatus: 502, RetryAfterSeconds: 3, ClockSkewSeconds: -30, PathPrefix: "/jira/rest", DropWebhooks: true}
	if err := s.SetFaults(want); err != nil {
		t.Fatal(err)
	}
	var got Faults
	r := call(t, "GET", b+"/_emulator/faults", nil)
	if err := jsonUnmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET faults (-want +got):\n%s", diff)
	}
	m := r.json(t)
	for _, k := range []string{"latency_ms", "error_rate", "error_status", "throttle", "retry_after_seconds", "reset", "sso_html", "clock_skew_seconds", "path_prefix", "drop_webhooks"} {
		if _, ok := m[k]; !ok {
			t.Errorf("faults JSON lacks %q", k)
		}
	}
}

func TestFaultReset(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	if err := s.SetFaults(Faults{Reset: true}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base(s, ts)+"/rest/api/2/serverInfo", nil)
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
		t.Fatalf("reset fault answered %d", res.StatusCode)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version string
		limited bool
	}{{"8.5.0", false}, {"8.13.0", true}, {"10.3.0", true}}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			s, ts := start(t, Options{Version: tc.version, RateLimit: &RateLimit{Capacity: 2, FillRate: 1, IntervalSeconds: 60}})
			b := base(s, ts)
			var last resp
			for range 3 {
				last = call(t, "GET", b+"/rest/api/2/myself", nil, basic("alice")...)
			}
			if got := last.status == 429; got != tc.limited {
				t.Fatalf("third call: %d, limited want %v", last.status, tc.limited)
			}
			if tc.limited {
				if last.header.Get("X-RateLimit-Limit") != "2" || last.header.Get("Retry-After") == "0" || last.header.Get("X-RateLimit-Remaining") != "0" {
					t.Errorf("headers %v", last.header)
				}
				// Other users have their own bucket; serverInfo is never limited.
				if r := call(t, "GET", b+"/rest/api/2/myself", nil, basic("bob")...); r.status != 200 {
					t.Errorf("bob: %d", r.status)
				}
				if r := call(t, "GET", b+"/rest/api/2/serverInfo", nil, basic("alice")...); r.status != 200 {
					t.Errorf("serverInfo: %d", r.status)
				}
			}
		})
	}
}
