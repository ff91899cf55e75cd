package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// eventStoryScope names the stories that tell a task about Jira changes in
// the ledger of external writes (internal/effects).
const eventStoryScope = "jira-event-story"

// ApplyJiraEvent brings one Jira webhook delivery to the Asana task linked
// to the issue: a status change or a comment becomes a story on the task, a
// deleted issue ends the link, and the widget's cached copy of the issue is
// dropped so the next open shows the change.
//
// The payload is only a hint, never the source of what reaches Asana: a
// delivery carrying the right secret may still be forged (before Jira 10 the
// secret sits in the webhook URL, readable by any Jira administrator), and
// Jira sends restricted comments to webhooks without their restriction.
// So everything is read again from Jira with the rights of the user who
// made the link:
//   - a status change is told with the issue's status as Jira has it now;
//   - a comment is read by its id on the linked issue; Jira's text and
//     author are posted, never the payload's, and a comment restricted to a
//     group or role (its visibility) is not mirrored at all, since
//     everyone on the task could read it;
//   - a deletion is acted on only when Jira says the issue does not exist
//     while the link's owner can still see its project (see issueDeleted).
//
// Events about unlinked issues, or that say nothing a person would want on
// the task, are ignored. Each story is posted once, however many deliveries
// and retries tell of the same change (internal/effects). Errors match
// ErrNotConnected or ErrReconnectNeeded when the link's owner must connect
// again, ErrJiraRateLimited when Jira throttles (with its Retry-After), and
// effects.ErrBusy while another attempt posts the same story.
func (s *Service) ApplyJiraEvent(ctx context.Context, jiraServerID string, payload []byte) error {
	ev, err := jira.ParseWebhook(payload)
	if err != nil {
		return fmt.Errorf("bridge: apply Jira event: %w", err)
	}
	return s.ApplyJiraWebhook(ctx, jiraServerID, ev, payload)
}

// ApplyJiraWebhook is ApplyJiraEvent for a delivery already parsed from
// payload.
func (s *Service) ApplyJiraWebhook(ctx context.Context, jiraServerID string, ev *jira.WebhookEvent, payload []byte) error {
	if ev.Issue == nil || ev.Issue.ID == "" {
		// Standalone comment_* events on Server carry no issue; the
		// jira:issue_updated delivery of the same change does.
		return nil
	}
	link, err := s.st.GetLinkByIssue(ctx, jiraServerID, ev.Issue.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bridge: apply Jira event: %w", err)
	}
	s.InvalidateIssue(jiraServerID, link.IssueKey)

	deleted := ev.WebhookEvent == jira.EventIssueDeleted
	told := isStatusStory(ev) || isCommentEvent(ev)
	sameKey := ev.Issue.Key == "" || strings.EqualFold(ev.Issue.Key, link.IssueKey)
	if !deleted && !told && sameKey {
		return nil
	}
	if !deleted && sameKey && isCommentEvent(ev) && !isStatusStory(ev) {
		// Two-way sync mirrors the comment itself: nothing to read from
		// Jira (a flood of comments would otherwise read the issue each).
		if synced, err := s.commentsSynced(ctx, link); err != nil || synced {
			return err
		}
	}
	jc, srv, err := s.jiraFor(ctx, link.CreatedBy, jiraServerID)
	if err != nil {
		return err
	}
	jctx, cancel := s.jiraCtx(ctx)
	opts := &jira.GetIssueOptions{Fields: []string{"summary", "status", "project"}}
	if isStatusStory(ev) {
		opts.Expand = []string{"changelog"} // who moved it, as Jira recorded it
	}
	issue, err := jc.GetIssue(jctx, link.IssueID, opts)
	cancel()
	if deleted {
		return s.issueDeleted(ctx, jc, srv, link, err)
	}
	if err != nil {
		if errors.Is(err, jira.ErrNotFound) || errors.Is(err, jira.ErrForbidden) {
			return nil // deleted since, or no longer visible to the link's owner
		}
		return s.jiraError(ctx, link.CreatedBy, srv, err, "read "+link.IssueKey)
	}
	if issue.Key != "" && !strings.EqualFold(issue.Key, link.IssueKey) {
		// The issue moved to another project and got a new key.
		if err := s.st.UpdateLinkIssueKey(ctx, link.ID, issue.Key); err != nil {
			return fmt.Errorf("bridge: apply Jira event: %w", err)
		}
		link.IssueKey = issue.Key
	}
	var story string
	switch {
	case isStatusStory(ev) && issue.Fields.Status != nil:
		// Say where the issue is now and who moved it as Jira recorded the
		// change, not what the delivery claimed.
		story = statusStory(link.IssueKey, issue.Fields.Status.Name, mover(issue, ev.Changelog.ID))
	case isCommentEvent(ev):
		if synced, err := s.commentsSynced(ctx, link); err != nil || synced {
			return err // two-way sync mirrors the comment itself
		}
		story, err = s.commentStory(ctx, jc, srv, link, ev.Comment.ID)
		if err != nil {
			return err
		}
	}
	if story == "" {
		return nil
	}
	return s.tellTask(ctx, link, eventIdentity(ev, payload), story)
}

