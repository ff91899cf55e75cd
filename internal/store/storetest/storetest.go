// Package storetest is the conformance suite every store implementation must
// pass. store/sqlite and store/postgres run it against a real database; a
// change to the store is finished when this suite covers it.
package storetest

import (
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// NewStore returns a fresh, empty, migrated store that seals with sealer and
// reads the clock from now. It registers its own cleanup.
type NewStore func(t *testing.T, sealer store.Sealer, now func() time.Time) store.Store

// Sealer is a real keyring whose keys a test can swap, to rotate keys under a
// running store.
type Sealer struct {
	kr atomic.Pointer[secrets.Keyring]
}

// NewSealer returns a Sealer with one fresh key.
func NewSealer(t testing.TB) *Sealer {
	t.Helper()
	s := &Sealer{}
	s.Use(t, newKey(t))
	return s
}

// Use makes keys (base64, primary first) the sealer's keyring.
func (s *Sealer) Use(t testing.TB, keys ...string) {
	t.Helper()
	all := ""
	for _, k := range keys {
		all += k + ","
	}
	kr, err := secrets.ParseKeys(all)
	if err != nil {
		t.Fatal(err)
	}
	s.kr.Store(kr)
}

// Seal implements store.Sealer.
func (s *Sealer) Seal(p []byte) ([]byte, error) { return s.kr.Load().Seal(p) }

// Open implements store.Sealer.
func (s *Sealer) Open(b []byte) ([]byte, error) { return s.kr.Load().Open(b) }

func newKey(t testing.TB) string {
	t.Helper()
	k, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 4, 10, 30, 0, 123456000, time.UTC)} }

// Run runs the whole suite; each case gets its own store.
func Run(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, newStore NewStore){
		"JiraServers":            testJiraServers,
		"WorkspacesAndRouting":   testWorkspacesAndRouting,
		"AsanaUsers":             testAsanaUsers,
		"JiraCredentials":        testJiraCredentials,
		"AuthStates":             testAuthStates,
		"AuthStateOneWinner":     testAuthStateOneWinner,
		"Links":                  testLinks,
		"IdempotencyKeys":        testIdempotencyKeys,
		"Audit":                  testAudit,
		"DeleteExpired":          testDeleteExpired,
		"Transactions":           testTransactions,
		"ResealSecrets":          testResealSecrets,
		"ForeignKeysAreChecked":  testForeignKeys,
		"ConflictInsideTx":       testConflictInsideTransaction,
		"CreateLinkOfCreate":     testCreateLinkOfCreate,
		"LinkCopyMark":           testLinkCopyMark,
		"LinkCopyOneClaim":       testLinkCopyOneClaim,
		"LinkCopySweep":          testLinkCopySweep,
		"ClaimCreation":          testClaimCreation,
		"ClaimSignedCreation":    testClaimSignedCreation,
		"SignedCreationOneClaim": testSignedCreationOneClaim,
		"SideEffects":            testSideEffects,
		"SideEffectOneHolder":    testSideEffectOneHolder,
		"SideEffectsByTarget":    testSideEffectsByTarget,
		"JiraServerCABundle":     testJiraServerCABundle,
	}
	maps.Copy(tests, securityTests)
	maps.Copy(tests, syncTests)
	maps.Copy(tests, setupTests)
	maps.Copy(tests, asanaIntakeTests)
	maps.Copy(tests, routingTests)
	maps.Copy(tests, adminListTests)
	maps.Copy(tests, connectionListTests)
	maps.Copy(tests, syncStatusTests)
	maps.Copy(tests, fieldMappingTests)
	maps.Copy(tests, jiraDeliveryTests)
	maps.Copy(tests, widgetTests)
	maps.Copy(tests, creationSweepTests)
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newStore)
		})
	}
}

func open(t *testing.T, newStore NewStore) (store.Store, *clock) {
	t.Helper()
	c := newClock()
	return newStore(t, NewSealer(t), c.Now), c
}

