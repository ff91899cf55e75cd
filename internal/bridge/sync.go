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
// it last synced, and its sync error. The line does not depend on who
// looks, so it is kept per issue as long as a widget (WidgetCacheTTL) and
// dropped with the issue's widgets when the issue changes or its link
// syncs (InvalidateIssue): another user's widget of the same issue, or the
// same issue attached to another task, costs no database round trip.
func (s *Service) syncStatus(ctx context.Context, serverID, issueID, issueKey string, d *WidgetData) {
	k := serverID + "|" + issueID
	line, ok := s.syncLines.get(k)
	if !ok {
		st, err := s.st.GetIssueSyncStatus(ctx, serverID, issueID)
		switch {
		case err == nil:
			line = syncLine{server: serverID, key: issueKey, status: st}
		case errors.Is(err, store.ErrNotFound):
			line = syncLine{server: serverID, key: issueKey} // not linked: the widget of a task that only mentions the issue
		default:
			return // unreadable: no sync line this time
		}
		s.syncLines.put(k, line)
	}
	if line.status.Enabled {
		d.Syncing, d.SyncedAt, d.SyncError = true, line.status.LastSyncedAt, line.status.LastError
	}
}

// syncLine is an issue's cached sync status; server and key tag it.
type syncLine struct {
	server, key string
	status      store.IssueSyncStatus
}
