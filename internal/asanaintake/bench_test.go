package asanaintake_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asanaintake"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/prometheus/client_golang/prometheus"
)

// bench is the sync engine's bench (both emulators, a real store, the
// engine and a running job queue; alice's task linked to DEMO-1 with sync
// on) and an Asana intake on it.
type bench struct {
	*synctest.Env
	Intake  *asanaintake.Intake
	Clients *bridgetest.Clients
	// Clock is the intake's clock (the store and emulators keep real time).
	Clock *storetest.Clock
	// Hooks serves the webhook receiver (webhooks mode).
	Hooks *httptest.Server
	Reg   *prometheus.Registry
}

type benchOptions struct {
	DB       string
	Webhooks bool
	// Config adjusts the intake's configuration.
	Config func(*asanaintake.Config)
}

func newBench(t *testing.T, o benchOptions) *bench {
	t.Helper()
	e := synctest.New(t, synctest.Options{DB: o.DB, Run: true})
	b := &bench{Env: e, Clients: bridgetest.NewClients(e.JiraURL, e.AsanaURL, e.Server), Reg: prometheus.NewRegistry()}
	for _, login := range []string{"alice", "bob"} {
		b.connectAsana(t, login)
	}
	cfg := asanaintake.Config{Store: e.Store, Clients: b.Clients, Recorder: e.Engine, Metrics: b.Reg, PollInterval: time.Second}
	b.Clock = storetest.NewClock(time.Now())
	cfg.Now = b.Clock.Now
	mux := http.NewServeMux()
	if o.Webhooks {
		b.Hooks = httptest.NewServer(mux)
		t.Cleanup(b.Hooks.Close)
		cfg.Mode, cfg.PublicURL = asanaintake.ModeWebhooks, b.Hooks.URL
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	var err error
	if b.Intake, err = asanaintake.New(cfg); err != nil {
		t.Fatal(err)
	}
	mux.Handle("POST "+asanaintake.HookPath+"{project}", b.Intake.Receiver())
	return b
}

// connectAsana gives the intake's clients a user's Asana token.
func (b *bench) connectAsana(t *testing.T, login string) {
	t.Helper()
	tok, _, err := b.Asana.IssueAccessToken(login)
	if err != nil {
		t.Fatal(err)
	}
	b.Clients.SetTokens(b.Users[login], "", tok)
}

// Task is the linked task's gid; Project is the Launch project's.
func (b *bench) Task() string    { return b.Link.TaskGID }
func (b *bench) Project() string { return b.Seed.Project }

func (b *bench) tick(t *testing.T) asanaintake.TickResult {
	t.Helper()
	res, err := b.Intake.Tick(t.Context())
	if err != nil {
		t.Fatalf("Tick: %v", err)
	}
	return res
}

// poll moves the intake's clock to when the project is due and ticks.
func (b *bench) poll(t *testing.T) asanaintake.TickResult {
	t.Helper()
	if next := b.project(t).NextPollAt; next.After(b.Clock.Now()) {
		b.Clock.Add(next.Sub(b.Clock.Now()))
	}
	return b.tick(t)
}

func (b *bench) project(t *testing.T) store.AsanaProjectSync {
	t.Helper()
	p, err := b.Store.GetAsanaProject(t.Context(), b.Project())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// start polls the project for the first time: its task is mapped, the sync
// token taken, and the link compared once.
func (b *bench) start(t *testing.T) {
	t.Helper()
	res := b.tick(t)
	if res.Mapped != 1 || res.Polled != 1 || res.Resyncs != 1 {
		t.Fatalf("first tick = %+v; want the task mapped, the project polled and the link compared", res)
	}
	b.settle(t)
}

// settle waits until the sync jobs applied every recorded change.
func (b *bench) settle(t *testing.T) {
	t.Helper()
	synctest.Eventually(t, 30*time.Second, "every recorded change applied", func() bool {
		for _, c := range b.Changes(t) {
			if c.AppliedAt.IsZero() {
				return false
			}
		}
		return true
	})
}

// changes are the link's recorded changes from one source.
func (b *bench) changes(t *testing.T, source string) []store.SyncChange {
	t.Helper()
	var out []store.SyncChange
	for _, c := range b.Changes(t) {
		if c.Source == source {
			out = append(out, c)
		}
	}
	return out
}

// comment adds a comment as login on the linked task and returns its gid.
func (b *bench) comment(t *testing.T, login, text string) string {
	t.Helper()
	s, err := b.AsanaAs(t, login).AddComment(t.Context(), b.Task(), text, "")
	if err != nil {
		t.Fatal(err)
	}
	return s.GID
}

func (b *bench) faults(t *testing.T, f fakeasana.Faults) {
	t.Helper()
	if err := b.Asana.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

// waitJiraComment waits for one Jira comment containing text.
func (b *bench) waitJiraComment(t *testing.T, text string) {
	t.Helper()
	synctest.Eventually(t, 30*time.Second, "the comment "+text+" in Jira", func() bool {
		return len(b.JiraCommentsWith(t, text)) > 0
	})
	if n := len(b.JiraCommentsWith(t, text)); n != 1 {
		t.Fatalf("%d Jira comments with %q, want 1", n, text)
	}
}

// post sends a request to the webhook receiver.
func (b *bench) post(t *testing.T, project string, body []byte, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.Hooks.URL+asanaintake.HookPath+project, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	return synctest.Metric(t, reg, name, want)
}
