package syncengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// How the engine knows asanajira's own stories and comments (see the
// package doc, Echoes): the comment map, the effects ledger, the Jira
// property, and the pending-write guard. This file reads the ledger for a
// run and answers from it.

// asanaTarget and jiraTarget name the link's task and issue in the effects
// ledger. The task's is shared with every other writer to it (the bridge's
// notes), so the results of all writes to the task are known.
func (r *run) asanaTarget() string { return "asana:task:" + r.link.TaskGID }
func (r *run) jiraTarget() string  { return "jira:" + r.link.JiraServerID + ":issue:" + r.link.IssueID }

func (r *run) targetSide(target string) string {
	if target == r.jiraTarget() {
		return SideJira
	}
	return SideAsana
}

// ledgerWrites lists the ledger's writes to the link's task and issue.
func (r *run) ledgerWrites(ctx context.Context) ([]store.SideEffect, error) {
	es, err := r.e.st.ListSideEffectsByTarget(ctx, r.asanaTarget(), r.jiraTarget())
	return es, wrap("read the ledger of writes to the task and the issue", err)
}

// readLedger reads the ledger's writes to the task and the issue: the
// results of done ones are asanajira's items, pending ones may be made
// already without being recorded.
func (r *run) readLedger(ctx context.Context) error {
	es, err := r.ledgerWrites(ctx)
	if err != nil {
		return err
	}
	r.results = map[string]bool{}
	for _, e := range es {
		switch {
		case e.State == store.SideEffectDone && e.Result != "":
			r.results[r.targetSide(e.Target)+"/"+e.Result] = true
		case e.State == store.SideEffectPending && e.Scope != scopeField:
			// A field write is no story or comment: it never holds one
			// back.
			r.intents = append(r.intents, e)
		}
	}
	return nil
}

// notePending notes the writes to the task and the issue pending before
// the run reads either side: only those may be settled as orphans. A write
// whose intent came later was begun by another run (one that took the link
// over after this run's lease lapsed, on another replica or in this
// process) for an original that may be newer than what this run read; taken
// for gone, its write would be dropped, and the original never mirrored.
func (r *run) notePending(ctx context.Context) error {
	es, err := r.ledgerWrites(ctx)
	if err != nil {
		return err
	}
	r.before = map[string]bool{}
	for _, e := range es {
		if e.State == store.SideEffectPending {
			r.before[e.Scope+"/"+e.Key] = true
		}
	}
	return nil
}

// recorded reports whether an item is the recorded result of a write to
// its side's task or issue.
func (r *run) recorded(side, id string) bool { return r.results[side+"/"+id] }

// resolved notes that the run recorded a pending write (made, found or
// settled): its result is asanajira's, and it is no longer pending.
func (r *run) resolved(scope, key, side, result string) {
	if result != "" {
		r.results[side+"/"+result] = true
	}
	for i, p := range r.intents {
		if p.Scope == scope && p.Key == key {
			r.intents = append(r.intents[:i], r.intents[i+1:]...)
			return
		}
	}
}

// mayBePending returns the pending write that an item on side, not known
// otherwise, may be: one to that side's task or issue, by the item's
// author (authorGID: the Asana user, or the one connected as the Jira
// author), made no earlier than the intent less effects.ClockSkew, and
// saying what the intent says. Intents recorded before digests were kept
// wrote the marker line and are never matched.
func (r *run) mayBePending(side, text string, at time.Time, authorGID string) *store.SideEffect {
	target, says := r.asanaTarget(), effects.Digest(text)
	if side == SideJira {
		target = r.jiraTarget()
	}
	for i := range r.intents {
		p := &r.intents[i]
		if p.Target != target || p.Digest == "" || p.Digest != says {
			continue
		}
		if p.Author != "" && p.Author != authorGID {
			continue
		}
		if !at.IsZero() && at.Before(p.CreatedAt.Add(-effects.ClockSkew)) {
			continue
		}
		return p
	}
	return nil
}

// deferItem leaves an item that may be the pending write p for a later
// run: the run asks to run again, sooner for a young intent (its attempt is
// likely still writing), at most a minute later.
func (r *run) deferItem(side, id string, p *store.SideEffect) {
	r.deferred[side+"/"+id] = true
	after := min(max(r.e.now().Sub(p.CreatedAt)/2, minDefer), maxDefer)
	if r.after == 0 || after < r.after {
		r.after = after
	}
}

