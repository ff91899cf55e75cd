package syncengine

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Scopes of the engine's comment writes in the effects ledger.
const (
	scopeStory       = "sync-story"        // a Jira comment mirrored as a story
	scopeJiraComment = "sync-jira-comment" // a story mirrored as a Jira comment
)

// newItem is a comment on one side not mapped yet, to be mirrored.
type newItem struct {
	at    time.Time
	jira  *jira.Comment
	story *asana.Story
	// again is the withdrawn map of a Jira comment back in view (nil for
	// one never mirrored).
	again *store.SyncComment
}

// syncComments mirrors new comments both ways, then follows edits and
// deletions of mapped ones.
func (r *run) syncComments(ctx context.Context) error {
	if err := r.readLedger(ctx); err != nil {
		return err
	}
	byJira, byStory := map[string]*store.SyncComment{}, map[string]*store.SyncComment{}
	for i := range r.maps {
		m := &r.maps[i]
		if m.JiraCommentID != "" {
			byJira[m.JiraCommentID] = m
		}
		if m.AsanaStoryGID != "" {
			byStory[m.AsanaStoryGID] = m
		}
	}
	jiraNow, restricted := map[string]*jira.Comment{}, map[string]bool{}
	storyNow := map[string]*asana.Story{}
	var fresh []newItem
	var own []store.SyncComment // known as asanajira's through the ledger only
	alive := map[string]bool{}
	for i := range r.comments {
		c := &r.comments[i]
		if c.Visibility != nil {
			restricted[c.ID] = true
			continue // restricted: never mirrored, and as good as gone for a mapped one
		}
		jiraNow[c.ID] = c
		if m := byJira[c.ID]; m != nil {
			if m.State == store.SyncCommentWithdrawn && strings.TrimSpace(c.Body) != "" {
				// Back in view (its restriction lifted): mirrored again.
				fresh = append(fresh, newItem{at: c.Created.Time, jira: c, again: m})
				alive[SideJira+"/"+c.ID] = true
			}
			continue
		}
		if r.ownJiraComment(c) {
			if !effects.OwnJiraComment(c) {
				own = append(own, store.SyncComment{JiraCommentID: c.ID})
			}
			continue // asanajira wrote it; a mirror's original maps it
		}
		if c.Created.Before(r.cutoff) {
			if err := r.mapBaseline(ctx, store.SyncComment{JiraCommentID: c.ID}); err != nil {
				return err
			}
			continue
		}
		if strings.TrimSpace(c.Body) != "" {
			fresh = append(fresh, newItem{at: c.Created.Time, jira: c})
			alive[SideJira+"/"+c.ID] = true
		}
	}
	for i := range r.stories {
		s := &r.stories[i]
		if s.ResourceSubtype != "comment_added" {
			continue // system stories are never comments
		}
		storyNow[s.GID] = s
		if byStory[s.GID] != nil || effects.HasMarker(s.Text) {
			continue // mapped, or asanajira's own from before fingerprints became invisible
		}
		if r.recorded(SideAsana, s.GID) {
			own = append(own, store.SyncComment{AsanaStoryGID: s.GID})
			continue // asanajira's own (a mirror, a status note)
		}
		at := parseAsanaTime(s.CreatedAt)
		if at.Before(r.cutoff) {
			if err := r.mapBaseline(ctx, store.SyncComment{AsanaStoryGID: s.GID}); err != nil {
				return err
			}
			continue
		}
		if strings.TrimSpace(s.Text) != "" {
			fresh = append(fresh, newItem{at: at, story: s})
			alive[SideAsana+"/"+s.GID] = true
		}
	}
	// Only mappings synced when both sides were read are followed; those
	// made or made again in this run have nothing to follow yet.
	synced := map[int64]bool{}
	for _, m := range r.maps {
		synced[m.ID] = m.State == store.SyncCommentSynced
	}
	if err := r.settleOrphans(ctx, alive); err != nil {
		return err
	}
	// Oldest first on both sides together, so mirrors keep the order (and
	// a mirror an attempt made before dying comes after its original, whose
	// retry finds it).
	slices.SortStableFunc(fresh, func(a, b newItem) int { return a.at.Compare(b.at) })
	for _, it := range fresh {
		if !r.budget() {
			return nil
		}
		if r.ownOrPending(ctx, it) {
			continue
		}
		var err error
		if it.jira != nil {
			err = r.mirrorToAsana(ctx, it.jira, it.again)
		} else {
			err = r.mirrorToJira(ctx, it.story)
		}
		if err != nil {
			return err
		}
	}
	if err := r.rememberOwn(ctx, own); err != nil {
		return err
	}
	for i := range r.maps {
		m := &r.maps[i]
		if !synced[m.ID] {
			continue
		}
		if !r.budget() {
			return nil
		}
		if err := r.follow(ctx, m, jiraNow[m.JiraCommentID], storyNow[m.AsanaStoryGID], restricted[m.JiraCommentID]); err != nil {
			return err
		}
	}
	return nil
}

