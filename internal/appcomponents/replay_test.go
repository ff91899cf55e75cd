package appcomponents_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/appcomponents"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// resend sends exactly the request Asana sent for r (same body, same
// signature) to the same route on base.
func resend(t *testing.T, r *fakeasana.AppResponse, base string) (int, string, http.Header) {
	t.Helper()
	u, err := url.Parse(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	return rawDo(t, r.Method, base+u.RequestURI(), r.RequestBody, map[string]string{appcomponents.SignatureHeader: r.Signature})
}

// countingJiraWrites counts the requests that reach the Jira emulator to
// change something: every one but its reads (GET, and the searches sent
// as POST).
func countingJiraWrites(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/rest/api/2/search") {
				n.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestExpiresAtUpperBound: a signed request whose expiry lies further
// ahead than Asana ever sets it is refused, so a captured request cannot
// be replayed for years.
func TestExpiresAtUpperBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	base := "workspace=" + e.seed.Workspace + "&user=" + e.alice + "&query=zzz"
	at := func(d time.Duration) string {
		return url.QueryEscape(time.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	tests := []struct {
		name    string
		expires string
		want    int
	}{
		{"a minute ahead, as Asana sends", "expires_at=" + at(time.Minute), http.StatusOK},
		{"within the allowed skew", "expires_at=" + at(appcomponents.MaxExpiresAhead-time.Minute), http.StatusOK},
		{"beyond the allowed skew", "expires_at=" + at(appcomponents.MaxExpiresAhead+time.Minute), http.StatusBadRequest},
		{"year 9999", "expires_at=9999-12-31T23%3A59%3A59.000Z", http.StatusBadRequest},
		{"legacy epoch-ms a day ahead", "expires=" + msFromNow(24*time.Hour), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := base + "&" + tc.expires
			status, body, _ := rawDo(t, "GET", e.appURL+"/asana/lookup/typeahead?"+q, "",
				map[string]string{appcomponents.SignatureHeader: appcomponents.Sign("demo-secret", q)})
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, body, tc.want)
			}
			if tc.want == http.StatusBadRequest && !strings.Contains(body, "ahead") {
				t.Errorf("refusal does not say why: %s", body)
			}
		})
	}

	// A state-changing call with a far expiry changes nothing.
	task := e.seed.Tasks[1].GID
	data := `{"workspace":"` + e.seed.Workspace + `","user":"` + e.alice + `","task":"` + task + `","query":"DEMO-2","expires_at":"9999-12-31T23:59:59.000Z"}`
	body, _ := jsonString(data)
	status, resp, _ := rawDo(t, "POST", e.appURL+"/asana/lookup/attach", `{"data":`+body+`}`,
		map[string]string{appcomponents.SignatureHeader: appcomponents.Sign("demo-secret", data)})
	if status != http.StatusBadRequest {
		t.Fatalf("attach expiring in 9999: %d %s", status, resp)
	}
	if links, err := e.store.ListLinksByTask(t.Context(), task); err != nil || len(links) != 0 {
		t.Fatalf("links after the refused attach: %v, %v", links, err)
	}
}

// A repeat of a signed form submit, on this replica or another, is
// answered with the first answer and writes nothing to Jira (its claim,
// which tells it a repeat, may run beside the globalId search); the same signed
// body sent to another route is refused; a tampered body still fails the
// signature check.
func TestReplayedSubmitIsAnsweredFromTheFirst(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testReplayedSubmitIsAnsweredFromTheFirst)
}

// onBothDatabases runs test on a SQLite store and on a PostgreSQL one: a
// submit's signature is claimed and answered by statements of each
// database's own (store.ClaimCreation, store.CreateLinkOfCreate).
func onBothDatabases(t *testing.T, test func(t *testing.T, postgres bool)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			test(t, db == "postgres")
		})
	}
}