// The bounds of a deferred run's delay.
const (
	minDefer = 2 * time.Second
	maxDefer = time.Minute
)

// settleOrphans settles the engine's own pending mirror writes of the link
// whose original is gone (deleted, restricted or emptied since an attempt
// died): nothing will retry them, and the mirror an attempt may have made
// would otherwise look like a person's comment. alive holds the
// originals that may still be mirrored (side/id). Only writes pending
// before the run read the sides are settled (see notePending); a later one
// waits for the next run.
func (r *run) settleOrphans(ctx context.Context, alive map[string]bool) error {
	for _, p := range append([]store.SideEffect(nil), r.intents...) {
		src, ok := r.mirrorSource(p)
		if !ok || alive[src] || !r.before[p.Scope+"/"+p.Key] {
			continue
		}
		e := effects.Effect{Scope: p.Scope, Key: p.Key, Target: p.Target, Author: p.Author}
		var f effects.Finder
		switch p.Scope {
		case scopeStory:
			ac := r.ac
			if p.Author != "" && p.Author != r.link.CreatedBy {
				c, err := r.e.clients.Asana(ctx, p.Author)
				if err != nil {
					continue // only its writer can tell its stories; the guard holds them back
				}
				ac = c
			}
			f = effects.AsanaStory{Client: ac, Task: r.link.TaskGID}
		default:
			f = effects.JiraComment{Client: r.jc, Issue: r.link.IssueID}
		}
		out, err := r.e.ledger.Settle(ctx, e, f)
		if errors.Is(err, effects.ErrBusy) {
			continue
		}
		if err != nil {
			return r.writeError(ctx, err, r.link.CreatedBy, "settle the mirror of "+src+", which is gone")
		}
		r.resolved(p.Scope, p.Key, r.targetSide(p.Target), out.Result)
	}
	return nil
}

// mirrorSource is the original (side/id) of a pending mirror write of this
// link's.
func (r *run) mirrorSource(p store.SideEffect) (string, bool) {
	rest, ok := strings.CutPrefix(p.Key, fmt.Sprintf("%d:", r.link.ID))
	if !ok {
		return "", false
	}
	switch p.Scope {
	case scopeStory:
		id, ok := strings.CutPrefix(rest, "jira-comment:")
		id, _, _ = strings.Cut(id, ":") // a re-mirror's key goes on with ":after:<story>"
		return SideJira + "/" + id, ok
	case scopeJiraComment:
		gid, ok := strings.CutPrefix(rest, "story:")
		return SideAsana + "/" + gid, ok
	}
	return "", false
}

// rememberOwn maps the items known as asanajira's through the ledger alone
// (a status note, a copy report, a mirror whose original is gone), so they
// stay known after the ledger forgets them.
func (r *run) rememberOwn(ctx context.Context, own []store.SyncComment) error {
	mapped := map[string]bool{}
	for _, m := range r.maps {
		mapped[SideJira+"/"+m.JiraCommentID] = true
		mapped[SideAsana+"/"+m.AsanaStoryGID] = true
	}
	for _, m := range own {
		if mapped[SideJira+"/"+m.JiraCommentID] || mapped[SideAsana+"/"+m.AsanaStoryGID] {
			continue
		}
		m.LinkID, m.Origin, m.State = r.link.ID, store.OriginOwn, store.SyncCommentIgnored
		if err := r.e.st.InsertSyncComment(ctx, &m); err != nil && !errors.Is(err, store.ErrConflict) {
			return wrap("map asanajira's own comment", err)
		}
		r.maps = append(r.maps, m)
	}
	return nil
}

// ownJiraComment reports whether asanajira wrote a Jira comment: the
// ledger recorded it, or it carries the "asanajira" property (or the
// former marker line).
func (r *run) ownJiraComment(c *jira.Comment) bool {
	return r.recorded(SideJira, c.ID) || effects.OwnJiraComment(c)
}

// crashing marks the crash points around a write (see crashAt): before it is
// sent, with its intent recorded, and after it was made, before the ledger
// records it.
type crashing struct {
	effects.Write
	side string // "jira" or "asana"
}

func (c crashing) Make(ctx context.Context, fp string) (string, error) {
	crashAt("before-" + c.side + "-write")
	res, err := c.Write.Make(ctx, fp)
	if err == nil {
		crashAt("after-" + c.side + "-write")
	}
	return res, err
}
