package storetest

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// securityTests cover the records of migration 002: rule configurations,
// admins with the bootstrap link's state, and signed requests.
var securityTests = map[string]func(t *testing.T, newStore NewStore){
	"RuleConfigs":               testRuleConfigs,
	"RuleConfigAdoptionOneWins": testRuleConfigAdoptionOneWins,
	"Admins":                    testAdmins,
	"FirstAdminOneWins":         testFirstAdminOneWins,
	"AdminBootstrapState":       testAdminBootstrapState,
	"SignedRequests":            testSignedRequests,
	"SignedRequestAnswer":       testSignedRequestAnswer,
	"SignedRequestOneClaim":     testSignedRequestOneClaim,
}

var ignoreRuleStamps = cmpopts.IgnoreFields(store.RuleConfig{}, "CreatedAt", "UpdatedAt")

func testRuleConfigs(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	pending := func(owner, cfg string) store.RuleConfig {
		return store.RuleConfig{ProjectGID: "p1", ActionType: "create", OwnerGID: owner, WorkspaceGID: "w", Config: []byte(cfg)}
	}
	// Two users save a new rule on one project: each keeps their own.
	must(t, s.PutRuleConfig(ctx, pending("bob", `{"project":"OPS"}`)))
	must(t, s.PutRuleConfig(ctx, pending("alice", `{"project":"DEMO"}`)))
	must(t, s.PutRuleConfig(ctx, pending("alice", `{"project":"DEMO","labels":["x"]}`))) // alice saves again
	got, err := s.GetPendingRuleConfig(ctx, "p1", "create", "bob")
	must(t, err)
	if diff := cmp.Diff(pending("bob", `{"project":"OPS"}`), got, ignoreRuleStamps); diff != "" {
		t.Fatalf("bob's pending config (-want +got):\n%s", diff)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Errorf("stamps not set: %+v", got)
	}
	_, err = s.GetRuleConfig(ctx, "a1")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetRuleConfig(ctx, "")
	wantErr(t, err, store.ErrNotFound)

	// bob's first run adopts bob's configuration, not the latest saved.
	got, err = s.AdoptPendingRuleConfig(ctx, "a1", "p1", "create", "bob")
	must(t, err)
	want := pending("bob", `{"project":"OPS"}`)
	want.Action = "a1"
	if diff := cmp.Diff(want, got, ignoreRuleStamps); diff != "" {
		t.Fatalf("adopted (-want +got):\n%s", diff)
	}
	_, err = s.GetPendingRuleConfig(ctx, "p1", "create", "bob")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.AdoptPendingRuleConfig(ctx, "a9", "p1", "create", "bob")
	wantErr(t, err, store.ErrNotFound)
	// An action id that has a configuration is never adopted again.
	_, err = s.AdoptPendingRuleConfig(ctx, "a1", "p1", "create", "alice")
	wantErr(t, err, store.ErrNotFound)
	if got, err := s.GetPendingRuleConfig(ctx, "p1", "create", "alice"); err != nil || string(got.Config) != `{"project":"DEMO","labels":["x"]}` {
		t.Fatalf("alice's pending config = %s, %v", got.Config, err)
	}

	// Saving under the action id (editing) makes the saver the owner; an
	// edit that names no project keeps the one known.
	must(t, s.PutRuleConfig(ctx, store.RuleConfig{Action: "a1", OwnerGID: "carol", WorkspaceGID: "w", Config: []byte(`{"project":"X"}`)}))
	got, err = s.GetRuleConfig(ctx, "a1")
	must(t, err)
	want = store.RuleConfig{Action: "a1", ProjectGID: "p1", ActionType: "create", OwnerGID: "carol", WorkspaceGID: "w", Config: []byte(`{"project":"X"}`)}
	if diff := cmp.Diff(want, got, ignoreRuleStamps); diff != "" {
		t.Fatalf("edited (-want +got):\n%s", diff)
	}
	if err := s.PutRuleConfig(ctx, store.RuleConfig{Action: "a2", Config: []byte(`{}`)}); err == nil {
		t.Error("a configuration without an owner was saved")
	}
}

