package effects_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/effects"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
	"github.com/asanajira/asanajira/internal/store/sqlite"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// bed is the Asana emulator with a task, alice's client, and a ledger on a
// real database.
type bed struct {
	asana  *fakeasana.Server
	url    string
	client *asana.Client
	task   string
	store  store.Store
	clock  *storetest.Clock
}

// asanaAs is a client of a seeded user (pat-<login>).
func (b *bed) asanaAs(t *testing.T, login string) *asana.Client {
	t.Helper()
	c, err := asana.New(b.url, &http.Client{Transport: &asana.BearerTransport{Token: "pat-" + login}, Timeout: 10 * time.Second},
		asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newBed(t *testing.T, db string) *bed {
	t.Helper()
	// Asana and the ledger read one clock: Find compares when a story was
	// made with when its intent was recorded.
	clock := storetest.NewClock(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC))
	fa, err := fakeasana.New(fakeasana.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fa)
	t.Cleanup(ts.Close)
	t.Cleanup(fa.Close)
	b := &bed{asana: fa, task: fa.Seed().Tasks[1].GID, clock: clock, url: ts.URL + "/api/1.0"}
	b.client = b.asanaAs(t, "alice")
	switch db {
	case "sqlite":
		b.store, err = sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "asanajira.db"), storetest.NewSealer(t), b.clock.Now)
	case "postgres":
		b.store, err = postgres.Open(t.Context(), pgtest.URL(t), storetest.NewSealer(t), b.clock.Now)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.store.Close() })
	return b
}

func (b *bed) story(text string) effects.AsanaStory {
	return effects.AsanaStory{Client: b.client, Task: b.task, Text: text}
}

// posted counts the task's stories containing text.
func (b *bed) posted(text string) int {
	n := 0
	for _, s := range b.asana.Stories(b.task) {
		if strings.Contains(s.Text, text) {
			n++
		}
	}
	return n
}

var databases = []string{"sqlite", "postgres"}

func forEachDB(t *testing.T, fn func(t *testing.T, b *bed)) {
	t.Helper()
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			fn(t, newBed(t, db))
		})
	}
}

// A story is posted once, exactly as written (no fingerprint people see),
// and a second attempt sends nothing.
func TestStoryPostedOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		l := effects.NewLedger(b.store, effects.Options{})
		e := effects.Effect{Scope: "test-story", Key: "k1", Target: "asana:task:" + b.task, Author: "alice-gid"}
		first, err := l.Apply(t.Context(), e, b.story("Jira issue DEMO-1 moved to Done."))
		if err != nil {
			t.Fatal(err)
		}
		again, err := l.Apply(t.Context(), e, b.story("Jira issue DEMO-1 moved to Done."))
		if err != nil {
			t.Fatal(err)
		}
		if first.How != effects.Made || again.How != effects.Recorded || again.Result != first.Result || first.Result == "" {
			t.Fatalf("outcomes %+v then %+v", first, again)
		}
		stories := b.asana.Stories(b.task)
		last := stories[len(stories)-1]
		if diff := cmp.Diff("Jira issue DEMO-1 moved to Done.", last.Text); diff != "" || last.GID != first.Result {
			t.Fatalf("posted story %s (-want +got):\n%s", last.GID, diff)
		}
		if n := b.posted("moved to Done"); n != 1 {
			t.Fatalf("%d stories, want 1", n)
		}
		rec, err := b.store.GetSideEffect(t.Context(), e.Scope, e.Key)
		if err != nil || rec.Digest != effects.Digest(last.Text) || rec.Author != "alice-gid" || rec.Target != e.Target {
			t.Fatalf("ledger = %+v, %v; want the story's digest and author with the intent", rec, err)
		}
	})
}

// Asana answering 503 to the post loses nothing: the write stays pending and
// the retry posts it, once.
func TestStoryAfterAsana503(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		l := effects.NewLedger(b.store, effects.Options{})
		e := effects.Effect{Scope: "test-story", Key: "503", Target: "asana:task:" + b.task}
		if err := b.asana.SetFaults(fakeasana.Faults{ErrorRate: 1, ErrorStatus: 503, PathPrefix: "/api/1.0/tasks/" + b.task + "/stories"}); err != nil {
			t.Fatal(err)
		}
		_, err := l.Apply(t.Context(), e, b.story("files copied"))
		var ae *asana.Error
		if !errors.As(err, &ae) || ae.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("Apply during the outage = %v, want Asana's 503", err)
		}
		if err := b.asana.SetFaults(fakeasana.Faults{Reset: true}); err != nil {
			t.Fatal(err)
		}
		out, err := l.Apply(t.Context(), e, b.story("files copied"))
		if err != nil {
			t.Fatal(err)
		}
		if out.How != effects.Made || b.posted("files copied") != 1 {
			t.Fatalf("retry = %+v with %d stories, want one made story", out, b.posted("files copied"))
		}
		rec, err := b.store.GetSideEffect(t.Context(), e.Scope, e.Key)
		if err != nil || rec.State != store.SideEffectDone || rec.Attempts != 2 || rec.Result != out.Result {
			t.Fatalf("ledger = %+v, %v", rec, err)
		}
	})
}

