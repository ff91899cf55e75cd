package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SyncSideStatus is one side of a connection's sync: what waits to be
// applied from it and what it last told.
type SyncSideStatus struct {
	// Pending counts the changes from this side not yet applied, up to
	// SyncStatusCountCap and one more (more than the cap); Oldest is the
	// first of them (ID 0 when none): the lag is its age.
	Pending int
	Oldest  SyncChange
	// Last is the latest change recorded from this side that was an event
	// (ID 0 when none): a comparison someone asked for is not one.
	Last SyncChange
}

// SyncConnectionStatus is the sync state of one connection's links (an
// Asana workspace × a Jira server), for the console's Sync page.
type SyncConnectionStatus struct {
	// Links counts the connection's links and Errors those showing a sync
	// error, each up to SyncStatusCountCap and one more.
	Links  int
	Errors int
	// LastSyncedAt is when a run of one of its links last finished.
	LastSyncedAt time.Time
	// Jira and Asana are the changes from each side.
	Jira, Asana SyncSideStatus
}

// SyncStatusCountCap bounds the counts of SyncConnectionStatus, as the
// console's other pages bound theirs: each counts up to one past it, and a
// page says "more than" the cap when a count exceeds it. Each row of the
// Sync page then reads a bounded range of an index, however many links
// its connection has; at 500 the ten syncing rows of a page at scale
// (bench/admin) still counted five times the entries of the small world's
// (Sync 2.7-2.9x on SQLite), at 100 twice (1.42x).
const SyncStatusCountCap = 100

// SyncLinkError is a link showing a sync error.
type SyncLinkError struct {
	Link    Link
	Error   string
	ErrorAt time.Time
}

// SyncStatusQueries read the sync state of connections for the console.
type SyncStatusQueries interface {
	// SyncConnectionStatus sums up the sync state of a connection's links.
	// Changes of requestKind (a comparison asked for by a person or after
	// an expired Asana sync token) count as pending but are never the
	// last event.
	SyncConnectionStatus(ctx context.Context, workspaceGID, jiraServerID, requestKind string) (SyncConnectionStatus, error)
	// CountConnectionLinks counts a connection's links as
	// SyncConnectionStatus does: its Links alone.
	CountConnectionLinks(ctx context.Context, workspaceGID, jiraServerID string) (int, error)
	// ListSyncLinkErrors lists a connection's links that show a sync
	// error, the latest error first, at most limit.
	ListSyncLinkErrors(ctx context.Context, workspaceGID, jiraServerID string, limit int) ([]SyncLinkError, error)
}

// Every figure of SyncConnectionStatus is a range of an index by
// connection ($1 workspace, $2 server): its links (links_connection, 012),
// and, by the connection's key that sync_changes and sync_link_state carry
// (migration 022), its links' errors (sync_link_state_errors), last sync
// (sync_link_state_connection), and per side the changes waiting
// (sync_changes_connection_pending: the count and the oldest) and the last
// one (sync_changes_connection). None reads a link, so a row costs the
// same whatever its connection's links.
const (
	// cappedCount counts up to $3 rows of a FROM … WHERE clause.
	cappedCount = `SELECT count(*) FROM (SELECT 1 FROM %s LIMIT $3) AS capped`
	// connectionLinks, connectionErrors and connectionPending are the rows
	// counted; the pending are those of side $4.
	connectionLinks   = `links WHERE workspace_gid = $1 AND jira_server_id = $2`
	connectionErrors  = `sync_link_state WHERE workspace_gid = $1 AND jira_server_id = $2 AND last_error <> ''`
	connectionPending = `sync_changes WHERE workspace_gid = $1 AND jira_server_id = $2 AND side = $%d AND applied_at IS NULL`
)

