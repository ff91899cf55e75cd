package asanaintake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// Bounds of one tick.
const (
	// maxPages is how many pages of one project's events one tick reads
	// (100 events a page); a project with more is polled again next tick.
	maxPages = 10
	// mapPerTick is how many tasks one tick reads the projects of.
	mapPerTick = 20
	// refreshEvery is how often the polled projects are matched against
	// the synced links when no task was mapped (new links, sync switched
	// off, links gone).
	refreshEvery = 30 * time.Second
	// deniedFor is how long a user who cannot read a project is not asked
	// to poll it again.
	deniedFor = 10 * time.Minute
	// disconnectedFor is how long a user whose token cannot be used is
	// passed over.
	disconnectedFor = time.Minute
)

// TickResult says what one tick did.
type TickResult struct {
	// Mapped is how many tasks had their projects read.
	Mapped int
	// Polled is how many projects were polled; Deferred how many due
	// projects wait for budget or a token.
	Polled, Deferred int
	// Requests is how many requests were made to Asana.
	Requests int
	// Recorded is how many changes were recorded; Duplicates how many
	// were not: recorded before, or of a link whose connection does not
	// sync.
	Recorded, Duplicates int
	// Resyncs is how many full comparisons an expired sync token caused.
	Resyncs int
	// RateLimited is how many polls Asana refused with 429.
	RateLimited int
}

func (r *TickResult) add(o TickResult) {
	r.Polled += o.Polled
	r.Requests += o.Requests
	r.Recorded += o.Recorded
	r.Duplicates += o.Duplicates
	r.Resyncs += o.Resyncs
	r.RateLimited += o.RateLimited
}

