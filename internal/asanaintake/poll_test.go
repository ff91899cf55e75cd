package asanaintake_test

import (
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/asanaintake"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
)

// A comment and a completion made in Asana reach Jira through the events
// intake and the sync engine, on both databases.
func TestEventsApplyCommentAndCompletion(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			b := newBench(t, benchOptions{DB: db})
			ctx := t.Context()
			b.start(t)
			if got := b.changes(t, asanaintake.SourceResync); len(got) != 1 || got[0].Kind != syncengine.KindResync {
				t.Fatalf("the first poll recorded %+v; want one full comparison", got)
			}

			story := b.comment(t, "bob", "Seen in Asana first.")
			if _, err := b.AsanaAs(t, "alice").UpdateTask(ctx, b.Task(), map[string]any{"completed": true}); err != nil {
				t.Fatal(err)
			}
			res := b.poll(t)
			if res.Polled != 1 || res.Recorded < 2 {
				t.Fatalf("tick = %+v; want the project polled and the comment and completion recorded", res)
			}
			b.waitJiraComment(t, "Seen in Asana first.")
			synctest.Eventually(t, 30*time.Second, "DEMO-1 done", func() bool { return b.Issue(t).StatusCategory == "done" })

			var comment, completion bool
			for _, c := range b.changes(t, asanaintake.SourceEvents) {
				if c.Side != syncengine.SideAsana || c.ObservedAt.IsZero() {
					t.Errorf("change %+v: want the Asana side and when it happened", c)
				}
				switch c.Kind {
				case syncengine.KindComment:
					comment = comment || (c.Object == story && c.Actor == b.Users["bob"])
				case syncengine.KindCompletion:
					completion = completion || c.Actor == b.Users["alice"]
				}
			}
			if !comment || !completion {
				t.Fatalf("changes %+v: want bob's comment and alice's completion", b.changes(t, asanaintake.SourceEvents))
			}
			p := b.project(t)
			if p.LastEventAt.IsZero() || p.IdleLevel != 0 || p.TokenUser != b.Users["alice"] || p.LastError != "" {
				t.Fatalf("project after the events = %+v", p)
			}
			if n := metric(t, b.Reg, "asanajira_asana_poll_requests_total", "what", "events", "outcome", "ok"); n < 1 {
				t.Fatalf("poll requests metric = %v", n)
			}
			if n := metric(t, b.Reg, "asanajira_asana_poll_requests_total", "what", "events", "outcome", "expired"); n != 1 {
				t.Fatalf("expired sync tokens counted %v, want the first poll's 1", n)
			}
		})
	}
}

// Events listed twice (Asana is at most once, but the emulator's
// duplicate_rate lists each event twice) are recorded once: one Jira
// comment.
func TestEventsDuplicatesAreDropped(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{})
	b.start(t)
	b.faults(t, fakeasana.Faults{DuplicateRate: 1, DeliveryScope: "events", Seed: 7})
	story := b.comment(t, "bob", "Said twice by the events API.")
	res := b.poll(t)
	if res.Duplicates < 1 {
		t.Fatalf("tick = %+v; want the doubled event seen as a duplicate", res)
	}
	n := 0
	for _, c := range b.changes(t, asanaintake.SourceEvents) {
		if c.Object == story {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the comment was recorded %d times, want once", n)
	}
	b.waitJiraComment(t, "Said twice by the events API.")
	// The same events read again (a tick that died before storing its
	// token) record nothing new.
	if got := metric(t, b.Reg, "asanajira_asana_intake_events_total", "source", "events", "outcome", "duplicate"); got < 1 {
		t.Fatalf("duplicate events metric = %v", got)
	}
}