var ignoreStamps = cmpopts.IgnoreFields(store.JiraServer{}, "CreatedAt", "UpdatedAt")

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// SampleServer returns a fully populated Jira server record.
func SampleServer(baseURL, consumerKey string) store.JiraServer {
	return store.JiraServer{
		Name:               "Jira " + baseURL,
		BaseURL:            baseURL,
		ConnectAddress:     "10.1.2.3:8080",
		ConsumerKey:        consumerKey,
		PrivateKeyPEM:      store.Secret("-----BEGIN PRIVATE KEY-----\nsecret-key-material-" + consumerKey + "\n-----END PRIVATE KEY-----"),
		PublicKeyPEM:       "-----BEGIN PUBLIC KEY-----\npublic\n-----END PUBLIC KEY-----",
		Version:            "9.12.0",
		AuthMethods:        []store.AuthMethod{store.AuthOAuth1, store.AuthPAT},
		OAuth2ClientID:     "client-" + consumerKey,
		OAuth2ClientSecret: store.Secret("oauth2-client-secret-" + consumerKey),
		WebhookSecret:      store.Secret("webhook-secret-" + consumerKey),
		WebhookURL:         "https://bridge.example/jira/webhook",
		AppLinkID:          "0f5b8a3c-applink",
		Status:             "ok",
		CheckedAt:          time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC),
	}
}

func testJiraServers(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()

	_, err := s.GetJiraServer(ctx, "js_missing")
	wantErr(t, err, store.ErrNotFound)

	a := SampleServer("https://jira.example/jira", "asanajira-a")
	must(t, s.CreateJiraServer(ctx, &a))
	if a.ID == "" || a.CreatedAt.IsZero() {
		t.Fatalf("CreateJiraServer did not fill ID and CreatedAt: %+v", a)
	}
	got, err := s.GetJiraServer(ctx, a.ID)
	must(t, err)
	if diff := cmp.Diff(a, got, ignoreStamps); diff != "" {
		t.Fatalf("GetJiraServer mismatch (-want +got):\n%s", diff)
	}
	byKey, err := s.GetJiraServerByConsumerKey(ctx, "asanajira-a")
	must(t, err)
	if byKey.ID != a.ID {
		t.Fatalf("GetJiraServerByConsumerKey = %s, want %s", byKey.ID, a.ID)
	}
	_, err = s.GetJiraServerByConsumerKey(ctx, "")
	wantErr(t, err, store.ErrNotFound)

	dup := SampleServer("https://jira.example/jira", "asanajira-other")
	wantErr(t, s.CreateJiraServer(ctx, &dup), store.ErrConflict)
	dupKey := SampleServer("https://other.example", "asanajira-a")
	wantErr(t, s.CreateJiraServer(ctx, &dupKey), store.ErrConflict)

	// Two servers without a consumer key (PAT only) do not conflict.
	for _, u := range []string{"https://pat1.example", "https://pat2.example"} {
		p := store.JiraServer{Name: u, BaseURL: u}
		must(t, s.CreateJiraServer(ctx, &p))
	}

	a.Version = "10.3.0"
	a.AuthMethods = []store.AuthMethod{store.AuthOAuth2}
	a.WebhookSecret = "rotated-webhook-secret"
	a.CheckedAt = time.Time{}
	must(t, s.UpdateJiraServer(ctx, &a))
	got, err = s.GetJiraServer(ctx, a.ID)
	must(t, err)
	if diff := cmp.Diff(a, got, ignoreStamps); diff != "" {
		t.Fatalf("after update (-want +got):\n%s", diff)
	}
	missing := store.JiraServer{ID: "js_missing", BaseURL: "https://x"}
	wantErr(t, s.UpdateJiraServer(ctx, &missing), store.ErrNotFound)

	all, err := s.ListJiraServers(ctx)
	must(t, err)
	if len(all) != 3 {
		t.Fatalf("ListJiraServers returned %d servers, want 3", len(all))
	}
	must(t, s.DeleteJiraServer(ctx, a.ID))
	wantErr(t, s.DeleteJiraServer(ctx, a.ID), store.ErrNotFound)
	_, err = s.GetJiraServer(ctx, a.ID)
	wantErr(t, err, store.ErrNotFound)
}

func createServer(t *testing.T, s store.Store, baseURL string) store.JiraServer {
	t.Helper()
	j := SampleServer(baseURL, "key-"+baseURL)
	must(t, s.CreateJiraServer(t.Context(), &j))
	return j
}