// Two runs of one new rule racing: one adopts the configuration, the
// other finds it under the action id.
func testRuleConfigAdoptionOneWins(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	must(t, s.PutRuleConfig(ctx, store.RuleConfig{ProjectGID: "p", ActionType: "t", OwnerGID: "u", Config: []byte(`{}`)}))
	adopted := winners(t, 8, func(i int) (bool, error) {
		_, err := s.AdoptPendingRuleConfig(ctx, fmt.Sprintf("a%d", i), "p", "t", "u")
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		return err == nil, err
	})
	if len(adopted) != 1 {
		t.Fatalf("adopted by %v, want exactly one", adopted)
	}
	if c, err := s.GetRuleConfig(ctx, fmt.Sprintf("a%d", adopted[0])); err != nil || c.OwnerGID != "u" {
		t.Fatalf("adopted config = %+v, %v", c, err)
	}
}

func testAdmins(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	has, err := s.HasAdmin(ctx)
	must(t, err)
	if has {
		t.Fatal("a new store has an admin")
	}
	first := store.Admin{GID: "1", Name: "Ann", Email: "ann@example.com", GrantedBy: "bootstrap link", GrantedAt: clk.Now()}
	must(t, s.GrantFirstAdmin(ctx, first))
	wantErr(t, s.GrantFirstAdmin(ctx, store.Admin{GID: "2", GrantedBy: "bootstrap link"}), store.ErrConflict)
	wantErr(t, s.GrantFirstAdmin(ctx, first), store.ErrConflict)
	must(t, s.PutAdmin(ctx, store.Admin{GID: "2", Name: "Bo", GrantedBy: "Ann (1)"}))
	must(t, s.PutAdmin(ctx, store.Admin{GID: "2", Email: "bo@example.com", GrantedBy: "someone else"}))
	got, err := s.ListAdmins(ctx)
	must(t, err)
	first.Bootstrap = true
	first.GrantedAt = first.GrantedAt.Truncate(time.Microsecond)
	want := []store.Admin{first, {GID: "2", Name: "Bo", Email: "bo@example.com", GrantedBy: "Ann (1)", GrantedAt: clk.Now().Truncate(time.Microsecond)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ListAdmins (-want +got):\n%s", diff)
	}
	if a, err := s.GetAdmin(ctx, "2"); err != nil || a.Name != "Bo" {
		t.Fatalf("GetAdmin = %+v, %v", a, err)
	}
	_, err = s.GetAdmin(ctx, "3")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.DeleteAdmin(ctx, "1"))
	must(t, s.DeleteAdmin(ctx, "2"))
	wantErr(t, s.DeleteAdmin(ctx, "2"), store.ErrNotFound)
	// With nobody left, a bootstrap link may make an admin again.
	must(t, s.GrantFirstAdmin(ctx, store.Admin{GID: "3", GrantedBy: "bootstrap link"}))
	if has, err := s.HasAdmin(ctx); err != nil || !has {
		t.Fatalf("HasAdmin = %v, %v", has, err)
	}
}

// People racing with bootstrap links: one becomes the admin.
func testFirstAdminOneWins(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	admins := winners(t, 8, func(i int) (bool, error) {
		err := s.GrantFirstAdmin(ctx, store.Admin{GID: fmt.Sprint(100 + i), GrantedBy: "bootstrap link"})
		if errors.Is(err, store.ErrConflict) {
			return false, nil
		}
		return err == nil, err
	})
	all, err := s.ListAdmins(ctx)
	must(t, err)
	if len(admins) != 1 || len(all) != 1 || all[0].GID != fmt.Sprint(100+admins[0]) {
		t.Fatalf("granted %v, table %+v; want exactly one admin", admins, all)
	}
}

