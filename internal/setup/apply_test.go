package setup_test

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/google/go-cmp/cmp"
)

// applyBench is the setup service with the sync engine, next to both
// emulators.
type applyBench struct {
	*bench
	jira     *fakejira.Server
	jiraURL  string
	asanaURL string
	seed     fakeasana.SeedIDs
	sync     *syncengine.Engine
	env      setup.FileEnv
}

func newApplyBench(t *testing.T, b *bench) *applyBench {
	t.Helper()
	j, jiraURL := newJira(t, "9.12.0")
	fa, err := fakeasana.New(fakeasana.Options{OnUnknownRoute: func(m, p string) { t.Errorf("asana emulator: unknown route %s %s", m, p) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fa)
	t.Cleanup(hs.Close)
	t.Cleanup(fa.Close)
	if err := fa.SetPublicBaseURL(hs.URL); err != nil {
		t.Fatal(err)
	}
	a := &applyBench{bench: b, jira: j, jiraURL: jiraURL, asanaURL: hs.URL, seed: fa.Seed()}
	a.sync, err = syncengine.New(syncengine.Config{Store: b.st, Clients: bridgetest.NewClients(jiraURL, hs.URL, store.JiraServer{})})
	if err != nil {
		t.Fatal(err)
	}
	b.svc, err = setup.New(setup.Deps{Store: b.st, PublicURL: publicURL, Doctor: b.doctor, Sync: a.sync})
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"ASANA_TOKEN": "pat-admin", "JIRA_ADMIN_PASSWORD": "admin"}
	a.env = setup.FileEnv{Dir: t.TempDir(), Getenv: func(k string) string { return secrets[k] }, ReadFile: os.ReadFile, AsanaURL: hs.URL}
	return a
}

// file parses a setup file for the bench's emulators (JIRA_URL stands for
// the Jira emulator's URL).
func (a *applyBench) file(t *testing.T, text string) *setup.File {
	t.Helper()
	f, err := setup.ParseFile([]byte(strings.ReplaceAll(text, "JIRA_URL", a.jiraURL)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// plan returns the plan as "op what" lines.
func (a *applyBench) plan(t *testing.T, f *setup.File, prune bool) (*setup.Plan, []string) {
	t.Helper()
	p, err := a.svc.Plan(t.Context(), f, a.env, prune)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range p.Changes {
		line := c.Op + " " + c.What
		if c.PruneOnly {
			line += " [prune]"
		}
		lines = append(lines, strings.ReplaceAll(line, a.jiraURL, "JIRA_URL"))
	}
	return p, lines
}

func (a *applyBench) apply(t *testing.T, p *setup.Plan) {
	t.Helper()
	if err := a.svc.Apply(t.Context(), "ops (asanajira apply)", p); err != nil {
		t.Fatal(err)
	}
}

const demoFile = `
asana:
  token_env: ASANA_TOKEN
jira_servers:
  - name: Jira
    url: JIRA_URL
    methods: [oauth1, pat]
    admin:
      user: admin
      password_env: JIRA_ADMIN_PASSWORD
workspaces:
  - name: Acme
    connections:
      - server: Jira
        default: true
        sync:
          enabled: true
          done_transition: Done
    routes:
      - project: Launch
        server: Jira
        jira_project: demo
`

// Applying a file makes the setup what it says; applying it again changes
// nothing; a change in Jira (a deleted webhook) is planned and repaired.
func TestApplyConverges(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		a := newApplyBench(t, b)
		f := a.file(t, demoFile)
		p, lines := a.plan(t, f, false)
		want := []string{
			`+ jira server "Jira" at JIRA_URL: register it (the doctor first) with a new key pair`,
			`+ jira server "Jira": create the application link and the webhook (as Jira admin admin)`,
			`~ jira server "Jira": sign-in methods oauth1, pat`,
			`+ workspace "Acme" (` + a.seed.Workspace + `)`,
			`+ connection "Acme" × "Jira" (default)`,
			`+ sync settings of "Acme" × "Jira": sync on, comments on, completion on, done by Done`,
			`+ route of "Acme" project "Launch" (` + a.seed.Project + `) → "Jira" (DEMO)`,
		}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Fatalf("first plan (-want +got):\n%s", diff)
		}
		if servers, _ := b.svc.Servers(ctx); len(servers) != 0 || len(a.jira.ApplicationLinks()) != 0 {
			t.Fatal("planning changed something")
		}
		a.apply(t, p)
		for _, c := range p.Changes {
			if !c.Applied {
				t.Errorf("not applied: %s", c.What)
			}
		}
		srv, err := b.svc.FindServer(ctx, a.jiraURL)
		if err != nil || srv.Status != setup.StatusConnected || len(a.jira.ApplicationLinks()) != 1 || len(a.jira.Webhooks()) != 1 {
			t.Fatalf("after apply: %+v, %v", srv, err)
		}
		if got, err := b.st.RouteProject(ctx, a.seed.Workspace, a.seed.Project); err != nil || got.ID != srv.ID {
			t.Errorf("Launch routes to %q, %v", got.ID, err)
		}
		routes, _ := b.svc.Routes(ctx, a.seed.Workspace)
		if len(routes) != 1 || routes[0].JiraProjectKey != "DEMO" {
			t.Errorf("routes %+v", routes)
		}
		settings, err := a.sync.Settings(ctx, a.seed.Workspace, srv.ID)
		if err != nil || !settings.Enabled || settings.DoneTransition != "Done" || settings.UpdatedBy != "ops (asanajira apply)" {
			t.Errorf("sync settings %+v, %v", settings, err)
		}
		for _, e := range b.audit() {
			if e.Actor != "ops (asanajira apply)" {
				t.Errorf("audit entry %+v", e)
			}
		}

		// Again: nothing to do, nothing done.
		entries := len(b.audit())
		p, lines = a.plan(t, f, true)
		if len(lines) != 0 || !p.Empty() || len(p.Notes) != 0 {
			t.Fatalf("second plan: %v, notes %v", lines, p.Notes)
		}
		a.apply(t, p)
		if n := len(b.audit()); n != entries {
			t.Errorf("a second apply wrote %d audit entries", n-entries)
		}

		// Jira lost the webhook: the plan repairs it.
		cl := jiraAdmin(t, a.jiraURL)
		for _, h := range mustHooks(t, cl) {
			if err := cl.DeleteWebhook(ctx, h.ID()); err != nil {
				t.Fatal(err)
			}
		}
		p, lines = a.plan(t, f, false)
		if diff := cmp.Diff([]string{`~ jira server "Jira": repair the webhook (Jira lacks exactly one enabled webhook to asanajira with every event)`}, lines); diff != "" {
			t.Fatalf("plan after the webhook went (-want +got):\n%s", diff)
		}
		a.apply(t, p)
		if len(a.jira.Webhooks()) != 1 {
			t.Errorf("webhooks %+v", a.jira.Webhooks())
		}
		// Jira lost the application link too (a new Jira): made again.
		for _, l := range a.jira.ApplicationLinks() {
			if err := cl.DeleteAppLink(ctx, l.ID); err != nil {
				t.Fatal(err)
			}
		}
		p, lines = a.plan(t, f, false)
		if diff := cmp.Diff([]string{`~ jira server "Jira": make the application link and the webhook again: Jira refuses the link (consumer_key_unknown) (as Jira admin admin)`}, lines); diff != "" {
			t.Fatalf("plan after the link went (-want +got):\n%s", diff)
		}
		a.apply(t, p)
		if _, lines = a.plan(t, f, false); len(lines) != 0 {
			t.Errorf("plan after the repairs: %v", lines)
		}
	})
}

// What the file no longer lists is planned as a removal and removed only
// with --prune; changes are planned as changes.
func TestApplyChangesAndPrune(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		ctx := t.Context()
		a := newApplyBench(t, b)
		first, _ := a.plan(t, a.file(t, demoFile), false)
		a.apply(t, first)
		_, other := newJira(t, "8.20.1")
		b.register(other)
		if _, _, err := b.svc.AddWorkspace(ctx, "someone", "1209", "Old"); err != nil {
			t.Fatal(err)
		}

		changed := a.file(t, `
asana:
  token_env: ASANA_TOKEN
jira_servers:
  - name: Main Jira
    url: JIRA_URL
    methods: [oauth1]
workspaces:
  - gid: "`+a.seed.Workspace+`"
    name: Acme Inc
    connections:
      - server: Main Jira
        sync:
          enabled: false
`)
		p, lines := a.plan(t, changed, false)
		srv, _ := b.svc.FindServer(ctx, a.jiraURL)
		want := []string{
			`~ jira server "Main Jira": rename it from "Jira"`,
			`~ jira server "Main Jira": sign-in methods oauth1, pat → oauth1`,
			`~ workspace "Acme Inc" (` + a.seed.Workspace + `): rename it from "Acme"`,
			`~ connection "Acme Inc" × "Main Jira": default true → false`,
			`~ sync settings of "Acme Inc" × "Main Jira": sync on, comments on, completion on, done by Done → sync off, comments on, completion on`,
			`- route of "Acme Inc" project ` + a.seed.Project + ` → "Jira" [prune]`,
			`- workspace "Old" (1209) with its connections and routes [prune]`,
			`- jira server "Emulated Jira" at ` + other + ` with its connections, routes, users' authorizations and links [prune]`,
		}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Fatalf("plan (-want +got):\n%s", diff)
		}
		if p.Empty() {
			t.Error("a plan with changes says it is empty")
		}
		a.apply(t, p)
		if ws, _ := b.svc.Workspaces(ctx); len(ws) != 2 {
			t.Errorf("without --prune the workspace went: %+v", ws)
		}
		p, lines = a.plan(t, changed, false)
		if len(lines) != 3 || !p.Empty() {
			t.Fatalf("after applying without --prune: %v (empty %v)", lines, p.Empty())
		}
		p, _ = a.plan(t, changed, true)
		a.apply(t, p)
		if ws, _ := b.svc.Workspaces(ctx); len(ws) != 1 {
			t.Errorf("with --prune: workspaces %+v", ws)
		}
		if servers, _ := b.svc.Servers(ctx); len(servers) != 1 || servers[0].ID != srv.ID {
			t.Errorf("with --prune: servers %+v", servers)
		}
		if len(p.Notes) != 0 {
			t.Errorf("notes %v: the pruned server had nothing in Jira", p.Notes)
		}
		if _, lines = a.plan(t, changed, true); len(lines) != 0 {
			t.Errorf("after pruning: %v", lines)
		}
	})
}

