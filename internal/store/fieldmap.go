package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"
)

// FieldMapping is the field mapping of a connection (ProjectGID "") or
// the override of one of its routed projects. Mapping is the sync engine's
// JSON document (syncengine.Mapping); the store keeps it as it is.
type FieldMapping struct {
	WorkspaceGID string
	JiraServerID string
	ProjectGID   string
	Mapping      string
	UpdatedBy    string
	UpdatedAt    time.Time
}

// SyncFieldState is one mapped field of a link as the engine last saw or
// wrote it: the value on each side (normalised, "" for none), the side the
// engine wrote last (SideAsana, SideJira or ""), and how many writes it made
// to the field (Seq names the next write in the effects ledger).
type SyncFieldState struct {
	LinkID     int64
	Field      string
	AsanaValue string
	JiraValue  string
	Written    string
	Seq        int64
	UpdatedAt  time.Time
}

// FieldMappingQueries are the reads and writes of field mappings and of the
// links' field state (migration 010).
type FieldMappingQueries interface {
	// GetFieldMapping reads the mapping of a connection (projectGID "") or
	// of one routed project; ErrNotFound when none was saved.
	GetFieldMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) (FieldMapping, error)
	// PutFieldMapping saves a mapping; ErrNotFound when the connection does
	// not exist.
	PutFieldMapping(ctx context.Context, m FieldMapping) error
	// DeleteFieldMapping removes a mapping (a project's override: the
	// connection's applies again); ErrNotFound when there is none.
	DeleteFieldMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) error
	// ListFieldMappings lists a connection's mapping and its projects'
	// overrides, the connection's first.
	ListFieldMappings(ctx context.Context, workspaceGID, jiraServerID string) ([]FieldMapping, error)

	// ListSyncFieldStates lists a link's field state, by field.
	ListSyncFieldStates(ctx context.Context, linkID int64) ([]SyncFieldState, error)
	// PutSyncFieldState creates or replaces one field's state of a link;
	// ErrNotFound when the link does not exist.
	PutSyncFieldState(ctx context.Context, s SyncFieldState) error
	// DeleteSyncFieldState removes one field's state of a link as s has
	// it (its Seq), and reports whether it did: a state written anew
	// since (a sync run's, a higher Seq) is left alone.
	DeleteSyncFieldState(ctx context.Context, s SyncFieldState) (bool, error)
}

const fieldMappingColumns = `workspace_gid, jira_server_id, project_gid, mapping, updated_by, updated_at`

func scanFieldMapping(row scanner) (FieldMapping, error) {
	var (
		m       FieldMapping
		updated sql.NullTime
	)
	err := row.Scan(&m.WorkspaceGID, &m.JiraServerID, &m.ProjectGID, &m.Mapping, &m.UpdatedBy, &updated)
	m.UpdatedAt = fromNullTime(updated)
	return m, err
}

func (q queries) GetFieldMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) (FieldMapping, error) {
	m, err := scanFieldMapping(q.q.QueryRowContext(ctx, `SELECT `+fieldMappingColumns+` FROM sync_field_mappings
		WHERE workspace_gid = $1 AND jira_server_id = $2 AND project_gid = $3`, workspaceGID, jiraServerID, projectGID))
	return m, q.wrap("get field mapping", err)
}

func (q queries) PutFieldMapping(ctx context.Context, m FieldMapping) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO sync_field_mappings (`+fieldMappingColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (workspace_gid, jira_server_id, project_gid) DO UPDATE SET mapping = excluded.mapping,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		m.WorkspaceGID, m.JiraServerID, m.ProjectGID, m.Mapping, m.UpdatedBy, q.now())
	return q.wrap("put field mapping", err)
}

func (q queries) DeleteFieldMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sync_field_mappings
		WHERE workspace_gid = $1 AND jira_server_id = $2 AND project_gid = $3`, workspaceGID, jiraServerID, projectGID)
	return q.mustAffect("delete field mapping", res, err)
}

func (q queries) ListFieldMappings(ctx context.Context, workspaceGID, jiraServerID string) ([]FieldMapping, error) {
	return list(ctx, q, "list field mappings", `SELECT `+fieldMappingColumns+` FROM sync_field_mappings
		WHERE workspace_gid = $1 AND jira_server_id = $2 ORDER BY project_gid`, scanFieldMapping, workspaceGID, jiraServerID)
}

const syncFieldStateColumns = `link_id, field, asana_value, jira_value, written, seq, updated_at`

func scanSyncFieldState(row scanner) (SyncFieldState, error) {
	var (
		s       SyncFieldState
		updated sql.NullTime
	)
	err := row.Scan(&s.LinkID, &s.Field, &s.AsanaValue, &s.JiraValue, &s.Written, &s.Seq, &updated)
	s.UpdatedAt = fromNullTime(updated)
	return s, err
}

func (q queries) ListSyncFieldStates(ctx context.Context, linkID int64) ([]SyncFieldState, error) {
	return list(ctx, q, "list field state of link "+strconv.FormatInt(linkID, 10), `SELECT `+syncFieldStateColumns+`
		FROM sync_field_state WHERE link_id = $1 ORDER BY field`, scanSyncFieldState, linkID)
}

func (q queries) PutSyncFieldState(ctx context.Context, s SyncFieldState) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO sync_field_state (`+syncFieldStateColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (link_id, field) DO UPDATE SET asana_value = excluded.asana_value, jira_value = excluded.jira_value,
			written = excluded.written, seq = excluded.seq, updated_at = excluded.updated_at`,
		s.LinkID, s.Field, s.AsanaValue, s.JiraValue, s.Written, s.Seq, q.now())
	return q.wrap("put field state of link "+strconv.FormatInt(s.LinkID, 10), err)
}

func (q queries) DeleteSyncFieldState(ctx context.Context, s SyncFieldState) (bool, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sync_field_state WHERE link_id = $1 AND field = $2 AND seq = $3`,
		s.LinkID, s.Field, s.Seq)
	op := "delete field state " + s.Field + " of link " + strconv.FormatInt(s.LinkID, 10)
	if err != nil {
		return false, q.wrap(op, err)
	}
	n, err := res.RowsAffected()
	return n > 0, q.wrap(op, err)
}