// An event Asana lost (drop_rate) is found when the sync token expires:
// the 412 stores the new token and compares every link of the project, so
// the comment reaches Jira; polling goes on with the new token.
func TestExpiredSyncTokenComparesEveryLink(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			b := newBench(t, benchOptions{DB: db})
			b.start(t)
			before := b.project(t).SyncToken

			b.faults(t, fakeasana.Faults{DropRate: 1, DeliveryScope: "events"})
			b.comment(t, "bob", "Asana lost this event.")
			if res := b.poll(t); res.Recorded != 0 {
				t.Fatalf("tick with the event dropped = %+v; want nothing recorded", res)
			}
			b.faults(t, fakeasana.Faults{ExpireSyncTokens: true})
			res := b.poll(t)
			if res.Resyncs != 1 {
				t.Fatalf("tick after the token expired = %+v; want one full comparison", res)
			}
			b.waitJiraComment(t, "Asana lost this event.")
			if after := b.project(t).SyncToken; after == before || after == "" {
				t.Fatalf("sync token %q after the 412, was %q; want the fresh one", after, before)
			}

			b.faults(t, fakeasana.Faults{Reset: true})
			b.comment(t, "bob", "After the resync.")
			if res := b.poll(t); res.Recorded < 1 || res.Resyncs != 0 {
				t.Fatalf("tick after the resync = %+v; want the comment recorded from the events", res)
			}
			b.waitJiraComment(t, "After the resync.")
		})
	}
}

// A comment edited in Asana names only its story; a story no mirror maps
// yet (its "added" event was lost) is placed by asking Asana, and the edit
// reaches Jira.
func TestStoryEventWithoutTaskIsPlaced(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{})
	b.start(t)
	b.faults(t, fakeasana.Faults{DropRate: 1, DeliveryScope: "events"})
	story := b.comment(t, "bob", "First words.")
	if res := b.poll(t); res.Recorded != 0 {
		t.Fatalf("tick with the event dropped = %+v", res)
	}
	b.faults(t, fakeasana.Faults{Reset: true})
	if _, err := b.AsanaAs(t, "bob").UpdateStory(t.Context(), story, "Better words.", ""); err != nil {
		t.Fatal(err)
	}
	res := b.poll(t)
	if res.Recorded != 1 {
		t.Fatalf("tick after the edit = %+v; want the edit recorded", res)
	}
	if cs := b.changes(t, asanaintake.SourceEvents); len(cs) != 1 || cs[0].Object != story || cs[0].Kind != syncengine.KindComment {
		t.Fatalf("changes = %+v; want the edit of the story", cs)
	}
	b.waitJiraComment(t, "Better words.")
}

