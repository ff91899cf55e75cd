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
	client *asana.Client
	task   string
	store  store.Store
	clock  *storetest.Clock
}

func newBed(t *testing.T, db string) *bed {
	t.Helper()
	fa, err := fakeasana.New(fakeasana.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fa)
	t.Cleanup(ts.Close)
	t.Cleanup(fa.Close)
	b := &bed{asana: fa, task: fa.Seed().Tasks[1].GID, clock: storetest.NewClock(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC))}
	b.client, err = asana.New(ts.URL+"/api/1.0", &http.Client{Transport: &asana.BearerTransport{Token: "pat-alice"}, Timeout: 10 * time.Second},
		asana.WithRetryPolicy(asana.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
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

// A story is posted once, carries its fingerprint as a marker line, and a
// second attempt sends nothing.
func TestStoryPostedOnce(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, b *bed) {
		l := effects.NewLedger(b.store, effects.Options{})
		e := effects.Effect{Scope: "test-story", Key: "k1", Target: "asana:task:" + b.task}
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
		want := "Jira issue DEMO-1 moved to Done.\n\n" + effects.Marker(e.Fingerprint())
		if diff := cmp.Diff(want, last.Text); diff != "" || last.GID != first.Result {
			t.Fatalf("posted story %s (-want +got):\n%s", last.GID, diff)
		}
		if n := b.posted("moved to Done"); n != 1 {
			t.Fatalf("%d stories, want 1", n)
		}
		if !effects.HasMarker(last.Text) || effects.HasMarker("Shipped in 2.0") {
			t.Fatal("HasMarker does not tell asanajira's stories apart")
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