func testWorkspacesAndRouting(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	j2 := createServer(t, s, "https://two.example")

	_, err := s.GetWorkspace(ctx, "100")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "100", Name: "Acme"}))
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "100", Name: "Acme Inc"}))
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "200", Name: "Beta"}))
	w, err := s.GetWorkspace(ctx, "100")
	must(t, err)
	if w.Name != "Acme Inc" || w.CreatedAt.IsZero() {
		t.Fatalf("GetWorkspace = %+v", w)
	}
	ws, err := s.ListWorkspaces(ctx)
	must(t, err)
	if len(ws) != 2 {
		t.Fatalf("ListWorkspaces = %d, want 2", len(ws))
	}

	_, err = s.RouteProject(ctx, "100", "p1")
	wantErr(t, err, store.ErrNotFound)

	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j1.ID, IsDefault: true}))
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j2.ID}))
	got, err := s.RouteProject(ctx, "100", "p1")
	must(t, err)
	if got.ID != j1.ID {
		t.Fatalf("RouteProject = %s, want default %s", got.ID, j1.ID)
	}
	if got.PrivateKeyPEM != j1.PrivateKeyPEM {
		t.Fatal("RouteProject did not open the sealed private key")
	}

	// Making j2 the default clears j1's default flag.
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: j2.ID, IsDefault: true}))
	conns, err := s.ListConnections(ctx)
	must(t, err)
	defaults := 0
	for _, c := range conns {
		if c.IsDefault {
			defaults++
			if c.JiraServerID != j2.ID {
				t.Fatalf("default is %s, want %s", c.JiraServerID, j2.ID)
			}
		}
	}
	if len(conns) != 2 || defaults != 1 {
		t.Fatalf("connections = %+v, want 2 with one default", conns)
	}

	// A project route overrides the default.
	must(t, s.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "p1", JiraServerID: j1.ID, JiraProjectKey: "DEMO"}))
	got, err = s.RouteProject(ctx, "100", "p1")
	must(t, err)
	if got.ID != j1.ID {
		t.Fatalf("RouteProject with override = %s, want %s", got.ID, j1.ID)
	}
	got, err = s.RouteProject(ctx, "100", "p2")
	must(t, err)
	if got.ID != j2.ID {
		t.Fatalf("RouteProject of another project = %s, want default %s", got.ID, j2.ID)
	}
	must(t, s.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: "100", ProjectGID: "p1", JiraServerID: j2.ID, JiraProjectKey: "OPS"}))
	routes, err := s.ListProjectRoutes(ctx, "100")
	must(t, err)
	if diff := cmp.Diff([]store.ProjectRoute{{WorkspaceGID: "100", ProjectGID: "p1", JiraServerID: j2.ID, JiraProjectKey: "OPS"}},
		routes, cmpopts.IgnoreFields(store.ProjectRoute{}, "CreatedAt")); diff != "" {
		t.Fatalf("ListProjectRoutes (-want +got):\n%s", diff)
	}
	must(t, s.DeleteProjectRoute(ctx, "100", "p1"))
	wantErr(t, s.DeleteProjectRoute(ctx, "100", "p1"), store.ErrNotFound)

	must(t, s.DeleteConnection(ctx, "100", j2.ID))
	wantErr(t, s.DeleteConnection(ctx, "100", j2.ID), store.ErrNotFound)
	_, err = s.RouteProject(ctx, "100", "p2")
	wantErr(t, err, store.ErrNotFound)

	// Deleting a server removes its connections.
	must(t, s.DeleteJiraServer(ctx, j1.ID))
	conns, err = s.ListConnections(ctx)
	must(t, err)
	if len(conns) != 0 {
		t.Fatalf("connections after deleting their server: %+v", conns)
	}
}

func testAsanaUsers(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	_, err := s.GetAsanaUser(ctx, "u1")
	wantErr(t, err, store.ErrNotFound)
	u := store.AsanaUser{GID: "u1", Name: "Alice", Email: "alice@example.com", AccessToken: "asana-access", RefreshToken: "asana-refresh",
		Expiry: time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC)}
	must(t, s.PutAsanaUser(ctx, u))
	u.AccessToken = "asana-access-2"
	u.ReconnectNeeded = true
	must(t, s.PutAsanaUser(ctx, u))
	got, err := s.GetAsanaUser(ctx, "u1")
	must(t, err)
	if diff := cmp.Diff(u, got, cmpopts.IgnoreFields(store.AsanaUser{}, "CreatedAt", "UpdatedAt")); diff != "" {
		t.Fatalf("GetAsanaUser (-want +got):\n%s", diff)
	}
	must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: "u2", Name: "Bob"}))
	all, err := s.ListAsanaUsers(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "Alice" || all[1].AccessToken != "" {
		t.Fatalf("ListAsanaUsers = %+v", all)
	}
}

