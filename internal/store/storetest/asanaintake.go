package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// asanaIntakeTests cover the records of migration 006, the Asana intake's
// state.
var asanaIntakeTests = map[string]func(t *testing.T, newStore NewStore){
	"AsanaTaskProjects":     testAsanaTaskProjects,
	"AsanaProjectSchedule":  testAsanaProjectSchedule,
	"AsanaProjectUsers":     testAsanaProjectUsers,
	"AsanaPollTokens":       testAsanaPollTokens,
	"AsanaWebhooks":         testAsanaWebhooks,
	"AsanaHandshakeOneWins": testAsanaHandshakeOneWins,
}

// intakeBed is syncBed with sync enabled on the connection.
func intakeBed(t *testing.T, s store.Store) (store.JiraServer, store.Link) {
	t.Helper()
	j, l := syncBed(t, s)
	must(t, s.PutSyncSettings(t.Context(), store.SyncSettings{WorkspaceGID: "w1", JiraServerID: j.ID, Enabled: true,
		Comments: true, Completion: true}))
	return j, l
}

func projectGIDs(t *testing.T, s store.Store) []string {
	t.Helper()
	ps, err := s.ListAsanaProjects(t.Context())
	must(t, err)
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ProjectGID)
	}
	return out
}

func wantProjects(t *testing.T, s store.Store, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if diff := cmp.Diff(want, projectGIDs(t, s)); diff != "" {
		t.Fatalf("polled projects (-want +got):\n%s", diff)
	}
}