// Tick does one round of the events intake: it learns the projects of new
// synced tasks, then polls the projects that are due, as far as the request
// budget allows, each with a connected user's token. The poll_asana job
// calls it every poll interval.
func (in *Intake) Tick(ctx context.Context) (TickResult, error) {
	now := in.cfg.Now()
	var res TickResult
	b, err := in.loadBudget(ctx, now)
	if err != nil {
		return res, err
	}
	mapped, requests, err := in.mapTasks(ctx, b, now)
	res.Mapped, res.Requests = mapped, requests
	if err != nil {
		return res, err
	}
	if err := in.refresh(ctx, mapped > 0, now); err != nil {
		return res, err
	}
	hooked, err := in.activeHooks(ctx)
	if err != nil {
		return res, err
	}
	// Ticks come every PollInterval, each a little late (the queue's
	// pickup, the work before the poll), and a poll schedules the next
	// from when its answer came: a project due at "last poll +
	// PollInterval" falls just after the next tick about every other
	// time, and waited for the one after, polled at twice its interval.
	// So a tick takes what falls due before the middle of the next
	// interval: each project is polled at the tick nearest its time.
	due, err := in.st.DueAsanaProjects(ctx, now.Add(in.cfg.PollInterval/2), in.cfg.MaxPollsPerTick)
	if err != nil {
		return res, wrap("due projects", err)
	}

	type assignment struct {
		p    store.AsanaProjectSync
		user string
	}
	var work []assignment
	for i, p := range due {
		if b.spent() {
			res.Deferred += len(due) - i
			break
		}
		user, err := in.pickUser(ctx, b, p, now)
		if err != nil {
			return res, err
		}
		if user == "" {
			res.Deferred++
			continue
		}
		work = append(work, assignment{p, user})
	}

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	next := make(chan assignment)
	for range min(in.cfg.Workers, len(work)) {
		wg.Go(func() {
			for a := range next {
				r, err := in.pollProject(ctx, b, a.p, a.user, hooked[a.p.ProjectGID])
				mu.Lock()
				res.add(r)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, a := range work {
		next <- a
	}
	close(next)
	wg.Wait()
	if err := b.flush(ctx, in.st); err != nil {
		errs = append(errs, err)
	}
	in.observe(ctx, b, len(work) > 0, now)
	return res, errors.Join(errs...)
}

// refresh matches the polled projects with the synced links: at once when
// tasks were mapped, else every refreshEvery.
func (in *Intake) refresh(ctx context.Context, force bool, now time.Time) error {
	in.mu.Lock()
	stale := now.Sub(in.lastRefresh) >= refreshEvery || now.Before(in.lastRefresh)
	in.mu.Unlock()
	if !force && !stale {
		return nil
	}
	added, removed, err := in.st.RefreshAsanaProjects(ctx, now)
	if err != nil {
		return wrap("refresh projects", err)
	}
	in.mu.Lock()
	in.lastRefresh = now
	in.mu.Unlock()
	if added+removed > 0 {
		in.log.LogAttrs(ctx, slog.LevelInfo, "Asana projects to watch changed", slog.Int("added", added), slog.Int("removed", removed))
	}
	return nil
}

// activeHooks lists the projects whose webhook is active (webhooks mode):
// their events stream is reconciliation, polled every ReconcileEvery.
func (in *Intake) activeHooks(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	if in.cfg.Mode != ModeWebhooks {
		return out, nil
	}
	hooks, err := in.st.ListAsanaWebhooks(ctx)
	if err != nil {
		return nil, wrap("webhooks", err)
	}
	for _, h := range hooks {
		if h.State == store.AsanaWebhookActive {
			out[h.ProjectGID] = true
		}
	}
	return out, nil
}

// mapTasks reads the projects of synced tasks never mapped (or mapped long
// ago), as the owner of one of their links.
func (in *Intake) mapTasks(ctx context.Context, b *budget, now time.Time) (mapped, requests int, err error) {
	tasks, err := in.st.AsanaTasksToMap(ctx, now.Add(-in.cfg.RemapAfter), mapPerTick)
	if err != nil {
		return 0, 0, wrap("tasks to map", err)
	}
	for _, t := range tasks {
		if !b.take(t.Owner, now) {
			continue
		}
		requests++
		projects, err := in.taskProjects(ctx, t.Owner, t.TaskGID)
		switch {
		case errors.Is(err, asana.ErrRateLimited):
			in.pauseFor(ctx, b, t.Owner, err, now)
			continue
		case errors.Is(err, asana.ErrNotFound), errors.Is(err, asana.ErrForbidden):
			// Deleted, or its owner lost access: nothing to watch. It is
			// checked again after RemapAfter.
			projects = nil
		case err != nil:
			in.log.LogAttrs(ctx, slog.LevelWarn, "could not read the projects of a synced task", slog.String("task", t.TaskGID),
				slog.String("user", t.Owner), slog.Any("error", err))
			continue
		}
		if err := in.st.PutAsanaTaskProjects(ctx, t.TaskGID, t.WorkspaceGID, projects, now); err != nil {
			return mapped, requests, wrap("map a task", err)
		}
		mapped++
	}
	return mapped, requests, nil
}

func (in *Intake) taskProjects(ctx context.Context, user, task string) ([]string, error) {
	c, err := in.cfg.Clients.Asana(ctx, user)
	if err != nil {
		return nil, err
	}
	req, err := c.NewRequest(ctx, http.MethodGet, "tasks/"+url.PathEscape(task)+"?opt_fields=projects", nil)
	if err != nil {
		return nil, err
	}
	var t struct {
		Projects []asana.Ref `json:"projects"`
	}
	_, err = c.Do(req, &t)
	in.countRequest("task", err)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(t.Projects))
	for _, p := range t.Projects {
		out = append(out, p.GID)
	}
	return out, nil
}

// pickUser chooses the token a due project is polled with: among the users
// who may poll it, one not held back, not known to be refused, with budget
// left this minute; the least used first. It returns "" when none may poll
// now, and then moves the project's schedule when waiting is all it can do.
func (in *Intake) pickUser(ctx context.Context, b *budget, p store.AsanaProjectSync, now time.Time) (string, error) {
	users, err := in.st.AsanaProjectUsers(ctx, p.ProjectGID, p.WorkspaceGID)
	if err != nil {
		return "", wrap("project users", err)
	}
	var usable []string
	for _, u := range users {
		if !in.isDenied(p.ProjectGID, u, now) {
			usable = append(usable, u)
		}
	}
	if len(usable) == 0 {
		p.LastError, p.LastErrorAt = "no connected Asana user can read this project", now
		p.NextPollAt = now.Add(in.cfg.MaxIdleInterval)
		return "", wrap("save project", ignoreGone(in.st.SaveAsanaProject(ctx, p)))
	}
	user, pausedUntil := b.pick(usable, p.TokenUser, now)
	if user == "" && !pausedUntil.IsZero() {
		// Every usable token is held back by a Retry-After: poll when the
		// first pause ends.
		p.NextPollAt = pausedUntil
		return "", wrap("save project", ignoreGone(in.st.SaveAsanaProject(ctx, p)))
	}
	return user, nil
}

// pollProject reads a project's events since its sync token and records
// what they tell, page by page; each page's changes and the next token are
// committed together.
func (in *Intake) pollProject(ctx context.Context, b *budget, p store.AsanaProjectSync, user string, hooked bool) (TickResult, error) {
	var res TickResult
	res.Polled = 1
	now := in.cfg.Now()
	p.TokenUser = user
	c, err := in.cfg.Clients.Asana(ctx, user)
	if err != nil {
		// Not connected any more, or Asana refused the token: another user
		// polls it next tick.
		in.deny(p.ProjectGID, user, now.Add(disconnectedFor))
		b.refund(user)
		return res, nil
	}
	for page := 1; ; page++ {
		ev, err := c.Events(ctx, p.ProjectGID, p.SyncToken)
		res.Requests++
		p.Requests++
		in.countRequest("events", err)
		now = in.cfg.Now()
		p.LastPollAt = now
		switch {
		case errors.Is(err, asana.ErrSyncTokenInvalid) && ev != nil && ev.Sync != "":
			n, err := in.resync(ctx, p, ev.Sync, hooked, now)
			res.Resyncs += n
			return res, err
		case errors.Is(err, asana.ErrRateLimited):
			res.RateLimited++
			in.pauseFor(ctx, b, user, err, now)
			// Due still: the next tick polls it with another token, or
			// moves it to the end of the pause when there is none.
			p.NextPollAt = now
			return res, in.failed(ctx, p, err, now)
		case errors.Is(err, asana.ErrForbidden), errors.Is(err, asana.ErrNotFound):
			in.deny(p.ProjectGID, user, now.Add(deniedFor))
			p.NextPollAt = now
			return res, in.failed(ctx, p, err, now)
		case err != nil:
			in.schedule(&p, false, hooked, now)
			return res, in.failed(ctx, p, err, now)
		}
		tasks := storyTasks{}
		stories, err := in.unplacedStories(ctx, ev.Events)
		if err != nil {
			return res, err
		}
		for _, s := range stories {
			if !b.take(user, now) {
				break
			}
			res.Requests++
			task, err := storyTask(ctx, c, s)
			in.countRequest("story", err)
			if err != nil {
				// The page is read again next time; nothing is skipped.
				in.schedule(&p, true, hooked, now)
				return res, in.failed(ctx, p, err, now)
			}
			tasks[s] = task
		}
		more := ev.HasMore && page < maxPages && b.take(user, now)
		var rec recorded
		err = in.st.InTx(ctx, func(tx store.Tx) error {
			var err error
			if rec, err = in.recordEvents(ctx, tx, SourceEvents, ev.Events, tasks); err != nil {
				return err
			}
			p.SyncToken = ev.Sync
			if rec.relevant {
				p.LastEventAt = rec.last
				if p.LastEventAt.IsZero() {
					p.LastEventAt = now
				}
				p.ActiveUntil = now.Add(activeWindow)
			}
			in.schedule(&p, rec.relevant, hooked, now)
			if ev.HasMore {
				p.NextPollAt = now // the rest next tick, unless read now
			}
			p.LastError, p.LastErrorAt = "", time.Time{}
			return ignoreGone(tx.SaveAsanaProject(ctx, p))
		})
		if err != nil {
			return res, wrap("record events of project "+p.ProjectGID, err)
		}
		res.Recorded += rec.recorded
		res.Duplicates += rec.duplicates
		if !more {
			return res, nil
		}
	}
}

// resync stores the fresh sync token of a 412 and records a full comparison
// for every link of the project, in one transaction: whatever happened
// while the stream was unknown (before the first poll, or after the token
// expired) is found by comparing.
func (in *Intake) resync(ctx context.Context, p store.AsanaProjectSync, token string, hooked bool, now time.Time) (int, error) {
	first := p.SyncToken == ""
	n := 0
	err := in.st.InTx(ctx, func(tx store.Tx) error {
		links, err := tx.ListAsanaProjectLinks(ctx, p.ProjectGID)
		if err != nil {
			return err
		}
		detail := "the Asana events sync token expired"
		if first {
			detail = "the first read of the Asana project's events"
		}
		key := fmt.Sprintf("events-412:%s:%d", p.ProjectGID, now.UnixNano())
		for _, l := range links {
			ok, err := in.cfg.Recorder.RecordTx(ctx, tx, syncengine.Change{LinkID: l.ID, Side: syncengine.SideAsana,
				Source: SourceResync, DedupKey: "resync:" + key, Kind: syncengine.KindResync, Detail: detail, ObservedAt: now})
			if err != nil {
				return err
			}
			if ok {
				n++
			}
		}
		p.SyncToken = token
		p.ActiveUntil = now.Add(activeWindow)
		in.schedule(&p, true, hooked, now)
		p.LastError, p.LastErrorAt = "", time.Time{}
		return ignoreGone(tx.SaveAsanaProject(ctx, p))
	})
	if err != nil {
		return 0, wrap("resync project "+p.ProjectGID, err)
	}
	if !first {
		in.log.LogAttrs(ctx, slog.LevelInfo, "Asana events sync token expired: comparing every link of the project",
			slog.String("project", p.ProjectGID), slog.Int("links", n))
	}
	return n, nil
}

// failed saves a project's schedule with the error of its poll. Errors are
// shown on the Sync page, not returned: one project must not fail a tick.
func (in *Intake) failed(ctx context.Context, p store.AsanaProjectSync, cause error, now time.Time) error {
	p.LastError, p.LastErrorAt = cause.Error(), now
	in.log.LogAttrs(ctx, slog.LevelWarn, "could not poll an Asana project's events", slog.String("project", p.ProjectGID),
		slog.String("user", p.TokenUser), slog.Any("error", cause))
	return wrap("save project", ignoreGone(in.st.SaveAsanaProject(ctx, p)))
}

// schedule sets when a project is polled next: a project with a live
// webhook every ReconcileEvery; an active one (a linked task changed or was
// looked at within activeWindow) every PollInterval; an idle one ever more
// rarely, the interval doubling per empty poll up to MaxIdleInterval.
func (in *Intake) schedule(p *store.AsanaProjectSync, active, hooked bool, now time.Time) {
	switch {
	case hooked:
		p.IdleLevel, p.NextPollAt = 0, now.Add(in.cfg.ReconcileEvery)
	case active || now.Before(p.ActiveUntil):
		p.IdleLevel, p.NextPollAt = 0, now.Add(in.cfg.PollInterval)
	default:
		if in.interval(p.IdleLevel) < in.cfg.MaxIdleInterval {
			p.IdleLevel++
		}
		p.NextPollAt = now.Add(in.interval(p.IdleLevel))
	}
}

// interval is the poll interval at an idle level.
func (in *Intake) interval(level int) time.Duration {
	d := in.cfg.PollInterval
	for range min(level, 30) {
		d *= 2
		if d >= in.cfg.MaxIdleInterval {
			return in.cfg.MaxIdleInterval
		}
	}
	return d
}

// pauseFor holds a token back for a 429's Retry-After (a minute when it
// names none).
func (in *Intake) pauseFor(ctx context.Context, b *budget, user string, err error, now time.Time) {
	wait := time.Minute
	var ae *asana.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		wait = ae.RetryAfter
	}
	until := now.Add(wait)
	b.pause(user, until)
	if perr := in.st.PauseAsanaPollToken(ctx, user, until, err.Error()); perr != nil {
		in.log.LogAttrs(ctx, slog.LevelWarn, "could not record an Asana rate limit", slog.Any("error", perr))
	}
}

func (in *Intake) countRequest(what string, err error) {
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, asana.ErrSyncTokenInvalid):
		outcome = "expired"
	case errors.Is(err, asana.ErrRateLimited):
		outcome = "rate_limited"
	case errors.Is(err, asana.ErrForbidden), errors.Is(err, asana.ErrNotFound):
		outcome = "denied"
	default:
		outcome = "error"
	}
	in.metrics.requests.WithLabelValues(what, outcome).Inc()
}