// ownOrPending reports whether a new item is not to be mirrored now: it
// became known as asanajira's during the run (a mirror an attempt made
// before dying, found by its original's retry), or it may be a pending
// write of asanajira's and waits until that write is recorded.
func (r *run) ownOrPending(ctx context.Context, it newItem) bool {
	side, id, text, at, author := SideAsana, "", "", it.at, ""
	if it.jira != nil {
		side, id, text, author = SideJira, it.jira.ID, it.jira.Body, r.asanaUserFor(ctx, userName(it.jira.Author))
	} else {
		id, text = it.story.GID, it.story.Text
		if it.story.CreatedBy != nil {
			author = it.story.CreatedBy.GID
		}
	}
	if r.recorded(side, id) {
		return true
	}
	if p := r.mayBePending(side, text, at, author); p != nil {
		r.deferItem(side, id, p)
		return true
	}
	return false
}

func (r *run) mapBaseline(ctx context.Context, m store.SyncComment) error {
	m.LinkID, m.Origin, m.State = r.link.ID, store.OriginBaseline, store.SyncCommentIgnored
	if err := r.e.st.InsertSyncComment(ctx, &m); err != nil && !errors.Is(err, store.ErrConflict) {
		return wrap("map a comment that existed before sync", err)
	}
	r.maps = append(r.maps, m)
	return nil
}

// mirrorToAsana posts a Jira comment on the task: as the Asana user
// connected as its author, else as the owner with "<Name> in Jira:". again
// is the comment's withdrawn map when it comes back into view (else nil).
func (r *run) mirrorToAsana(ctx context.Context, c *jira.Comment, again *store.SyncComment) error {
	author := jiraUserName(c.Author)
	ac, writer, asAuthor := r.asanaAs(ctx, userName(c.Author))
	prefix := ""
	if !asAuthor {
		prefix = author + " in Jira:"
	}
	text := withPrefix(prefix, strings.TrimSpace(c.Body))
	key, m, detail := fmt.Sprintf("%d:jira-comment:%s", r.link.ID, c.ID), store.SyncComment{}, ""
	if again != nil {
		// Each time the comment comes back it is a new write: its key names
		// the story withdrawn before it, so a retry finds this one, and the
		// ledger's record of the first mirror is not taken for it.
		key += ":after:" + again.AsanaStoryGID
		m.ID, detail = again.ID, " (back in view after story "+again.AsanaStoryGID+" was withdrawn)"
	}
	e := effects.Effect{Scope: scopeStory, Key: key, Target: r.asanaTarget(), Author: writer}
	story, err := r.apply(ctx, e, crashing{effects.AsanaStory{Client: ac, Task: r.link.TaskGID, Text: text}, "asana"}, writer,
		"post Jira comment "+c.ID+" on the task")
	if err != nil {
		return err
	}
	m.JiraCommentID, m.AsanaStoryGID, m.Origin, m.JiraHash, m.AsanaHash = c.ID, story, store.OriginJira, digest(c.Body), digest(text)
	m.Author, m.WrittenBy, m.Prefix = userName(c.Author), writer, prefix
	return r.mapped(ctx, m, JiraToAsana, author, fmt.Sprintf("Jira comment %s → story %s%s", c.ID, story, detail))
}

