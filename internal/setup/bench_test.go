package setup_test

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
)

// publicURL is the bridge's URL in these tests; nothing calls it.
const publicURL = "https://bridge.example"

// actor is who makes the tests' changes.
const actor = setup.Actor("Tess Tester (1201000000000099)")

// bench is the setup service over a real database, with a doctor that
// records what it was asked.
type bench struct {
	t   *testing.T
	st  store.Store
	svc *setup.Service

	mu      sync.Mutex
	doctors []setup.DoctorRequest
	// serversAtDoctor is how many servers were recorded when the doctor
	// last ran.
	serversAtDoctor int
}

// databases runs fn once on SQLite and once on PostgreSQL (skipped without
// TEST_POSTGRES_URL, failed under CI).
func databases(t *testing.T, fn func(t *testing.T, b *bench)) {
	t.Helper()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			fn(t, newBench(t, db))
		})
	}
}

func newBench(t *testing.T, db string) *bench {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	kr, err := secrets.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store
	switch db {
	case "sqlite":
		st, err = sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), kr, nil)
	default:
		st, err = postgres.Open(t.Context(), pgtest.URL(t), kr, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b := &bench{t: t, st: st}
	b.svc, err = setup.New(setup.Deps{Store: st, PublicURL: publicURL, Doctor: b.doctor})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// doctor passes every server and notes the request.
func (b *bench) doctor(ctx context.Context, req setup.DoctorRequest) setup.DoctorReport {
	all, _ := b.st.ListJiraServers(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.doctors = append(b.doctors, req)
	b.serversAtDoctor = len(all)
	return setup.DoctorReport{OK: true, Checks: []setup.DoctorCheck{{ID: "server_info", Title: "serverInfo answers", Status: "pass"}}}
}

// newJira starts a Jira emulator of version and returns it with its base URL.
func newJira(t *testing.T, version string) (*fakejira.Server, string) {
	t.Helper()
	j, err := fakejira.New(fakejira.Options{Version: version, OnUnknownRoute: func(m, p string) {
		t.Errorf("jira emulator %s: unknown route %s %s", version, m, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(j)
	t.Cleanup(hs.Close)
	t.Cleanup(j.Close)
	return j, hs.URL + j.ContextPath()
}

// register records a server for base and fails the test on error.
func (b *bench) register(base string) store.JiraServer {
	b.t.Helper()
	reg, err := b.svc.RegisterServer(b.t.Context(), actor, setup.ServerInput{BaseURL: base, Name: "Emulated Jira"})
	if err != nil {
		b.t.Fatalf("register %s: %v", base, err)
	}
	return reg.Server
}

// connected registers and connects a server automatically as admin/admin.
func (b *bench) connected(base string) store.JiraServer {
	b.t.Helper()
	srv, err := b.svc.ConnectAutomatic(b.t.Context(), actor, b.register(base).ID, setup.JiraAdmin{User: "admin", Password: "admin"})
	if err != nil {
		b.t.Fatalf("connect %s: %v", base, err)
	}
	return srv
}

// audit returns the audit actions, oldest first.
func (b *bench) audit() []store.AuditEntry {
	b.t.Helper()
	es, err := b.st.ListAudit(b.t.Context(), store.AuditFilter{Limit: 500})
	if err != nil {
		b.t.Fatal(err)
	}
	slices.Reverse(es)
	return es
}

func (b *bench) actions() []string {
	var out []string
	for _, e := range b.audit() {
		out = append(out, e.Action)
	}
	return out
}

// jiraAdmin is a Jira client authenticated as the emulator's admin, to look
// at and break Jira's state the way a person in Jira's UI would.
func jiraAdmin(t *testing.T, base string) *jira.Client {
	t.Helper()
	c, err := jira.New(base, jira.NewHTTPClient(&jira.BasicAuthTransport{Username: "admin", Password: "admin"}, 30*time.Second),
		jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t *testing.T, err error, code setup.Code, text string) {
	t.Helper()
	if setup.CodeOf(err) != code || !strings.Contains(err.Error(), text) {
		t.Fatalf("err = %v (code %d), want code %d with %q", err, setup.CodeOf(err), code, text)
	}
}