// observeEvery is how often a tick that polled nothing publishes the
// gauges.
const observeEvery = 30 * time.Second

// observe publishes the budget and the projects' states as gauges.
func (in *Intake) observe(ctx context.Context, b *budget, polled bool, now time.Time) {
	in.mu.Lock()
	if !polled && now.Sub(in.lastObserve) < observeEvery && !now.Before(in.lastObserve) {
		in.mu.Unlock()
		return
	}
	in.lastObserve = now
	in.mu.Unlock()
	limit, used := b.totals(now)
	in.metrics.budget.WithLabelValues("limit").Set(float64(limit))
	in.metrics.budget.WithLabelValues("used").Set(float64(used))
	ps, err := in.st.ListAsanaProjects(ctx)
	if err != nil {
		return // the gauges wait for the next tick
	}
	active := 0
	for _, p := range ps {
		if p.IdleLevel == 0 {
			active++
		}
	}
	in.metrics.projects.WithLabelValues("active").Set(float64(active))
	in.metrics.projects.WithLabelValues("idle").Set(float64(len(ps) - active))
}

func ignoreGone(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil // the project is no longer watched
	}
	return err
}

// budget is the request budget of the current minute window: per token and
// over all tokens. Requests are counted here as they are made and written
// to the store (added to what other ticks counted) by flush.
type budget struct {
	mu       sync.Mutex
	window   time.Time
	perToken int
	global   int // 0: the sum of the tokens'
	users    map[string]*tokenUse
}