func testJiraCredentials(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://jira.example")
	must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: "u1", Name: "Alice"}))
	must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: "u2", Name: "Bob"}))

	_, err := s.GetJiraCredential(ctx, "u1", j.ID)
	wantErr(t, err, store.ErrNotFound)
	c := store.JiraCredential{AsanaUserGID: "u1", JiraServerID: j.ID, Method: store.AuthOAuth1,
		AccessToken: "oauth1-access", TokenSecret: "oauth1-secret", JiraUsername: "alice", JiraDisplayName: "Alice A."}
	must(t, s.PutJiraCredential(ctx, c))
	got, err := s.GetJiraCredential(ctx, "u1", j.ID)
	must(t, err)
	ignore := cmpopts.IgnoreFields(store.JiraCredential{}, "CreatedAt", "UpdatedAt")
	if diff := cmp.Diff(c, got, ignore); diff != "" {
		t.Fatalf("GetJiraCredential (-want +got):\n%s", diff)
	}

	// Re-authorizing with another method replaces the credential.
	c2 := store.JiraCredential{AsanaUserGID: "u1", JiraServerID: j.ID, Method: store.AuthOAuth2,
		AccessToken: "oauth2-access", RefreshToken: "oauth2-refresh", Expiry: time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC), JiraUsername: "alice"}
	must(t, s.PutJiraCredential(ctx, c2))
	got, err = s.GetJiraCredential(ctx, "u1", j.ID)
	must(t, err)
	if diff := cmp.Diff(c2, got, ignore); diff != "" {
		t.Fatalf("after re-authorize (-want +got):\n%s", diff)
	}

	must(t, s.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: "u2", JiraServerID: j.ID, Method: store.AuthPAT, AccessToken: "pat-bob"}))
	must(t, s.MarkJiraCredentialReconnect(ctx, "u2", j.ID, "token revoked in Jira"))
	wantErr(t, s.MarkJiraCredentialReconnect(ctx, "u9", j.ID, "x"), store.ErrNotFound)
	list, err := s.ListJiraCredentials(ctx, j.ID)
	must(t, err)
	if len(list) != 2 || !list[1].ReconnectNeeded || list[1].ReconnectReason != "token revoked in Jira" {
		t.Fatalf("ListJiraCredentials = %+v", list)
	}
	everyone, err := s.ListJiraCredentials(ctx, "")
	must(t, err)
	if len(everyone) != 2 {
		t.Fatalf("ListJiraCredentials(all) = %d, want 2", len(everyone))
	}

	// The row lock path: read and write inside one transaction.
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.GetJiraCredential(ctx, "u1", j.ID)
		if err != nil {
			return err
		}
		c.AccessToken = "refreshed"
		return tx.PutJiraCredential(ctx, c)
	}))
	got, err = s.GetJiraCredential(ctx, "u1", j.ID)
	must(t, err)
	if got.AccessToken != "refreshed" {
		t.Fatalf("AccessToken = %q after refresh in a transaction", got.AccessToken.Reveal())
	}

	must(t, s.DeleteJiraCredential(ctx, "u1", j.ID))
	wantErr(t, s.DeleteJiraCredential(ctx, "u1", j.ID), store.ErrNotFound)
}

func testAuthStates(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	a := store.AuthState{State: "st-1", Kind: "asana-oauth", Data: `{"verifier":"pkce-verifier"}`, ExpiresAt: clk.Now().Add(10 * time.Minute)}
	must(t, s.PutAuthState(ctx, a))
	wantErr(t, s.PutAuthState(ctx, a), store.ErrConflict)
	got, err := s.ConsumeAuthState(ctx, "st-1")
	must(t, err)
	if diff := cmp.Diff(a, got, cmpopts.IgnoreFields(store.AuthState{}, "CreatedAt"), cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Fatalf("ConsumeAuthState (-want +got):\n%s", diff)
	}
	_, err = s.ConsumeAuthState(ctx, "st-1")
	wantErr(t, err, store.ErrNotFound)

	must(t, s.PutAuthState(ctx, store.AuthState{State: "st-2", Kind: "jira-oauth1", ExpiresAt: clk.Now().Add(time.Minute)}))
	clk.Add(2 * time.Minute)
	_, err = s.ConsumeAuthState(ctx, "st-2")
	wantErr(t, err, store.ErrNotFound)
	if err := s.PutAuthState(ctx, store.AuthState{State: "st-3", Kind: "x"}); err == nil {
		t.Fatal("PutAuthState without ExpiresAt succeeded")
	}
}

