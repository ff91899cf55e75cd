package syncengine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// ErrNoConnection is returned for sync settings of a connection that does
// not exist.
var ErrNoConnection = errors.New("syncengine: the Asana workspace is not connected to that Jira server")

// Settings returns a connection's sync settings. A connection never set up
// does not sync; comments and completion are preselected for when it does.
func (e *Engine) Settings(ctx context.Context, workspaceGID, jiraServerID string) (store.SyncSettings, error) {
	s, err := e.st.GetSyncSettings(ctx, workspaceGID, jiraServerID)
	if errors.Is(err, store.ErrNotFound) {
		return store.SyncSettings{WorkspaceGID: workspaceGID, JiraServerID: jiraServerID, Comments: true, Completion: true}, nil
	}
	return s, wrap("settings", err)
}

// ListSettings returns the settings of every connection that has some.
func (e *Engine) ListSettings(ctx context.Context) ([]store.SyncSettings, error) {
	s, err := e.st.ListSyncSettings(ctx)
	return s, wrap("settings", err)
}

// PutSettings saves a connection's sync settings, by is who changed them
// (for the record). Switching sync on starts it from now: comments written
// before are never mirrored.
func (e *Engine) PutSettings(ctx context.Context, s store.SyncSettings, by string) error {
	s.DoneTransition, s.ReopenTransition = strings.TrimSpace(s.DoneTransition), strings.TrimSpace(s.ReopenTransition)
	if s.WorkspaceGID == "" || s.JiraServerID == "" {
		return errors.New("syncengine: settings need a workspace and a Jira server")
	}
	s.UpdatedBy = by
	err := e.st.PutSyncSettings(ctx, s)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w (%s × %s)", ErrNoConnection, s.WorkspaceGID, s.JiraServerID)
	}
	return wrap("settings", err)
}

// Status is a link's sync status, for the widget and the console.
type Status struct {
	// Syncing says the link's connection has sync enabled.
	Syncing bool
	// LastSyncedAt is when a run last finished (zero: never).
	LastSyncedAt time.Time
	// Error is the visible sync error ("" when none), since ErrorAt.
	Error   string
	ErrorAt time.Time
}

// LinkStatus returns a link's sync status.
func (e *Engine) LinkStatus(ctx context.Context, linkID int64) (Status, error) {
	link, err := e.st.GetLink(ctx, linkID)
	if err != nil {
		return Status{}, wrap("status", err)
	}
	on, err := syncing(ctx, e.st, link)
	if err != nil {
		return Status{}, err
	}
	st, err := e.st.GetSyncLinkState(ctx, linkID)
	if errors.Is(err, store.ErrNotFound) {
		return Status{Syncing: on}, nil
	}
	if err != nil {
		return Status{}, wrap("status", err)
	}
	return Status{Syncing: on, LastSyncedAt: st.LastSyncedAt, Error: st.LastError, ErrorAt: st.LastErrorAt}, nil
}

// History returns a link's sync history, newest first.
func (e *Engine) History(ctx context.Context, linkID int64, limit int) ([]store.SyncHistory, error) {
	h, err := e.st.ListSyncHistory(ctx, linkID, limit)
	return h, wrap("history", err)
}

// keepChanges is how long applied changes are kept for the console.
const keepChanges = 30 * 24 * time.Hour

// PruneChanges deletes changes applied more than 30 days ago.
func (e *Engine) PruneChanges(ctx context.Context) error {
	_, err := e.st.PruneSyncChanges(ctx, e.now().Add(-keepChanges))
	return wrap("prune changes", err)
}