// A file is refused, before anything changes, when it is wrong.
func TestSetupFileErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, text, want string
	}{
		{"inline password", "jira_servers:\n  - name: J\n    url: https://j.example\n    admin: {user: a, password: x}\n", "password is a secret and is never written in the file; give password_env"},
		{"inline token", "asana:\n  token: pat-x\n", "asana: token is a secret"},
		{"inline client secret", "jira_servers:\n  - name: J\n    url: https://j.example\n    oauth2: {client_id: c, client_secret: s}\n", "client_secret is a secret"},
		{"unknown field", "jira_servers:\n  - name: J\n    uri: https://j.example\n", "field uri not found"},
		{"server without url", "jira_servers:\n  - name: J\n", "url (Jira's base URL) is required"},
		{"two servers one name", "jira_servers:\n  - {name: J, url: https://a.example}\n  - {name: J, url: https://b.example}\n", `a second server is named "J"`},
		{"unknown server", "workspaces:\n  - name: A\n    connections: [{server: Nope}]\n", `no server of that name`},
		{"two defaults", "jira_servers:\n  - {name: J, url: https://a.example}\n  - {name: K, url: https://b.example}\nworkspaces:\n  - name: A\n    connections: [{server: J, default: true}, {server: K, default: true}]\n", "one default at most"},
		{"route to an unconnected server", "jira_servers:\n  - {name: J, url: https://a.example}\nworkspaces:\n  - name: A\n    routes: [{project: P, server: J}]\n", "connect the workspace to \"J\" in its connections first"},
		{"bad method", "jira_servers:\n  - {name: J, url: https://a.example, methods: [saml]}\n", `no sign-in method "saml"`},
		{"bad gid", "workspaces:\n  - gid: acme\n", "not an Asana gid"},
		{"admin without a secret", "jira_servers:\n  - {name: J, url: https://a.example, admin: {user: a}}\n", "give token_env or token_file, or user with password_env or password_file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := setup.ParseFile([]byte(tt.text))
			if setup.CodeOf(err) != setup.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// A plan that cannot be made says why and changes nothing.
func TestPlanErrors(t *testing.T) {
	t.Parallel()
	databases(t, func(t *testing.T, b *bench) {
		a := newApplyBench(t, b)
		if err := os.WriteFile(filepath.Join(a.env.Dir, "ca.pem"), []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, text, want string
		}{
			{"unset variable", "jira_servers:\n  - {name: J, url: JIRA_URL, admin: {token_env: NOT_SET}}\n", "the environment variable NOT_SET is not set"},
			{"missing secret file", "jira_servers:\n  - {name: J, url: JIRA_URL, admin: {token_file: nope.txt}}\n", "cannot read the file"},
			{"bad CA bundle file", "jira_servers:\n  - {name: J, url: JIRA_URL, ca_bundle_file: ca.pem}\n", "jira_servers[0] (J): The CA bundle is not a certificate"},
			{"workspace not in Asana", "asana: {token_env: ASANA_TOKEN}\nworkspaces:\n  - name: Nowhere\n", `Asana has no workspace named "Nowhere"`},
			{"names without a token", "workspaces:\n  - name: Acme\n", "give asana.token_env or asana.token_file"},
			{"project not in the workspace", "asana: {token_env: ASANA_TOKEN}\njira_servers:\n  - {name: J, url: JIRA_URL}\nworkspaces:\n  - name: Acme\n    connections: [{server: J}]\n    routes: [{project: Nothing, server: J}]\n", `Asana has no project named "Nothing"`},
		} {
			_, err := a.svc.Plan(t.Context(), a.file(t, tt.text), a.env, false)
			if setup.CodeOf(err) != setup.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
			}
		}
		// Without a sync engine, sync settings are refused.
		noSync, err := setup.New(setup.Deps{Store: b.st, PublicURL: publicURL, Doctor: b.doctor})
		if err != nil {
			t.Fatal(err)
		}
		_, err = noSync.Plan(t.Context(), a.file(t, demoFile), a.env, false)
		if err == nil || !strings.Contains(err.Error(), "no sync engine") {
			t.Errorf("sync settings without an engine: %v", err)
		}
		if servers, _ := b.svc.Servers(t.Context()); len(servers) != 0 {
			t.Errorf("a failed plan changed something: %+v", servers)
		}
		// A failing step stops the apply, says which, and marks what was done.
		if err := os.WriteFile(filepath.Join(a.env.Dir, "wrong.txt"), []byte("not-the-password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p, _ := a.plan(t, a.file(t, strings.Replace(demoFile, "password_env: JIRA_ADMIN_PASSWORD", "password_file: wrong.txt", 1)), false)
		err = a.svc.Apply(t.Context(), "ops (asanajira apply)", p)
		var se *setup.Error
		if !errors.As(err, &se) || se.Code != setup.JiraFailed || !strings.Contains(err.Error(), `Stopped at “+ jira server "Jira": create the application link`) {
			t.Fatalf("apply with a wrong password: %v", err)
		}
		if !p.Changes[0].Applied || p.Changes[1].Applied || p.Changes[2].Applied {
			t.Errorf("applied marks: %v %v %v", p.Changes[0].Applied, p.Changes[1].Applied, p.Changes[2].Applied)
		}
		if strings.Contains(err.Error(), "not-the-password") {
			t.Error("the error holds the password")
		}
	})
}