func testAuthStateOneWinner(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	must(t, s.PutAuthState(ctx, store.AuthState{State: "race", Kind: "asana-oauth", ExpiresAt: clk.Now().Add(time.Hour)}))
	const racers = 8
	var (
		wins, losses atomic.Int32
		wg           sync.WaitGroup
		start        = make(chan struct{})
	)
	for range racers {
		wg.Go(func() {
			<-start
			_, err := s.ConsumeAuthState(ctx, "race")
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrNotFound):
				losses.Add(1)
			default:
				t.Errorf("ConsumeAuthState: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != racers-1 {
		t.Fatalf("wins=%d losses=%d, want exactly one winner", wins.Load(), losses.Load())
	}
}

func testLinks(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j1 := createServer(t, s, "https://one.example")
	j2 := createServer(t, s, "https://two.example")

	l := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j1.ID, IssueID: "10001", IssueKey: "DEMO-1", CreatedBy: "u1"}
	must(t, s.CreateLink(ctx, &l))
	if l.ID == 0 {
		t.Fatal("CreateLink did not set ID")
	}
	tests := map[string]store.Link{
		"same task, same server":  {WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j1.ID, IssueID: "10002", IssueKey: "DEMO-2"},
		"same issue, same server": {WorkspaceGID: "100", TaskGID: "t2", JiraServerID: j1.ID, IssueID: "10001", IssueKey: "DEMO-1"},
	}
	for name, dup := range tests {
		if err := s.CreateLink(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("%s: err = %v, want ErrConflict", name, err)
		}
	}
	// The same task may link to an issue on another server.
	other := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j2.ID, IssueID: "10001", IssueKey: "OPS-7"}
	must(t, s.CreateLink(ctx, &other))
	third := store.Link{WorkspaceGID: "100", TaskGID: "1003", JiraServerID: j1.ID, IssueID: "10003", IssueKey: "OPS-12"}
	must(t, s.CreateLink(ctx, &third))

	got, err := s.GetLinkByTask(ctx, j1.ID, "t1")
	must(t, err)
	ignore := cmpopts.IgnoreFields(store.Link{}, "CreatedAt")
	if diff := cmp.Diff(l, got, ignore); diff != "" {
		t.Fatalf("GetLinkByTask (-want +got):\n%s", diff)
	}
	got, err = s.GetLinkByIssue(ctx, j2.ID, "10001")
	must(t, err)
	if got.ID != other.ID {
		t.Fatalf("GetLinkByIssue = %d, want %d", got.ID, other.ID)
	}
	_, err = s.GetLinkByTask(ctx, j2.ID, "1003")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.GetLinkByIssue(ctx, j2.ID, "99999")
	wantErr(t, err, store.ErrNotFound)

	byTask, err := s.ListLinksByTask(ctx, "t1")
	must(t, err)
	if len(byTask) != 2 {
		t.Fatalf("ListLinksByTask = %d links, want 2", len(byTask))
	}

	filters := map[string]struct {
		f    store.LinkFilter
		want []int64
	}{
		"all, newest first":        {store.LinkFilter{}, []int64{third.ID, other.ID, l.ID}},
		"by server":                {store.LinkFilter{JiraServerID: j1.ID}, []int64{third.ID, l.ID}},
		"by Jira project":          {store.LinkFilter{Query: "ops"}, []int64{third.ID, other.ID}},
		"by Jira project and dash": {store.LinkFilter{Query: "ops-"}, []int64{third.ID, other.ID}},
		"by issue key, any case":   {store.LinkFilter{Query: "ops-12"}, []int64{third.ID}},
		"an issue key is whole":    {store.LinkFilter{Query: "OPS-1"}, nil},
		"by task gid":              {store.LinkFilter{Query: "1003"}, []int64{third.ID}},
		"server and query":         {store.LinkFilter{JiraServerID: j2.ID, Query: "OPS"}, []int64{other.ID}},
		"limit":                    {store.LinkFilter{Limit: 1}, []int64{third.ID}},
		"older than":               {store.LinkFilter{Limit: 1, BeforeID: third.ID}, []int64{other.ID}},
		"older, filtered":          {store.LinkFilter{Query: "OPS", BeforeID: third.ID}, []int64{other.ID}},
		"newer than, newest first": {store.LinkFilter{AfterID: l.ID}, []int64{third.ID, other.ID}},
		"the page just newer":      {store.LinkFilter{Limit: 1, AfterID: l.ID}, []int64{other.ID}},
		"nothing":                  {store.LinkFilter{Query: "NOPE"}, nil},
		"not a task, issue or key": {store.LinkFilter{Query: "%"}, nil},
	}
	for name, tc := range filters {
		links, err := s.ListLinks(ctx, tc.f)
		must(t, err)
		var ids []int64
		for _, l := range links {
			ids = append(ids, l.ID)
		}
		if diff := cmp.Diff(tc.want, ids); diff != "" {
			t.Errorf("ListLinks %s (-want +got):\n%s", name, diff)
		}
	}

	must(t, s.UpdateLinkIssueKey(ctx, l.ID, "NEW-1"))
	got, err = s.GetLinkByIssue(ctx, j1.ID, "10001")
	must(t, err)
	if got.IssueKey != "NEW-1" {
		t.Fatalf("IssueKey = %q after UpdateLinkIssueKey", got.IssueKey)
	}
	// An issue that moved to another project is found under its new one.
	for query, want := range map[string]int{"NEW": 1, "DEMO": 0} {
		moved, err := s.ListLinks(ctx, store.LinkFilter{Query: query})
		must(t, err)
		if len(moved) != want {
			t.Fatalf("ListLinks %q after the issue moved to NEW-1: %d links, want %d", query, len(moved), want)
		}
	}
	wantErr(t, s.UpdateLinkIssueKey(ctx, 999999, "X-1"), store.ErrNotFound)
	must(t, s.DeleteLink(ctx, l.ID))
	wantErr(t, s.DeleteLink(ctx, l.ID), store.ErrNotFound)
	// The task can be linked again once the old link is gone.
	again := store.Link{WorkspaceGID: "100", TaskGID: "t1", JiraServerID: j1.ID, IssueID: "10009", IssueKey: "DEMO-9"}
	must(t, s.CreateLink(ctx, &again))
}

