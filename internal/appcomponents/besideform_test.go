package appcomponents_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/asanajira/asanajira/internal/appcomponents"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// holdingTaskRead holds the first read of a task that reaches the Asana
// emulator once armed, until let; held is closed when it arrives.
type holdingTaskRead struct {
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
	once    sync.Once
}

func newHoldingTaskRead() *holdingTaskRead {
	return &holdingTaskRead{held: make(chan struct{}), release: make(chan struct{})}
}

func (h *holdingTaskRead) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/1.0/tasks/") && h.armed.CompareAndSwap(true, false) {
			close(h.held)
			<-h.release
		}
		next.ServeHTTP(w, r)
	})
}

func (h *holdingTaskRead) let() { h.once.Do(func() { close(h.release) }) }

// searchesOf counts the searches that reach the Jira emulator (the
// globalId search of a create among them).
func searchesOf(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/rest/api/2/search") {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// A submit on a workspace with one Jira server takes the creation's claim
// and makes the globalId search while its form is built: both are done
// while Asana has not yet answered the form's read of the task.
func TestCreateClaimsWhileTheFormIsBuilt(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testCreateClaimsWhileTheFormIsBuilt)
}

func testCreateClaimsWhileTheFormIsBuilt(t *testing.T, postgres bool) {
	var searches atomic.Int64
	hold := newHoldingTaskRead()
	e := newEnv(t, envOptions{postgres: postgres, wrapJira: searchesOf(&searches), wrapAsana: hold.wrap})
	t.Cleanup(hold.let) // before the emulator closes, which waits for the held read
	gid := e.seed.Tasks[2].GID
	hold.armed.Store(true)

	type answer struct {
		r   *fakeasana.AppResponse
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		r, err := e.asana.CallApp(t.Context(), fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", User: e.alice, Task: gid,
			Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Claimed beside the form"}})
		answered <- answer{r, err}
	}()
	select {
	case <-hold.held:
	case a := <-answered:
		t.Fatalf("the submit answered without reading the task: %+v, %v", a.r, a.err)
	}
	// The bound of waitFor only turns a create that claims after its form
	// into a failure.
	waitFor(t, func() (string, bool) {
		k, err := e.store.GetIdempotencyKey(t.Context(), "create_issue", e.server.ID+":"+gid)
		n := searches.Load()
		return fmt.Sprintf("claim %+v (%v), %d searches", k, err, n), err == nil && k.Result == nil && n == 1
	})
	hold.let()
	a := <-answered
	if a.err != nil {
		t.Fatal(a.err)
	}
	mustOK(t, a.r, http.StatusOK)
	created := 0
	for _, is := range e.jira.Issues() {
		if is.Summary == "Claimed beside the form" {
			created++
		}
	}
	if created != 1 || searches.Load() != 1 {
		t.Errorf("%d issues created and %d searches made, want 1 and 1", created, searches.Load())
	}
}

// A submit that fails before Jira created anything (its form, taken
// beside the creation's claim, fails, or Jira refuses its values) lets the
// claim go: a repeat of the same signed request gets the first answer,
// writing nothing to Jira, when that answer was kept (a refusal), and runs
// again when it was not (a failure Asana retries); other submits with
// values Jira accepts, all at once, create the issue once.
func TestFailedSubmitLetsTheClaimGo(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testFailedSubmitLetsTheClaimGo)
}

func testFailedSubmitLetsTheClaimGo(t *testing.T, postgres bool) {
	var jiraWrites atomic.Int64
	e := newEnv(t, envOptions{postgres: postgres, wrapJira: countingJiraWrites(&jiraWrites)})
	tests := []struct {
		name   string
		values map[string]any
		// asanaDown fails the form's read of the task until the repeat.
		asanaDown bool
		status    int
		// replayed is whether the repeat is answered from the first
		// answer (else it runs again, and creates the issue).
		replayed bool
	}{
		{name: "a project the form does not offer", values: map[string]any{"project": "NOPE", "issuetype": "10002"},
			status: http.StatusBadRequest, replayed: true},
		{name: "a required value missing", values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": ""},
			status: http.StatusBadRequest, replayed: true},
		{name: "Asana failing the task's read", values: map[string]any{"project": "DEMO", "issuetype": "10002"},
			asanaDown: true, status: http.StatusInternalServerError},
		{name: "Jira refusing a value", values: map[string]any{"project": "DEMO", "issuetype": "10002", "components": []any{"999"}},
			status: http.StatusBadRequest, replayed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			gid := e.newTask(t, "Task of "+tc.name)
			summary := "After a failed submit: " + tc.name
			values := map[string]any{"summary": summary}
			for k, v := range tc.values {
				values[k] = v
			}
			if tc.asanaDown {
				if err := e.asana.SetFaults(fakeasana.Faults{ErrorRate: 1, ErrorStatus: 503, PathPrefix: "/api/1.0/tasks/" + gid}); err != nil {
					t.Fatal(err)
				}
			}
			first := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: gid, Values: values})
			if err := e.asana.SetFaults(fakeasana.Faults{Reset: true}); err != nil {
				t.Fatal(err)
			}
			if first.Status != tc.status {
				t.Fatalf("first submit: %d %s, want %d", first.Status, first.Body, tc.status)
			}
			if k, err := e.store.GetIdempotencyKey(ctx, "create_issue", e.server.ID+":"+gid); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the claim after the failed submit: %+v, %v; want it let go", k, err)
			}

			writes := jiraWrites.Load()
			status, body, hdr := resend(t, first, e.appURL)
			switch {
			case !tc.replayed:
				if status != http.StatusOK || hdr.Get(appcomponents.ReplayHeader) != "" {
					t.Errorf("repeat: %d %s (replay header %q), want it to run and create the issue", status, body, hdr.Get(appcomponents.ReplayHeader))
				}
			case status != first.Status || body != string(first.Body) || hdr.Get(appcomponents.ReplayHeader) != "first-answer":
				t.Errorf("repeat: %d %s (replay header %q), want the first answer %d %s", status, body, hdr.Get(appcomponents.ReplayHeader), first.Status, first.Body)
			case jiraWrites.Load() != writes:
				t.Errorf("the repeat wrote to Jira %d times, want none", jiraWrites.Load()-writes)
			}

			// A double click on the corrected form, and more.
			e.submitsCreateOnce(t, gid, map[string]any{"project": "DEMO", "issuetype": "10002", "summary": summary}, 4)
		})
	}
}

