package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SyncSettings are the two-way sync settings of one connection (an Asana
// workspace × a Jira server). Without a stored row sync is off.
type SyncSettings struct {
	WorkspaceGID string
	JiraServerID string
	// Enabled turns sync on for every link of the connection; Comments and
	// Completion select what syncs.
	Enabled    bool
	Comments   bool
	Completion bool
	// DoneTransition and ReopenTransition name the Jira transition to take
	// when several lead to a status of the wanted category ("" = the first).
	DoneTransition   string
	ReopenTransition string
	// EnabledAt is when sync was last switched on (set by the store).
	EnabledAt time.Time
	UpdatedBy string
	UpdatedAt time.Time
}

// Sides of a link, in sync records.
const (
	SideJira  = "jira"
	SideAsana = "asana"
)

// SyncChange is a change an intake observed on one side of a link,
// recorded once per (LinkID, Side, DedupKey). AppliedAt, Outcome and Error
// are set by the sync run that handled it.
type SyncChange struct {
	ID       int64
	LinkID   int64
	Side     string // SideJira or SideAsana
	Source   string // the intake: "webhook", "reconcile", "events", ...
	DedupKey string
	Kind     string // what changed: "comment", "completion", "issue", ...
	// Object is the comment id or story gid the change is about, if any;
	// Actor who made it (a Jira user name or an Asana user gid), if known.
	Object     string
	Actor      string
	Detail     string
	ObservedAt time.Time // when it happened on its side; zero if unknown
	ReceivedAt time.Time
	AppliedAt  time.Time
	Outcome    string // "applied", "echo", "noop" or "error" once applied
	Error      string
}

// SyncChangeFilter pages through a link's changes, newest first.
type SyncChangeFilter struct {
	LinkID   int64
	BeforeID int64
	Limit    int
}

// SyncLinkState is one link's sync state.
type SyncLinkState struct {
	LinkID int64
	// BaselineAt is when the link first synced (zero: not yet).
	BaselineAt time.Time
	// AsanaCompleted and JiraDone are the completion of the task and
	// whether the status is in the done category, as the engine
	// last saw or wrote them (nil before the baseline). AsanaWritten and
	// JiraWritten say the value was written by the engine.
	AsanaCompleted *bool
	JiraDone       *bool
	AsanaWritten   bool
	JiraWritten    bool
	LastSyncedAt   time.Time
	// LastError is the visible sync error ("" when the last run succeeded).
	LastError   string
	LastErrorAt time.Time
	// LeaseOwner holds the link until LeaseUntil: one sync run at a time.
	LeaseOwner string
	LeaseUntil time.Time
	UpdatedAt  time.Time
}

// States and origins of a mirrored comment.
const (
	// SyncCommentSynced: both sides exist and are kept in step.
	SyncCommentSynced = "synced"
	// SyncCommentIgnored: existed when sync began, or must not be mirrored.
	SyncCommentIgnored = "ignored"
	// SyncCommentDeleted: one side was deleted and the other followed (or
	// was left alone, when it was the mirror that went).
	SyncCommentDeleted = "deleted"
	// SyncCommentWithdrawn: the Jira original of a mirror left the view
	// everyone shares (restricted to a group or role, hidden from the
	// link's owner, or deleted) and its story was deleted with it; should
	// the original come back into view, it is mirrored again as a new
	// story. AsanaStoryGID is the story withdrawn.
	SyncCommentWithdrawn = "withdrawn"

	OriginJira     = "jira"
	OriginAsana    = "asana"
	OriginBaseline = "baseline"
	// OriginOwn: asanajira wrote it outside the mirroring (a status note,
	// a copy report); never mirrored.
	OriginOwn = "asanajira"
)

// SyncComment maps a Jira comment to a task story.
type SyncComment struct {
	ID            int64
	LinkID        int64
	JiraCommentID string
	AsanaStoryGID string
	// Origin is the side the comment was written on (OriginJira,
	// OriginAsana), OriginBaseline for one that existed before sync, or
	// OriginOwn for one asanajira wrote that is no mirror.
	Origin string
	State  string
	// JiraHash and AsanaHash digest both texts as last seen or written.
	JiraHash  string
	AsanaHash string
	// Author is who wrote the original (Jira user name or Asana user gid);
	// WrittenBy the Asana user whose account wrote the mirror; Prefix the
	// attribution line the mirror starts with ("" when written as its
	// author).
	Author    string
	WrittenBy string
	Prefix    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Origins of an attachment mapping (SyncAttachment.Origin).
const (
	// AttachmentFromJira: a Jira attachment copied to the task.
	AttachmentFromJira = "jira"
	// AttachmentFromAsana: a task's file copied to the issue.
	AttachmentFromAsana = "asana"
	// AttachmentSame: the other side had the same file (name and size)
	// already.
	AttachmentSame = "same"
	// AttachmentSkipped: a Jira attachment that was not copied, and why was
	// told; it is never tried again.
	AttachmentSkipped = "skipped"
)

// SyncAttachment pairs a Jira attachment with its Asana counterpart on a
// link, so that neither is copied back.
type SyncAttachment struct {
	ID                 int64
	LinkID             int64
	JiraAttachmentID   string
	AsanaAttachmentGID string // "" for AttachmentSkipped
	Origin             string
	CreatedAt          time.Time
}

// SyncHistory is one thing the engine did on a link, for people.
type SyncHistory struct {
	ID        int64
	LinkID    int64
	At        time.Time
	Direction string // "jira_to_asana", "asana_to_jira" or ""
	What      string
	Actor     string
	Detail    string
}

// SyncQueries are the reads and writes of the sync engine's state.
type SyncQueries interface {
	// GetSyncSettings returns a connection's sync settings; ErrNotFound
	// when none were saved (sync is off).
	GetSyncSettings(ctx context.Context, workspaceGID, jiraServerID string) (SyncSettings, error)
	// PutSyncSettings saves a connection's settings; ErrNotFound when the
	// connection does not exist.
	PutSyncSettings(ctx context.Context, s SyncSettings) error
	ListSyncSettings(ctx context.Context) ([]SyncSettings, error)
	// GetLink reads a link by its id.
	GetLink(ctx context.Context, id int64) (Link, error)
	// ListSyncedLinks lists the links of a Jira server whose connection has
	// sync enabled, oldest first.
	ListSyncedLinks(ctx context.Context, jiraServerID string) ([]Link, error)

	// RecordSyncChange stores c unless a change with its (link, side, dedup
	// key) exists; it reports whether it stored it and sets c.ID. It never
	// raises a unique violation, so it is safe inside InTx.
	RecordSyncChange(ctx context.Context, c *SyncChange) (bool, error)
	// PendingSyncChanges lists a link's changes not yet applied, oldest
	// first, at most limit.
	PendingSyncChanges(ctx context.Context, linkID int64, limit int) ([]SyncChange, error)
	// FinishSyncChange marks a change applied with its outcome.
	FinishSyncChange(ctx context.Context, id int64, outcome, errText string) error
	// SyncChangeObservedSince reports whether a change of the link on side,
	// from one of sources, was observed at or after at.
	SyncChangeObservedSince(ctx context.Context, linkID int64, side string, at time.Time, sources ...string) (bool, error)
	// ListSyncChanges pages through a link's changes, newest first.
	ListSyncChanges(ctx context.Context, f SyncChangeFilter) ([]SyncChange, error)
	// PruneSyncChanges deletes changes applied before the given time.
	PruneSyncChanges(ctx context.Context, before time.Time) (int64, error)

	// AcquireSyncLease gives the link to owner for ttl (by the store's
	// clock) when nobody else holds a live lease, creating its state on
	// first use, and returns the state. The holder renews by acquiring
	// again. When another owner holds it, it returns the state and
	// ErrConflict. Safe inside InTx.
	AcquireSyncLease(ctx context.Context, linkID int64, owner string, ttl time.Duration) (SyncLinkState, error)
	// ReleaseSyncLease ends owner's lease (nothing when it is not owner's).
	ReleaseSyncLease(ctx context.Context, linkID int64, owner string) error
	// SaveSyncLinkState writes the state's values (not its lease) while
	// owner holds the lease; ErrConflict when it does not.
	SaveSyncLinkState(ctx context.Context, s SyncLinkState, owner string) error
	// GetSyncLinkState reads a link's state; ErrNotFound before its first
	// sync.
	GetSyncLinkState(ctx context.Context, linkID int64) (SyncLinkState, error)

	// ListSyncComments lists a link's comment map, oldest first.
	ListSyncComments(ctx context.Context, linkID int64) ([]SyncComment, error)
	// InsertSyncComment stores a mapping and sets c.ID; ErrConflict (and no
	// unique violation) when its Jira comment or its story is mapped
	// already.
	InsertSyncComment(ctx context.Context, c *SyncComment) error
	// UpdateSyncComment rewrites a mapping by its ID.
	UpdateSyncComment(ctx context.Context, c SyncComment) error

	// ListSyncAttachments lists a link's attachment map, oldest first.
	ListSyncAttachments(ctx context.Context, linkID int64) ([]SyncAttachment, error)
	// InsertSyncAttachment stores a mapping and sets a.ID; ErrConflict (and
	// no unique violation) when its Jira attachment is mapped already.
	InsertSyncAttachment(ctx context.Context, a *SyncAttachment) error

	AppendSyncHistory(ctx context.Context, h SyncHistory) error
	// ListSyncHistory lists a link's history, newest first, at most limit.
	ListSyncHistory(ctx context.Context, linkID int64, limit int) ([]SyncHistory, error)

	// GetSyncCursor reads a named cursor; ErrNotFound when unset.
	GetSyncCursor(ctx context.Context, name string) (string, error)
	PutSyncCursor(ctx context.Context, name, value string) error
}

// Settings.

const syncSettingsColumns = `workspace_gid, jira_server_id, enabled, comments, completion, done_transition,
	reopen_transition, enabled_at, updated_by, updated_at`

func scanSyncSettings(row scanner) (SyncSettings, error) {
	var (
		s                SyncSettings
		enabled, updated sql.NullTime
	)
	err := row.Scan(&s.WorkspaceGID, &s.JiraServerID, &s.Enabled, &s.Comments, &s.Completion, &s.DoneTransition,
		&s.ReopenTransition, &enabled, &s.UpdatedBy, &updated)
	s.EnabledAt, s.UpdatedAt = fromNullTime(enabled), fromNullTime(updated)
	return s, err
}

func (q queries) GetSyncSettings(ctx context.Context, workspaceGID, jiraServerID string) (SyncSettings, error) {
	s, err := scanSyncSettings(q.q.QueryRowContext(ctx, `SELECT `+syncSettingsColumns+` FROM sync_settings
		WHERE workspace_gid = $1 AND jira_server_id = $2`, workspaceGID, jiraServerID))
	return s, q.wrap("get sync settings", err)
}

func (q queries) PutSyncSettings(ctx context.Context, s SyncSettings) error {
	now := q.now()
	var enabledAt sql.NullTime
	if s.Enabled {
		enabledAt = nullTime(now)
	}
	// enabled_at moves only when sync is switched on; it stays while sync
	// stays on and is kept, as history, when it is switched off.
	_, err := q.q.ExecContext(ctx, `INSERT INTO sync_settings (`+syncSettingsColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (workspace_gid, jira_server_id) DO UPDATE SET enabled = excluded.enabled,
			comments = excluded.comments, completion = excluded.completion,
			done_transition = excluded.done_transition, reopen_transition = excluded.reopen_transition,
			enabled_at = CASE WHEN excluded.enabled AND NOT sync_settings.enabled THEN excluded.enabled_at
				ELSE sync_settings.enabled_at END,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		s.WorkspaceGID, s.JiraServerID, s.Enabled, s.Comments, s.Completion, s.DoneTransition, s.ReopenTransition,
		enabledAt, s.UpdatedBy, now)
	return q.wrap("put sync settings", err)
}

func (q queries) ListSyncSettings(ctx context.Context) ([]SyncSettings, error) {
	return list(ctx, q, "list sync settings", `SELECT `+syncSettingsColumns+` FROM sync_settings
		ORDER BY workspace_gid, jira_server_id`, scanSyncSettings)
}

func (q queries) GetLink(ctx context.Context, id int64) (Link, error) {
	l, err := scanLink(q.q.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links WHERE id = $1`, id))
	return l, q.wrap("get link "+strconv.FormatInt(id, 10), err)
}

func (q queries) ListSyncedLinks(ctx context.Context, jiraServerID string) ([]Link, error) {
	// From the server's connections that sync (sync_settings_enabled) to
	// their links (links_connection): a server whose connections do not
	// sync costs one index probe, not a read of its links. CROSS JOIN
	// keeps SQLite's planner to that order (it preferred the server's links
	// in id order, for the ORDER BY, each probing its settings).
	return list(ctx, q, "list synced links", `SELECT `+prefixed("l.", linkColumns)+` FROM sync_settings s
		CROSS JOIN links l
		WHERE s.jira_server_id = $1 AND s.enabled AND l.workspace_gid = s.workspace_gid AND l.jira_server_id = s.jira_server_id
		ORDER BY l.id`, scanLink, jiraServerID)
}

// Changes.

const syncChangeColumns = `id, link_id, side, source, dedup_key, kind, object, actor, detail, observed_at,
	received_at, applied_at, outcome, error`

func scanSyncChange(row scanner) (SyncChange, error) {
	var (
		c                           SyncChange
		observed, received, applied sql.NullTime
	)
	err := row.Scan(&c.ID, &c.LinkID, &c.Side, &c.Source, &c.DedupKey, &c.Kind, &c.Object, &c.Actor, &c.Detail,
		&observed, &received, &applied, &c.Outcome, &c.Error)
	c.ObservedAt, c.ReceivedAt, c.AppliedAt = fromNullTime(observed), fromNullTime(received), fromNullTime(applied)
	return c, err
}

func (q queries) RecordSyncChange(ctx context.Context, c *SyncChange) (bool, error) {
	if c.LinkID == 0 || (c.Side != SideJira && c.Side != SideAsana) || c.DedupKey == "" || c.Kind == "" || c.Source == "" {
		return false, errors.New("store: record sync change: a link, a side (jira or asana), a source, a kind and a dedup key are required")
	}
	now := q.now()
	// The link's connection is copied for the Sync page's figures by
	// connection (migration 022).
	err := q.q.QueryRowContext(ctx, `INSERT INTO sync_changes (link_id, side, source, dedup_key, kind, object, actor,
			detail, observed_at, received_at, workspace_gid, jira_server_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, `+linkConnection+`)
		ON CONFLICT (link_id, side, dedup_key) DO NOTHING RETURNING id`,
		c.LinkID, c.Side, c.Source, c.DedupKey, c.Kind, c.Object, c.Actor, c.Detail, nullTime(c.ObservedAt), now).Scan(&c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, q.wrap("record sync change", err)
	}
	c.ReceivedAt = now
	return true, nil
}

func (q queries) PendingSyncChanges(ctx context.Context, linkID int64, limit int) ([]SyncChange, error) {
	return list(ctx, q, "pending sync changes", `SELECT `+syncChangeColumns+` FROM sync_changes
		WHERE link_id = $1 AND applied_at IS NULL ORDER BY id LIMIT $2`, scanSyncChange, linkID, limitOr(limit, 100, 1000))
}

func (q queries) FinishSyncChange(ctx context.Context, id int64, outcome, errText string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE sync_changes SET applied_at = $2, outcome = $3, error = $4 WHERE id = $1`,
		id, q.now(), outcome, errText)
	return q.mustAffect("finish sync change "+strconv.FormatInt(id, 10), res, err)
}

func (q queries) SyncChangeObservedSince(ctx context.Context, linkID int64, side string, at time.Time, sources ...string) (bool, error) {
	if len(sources) == 0 {
		return false, errors.New("store: sync change observed since: no source given")
	}
	args := []any{linkID, side, dbTime(at)}
	in := make([]string, len(sources))
	for i, src := range sources {
		args = append(args, src)
		in[i] = "$" + strconv.Itoa(len(args))
	}
	// Newest first along (link_id, side, id): the change looked for is
	// usually among the link's last ones.
	var one int
	err := q.q.QueryRowContext(ctx, `SELECT 1 FROM sync_changes WHERE link_id = $1 AND side = $2 AND observed_at >= $3
		AND source IN (`+strings.Join(in, ", ")+`) ORDER BY id DESC LIMIT 1`, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, q.wrap("sync change observed since", err)
	}
	return true, nil
}

func (q queries) ListSyncChanges(ctx context.Context, f SyncChangeFilter) ([]SyncChange, error) {
	before := f.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	return list(ctx, q, "list sync changes", `SELECT `+syncChangeColumns+` FROM sync_changes
		WHERE link_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, scanSyncChange, f.LinkID, before, limitOr(f.Limit, 50, 500))
}

func (q queries) PruneSyncChanges(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM sync_changes WHERE applied_at IS NOT NULL AND applied_at < $1`, dbTime(before))
	if err != nil {
		return 0, q.wrap("prune sync changes", err)
	}
	n, err := res.RowsAffected()
	return n, q.wrap("prune sync changes", err)
}

// linkConnection is the connection of link $1 (its workspace, its
// server), as two values of an INSERT: sync_changes and sync_link_state
// carry it so that the Sync page reads a connection's figures as ranges of
// their indexes (syncstatus.go).
// A link that does not exist leaves them empty, and the foreign key of
// link_id reports it (ErrNotFound).
const linkConnection = `COALESCE((SELECT workspace_gid FROM links WHERE id = $1), ''),
	COALESCE((SELECT jira_server_id FROM links WHERE id = $1), '')`

// Link state and lease.

const syncLinkStateColumns = `link_id, baseline_at, asana_completed, jira_done, asana_written, jira_written,
	last_synced_at, last_error, last_error_at, lease_owner, lease_until, updated_at`

func scanSyncLinkState(row scanner) (SyncLinkState, error) {
	var (
		s                                   SyncLinkState
		baseline, synced, errAt, lease, upd sql.NullTime
		completed, done                     sql.NullBool
	)
	err := row.Scan(&s.LinkID, &baseline, &completed, &done, &s.AsanaWritten, &s.JiraWritten, &synced, &s.LastError,
		&errAt, &s.LeaseOwner, &lease, &upd)
	s.BaselineAt, s.LastSyncedAt, s.LastErrorAt = fromNullTime(baseline), fromNullTime(synced), fromNullTime(errAt)
	s.LeaseUntil, s.UpdatedAt = fromNullTime(lease), fromNullTime(upd)
	if completed.Valid {
		s.AsanaCompleted = &completed.Bool
	}
	if done.Valid {
		s.JiraDone = &done.Bool
	}
	return s, err
}

func nullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

func (q queries) AcquireSyncLease(ctx context.Context, linkID int64, owner string, ttl time.Duration) (SyncLinkState, error) {
	if owner == "" || ttl <= 0 {
		return SyncLinkState{}, errors.New("store: acquire sync lease: an owner and a positive ttl are required")
	}
	now := q.now()
	// One statement: create the state with the lease, or take a lease that
	// is free, lapsed or already owner's. A live lease of another owner
	// makes it return no row (and raise nothing).
	s, err := scanSyncLinkState(q.q.QueryRowContext(ctx, `INSERT INTO sync_link_state (link_id, lease_owner, lease_until, updated_at,
			workspace_gid, jira_server_id)
		VALUES ($1, $2, $3, $4, `+linkConnection+`)
		ON CONFLICT (link_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
		WHERE sync_link_state.lease_owner = excluded.lease_owner OR sync_link_state.lease_owner = ''
			OR sync_link_state.lease_until IS NULL OR sync_link_state.lease_until <= excluded.updated_at
		RETURNING `+syncLinkStateColumns, linkID, owner, dbTime(now.Add(ttl)), now))
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return SyncLinkState{}, q.wrap("acquire sync lease", err)
	}
	s, err = q.GetSyncLinkState(ctx, linkID)
	if err != nil {
		return SyncLinkState{}, err
	}
	return s, fmt.Errorf("store: acquire sync lease of link %d: held until %s: %w", linkID, s.LeaseUntil.Format(time.RFC3339), ErrConflict)
}

func (q queries) ReleaseSyncLease(ctx context.Context, linkID int64, owner string) error {
	_, err := q.q.ExecContext(ctx, `UPDATE sync_link_state SET lease_owner = '', lease_until = NULL
		WHERE link_id = $1 AND lease_owner = $2`, linkID, owner)
	return q.wrap("release sync lease", err)
}

func (q queries) SaveSyncLinkState(ctx context.Context, s SyncLinkState, owner string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE sync_link_state SET baseline_at = $3, asana_completed = $4, jira_done = $5,
		asana_written = $6, jira_written = $7, last_synced_at = $8, last_error = $9, last_error_at = $10, updated_at = $11
		WHERE link_id = $1 AND lease_owner = $2`,
		s.LinkID, owner, nullTime(s.BaselineAt), nullBool(s.AsanaCompleted), nullBool(s.JiraDone), s.AsanaWritten,
		s.JiraWritten, nullTime(s.LastSyncedAt), s.LastError, nullTime(s.LastErrorAt), q.now())
	err = q.mustAffect("save sync state of link "+strconv.FormatInt(s.LinkID, 10), res, err)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: save sync state of link %d: the lease is not %s's: %w", s.LinkID, owner, ErrConflict)
	}
	return err
}

func (q queries) GetSyncLinkState(ctx context.Context, linkID int64) (SyncLinkState, error) {
	s, err := scanSyncLinkState(q.q.QueryRowContext(ctx, `SELECT `+syncLinkStateColumns+` FROM sync_link_state
		WHERE link_id = $1`, linkID))
	return s, q.wrap("get sync state of link "+strconv.FormatInt(linkID, 10), err)
}

// Comment map.

const syncCommentColumns = `id, link_id, jira_comment_id, asana_story_gid, origin, state, jira_hash, asana_hash,
	author, written_by, prefix, created_at, updated_at`

func scanSyncComment(row scanner) (SyncComment, error) {
	var (
		c                SyncComment
		created, updated sql.NullTime
	)
	err := row.Scan(&c.ID, &c.LinkID, &c.JiraCommentID, &c.AsanaStoryGID, &c.Origin, &c.State, &c.JiraHash, &c.AsanaHash,
		&c.Author, &c.WrittenBy, &c.Prefix, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromNullTime(created), fromNullTime(updated)
	return c, err
}

func (q queries) ListSyncComments(ctx context.Context, linkID int64) ([]SyncComment, error) {
	return list(ctx, q, "list sync comments", `SELECT `+syncCommentColumns+` FROM sync_comments
		WHERE link_id = $1 ORDER BY id`, scanSyncComment, linkID)
}

func (q queries) InsertSyncComment(ctx context.Context, c *SyncComment) error {
	if c.JiraCommentID == "" && c.AsanaStoryGID == "" {
		return errors.New("store: insert sync comment: a Jira comment id or a story gid is required")
	}
	now := q.now()
	err := q.q.QueryRowContext(ctx, `INSERT INTO sync_comments (link_id, jira_comment_id, asana_story_gid, origin, state,
			jira_hash, asana_hash, author, written_by, prefix, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT DO NOTHING RETURNING id`,
		c.LinkID, c.JiraCommentID, c.AsanaStoryGID, c.Origin, c.State, c.JiraHash, c.AsanaHash, c.Author, c.WrittenBy,
		c.Prefix, now).Scan(&c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: map comment %q ↔ story %q: mapped already: %w", c.JiraCommentID, c.AsanaStoryGID, ErrConflict)
	}
	if err != nil {
		return q.wrap("insert sync comment", err)
	}
	c.CreatedAt, c.UpdatedAt = now, now
	return nil
}

func (q queries) UpdateSyncComment(ctx context.Context, c SyncComment) error {
	res, err := q.q.ExecContext(ctx, `UPDATE sync_comments SET jira_comment_id = $2, asana_story_gid = $3, origin = $4,
		state = $5, jira_hash = $6, asana_hash = $7, author = $8, written_by = $9, prefix = $10, updated_at = $11
		WHERE id = $1`,
		c.ID, c.JiraCommentID, c.AsanaStoryGID, c.Origin, c.State, c.JiraHash, c.AsanaHash, c.Author, c.WrittenBy,
		c.Prefix, q.now())
	return q.mustAffect("update sync comment "+strconv.FormatInt(c.ID, 10), res, err)
}

// Attachment map.

func scanSyncAttachment(row scanner) (SyncAttachment, error) {
	var (
		a       SyncAttachment
		created sql.NullTime
	)
	err := row.Scan(&a.ID, &a.LinkID, &a.JiraAttachmentID, &a.AsanaAttachmentGID, &a.Origin, &created)
	a.CreatedAt = fromNullTime(created)
	return a, err
}

func (q queries) ListSyncAttachments(ctx context.Context, linkID int64) ([]SyncAttachment, error) {
	return list(ctx, q, "list sync attachments", `SELECT id, link_id, jira_attachment_id, asana_attachment_gid, origin, created_at
		FROM sync_attachments WHERE link_id = $1 ORDER BY id`, scanSyncAttachment, linkID)
}

func (q queries) InsertSyncAttachment(ctx context.Context, a *SyncAttachment) error {
	if a.JiraAttachmentID == "" || a.Origin == "" {
		return errors.New("store: insert sync attachment: a Jira attachment id and an origin are required")
	}
	now := q.now()
	err := q.q.QueryRowContext(ctx, `INSERT INTO sync_attachments (link_id, jira_attachment_id, asana_attachment_gid, origin, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id`,
		a.LinkID, a.JiraAttachmentID, a.AsanaAttachmentGID, a.Origin, now).Scan(&a.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: map Jira attachment %q ↔ %q: mapped already: %w", a.JiraAttachmentID, a.AsanaAttachmentGID, ErrConflict)
	}
	if err != nil {
		return q.wrap("insert sync attachment", err)
	}
	a.CreatedAt = now
	return nil
}

// History.

func (q queries) AppendSyncHistory(ctx context.Context, h SyncHistory) error {
	at := h.At
	if at.IsZero() {
		at = q.s.now()
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO sync_history (link_id, at, direction, what, actor, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, h.LinkID, dbTime(at), h.Direction, h.What, h.Actor, h.Detail)
	return q.wrap("append sync history", err)
}

func (q queries) ListSyncHistory(ctx context.Context, linkID int64, limit int) ([]SyncHistory, error) {
	return list(ctx, q, "list sync history", `SELECT id, link_id, at, direction, what, actor, detail FROM sync_history
		WHERE link_id = $1 ORDER BY id DESC LIMIT $2`,
		func(row scanner) (SyncHistory, error) {
			var (
				h  SyncHistory
				at sql.NullTime
			)
			err := row.Scan(&h.ID, &h.LinkID, &at, &h.Direction, &h.What, &h.Actor, &h.Detail)
			h.At = fromNullTime(at)
			return h, err
		}, linkID, limitOr(limit, 50, 500))
}

// Cursors.

func (q queries) GetSyncCursor(ctx context.Context, name string) (string, error) {
	var v string
	err := q.q.QueryRowContext(ctx, `SELECT value FROM sync_cursors WHERE name = $1`, name).Scan(&v)
	return v, q.wrap("get sync cursor "+name, err)
}

func (q queries) PutSyncCursor(ctx context.Context, name, value string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("store: put sync cursor: a name is required")
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO sync_cursors (name, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, name, value, q.now())
	return q.wrap("put sync cursor "+name, err)
}