func testIdempotencyKeys(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	k := store.IdempotencyKey{Scope: "create-issue", Key: "task-1", ExpiresAt: clk.Now().Add(time.Hour)}
	_, err := s.GetIdempotencyKey(ctx, "create-issue", "task-1")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.ClaimIdempotencyKey(ctx, k))
	wantErr(t, s.ClaimIdempotencyKey(ctx, k), store.ErrConflict)
	// Another scope is another key.
	must(t, s.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "rule-action", Key: "task-1", ExpiresAt: clk.Now().Add(time.Hour)}))

	got, err := s.GetIdempotencyKey(ctx, "create-issue", "task-1")
	must(t, err)
	if got.Result != nil {
		t.Fatalf("Result before completion = %q, want nil", got.Result)
	}
	must(t, s.CompleteIdempotencyKey(ctx, "create-issue", "task-1", []byte(`{"key":"DEMO-1"}`)))
	got, err = s.GetIdempotencyKey(ctx, "create-issue", "task-1")
	must(t, err)
	if string(got.Result) != `{"key":"DEMO-1"}` {
		t.Fatalf("Result = %q", got.Result)
	}
	wantErr(t, s.CompleteIdempotencyKey(ctx, "create-issue", "nope", nil), store.ErrNotFound)

	// A released claim, completed or not, is gone: the next claim takes
	// it at once, and another scope's is left alone.
	must(t, s.ReleaseIdempotencyKey(ctx, "create-issue", "task-1"))
	_, err = s.GetIdempotencyKey(ctx, "create-issue", "task-1")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.ClaimIdempotencyKey(ctx, k))
	must(t, s.ReleaseIdempotencyKey(ctx, "create-issue", "task-1"))
	must(t, s.ReleaseIdempotencyKey(ctx, "create-issue", "task-1")) // nothing to release: no error
	must(t, s.ClaimIdempotencyKey(ctx, k))
	wantErr(t, s.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "rule-action", Key: "task-1", ExpiresAt: clk.Now().Add(time.Hour)}), store.ErrConflict)

	// A claim completed with a given result is taken over once: not
	// before it is completed, not with another result, not twice; the
	// claim taken over is unfinished and live again.
	takeOver := func(result string, want bool) {
		t.Helper()
		taken, err := s.TakeOverIdempotencyKey(ctx, store.IdempotencyKey{Scope: "create-issue", Key: "task-1", ExpiresAt: clk.Now().Add(time.Hour)}, []byte(result), time.Time{})
		must(t, err)
		if taken != want {
			t.Fatalf("take over of the claim if completed with %s = %v, want %v", result, taken, want)
		}
	}
	takeOver(`{"failed":true}`, false) // not completed yet
	must(t, s.CompleteIdempotencyKey(ctx, "create-issue", "task-1", []byte(`{"failed":true}`)))
	takeOver(`{"key":"DEMO-1"}`, false)
	takeOver(`{"failed":true}`, true)
	takeOver(`{"failed":true}`, false)
	got, err = s.GetIdempotencyKey(ctx, "create-issue", "task-1")
	must(t, err)
	if got.Result != nil {
		t.Fatalf("Result after the take over = %q, want nil", got.Result)
	}
	wantErr(t, s.ClaimIdempotencyKey(ctx, k), store.ErrConflict)

	// Once expired, the key reads as absent and can be claimed again.
	clk.Add(2 * time.Hour)
	_, err = s.GetIdempotencyKey(ctx, "create-issue", "task-1")
	wantErr(t, err, store.ErrNotFound)
	must(t, s.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "create-issue", Key: "task-1", ExpiresAt: clk.Now().Add(time.Hour)}))
}