func (q queries) SyncConnectionStatus(ctx context.Context, workspaceGID, jiraServerID, requestKind string) (SyncConnectionStatus, error) {
	const op = "sync connection status"
	var s SyncConnectionStatus
	// The four counts in one statement: each a subquery, each a range.
	err := q.q.QueryRowContext(ctx, `SELECT (`+fmt.Sprintf(cappedCount, connectionLinks)+`), (`+fmt.Sprintf(cappedCount, connectionErrors)+`),
		(`+fmt.Sprintf(cappedCount, fmt.Sprintf(connectionPending, 4))+`), (`+fmt.Sprintf(cappedCount, fmt.Sprintf(connectionPending, 5))+`)`,
		workspaceGID, jiraServerID, SyncStatusCountCap+1, SideJira, SideAsana).Scan(&s.Links, &s.Errors, &s.Jira.Pending, &s.Asana.Pending)
	if err != nil {
		return s, q.wrap(op, err)
	}
	var synced sql.NullTime
	err = q.q.QueryRowContext(ctx, `SELECT last_synced_at FROM sync_link_state
		WHERE workspace_gid = $1 AND jira_server_id = $2 AND last_synced_at IS NOT NULL
		ORDER BY last_synced_at DESC LIMIT 1`, workspaceGID, jiraServerID).Scan(&synced)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s, q.wrap(op, err)
	}
	s.LastSyncedAt = fromNullTime(synced)
	for _, side := range []struct {
		name string
		into *SyncSideStatus
	}{{SideJira, &s.Jira}, {SideAsana, &s.Asana}} {
		if err := q.sideStatus(ctx, workspaceGID, jiraServerID, side.name, requestKind, side.into); err != nil {
			return s, q.wrap(op, err)
		}
	}
	return s, nil
}

func (q queries) CountConnectionLinks(ctx context.Context, workspaceGID, jiraServerID string) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, fmt.Sprintf(cappedCount, connectionLinks), workspaceGID, jiraServerID, SyncStatusCountCap+1).Scan(&n)
	return n, q.wrap("count links of connection", err)
}

// sideStatus reads the oldest change waiting from a side and its last
// event; the count came with the connection's other counts.
func (q queries) sideStatus(ctx context.Context, workspaceGID, jiraServerID, side, requestKind string, into *SyncSideStatus) error {
	var err error
	if into.Pending > 0 {
		into.Oldest, err = scanSyncChange(q.q.QueryRowContext(ctx, `SELECT `+syncChangeColumns+` FROM `+fmt.Sprintf(connectionPending, 3)+`
			ORDER BY id LIMIT 1`, workspaceGID, jiraServerID, side))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	// Backwards through the side's changes to the first that is not a
	// comparison asked for.
	into.Last, err = scanSyncChange(q.q.QueryRowContext(ctx, `SELECT `+syncChangeColumns+` FROM sync_changes
		WHERE workspace_gid = $1 AND jira_server_id = $2 AND side = $3 AND kind <> $4 ORDER BY id DESC LIMIT 1`,
		workspaceGID, jiraServerID, side, requestKind))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

func (q queries) ListSyncLinkErrors(ctx context.Context, workspaceGID, jiraServerID string, limit int) ([]SyncLinkError, error) {
	// The connection's states that show an error, in the order of
	// sync_link_state_errors (022), each with its link by key.
	return list(ctx, q, "list sync link errors", `SELECT `+prefixed("l.", linkColumns)+`, s.last_error, s.last_error_at
		FROM sync_link_state s JOIN links l ON l.id = s.link_id
		WHERE s.workspace_gid = $1 AND s.jira_server_id = $2 AND s.last_error <> ''
		ORDER BY s.last_error_at DESC, s.link_id LIMIT $3`, scanSyncLinkError, workspaceGID, jiraServerID, limitOr(limit, 50, 500))
}

func scanSyncLinkError(row scanner) (SyncLinkError, error) {
	var (
		e  SyncLinkError
		at sql.NullTime
	)
	l := &e.Link
	var created sql.NullTime
	err := row.Scan(&l.ID, &l.WorkspaceGID, &l.TaskGID, &l.JiraServerID, &l.IssueID, &l.IssueKey, &l.CreatedBy, &created,
		&e.Error, &at)
	l.CreatedAt, e.ErrorAt = fromNullTime(created), fromNullTime(at)
	return e, err
}
