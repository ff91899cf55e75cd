package setup_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/setup"
)

// A server that fails its required checks is not recorded when the input
// asks to refuse it; the error carries the report.
func TestRegisterRefusesAFailingServer(t *testing.T) {
	t.Parallel()
	b := newBench(t, "sqlite")
	svc, err := setup.New(setup.Deps{Store: b.st, PublicURL: publicURL}) // the real doctor
	if err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(nil)
	down.Close()
	reg, err := svc.RegisterServer(t.Context(), actor, setup.ServerInput{BaseURL: down.URL, RefuseFailing: true})
	if !errors.Is(err, setup.ErrChecksFailed) || setup.CodeOf(err) != setup.Invalid || reg.Doctor.OK || len(reg.Doctor.Checks) == 0 {
		t.Fatalf("register a refused server: %v, report %+v", err, reg.Doctor)
	}
	if all, _ := b.st.ListJiraServers(t.Context()); len(all) != 0 {
		t.Errorf("a refused server was recorded: %+v", all)
	}
	if es := b.audit(); len(es) != 0 {
		t.Errorf("a refused server was audited: %+v", es)
	}
	// Without RefuseFailing it is recorded, unreachable.
	reg, err = svc.RegisterServer(t.Context(), actor, setup.ServerInput{BaseURL: down.URL})
	if err != nil || reg.Server.Status != setup.StatusUnreachable {
		t.Errorf("register without refusing: %+v, %v", reg.Server, err)
	}
}

// Recheck records the doctor's verdict and when it ran, and audits a
// change of status.
func TestRecheck(t *testing.T) {
	t.Parallel()
	b := newBench(t, "sqlite")
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	svc, err := setup.New(setup.Deps{Store: b.st, PublicURL: publicURL, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	j, err := fakejira.New(fakejira.Options{Version: "9.12.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	hs := httptest.NewServer(j)
	t.Cleanup(hs.Close)
	reg, err := svc.RegisterServer(t.Context(), actor, setup.ServerInput{BaseURL: hs.URL + j.ContextPath()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := svc.ConnectAutomatic(t.Context(), actor, reg.Server.ID, setup.JiraAdmin{User: "admin", Password: "admin"})
	if err != nil || srv.Status != setup.StatusConnected {
		t.Fatalf("connect: %+v, %v", srv, err)
	}
	before := len(b.audit())

	clock = clock.Add(time.Hour)
	srv, rep, err := svc.Recheck(t.Context(), actor, srv.ID)
	if err != nil || !rep.OK || srv.Status != setup.StatusConnected || !srv.CheckedAt.Equal(clock) {
		t.Fatalf("recheck a working server: %s at %v, report ok %v, %v", srv.Status, srv.CheckedAt, rep.OK, err)
	}
	if stored, _ := svc.Server(t.Context(), srv.ID); !stored.CheckedAt.Equal(clock) {
		t.Errorf("stored checked at %v, want %v", stored.CheckedAt, clock)
	}
	if n := len(b.audit()); n != before {
		t.Errorf("a check that changed nothing was audited (%d entries, %d before)", n, before)
	}

	hs.Close()
	clock = clock.Add(time.Hour)
	srv, rep, err = svc.Recheck(t.Context(), actor, srv.ID)
	if err != nil || rep.OK || srv.Status != setup.StatusUnreachable || !srv.CheckedAt.Equal(clock) {
		t.Fatalf("recheck a stopped server: %s at %v, report ok %v, %v", srv.Status, srv.CheckedAt, rep.OK, err)
	}
	es := b.audit()
	if last := es[len(es)-1]; last.Action != "server.status" || last.Detail != "connected → unreachable after the checks ran again" {
		t.Errorf("last audit entry %+v", last)
	}
}
