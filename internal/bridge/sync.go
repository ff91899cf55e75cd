package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/asanajira/asanajira/internal/store"
)

// syncSettings returns the two-way sync settings of a link's connection
// (internal/syncengine keeps them); the zero value when it has none.
func (s *Service) syncSettings(ctx context.Context, link store.Link) (store.SyncSettings, error) {
	set, err := s.st.GetSyncSettings(ctx, link.WorkspaceGID, link.JiraServerID)
	if errors.Is(err, store.ErrNotFound) {
		return store.SyncSettings{}, nil
	}
	if err != nil {
		return store.SyncSettings{}, fmt.Errorf("bridge: sync settings: %w", err)
	}
	return set, nil
}

// commentsSynced reports whether two-way sync mirrors comments for the
// link's connection: the mirrored comment then replaces the "commented on
// Jira issue" story.
func (s *Service) commentsSynced(ctx context.Context, link store.Link) (bool, error) {
	set, err := s.syncSettings(ctx, link)
	return set.Enabled && set.Comments, err
}

// syncStatus fills the widget's sync line when the issue's link syncs: when
// it last synced, and its sync error.
func (s *Service) syncStatus(ctx context.Context, serverID, issueID string, d *WidgetData) {
	link, err := s.st.GetLinkByIssue(ctx, serverID, issueID)
	if err != nil {
		return // not linked (the widget of a task that only mentions the issue), or unreadable: no sync line
	}
	if set, err := s.syncSettings(ctx, link); err != nil || !set.Enabled {
		return
	}
	d.Syncing = true
	if st, err := s.st.GetSyncLinkState(ctx, link.ID); err == nil {
		d.SyncedAt, d.SyncError = st.LastSyncedAt, st.LastError
	}
}