func testAdminBootstrapState(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	must(t, s.PutAuthState(ctx, store.AuthState{State: "other", Kind: "admin-signin", ExpiresAt: clk.Now().Add(time.Hour)}))
	must(t, s.PutAdminBootstrapState(ctx, "L1", clk.Now().Add(time.Hour)))
	must(t, s.PutAdminBootstrapState(ctx, "L2", clk.Now().Add(time.Hour)))
	_, err := s.ConsumeAuthState(ctx, "L1")
	wantErr(t, err, store.ErrNotFound)
	a, err := s.ConsumeAuthState(ctx, "L2")
	must(t, err)
	if a.Kind != store.AdminBootstrapKind {
		t.Fatalf("kind %q", a.Kind)
	}
	if _, err := s.ConsumeAuthState(ctx, "other"); err != nil {
		t.Fatalf("another kind's state was revoked: %v", err)
	}

	// Replicas starting together: exactly one link stays valid.
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.PutAdminBootstrapState(ctx, fmt.Sprintf("R%d", i), clk.Now().Add(time.Hour)); err != nil {
				t.Errorf("put R%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	live := 0
	for i := range n {
		if _, err := s.ConsumeAuthState(ctx, fmt.Sprintf("R%d", i)); err == nil {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d bootstrap links valid, want 1", live)
	}
}

func testSignedRequests(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	r := store.SignedRequest{Signature: "sig", Route: "POST /submit", ExpiresAt: clk.Now().Add(time.Minute)}
	_, err := s.GetSignedRequest(ctx, "sig")
	wantErr(t, err, store.ErrNotFound)
	_, claimed, err := s.ClaimSignedRequest(ctx, r)
	must(t, err)
	if !claimed {
		t.Fatal("first claim not claimed")
	}
	if got, err := s.GetSignedRequest(ctx, "sig"); err != nil || got.Status != 0 || got.Route != "POST /submit" {
		t.Fatalf("read while running = %+v, %v", got, err)
	}
	got, claimed, err := s.ClaimSignedRequest(ctx, r)
	must(t, err)
	if claimed || got.Status != 0 || got.Route != "POST /submit" {
		t.Fatalf("claim while running = %+v, %v", got, claimed)
	}
	must(t, s.FinishSignedRequest(ctx, "sig", 200, []byte(`{"ok":true}`)))
	got, claimed, err = s.ClaimSignedRequest(ctx, store.SignedRequest{Signature: "sig", Route: "POST /other", ExpiresAt: r.ExpiresAt})
	must(t, err)
	if claimed || got.Status != 200 || string(got.Response) != `{"ok":true}` || got.Route != "POST /submit" {
		t.Fatalf("claim after finish = %+v, %v", got, claimed)
	}
	wantErr(t, s.FinishSignedRequest(ctx, "nope", 200, nil), store.ErrNotFound)
	if got, err := s.GetSignedRequest(ctx, "sig"); err != nil || got.Status != 200 || string(got.Response) != `{"ok":true}` {
		t.Fatalf("read after finish = %+v, %v", got, err)
	}

	// Released, the request may run again.
	must(t, s.ReleaseSignedRequest(ctx, "sig"))
	if _, claimed, err := s.ClaimSignedRequest(ctx, r); err != nil || !claimed {
		t.Fatalf("claim after release = %v, %v", claimed, err)
	}
	// A conflicting claim inside a transaction leaves it usable (it must
	// not abort a PostgreSQL transaction).
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		if _, claimed, err := tx.ClaimSignedRequest(ctx, r); err != nil || claimed {
			return fmt.Errorf("claim in tx = %v, %w", claimed, err)
		}
		return tx.PutWorkspace(ctx, store.Workspace{GID: "after-conflict", Name: "x"})
	}))
	if _, err := s.GetWorkspace(ctx, "after-conflict"); err != nil {
		t.Fatalf("write after the conflicting claim was lost: %v", err)
	}

	// An expired record is not read, is replaced, and DeleteExpired
	// removes them.
	clk.Add(2 * time.Minute)
	_, err = s.GetSignedRequest(ctx, "sig")
	wantErr(t, err, store.ErrNotFound)
	if _, claimed, err := s.ClaimSignedRequest(ctx, store.SignedRequest{Signature: "sig", Route: "r", ExpiresAt: clk.Now().Add(time.Minute)}); err != nil || !claimed {
		t.Fatalf("claim over an expired record = %v, %v", claimed, err)
	}
	must(t, func() error {
		_, _, err := s.ClaimSignedRequest(ctx, store.SignedRequest{Signature: "old", Route: "r", ExpiresAt: clk.Now().Add(time.Second)})
		return err
	}())
	n, err := s.DeleteExpired(ctx, clk.Now().Add(30*time.Second))
	must(t, err)
	if n != 1 {
		t.Fatalf("DeleteExpired removed %d rows, want 1 (the expired signed request)", n)
	}
	if _, claimed, err := s.ClaimSignedRequest(ctx, store.SignedRequest{Signature: "sig", Route: "r", ExpiresAt: clk.Now().Add(time.Minute)}); err != nil || claimed {
		t.Fatalf("the live record was deleted: %v, %v", claimed, err)
	}
	if _, _, err := s.ClaimSignedRequest(ctx, store.SignedRequest{Signature: "x"}); err == nil {
		t.Error("a claim without expiry was accepted")
	}
}

