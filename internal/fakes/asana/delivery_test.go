package asana

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func putFaults(t *testing.T, hs interface{ Client() *http.Client }, base, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", base+"/_emulator/faults", strings.NewReader(body))
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFaultKeysAreChecked(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	tests := []struct {
		body, msg string
	}{
		{`{"drop_webhook": true}`, `faults: unknown key "drop_webhook"; known keys: clock_skew_seconds, delay_jitter_ms, delay_ms, delivery_scope, drop_rate,`},
		{`{"drop_rate": 1.5}`, "drop_rate must be between 0 and 1"},
		{`{"duplicate_rate": -1}`, "duplicate_rate must be between 0 and 1"},
		{`{"delay_ms": -5}`, "must not be negative"},
		{`{"delivery_scope": "jira"}`, "delivery_scope must be all, webhooks or events"},
		{`[1]`, "the body must be a JSON object"},
	}
	for _, tc := range tests {
		st, body := putFaults(t, hs, hs.URL, tc.body)
		var e struct{ Error string }
		_ = json.Unmarshal([]byte(body), &e)
		if st != http.StatusBadRequest || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.body, st, body, tc.msg)
		}
	}
	if diff := cmp.Diff(Faults{}, s.Faults()); diff != "" {
		t.Errorf("refused faults were applied (-want +got):\n%s", diff)
	}
	st, body := putFaults(t, hs, hs.URL, `{"delay_ms": 60000, "drop_rate": 0.1, "duplicate_rate": 0.05, "reorder": true, "seed": 7}`)
	if st != 200 || !strings.Contains(body, `"delay_ms":60000`) {
		t.Errorf("delivery faults: %d %s", st, body)
	}
}

// eventsSince lists the project's events since sync and returns them with
// the next token.
func eventsSince(t *testing.T, e *changeEnv, sync string) ([]map[string]any, string) {
	t.Helper()
	r := e.call(t, "pat-alice", "GET", "/events?resource="+e.seed.Project+"&sync="+sync, nil, 200)
	var out []map[string]any
	for _, ev := range r.decode(t)["data"].([]any) {
		out = append(out, ev.(map[string]any))
	}
	return out, r.decode(t)["sync"].(string)
}

func storyTexts(evs []map[string]any) []string {
	var out []string
	for _, ev := range evs {
		if res := ev["resource"].(map[string]any); res["resource_type"] == "story" {
			out = append(out, res["text"].(string))
		}
	}
	return out
}

func firstSync(t *testing.T, e *changeEnv) string {
	t.Helper()
	return call(t, e.hs, "pat-alice", "GET", "/events?resource="+e.seed.Project, nil).decode(t)["sync"].(string)
}

func comment(t *testing.T, e *changeEnv, text string) {
	t.Helper()
	e.call(t, "pat-bob", "POST", "/tasks/"+e.seed.Tasks[0].GID+"/stories", data(map[string]any{"text": text}), 201)
}