// A workspace's one server is claimed beside the form; when the task's
// project routes it to another server, the form is built for that one:
// the claim is let go, and the issue is created there, claimed after the
// form, once.
func TestCreateRoutedToAnotherServer(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testCreateRoutedToAnotherServer)
}

func testCreateRoutedToAnotherServer(t *testing.T, postgres bool) {
	ctx := t.Context()
	e := newEnv(t, envOptions{postgres: postgres})
	routed := store.JiraServer{Name: "Jira, routed", BaseURL: e.jiraURL + "/routed", Version: e.server.Version}
	if err := e.store.CreateJiraServer(ctx, &routed); err != nil {
		t.Fatal(err)
	}
	e.clients.mu.Lock()
	e.clients.others = map[string]store.JiraServer{routed.ID: routed}
	e.clients.mu.Unlock()
	if err := e.store.PutProjectRoute(ctx, store.ProjectRoute{WorkspaceGID: e.seed.Workspace, ProjectGID: e.seed.Project, JiraServerID: routed.ID}); err != nil {
		t.Fatal(err)
	}
	gid := e.seed.Tasks[2].GID
	first := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: gid,
		Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Routed elsewhere"}})
	mustOK(t, first, http.StatusOK)
	if got := decode[attachedJSON](t, first.Body); !strings.HasPrefix(got.ResourceURL, routed.BaseURL+"/browse/") {
		t.Errorf("created %s, want an issue of the routed server %s", got.ResourceURL, routed.BaseURL)
	}
	if l, err := e.store.GetLinkByTask(ctx, routed.ID, gid); err != nil {
		t.Errorf("link on the routed server: %+v, %v", l, err)
	}
	if l, err := e.store.GetLinkByTask(ctx, e.server.ID, gid); err == nil {
		t.Errorf("link on the workspace's server: %+v", l)
	}
	if k, err := e.store.GetIdempotencyKey(ctx, "create_issue", e.server.ID+":"+gid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the workspace server's claim: %+v, %v; want it let go", k, err)
	}
	issues := len(e.jira.Issues())
	status, body, hdr := resend(t, first, e.appURL)
	if status != http.StatusOK || body != string(first.Body) || hdr.Get(appcomponents.ReplayHeader) != "first-answer" {
		t.Errorf("repeat: %d %s (replay header %q), want the first answer %s", status, body, hdr.Get(appcomponents.ReplayHeader), first.Body)
	}
	if n := len(e.jira.Issues()); n != issues {
		t.Errorf("Jira has %d issues after the repeat, want %d", n, issues)
	}
}

// Submits made at once after a create Jira may have made (its answer a
// 5xx) create one issue: one of them takes the failed attempt's claim
// over, and the others wait for it.
func TestSubmitsAfterAFailedCreateCreateOnce(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testSubmitsAfterAFailedCreateCreateOnce)
}

func testSubmitsAfterAFailedCreateCreateOnce(t *testing.T, postgres bool) {
	ctx := t.Context()
	e := newEnv(t, envOptions{postgres: postgres})
	gid := e.newTask(t, "Created after Jira failed")
	values := map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Created after Jira failed"}
	// The form's reads of Jira, cached, are not failed with the create.
	mustOK(t, e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, Task: gid}), http.StatusOK)
	if err := e.jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 503, PathPrefix: "/jira/rest/api/2/issue"}); err != nil {
		t.Fatal(err)
	}
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: gid, Values: values})
	if err := e.jira.SetFaults(fakejira.Faults{}); err != nil {
		t.Fatal(err)
	}
	if r.Status == http.StatusOK {
		t.Fatalf("submit while Jira fails: %d %s", r.Status, r.Body)
	}
	if k, err := e.store.GetIdempotencyKey(ctx, "create_issue", e.server.ID+":"+gid); err != nil || string(k.Result) != `{"failed":true}` {
		t.Fatalf("the claim after Jira failed: %+v, %v; want it marked failed", k, err)
	}

	e.submitsCreateOnce(t, gid, values, 4)
}
