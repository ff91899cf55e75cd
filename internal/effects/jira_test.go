package effects_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/effects"
	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/jira"
)

// jiraSide is the Jira emulator with alice's client.
type jiraSide struct {
	jira   *fakejira.Server
	client *jira.Client
}

func newJiraSide(t *testing.T) *jiraSide {
	t.Helper()
	fj, err := fakejira.New(fakejira.Options{Version: "9.12.0", OnUnknownRoute: func(method, path string) {
		t.Errorf("Jira emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fj)
	t.Cleanup(func() { ts.Close(); fj.Close() })
	tok, err := fj.CreatePAT("alice", "effects")
	if err != nil {
		t.Fatal(err)
	}
	c, err := jira.New(ts.URL+"/jira", jira.NewHTTPClient(&jira.BearerTransport{Token: tok}, 10*time.Second),
		jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return &jiraSide{jira: fj, client: c}
}

func (j *jiraSide) comment(body string) effects.JiraComment {
	return effects.JiraComment{Client: j.client, Issue: "DEMO-1", Body: body}
}

// commented counts DEMO-1's comments containing text.
func (j *jiraSide) commented(text string) int {
	is, _ := j.jira.Issue("DEMO-1")
	n := 0
	for _, c := range is.Comments {
		if strings.Contains(c.Body, text) {
			n++
		}
	}
	return n
}

// A Jira comment is written once, with its marker line; a Jira failure
// leaves it pending and the retry writes it once; an attempt that died
// after writing is found by the next one.
func TestJiraCommentOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		j := newJiraSide(t)
		l := effects.NewLedger(b.store, effects.Options{Lease: time.Minute})
		ctx := t.Context()

		e := effects.Effect{Scope: "test-comment", Key: "503", Target: "jira:DEMO-1"}
		if err := j.jira.SetFaults(fakejira.Faults{ErrorRate: 1, ErrorStatus: 503, PathPrefix: "/jira/rest/api/2/issue/DEMO-1/comment"}); err != nil {
			t.Fatal(err)
		}
		_, err := l.Apply(ctx, e, j.comment("Alice in Asana: first"))
		var je *jira.Error
		if !errors.As(err, &je) || je.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("Apply while Jira fails = %v, want Jira's 503", err)
		}
		if err := j.jira.SetFaults(fakejira.Faults{}); err != nil {
			t.Fatal(err)
		}
		made, err := l.Apply(ctx, e, j.comment("Alice in Asana: first"))
		if err != nil || made.How != effects.Made {
			t.Fatalf("retry = %+v, %v", made, err)
		}
		again, err := l.Apply(ctx, e, j.comment("Alice in Asana: first"))
		if err != nil || again.How != effects.Recorded || again.Result != made.Result {
			t.Fatalf("third attempt = %+v, %v", again, err)
		}
		is, _ := j.jira.Issue("DEMO-1")
		last := is.Comments[len(is.Comments)-1]
		if last.ID != made.Result || last.Body != "Alice in Asana: first\n\n"+effects.Marker(e.Fingerprint()) || j.commented("first") != 1 {
			t.Fatalf("comments %+v, want one with the marker", is.Comments)
		}

		crash := effects.Effect{Scope: "test-comment", Key: "crash", Target: "jira:DEMO-1"}
		dying := effects.NewLedger(crashAfterWrite{b.store}, effects.Options{Lease: time.Minute})
		if _, err := dying.Apply(ctx, crash, j.comment("Alice in Asana: second")); !errors.Is(err, errCrash) {
			t.Fatalf("Apply = %v, want the crash", err)
		}
		b.clock.Add(time.Minute)
		found, err := l.Apply(ctx, crash, j.comment("Alice in Asana: second"))
		if err != nil || found.How != effects.Found || j.commented("second") != 1 {
			t.Fatalf("after the crash = %+v, %v with %d comments", found, err, j.commented("second"))
		}
	})
}
