package store

import (
	"context"
	"database/sql"
	"time"
)

// IssueSyncStatus is what the widget shows of the sync of an issue's link.
type IssueSyncStatus struct {
	LinkID int64
	// Enabled says the link's connection syncs both ways.
	Enabled bool
	// LastSyncedAt and LastError are the link's sync state (zero when it
	// has not synced yet).
	LastSyncedAt time.Time
	LastError    string
}

// WidgetQueries are the reads of the widget beyond the records' basic
// ones.
type WidgetQueries interface {
	// GetIssueSyncStatus reads in one statement whether the link of an
	// issue syncs, when it last synced and its error (a widget request
	// read the link, its connection's settings and its state in three);
	// ErrNotFound when the issue has no link on the server.
	GetIssueSyncStatus(ctx context.Context, jiraServerID, issueID string) (IssueSyncStatus, error)
}

func (q queries) GetIssueSyncStatus(ctx context.Context, jiraServerID, issueID string) (IssueSyncStatus, error) {
	var (
		st      IssueSyncStatus
		enabled sql.NullBool
		synced  sql.NullTime
		lastErr sql.NullString
	)
	err := q.q.QueryRowContext(ctx, `SELECT l.id, s.enabled, st.last_synced_at, st.last_error FROM links l
		LEFT JOIN sync_settings s ON s.workspace_gid = l.workspace_gid AND s.jira_server_id = l.jira_server_id
		LEFT JOIN sync_link_state st ON st.link_id = l.id
		WHERE l.jira_server_id = $1 AND l.issue_id = $2`, jiraServerID, issueID).Scan(&st.LinkID, &enabled, &synced, &lastErr)
	st.Enabled, st.LastSyncedAt, st.LastError = enabled.Bool, fromNullTime(synced), lastErr.String
	return st, q.wrap("get sync status of issue "+issueID, err)
}