type tokenUse struct {
	used     int // in the window, as stored plus this tick's
	charged  int // this tick's, not yet flushed
	paused   time.Time
	lastUsed time.Time
}

func (in *Intake) loadBudget(ctx context.Context, now time.Time) (*budget, error) {
	toks, err := in.st.ListAsanaPollTokens(ctx)
	if err != nil {
		return nil, wrap("poll tokens", err)
	}
	b := &budget{window: now.Truncate(time.Minute), perToken: in.cfg.TokenBudget, global: in.cfg.GlobalBudget, users: map[string]*tokenUse{}}
	for _, t := range toks {
		u := &tokenUse{paused: t.PausedUntil, lastUsed: t.LastUsedAt}
		if t.WindowStart.Equal(b.window) {
			u.used = t.WindowRequests
		}
		b.users[t.UserGID] = u
	}
	return b, nil
}

func (b *budget) use(user string) *tokenUse {
	u := b.users[user]
	if u == nil {
		u = &tokenUse{}
		b.users[user] = u
	}
	return u
}

// usedLocked is what all tokens used in the window.
func (b *budget) usedLocked() int {
	n := 0
	for _, u := range b.users {
		n += u.used
	}
	return n
}

func (b *budget) globalOKLocked() bool {
	return b.global <= 0 || b.usedLocked() < b.global
}

