package asanaintake_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asanaintake"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
)

// startHooks polls the project once (its sync token, the first comparison)
// and creates its webhook; it returns the webhook record.
func (b *bench) startHooks(t *testing.T) store.AsanaWebhook {
	t.Helper()
	b.start(t)
	res, err := b.Intake.RepairWebhooks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || res.Failed != 0 {
		t.Fatalf("RepairWebhooks = %+v; want the project's webhook created", res)
	}
	return b.hook(t)
}

func (b *bench) hook(t *testing.T) store.AsanaWebhook {
	t.Helper()
	h, err := b.Store.GetAsanaWebhook(t.Context(), b.Project())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Webhooks mode end to end, on both databases: the webhook is created with
// a handshake, Asana's signed deliveries are recorded and applied, the
// events stream becomes reconciliation (polled rarely, its copy of a
// delivered event a duplicate), and a webhook Asana deleted is made again.
func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			b := newBench(t, benchOptions{DB: db, Webhooks: true})
			ctx := t.Context()
			h := b.startHooks(t)
			if h.State != store.AsanaWebhookActive || h.WebhookGID == "" || h.Secret == "" || h.TokenUser != b.Users["alice"] ||
				h.Target != b.Hooks.URL+"/asana/hooks/"+b.Project() {
				t.Fatalf("webhook = %+v", h)
			}
			hooks := b.Asana.Webhooks()
			if len(hooks) != 1 || hooks[0].GID != h.WebhookGID || hooks[0].Secret != h.Secret.Reveal() || hooks[0].Target != h.Target {
				t.Fatalf("Asana has %+v; want the one webhook, with the secret of the handshake", hooks)
			}
			if p := b.project(t); p.NextPollAt.Sub(b.Clock.Now()) < 4*time.Minute {
				t.Fatalf("with a live webhook the events are polled at %v, want in about 5 minutes", p.NextPollAt)
			}

			story := b.comment(t, "bob", "Delivered by a webhook.")
			b.waitJiraComment(t, "Delivered by a webhook.")
			cs := b.changes(t, asanaintake.SourceWebhook)
			if len(cs) != 1 || cs[0].Object != story || cs[0].Kind != syncengine.KindComment || cs[0].Actor != b.Users["bob"] {
				t.Fatalf("webhook changes = %+v; want bob's comment", cs)
			}
			if b.hook(t).LastDeliveryAt.IsZero() {
				t.Fatal("no delivery recorded on the webhook")
			}
			// Reconciliation reads the same event: a duplicate, not a
			// second change.
			res := b.poll(t)
			if res.Polled != 1 || res.Recorded != 0 || res.Duplicates < 1 {
				t.Fatalf("reconciliation poll = %+v; want the delivered event seen as a duplicate", res)
			}

			// Asana deleted the webhook: the repair makes a new one, and
			// deliveries go on.
			if err := b.AsanaAs(t, "alice").DeleteWebhook(ctx, h.WebhookGID); err != nil {
				t.Fatal(err)
			}
			res2, err := b.Intake.RepairWebhooks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res2.Recreated != 1 {
				t.Fatalf("repair after the deletion = %+v; want the webhook made again", res2)
			}
			again := b.hook(t)
			if again.WebhookGID == h.WebhookGID || again.State != store.AsanaWebhookActive || again.Recreated != 1 ||
				again.Secret == h.Secret || len(b.Asana.Webhooks()) != 1 {
				t.Fatalf("webhook after the repair = %+v (Asana has %d)", again, len(b.Asana.Webhooks()))
			}
			b.comment(t, "bob", "Delivered by the new webhook.")
			b.waitJiraComment(t, "Delivered by the new webhook.")
			// A pass with nothing to do changes nothing.
			if res2, err = b.Intake.RepairWebhooks(ctx); err != nil || res2 != (asanaintake.RepairResult{}) {
				t.Fatalf("idle repair = %+v, %v", res2, err)
			}
		})
	}
}

