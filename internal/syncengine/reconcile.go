package syncengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// ReconcileResult counts what a reconciliation pass did.
type ReconcileResult struct {
	Servers int
	// Seen counts the linked issues the searches returned; Recorded the
	// changes recorded for them (an issue seen by an earlier pass at the
	// same update is not recorded again).
	Seen     int
	Recorded int
}

// cursorName is the sync_cursors row of a server's reconciliation.
func cursorName(serverID string) string { return "jira-reconcile:" + serverID }

// ReconcileJira runs ReconcileServer for every Jira server. A server that
// fails does not stop the others; the errors are joined.
func (e *Engine) ReconcileJira(ctx context.Context) (ReconcileResult, error) {
	servers, err := e.st.ListJiraServers(ctx)
	if err != nil {
		return ReconcileResult{}, wrap("reconcile", err)
	}
	var (
		total ReconcileResult
		errs  []error
	)
	for _, srv := range servers {
		res, err := e.ReconcileServer(ctx, srv.ID)
		total.Servers++
		total.Seen += res.Seen
		total.Recorded += res.Recorded
		if err != nil {
			errs = append(errs, fmt.Errorf("server %s (%s): %w", srv.Name, srv.BaseURL, err))
		}
	}
	return total, errors.Join(errs...)
}

// ReconcileServer searches one Jira server for linked issues updated since
// its cursor minus the safety margin and records a "reconcile" change for
// each. Each link owner searches the projects of their links with their own
// rights, and the search's date is written in that user's time zone, as Jira
// reads JQL dates in the caller's zone. The cursor moves to the pass's start
// once every search succeeded (or could not run because its owner must
// connect again, which is shown on their links); after a failure the next
// pass searches from the old cursor.
func (e *Engine) ReconcileServer(ctx context.Context, serverID string) (ReconcileResult, error) {
	start := e.now()
	res := ReconcileResult{Servers: 1}
	links, err := e.st.ListSyncedLinks(ctx, serverID)
	if err != nil {
		return res, wrap("reconcile", err)
	}
	since := start.Add(-e.lookback)
	if v, err := e.st.GetSyncCursor(ctx, cursorName(serverID)); err == nil {
		if t, perr := time.Parse(time.RFC3339Nano, v); perr == nil {
			since = t
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return res, wrap("reconcile", err)
	}
	since = since.Add(-e.margin)

	byIssue := map[string]store.Link{}
	projects := map[string]map[string]bool{} // owner → project keys
	for _, l := range links {
		byIssue[l.IssueID] = l
		key, _, ok := strings.Cut(l.IssueKey, "-")
		if !ok || l.CreatedBy == "" {
			continue
		}
		if projects[l.CreatedBy] == nil {
			projects[l.CreatedBy] = map[string]bool{}
		}
		projects[l.CreatedBy][key] = true
	}
	handled := e.handledOf(serverID)
	var errs []error
	for _, owner := range slices.Sorted(maps.Keys(projects)) {
		seen, recorded, err := e.reconcileAs(ctx, serverID, owner, slices.Sorted(maps.Keys(projects[owner])), since, byIssue, handled)
		res.Seen += seen
		res.Recorded += recorded
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return res, errors.Join(errs...)
	}
	// A later pass's window starts after this one's, and its search after
	// that start rounded down to the minute (JQL's finest unit).
	handled.forget(since.Add(-time.Minute))
	return res, wrap("reconcile: store the cursor", e.st.PutSyncCursor(ctx, cursorName(serverID), start.UTC().Format(time.RFC3339Nano)))
}

// handled remembers, for one server, the update of each linked issue that
// a pass of this process handled (recorded a change for, or found told by
// a webhook): the searches of the passes after it return the issue again
// until its update leaves their window (the margin and JQL's minutes make
// that a few minutes, many passes at a short interval), and each would
// read the store to find the same. Another process (a replica that leads
// next) starts with none and reads the store, as before.
type handled struct {
	mu sync.Mutex
	at map[int64]time.Time // link → the issue's update handled
}

func (e *Engine) handledOf(serverID string) *handled {
	e.handledMu.Lock()
	defer e.handledMu.Unlock()
	h := e.handled[serverID]
	if h == nil {
		h = &handled{at: map[int64]time.Time{}}
		e.handled[serverID] = h
	}
	return h
}

// has reports whether the link's issue was handled at this update.
func (h *handled) has(linkID int64, upd time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.at[linkID]
	return ok && at.Equal(upd)
}

func (h *handled) add(linkID int64, upd time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.at[linkID] = upd
}

// forget drops the updates before since: no later search returns them.
func (h *handled) forget(since time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	maps.DeleteFunc(h.at, func(_ int64, at time.Time) bool { return at.Before(since) })
}

// reconcileAs runs one owner's search.
func (e *Engine) reconcileAs(ctx context.Context, serverID, owner string, keys []string, since time.Time, byIssue map[string]store.Link,
	handled *handled) (seen, recorded int, err error) {
	jc, _, err := e.clients.Jira(ctx, owner, serverID)
	if errors.Is(err, bridge.ErrNotConnected) || errors.Is(err, bridge.ErrReconnectNeeded) {
		e.log.InfoContext(ctx, "reconciliation skips the links of an owner who must connect Jira again", slog.String("owner", owner), slog.Any("error", err))
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("reconcile as %s: %w", owner, err)
	}
	me, err := jc.Myself(ctx)
	if err != nil {
		return 0, 0, e.reconcileError(ctx, err, owner, serverID)
	}
	loc := time.UTC
	if me.TimeZone != "" {
		if l, lerr := time.LoadLocation(me.TimeZone); lerr == nil {
			loc = l
		}
	}
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = `"` + strings.ReplaceAll(k, `"`, ``) + `"`
	}
	// Minutes are JQL's finest date unit: round down, never miss.
	jql := fmt.Sprintf(`project in (%s) AND updated >= "%s" ORDER BY updated ASC`, strings.Join(quoted, ", "),
		since.In(loc).Format("2006-01-02 15:04"))
	for is, err := range jc.SearchIter(ctx, jira.SearchOptions{JQL: jql, Fields: []string{"updated"}, MaxResults: 100}) {
		if err != nil {
			return seen, recorded, e.reconcileError(ctx, err, owner, serverID)
		}
		l, ok := byIssue[is.ID]
		if !ok {
			continue
		}
		seen++
		upd := is.Fields.Updated.Time
		if handled.has(l.ID, upd) {
			continue // an earlier pass found what the store would tell
		}
		// A change Jira told of at or after the issue's last update (a
		// webhook delivery, or an earlier pass) has a run that reads the
		// issue after it: one more would find nothing. Only changes timed
		// by Jira's clock count; the bridge's may be skewed.
		told, err := e.st.SyncChangeObservedSince(ctx, l.ID, SideJira, upd, "webhook", "reconcile")
		if err != nil {
			return seen, recorded, wrap("reconcile", err)
		}
		if told {
			handled.add(l.ID, upd)
			continue
		}
		ok, err = e.Record(ctx, Change{LinkID: l.ID, Side: SideJira, Source: "reconcile", Kind: KindIssue,
			DedupKey: "reconcile:" + upd.UTC().Format(time.RFC3339Nano), ObservedAt: upd,
			Detail: "updated " + upd.Format(jira.TimeLayout)})
		if err != nil {
			return seen, recorded, err
		}
		handled.add(l.ID, upd) // recorded now or by an earlier pass (its dedup key)
		if ok {
			recorded++
		}
	}
	return seen, recorded, nil
}

func (e *Engine) reconcileError(ctx context.Context, err error, owner, serverID string) error {
	if errors.Is(err, jira.ErrUnauthorized) {
		if merr := e.st.MarkJiraCredentialReconnect(ctx, owner, serverID, "Jira refused the credential during reconciliation"); merr != nil && !errors.Is(merr, store.ErrNotFound) {
			e.log.WarnContext(ctx, "could not flag a Jira credential for reconnection", slog.Any("error", merr))
		}
		return nil // shown on the owner's links at their next run
	}
	return fmt.Errorf("reconcile as %s: %w", owner, err)
}