// Asana's 429 holds that token back for its Retry-After: the project is
// polled with another owner's token meanwhile, and when every token waits,
// not at all until the first pause ends; polling then goes on.
func TestRateLimitIsHonoured(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{})
	ctx := t.Context()
	// bob owns a link in the project too: both tokens may poll it.
	issue, ok := b.Jira.Issue("DEMO-2")
	if !ok {
		t.Fatal("no DEMO-2")
	}
	if err := b.Store.CreateLink(ctx, &store.Link{WorkspaceGID: b.Seed.Workspace, TaskGID: b.Seed.Tasks[0].GID,
		JiraServerID: b.Server.ID, IssueID: issue.ID, IssueKey: "DEMO-2", CreatedBy: b.Users["bob"]}); err != nil {
		t.Fatal(err)
	}
	alice, bob := b.Users["alice"], b.Users["bob"]
	// The two polls straddle a minute: the new minute's counts are equal,
	// and the token that did not poll last time polls.
	b.Clock.Add(b.Clock.Now().Truncate(time.Minute).Add(time.Minute - 500*time.Millisecond).Sub(b.Clock.Now()))
	if res := b.tick(t); res.Mapped != 2 || res.Polled != 1 {
		t.Fatalf("first tick = %+v", res)
	}
	first := b.project(t).TokenUser
	b.Clock.Add(time.Second)
	b.tick(t)
	if second := b.project(t).TokenUser; second == first || (second != alice && second != bob) {
		t.Fatalf("polled by %s then %s; want the load spread over both owners", first, second)
	}

	b.faults(t, fakeasana.Faults{Throttle: true, RetryAfterSeconds: 7, PathPrefix: "/api/1.0/events"})
	b.Clock.Add(time.Second)
	res := b.tick(t)
	if res.RateLimited != 1 {
		t.Fatalf("throttled tick = %+v", res)
	}
	limited := b.project(t).TokenUser
	paused := pausedUntil(t, b, limited)
	if want := b.Clock.Now().Add(7 * time.Second); !paused.Equal(want.Truncate(time.Microsecond)) {
		t.Fatalf("%s paused until %v, want %v (Retry-After)", limited, paused, want)
	}
	if p := b.project(t); p.LastError == "" {
		t.Fatalf("project after a 429 = %+v; want the error shown", p)
	}
	// The other token polls at once.
	res = b.tick(t)
	if res.RateLimited != 1 || b.project(t).TokenUser == limited {
		t.Fatalf("tick during the first pause = %+v by %s; want the other token (also throttled)", res, b.project(t).TokenUser)
	}
	// Both wait now: no request until the first pause ends.
	b.faults(t, fakeasana.Faults{Reset: true})
	b.comment(t, "bob", "Written while throttled.")
	if res = b.tick(t); res.Requests != 0 || res.Polled != 0 {
		t.Fatalf("tick while every token waits = %+v; want no request", res)
	}
	if next := b.project(t).NextPollAt; !next.Equal(paused) {
		t.Fatalf("next poll at %v, want the end of the first pause %v", next, paused)
	}
	b.Clock.Add(7 * time.Second)
	res = b.tick(t)
	if res.Polled != 1 || res.Recorded < 1 || res.RateLimited != 0 {
		t.Fatalf("tick after Retry-After = %+v; want the comment recorded", res)
	}
	if p := b.project(t); p.LastError != "" {
		t.Fatalf("the error stays after a good poll: %+v", p)
	}
	b.waitJiraComment(t, "Written while throttled.")
	if n := metric(t, b.Reg, "asanajira_asana_poll_requests_total", "what", "events", "outcome", "rate_limited"); n != 2 {
		t.Fatalf("rate limited requests counted %v, want 2", n)
	}
}

func pausedUntil(t *testing.T, b *bench, user string) time.Time {
	t.Helper()
	toks, err := b.Store.ListAsanaPollTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.UserGID == user {
			return tk.PausedUntil
		}
	}
	t.Fatalf("no poll token of %s", user)
	return time.Time{}
}

// Ticks come every poll interval, each a little late, and a poll schedules
// the next from when its answer came: the next tick may come a little
// before the project's time. An active project is polled by every tick
// all the same, not by every other one.
func TestActiveProjectPolledEveryTick(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{})
	b.start(t)
	for i := range 3 {
		b.Clock.Add(900 * time.Millisecond)
		if res := b.tick(t); res.Polled != 1 {
			t.Fatalf("tick %d, 0.9 s after the last poll of an active project = %+v; want it polled", i, res)
		}
	}
}