// spent says the global budget of the minute is used up.
func (b *budget) spent() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.globalOKLocked()
}

// take counts one request of user if its token and the global budget
// allow it now.
func (b *budget) take(user string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.use(user)
	if now.Before(u.paused) || u.used >= b.perToken || !b.globalOKLocked() {
		return false
	}
	u.used++
	u.charged++
	u.lastUsed = now
	return true
}

// charge counts n requests of user made whatever the budget said (the
// webhook work, which is rare and must not starve).
func (b *budget) charge(user string, n int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.use(user)
	u.used += n
	u.charged += n
	u.lastUsed = now
}

// refund gives back a request counted but not made.
func (b *budget) refund(user string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.use(user)
	if u.charged > 0 {
		u.used--
		u.charged--
	}
}

// pick chooses among users the token with the fewest requests this window,
// then one other than last (the token that did this work last time), then
// the least recently used, and counts one request. It returns "" and the
// earliest end of a pause when every token is held back.
func (b *budget) pick(users []string, last string, now time.Time) (string, time.Time) {
	b.mu.Lock()
	var (
		best        string
		bestUse     *tokenUse
		pausedUntil time.Time
	)
	sorted := append([]string(nil), users...)
	sort.Strings(sorted)
	for _, name := range sorted {
		u := b.use(name)
		if now.Before(u.paused) {
			if pausedUntil.IsZero() || u.paused.Before(pausedUntil) {
				pausedUntil = u.paused
			}
			continue
		}
		if u.used >= b.perToken {
			continue
		}
		if bestUse == nil || better(name, u, best, bestUse, last) {
			best, bestUse = name, u
		}
	}
	b.mu.Unlock()
	if best == "" {
		return "", pausedUntil
	}
	if !b.take(best, now) {
		return "", time.Time{} // the global budget is spent
	}
	return best, time.Time{}
}

// better orders two candidate tokens for pick.
func better(name string, u *tokenUse, best string, bestUse *tokenUse, last string) bool {
	switch {
	case u.used != bestUse.used:
		return u.used < bestUse.used
	case (name == last) != (best == last):
		return best == last
	}
	return u.lastUsed.Before(bestUse.lastUsed)
}

func (b *budget) pause(user string, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u := b.use(user); until.After(u.paused) {
		u.paused = until
	}
}

// recentToken is how long after its last use a token counts towards the
// limit: the tokens of users who left do not inflate it.
const recentToken = time.Hour

// totals are the minute's limit, over the tokens used in the last hour, and
// the minute's use.
func (b *budget) totals(now time.Time) (limit, used int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.users {
		if now.Sub(u.lastUsed) < recentToken || u.used > 0 {
			limit += b.perToken
		}
	}
	if b.global > 0 && (limit == 0 || b.global < limit) {
		limit = b.global
	}
	return limit, b.usedLocked()
}

// flush adds this tick's requests to the stored counts.
func (b *budget) flush(ctx context.Context, st store.Store) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for name, u := range b.users {
		if u.charged == 0 {
			continue
		}
		if err := st.ChargeAsanaPollToken(ctx, name, u.charged, b.window, u.lastUsed); err != nil {
			errs = append(errs, wrap("count requests", err))
			continue
		}
		u.charged = 0
	}
	return errors.Join(errs...)
}
