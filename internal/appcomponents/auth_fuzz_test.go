package appcomponents

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzAuthenticate drives the gate every App Components request passes (the
// signature over the raw query or the data string, expires_at, and the
// decoding of the request) with arbitrary GET queries and POST bodies,
// signed with the app's secret, with another secret, or carrying an
// arbitrary signature header. Whatever arrives, the gate answers a 4xx or
// lets through exactly the request that was signed, decoded as sent.
//
// Seeds: testdata/fuzz/FuzzAuthenticate and the f.Add calls below; `go test`
// runs them, `go test -run '^$' -fuzz FuzzAuthenticate` explores.
func FuzzAuthenticate(f *testing.F) {
	const secret = "fuzz-client-secret"
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	h := New(Deps{ClientSecret: secret, Now: func() time.Time { return now }}).(*Handler)
	// The route hands what the gate decoded back to the test through the
	// request's context, byte for byte (a JSON answer would mend invalid
	// UTF-8 and hide what was decoded).
	echo := func(w http.ResponseWriter, r *http.Request, req *request) error {
		*r.Context().Value(decodedKey{}).(**request) = req
		w.WriteHeader(http.StatusOK)
		return nil
	}
	h.handle("GET /fuzz", echo)
	h.handle("POST /fuzz", echo)

	future, past := now.Add(time.Minute).Format(time.RFC3339), now.Add(-time.Minute).Format(time.RFC3339)
	f.Add(false, false, "user=1&workspace=2&task=3&expires_at="+url.QueryEscape(future), uint8(0), "")
	f.Add(false, false, "user=1&workspace=2&expires_at="+url.QueryEscape(past), uint8(0), "")
	f.Add(false, false, "user=1&workspace=2&expires_at=1772445660000&query=OPS-1", uint8(0), "")
	f.Add(false, false, "user=1&workspace=2&expires_at="+url.QueryEscape(future), uint8(1), "")
	f.Add(false, false, "user=1&workspace=2&expires_at="+url.QueryEscape(future), uint8(2), "00")
	f.Add(false, false, "user=%zz&workspace=2", uint8(0), "")
	f.Add(true, false, `{"user":"1","workspace":"2","task":"3","expires_at":"`+future+`","values":{"summary":"Hi","customfield_1":12.5,"labels":["a","b"],"assignee":{"value":"alice","title":"Alice"}}}`, uint8(0), "")
	f.Add(true, false, `{"user":"1","workspace":"2","expires_at":1772445660000,"idempotency_key":"k"}`, uint8(0), "")
	f.Add(true, false, `{"user":1,"workspace":"2","expires_at":"`+future+`"}`, uint8(0), "")
	f.Add(true, false, `{"user":"1","workspace":"2","expires_at":"9999-12-31T23:59:59Z"}`, uint8(0), "")
	f.Add(true, false, `{"user":"1","workspace":"2","expires_at":"`+future+`"}`, uint8(1), "")
	f.Add(true, true, `{"data":{"user":"1","workspace":"2"}}`, uint8(2), "")
	f.Add(true, true, `{"data":"{\"user\":\"1\"}"}`, uint8(2), "deadbeef")
	f.Add(true, true, `{"data":""}`, uint8(2), "")

	f.Fuzz(func(t *testing.T, post, rawBody bool, message string, sigMode uint8, header string) {
		signed := message // the bytes Asana signs: the raw query, or the data string
		var r *http.Request
		switch {
		case !post:
			r = httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/fuzz", nil)
			r.URL.RawQuery = message
		case rawBody:
			r = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/fuzz", strings.NewReader(message))
			signed = dataString(message)
		default:
			body, err := json.Marshal(map[string]string{"data": message})
			if err != nil {
				t.Fatal(err)
			}
			r = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/fuzz", strings.NewReader(string(body)))
			signed = dataString(string(body)) // invalid UTF-8 arrives as U+FFFD
		}
		switch sigMode % 3 {
		case 0:
			header = Sign(secret, signed)
		case 1:
			header = Sign("another-secret", signed)
		}
		r.Header.Set(SignatureHeader, header)
		var decoded *request
		r = r.WithContext(context.WithValue(r.Context(), decodedKey{}, &decoded))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)

		valid := strings.ToLower(strings.TrimSpace(header)) == Sign(secret, signed)
		switch {
		case rec.Code == http.StatusOK:
			if !valid {
				t.Fatalf("a request signed %q passed the gate; the signature of %q is %q", header, signed, Sign(secret, signed))
			}
			checkDecoded(t, post, signed, decoded)
		case rec.Code == http.StatusBadRequest && strings.Contains(rec.Body.String(), "request signature"):
			if valid {
				t.Fatalf("a correctly signed request was refused as unsigned: %s", rec.Body)
			}
		case rec.Code >= 400 && rec.Code < 500:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// dataString is the data string of a POST envelope as the spec defines it:
// the JSON string's content, or the raw data value when it is not a string.
func dataString(body string) string {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal([]byte(body), &env) != nil {
		return ""
	}
	var s string
	if len(env.Data) > 0 && env.Data[0] == '"' && json.Unmarshal(env.Data, &s) == nil {
		return s
	}
	return string(env.Data) // null, a number, an object: signed as sent
}

type decodedKey struct{}

// checkDecoded compares what passed the gate with the signed message read
// independently: the query parameters of a GET, the JSON object of a POST.
func checkDecoded(t *testing.T, post bool, signed string, req *request) {
	t.Helper()
	if req == nil {
		t.Fatal("answered 200 without reaching the handler")
	}
	if req.User == "" || req.Workspace == "" {
		t.Fatalf("passed without a user or workspace: %+v", req)
	}
	got := map[string]string{"user": req.User, "workspace": req.Workspace, "task": req.Task}
	if post {
		got["idempotency_key"] = req.IdempotencyKey
	}
	want := map[string]string{}
	if post {
		// The data string read with encoding/json's rules, as the gate
		// reads it: the first JSON value counts (what follows is signed
		// too, so it is ignored rather than refused), key names match
		// whatever their case, and the last of duplicate keys wins.
		var obj struct {
			User, Workspace, Task string
			IdempotencyKey        string `json:"idempotency_key"`
		}
		if err := json.NewDecoder(strings.NewReader(signed)).Decode(&obj); err != nil {
			t.Fatalf("passed although the data is no JSON object with string ids (%v): %q", err, signed)
		}
		want = map[string]string{"user": obj.User, "workspace": obj.Workspace, "task": obj.Task, "idempotency_key": obj.IdempotencyKey}
	} else {
		q, err := url.ParseQuery(signed)
		if err != nil {
			t.Fatalf("passed although the query is malformed (%v): %q", err, signed)
		}
		for _, k := range []string{"user", "workspace", "task"} {
			want[k] = q.Get(k)
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("%s decoded as %q, the signed message says %q", k, got[k], w)
		}
	}
}