func testReplayedSubmitIsAnsweredFromTheFirst(t *testing.T, postgres bool) {
	var jiraWrites atomic.Int64
	e := newEnv(t, envOptions{wrapJira: countingJiraWrites(&jiraWrites), postgres: postgres})
	task := e.seed.Tasks[2].GID
	first := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormSubmit, URL: e.appURL + "/asana/form/submit", Task: task,
		Values: map[string]any{"project": "DEMO", "issuetype": "10002", "summary": "Replay me"}})
	mustOK(t, first, http.StatusOK)
	if first.Attachment == "" {
		t.Fatalf("first submit attached nothing: %s", first.Body)
	}
	issues, writes := len(e.jira.Issues()), jiraWrites.Load()

	// Another replica on the same database.
	other := httptest.NewServer(appcomponents.New(appcomponents.Deps{Store: e.store, Bridge: e.bridge, Enqueuer: &recordingEnqueuer{},
		ClientSecret: "demo-secret", AppOrigin: e.asanaURL, PublicMode: true, Log: discard()}))
	t.Cleanup(other.Close)
	for _, base := range []string{e.appURL, other.URL} {
		status, body, hdr := resend(t, first, base)
		if status != http.StatusOK || body != string(first.Body) || hdr.Get(appcomponents.ReplayHeader) == "" {
			t.Errorf("replay to %s: %d %s (replay header %q), want the first answer %s", base, status, body, hdr.Get(appcomponents.ReplayHeader), first.Body)
		}
	}
	if len(e.jira.Issues()) != issues || jiraWrites.Load() != writes {
		t.Errorf("replays wrote to Jira: %d issues (was %d), %d writes (was %d)", len(e.jira.Issues()), issues, jiraWrites.Load(), writes)
	}

	u, _ := url.Parse(first.URL)
	status, body, _ := rawDo(t, "POST", strings.Replace(first.URL, u.Path, "/asana/lookup/attach", 1), first.RequestBody,
		map[string]string{appcomponents.SignatureHeader: first.Signature})
	if status != http.StatusConflict {
		t.Errorf("the submit's signed body sent to attach: %d %s, want 409", status, body)
	}
	status, body, _ = rawDo(t, "POST", first.URL, strings.Replace(first.RequestBody, "Replay me", "Replay you", 1),
		map[string]string{appcomponents.SignatureHeader: first.Signature})
	if status != http.StatusBadRequest || !strings.Contains(body, "invalid request signature") {
		t.Errorf("tampered body with the first signature: %d %s, want 400", status, body)
	}
}

// A replay of a rule save within the request's validity window used to
// put back the settings the user had since replaced.
func TestReplayedRuleSaveChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	save := func(labels string) *fakeasana.AppResponse {
		r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallActionSubmit, URL: e.appURL + "/asana/rule/submit", Project: e.seed.Project,
			ActionType: ruleType, Action: "rule-7", RuleName: "To Jira", Values: map[string]any{"project": "DEMO", "issuetype": "10002", "labels": labels}})
		mustOK(t, r, http.StatusOK)
		return r
	}
	first := save("first")
	save("second")
	status, _, hdr := resend(t, first, e.appURL)
	if status != http.StatusOK || hdr.Get(appcomponents.ReplayHeader) == "" {
		t.Errorf("replayed save: %d, replay header %q", status, hdr.Get(appcomponents.ReplayHeader))
	}
	rc, err := e.store.GetRuleConfig(t.Context(), "rule-7")
	if err != nil || !strings.Contains(string(rc.Config), `"second"`) {
		t.Fatalf("settings after the replay: %s, %v; want the second save's", rc.Config, err)
	}
}

// A run that failed with 5xx (Asana retries those) is not recorded: the
// same signed request runs again once Jira is back, and from then on is
// answered from that answer. Identical requests arriving at once run once.
func TestReplayedRunAfterAFailureRunsAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.saveRule(t, e.alice, "rule-9", map[string]any{"project": "DEMO", "issuetype": "10002"})
	if err := e.jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 503}); err != nil {
		t.Fatal(err)
	}
	first := e.runRule(t, e.alice, "rule-9", e.seed.Tasks[2].GID, "run-9")
	if first.Status != http.StatusInternalServerError {
		t.Fatalf("run with Jira down: %d %s, want 500", first.Status, first.Body)
	}
	if err := e.jira.SetFaults(fakejira.Faults{}); err != nil {
		t.Fatal(err)
	}
	issues := len(e.jira.Issues())
	const n = 6
	type answer struct {
		status   int
		body     string
		replayed bool
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, body, hdr := resend(t, first, e.appURL)
			answers[i] = answer{status, body, hdr.Get(appcomponents.ReplayHeader) != ""}
		})
	}
	wg.Wait()
	ran, created := 0, ""
	for _, a := range answers {
		switch {
		case a.status == http.StatusOK && !a.replayed:
			ran++
			created = a.body
		case a.status == http.StatusOK || a.status == http.StatusConflict:
		default:
			t.Errorf("concurrent repeat: %d %s", a.status, a.body)
		}
	}
	if ran != 1 || len(e.jira.Issues()) != issues+1 {
		t.Fatalf("%d repeats ran, %d issues created; want 1 and 1 (answers %+v)", ran, len(e.jira.Issues())-issues, answers)
	}
	status, body, hdr := resend(t, first, e.appURL)
	if status != http.StatusOK || body != created || hdr.Get(appcomponents.ReplayHeader) == "" {
		t.Errorf("repeat after the success: %d %s, want the recorded answer %s", status, body, created)
	}
}