// testSignedRequestAnswer: an answer is written over the request's own
// claim, over an expired record or as a new record, and not over another
// copy's live claim or answer.
func testSignedRequestAnswer(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	r := func(name string) store.SignedRequest {
		return store.SignedRequest{Signature: name, Route: "POST /submit", ExpiresAt: clk.Now().Add(time.Minute)}
	}
	answer := func(name string, status int) store.SignedRequest {
		a := r(name)
		a.Status, a.Response = status, []byte(name)
		return a
	}
	if _, claimed, err := s.ClaimSignedRequest(ctx, r("old")); err != nil || !claimed {
		t.Fatalf("claim old = %v, %v", claimed, err)
	}
	clk.Add(2 * time.Minute) // "old" expired
	for _, name := range []string{"own-live", "other-live", "answered-live"} {
		if _, claimed, err := s.ClaimSignedRequest(ctx, r(name)); err != nil || !claimed {
			t.Fatalf("claim %s = %v, %v", name, claimed, err)
		}
	}
	must(t, s.AnswerSignedRequest(ctx, answer("own-live", 200), true))
	must(t, s.AnswerSignedRequest(ctx, answer("other-live", 200), false))
	must(t, s.FinishSignedRequest(ctx, "answered-live", 400, []byte("first")))
	must(t, s.AnswerSignedRequest(ctx, answer("answered-live", 200), true))
	must(t, s.AnswerSignedRequest(ctx, answer("old", 201), false))
	must(t, s.AnswerSignedRequest(ctx, answer("new", 202), false))
	want := map[string]string{"own-live": "200 own-live", "other-live": "0 ", "answered-live": "400 first", "old": "201 old", "new": "202 new"}
	for name, w := range want {
		got, err := s.GetSignedRequest(ctx, name)
		must(t, err)
		if g := fmt.Sprintf("%d %s", got.Status, got.Response); g != w || got.Route != "POST /submit" {
			t.Errorf("%s = %q (route %q), want %q", name, g, got.Route, w)
		}
	}
}

// The same signed request arriving at several replicas at once is handled
// by one.
func testSignedRequestOneClaim(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	claims := winners(t, 8, func(int) (bool, error) {
		_, claimed, err := s.ClaimSignedRequest(ctx, store.SignedRequest{Signature: "same", Route: "r", ExpiresAt: clk.Now().Add(time.Minute)})
		return claimed, err
	})
	if len(claims) != 1 {
		t.Fatalf("claimed by %v, want exactly one", claims)
	}
}

