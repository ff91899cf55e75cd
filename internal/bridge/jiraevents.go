package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// eventStoryScope remembers which Jira changes were already told on a task,
// so a retried job does not post the same story twice.
const eventStoryScope = "jira-event-story"

// ApplyJiraEvent brings one Jira webhook delivery to the Asana task linked
// to the issue: a status change or a comment becomes a story on the task, a
// deleted issue ends the link, and the widget's cached copy of the issue is
// dropped so the next open shows the change.
//
// The payload is only a hint: the issue is read again from Jira with the
// credentials of the user who made the link, so nothing reaches Asana that
// this user could not see in Jira, and a forged delivery changes nothing.
// Events about unlinked issues, or that say nothing a person would want on
// the task, are ignored.
func (s *Service) ApplyJiraEvent(ctx context.Context, jiraServerID string, payload []byte) error {
	ev, err := jira.ParseWebhook(payload)
	if err != nil {
		return fmt.Errorf("bridge: apply Jira event: %w", err)
	}
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

	if ev.WebhookEvent == "jira:issue_deleted" {
		return s.issueDeleted(ctx, link, ev)
	}
	story := eventStory(ev)
	if story == "" && (ev.Issue.Key == "" || strings.EqualFold(ev.Issue.Key, link.IssueKey)) {
		return nil
	}

	jc, srv, err := s.jiraFor(ctx, link.CreatedBy, jiraServerID)
	if err != nil {
		return s.eventCredentialError(err)
	}
	jctx, cancel := s.jiraCtx(ctx)
	issue, err := jc.GetIssue(jctx, link.IssueID, &jira.GetIssueOptions{Fields: []string{"summary", "status"}})
	cancel()
	if err != nil {
		if errors.Is(err, jira.ErrNotFound) {
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
	if story == "" {
		return nil
	}
	if issue.Fields.Status != nil && isStatusStory(ev) {
		// Say where the issue is now, not what a stale delivery claimed.
		story = statusStory(ev, issue.Key, issue.Fields.Status.Name)
	}
	return s.tellTask(ctx, link, eventIdentity(ev, payload), story)
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

func (s *Service) issueDeleted(ctx context.Context, link store.Link, ev *jira.WebhookEvent) error {
	if err := s.tellTask(ctx, link, []byte("deleted:"+link.IssueID), fmt.Sprintf("Jira issue %s was deleted%s. The link to this task is removed.", link.IssueKey, by(ev.User))); err != nil {
		return err
	}
	if err := s.st.DeleteLink(ctx, link.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("bridge: apply Jira event: %w", err)
	}
	return nil
}

// tellTask posts story on the linked task as the link's owner, once per
// delivery.
func (s *Service) tellTask(ctx context.Context, link store.Link, identity []byte, story string) error {
	sum := sha256.Sum256(append([]byte(link.TaskGID+"\x00"), identity...))
	key := hex.EncodeToString(sum[:16])
	if k, err := s.st.GetIdempotencyKey(ctx, eventStoryScope, key); err == nil && k.Result != nil {
		return nil
	}
	ac, err := s.asanaFor(ctx, link.CreatedBy)
	if err != nil {
		return s.eventCredentialError(err)
	}
	if _, err := ac.AddComment(ctx, link.TaskGID, story, ""); err != nil {
		return fmt.Errorf("bridge: tell task %s about %s: %w", link.TaskGID, link.IssueKey, err)
	}
	err = s.st.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: eventStoryScope, Key: key, Result: []byte("posted"), ExpiresAt: s.now().Add(7 * 24 * time.Hour)})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("bridge: remember story on %s: %w", link.TaskGID, err)
	}
	return nil
}

// eventCredentialError ends the job quietly when the link's owner can no
// longer act (disconnected or must reconnect): retrying would not help, and
// the widget already asks the user to reconnect.
func (s *Service) eventCredentialError(err error) error {
	if errors.Is(err, ErrNotConnected) || errors.Is(err, ErrReconnectNeeded) {
		s.log.Info("Jira event not applied: the link's owner is not connected", "error", err)
		return nil
	}
	return err
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

// eventStory is what a person would want to read on the task about ev, or
// "" when the change is not worth a story (the widget shows it anyway).
func eventStory(ev *jira.WebhookEvent) string {
	key := ev.Issue.Key
	if isStatusStory(ev) {
		for _, it := range changelog(ev) {
			if strings.EqualFold(it.Field, "status") {
				return statusStory(ev, key, it.ToString)
			}
		}
	}
	switch ev.EventType() {
	case "issue_commented", "comment_created":
		if ev.Comment != nil && strings.TrimSpace(ev.Comment.Body) != "" {
			return fmt.Sprintf("%s commented on Jira issue %s:\n\n%s", name(ev.Comment.Author, ev.User), key, ev.Comment.Body)
		}
	}
	return ""
}

func statusStory(ev *jira.WebhookEvent, key, to string) string {
	return fmt.Sprintf("Jira issue %s moved to %s%s.", key, to, by(ev.User))
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