// mirrorToJira adds a story to the issue as a comment: as the story's
// author when connected to Jira, else as the owner with "<Name> in Asana:".
func (r *run) mirrorToJira(ctx context.Context, s *asana.Story) error {
	authorGID, author := "", "Someone"
	if s.CreatedBy != nil {
		authorGID, author = s.CreatedBy.GID, cmp.Or(s.CreatedBy.Name, "Asana user "+s.CreatedBy.GID)
	}
	jc, writer, asAuthor := r.jiraAs(ctx, authorGID)
	prefix := ""
	if !asAuthor {
		prefix = author + " in Asana:"
	}
	body := withPrefix(prefix, content(s.Text, ""))
	e := effects.Effect{Scope: scopeJiraComment, Key: fmt.Sprintf("%d:story:%s", r.link.ID, s.GID), Target: r.jiraTarget(), Author: writer}
	comment, err := r.apply(ctx, e, crashing{effects.JiraComment{Client: jc, Issue: r.link.IssueID, Body: body, Log: r.e.log}, "jira"}, writer,
		"add story "+s.GID+" to "+r.link.IssueKey+" as a comment")
	if err != nil {
		return err
	}
	return r.mapped(ctx, store.SyncComment{JiraCommentID: comment, AsanaStoryGID: s.GID, Origin: store.OriginAsana,
		JiraHash: digest(body), AsanaHash: digest(s.Text), Author: authorGID, WrittenBy: writer, Prefix: prefix},
		AsanaToJira, author, fmt.Sprintf("story %s → Jira comment %s", s.GID, comment))
}

// apply makes a mirroring write exactly once (internal/effects) as writer,
// under a renewed lease, and returns its result (the new item's id).
func (r *run) apply(ctx context.Context, e effects.Effect, w crashing, writer, action string) (string, error) {
	if err := r.renew(ctx); err != nil {
		return "", err
	}
	out, err := r.e.ledger.Apply(ctx, e, w)
	if err != nil {
		return "", r.writeError(ctx, err, writer, action)
	}
	crashAt("after-" + w.side + "-record")
	r.resolved(e.Scope, e.Key, r.targetSide(e.Target), out.Result)
	return out.Result, nil
}

// mapped stores the mapping of a new mirror (rewriting m.ID's, that of a
// comment mirrored again) and tells it.
func (r *run) mapped(ctx context.Context, m store.SyncComment, dir, actor, detail string) error {
	m.LinkID, m.State = r.link.ID, store.SyncCommentSynced
	if i := slices.IndexFunc(r.maps, func(x store.SyncComment) bool { return m.ID != 0 && x.ID == m.ID }); i >= 0 {
		if err := r.e.st.UpdateSyncComment(ctx, m); err != nil {
			return wrap("map a comment mirrored again", err)
		}
		r.maps[i] = m
	} else {
		if err := r.e.st.InsertSyncComment(ctx, &m); err != nil {
			return wrap("map a mirrored comment", err)
		}
		r.maps = append(r.maps, m)
	}
	r.wroteOne(dir, KindComment)
	r.history(ctx, dir, "comment.created", actor, detail)
	return nil
}