// testAsanaTaskProjects: synced tasks are mapped to their projects once,
// again when the check is old; the polled projects are exactly those with
// synced tasks, following membership changes, sync switched off, and
// links that go.
func testAsanaTaskProjects(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j, l := intakeBed(t, s)

	toMap, err := s.AsanaTasksToMap(ctx, clk.Now().Add(-time.Hour), 10)
	must(t, err)
	if diff := cmp.Diff([]store.AsanaTaskToMap{{TaskGID: "t1", WorkspaceGID: "w1", Owner: "u1"}}, toMap); diff != "" {
		t.Fatalf("AsanaTasksToMap (-want +got):\n%s", diff)
	}
	must(t, s.PutAsanaTaskProjects(ctx, "t1", "w1", []string{"p1", "p2"}, clk.Now()))
	toMap, err = s.AsanaTasksToMap(ctx, clk.Now().Add(-time.Hour), 10)
	must(t, err)
	if len(toMap) != 0 {
		t.Fatalf("a task just mapped is to map again: %+v", toMap)
	}
	clk.Add(2 * time.Hour)
	if toMap, err = s.AsanaTasksToMap(ctx, clk.Now().Add(-time.Hour), 10); err != nil || len(toMap) != 1 {
		t.Fatalf("a task checked long ago: AsanaTasksToMap = %+v, %v; want it", toMap, err)
	}

	added, removed, err := s.RefreshAsanaProjects(ctx, clk.Now())
	must(t, err)
	if added != 2 || removed != 0 {
		t.Fatalf("RefreshAsanaProjects = +%d -%d, want +2 -0", added, removed)
	}
	wantProjects(t, s, "p1", "p2")
	p, err := s.GetAsanaProject(ctx, "p1")
	must(t, err)
	if p.WorkspaceGID != "w1" || !p.NextPollAt.Equal(clk.Now().Truncate(time.Microsecond)) || p.SyncToken != "" {
		t.Fatalf("new project = %+v; want workspace w1, due now, no token", p)
	}
	// Refreshing again changes nothing and keeps the schedule.
	if added, removed, err = s.RefreshAsanaProjects(ctx, clk.Now().Add(time.Hour)); err != nil || added+removed != 0 {
		t.Fatalf("second refresh = +%d -%d, %v", added, removed, err)
	}

	// Membership changes the events told of.
	must(t, s.RemoveAsanaTaskProject(ctx, "t1", "p2"))
	must(t, s.AddAsanaTaskProject(ctx, "t1", "p3", "w1", clk.Now()))
	got, err := s.ListAsanaTaskProjects(ctx, "t1")
	must(t, err)
	if diff := cmp.Diff([]string{"p1", "p3"}, got); diff != "" {
		t.Fatalf("task projects (-want +got):\n%s", diff)
	}
	if _, _, err = s.RefreshAsanaProjects(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	wantProjects(t, s, "p1", "p3")

	// A task in no project is checked, and polls nothing.
	must(t, s.PutAsanaTaskProjects(ctx, "t1", "w1", nil, clk.Now()))
	if got, err = s.ListAsanaTaskProjects(ctx, "t1"); err != nil || len(got) != 0 {
		t.Fatalf("task in no project: ListAsanaTaskProjects = %v, %v", got, err)
	}
	if toMap, err = s.AsanaTasksToMap(ctx, clk.Now().Add(-time.Hour), 10); err != nil || len(toMap) != 0 {
		t.Fatalf("a task checked and found in no project is to map again: %+v, %v", toMap, err)
	}
	if _, removed, err = s.RefreshAsanaProjects(ctx, clk.Now()); err != nil || removed != 2 {
		t.Fatalf("refresh after the task left its projects removed %d, %v; want 2", removed, err)
	}
	wantProjects(t, s)
	// Added to a project by an event: the "no project" mark goes.
	must(t, s.AddAsanaTaskProject(ctx, "t1", "p1", "w1", clk.Now()))
	if _, _, err = s.RefreshAsanaProjects(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	wantProjects(t, s, "p1")
	links, err := s.ListAsanaProjectLinks(ctx, "p1")
	must(t, err)
	if len(links) != 1 || links[0].ID != l.ID {
		t.Fatalf("ListAsanaProjectLinks = %+v, want the link", links)
	}

	// Sync switched off: the project is no longer polled, its links not listed.
	must(t, s.PutSyncSettings(ctx, store.SyncSettings{WorkspaceGID: "w1", JiraServerID: j.ID}))
	if _, _, err = s.RefreshAsanaProjects(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	wantProjects(t, s)
	if links, err = s.ListAsanaProjectLinks(ctx, "p1"); err != nil || len(links) != 0 {
		t.Fatalf("links of a project without sync = %+v, %v", links, err)
	}
	if toMap, err = s.AsanaTasksToMap(ctx, clk.Now().Add(time.Hour), 10); err != nil || len(toMap) != 0 {
		t.Fatalf("tasks to map without sync = %+v, %v", toMap, err)
	}

	// A task whose link went is forgotten.
	must(t, s.DeleteLink(ctx, l.ID))
	if _, _, err = s.RefreshAsanaProjects(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err = s.ListAsanaTaskProjects(ctx, "t1"); err != nil || len(got) != 0 {
		t.Fatalf("projects of an unlinked task = %v, %v", got, err)
	}
}

// testAsanaProjectSchedule: due projects come longest due first; a save
// moves a project's token and schedule; a task's idle projects wake (and
// only those), a removed project cannot be saved.
func testAsanaProjectSchedule(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	_, l := intakeBed(t, s)
	t0 := clk.Now()
	must(t, s.PutAsanaTaskProjects(ctx, "t1", "w1", []string{"p1", "p2"}, t0))
	if _, _, err := s.RefreshAsanaProjects(ctx, t0); err != nil {
		t.Fatal(err)
	}
	p1, err := s.GetAsanaProject(ctx, "p1")
	must(t, err)
	p1.SyncToken, p1.NextPollAt, p1.IdleLevel, p1.LastPollAt, p1.LastEventAt = "tok-1", t0.Add(time.Minute), 3, t0, t0
	p1.ActiveUntil = t0.Add(-time.Minute)
	p1.TokenUser, p1.Requests, p1.LastError, p1.LastErrorAt = "u1", 7, "boom", t0
	must(t, s.SaveAsanaProject(ctx, p1))
	got, err := s.GetAsanaProject(ctx, "p1")
	must(t, err)
	if diff := cmp.Diff(p1, got, cmpopts.IgnoreFields(store.AsanaProjectSync{}, "UpdatedAt", "CreatedAt"),
		cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Fatalf("saved project (-want +got):\n%s", diff)
	}

	due, err := s.DueAsanaProjects(ctx, t0, 10)
	must(t, err)
	if len(due) != 1 || due[0].ProjectGID != "p2" {
		t.Fatalf("due at t0 = %+v, want p2 only", due)
	}
	if due, err = s.DueAsanaProjects(ctx, t0.Add(2*time.Minute), 10); err != nil || len(due) != 2 || due[0].ProjectGID != "p2" {
		t.Fatalf("due later = %+v, %v; want p2 then p1", due, err)
	}
	if due, err = s.DueAsanaProjects(ctx, t0.Add(2*time.Minute), 1); err != nil || len(due) != 1 {
		t.Fatalf("due with limit 1 = %+v, %v", due, err)
	}

	// Waking the task: p1 is idle and later, so it becomes due now; p2 is
	// active and due already, so it stays as it is.
	n, err := s.WakeAsanaTask(ctx, "t1", t0.Add(time.Second), t0.Add(time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("WakeAsanaTask woke %d projects, want 1", n)
	}
	got, err = s.GetAsanaProject(ctx, "p1")
	must(t, err)
	if got.IdleLevel != 0 || !got.NextPollAt.Equal(t0.Add(time.Second).Truncate(time.Microsecond)) || got.SyncToken != "tok-1" ||
		!got.ActiveUntil.Equal(t0.Add(time.Minute).Truncate(time.Microsecond)) {
		t.Fatalf("woken project = %+v", got)
	}
	if n, err = s.WakeAsanaTask(ctx, "t1", t0.Add(time.Second), t0.Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("waking again woke %d, %v; want 0", n, err)
	}
	if n, err = s.WakeAsanaTask(ctx, "t-unknown", t0, t0); err != nil || n != 0 {
		t.Fatalf("waking an unknown task woke %d, %v", n, err)
	}
	// A project is woken directly (a delivery the receiver could not place).
	p1 = got
	p1.NextPollAt, p1.IdleLevel = t0.Add(time.Hour), 0
	must(t, s.SaveAsanaProject(ctx, p1))
	must(t, s.WakeAsanaProject(ctx, "p1", t0.Add(2*time.Second)))
	if got, err = s.GetAsanaProject(ctx, "p1"); err != nil || !got.NextPollAt.Equal(t0.Add(2*time.Second).Truncate(time.Microsecond)) {
		t.Fatalf("WakeAsanaProject: %+v, %v", got, err)
	}

	must(t, s.PutAsanaTaskProjects(ctx, "t1", "w1", []string{"p2"}, t0))
	if _, _, err := s.RefreshAsanaProjects(ctx, t0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.SaveAsanaProject(ctx, p1), store.ErrNotFound)
	_, err = s.GetAsanaProject(ctx, "p1")
	wantErr(t, err, store.ErrNotFound)

	// The story map of the sync engine tells the link of a story.
	must(t, s.InsertSyncComment(ctx, &store.SyncComment{LinkID: l.ID, JiraCommentID: "10", AsanaStoryGID: "s10",
		Origin: store.OriginJira, State: store.SyncCommentSynced}))
	ids, err := s.LinksOfStory(ctx, "s10")
	must(t, err)
	if diff := cmp.Diff([]int64{l.ID}, ids); diff != "" {
		t.Fatalf("LinksOfStory (-want +got):\n%s", diff)
	}
	if ids, err = s.LinksOfStory(ctx, "s-unknown"); err != nil || len(ids) != 0 {
		t.Fatalf("LinksOfStory(unknown) = %v, %v", ids, err)
	}
}

// testAsanaProjectUsers: a project is polled with its link owners' tokens;
// when none of them is connected, with those of users connected to Jira in
// the workspace; never with a token Asana refused.
func testAsanaProjectUsers(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j, _ := intakeBed(t, s)
	must(t, s.PutAsanaTaskProjects(ctx, "t1", "w1", []string{"p1"}, clk.Now()))
	users := func() []string {
		t.Helper()
		u, err := s.AsanaProjectUsers(ctx, "p1", "w1")
		must(t, err)
		return u
	}
	if u := users(); len(u) != 0 {
		t.Fatalf("users with nobody connected = %v", u)
	}
	for _, gid := range []string{"u1", "u2", "u3"} {
		must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: gid, AccessToken: store.Secret("tok-" + gid)}))
	}
	must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: "u4"})) // never authorized
	for _, gid := range []string{"u2", "u4"} {
		must(t, s.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: gid, JiraServerID: j.ID, Method: store.AuthPAT,
			AccessToken: "pat"}))
	}
	if diff := cmp.Diff([]string{"u1"}, users()); diff != "" {
		t.Fatalf("users (-want +got):\n%s", diff)
	}
	must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: "u1", AccessToken: "tok-u1", ReconnectNeeded: true}))
	if diff := cmp.Diff([]string{"u2"}, users()); diff != "" {
		t.Fatalf("users when the owner must reconnect (-want +got):\n%s", diff)
	}
	must(t, s.MarkJiraCredentialReconnect(ctx, "u2", j.ID, "revoked"))
	if u := users(); len(u) != 0 {
		t.Fatalf("users when nobody is usable = %v", u)
	}
}