// A project whose linked tasks are quiet is polled ever more rarely, up
// to the cap; App Components traffic on one of its tasks wakes it at once,
// and an event keeps it active.
func TestIdleProjectsBackOffAndWake(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{Config: func(c *asanaintake.Config) {
		c.PollInterval, c.MaxIdleInterval = time.Second, 8*time.Second
	}})
	ctx := t.Context()
	b.start(t)
	// Active for a minute after the first read, polled every second.
	if p := b.project(t); p.NextPollAt.Sub(p.LastPollAt) != time.Second || p.IdleLevel != 0 {
		t.Fatalf("after the first poll: next in %v, level %d", p.NextPollAt.Sub(p.LastPollAt), p.IdleLevel)
	}
	b.Clock.Add(61 * time.Second)
	var intervals []time.Duration
	for range 5 {
		if res := b.tick(t); res.Polled != 1 {
			t.Fatalf("due tick = %+v", res)
		}
		p := b.project(t)
		ivl := p.NextPollAt.Sub(p.LastPollAt)
		intervals = append(intervals, ivl)
		// Not polled by a tick more than half a poll interval before its
		// time: no request.
		early := ivl - time.Second/2 - time.Millisecond
		b.Clock.Add(early)
		if res := b.tick(t); res.Polled != 0 || res.Requests != 0 {
			t.Fatalf("tick before the project is due = %+v", res)
		}
		b.Clock.Add(ivl - early)
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i := range want {
		if intervals[i] != want[i] {
			t.Fatalf("idle intervals %v, want %v", intervals, want)
		}
	}
	st, err := b.Intake.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Idle != 1 || st.Active != 0 || st.Budget.DemandPerMinute != 7.5 || st.Budget.FixedDemandPerMinute != 60 {
		t.Fatalf("status = %+v; want one idle project asking 7.5 requests a minute instead of 60", st)
	}

	// Someone opens the task's widget: the project is due at once and
	// active again.
	if res := b.tick(t); res.Polled != 1 {
		t.Fatalf("due tick = %+v", res)
	}
	b.Clock.Add(time.Second)
	b.Intake.WakeTask(ctx, b.Task())
	if p := b.project(t); p.IdleLevel != 0 || p.NextPollAt.After(b.Clock.Now()) {
		t.Fatalf("woken project = %+v", p)
	}
	if res := b.tick(t); res.Polled != 1 {
		t.Fatalf("tick after the wake = %+v", res)
	}
	if p := b.project(t); p.NextPollAt.Sub(p.LastPollAt) != time.Second {
		t.Fatalf("after the wake the next poll is in %v, want 1s", p.NextPollAt.Sub(p.LastPollAt))
	}
	if n := metric(t, b.Reg, "asanajira_asana_poll_wakes_total"); n != 1 {
		t.Fatalf("wakes counted %v", n)
	}

	// Idle again, then a comment: the poll that sees it makes it active.
	b.Clock.Add(2 * time.Minute)
	b.tick(t)
	if p := b.project(t); p.IdleLevel == 0 {
		t.Fatalf("project still active after two quiet minutes: %+v", p)
	}
	b.comment(t, "bob", "Wakes the project.")
	b.Clock.Add(time.Minute)
	if res := b.tick(t); res.Recorded < 1 {
		t.Fatalf("tick = %+v", res)
	}
	if p := b.project(t); p.IdleLevel != 0 || p.NextPollAt.Sub(p.LastPollAt) != time.Second || p.LastEventAt.IsZero() {
		t.Fatalf("project after an event = %+v", p)
	}
}

// The budget caps the requests of a token per minute: projects beyond it
// wait for the next minute, and the Sync page sees the numbers.
func TestBudgetCapsRequests(t *testing.T) {
	t.Parallel()
	b := newBench(t, benchOptions{Config: func(c *asanaintake.Config) { c.TokenBudget = 2 }})
	ctx := t.Context()
	// The first tick maps the task (1 request) and polls (1): the token's
	// minute is spent.
	b.Clock.Add(b.Clock.Now().Truncate(time.Minute).Add(time.Minute).Sub(b.Clock.Now()))
	b.start(t)
	budget, err := b.Intake.Budget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if budget.UsedThisMinute != 2 || budget.LimitPerMinute != 2 || budget.Tokens != 1 {
		t.Fatalf("budget = %+v; want 2 of 2 used by one token", budget)
	}
	b.Clock.Add(2 * time.Second)
	if res := b.tick(t); res.Polled != 0 || res.Deferred != 1 || res.Requests != 0 {
		t.Fatalf("tick with the budget spent = %+v; want the project deferred", res)
	}
	b.Clock.Add(time.Minute)
	if res := b.tick(t); res.Polled != 1 {
		t.Fatalf("tick in the next minute = %+v", res)
	}
	if n := metric(t, b.Reg, "asanajira_asana_poll_budget", "what", "limit"); n != 2 {
		t.Fatalf("budget limit gauge = %v", n)
	}
}
