package appcomponents_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

const ruleType = "create_jira_issue"

// saveRule submits the rule builder's form as user, for a new rule (action
// "") or an existing one.
func (e *env) saveRule(t *testing.T, user, action string, values map[string]any) {
	t.Helper()
	r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallActionSubmit, URL: e.appURL + "/asana/rule/submit", User: user,
		Project: e.seed.Project, ActionType: ruleType, Action: action, Values: values, RuleName: "To Jira"})
	mustOK(t, r, http.StatusOK)
}

// runRule runs a rule action on task with a run signed as user.
func (e *env) runRule(t *testing.T, user, action, task, key string) *fakeasana.AppResponse {
	t.Helper()
	return e.call(t, fakeasana.AppCall{Kind: fakeasana.CallRunAction, User: user, Project: e.seed.Project,
		ActionType: ruleType, Action: action, Task: task, IdempotencyKey: key})
}

// newTask creates a task in the Launch project through Asana's REST API.
func (e *env) newTask(t *testing.T, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"name": name, "projects": []string{e.seed.Project}}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.asanaURL+"/api/1.0/tasks", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.seed.Tokens["admin"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			GID string `json:"gid"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("create task: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.GID == "" {
		t.Fatalf("create task: %v %+v", err, out)
	}
	return out.Data.GID
}

// issueOf returns the Jira issue the run answered with.
func (e *env) issueOf(t *testing.T, r *fakeasana.AppResponse) fakejira.Issue {
	t.Helper()
	var ran struct {
		Created []struct {
			URL string `json:"resource_url"`
		} `json:"resources_created"`
	}
	if err := json.Unmarshal(r.Body, &ran); err != nil || len(ran.Created) != 1 {
		t.Fatalf("run answer %d %s", r.Status, r.Body)
	}
	for _, is := range e.jira.Issues() {
		if strings.HasSuffix(ran.Created[0].URL, "/browse/"+is.Key) {
			return is
		}
	}
	t.Fatalf("the run's issue %s is not in Jira", ran.Created[0].URL)
	return fakejira.Issue{}
}

func labelled(e *env, label string) []string {
	var keys []string
	for _, is := range e.jira.Issues() {
		if slices.Contains(is.Labels, label) {
			keys = append(keys, is.Key+" by "+is.Reporter)
		}
	}
	return keys
}

// TestRuleRunUsesItsOwnUsersConfiguration is the reported attack: bob
// saves a new rule for DEMO, then alice saves one for OPS (a project bob
// may not see) labelled alice-rule, on the same Asana project. A run signed
// as bob with a new action id used to adopt the project's latest new
// configuration, alice's, and create an issue in OPS as alice. Each run must use the configuration
// its own user saved, and a run of a rule signed as another user than its
// owner is refused.
func TestRuleRunUsesItsOwnUsersConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.connect(t, "bob")
	tasks := e.seed.Tasks
	e.saveRule(t, e.bob, "", map[string]any{"project": "DEMO", "issuetype": "10002", "labels": "bob-rule"})
	e.saveRule(t, e.alice, "", map[string]any{"project": "OPS", "issuetype": "10001", "labels": "alice-rule"})

	r := e.runRule(t, e.bob, "action-bob", tasks[0].GID, "run-1")
	if got := labelled(e, "alice-rule"); len(got) != 0 {
		t.Fatalf("bob's run used alice's configuration: %v (answer %d %s)", got, r.Status, r.Body)
	}
	mustOK(t, r, http.StatusOK)
	if is := e.issueOf(t, r); is.Project != "DEMO" || is.Reporter != "bob" || !slices.Equal(is.Labels, []string{"bob-rule"}) {
		t.Fatalf("bob's run created %+v, want a DEMO issue reported by bob labelled bob-rule", is)
	}

	// alice's own first run adopts alice's configuration.
	r = e.runRule(t, e.alice, "action-alice", tasks[1].GID, "run-2")
	mustOK(t, r, http.StatusOK)
	if is := e.issueOf(t, r); is.Project != "OPS" || is.Reporter != "alice" || !slices.Equal(is.Labels, []string{"alice-rule"}) {
		t.Fatalf("alice's run created %+v", is)
	}

	// A run of alice's rule signed as bob is refused and creates nothing,
	// and so is a run of a new action id by a user with nothing pending.
	n := len(e.jira.Issues())
	for _, tc := range []struct {
		name, user, action string
		want               int
	}{
		{"alice's rule signed as bob", e.bob, "action-alice", http.StatusForbidden},
		{"bob's rule signed as alice", e.alice, "action-bob", http.StatusForbidden},
		{"a new action id, nothing pending", e.bob, "action-bob-2", http.StatusGone},
	} {
		r := e.runRule(t, tc.user, tc.action, tasks[2].GID, "run-"+tc.action+tc.user)
		if r.Status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.Status, r.Body, tc.want)
		}
	}
	if len(e.jira.Issues()) != n {
		t.Fatalf("refused runs created issues: %d, want %d", len(e.jira.Issues()), n)
	}
	// bob's rule still runs for bob.
	r = e.runRule(t, e.bob, "action-bob", tasks[2].GID, "run-3")
	mustOK(t, r, http.StatusOK)
	if is := e.issueOf(t, r); is.Project != "DEMO" || is.Reporter != "bob" {
		t.Fatalf("bob's second run created %+v", is)
	}
}

// Whoever saves a rule owns it: bob opening alice's rule does not see
// alice's settings, and once bob saves it, runs must be signed as bob.
func TestRuleEditedByAnotherUserChangesOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.connect(t, "bob")
	e.saveRule(t, e.alice, "rule-1", map[string]any{"project": "DEMO", "issuetype": "10002", "labels": "alice-rule"})

	formOf := func(user string) string {
		r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallActionMetadata, User: user, Project: e.seed.Project, ActionType: ruleType, Action: "rule-1"})
		mustOK(t, r, http.StatusOK)
		return string(r.Body)
	}
	if f := formOf(e.alice); !strings.Contains(f, "alice-rule") {
		t.Errorf("alice's own rule form lacks her labels: %s", f)
	}
	if f := formOf(e.bob); strings.Contains(f, "alice-rule") {
		t.Errorf("bob sees alice's rule settings: %s", f)
	}

	e.saveRule(t, e.bob, "rule-1", map[string]any{"project": "OPS", "issuetype": "10001", "labels": "bob-rule"})
	task := e.seed.Tasks[0].GID
	if r := e.runRule(t, e.alice, "rule-1", task, "k1"); r.Status != http.StatusForbidden {
		t.Fatalf("alice running the rule bob saved: %d %s, want 403", r.Status, r.Body)
	}
	r := e.runRule(t, e.bob, "rule-1", task, "k2")
	mustOK(t, r, http.StatusOK)
	if is := e.issueOf(t, r); is.Reporter != "bob" || !slices.Equal(is.Labels, []string{"bob-rule"}) {
		t.Fatalf("run created %+v", is)
	}
}

// Several users creating rules at the same time: every run uses the
// configuration its own user saved just before.
func TestRulesSavedAtOnceNeverCross(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.connect(t, "bob")
	e.connect(t, "admin")
	const rounds = 3
	users := []string{"admin", "alice", "bob"}
	tasks := map[string][]string{}
	for _, u := range users {
		for i := range rounds {
			tasks[u] = append(tasks[u], e.newTask(t, fmt.Sprintf("%s task %d", u, i)))
		}
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			gid := e.seed.Users[u]
			for i := range rounds {
				label := fmt.Sprintf("%s-rule-%d", u, i)
				r := e.call(t, fakeasana.AppCall{Kind: fakeasana.CallActionSubmit, URL: e.appURL + "/asana/rule/submit", User: gid,
					Project: e.seed.Project, ActionType: ruleType, Values: map[string]any{"project": "DEMO", "issuetype": "10002", "labels": label}})
				if r.Status != http.StatusOK {
					t.Errorf("%s saving rule %d: %d %s", u, i, r.Status, r.Body)
					return
				}
				r = e.runRule(t, gid, label, tasks[u][i], "run-"+label)
				if r.Status != http.StatusOK {
					t.Errorf("%s running rule %d: %d %s", u, i, r.Status, r.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, u := range users {
		for i := range rounds {
			label := fmt.Sprintf("%s-rule-%d", u, i)
			if got := labelled(e, label); len(got) != 1 || !strings.HasSuffix(got[0], " by "+u) {
				t.Errorf("issues labelled %s: %v, want one reported by %s", label, got, u)
			}
		}
	}
}