// crashAfterWrite is the real store, but the attempt "dies" between the
// write and recording it: nothing of the attempt reaches the ledger after
// the write.
type crashAfterWrite struct {
	effects.Store
}

var errCrash = errors.New("the process died before recording the write")

func (crashAfterWrite) CompleteSideEffect(context.Context, string, string, string, string) error {
	return errCrash
}

func (crashAfterWrite) ReleaseSideEffect(context.Context, string, string, string) error {
	return errCrash
}

// postAndCrash is an attempt that posts text and dies before recording it,
// holding a one-minute lease.
func (b *bed) postAndCrash(t *testing.T, e effects.Effect, text string) {
	t.Helper()
	dying := effects.NewLedger(crashAfterWrite{b.store}, effects.Options{Lease: time.Minute})
	if _, err := dying.Apply(t.Context(), e, b.story(text)); !errors.Is(err, errCrash) {
		t.Fatalf("Apply = %v, want the crash", err)
	}
}

// An attempt that dies between posting and recording leaves the write
// pending and leased; once the lease lapses, the next attempt finds the
// story by its fingerprint and does not post again.
func TestCrashBetweenPostAndRecord(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		e := effects.Effect{Scope: "test-story", Key: "crash", Target: "asana:task:" + b.task}
		b.postAndCrash(t, e, "comment before the crash")
		if n := b.posted("comment before the crash"); n != 1 {
			t.Fatalf("%d stories after the crash, want the 1 posted", n)
		}

		l := effects.NewLedger(b.store, effects.Options{Lease: time.Minute})
		_, err := l.Apply(t.Context(), e, b.story("comment before the crash"))
		var busy *effects.BusyError
		if !errors.As(err, &busy) || !errors.Is(err, effects.ErrBusy) || !busy.Until.Equal(b.clock.Now().Add(time.Minute)) {
			t.Fatalf("Apply while the dead attempt's lease runs = %v, want ErrBusy until the lease ends", err)
		}
		b.clock.Add(time.Minute)
		out, err := l.Apply(t.Context(), e, b.story("comment before the crash"))
		if err != nil {
			t.Fatal(err)
		}
		stories := b.asana.Stories(b.task)
		if out.How != effects.Found || out.Result != stories[len(stories)-1].GID || b.posted("comment before the crash") != 1 {
			t.Fatalf("retry = %+v with %d stories, want the story found", out, b.posted("comment before the crash"))
		}
		again, err := l.Apply(t.Context(), e, b.story("comment before the crash"))
		if err != nil || again.How != effects.Recorded || again.Result != out.Result {
			t.Fatalf("third attempt = %+v, %v", again, err)
		}
	})
}

// Eight attempts at one write at the same moment post one story: one makes
// it, the others are told it is busy or done, and their retries send
// nothing.
func TestConcurrentAttemptsPostOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		l := effects.NewLedger(b.store, effects.Options{})
		e := effects.Effect{Scope: "test-story", Key: "race", Target: "asana:task:" + b.task}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			hows = map[effects.How]int{}
			errs []error
		)
		start := make(chan struct{})
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					out, err := l.Apply(t.Context(), e, b.story("one delivery of a comment"))
					if errors.Is(err, effects.ErrBusy) {
						time.Sleep(10 * time.Millisecond) // a job would be snoozed
						continue
					}
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					hows[out.How]++
					mu.Unlock()
					return
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if n := b.posted("one delivery of a comment"); n != 1 || hows[effects.Made] != 1 || hows[effects.Recorded] != 7 {
			t.Fatalf("%d stories, outcomes %v; want 1 story, 1 made and 7 recorded", n, hows)
		}
	})
}

