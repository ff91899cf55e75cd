package effects_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
	fj, _, c := newRecordingJira(t, false)
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

// A Jira comment is written once, as written, with its fingerprint as an
// entity property; a Jira failure leaves it pending and the retry writes it
// once; an attempt that died after writing is found by the next one.
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
		if last.ID != made.Result || last.Body != "Alice in Asana: first" || j.commented("first") != 1 ||
			string(last.Properties[effects.PropertyKey]) != `{"fingerprint":"`+e.Fingerprint()+`"}` {
			t.Fatalf("comments %+v, want one as written with the fingerprint property", is.Comments)
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

// recordingJira stands between asanajira and the Jira emulator and records
// the requests it passes on; with drop, it is a Jira (or an app, a proxy)
// that ignores the properties of a new comment.
type recordingJira struct {
	next http.Handler
	drop bool
	mu   sync.Mutex
	seen []string
}

func (d *recordingJira) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.seen = append(d.seen, r.Method+" "+r.URL.Path)
	d.mu.Unlock()
	if d.drop && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/comment") {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		delete(body, "properties")
		b, _ := json.Marshal(body)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	d.next.ServeHTTP(w, r)
}

func (d *recordingJira) requests(method, suffix string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, s := range d.seen {
		if strings.HasPrefix(s, method+" ") && strings.HasSuffix(s, suffix) {
			n++
		}
	}
	return n
}

// A Jira that drops the properties of a new comment still gets the
// fingerprint: asanajira sets it right after, so a retry after a crash
// finds the comment by it.
func TestJiraDroppingPropertiesGetsTheFingerprint(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		fj, drop, c := newRecordingJira(t, true)
		comment := func(body string) effects.JiraComment {
			return effects.JiraComment{Client: c, Issue: "DEMO-1", Body: body}
		}
		propertyOf := func(id string) string {
			is, _ := fj.Issue("DEMO-1")
			for _, cm := range is.Comments {
				if cm.ID == id {
					return string(cm.Properties[effects.PropertyKey])
				}
			}
			return "no such comment"
		}

		l := effects.NewLedger(b.store, effects.Options{Lease: time.Minute})
		e := effects.Effect{Scope: "test-comment", Key: "dropped", Target: "jira:DEMO-1"}
		made, err := l.Apply(t.Context(), e, comment("Bob in Asana: the property is dropped"))
		if err != nil || made.How != effects.Made {
			t.Fatalf("Apply = %+v, %v", made, err)
		}
		if got, want := propertyOf(made.Result), `{"fingerprint":"`+e.Fingerprint()+`"}`; got != want {
			t.Fatalf("property of the comment = %s, want %s", got, want)
		}
		if n := drop.requests(http.MethodPut, "/comment/"+made.Result+"/properties/"+effects.PropertyKey); n != 1 {
			t.Fatalf("%d PUTs of the property, want 1", n)
		}

		crash := effects.Effect{Scope: "test-comment", Key: "dropped-crash", Target: "jira:DEMO-1"}
		dying := effects.NewLedger(crashAfterWrite{b.store}, effects.Options{Lease: time.Minute})
		if _, err := dying.Apply(t.Context(), crash, comment("Bob in Asana: and the process dies")); !errors.Is(err, errCrash) {
			t.Fatalf("Apply = %v, want the crash", err)
		}
		b.clock.Add(time.Minute)
		found, err := l.Apply(t.Context(), crash, comment("Bob in Asana: and the process dies"))
		is, _ := fj.Issue("DEMO-1")
		n := 0
		for _, cm := range is.Comments {
			if strings.Contains(cm.Body, "the process dies") {
				n++
			}
		}
		if err != nil || found.How != effects.Found || n != 1 {
			t.Fatalf("retry after the crash = %+v, %v with %d comments", found, err, n)
		}
	})
}

// A Jira that keeps the properties sent with a new comment gets no second
// request for them.
func TestJiraKeepingPropertiesGetsOneRequest(t *testing.T) {
	t.Parallel()
	_, rec, c := newRecordingJira(t, false)
	if _, err := (effects.JiraComment{Client: c, Issue: "DEMO-1", Body: "kept"}).Make(t.Context(), "0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if rec.requests(http.MethodPut, "/properties/"+effects.PropertyKey) != 0 || rec.requests(http.MethodPost, "/comment") != 1 {
		t.Fatalf("requests %v; want the one POST", rec.seen)
	}
}

// newRecordingJira is the Jira emulator behind a recordingJira, and
// alice's client through it.
func newRecordingJira(t *testing.T, drop bool) (*fakejira.Server, *recordingJira, *jira.Client) {
	t.Helper()
	fj, err := fakejira.New(fakejira.Options{Version: "9.12.0", OnUnknownRoute: func(method, path string) {
		t.Errorf("Jira emulator: no route for %s %s", method, path)
	}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingJira{next: fj, drop: drop}
	ts := httptest.NewServer(rec)
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
	return fj, rec, c
}