func testAudit(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	for i, action := range []string{"jira.connect", "route.set", "jira.disconnect"} {
		must(t, s.AppendAudit(ctx, store.AuditEntry{At: clk.Now().Add(time.Duration(i) * time.Second), Actor: "admin", Action: action, Target: "js_1", Detail: "d"}))
	}
	must(t, s.AppendAudit(ctx, store.AuditEntry{Actor: "system", Action: "secrets.rotate"}))
	all, err := s.ListAudit(ctx, store.AuditFilter{})
	must(t, err)
	var actions []string
	for _, e := range all {
		actions = append(actions, e.Action)
		if e.At.IsZero() {
			t.Fatalf("entry %d has no time", e.ID)
		}
	}
	if diff := cmp.Diff([]string{"secrets.rotate", "jira.disconnect", "route.set", "jira.connect"}, actions); diff != "" {
		t.Fatalf("ListAudit order (-want +got):\n%s", diff)
	}
	page, err := s.ListAudit(ctx, store.AuditFilter{BeforeID: all[1].ID, Limit: 1})
	must(t, err)
	if len(page) != 1 || page[0].Action != "route.set" {
		t.Fatalf("second page = %+v", page)
	}
}

func testDeleteExpired(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	now := clk.Now()
	must(t, s.PutAuthState(ctx, store.AuthState{State: "old", Kind: "k", ExpiresAt: now.Add(time.Minute)}))
	must(t, s.PutAuthState(ctx, store.AuthState{State: "new", Kind: "k", ExpiresAt: now.Add(time.Hour)}))
	must(t, s.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "s", Key: "old", ExpiresAt: now.Add(time.Minute)}))
	must(t, s.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "s", Key: "new", ExpiresAt: now.Add(time.Hour)}))
	n, err := s.DeleteExpired(ctx, now.Add(10*time.Minute))
	must(t, err)
	if n != 2 {
		t.Fatalf("DeleteExpired removed %d rows, want 2", n)
	}
	if _, err := s.ConsumeAuthState(ctx, "new"); err != nil {
		t.Fatalf("live state was deleted: %v", err)
	}
}