// A failed look on the other side leaves the write pending, and the next
// attempt looks again before writing.
func TestFindFailureRetried(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		e := effects.Effect{Scope: "test-story", Key: "find", Target: "asana:task:" + b.task}
		b.postAndCrash(t, e, "looked for")
		b.clock.Add(time.Minute)
		l := effects.NewLedger(b.store, effects.Options{Lease: time.Minute})
		if err := b.asana.SetFaults(fakeasana.Faults{ErrorRate: 1, ErrorStatus: 502, PathPrefix: "/api/1.0/tasks/" + b.task + "/stories"}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Apply(t.Context(), e, b.story("looked for")); err == nil || !strings.Contains(err.Error(), "look for") {
			t.Fatalf("Apply while Asana fails = %v, want the failed look", err)
		}
		if err := b.asana.SetFaults(fakeasana.Faults{Reset: true}); err != nil {
			t.Fatal(err)
		}
		out, err := l.Apply(t.Context(), e, b.story("looked for"))
		if err != nil || out.How != effects.Found || b.posted("looked for") != 1 {
			t.Fatalf("retry = %+v, %v with %d stories", out, err, b.posted("looked for"))
		}
	})
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a := effects.Effect{Scope: "s", Key: "k"}
	if a.Fingerprint() != (effects.Effect{Scope: "s", Key: "k", Target: "elsewhere"}).Fingerprint() {
		t.Error("the target changed the fingerprint")
	}
	for _, other := range []effects.Effect{{Scope: "s", Key: "k2"}, {Scope: "s2", Key: "k"}, {Scope: "s\x00k", Key: ""}} {
		if other.Fingerprint() == a.Fingerprint() {
			t.Errorf("%v has the fingerprint of %v", other, a)
		}
	}
	if got := a.Fingerprint(); len(got) != 16 || strings.Trim(got, "0123456789abcdef") != "" {
		t.Errorf("fingerprint %q is not 16 hex digits", got)
	}
}

// failing is a write whose attempt fails before anything is sent, leaving
// its intent pending (as Asana answering 503 would).
type failing struct{ effects.Write }

var errRefused = errors.New("refused before sending")

func (failing) Make(context.Context, string) (string, error) { return "", errRefused }

// intend records the intent of e without making it: the next attempt looks
// before writing.
func (b *bed) intend(t *testing.T, l *effects.Ledger, e effects.Effect, text string) {
	t.Helper()
	if _, err := l.Apply(t.Context(), e, failing{b.story(text)}); !errors.Is(err, errRefused) {
		t.Fatalf("Apply = %v, want the refusal", err)
	}
}

// Two notes saying the same on one task ("moved to Done" twice) are two
// writes: each is posted once, also when the second attempt dies between
// posting and recording, and when both do.
func TestIdenticalNotesEachPostedOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		l := effects.NewLedger(b.store, effects.Options{Lease: time.Minute})
		note := func(key string) effects.Effect {
			return effects.Effect{Scope: "test-note", Key: key, Target: "asana:task:" + b.task}
		}
		const done = "Jira issue DEMO-1 moved to Done by Alice."
		first, err := l.Apply(t.Context(), note("done-1"), b.story(done))
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Add(10 * time.Second) // well within ClockSkew of the first
		b.postAndCrash(t, note("done-2"), done)
		b.clock.Add(time.Minute)
		second, err := l.Apply(t.Context(), note("done-2"), b.story(done))
		if err != nil {
			t.Fatal(err)
		}
		stories := b.asana.Stories(b.task)
		if second.How != effects.Found || second.Result == first.Result || second.Result != stories[len(stories)-1].GID || b.posted(done) != 2 {
			t.Fatalf("second note = %+v (first %s) with %d stories; want the second story found", second, first.Result, b.posted(done))
		}

		// Both attempts die after posting: each retry finds its own story.
		const wip = "Jira issue DEMO-1 moved to In Progress by Alice."
		b.postAndCrash(t, note("wip-1"), wip)
		b.clock.Add(time.Second)
		b.postAndCrash(t, note("wip-2"), wip)
		b.clock.Add(time.Minute)
		var got []string
		for _, k := range []string{"wip-2", "wip-1"} {
			out, err := l.Apply(t.Context(), note(k), b.story(wip))
			if err != nil || out.How != effects.Found {
				t.Fatalf("retry of %s = %+v, %v", k, out, err)
			}
			got = append(got, out.Result)
		}
		if got[0] == got[1] || b.posted(wip) != 2 {
			t.Fatalf("the retries recorded %v with %d stories; want the two stories, one each", got, b.posted(wip))
		}
	})
}