// The events API under the delivery faults: a delayed event waits (and the
// token does not skip it), a dropped one is never listed, a duplicated one
// is listed twice, and reorder shuffles a page, repeatably with a seed.
func TestEventsDeliveryFaults(t *testing.T) {
	t.Parallel()
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		e := newChangeEnv(t, Options{Now: clock})
		s := e.s
		sync := firstSync(t, e)
		if err := s.SetFaults(Faults{DelayMS: 60000, DeliveryScope: "events"}); err != nil {
			t.Fatal(err)
		}
		comment(t, e, "one")
		evs, sync := eventsSince(t, e, sync)
		if len(evs) != 0 {
			t.Fatalf("a delayed event was listed at once: %v", evs)
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		evs, _ = eventsSince(t, e, sync)
		if diff := cmp.Diff([]string{"one"}, storyTexts(evs)); diff != "" {
			t.Errorf("after the delay (-want +got):\n%s", diff)
		}
	})
	t.Run("drop and duplicate", func(t *testing.T) {
		t.Parallel()
		e := newChangeEnv(t, Options{})
		s := e.s
		sync := firstSync(t, e)
		if err := s.SetFaults(Faults{DropRate: 1}); err != nil {
			t.Fatal(err)
		}
		comment(t, e, "lost")
		if err := s.SetFaults(Faults{DuplicateRate: 1}); err != nil {
			t.Fatal(err)
		}
		comment(t, e, "twice")
		evs, _ := eventsSince(t, e, sync)
		if diff := cmp.Diff([]string{"twice", "twice"}, storyTexts(evs)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("reorder with a seed", func(t *testing.T) {
		t.Parallel()
		run := func() []string {
			e := newChangeEnv(t, Options{})
			s := e.s
			sync := firstSync(t, e)
			if err := s.SetFaults(Faults{Reorder: true, Seed: 42}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
				comment(t, e, c)
			}
			evs, _ := eventsSince(t, e, sync)
			return storyTexts(evs)
		}
		first, second := run(), run()
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("the same seed gave another order (-first +second):\n%s", diff)
		}
		in := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
		if cmp.Equal(in, first) {
			t.Errorf("reorder left the events in order")
		}
		if diff := cmp.Diff(in, sortedStrings(first)); diff != "" {
			t.Errorf("reorder lost or added events (-want +got):\n%s", diff)
		}
	})
	t.Run("webhooks only", func(t *testing.T) {
		t.Parallel()
		e := newChangeEnv(t, Options{})
		s := e.s
		sync := firstSync(t, e)
		if err := s.SetFaults(Faults{DropRate: 1, DeliveryScope: "webhooks"}); err != nil {
			t.Fatal(err)
		}
		comment(t, e, "kept")
		evs, _ := eventsSince(t, e, sync)
		if diff := cmp.Diff([]string{"kept"}, storyTexts(evs)); diff != "" {
			t.Errorf("a webhooks-only fault changed /events (-want +got):\n%s", diff)
		}
	})
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Sync tokens expire early under expire_sync_tokens (every token, while
// on) and sync_token_ttl_ms (tokens older than that).
func TestSyncTokenExpiryFaults(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newChangeEnv(t, Options{Now: clock})
	hs := e.hs
	status := func(sync string) int {
		return call(t, hs, "pat-alice", "GET", "/events?resource="+e.seed.Project+"&sync="+sync, nil).Status
	}
	sync := firstSync(t, e)
	if st, body := putFaults(t, hs, hs.URL, `{"expire_sync_tokens": true}`); st != 200 {
		t.Fatalf("put: %d %s", st, body)
	}
	if st := status(sync); st != http.StatusPreconditionFailed {
		t.Errorf("expired token: %d", st)
	}
	if st := status(firstSync(t, e)); st != http.StatusPreconditionFailed {
		t.Errorf("even a fresh token is expired while the fault is on: %d", st)
	}
	putFaults(t, hs, hs.URL, `{"sync_token_ttl_ms": 1000}`)
	sync = firstSync(t, e)
	if st := status(sync); st != 200 {
		t.Errorf("a young token: %d", st)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if st := status(sync); st != http.StatusPreconditionFailed {
		t.Errorf("a token past sync_token_ttl_ms: %d", st)
	}
}

// Webhook deliveries under the delivery faults: dropped events never come,
// duplicated ones come twice, delayed ones wait in the queue.
func TestWebhookDeliveryFaults(t *testing.T) {
	t.Parallel()
	texts := func(h *hookTarget, s *Server) []string {
		var out []string
		for _, ev := range h.events() {
			gid := ev.(map[string]any)["resource"].(map[string]any)["gid"].(string)
			for _, st := range s.Stories(s.Seed().Tasks[0].GID) {
				if st.GID == gid {
					out = append(out, st.Text)
				}
			}
		}
		return out
	}
	t.Run("drop and duplicate", func(t *testing.T) {
		t.Parallel()
		e := newChangeEnv(t, Options{})
		s, hs := e.s, e.hs
		target := e.projectWebhook(t)
		putFaults(t, hs, hs.URL, `{"drop_rate": 1, "delivery_scope": "webhooks"}`)
		comment(t, e, "lost")
		putFaults(t, hs, hs.URL, `{"duplicate_rate": 1, "delivery_scope": "webhooks"}`)
		comment(t, e, "twice")
		// Deliveries keep their order without reorder, so the second copy
		// comes after anything the first comment could have produced.
		waitFor(t, "two copies", func() bool { return len(target.events()) >= 2 })
		if diff := cmp.Diff([]string{"twice", "twice"}, texts(target, s)); diff != "" {
			t.Errorf("delivered (-want +got):\n%s", diff)
		}
	})
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		e := newChangeEnv(t, Options{})
		s, hs := e.s, e.hs
		target := e.projectWebhook(t)
		putFaults(t, hs, hs.URL, `{"delay_ms": 3600000}`)
		comment(t, e, "an hour late")
		if q := s.Webhooks()[0].Queued; q != 1 {
			t.Errorf("%d events queued, want the delayed one", q)
		}
		putFaults(t, hs, hs.URL, `{"delay_ms": 20}`)
		comment(t, e, "soon")
		waitFor(t, "the short delay", func() bool { return len(target.events()) == 1 })
		if diff := cmp.Diff([]string{"soon"}, texts(target, s)); diff != "" {
			t.Errorf("delivered (-want +got):\n%s", diff)
		}
		if q := s.Webhooks()[0].Queued; q != 1 {
			t.Errorf("%d events queued, want the one still an hour away", q)
		}
	})
	t.Run("reorder", func(t *testing.T) {
		t.Parallel()
		e := newChangeEnv(t, Options{})
		s, hs := e.s, e.hs
		target := e.projectWebhook(t)
		// The target holds the first delivery, so the next comments queue
		// up and go out together, shuffled by the seeded source.
		held, release := make(chan struct{}), make(chan struct{})
		target.mu.Lock()
		target.hold = func() { close(held); <-release }
		target.mu.Unlock()
		putFaults(t, hs, hs.URL, `{"reorder": true, "seed": 3}`)
		comment(t, e, "first")
		<-held
		in := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
		for _, c := range in {
			comment(t, e, c)
		}
		close(release)
		waitFor(t, "all comments", func() bool { return len(target.events()) == len(in)+1 })
		got := texts(target, s)
		if got[0] != "first" {
			t.Fatalf("deliveries %v", got)
		}
		if diff := cmp.Diff(in, sortedStrings(got[1:])); diff != "" {
			t.Errorf("reorder lost or added events (-want +got):\n%s", diff)
		}
		if cmp.Equal(in, got[1:]) {
			t.Errorf("one delivery of %d events kept their order", len(in))
		}
	})
}

// Request faults draw from the seeded source too: the same seed fails the
// same requests.
func TestSeededErrorRate(t *testing.T) {
	t.Parallel()
	run := func() []int {
		s, hs := newTestServer(t, Options{})
		if err := s.SetFaults(Faults{ErrorRate: 0.5, Seed: 11}); err != nil {
			t.Fatal(err)
		}
		var out []int
		for range 16 {
			out = append(out, call(t, hs, "pat-alice", "GET", "/users/me", nil).Status)
		}
		return out
	}
	first := run()
	if diff := cmp.Diff(first, run()); diff != "" {
		t.Errorf("the same seed failed other requests (-first +second):\n%s", diff)
	}
	if !cmp.Equal(true, containsInt(first, 200) && containsInt(first, 503)) {
		t.Errorf("statuses %v: want both successes and failures at rate 0.5", first)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