func testTransactions(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if tx.SQL() == nil {
			t.Fatal("Tx.SQL() is nil")
		}
		if err := tx.PutWorkspace(ctx, store.Workspace{GID: "rolled-back", Name: "x"}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	_, err = s.GetWorkspace(ctx, "rolled-back")
	wantErr(t, err, store.ErrNotFound)

	must(t, s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.PutWorkspace(ctx, store.Workspace{GID: "kept", Name: "x"}); err != nil {
			return err
		}
		// Multi-statement writes join the surrounding transaction.
		return tx.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: "s", Key: "k", ExpiresAt: time.Now().Add(time.Hour)})
	}))
	if _, err := s.GetWorkspace(ctx, "kept"); err != nil {
		t.Fatalf("committed write missing: %v", err)
	}
	must(t, s.Ping(ctx))
	if s.DB() == nil || (s.Dialect() != "sqlite" && s.Dialect() != "postgres") {
		t.Fatalf("DB() = %v, Dialect() = %q", s.DB(), s.Dialect())
	}
}

func testResealSecrets(t *testing.T, newStore NewStore) {
	oldKey, newKeyB64 := newKey(t), newKey(t)
	sealer := &Sealer{}
	sealer.Use(t, oldKey)
	c := newClock()
	s := newStore(t, sealer, c.Now)
	ctx := t.Context()
	plain := WriteSecrets(t, s, c.Now())

	sealer.Use(t, newKeyB64, oldKey)
	n, err := s.ResealSecrets(ctx)
	must(t, err)
	if n != len(plain) {
		t.Fatalf("ResealSecrets re-sealed %d values, want %d (one per sealed column written)", n, len(plain))
	}
	sealer.Use(t, newKeyB64)
	j, err := s.GetJiraServer(ctx, "js_secrets")
	must(t, err)
	if j.PrivateKeyPEM == "" || j.WebhookSecret == "" {
		t.Fatal("secrets lost in rotation")
	}
	cred, err := s.GetJiraCredential(ctx, "u-secrets", "js_secrets")
	must(t, err)
	if cred.AccessToken.Reveal() != "jira-access-token-plaintext" {
		t.Fatalf("AccessToken after rotation = %q", cred.AccessToken.Reveal())
	}
	if _, err := s.ConsumeAuthState(ctx, "state-secrets"); err != nil {
		t.Fatalf("auth state after rotation: %v", err)
	}
}

// WriteSecrets writes a record with every sealed field set to a distinct
// plaintext and returns those plaintexts, so an implementation's test can
// prove none of them reaches the database in the clear.
func WriteSecrets(t *testing.T, s store.Store, now time.Time) []string {
	t.Helper()
	ctx := t.Context()
	j := store.JiraServer{ID: "js_secrets", Name: "secrets", BaseURL: "https://secrets.example", ConsumerKey: "ck-secrets",
		PrivateKeyPEM: "private-key-plaintext", OAuth2ClientSecret: "oauth2-client-secret-plaintext", WebhookSecret: "webhook-secret-plaintext"}
	must(t, s.CreateJiraServer(ctx, &j))
	must(t, s.PutAsanaUser(ctx, store.AsanaUser{GID: "u-secrets", AccessToken: "asana-access-token-plaintext", RefreshToken: "asana-refresh-token-plaintext"}))
	must(t, s.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: "u-secrets", JiraServerID: j.ID, Method: store.AuthOAuth2,
		AccessToken: "jira-access-token-plaintext", TokenSecret: "jira-token-secret-plaintext", RefreshToken: "jira-refresh-token-plaintext"}))
	must(t, s.PutAuthState(ctx, store.AuthState{State: "state-secrets", Kind: "k", Data: "pkce-verifier-plaintext", ExpiresAt: now.Add(time.Hour)}))
	must(t, s.PutAsanaWebhook(ctx, store.AsanaWebhook{ProjectGID: "p-secrets", Target: "https://bridge.example/asana/hooks/p-secrets",
		State: store.AsanaWebhookActive, Secret: "asana-hook-secret-plaintext"}))
	return []string{
		"private-key-plaintext", "oauth2-client-secret-plaintext", "webhook-secret-plaintext",
		"asana-access-token-plaintext", "asana-refresh-token-plaintext",
		"jira-access-token-plaintext", "jira-token-secret-plaintext", "jira-refresh-token-plaintext",
		"pkce-verifier-plaintext", "asana-hook-secret-plaintext",
	}
}

func testForeignKeys(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "100", Name: "Acme"}))
	wantErr(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "100", JiraServerID: "js_missing"}), store.ErrNotFound)
	wantErr(t, s.PutJiraCredential(ctx, store.JiraCredential{AsanaUserGID: "nobody", JiraServerID: "js_missing", Method: store.AuthPAT}), store.ErrNotFound)
}