// isCommentEvent reports whether ev announces a new comment.
func isCommentEvent(ev *jira.WebhookEvent) bool {
	if ev.Comment == nil || ev.Comment.ID == "" {
		return false
	}
	return ev.EventType() == jira.IssueCommented || ev.WebhookEvent == jira.EventCommentCreated
}

// commentStory reads the comment from Jira as the link's owner and returns
// the story telling it, or "" when it must not be told: gone, hidden from
// the owner, empty, or restricted to a group or role.
func (s *Service) commentStory(ctx context.Context, jc *jira.Client, srv store.JiraServer, link store.Link, commentID string) (string, error) {
	jctx, cancel := s.jiraCtx(ctx)
	c, err := jc.GetComment(jctx, link.IssueID, commentID)
	cancel()
	switch {
	case errors.Is(err, jira.ErrNotFound), errors.Is(err, jira.ErrForbidden):
		return "", nil // deleted since, on another issue, or hidden from the link's owner
	case err != nil:
		return "", s.jiraError(ctx, link.CreatedBy, srv, err, "read comment "+commentID+" of "+link.IssueKey)
	}
	if c.Visibility != nil {
		s.log.InfoContext(ctx, "a restricted Jira comment is not mirrored to the task", slog.String("issue", link.IssueKey),
			slog.String("comment", c.ID), slog.String("restricted_to", c.Visibility.Type))
		return "", nil
	}
	if strings.TrimSpace(c.Body) == "" {
		return "", nil
	}
	who := name(c.Author, nil)
	if who == "" {
		who = "Someone"
	}
	return fmt.Sprintf("%s commented on Jira issue %s:\n\n%s", who, link.IssueKey, c.Body), nil
}

// eventIdentity names the change a delivery reports. Jira Server sends a
// comment twice (comment_created and jira:issue_updated), and both must tell
// the task once.
func eventIdentity(ev *jira.WebhookEvent, payload []byte) []byte {
	switch {
	case ev.Comment != nil && ev.Comment.ID != "":
		return []byte("comment:" + ev.Comment.ID)
	case ev.Changelog != nil && ev.Changelog.ID != "":
		return []byte("changelog:" + ev.Changelog.ID)
	}
	return payload
}