// Migration002 checks what migration 002 does to rows earlier versions
// wrote. db is an empty database; before applies the migrations before 002
// to it, after applies the rest and returns the store on db.
//
// Rule configurations move out of idempotency_keys with the user who saved
// them as owner (the old per-project "pending:" slot becomes that user's
// pending configuration); the first bootstrap grant of the audit log
// becomes the bootstrap admin, later grants do not; bootstrap links printed
// before are revoked.
func Migration002(t *testing.T, db *sql.DB, before func() error, after func() (store.Store, error)) {
	t.Helper()
	ctx := t.Context()
	must(t, before())
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	key := func(scope, key, result string) {
		exec(`INSERT INTO idempotency_keys (scope, key, result, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
			scope, key, []byte(result), at.Add(100*365*24*time.Hour), at)
	}
	key("rule_action", "1201", `{"user":"bob","workspace":"w","server_id":"js_1","project":"OPS","issue_type":"10001"}`)
	key("rule_action", "pending:p1:create_jira_issue", `{"user":"alice","workspace":"w","server_id":"js_1","project":"DEMO","labels":["alice-rule"]}`)
	key("rule_action", "pending:p2:create_jira_issue", `{"user":"","server_id":"js_1"}`) // nobody to own it: dropped
	key("rule_run", "run-1", `{"issue_key":"DEMO-1"}`)
	audit := func(when time.Time, actor, action, target string) {
		exec(`INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, '')`, when, actor, action, target)
	}
	audit(at, "Administrator (g-admin)", "admin.grant", "g-admin")
	audit(at, "Administrator (g-admin)", "admin.signin", "g-admin")
	audit(at.Add(time.Hour), "Alice (g-alice)", "admin.grant", "g-alice")
	for _, st := range []string{"L1", "L2"} {
		exec(`INSERT INTO auth_states (state, kind, expires_at, created_at) VALUES ($1, 'admin-bootstrap', $2, $3)`, st, at.Add(1000*time.Hour), at)
	}

	s, err := after()
	must(t, err)
	got, err := s.GetRuleConfig(ctx, "1201")
	must(t, err)
	if got.OwnerGID != "bob" || got.WorkspaceGID != "w" || !strings.Contains(string(got.Config), `"OPS"`) {
		t.Errorf("rule 1201 after migration: %+v %s", got, got.Config)
	}
	got, err = s.GetPendingRuleConfig(ctx, "p1", "create_jira_issue", "alice")
	must(t, err)
	if !strings.Contains(string(got.Config), `"alice-rule"`) || got.Action != "" {
		t.Errorf("alice's pending rule after migration: %+v %s", got, got.Config)
	}
	for _, owner := range []string{"", "bob"} {
		if _, err := s.GetPendingRuleConfig(ctx, "p2", "create_jira_issue", owner); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pending rule of p2 for %q: %v, want not found", owner, err)
		}
	}
	for _, k := range []string{"1201", "pending:p1:create_jira_issue", "pending:p2:create_jira_issue"} {
		if _, err := s.GetIdempotencyKey(ctx, "rule_action", k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("idempotency key rule_action/%s still there: %v", k, err)
		}
	}
	if _, err := s.GetIdempotencyKey(ctx, "rule_run", "run-1"); err != nil {
		t.Errorf("the rule run record was lost: %v", err)
	}
	admins, err := s.ListAdmins(ctx)
	must(t, err)
	want := []store.Admin{{GID: "g-admin", Name: "Administrator", GrantedBy: "bootstrap link", GrantedAt: at, Bootstrap: true}}
	if diff := cmp.Diff(want, admins); diff != "" {
		t.Errorf("admins after migration (-want +got):\n%s", diff)
	}
	for _, st := range []string{"L1", "L2"} {
		if _, err := s.ConsumeAuthState(ctx, st); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bootstrap link %s survived the migration: %v", st, err)
		}
	}
	if es, err := s.ListAudit(ctx, store.AuditFilter{}); err != nil || len(es) != 3 {
		t.Errorf("audit log after migration: %d entries, %v; want the 3 kept", len(es), err)
	}
}

// winners runs try n times at once and returns the i for which it won.
func winners(t *testing.T, n int, try func(i int) (bool, error)) []int {
	t.Helper()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		won []int
	)
	for i := range n {
		wg.Go(func() {
			ok, err := try(i)
			if err != nil {
				t.Errorf("try %d: %v", i, err)
			}
			if ok {
				mu.Lock()
				won = append(won, i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return won
}