// follow brings an edit or a deletion of a mapped comment to the other side.
// jc is nil for a Jira comment gone or restricted (restricted says which).
func (r *run) follow(ctx context.Context, m *store.SyncComment, jc *jira.Comment, s *asana.Story, restricted bool) error {
	switch {
	case jc == nil && m.Origin == store.OriginJira:
		return r.withdrawStory(ctx, m, s, restricted)
	case jc == nil && s == nil:
		return r.markDeleted(ctx, m, "", "both sides were deleted")
	case jc == nil:
		return r.markDeleted(ctx, m, AsanaToJira, "the Jira comment mirroring story "+m.AsanaStoryGID+" was deleted or restricted; the story stays")
	case s == nil:
		if m.Origin != store.OriginAsana {
			return r.markDeleted(ctx, m, JiraToAsana, "the story mirroring Jira comment "+m.JiraCommentID+" was deleted; the comment stays")
		}
		return r.deleteJiraComment(ctx, m)
	}
	jHash, aHash := digest(jc.Body), digest(s.Text)
	jChanged, aChanged := jHash != m.JiraHash, aHash != m.AsanaHash
	if !jChanged && !aChanged {
		return nil
	}
	jText, aText := content(jc.Body, r.prefixOn(m, store.OriginAsana)), content(s.Text, r.prefixOn(m, store.OriginJira))
	if collapse(jText) == collapse(aText) {
		// Both say the same (edited alike, or a mirror's whitespace moved).
		m.JiraHash, m.AsanaHash = jHash, aHash
		return wrap("update the comment map", r.e.st.UpdateSyncComment(ctx, *m))
	}
	jiraWins := jChanged
	if jChanged && aChanged {
		// Edited on both sides since the last run: the later edit wins.
		jiraWins = jc.Updated.After(r.asanaEditTime(m.AsanaStoryGID))
	}
	if jiraWins {
		return r.editStory(ctx, m, s, jText, jHash)
	}
	return r.editJiraComment(ctx, m, aText, aHash)
}

// prefixOn is the attribution prefix of m's item on the side that is the
// mirror when m's origin is origin ("" otherwise).
func (r *run) prefixOn(m *store.SyncComment, origin string) string {
	if m.Origin == origin {
		return m.Prefix
	}
	return ""
}

// asanaEditTime is when a story was last edited, as far as the engine
// knows: the newest recorded change about it, else now.
func (r *run) asanaEditTime(gid string) time.Time {
	var at time.Time
	for _, c := range r.pending {
		if c.Side != SideAsana || c.Object != gid {
			continue
		}
		t := c.ObservedAt
		if t.IsZero() {
			t = c.ReceivedAt
		}
		if t.After(at) {
			at = t
		}
	}
	if at.IsZero() {
		return r.started
	}
	return at
}

// editStory writes a Jira comment's new text to its story, as the story's
// author (the mirror's writer, or the original's author).
func (r *run) editStory(ctx context.Context, m *store.SyncComment, s *asana.Story, text, jHash string) error {
	writer := m.WrittenBy
	newText := text
	if m.Origin == store.OriginJira {
		newText = withPrefix(m.Prefix, text)
	} else {
		writer = m.Author
	}
	ac, err := r.e.clients.Asana(ctx, writer)
	if err != nil {
		// Nobody may write it: the edit stays on Jira's side.
		m.JiraHash = jHash
		r.history(ctx, JiraToAsana, "comment.edit-kept", "", fmt.Sprintf("Jira comment %s was edited; story %s can only be edited by %s, who has not connected Asana", m.JiraCommentID, m.AsanaStoryGID, r.userName(ctx, writer)))
		return wrap("update the comment map", r.e.st.UpdateSyncComment(ctx, *m))
	}
	if err := r.renew(ctx); err != nil {
		return err
	}
	if _, err := ac.UpdateStory(ctx, m.AsanaStoryGID, newText, ""); err != nil {
		if errors.Is(err, asana.ErrNotFound) {
			return r.markDeleted(ctx, m, JiraToAsana, "story "+m.AsanaStoryGID+" is gone")
		}
		return r.writeError(ctx, err, writer, "edit story "+m.AsanaStoryGID)
	}
	m.JiraHash, m.AsanaHash = jHash, digest(newText)
	if err := r.e.st.UpdateSyncComment(ctx, *m); err != nil {
		return wrap("update the comment map", err)
	}
	r.wroteOne(JiraToAsana, KindComment)
	r.history(ctx, JiraToAsana, "comment.updated", r.userName(ctx, writer), fmt.Sprintf("Jira comment %s → story %s", m.JiraCommentID, m.AsanaStoryGID))
	return nil
}