// Find takes a story for an earlier attempt's only when it looks like one:
// by the acting user, made no earlier than the intent less ClockSkew,
// saying what the write says (or said when its intent was recorded); a
// story with the former marker line of the fingerprint is found by it.
func TestFindKnowsTheStoryByItsLooks(t *testing.T) {
	t.Parallel()
	const text = "Files copied to DEMO-1: spec.pdf."
	cases := []struct {
		name string
		// before: a story posted before the intent is recorded, by
		// login, saying what, that long before it.
		before     *posting
		after      *posting // a story posted after the intent
		retryText  string   // the text of the retry ("" = text)
		want       effects.How
		wantPosted int // stories saying the retry's text afterwards
	}{
		{name: "the acting user's story after the intent", after: &posting{"alice", text, 0}, want: effects.Found, wantPosted: 1},
		{name: "another user's story saying the same", after: &posting{"bob", text, 0}, want: effects.Made, wantPosted: 2},
		{name: "the acting user's story saying something else", after: &posting{"alice", "Files copied.", 0}, want: effects.Made, wantPosted: 1},
		{name: "whitespace Asana changed", after: &posting{"alice", "  Files copied to DEMO-1:\n spec.pdf.  ", 0}, want: effects.Found, wantPosted: 0},
		{name: "a story from before the intent", before: &posting{"alice", text, effects.ClockSkew + time.Second}, want: effects.Made, wantPosted: 2},
		{name: "a story within the clock skew before the intent", before: &posting{"alice", text, time.Minute}, want: effects.Found, wantPosted: 1},
		{name: "the text changed since the intent", after: &posting{"alice", text, 0}, retryText: "Files copied to DEMO-1: spec.pdf, plan.xlsx.", want: effects.Found, wantPosted: 0},
		{name: "the former marker line", after: &posting{"bob", "Something else\n\nasanajira ref " + (effects.Effect{Scope: "test-looks", Key: "k"}).Fingerprint(), 0}, want: effects.Found, wantPosted: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := newBed(t, "sqlite")
			l := effects.NewLedger(b.store, effects.Options{})
			e := effects.Effect{Scope: "test-looks", Key: "k", Target: "asana:task:" + b.task}
			if c.before != nil {
				b.clock.Add(-c.before.ago)
				b.post(t, *c.before)
				b.clock.Add(c.before.ago)
			}
			b.intend(t, l, e, text)
			b.clock.Add(time.Second)
			if c.after != nil {
				b.post(t, *c.after)
			}
			retry := text
			if c.retryText != "" {
				retry = c.retryText
			}
			out, err := l.Apply(t.Context(), e, b.story(retry))
			if err != nil || out.How != c.want {
				t.Fatalf("retry = %+v, %v; want %v", out, err, c.want)
			}
			if n := b.posted(retry); n != c.wantPosted {
				t.Errorf("%d stories say %q, want %d", n, retry, c.wantPosted)
			}
		})
	}
}

type posting struct {
	login, text string
	ago         time.Duration
}

func (b *bed) post(t *testing.T, p posting) {
	t.Helper()
	if _, err := b.asanaAs(t, p.login).AddComment(t.Context(), b.task, p.text, ""); err != nil {
		t.Fatal(err)
	}
}

// Settle records what an earlier attempt made of a write no longer wanted,
// or drops a write never made, so no attempt makes it.
func TestSettle(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		l := effects.NewLedger(b.store, effects.Options{Lease: time.Minute})
		made := effects.Effect{Scope: "test-settle", Key: "made", Target: "asana:task:" + b.task}
		b.postAndCrash(t, made, "mirror of a comment deleted since")
		b.clock.Add(time.Minute)
		out, err := l.Settle(t.Context(), made, effects.AsanaStory{Client: b.client, Task: b.task})
		stories := b.asana.Stories(b.task)
		if err != nil || out.How != effects.Found || out.Result != stories[len(stories)-1].GID {
			t.Fatalf("Settle of a made write = %+v, %v", out, err)
		}

		never := effects.Effect{Scope: "test-settle", Key: "never", Target: "asana:task:" + b.task}
		b.intend(t, l, never, "never posted")
		out, err = l.Settle(t.Context(), never, effects.AsanaStory{Client: b.client, Task: b.task})
		if err != nil || out.How != effects.Dropped || out.Result != "" {
			t.Fatalf("Settle of a write never made = %+v, %v", out, err)
		}
		again, err := l.Apply(t.Context(), never, b.story("never posted"))
		if err != nil || again.How != effects.Recorded || b.posted("never posted") != 0 {
			t.Fatalf("Apply after the drop = %+v, %v with %d stories", again, err, b.posted("never posted"))
		}
	})
}

func TestDigest(t *testing.T) {
	t.Parallel()
	if effects.Digest("Fix deployed\n\nto staging ") != effects.Digest("Fix deployed to staging") {
		t.Error("whitespace changed the digest")
	}
	if effects.Digest("Fix deployed") == effects.Digest("Fix deployed.") {
		t.Error("different texts have one digest")
	}
	if got := effects.Digest("x"); len(got) != 16 || strings.Trim(got, "0123456789abcdef") != "" {
		t.Errorf("digest %q is not 16 hex digits", got)
	}
}