// issueDeleted ends the link of a deleted issue, after asking Jira: readErr
// is how GET issue answered the link's owner. A 404 means "does not exist"
// but also "exists, and you may not see it"; so the link is removed only
// when the owner can still see the issue's project, where a deleted issue
// is the one reading left (an issue security level hiding this one issue
// from its own link's owner is the case this cannot tell apart). A delivery
// for an issue Jira still shows is forged or stale and changes nothing; a
// link whose owner lost access stays, and the log says so.
func (s *Service) issueDeleted(ctx context.Context, jc *jira.Client, srv store.JiraServer, link store.Link, readErr error) error {
	switch {
	case readErr == nil:
		s.log.WarnContext(ctx, "ignored a Jira deletion event for an issue Jira still shows to the link's owner", slog.String("issue", link.IssueKey))
		return nil
	case errors.Is(readErr, jira.ErrForbidden):
		s.lostAccess(ctx, link)
		return nil
	case !errors.Is(readErr, jira.ErrNotFound):
		return s.jiraError(ctx, link.CreatedBy, srv, readErr, "read "+link.IssueKey)
	}
	project, _, _ := strings.Cut(link.IssueKey, "-")
	jctx, cancel := s.jiraCtx(ctx)
	_, err := jc.Project(jctx, project)
	cancel()
	if err != nil {
		if errors.Is(err, jira.ErrNotFound) || errors.Is(err, jira.ErrForbidden) {
			s.lostAccess(ctx, link)
			return nil
		}
		return s.jiraError(ctx, link.CreatedBy, srv, err, "read project "+project)
	}
	if err := s.tellTask(ctx, link, []byte("deleted:"+link.IssueID), fmt.Sprintf("Jira issue %s was deleted. The link to this task is removed.", link.IssueKey)); err != nil {
		return err
	}
	if err := s.st.DeleteLink(ctx, link.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("bridge: apply Jira event: %w", err)
	}
	return nil
}

func (s *Service) lostAccess(ctx context.Context, link store.Link) {
	s.log.WarnContext(ctx, "Jira announced a deletion of a linked issue its link's owner can no longer see; the link stays",
		slog.String("issue", link.IssueKey), slog.String("task", link.TaskGID), slog.String("owner", link.CreatedBy))
}

// tellTask posts story on the linked task as the link's owner, once per
// change however many deliveries and attempts tell it.
func (s *Service) tellTask(ctx context.Context, link store.Link, identity []byte, story string) error {
	ac, err := s.asanaFor(ctx, link.CreatedBy)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(append([]byte(link.TaskGID+"\x00"), identity...))
	e := effects.Effect{Scope: eventStoryScope, Key: hex.EncodeToString(sum[:16]), Target: "asana:task:" + link.TaskGID, Author: link.CreatedBy}
	if _, err := s.effects.Apply(ctx, e, effects.AsanaStory{Client: ac, Task: link.TaskGID, Text: story}); err != nil {
		return asanaError(err, "tell task "+link.TaskGID+" about "+link.IssueKey)
	}
	return nil
}

// isStatusStory reports whether ev moved the issue to another status. The
// changelog of jira:issue_created lists the initial status too; an issue
// that was just created did not move.
func isStatusStory(ev *jira.WebhookEvent) bool {
	if ev.WebhookEvent == jira.EventIssueCreated {
		return false
	}
	for _, it := range changelog(ev) {
		if strings.EqualFold(it.Field, "status") {
			return true
		}
	}
	return false
}

func statusStory(key, to string, mover *jira.User) string {
	return fmt.Sprintf("Jira issue %s moved to %s%s.", key, to, by(mover))
}

// mover is who made the status change changelogID in the issue's history
// as Jira has it; nil when Jira does not list that change with a status
// item (a forged or stale id, or a history longer than Jira returns), and
// the story then names nobody.
func mover(issue *jira.Issue, changelogID string) *jira.User {
	if issue.Changelog == nil || changelogID == "" {
		return nil
	}
	for _, h := range issue.Changelog.Histories {
		if h.ID != changelogID {
			continue
		}
		for _, it := range h.Items {
			if strings.EqualFold(it.Field, "status") {
				return h.Author
			}
		}
	}
	return nil
}

func changelog(ev *jira.WebhookEvent) []jira.ChangelogItem {
	if ev.Changelog == nil {
		return nil
	}
	return ev.Changelog.Items
}

func by(u *jira.User) string {
	if n := name(u, nil); n != "" {
		return " by " + n
	}
	return ""
}

func name(u, fallback *jira.User) string {
	for _, c := range []*jira.User{u, fallback} {
		if c == nil {
			continue
		}
		if c.DisplayName != "" {
			return c.DisplayName
		}
		if c.Name != "" {
			return c.Name
		}
	}
	return ""
}
