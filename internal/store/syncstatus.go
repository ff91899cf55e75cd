package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SyncSideStatus is one side of a connection's sync: what waits to be
// applied from it and what it last told.
type SyncSideStatus struct {
	// Pending counts the changes from this side not yet applied; Oldest is
	// the first of them (ID 0 when none): the lag is its age.
	Pending int
	Oldest  SyncChange
	// Last is the latest change recorded from this side that was an event
	// (ID 0 when none): a comparison someone asked for is not one.
	Last SyncChange
}

// SyncConnectionStatus is the sync state of one connection's links (an
// Asana workspace × a Jira server), for the console's Sync page.
type SyncConnectionStatus struct {
	// Links counts the connection's links, up to SyncStatusLinkCap.
	Links int
	// Errors counts the links showing a sync error.
	Errors int
	// LastSyncedAt is when a run of one of its links last finished.
	LastSyncedAt time.Time
	// Jira and Asana are the changes from each side.
	Jira, Asana SyncSideStatus
}

// SyncStatusLinkCap bounds the link count of SyncConnectionStatus: past it
// the page says "more than".
const SyncStatusLinkCap = 100_000

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
	// CountConnectionLinks counts a connection's links up to
	// SyncStatusLinkCap: SyncConnectionStatus's Links alone.
	CountConnectionLinks(ctx context.Context, workspaceGID, jiraServerID string) (int, error)
	// ListSyncLinkErrors lists a connection's links that show a sync
	// error, the latest error first, at most limit.
	ListSyncLinkErrors(ctx context.Context, workspaceGID, jiraServerID string, limit int) ([]SyncLinkError, error)
}

// connectionChanges are the sync changes of one connection's links
// ($1 workspace, $2 server, $3 side).
const connectionChanges = `sync_changes c JOIN links l ON l.id = c.link_id
	WHERE l.workspace_gid = $1 AND l.jira_server_id = $2 AND c.side = $3`

func (q queries) SyncConnectionStatus(ctx context.Context, workspaceGID, jiraServerID, requestKind string) (SyncConnectionStatus, error) {
	const op = "sync connection status"
	var (
		s   SyncConnectionStatus
		err error
	)
	if s.Links, err = q.CountConnectionLinks(ctx, workspaceGID, jiraServerID); err != nil {
		return s, err
	}
	err = q.q.QueryRowContext(ctx, `SELECT count(*) FROM sync_link_state s JOIN links l ON l.id = s.link_id
		WHERE l.workspace_gid = $1 AND l.jira_server_id = $2 AND s.last_error <> ''`, workspaceGID, jiraServerID).Scan(&s.Errors)
	if err != nil {
		return s, q.wrap(op, err)
	}
	var synced sql.NullTime
	err = q.q.QueryRowContext(ctx, `SELECT s.last_synced_at FROM sync_link_state s JOIN links l ON l.id = s.link_id
		WHERE l.workspace_gid = $1 AND l.jira_server_id = $2 AND s.last_synced_at IS NOT NULL
		ORDER BY s.last_synced_at DESC LIMIT 1`, workspaceGID, jiraServerID).Scan(&synced)
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
	err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM links
		WHERE workspace_gid = $1 AND jira_server_id = $2 LIMIT $3) AS capped`, workspaceGID, jiraServerID, SyncStatusLinkCap).Scan(&n)
	return n, q.wrap("count links of connection", err)
}

func (q queries) sideStatus(ctx context.Context, workspaceGID, jiraServerID, side, requestKind string, into *SyncSideStatus) error {
	err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM `+connectionChanges+` AND c.applied_at IS NULL`,
		workspaceGID, jiraServerID, side).Scan(&into.Pending)
	if err != nil {
		return err
	}
	cols := prefixed("c.", syncChangeColumns)
	into.Oldest, err = scanSyncChange(q.q.QueryRowContext(ctx, `SELECT `+cols+` FROM `+connectionChanges+`
		AND c.applied_at IS NULL ORDER BY c.id LIMIT 1`, workspaceGID, jiraServerID, side))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	into.Last, err = scanSyncChange(q.q.QueryRowContext(ctx, `SELECT `+cols+` FROM `+connectionChanges+`
		AND c.kind <> $4 ORDER BY c.id DESC LIMIT 1`, workspaceGID, jiraServerID, side, requestKind))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

func (q queries) ListSyncLinkErrors(ctx context.Context, workspaceGID, jiraServerID string, limit int) ([]SyncLinkError, error) {
	return list(ctx, q, "list sync link errors", `SELECT `+prefixed("l.", linkColumns)+`, s.last_error, s.last_error_at
		FROM sync_link_state s JOIN links l ON l.id = s.link_id
		WHERE l.workspace_gid = $1 AND l.jira_server_id = $2 AND s.last_error <> ''
		ORDER BY s.last_error_at DESC, l.id LIMIT $3`, scanSyncLinkError, workspaceGID, jiraServerID, limitOr(limit, 50, 500))
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