// testAsanaPollTokens: requests are counted per token and minute window,
// by adding (two jobs charging at once both count); a pause is kept.
func testAsanaPollTokens(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	t0 := clk.Now()
	w1 := t0.Truncate(time.Minute)
	must(t, s.ChargeAsanaPollToken(ctx, "u1", 3, w1, clk.Now()))
	must(t, s.ChargeAsanaPollToken(ctx, "u1", 2, w1, clk.Now()))
	must(t, s.ChargeAsanaPollToken(ctx, "u2", 1, w1, clk.Now()))
	must(t, s.ChargeAsanaPollToken(ctx, "u2", 0, w1, clk.Now())) // nothing to count
	clk.Add(time.Minute)
	w2 := w1.Add(time.Minute)
	must(t, s.ChargeAsanaPollToken(ctx, "u2", 4, w2, clk.Now()))
	must(t, s.PauseAsanaPollToken(ctx, "u1", clk.Now().Add(30*time.Second), "429"))
	must(t, s.PauseAsanaPollToken(ctx, "u3", clk.Now().Add(5*time.Second), "429"))
	got, err := s.ListAsanaPollTokens(ctx)
	must(t, err)
	want := []store.AsanaPollToken{
		{UserGID: "u1", WindowStart: w1, WindowRequests: 5, RequestsTotal: 5, PausedUntil: clk.Now().Add(30 * time.Second),
			LastUsedAt: t0, LastError: "429"},
		{UserGID: "u2", WindowStart: w2, WindowRequests: 4, RequestsTotal: 5, LastUsedAt: clk.Now()},
		{UserGID: "u3", WindowStart: clk.Now().Add(5 * time.Second), PausedUntil: clk.Now().Add(5 * time.Second), LastError: "429"},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Fatalf("tokens (-want +got):\n%s", diff)
	}
}