// The receiver accepts a handshake only while a registration is pending,
// answers heartbeats, and refuses unsigned, forged, malformed and
// misaddressed deliveries with a clear 4xx, recording nothing for them.
func TestReceiverRefusesWhatAsanaDidNotSend(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{Webhooks: true})
	h := b.startHooks(t)
	secret := h.Secret.Reveal()
	project := b.Project()
	event := map[string]any{"events": []map[string]any{{
		"action": "added", "created_at": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"user":     map[string]string{"gid": b.Users["bob"], "resource_type": "user"},
		"resource": map[string]string{"gid": "1399999999999999", "resource_type": "story", "resource_subtype": "comment_added"},
		"parent":   map[string]string{"gid": b.Task(), "resource_type": "task", "resource_subtype": "default_task"},
	}}}
	body, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	before := len(b.Changes(t))

	// Heartbeat: an empty, signed delivery.
	beat := []byte(`{"events":[]}`)
	if resp := b.post(t, project, beat, map[string]string{"X-Hook-Signature": sign(secret, beat)}); resp.StatusCode != http.StatusOK {
		t.Fatalf("heartbeat: %d", resp.StatusCode)
	}
	if b.hook(t).LastHeartbeatAt.IsZero() {
		t.Fatal("heartbeat not recorded")
	}

	for name, tc := range map[string]struct {
		project string
		body    []byte
		header  map[string]string
		status  int
	}{
		"unsigned":             {project, body, nil, http.StatusUnauthorized},
		"forged signature":     {project, body, map[string]string{"X-Hook-Signature": sign("not-the-secret", body)}, http.StatusUnauthorized},
		"signature not hex":    {project, body, map[string]string{"X-Hook-Signature": "zz"}, http.StatusUnauthorized},
		"body changed":         {project, append([]byte(" "), body...), map[string]string{"X-Hook-Signature": sign(secret, body)}, http.StatusUnauthorized},
		"malformed body":       {project, []byte("not json"), map[string]string{"X-Hook-Signature": sign(secret, []byte("not json"))}, http.StatusBadRequest},
		"no events":            {project, []byte(`{"data":[]}`), map[string]string{"X-Hook-Signature": sign(secret, []byte(`{"data":[]}`))}, http.StatusBadRequest},
		"unknown project":      {"1201000000009999", body, map[string]string{"X-Hook-Signature": sign(secret, body)}, http.StatusNotFound},
		"not a project id":     {"..%2Fadmin", body, map[string]string{"X-Hook-Signature": sign(secret, body)}, http.StatusNotFound},
		"handshake not asked":  {project, nil, map[string]string{"X-Hook-Secret": "attacker-secret"}, http.StatusForbidden},
		"handshake other proj": {"1201000000009999", nil, map[string]string{"X-Hook-Secret": "attacker-secret"}, http.StatusForbidden},
	} {
		if resp := b.post(t, tc.project, tc.body, tc.header); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.status)
		}
	}
	if n := len(b.Changes(t)); n != before {
		t.Fatalf("%d changes recorded by refused requests", n-before)
	}
	if got := b.hook(t); got.Secret.Reveal() != secret {
		t.Fatal("a handshake outside a registration replaced the secret")
	}

	// The genuine delivery is recorded once, however often it comes.
	for range 2 {
		if resp := b.post(t, project, body, map[string]string{"X-Hook-Signature": sign(secret, body)}); resp.StatusCode != http.StatusOK {
			t.Fatalf("signed delivery: %d", resp.StatusCode)
		}
	}
	if n := len(b.changes(t, asanaintake.SourceWebhook)); n != 1 {
		t.Fatalf("%d changes for one delivery sent twice, want 1", n)
	}
	if n := metric(t, b.Reg, "asanajira_asana_webhook_deliveries_total", "outcome", "refused"); n != 10 {
		t.Fatalf("refused deliveries counted %v, want 10", n)
	}
}

// A story edit delivered by webhook names no task: when no mirror maps the
// story, the receiver cannot place it and has the project's events read at
// once, where the poller asks Asana.
func TestReceiverWakesThePollForAnUnplacedStory(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{Webhooks: true})
	h := b.startHooks(t)
	body := []byte(`{"events":[{"action":"changed","created_at":"2026-03-10T12:00:00.000Z","parent":null,` +
		`"change":{"field":"text","action":"changed"},"user":{"gid":"` + b.Users["bob"] + `","resource_type":"user"},` +
		`"resource":{"gid":"1399999999999998","resource_type":"story","resource_subtype":"comment_added"}}]}`)
	if resp := b.post(t, b.Project(), body, map[string]string{"X-Hook-Signature": sign(h.Secret.Reveal(), body)}); resp.StatusCode != http.StatusOK {
		t.Fatalf("delivery: %d", resp.StatusCode)
	}
	if p := b.project(t); p.NextPollAt.After(b.Clock.Now()) {
		t.Fatalf("the project's events are read at %v, want now (%v)", p.NextPollAt, b.Clock.Now())
	}
}

// A webhook Asana cannot deliver to is shown failing, with Asana's reason,
// until a delivery succeeds again.
func TestFailingWebhookIsShown(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{Webhooks: true})
	b.startHooks(t)
	b.Hooks.Close() // the bridge is unreachable
	b.comment(t, "bob", "Cannot be delivered.")
	synctest.Eventually(t, 30*time.Second, "a failed delivery", func() bool {
		hs := b.Asana.Webhooks()
		return len(hs) == 1 && !hs[0].LastFailure.IsZero()
	})
	res, err := b.Intake.RepairWebhooks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Failing != 1 || res.Created != 0 {
		t.Fatalf("repair = %+v; want the webhook seen failing, not made again", res)
	}
	h := b.hook(t)
	if h.State != store.AsanaWebhookActive || h.LastError == "" {
		t.Fatalf("webhook = %+v; want it active with Asana's failure shown", h)
	}
	st, err := b.Intake.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Webhooks.Failing != 1 || st.Mode != asanaintake.ModeWebhooks {
		t.Fatalf("status webhooks = %+v", st.Webhooks)
	}
}

// The repair learns the projects of new links itself: a pass right after
// the start makes their webhooks before any poll.
func TestRepairMakesWebhooksBeforeAnyPoll(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{Webhooks: true})
	res, err := b.Intake.RepairWebhooks(t.Context())
	if err != nil || res.Created != 1 {
		t.Fatalf("first repair = %+v, %v; want the webhook made", res, err)
	}
	if p := b.project(t); !p.LastPollAt.IsZero() || p.NextPollAt.After(b.Clock.Now()) {
		t.Fatalf("project = %+v; want it due for its first poll (the sync token, the first comparison)", p)
	}
	if res := b.tick(t); res.Resyncs != 1 {
		t.Fatalf("first tick = %+v", res)
	}
}
