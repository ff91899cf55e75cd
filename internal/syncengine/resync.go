package syncengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/asanajira/asanajira/internal/store"
)

// ErrNoRoute says that an Asana project is routed to no Jira server.
var ErrNoRoute = errors.New("syncengine: the Asana project is not routed to a Jira server")

// ProjectLinks returns the ids of the links whose task is in a routed Asana
// project, oldest first: the project's tasks are listed in Asana as the
// owner of one of the workspace's links.
func (e *Engine) ProjectLinks(ctx context.Context, projectGID string) ([]int64, error) {
	wss, err := e.st.ListWorkspaces(ctx)
	if err != nil {
		return nil, wrap("project links", err)
	}
	var route store.ProjectRoute
	for _, ws := range wss {
		r, err := e.st.GetProjectRoute(ctx, ws.GID, projectGID)
		if err == nil {
			route = r
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, wrap("project links", err)
		}
	}
	if route.ProjectGID == "" {
		return nil, fmt.Errorf("%w (%s)", ErrNoRoute, projectGID)
	}
	var links []store.Link
	for before := int64(0); ; {
		page, err := e.st.ListLinks(ctx, store.LinkFilter{JiraServerID: route.JiraServerID, Limit: 500, BeforeID: before})
		if err != nil {
			return nil, wrap("project links", err)
		}
		for _, l := range page {
			if l.WorkspaceGID == route.WorkspaceGID {
				links = append(links, l)
			}
		}
		if len(page) < 500 {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(links) == 0 {
		return nil, nil
	}
	var lastErr error
	for _, owner := range owners(links) {
		ac, err := e.clients.Asana(ctx, owner)
		if err != nil {
			lastErr = err
			continue
		}
		in := map[string]bool{}
		for t, err := range ac.ProjectTasks(ctx, projectGID, []string{"name"}) {
			if err != nil {
				return nil, fmt.Errorf("syncengine: list the tasks of project %s: %w", projectGID, err)
			}
			in[t.GID] = true
		}
		var ids []int64
		for _, l := range links {
			if in[l.TaskGID] {
				ids = append(ids, l.ID)
			}
		}
		slices.Sort(ids)
		return ids, nil
	}
	return nil, fmt.Errorf("syncengine: no owner of the workspace's links has a working Asana connection to list project %s: %w", projectGID, lastErr)
}

func owners(links []store.Link) []string {
	var out []string
	for _, l := range links {
		if !slices.Contains(out, l.CreatedBy) {
			out = append(out, l.CreatedBy)
		}
	}
	return out
}

// ResyncProgress is told of each link a ResyncLinks finished.
type ResyncProgress struct {
	Done, Total int
	// Skipped counts the links an earlier, interrupted resync of the same
	// name finished already.
	Skipped int
	LinkID  int64
	Result  Result
	Err     error
}

// ResyncLinks resyncs links (see Resync), at most concurrency at a time
// (default 4), telling progress of each. It is resumable: name (e.g.
// "project:<gid>") keys a cursor of the links done, in id order, so a run
// interrupted and started again skips them; restart ignores the cursor. A
// link whose run fails is reported and left; the cursor stops before it,
// so the next run starts there. It returns the number of links that failed.
func (e *Engine) ResyncLinks(ctx context.Context, name string, ids []int64, concurrency int, restart bool, progress func(ResyncProgress)) (int, error) {
	if concurrency <= 0 {
		concurrency = 4
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	cursorName := "resync:" + name
	var after int64
	if !restart {
		v, err := e.st.GetSyncCursor(ctx, cursorName)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return 0, wrap("resync", err)
		}
		after, _ = strconv.ParseInt(v, 10, 64)
	}
	skipped := 0
	var todo []int64
	for _, id := range ids {
		if id <= after {
			skipped++
			continue
		}
		todo = append(todo, id)
	}
	var (
		mu     sync.Mutex
		failed = map[int64]bool{}
		done   = skipped
	)
	for start := 0; start < len(todo); start += concurrency {
		batch := todo[start:min(start+concurrency, len(todo))]
		var wg sync.WaitGroup
		for _, id := range batch {
			wg.Go(func() {
				res, err := e.resyncOne(ctx, id)
				mu.Lock()
				defer mu.Unlock()
				done++
				if err != nil {
					failed[id] = true
				}
				if progress != nil {
					progress(ResyncProgress{Done: done, Total: len(ids), Skipped: skipped, LinkID: id, Result: res, Err: err})
				}
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return len(failed), err
		}
		// The cursor moves over the batch up to its first failure.
		mark := int64(0)
		for _, id := range batch {
			if failed[id] {
				break
			}
			mark = id
		}
		if len(failed) == 0 && mark > 0 {
			if err := e.st.PutSyncCursor(ctx, cursorName, strconv.FormatInt(mark, 10)); err != nil {
				return len(failed), wrap("resync: save the cursor", err)
			}
		}
	}
	if len(failed) == 0 {
		// Finished: the next resync of this name starts from the beginning.
		if err := e.st.PutSyncCursor(ctx, cursorName, ""); err != nil {
			return 0, wrap("resync: reset the cursor", err)
		}
	}
	return len(failed), nil
}

// resyncOne resyncs a link, running it again while it has more to do at
// once, and waiting out another run's lease.
func (e *Engine) resyncOne(ctx context.Context, id int64) (Result, error) {
	var total Result
	if _, err := e.st.GetLink(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return total, fmt.Errorf("no link %d", id)
		}
		return total, wrap("resync", err)
	}
	for i := 0; i < 20; i++ {
		res, err := e.syncLink(ctx, id, i == 0)
		var held *LeaseHeldError
		if errors.As(err, &held) {
			return total, fmt.Errorf("link %d is being synced by another run; resync it again later: %w", id, err)
		}
		total.Writes += res.Writes
		if err != nil {
			return total, err
		}
		if !res.Again || res.After > 0 {
			break
		}
	}
	st, err := e.LinkStatus(ctx, id)
	if err == nil && st.Error != "" {
		return total, &SyncError{Msg: st.Error}
	}
	return total, nil
}