// Reads are not recorded: Asana repeats them.
func TestRepeatedReadsAreServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, Task: e.seed.Tasks[0].GID})
	mustOK(t, r, http.StatusOK)
	for range 2 {
		status, _, hdr := resend(t, r, e.appURL)
		if status != http.StatusOK || hdr.Get(appcomponents.ReplayHeader) != "" {
			t.Errorf("repeated form metadata: %d, replay header %q", status, hdr.Get(appcomponents.ReplayHeader))
		}
	}
}

// signedSubmit is a form submit as Asana signs it, to send as many times
// as a test likes.
func signedSubmit(t *testing.T, e *env, task string, values string) (body, signature string) {
	t.Helper()
	expires := time.Now().Add(time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")
	data := `{"workspace":"` + e.seed.Workspace + `","user":"` + e.alice + `","task":"` + task + `","values":` + values + `,"expires_at":"` + expires + `"}`
	quoted, err := jsonString(data)
	if err != nil {
		t.Fatal(err)
	}
	return `{"data":` + quoted + `}`, appcomponents.Sign("demo-secret", data)
}

// The same signed submit arriving several times at once creates one issue:
// one copy runs, the others are told it is being handled (409) or get its
// answer; every later repeat gets that answer. A submit Jira refuses is
// answered from the first answer too.
func TestIdenticalSubmitsAtOnce(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, testIdenticalSubmitsAtOnce)
}

func testIdenticalSubmitsAtOnce(t *testing.T, postgres bool) {
	e := newEnv(t, envOptions{postgres: postgres})
	tests := []struct {
		name, values string
		status       int
		issues       int
	}{
		{"created", `{"project":"DEMO","issuetype":"10002","summary":"Once only"}`, http.StatusOK, 1},
		{"refused", `{"project":"DEMO","issuetype":"10002","summary":""}`, http.StatusBadRequest, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, sig := signedSubmit(t, e, e.seed.Tasks[i].GID, tc.values)
			hdr := map[string]string{appcomponents.SignatureHeader: sig}
			issues := len(e.jira.Issues())
			type answer struct {
				status   int
				body     string
				replayed bool
			}
			const n = 6
			answers := make([]answer, n)
			var wg sync.WaitGroup
			for j := range n {
				wg.Go(func() {
					status, b, h := rawDo(t, "POST", e.appURL+"/asana/form/submit", body, hdr)
					answers[j] = answer{status, b, h.Get(appcomponents.ReplayHeader) != ""}
				})
			}
			wg.Wait()
			var ran []answer
			for _, a := range answers {
				switch {
				case !a.replayed:
					ran = append(ran, a)
				case a.status == tc.status || a.status == http.StatusConflict:
				default:
					t.Errorf("concurrent repeat: %d %s", a.status, a.body)
				}
			}
			if len(ran) == 0 || len(e.jira.Issues()) != issues+tc.issues {
				t.Fatalf("%d copies ran, %d issues created; want at least 1 and %d (answers %+v)", len(ran), len(e.jira.Issues())-issues, tc.issues, answers)
			}
			for _, a := range ran {
				if a.status != tc.status {
					t.Fatalf("answer %d %s, want %d", a.status, a.body, tc.status)
				}
			}
			status, b, h := rawDo(t, "POST", e.appURL+"/asana/form/submit", body, hdr)
			if status != tc.status || h.Get(appcomponents.ReplayHeader) == "" || !slices.ContainsFunc(ran, func(a answer) bool { return a.body == b }) {
				t.Errorf("repeat afterwards: %d %s (replay header %q), want one of the answers %+v", status, b, h.Get(appcomponents.ReplayHeader), ran)
			}
		})
	}
}