// editJiraComment writes a story's new text to its Jira comment, as the
// comment's author (the mirror's writer, or the Asana user connected as the
// original's author).
func (r *run) editJiraComment(ctx context.Context, m *store.SyncComment, text, aHash string) error {
	writer, newBody := m.WrittenBy, text
	if m.Origin == store.OriginAsana {
		newBody = withPrefix(m.Prefix, text)
	} else {
		writer = r.asanaUserFor(ctx, m.Author)
	}
	var jc *jira.Client
	if writer != "" {
		if c, _, ok := r.jiraAs(ctx, writer); ok {
			jc = c // only the author may edit: no fallback to the owner
		}
	}
	if jc == nil {
		m.AsanaHash = aHash
		r.history(ctx, AsanaToJira, "comment.edit-kept", "", fmt.Sprintf("story %s was edited; Jira comment %s can only be edited by its author, who has not connected Jira", m.AsanaStoryGID, m.JiraCommentID))
		return wrap("update the comment map", r.e.st.UpdateSyncComment(ctx, *m))
	}
	if err := r.renew(ctx); err != nil {
		return err
	}
	if _, err := jc.UpdateComment(ctx, r.link.IssueID, m.JiraCommentID, newBody); err != nil {
		if errors.Is(err, jira.ErrNotFound) {
			return r.markDeleted(ctx, m, AsanaToJira, "Jira comment "+m.JiraCommentID+" is gone")
		}
		return r.writeError(ctx, err, writer, "edit Jira comment "+m.JiraCommentID)
	}
	m.JiraHash, m.AsanaHash = digest(newBody), aHash
	if err := r.e.st.UpdateSyncComment(ctx, *m); err != nil {
		return wrap("update the comment map", err)
	}
	r.wroteOne(AsanaToJira, KindComment)
	r.history(ctx, AsanaToJira, "comment.updated", r.userName(ctx, writer), fmt.Sprintf("story %s → Jira comment %s", m.AsanaStoryGID, m.JiraCommentID))
	return nil
}

// withdrawStory deletes the story mirroring a Jira comment that left the
// view everyone shares: deleted, restricted to a group or role, or hidden
// from the link's owner (a restriction they are outside of, which the
// engine cannot tell from a deletion). Deleting it, rather than leaving a
// note that a restricted comment exists, keeps on the task nothing of what
// the restriction protects, not even that something was written. The map
// is kept as withdrawn, so the comment is mirrored again, as a new story,
// should it come back into view (a deleted one never does). s is nil when
// the story is gone already (an attempt deleted it and died before
// recording so).
func (r *run) withdrawStory(ctx context.Context, m *store.SyncComment, s *asana.Story, restricted bool) error {
	what := "was deleted (or hidden from the link's owner)"
	if restricted {
		what = "was restricted"
	}
	if s != nil {
		ac, err := r.e.clients.Asana(ctx, m.WrittenBy)
		if err != nil {
			// Nobody else may delete it. The map is left deleted: the
			// comment's edits no longer follow, and it is not mirrored again
			// beside the story that stays.
			return r.markDeleted(ctx, m, JiraToAsana, fmt.Sprintf("Jira comment %s %s; its story %s stays: only %s may delete it and has not connected Asana", m.JiraCommentID, what, m.AsanaStoryGID, r.userName(ctx, m.WrittenBy)))
		}
		if err := r.renew(ctx); err != nil {
			return err
		}
		if err := ac.DeleteStory(ctx, m.AsanaStoryGID); err != nil && !errors.Is(err, asana.ErrNotFound) {
			return r.writeError(ctx, err, m.WrittenBy, "delete story "+m.AsanaStoryGID)
		}
		r.wroteOne(JiraToAsana, KindComment)
	}
	m.State = store.SyncCommentWithdrawn
	if err := r.e.st.UpdateSyncComment(ctx, *m); err != nil {
		return wrap("update the comment map", err)
	}
	r.history(ctx, JiraToAsana, "comment.deleted", "", fmt.Sprintf("Jira comment %s %s → story %s deleted", m.JiraCommentID, what, m.AsanaStoryGID))
	return nil
}

