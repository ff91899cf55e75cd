package setup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/store"
)

// maxTransitionName bounds a transition name an admin types; Jira's own
// names are far shorter.
const maxTransitionName = 255

// ConnectionSync returns a connection's two-way sync settings: the sync
// engine's defaults (off, comments and completion preselected) when they
// were never saved.
func (s *Service) ConnectionSync(ctx context.Context, gid, serverID string) (store.SyncSettings, error) {
	if err := s.requireConnection(ctx, gid, serverID); err != nil {
		return store.SyncSettings{}, err
	}
	set, err := s.sync.Settings(ctx, gid, serverID)
	if err != nil {
		return set, fmt.Errorf("setup: sync settings: %w", err)
	}
	return set, nil
}

// SetConnectionSync saves a connection's two-way sync settings through the
// sync engine and writes them to the audit log; it reports whether they
// changed. Switching sync on starts it from now: comments written before
// are never mirrored.
func (s *Service) SetConnectionSync(ctx context.Context, actor Actor, set store.SyncSettings) (bool, error) {
	if err := need(actor); err != nil {
		return false, err
	}
	set.DoneTransition, set.ReopenTransition = strings.TrimSpace(set.DoneTransition), strings.TrimSpace(set.ReopenTransition)
	if len(set.DoneTransition) > maxTransitionName || len(set.ReopenTransition) > maxTransitionName {
		return false, invalid("A transition name is at most %d characters; use the name Jira shows on the transition's button.", maxTransitionName)
	}
	have, err := s.ConnectionSync(ctx, set.WorkspaceGID, set.JiraServerID)
	if err != nil {
		return false, err
	}
	if sameSync(have, set) {
		return false, nil
	}
	if err := s.sync.PutSettings(ctx, set, string(actor)); err != nil {
		return false, fmt.Errorf("setup: save sync settings: %w", err)
	}
	return true, s.audit(ctx, actor, "sync.settings", set.WorkspaceGID+"/"+set.JiraServerID, DescribeSync(set))
}

// requireConnection checks that sync settings can be kept for a
// connection: an engine to keep them, and the connection itself.
func (s *Service) requireConnection(ctx context.Context, gid, serverID string) error {
	if s.sync == nil {
		return invalid("This asanajira has no sync engine to keep sync settings.")
	}
	// The workspace's own connections, by its key: the Sync page asks this
	// for each of its rows.
	conns, err := s.workspaceConnections(ctx, gid)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(conns, func(c store.Connection) bool { return c.JiraServerID == serverID }) {
		return notFound("Workspace %q is not connected to Jira server %q; connect them first.", gid, serverID)
	}
	return nil
}

// sameSync says two settings set the same.
func sameSync(a, b store.SyncSettings) bool {
	return a.Enabled == b.Enabled && a.Comments == b.Comments && a.Completion == b.Completion &&
		a.DoneTransition == b.DoneTransition && a.ReopenTransition == b.ReopenTransition
}

// DescribeSync is sync settings in words, for plans and the audit log.
func DescribeSync(s store.SyncSettings) string {
	out := "sync " + onOff(s.Enabled) + ", comments " + onOff(s.Comments) + ", completion " + onOff(s.Completion)
	if s.DoneTransition != "" {
		out += ", done by " + s.DoneTransition
	}
	if s.ReopenTransition != "" {
		out += ", reopened by " + s.ReopenTransition
	}
	return out
}