// testAsanaWebhooks: a webhook record round-trips with its secret sealed;
// a handshake is accepted only for the pending target, in time, before any
// other; deliveries and heartbeats are stamped.
func testAsanaWebhooks(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	_, err := s.GetAsanaWebhook(ctx, "p1")
	wantErr(t, err, store.ErrNotFound)
	target := "https://bridge.example/asana/hooks/p1"
	w := store.AsanaWebhook{ProjectGID: "p1", WorkspaceGID: "w1", Target: target, State: store.AsanaWebhookPending,
		PendingUntil: clk.Now().Add(time.Minute), TokenUser: "u1"}
	must(t, s.PutAsanaWebhook(ctx, w))
	if err := s.PutAsanaWebhook(ctx, store.AsanaWebhook{ProjectGID: "p2"}); err == nil {
		t.Fatal("a webhook without target and state was stored")
	}

	for name, tc := range map[string]struct {
		project, target string
		at              time.Time
	}{
		"other project": {"p2", target, clk.Now()},
		"other target":  {"p1", target + "?x=1", clk.Now()},
		"too late":      {"p1", target, clk.Now().Add(time.Minute)},
	} {
		if ok, err := s.AcceptAsanaWebhookHandshake(ctx, tc.project, tc.target, "secret-x", tc.at); err != nil || ok {
			t.Errorf("%s: handshake accepted = %v, %v; want refused", name, ok, err)
		}
	}
	if ok, err := s.AcceptAsanaWebhookHandshake(ctx, "p1", target, "", clk.Now()); err != nil || ok {
		t.Fatalf("empty secret accepted = %v, %v", ok, err)
	}
	ok, err := s.AcceptAsanaWebhookHandshake(ctx, "p1", target, "secret-1", clk.Now())
	must(t, err)
	if !ok {
		t.Fatal("the pending handshake was refused")
	}
	if ok, err = s.AcceptAsanaWebhookHandshake(ctx, "p1", target, "secret-2", clk.Now()); err != nil || ok {
		t.Fatalf("a second handshake overwrote the secret: %v, %v", ok, err)
	}
	got, err := s.GetAsanaWebhook(ctx, "p1")
	must(t, err)
	if got.Secret.Reveal() != "secret-1" {
		t.Fatalf("secret = %q, want the first handshake's", got.Secret.Reveal())
	}

	got.State, got.WebhookGID, got.PendingUntil = store.AsanaWebhookActive, "wh1", time.Time{}
	must(t, s.PutAsanaWebhook(ctx, got))
	// An active webhook takes no handshake.
	if ok, err = s.AcceptAsanaWebhookHandshake(ctx, "p1", target, "secret-3", clk.Now()); err != nil || ok {
		t.Fatalf("an active webhook took a handshake: %v, %v", ok, err)
	}
	must(t, s.TouchAsanaWebhook(ctx, "p1", false, clk.Now().Add(time.Second)))
	must(t, s.TouchAsanaWebhook(ctx, "p1", true, clk.Now().Add(2*time.Second)))
	want := got
	want.LastDeliveryAt, want.LastHeartbeatAt = clk.Now().Add(time.Second), clk.Now().Add(2*time.Second)
	all, err := s.ListAsanaWebhooks(ctx)
	must(t, err)
	if diff := cmp.Diff([]store.AsanaWebhook{want}, all, cmpopts.IgnoreFields(store.AsanaWebhook{}, "CreatedAt", "UpdatedAt"),
		cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Fatalf("webhooks (-want +got):\n%s", diff)
	}
	must(t, s.DeleteAsanaWebhook(ctx, "p1"))
	_, err = s.GetAsanaWebhook(ctx, "p1")
	wantErr(t, err, store.ErrNotFound)
}

// testAsanaHandshakeOneWins: of handshakes racing for one pending webhook,
// one is accepted.
func testAsanaHandshakeOneWins(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	target := "https://bridge.example/asana/hooks/p1"
	must(t, s.PutAsanaWebhook(ctx, store.AsanaWebhook{ProjectGID: "p1", Target: target, State: store.AsanaWebhookPending,
		PendingUntil: clk.Now().Add(time.Minute)}))
	won := winners(t, 8, func(i int) (bool, error) {
		return s.AcceptAsanaWebhookHandshake(ctx, "p1", target, store.Secret(fmt.Sprintf("secret-%d", i)), clk.Now())
	})
	if len(won) != 1 {
		t.Fatalf("%d handshakes accepted, want 1", len(won))
	}
	got, err := s.GetAsanaWebhook(ctx, "p1")
	must(t, err)
	if got.Secret.Reveal() != fmt.Sprintf("secret-%d", won[0]) {
		t.Fatalf("secret %q is not the winner's", got.Secret.Reveal())
	}
}
