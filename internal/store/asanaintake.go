package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// AsanaProjectSync is the Asana intake's state for one project that holds
// synced tasks: where its events stream stands and when to poll it next.
type AsanaProjectSync struct {
	ProjectGID   string
	WorkspaceGID string
	// SyncToken is the events API's position ("" before the first poll).
	SyncToken  string
	NextPollAt time.Time
	// ActiveUntil keeps the project at the shortest interval; an event on a
	// linked task or App Components traffic on one moves it ahead.
	ActiveUntil time.Time
	// IdleLevel counts the empty polls since the project went idle; the
	// poll interval doubles with it, up to a cap.
	IdleLevel   int
	LastPollAt  time.Time
	LastEventAt time.Time
	// TokenUser is the Asana user whose token polled last.
	TokenUser string
	// Requests counts the requests made for the project.
	Requests    int64
	LastError   string
	LastErrorAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AsanaPollToken is one Asana token's use by the intake: the requests of the
// current minute window and a pause asked for by a 429.
type AsanaPollToken struct {
	UserGID        string
	WindowStart    time.Time
	WindowRequests int
	RequestsTotal  int64
	PausedUntil    time.Time
	LastUsedAt     time.Time
	LastError      string
}

// States of an Asana webhook.
const (
	// AsanaWebhookPending: being created; its handshake may be accepted
	// until PendingUntil.
	AsanaWebhookPending = "pending"
	// AsanaWebhookActive: created; deliveries are verified with Secret.
	AsanaWebhookActive = "active"
	// AsanaWebhookFailed: creating it failed, or Asana deleted it; the
	// repair job creates it again.
	AsanaWebhookFailed = "failed"
)

// AsanaWebhook is the Asana webhook of one project (webhooks mode).
type AsanaWebhook struct {
	ProjectGID   string
	WorkspaceGID string
	WebhookGID   string
	// Secret is the X-Hook-Secret of the handshake, sealed at rest.
	Secret Secret
	// Target is the URL Asana delivers to.
	Target string
	State  string
	// PendingUntil ends the window in which a handshake is accepted.
	PendingUntil time.Time
	// TokenUser is the Asana user whose token created the webhook.
	TokenUser       string
	LastDeliveryAt  time.Time
	LastHeartbeatAt time.Time
	LastCheckedAt   time.Time
	LastError       string
	LastErrorAt     time.Time
	// Recreated counts how often the webhook was created again.
	Recreated int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AsanaTaskToMap is a synced task whose projects the intake must learn, and
// a user who can read it (the owner of one of its links).
type AsanaTaskToMap struct {
	TaskGID      string
	WorkspaceGID string
	Owner        string
}

// AsanaIntakeQueries are the reads and writes of the Asana intake
// (internal/asanaintake): which projects hold synced tasks, their events
// sync tokens and poll schedule, the tokens' request budget, and the
// webhooks of webhooks mode.
type AsanaIntakeQueries interface {
	// AsanaTasksToMap lists synced tasks whose projects are unknown or were
	// last checked before checkedBefore, never checked first, at most limit.
	AsanaTasksToMap(ctx context.Context, checkedBefore time.Time, limit int) ([]AsanaTaskToMap, error)
	// PutAsanaTaskProjects replaces the projects of a task, checked at now.
	PutAsanaTaskProjects(ctx context.Context, taskGID, workspaceGID string, projectGIDs []string, now time.Time) error
	// AddAsanaTaskProject and RemoveAsanaTaskProject follow one membership
	// change the events told of.
	AddAsanaTaskProject(ctx context.Context, taskGID, projectGID, workspaceGID string, now time.Time) error
	RemoveAsanaTaskProject(ctx context.Context, taskGID, projectGID string) error
	// ListAsanaTaskProjects lists the known projects of a task.
	ListAsanaTaskProjects(ctx context.Context, taskGID string) ([]string, error)

	// RefreshAsanaProjects makes asana_projects_sync hold exactly the
	// projects with synced tasks: new ones are due at now, those without
	// synced tasks any more go (with their sync token).
	RefreshAsanaProjects(ctx context.Context, now time.Time) (added, removed int, err error)
	ListAsanaProjects(ctx context.Context) ([]AsanaProjectSync, error)
	GetAsanaProject(ctx context.Context, projectGID string) (AsanaProjectSync, error)
	// DueAsanaProjects lists the projects due at now, longest due first.
	DueAsanaProjects(ctx context.Context, now time.Time, limit int) ([]AsanaProjectSync, error)
	// SaveAsanaProject writes a project's token, schedule and results;
	// ErrNotFound when the project is no longer polled.
	SaveAsanaProject(ctx context.Context, p AsanaProjectSync) error
	// WakeAsanaTask makes the idle projects of a task (IdleLevel > 0) due
	// at now and active until activeUntil, and reports how many it woke;
	// it writes nothing when none is idle.
	WakeAsanaTask(ctx context.Context, taskGID string, now, activeUntil time.Time) (int, error)
	// WakeAsanaProject makes a project due at now.
	WakeAsanaProject(ctx context.Context, projectGID string, now time.Time) error
	// ListAsanaProjectLinks lists the synced links of the project's tasks.
	ListAsanaProjectLinks(ctx context.Context, projectGID string) ([]Link, error)
	// AsanaProjectUsers lists the connected Asana users who may poll a
	// project: the owners of its links, or, when none of them is
	// connected, the users with a Jira credential on a server connected
	// to the workspace.
	AsanaProjectUsers(ctx context.Context, projectGID, workspaceGID string) ([]string, error)

	// ListAsanaPollTokens lists every token's use.
	ListAsanaPollTokens(ctx context.Context) ([]AsanaPollToken, error)
	// ChargeAsanaPollToken counts n requests of a token in the minute
	// window starting at window, used at now.
	ChargeAsanaPollToken(ctx context.Context, userGID string, n int, window, now time.Time) error
	// PauseAsanaPollToken holds a token back until until, saying why.
	PauseAsanaPollToken(ctx context.Context, userGID string, until time.Time, reason string) error

	// LinksOfStory lists the links whose comment map holds the story.
	LinksOfStory(ctx context.Context, storyGID string) ([]int64, error)

	GetAsanaWebhook(ctx context.Context, projectGID string) (AsanaWebhook, error)
	ListAsanaWebhooks(ctx context.Context) ([]AsanaWebhook, error)
	// PutAsanaWebhook writes a project's webhook record whole.
	PutAsanaWebhook(ctx context.Context, w AsanaWebhook) error
	DeleteAsanaWebhook(ctx context.Context, projectGID string) error
	// AcceptAsanaWebhookHandshake stores secret for the project's webhook
	// when its record is pending for target until after now and holds no
	// secret yet; it reports whether it did. One handshake wins.
	AcceptAsanaWebhookHandshake(ctx context.Context, projectGID, target string, secret Secret, now time.Time) (bool, error)
	// TouchAsanaWebhook records a delivery (or a heartbeat) at at.
	TouchAsanaWebhook(ctx context.Context, projectGID string, heartbeat bool, at time.Time) error
}

// syncedLinks joins the links whose connection has sync enabled.
const syncedLinks = `links l JOIN sync_settings s ON s.workspace_gid = l.workspace_gid
	AND s.jira_server_id = l.jira_server_id AND s.enabled`

// Task → project map.

func (q queries) AsanaTasksToMap(ctx context.Context, checkedBefore time.Time, limit int) ([]AsanaTaskToMap, error) {
	// From the connections that sync (sync_settings_enabled) to their links
	// (links_connection) and each link's task's projects (by key): the
	// links of connections that do not sync, and the projects of their
	// tasks, are never read. CROSS JOIN keeps SQLite's planner to that
	// order (it preferred reading every link in task order for the GROUP
	// BY); PostgreSQL plans it as the inner join it is.
	return list(ctx, q, "asana tasks to map", `SELECT l.task_gid, MIN(l.workspace_gid), MIN(l.created_by)
		FROM sync_settings s CROSS JOIN links l
		LEFT JOIN asana_task_projects tp ON tp.task_gid = l.task_gid
		WHERE s.enabled AND l.workspace_gid = s.workspace_gid AND l.jira_server_id = s.jira_server_id
		GROUP BY l.task_gid HAVING MIN(tp.checked_at) IS NULL OR MIN(tp.checked_at) < $1
		ORDER BY MIN(tp.checked_at) IS NOT NULL, MIN(tp.checked_at), l.task_gid LIMIT $2`,
		func(row scanner) (AsanaTaskToMap, error) {
			var m AsanaTaskToMap
			err := row.Scan(&m.TaskGID, &m.WorkspaceGID, &m.Owner)
			return m, err
		}, dbTime(checkedBefore), limitOr(limit, 50, 1000))
}

func (q queries) PutAsanaTaskProjects(ctx context.Context, taskGID, workspaceGID string, projectGIDs []string, now time.Time) error {
	if taskGID == "" {
		return errors.New("store: put asana task projects: a task is required")
	}
	return q.atomic(ctx, func(q queries) error {
		if _, err := q.q.ExecContext(ctx, `DELETE FROM asana_task_projects WHERE task_gid = $1`, taskGID); err != nil {
			return q.wrap("put asana task projects", err)
		}
		if len(projectGIDs) == 0 {
			projectGIDs = []string{""} // checked: in no project
		}
		for _, p := range projectGIDs {
			if _, err := q.q.ExecContext(ctx, `INSERT INTO asana_task_projects (task_gid, project_gid, workspace_gid, checked_at)
				VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, taskGID, p, workspaceGID, dbTime(now)); err != nil {
				return q.wrap("put asana task projects", err)
			}
		}
		return nil
	})
}

func (q queries) AddAsanaTaskProject(ctx context.Context, taskGID, projectGID, workspaceGID string, now time.Time) error {
	if taskGID == "" || projectGID == "" {
		return errors.New("store: add asana task project: a task and a project are required")
	}
	return q.atomic(ctx, func(q queries) error {
		if _, err := q.q.ExecContext(ctx, `DELETE FROM asana_task_projects WHERE task_gid = $1 AND project_gid = ''`, taskGID); err != nil {
			return q.wrap("add asana task project", err)
		}
		_, err := q.q.ExecContext(ctx, `INSERT INTO asana_task_projects (task_gid, project_gid, workspace_gid, checked_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (task_gid, project_gid) DO UPDATE SET checked_at = excluded.checked_at`,
			taskGID, projectGID, workspaceGID, dbTime(now))
		return q.wrap("add asana task project", err)
	})
}

func (q queries) RemoveAsanaTaskProject(ctx context.Context, taskGID, projectGID string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM asana_task_projects WHERE task_gid = $1 AND project_gid = $2`, taskGID, projectGID)
	return q.wrap("remove asana task project", err)
}

func (q queries) ListAsanaTaskProjects(ctx context.Context, taskGID string) ([]string, error) {
	return list(ctx, q, "list asana task projects", `SELECT project_gid FROM asana_task_projects
		WHERE task_gid = $1 AND project_gid <> '' ORDER BY project_gid`, func(row scanner) (string, error) {
		var p string
		return p, row.Scan(&p)
	}, taskGID)
}

// Projects.

const asanaProjectColumns = `project_gid, workspace_gid, sync_token, next_poll_at, active_until, idle_level, last_poll_at,
	last_event_at, token_user, requests, last_error, last_error_at, created_at, updated_at`

func scanAsanaProject(row scanner) (AsanaProjectSync, error) {
	var (
		p                                  AsanaProjectSync
		next, active, polled, event, errAt sql.NullTime
		cre, upd                           sql.NullTime
	)
	err := row.Scan(&p.ProjectGID, &p.WorkspaceGID, &p.SyncToken, &next, &active, &p.IdleLevel, &polled, &event, &p.TokenUser,
		&p.Requests, &p.LastError, &errAt, &cre, &upd)
	p.NextPollAt, p.ActiveUntil = fromNullTime(next), fromNullTime(active)
	p.LastPollAt, p.LastEventAt = fromNullTime(polled), fromNullTime(event)
	p.LastErrorAt, p.CreatedAt, p.UpdatedAt = fromNullTime(errAt), fromNullTime(cre), fromNullTime(upd)
	return p, err
}

// projectsWithSyncedTasks selects the projects of synced tasks with their
// workspace.
const projectsWithSyncedTasks = `SELECT tp.project_gid AS project_gid, MIN(tp.workspace_gid) AS workspace_gid
	FROM ` + syncedLinks + ` JOIN asana_task_projects tp ON tp.task_gid = l.task_gid
	WHERE tp.project_gid <> '' GROUP BY tp.project_gid`

func (q queries) RefreshAsanaProjects(ctx context.Context, now time.Time) (added, removed int, err error) {
	err = q.atomic(ctx, func(q queries) error {
		// Tasks no link holds any more are forgotten.
		if _, err := q.q.ExecContext(ctx, `DELETE FROM asana_task_projects
			WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.task_gid = asana_task_projects.task_gid)`); err != nil {
			return q.wrap("refresh asana projects", err)
		}
		res, err := q.q.ExecContext(ctx, `INSERT INTO asana_projects_sync (project_gid, workspace_gid, next_poll_at,
				created_at, updated_at)
			SELECT p.project_gid, p.workspace_gid, $1, $1, $1 FROM (`+projectsWithSyncedTasks+`) p
			WHERE 1 = 1 ON CONFLICT (project_gid) DO NOTHING`, dbTime(now))
		if err != nil {
			return q.wrap("refresh asana projects", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return q.wrap("refresh asana projects", err)
		}
		added = int(n)
		res, err = q.q.ExecContext(ctx, `DELETE FROM asana_projects_sync WHERE project_gid NOT IN
			(SELECT p.project_gid FROM (`+projectsWithSyncedTasks+`) p)`)
		if err != nil {
			return q.wrap("refresh asana projects", err)
		}
		n, err = res.RowsAffected()
		removed = int(n)
		return q.wrap("refresh asana projects", err)
	})
	return added, removed, err
}

func (q queries) ListAsanaProjects(ctx context.Context) ([]AsanaProjectSync, error) {
	return list(ctx, q, "list asana projects", `SELECT `+asanaProjectColumns+` FROM asana_projects_sync
		ORDER BY project_gid`, scanAsanaProject)
}

func (q queries) GetAsanaProject(ctx context.Context, projectGID string) (AsanaProjectSync, error) {
	p, err := scanAsanaProject(q.q.QueryRowContext(ctx, `SELECT `+asanaProjectColumns+` FROM asana_projects_sync
		WHERE project_gid = $1`, projectGID))
	return p, q.wrap("get asana project "+projectGID, err)
}

func (q queries) DueAsanaProjects(ctx context.Context, now time.Time, limit int) ([]AsanaProjectSync, error) {
	return list(ctx, q, "due asana projects", `SELECT `+asanaProjectColumns+` FROM asana_projects_sync
		WHERE next_poll_at <= $1 ORDER BY next_poll_at, project_gid LIMIT $2`, scanAsanaProject,
		dbTime(now), limitOr(limit, 100, 10000))
}

func (q queries) SaveAsanaProject(ctx context.Context, p AsanaProjectSync) error {
	res, err := q.q.ExecContext(ctx, `UPDATE asana_projects_sync SET sync_token = $2, next_poll_at = $3, idle_level = $4,
		last_poll_at = $5, last_event_at = $6, token_user = $7, requests = $8, last_error = $9, last_error_at = $10,
		updated_at = $11, active_until = $12 WHERE project_gid = $1`,
		p.ProjectGID, p.SyncToken, dbTime(p.NextPollAt), p.IdleLevel, nullTime(p.LastPollAt), nullTime(p.LastEventAt),
		p.TokenUser, p.Requests, p.LastError, nullTime(p.LastErrorAt), q.now(), nullTime(p.ActiveUntil))
	return q.mustAffect("save asana project "+p.ProjectGID, res, err)
}

func (q queries) WakeAsanaTask(ctx context.Context, taskGID string, now, activeUntil time.Time) (int, error) {
	// A read first: most calls find nothing idle, and a read takes no
	// write lock (SQLite has one writer).
	idle, err := list(ctx, q, "wake asana task", `SELECT p.project_gid FROM asana_projects_sync p
		JOIN asana_task_projects tp ON tp.project_gid = p.project_gid
		WHERE tp.task_gid = $1 AND p.idle_level > 0 AND p.next_poll_at > $2`, func(row scanner) (string, error) {
		var g string
		return g, row.Scan(&g)
	}, taskGID, dbTime(now))
	if err != nil || len(idle) == 0 {
		return 0, err
	}
	woken := 0
	for _, g := range idle {
		res, err := q.q.ExecContext(ctx, `UPDATE asana_projects_sync SET next_poll_at = $2, idle_level = 0, active_until = $3
			WHERE project_gid = $1 AND idle_level > 0 AND next_poll_at > $2`, g, dbTime(now), dbTime(activeUntil))
		if err != nil {
			return woken, q.wrap("wake asana task", err)
		}
		if n, err := res.RowsAffected(); err == nil && n > 0 {
			woken++
		}
	}
	return woken, nil
}

func (q queries) WakeAsanaProject(ctx context.Context, projectGID string, now time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE asana_projects_sync SET next_poll_at = $2
		WHERE project_gid = $1 AND next_poll_at > $2`, projectGID, dbTime(now))
	return q.wrap("wake asana project", err)
}

func (q queries) ListAsanaProjectLinks(ctx context.Context, projectGID string) ([]Link, error) {
	return list(ctx, q, "list asana project links", `SELECT `+prefixed("l.", linkColumns)+` FROM `+syncedLinks+`
		JOIN asana_task_projects tp ON tp.task_gid = l.task_gid WHERE tp.project_gid = $1 ORDER BY l.id`,
		scanLink, projectGID)
}

func (q queries) AsanaProjectUsers(ctx context.Context, projectGID, workspaceGID string) ([]string, error) {
	type cand struct {
		gid   string
		owner bool
	}
	cs, err := list(ctx, q, "asana project users", `SELECT u.gid, MIN(x.prio) FROM asana_users u JOIN (
			SELECT l.created_by AS gid, 0 AS prio FROM `+syncedLinks+`
				JOIN asana_task_projects tp ON tp.task_gid = l.task_gid WHERE tp.project_gid = $1
			UNION ALL
			SELECT c.asana_user_gid, 1 FROM jira_credentials c
				JOIN connections k ON k.jira_server_id = c.jira_server_id
				WHERE k.workspace_gid = $2 AND NOT c.reconnect_needed
		) x ON x.gid = u.gid
		WHERE u.access_token IS NOT NULL AND NOT u.reconnect_needed
		GROUP BY u.gid ORDER BY MIN(x.prio), u.gid`, func(row scanner) (cand, error) {
		var (
			c    cand
			prio int
		)
		err := row.Scan(&c.gid, &prio)
		c.owner = prio == 0
		return c, err
	}, projectGID, workspaceGID)
	if err != nil {
		return nil, err
	}
	var owners, others []string
	for _, c := range cs {
		if c.owner {
			owners = append(owners, c.gid)
		} else {
			others = append(others, c.gid)
		}
	}
	if len(owners) > 0 {
		return owners, nil
	}
	return others, nil
}

// Tokens.

func (q queries) ListAsanaPollTokens(ctx context.Context) ([]AsanaPollToken, error) {
	return list(ctx, q, "list asana poll tokens", `SELECT user_gid, window_start, window_requests, requests_total,
		paused_until, last_used_at, last_error FROM asana_poll_tokens ORDER BY user_gid`,
		func(row scanner) (AsanaPollToken, error) {
			var (
				t                    AsanaPollToken
				window, paused, used sql.NullTime
			)
			err := row.Scan(&t.UserGID, &window, &t.WindowRequests, &t.RequestsTotal, &paused, &used, &t.LastError)
			t.WindowStart, t.PausedUntil, t.LastUsedAt = fromNullTime(window), fromNullTime(paused), fromNullTime(used)
			return t, err
		})
}

func (q queries) ChargeAsanaPollToken(ctx context.Context, userGID string, n int, window, now time.Time) error {
	if userGID == "" || n <= 0 {
		return nil
	}
	// Counters are added in the statement, so two jobs charging one token
	// at once both count.
	_, err := q.q.ExecContext(ctx, `INSERT INTO asana_poll_tokens (user_gid, window_start, window_requests,
			requests_total, last_used_at)
		VALUES ($1, $2, $3, $3, $4)
		ON CONFLICT (user_gid) DO UPDATE SET
			window_requests = CASE WHEN asana_poll_tokens.window_start = excluded.window_start
				THEN asana_poll_tokens.window_requests + excluded.window_requests ELSE excluded.window_requests END,
			window_start = excluded.window_start,
			requests_total = asana_poll_tokens.requests_total + excluded.requests_total,
			last_used_at = excluded.last_used_at`, userGID, dbTime(window), n, dbTime(now))
	return q.wrap("charge asana poll token", err)
}

func (q queries) PauseAsanaPollToken(ctx context.Context, userGID string, until time.Time, reason string) error {
	// A token first seen here starts with an empty window.
	_, err := q.q.ExecContext(ctx, `INSERT INTO asana_poll_tokens (user_gid, window_start, paused_until, last_error)
		VALUES ($1, $2, $2, $3)
		ON CONFLICT (user_gid) DO UPDATE SET paused_until = excluded.paused_until, last_error = excluded.last_error`,
		userGID, dbTime(until), reason)
	return q.wrap("pause asana poll token", err)
}

// Stories.

func (q queries) LinksOfStory(ctx context.Context, storyGID string) ([]int64, error) {
	if storyGID == "" {
		return nil, nil
	}
	return list(ctx, q, "links of story", `SELECT DISTINCT link_id FROM sync_comments WHERE asana_story_gid = $1
		ORDER BY link_id`, func(row scanner) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	}, storyGID)
}

// Webhooks.

const asanaWebhookColumns = `project_gid, workspace_gid, webhook_gid, secret, target, state, pending_until, token_user,
	last_delivery_at, last_heartbeat_at, last_checked_at, last_error, last_error_at, recreated, created_at, updated_at`

func (q queries) scanAsanaWebhook(row scanner) (AsanaWebhook, error) {
	var (
		w                                            AsanaWebhook
		secret                                       []byte
		pending, delivery, beat, checked, errAt, cre sql.NullTime
		upd                                          sql.NullTime
	)
	if err := row.Scan(&w.ProjectGID, &w.WorkspaceGID, &w.WebhookGID, &secret, &w.Target, &w.State, &pending, &w.TokenUser,
		&delivery, &beat, &checked, &w.LastError, &errAt, &w.Recreated, &cre, &upd); err != nil {
		return w, err
	}
	w.PendingUntil, w.LastDeliveryAt, w.LastHeartbeatAt = fromNullTime(pending), fromNullTime(delivery), fromNullTime(beat)
	w.LastCheckedAt, w.LastErrorAt, w.CreatedAt, w.UpdatedAt = fromNullTime(checked), fromNullTime(errAt), fromNullTime(cre), fromNullTime(upd)
	var err error
	w.Secret, err = q.open(secret)
	return w, err
}

func (q queries) GetAsanaWebhook(ctx context.Context, projectGID string) (AsanaWebhook, error) {
	w, err := q.scanAsanaWebhook(q.q.QueryRowContext(ctx, `SELECT `+asanaWebhookColumns+` FROM asana_webhooks
		WHERE project_gid = $1`, projectGID))
	return w, q.wrap("get asana webhook "+projectGID, err)
}

func (q queries) ListAsanaWebhooks(ctx context.Context) ([]AsanaWebhook, error) {
	return list(ctx, q, "list asana webhooks", `SELECT `+asanaWebhookColumns+` FROM asana_webhooks ORDER BY project_gid`,
		q.scanAsanaWebhook)
}

func (q queries) PutAsanaWebhook(ctx context.Context, w AsanaWebhook) error {
	if w.ProjectGID == "" || w.Target == "" || w.State == "" {
		return errors.New("store: put asana webhook: a project, a target and a state are required")
	}
	secret, err := q.seal(w.Secret)
	if err != nil {
		return err
	}
	now := q.now()
	_, err = q.q.ExecContext(ctx, `INSERT INTO asana_webhooks (`+asanaWebhookColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
		ON CONFLICT (project_gid) DO UPDATE SET workspace_gid = excluded.workspace_gid,
			webhook_gid = excluded.webhook_gid, secret = excluded.secret, target = excluded.target,
			state = excluded.state, pending_until = excluded.pending_until, token_user = excluded.token_user,
			last_delivery_at = excluded.last_delivery_at, last_heartbeat_at = excluded.last_heartbeat_at,
			last_checked_at = excluded.last_checked_at, last_error = excluded.last_error,
			last_error_at = excluded.last_error_at, recreated = excluded.recreated, updated_at = excluded.updated_at`,
		w.ProjectGID, w.WorkspaceGID, w.WebhookGID, secret, w.Target, w.State, nullTime(w.PendingUntil), w.TokenUser,
		nullTime(w.LastDeliveryAt), nullTime(w.LastHeartbeatAt), nullTime(w.LastCheckedAt), w.LastError,
		nullTime(w.LastErrorAt), w.Recreated, now)
	return q.wrap("put asana webhook", err)
}

func (q queries) DeleteAsanaWebhook(ctx context.Context, projectGID string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM asana_webhooks WHERE project_gid = $1`, projectGID)
	return q.wrap("delete asana webhook", err)
}

func (q queries) AcceptAsanaWebhookHandshake(ctx context.Context, projectGID, target string, secret Secret, now time.Time) (bool, error) {
	if secret == "" {
		return false, nil
	}
	sealed, err := q.seal(secret)
	if err != nil {
		return false, err
	}
	res, err := q.q.ExecContext(ctx, `UPDATE asana_webhooks SET secret = $4, updated_at = $3
		WHERE project_gid = $1 AND target = $2 AND state = 'pending' AND pending_until > $3 AND secret IS NULL`,
		projectGID, target, dbTime(now), sealed)
	if err != nil {
		return false, q.wrap("accept asana webhook handshake", err)
	}
	n, err := res.RowsAffected()
	return n == 1, q.wrap("accept asana webhook handshake", err)
}

func (q queries) TouchAsanaWebhook(ctx context.Context, projectGID string, heartbeat bool, at time.Time) error {
	col := "last_delivery_at"
	if heartbeat {
		col = "last_heartbeat_at"
	}
	_, err := q.q.ExecContext(ctx, `UPDATE asana_webhooks SET `+col+` = $2 WHERE project_gid = $1`, projectGID, dbTime(at))
	return q.wrap("touch asana webhook", err)
}