// deleteJiraComment deletes the Jira comment mirroring a deleted story.
func (r *run) deleteJiraComment(ctx context.Context, m *store.SyncComment) error {
	jc, _, ok := r.jiraAs(ctx, m.WrittenBy)
	if !ok {
		return r.markDeleted(ctx, m, AsanaToJira, fmt.Sprintf("story %s is gone; Jira comment %s stays: only %s may delete it and has not connected Jira", m.AsanaStoryGID, m.JiraCommentID, r.userName(ctx, m.WrittenBy)))
	}
	if err := r.renew(ctx); err != nil {
		return err
	}
	if err := jc.DeleteComment(ctx, r.link.IssueID, m.JiraCommentID); err != nil && !errors.Is(err, jira.ErrNotFound) {
		return r.writeError(ctx, err, m.WrittenBy, "delete Jira comment "+m.JiraCommentID)
	}
	r.wroteOne(AsanaToJira, KindComment)
	return r.markDeleted(ctx, m, AsanaToJira, fmt.Sprintf("story %s was deleted → Jira comment %s deleted", m.AsanaStoryGID, m.JiraCommentID))
}

func (r *run) markDeleted(ctx context.Context, m *store.SyncComment, dir, detail string) error {
	m.State = store.SyncCommentDeleted
	if err := r.e.st.UpdateSyncComment(ctx, *m); err != nil {
		return wrap("update the comment map", err)
	}
	r.history(ctx, dir, "comment.deleted", "", detail)
	return nil
}

// writeError classifies a failed write made as Asana user writer.
func (r *run) writeError(ctx context.Context, err error, writer, action string) error {
	var je *jira.Error
	var ae *asana.Error
	switch {
	case errors.As(err, &je):
		return r.jiraError(ctx, err, writer, action)
	case errors.As(err, &ae):
		return r.asanaError(ctx, err, writer, action)
	}
	return fmt.Errorf("syncengine: %s: %w", action, err)
}

// Text helpers.

// digest is a short hash of a comment's text as people read it: a former
// marker line dropped and whitespace collapsed, so a mirror whose
// whitespace the other side normalised still matches.
func digest(text string) string {
	sum := sha256.Sum256([]byte(collapse(effects.StripMarker(text))))
	return hex.EncodeToString(sum[:12])
}

func collapse(text string) string { return strings.Join(strings.Fields(text), " ") }

// content is the text of a comment without a former marker line and, for
// a mirror, without its attribution prefix.
func content(text, prefix string) string {
	t := strings.TrimSpace(effects.StripMarker(text))
	if prefix != "" && strings.HasPrefix(t, prefix) {
		t = strings.TrimSpace(strings.TrimPrefix(t, prefix))
	}
	return t
}

func withPrefix(prefix, text string) string {
	if prefix == "" {
		return text
	}
	return prefix + "\n\n" + text
}

func userName(u *jira.User) string {
	if u == nil {
		return ""
	}
	return u.Name
}

func jiraUserName(u *jira.User) string {
	if u == nil {
		return "Someone"
	}
	return cmp.Or(u.DisplayName, u.Name, "Someone")
}
