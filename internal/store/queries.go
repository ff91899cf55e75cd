package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, q queries, op, query string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, q.wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, q.wrap(op, err)
		}
		out = append(out, v)
	}
	return out, q.wrap(op, rows.Err())
}

// Jira servers.

const jiraServerColumns = `id, name, base_url, connect_address, consumer_key, private_key, public_key_pem,
	version, auth_methods, oauth2_client_id, oauth2_client_secret, webhook_secret, webhook_url,
	applink_id, status, checked_at, created_at, updated_at, ca_bundle_pem`

func (q queries) scanJiraServer(row scanner) (JiraServer, error) {
	var (
		j                         JiraServer
		privateKey, clientSecret  []byte
		webhookSecret             []byte
		methods                   string
		checked, created, updated sql.NullTime
	)
	if err := row.Scan(&j.ID, &j.Name, &j.BaseURL, &j.ConnectAddress, &j.ConsumerKey, &privateKey,
		&j.PublicKeyPEM, &j.Version, &methods, &j.OAuth2ClientID, &clientSecret, &webhookSecret,
		&j.WebhookURL, &j.AppLinkID, &j.Status, &checked, &created, &updated, &j.CABundlePEM); err != nil {
		return JiraServer{}, err
	}
	j.AuthMethods = splitMethods(methods)
	j.CheckedAt, j.CreatedAt, j.UpdatedAt = fromNullTime(checked), fromNullTime(created), fromNullTime(updated)
	err := q.openAll(map[*Secret][]byte{
		&j.PrivateKeyPEM: privateKey, &j.OAuth2ClientSecret: clientSecret, &j.WebhookSecret: webhookSecret,
	})
	return j, err
}

func (q queries) CreateJiraServer(ctx context.Context, j *JiraServer) error {
	if j.ID == "" {
		id, err := newID("js_")
		if err != nil {
			return err
		}
		j.ID = id
	}
	sealed, err := q.sealAll(j.PrivateKeyPEM, j.OAuth2ClientSecret, j.WebhookSecret)
	if err != nil {
		return err
	}
	now := q.now()
	_, err = q.q.ExecContext(ctx, `INSERT INTO jira_servers (`+jiraServerColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		j.ID, j.Name, j.BaseURL, j.ConnectAddress, j.ConsumerKey, sealed[0], j.PublicKeyPEM, j.Version,
		joinMethods(j.AuthMethods), j.OAuth2ClientID, sealed[1], sealed[2], j.WebhookURL, j.AppLinkID,
		j.Status, nullTime(j.CheckedAt), now, now, j.CABundlePEM)
	if err != nil {
		return q.wrap("create jira server "+j.BaseURL, err)
	}
	j.CreatedAt, j.UpdatedAt = now, now
	return nil
}

func (q queries) GetJiraServer(ctx context.Context, id string) (JiraServer, error) {
	j, err := q.scanJiraServer(q.q.QueryRowContext(ctx, `SELECT `+jiraServerColumns+` FROM jira_servers WHERE id = $1`, id))
	return j, q.wrap("get jira server "+id, err)
}

func (q queries) GetJiraServerByConsumerKey(ctx context.Context, consumerKey string) (JiraServer, error) {
	j, err := q.scanJiraServer(q.q.QueryRowContext(ctx,
		`SELECT `+jiraServerColumns+` FROM jira_servers WHERE consumer_key = $1 AND consumer_key <> ''`, consumerKey))
	return j, q.wrap("get jira server by consumer key", err)
}

func (q queries) ListJiraServers(ctx context.Context) ([]JiraServer, error) {
	return list(ctx, q, "list jira servers", `SELECT `+jiraServerColumns+` FROM jira_servers ORDER BY name, id`, q.scanJiraServer)
}

func (q queries) ListJiraServerNames(ctx context.Context) ([]JiraServer, error) {
	return list(ctx, q, "list jira server names", `SELECT id, name, base_url FROM jira_servers ORDER BY name, id`,
		func(row scanner) (JiraServer, error) {
			var j JiraServer
			err := row.Scan(&j.ID, &j.Name, &j.BaseURL)
			return j, err
		})
}

func (q queries) UpdateJiraServer(ctx context.Context, j *JiraServer) error {
	sealed, err := q.sealAll(j.PrivateKeyPEM, j.OAuth2ClientSecret, j.WebhookSecret)
	if err != nil {
		return err
	}
	now := q.now()
	res, err := q.q.ExecContext(ctx, `UPDATE jira_servers SET name = $2, base_url = $3, connect_address = $4,
		consumer_key = $5, private_key = $6, public_key_pem = $7, version = $8, auth_methods = $9,
		oauth2_client_id = $10, oauth2_client_secret = $11, webhook_secret = $12, webhook_url = $13,
		applink_id = $14, status = $15, checked_at = $16, updated_at = $17, ca_bundle_pem = $18 WHERE id = $1`,
		j.ID, j.Name, j.BaseURL, j.ConnectAddress, j.ConsumerKey, sealed[0], j.PublicKeyPEM, j.Version,
		joinMethods(j.AuthMethods), j.OAuth2ClientID, sealed[1], sealed[2], j.WebhookURL, j.AppLinkID,
		j.Status, nullTime(j.CheckedAt), now, j.CABundlePEM)
	if err := q.mustAffect("update jira server "+j.ID, res, err); err != nil {
		return err
	}
	j.UpdatedAt = now
	return nil
}

func (q queries) DeleteJiraServer(ctx context.Context, id string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM jira_servers WHERE id = $1`, id)
	return q.mustAffect("delete jira server "+id, res, err)
}

// Workspaces, connections and routing.

func (q queries) PutWorkspace(ctx context.Context, w Workspace) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO workspaces (gid, name, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (gid) DO UPDATE SET name = excluded.name`, w.GID, w.Name, q.now())
	return q.wrap("put workspace "+w.GID, err)
}

func (q queries) GetWorkspace(ctx context.Context, gid string) (Workspace, error) {
	var (
		w       Workspace
		created sql.NullTime
	)
	err := q.q.QueryRowContext(ctx, `SELECT gid, name, created_at FROM workspaces WHERE gid = $1`, gid).
		Scan(&w.GID, &w.Name, &created)
	w.CreatedAt = fromNullTime(created)
	return w, q.wrap("get workspace "+gid, err)
}

func (q queries) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	return list(ctx, q, "list workspaces", `SELECT gid, name, created_at FROM workspaces ORDER BY name, gid`, scanWorkspace)
}

// PutConnection adds or updates a connection; making it the default clears
// the workspace's previous default in the same transaction.
func (q queries) PutConnection(ctx context.Context, c Connection) error {
	return q.atomic(ctx, func(q queries) error {
		if c.IsDefault {
			if _, err := q.q.ExecContext(ctx, `UPDATE connections SET is_default = FALSE
				WHERE workspace_gid = $1 AND jira_server_id <> $2`, c.WorkspaceGID, c.JiraServerID); err != nil {
				return q.wrap("put connection", err)
			}
		}
		_, err := q.q.ExecContext(ctx, `INSERT INTO connections (workspace_gid, jira_server_id, is_default, created_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (workspace_gid, jira_server_id) DO UPDATE SET is_default = excluded.is_default`,
			c.WorkspaceGID, c.JiraServerID, c.IsDefault, q.now())
		return q.wrap("put connection "+c.WorkspaceGID+" × "+c.JiraServerID, err)
	})
}

func (q queries) DeleteConnection(ctx context.Context, workspaceGID, jiraServerID string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM connections WHERE workspace_gid = $1 AND jira_server_id = $2`,
		workspaceGID, jiraServerID)
	return q.mustAffect("delete connection", res, err)
}

func (q queries) ListConnections(ctx context.Context) ([]Connection, error) {
	return list(ctx, q, "list connections", `SELECT workspace_gid, jira_server_id, is_default, created_at
		FROM connections ORDER BY workspace_gid, jira_server_id`, scanConnection)
}

func (q queries) PutProjectRoute(ctx context.Context, r ProjectRoute) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO project_routes (workspace_gid, project_gid, jira_server_id, jira_project_key, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (workspace_gid, project_gid) DO UPDATE
		SET jira_server_id = excluded.jira_server_id, jira_project_key = excluded.jira_project_key`,
		r.WorkspaceGID, r.ProjectGID, r.JiraServerID, r.JiraProjectKey, q.now())
	return q.wrap("put project route "+r.ProjectGID, err)
}

func (q queries) DeleteProjectRoute(ctx context.Context, workspaceGID, projectGID string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM project_routes WHERE workspace_gid = $1 AND project_gid = $2`,
		workspaceGID, projectGID)
	return q.mustAffect("delete project route "+projectGID, res, err)
}

func (q queries) ListProjectRoutes(ctx context.Context, workspaceGID string) ([]ProjectRoute, error) {
	return list(ctx, q, "list project routes", `SELECT workspace_gid, project_gid, jira_server_id, jira_project_key, created_at
		FROM project_routes WHERE workspace_gid = $1 ORDER BY project_gid`, scanProjectRoute, workspaceGID)
}

// RouteProject returns the Jira server for an Asana project: the project's
// own route if it has one, else the workspace's default connection.
func (q queries) RouteProject(ctx context.Context, workspaceGID, projectGID string) (JiraServer, error) {
	j, err := q.scanJiraServer(q.q.QueryRowContext(ctx, `SELECT `+prefixed("s.", jiraServerColumns)+`
		FROM project_routes r JOIN jira_servers s ON s.id = r.jira_server_id
		WHERE r.workspace_gid = $1 AND r.project_gid = $2`, workspaceGID, projectGID))
	if !errors.Is(err, sql.ErrNoRows) {
		return j, q.wrap("route project "+projectGID, err)
	}
	j, err = q.scanJiraServer(q.q.QueryRowContext(ctx, `SELECT `+prefixed("s.", jiraServerColumns)+`
		FROM connections c JOIN jira_servers s ON s.id = c.jira_server_id
		WHERE c.workspace_gid = $1 AND c.is_default`, workspaceGID))
	return j, q.wrap("route project "+projectGID, err)
}

func prefixed(p, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// Asana users.

const asanaUserColumns = `gid, name, email, access_token, refresh_token, expiry, reconnect_needed, created_at, updated_at`

func (q queries) scanAsanaUser(row scanner) (AsanaUser, error) {
	var (
		u                        AsanaUser
		access, refresh          []byte
		expiry, created, updated sql.NullTime
	)
	if err := row.Scan(&u.GID, &u.Name, &u.Email, &access, &refresh, &expiry, &u.ReconnectNeeded, &created, &updated); err != nil {
		return AsanaUser{}, err
	}
	u.Expiry, u.CreatedAt, u.UpdatedAt = fromNullTime(expiry), fromNullTime(created), fromNullTime(updated)
	return u, q.openAll(map[*Secret][]byte{&u.AccessToken: access, &u.RefreshToken: refresh})
}

func (q queries) PutAsanaUser(ctx context.Context, u AsanaUser) error {
	sealed, err := q.sealAll(u.AccessToken, u.RefreshToken)
	if err != nil {
		return err
	}
	now := q.now()
	_, err = q.q.ExecContext(ctx, `INSERT INTO asana_users (`+asanaUserColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
		ON CONFLICT (gid) DO UPDATE SET name = excluded.name, email = excluded.email,
			access_token = excluded.access_token, refresh_token = excluded.refresh_token,
			expiry = excluded.expiry, reconnect_needed = excluded.reconnect_needed, updated_at = excluded.updated_at`,
		u.GID, u.Name, u.Email, sealed[0], sealed[1], nullTime(u.Expiry), u.ReconnectNeeded, now)
	return q.wrap("put asana user "+u.GID, err)
}

// GetAsanaUser reads an Asana user. Inside a transaction on PostgreSQL the
// row stays locked until the transaction ends, so two replicas refreshing
// the user's token take turns (as GetJiraCredential).
func (q queries) GetAsanaUser(ctx context.Context, gid string) (AsanaUser, error) {
	lock := ""
	if q.tx {
		lock = q.s.dialect.ForUpdate
	}
	u, err := q.scanAsanaUser(q.q.QueryRowContext(ctx, `SELECT `+asanaUserColumns+` FROM asana_users WHERE gid = $1`+lock, gid))
	return u, q.wrap("get asana user "+gid, err)
}

func (q queries) ListAsanaUsers(ctx context.Context) ([]AsanaUser, error) {
	return list(ctx, q, "list asana users", `SELECT `+asanaUserColumns+` FROM asana_users ORDER BY name, gid`, q.scanAsanaUser)
}

// Jira credentials.

const jiraCredentialColumns = `asana_user_gid, jira_server_id, method, access_token, token_secret, refresh_token,
	expiry, jira_username, jira_display_name, reconnect_needed, reconnect_reason, created_at, updated_at`

func (q queries) scanJiraCredential(row scanner) (JiraCredential, error) {
	var (
		c                        JiraCredential
		method                   string
		access, secret, refresh  []byte
		expiry, created, updated sql.NullTime
	)
	if err := row.Scan(&c.AsanaUserGID, &c.JiraServerID, &method, &access, &secret, &refresh, &expiry,
		&c.JiraUsername, &c.JiraDisplayName, &c.ReconnectNeeded, &c.ReconnectReason, &created, &updated); err != nil {
		return JiraCredential{}, err
	}
	c.Method = AuthMethod(method)
	c.Expiry, c.CreatedAt, c.UpdatedAt = fromNullTime(expiry), fromNullTime(created), fromNullTime(updated)
	return c, q.openAll(map[*Secret][]byte{&c.AccessToken: access, &c.TokenSecret: secret, &c.RefreshToken: refresh})
}

func (q queries) PutJiraCredential(ctx context.Context, c JiraCredential) error {
	sealed, err := q.sealAll(c.AccessToken, c.TokenSecret, c.RefreshToken)
	if err != nil {
		return err
	}
	now := q.now()
	_, err = q.q.ExecContext(ctx, `INSERT INTO jira_credentials (`+jiraCredentialColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
		ON CONFLICT (asana_user_gid, jira_server_id) DO UPDATE SET method = excluded.method,
			access_token = excluded.access_token, token_secret = excluded.token_secret,
			refresh_token = excluded.refresh_token, expiry = excluded.expiry,
			jira_username = excluded.jira_username, jira_display_name = excluded.jira_display_name,
			reconnect_needed = excluded.reconnect_needed, reconnect_reason = excluded.reconnect_reason,
			updated_at = excluded.updated_at`,
		c.AsanaUserGID, c.JiraServerID, string(c.Method), sealed[0], sealed[1], sealed[2], nullTime(c.Expiry),
		c.JiraUsername, c.JiraDisplayName, c.ReconnectNeeded, c.ReconnectReason, now)
	return q.wrap("put jira credential", err)
}

// GetJiraCredential reads a credential. Inside a transaction on PostgreSQL the
// row stays locked until the transaction ends, so two replicas refreshing the
// same OAuth 2.0 token take turns.
func (q queries) GetJiraCredential(ctx context.Context, asanaUserGID, jiraServerID string) (JiraCredential, error) {
	lock := ""
	if q.tx {
		lock = q.s.dialect.ForUpdate
	}
	c, err := q.scanJiraCredential(q.q.QueryRowContext(ctx, `SELECT `+jiraCredentialColumns+`
		FROM jira_credentials WHERE asana_user_gid = $1 AND jira_server_id = $2`+lock, asanaUserGID, jiraServerID))
	return c, q.wrap("get jira credential", err)
}

func (q queries) ListJiraCredentials(ctx context.Context, jiraServerID string) ([]JiraCredential, error) {
	if jiraServerID == "" {
		return list(ctx, q, "list jira credentials", `SELECT `+jiraCredentialColumns+`
			FROM jira_credentials ORDER BY jira_server_id, asana_user_gid`, q.scanJiraCredential)
	}
	// One server's through its index (jira_server_id first), not a scan.
	return list(ctx, q, "list jira credentials", `SELECT `+jiraCredentialColumns+`
		FROM jira_credentials WHERE jira_server_id = $1 ORDER BY asana_user_gid`, q.scanJiraCredential, jiraServerID)
}

func (q queries) FindJiraCredential(ctx context.Context, jiraServerID, jiraUsername string) (JiraCredential, error) {
	c, err := q.scanJiraCredential(q.q.QueryRowContext(ctx, `SELECT `+jiraCredentialColumns+`
		FROM jira_credentials WHERE jira_server_id = $1 AND lower(jira_username) = lower($2) AND NOT reconnect_needed
		ORDER BY asana_user_gid LIMIT 1`, jiraServerID, jiraUsername))
	return c, q.wrap("find jira credential of "+jiraUsername, err)
}

func (q queries) CountLinks(ctx context.Context, jiraServerID string, limit int) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM links WHERE jira_server_id = $1 LIMIT $2) AS l`,
		jiraServerID, limit).Scan(&n)
	return n, q.wrap("count links", err)
}

func (q queries) CountJiraCredentials(ctx context.Context, jiraServerID string) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT count(*) FROM jira_credentials WHERE jira_server_id = $1`, jiraServerID).Scan(&n)
	return n, q.wrap("count jira credentials", err)
}

func (q queries) MarkJiraCredentialReconnect(ctx context.Context, asanaUserGID, jiraServerID, reason string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE jira_credentials SET reconnect_needed = TRUE, reconnect_reason = $3,
		updated_at = $4 WHERE asana_user_gid = $1 AND jira_server_id = $2`, asanaUserGID, jiraServerID, reason, q.now())
	return q.mustAffect("mark jira credential for reconnect", res, err)
}

func (q queries) DeleteJiraCredential(ctx context.Context, asanaUserGID, jiraServerID string) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM jira_credentials WHERE asana_user_gid = $1 AND jira_server_id = $2`,
		asanaUserGID, jiraServerID)
	return q.mustAffect("delete jira credential", res, err)
}

// One-time auth states.

func (q queries) PutAuthState(ctx context.Context, a AuthState) error {
	data, err := q.seal(a.Data)
	if err != nil {
		return err
	}
	if a.ExpiresAt.IsZero() {
		return fmt.Errorf("store: put auth state: ExpiresAt is required")
	}
	res, err := q.q.ExecContext(ctx, `INSERT INTO auth_states (state, kind, data, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, a.State, a.Kind, data, dbTime(a.ExpiresAt), q.now())
	return q.claimed("put auth state", res, err)
}

// ConsumeAuthState deletes the state and returns it, in one statement, so of
// two callbacks racing with the same state exactly one wins. An expired state
// is deleted too and reported as ErrNotFound.
func (q queries) ConsumeAuthState(ctx context.Context, state string) (AuthState, error) {
	var (
		a                AuthState
		data             []byte
		expires, created sql.NullTime
	)
	err := q.q.QueryRowContext(ctx, `DELETE FROM auth_states WHERE state = $1
		RETURNING state, kind, data, expires_at, created_at`, state).Scan(&a.State, &a.Kind, &data, &expires, &created)
	if err != nil {
		return AuthState{}, q.wrap("consume auth state", err)
	}
	a.ExpiresAt, a.CreatedAt = fromNullTime(expires), fromNullTime(created)
	if !a.ExpiresAt.After(q.s.now()) {
		return AuthState{}, fmt.Errorf("store: consume auth state: expired: %w", ErrNotFound)
	}
	a.Data, err = q.open(data)
	return a, err
}

// Links.

const linkColumns = `id, workspace_gid, task_gid, jira_server_id, issue_id, issue_key, created_by, created_at`

func scanLink(row scanner) (Link, error) {
	var (
		l       Link
		created sql.NullTime
	)
	err := row.Scan(&l.ID, &l.WorkspaceGID, &l.TaskGID, &l.JiraServerID, &l.IssueID, &l.IssueKey, &l.CreatedBy, &created)
	l.CreatedAt = fromNullTime(created)
	return l, err
}

// CreateLink stores a link, or returns ErrConflict when the task or the
// issue is already linked on the server (without a unique violation, so the
// surrounding transaction stays usable).
func (q queries) CreateLink(ctx context.Context, l *Link) error {
	return q.insertLink(ctx, l, false)
}

// insertLink is CreateLink, marking the link's copy job pending when
// copyPending.
func (q queries) insertLink(ctx context.Context, l *Link, copyPending bool) error {
	now := q.now()
	err := q.q.QueryRowContext(ctx, `INSERT INTO links (workspace_gid, task_gid, jira_server_id, issue_id, issue_key, issue_project, created_by, created_at, copy_pending)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id`,
		l.WorkspaceGID, l.TaskGID, l.JiraServerID, l.IssueID, l.IssueKey, issueProject(l.IssueKey), l.CreatedBy, now, copyPending).Scan(&l.ID)
	return q.linkInserted(l, now, err)
}

func (q queries) ClaimLinkCopy(ctx context.Context, id int64) (Link, bool, error) {
	l, err := scanLink(q.q.QueryRowContext(ctx, `UPDATE links SET copy_pending = FALSE WHERE id = $1 AND copy_pending
		RETURNING `+linkColumns, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, false, nil
	}
	if err != nil {
		return Link{}, false, q.wrap(fmt.Sprint("claim the copy of link ", id), err)
	}
	return l, true, nil
}

func (q queries) ClaimLinkCopies(ctx context.Context, before time.Time, limit int) ([]Link, error) {
	// The mark is checked again on the row updated: of two sweeps that
	// chose the same link, the second finds it cleared (PostgreSQL
	// re-reads a row another transaction updated meanwhile) and skips it.
	rows, err := q.q.QueryContext(ctx, `UPDATE links SET copy_pending = FALSE WHERE copy_pending AND id IN (
			SELECT id FROM links WHERE copy_pending AND created_at < $1 ORDER BY created_at LIMIT $2)
		RETURNING `+linkColumns, dbTime(before), limit)
	if err != nil {
		return nil, q.wrap("claim the copies of links marked before "+before.String(), err)
	}
	defer rows.Close()
	var out []Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, q.wrap("claim the copies of links", err)
		}
		out = append(out, l)
	}
	return out, q.wrap("claim the copies of links", rows.Err())
}

func (q queries) CreateLinkOfCreate(ctx context.Context, l *Link, c LinkOfCreate) error {
	if q.s.dialect.Name != "postgres" {
		// SQLite runs in the process: a statement costs no round trip.
		return q.atomic(ctx, func(q queries) error { return q.createLinkOfCreate(ctx, l, c) })
	}
	// PostgreSQL: one round trip instead of four. The field state's
	// foreign key sees the link, as constraints are checked at the end of
	// the statement.
	//
	// Its commit does not wait for the log flush (synchronous_commit off
	// for this statement's own transaction only, set_config's is_local):
	// the request answers without a second flush after the claim's. What
	// a database crash can lose is the record of a create that is durable
	// elsewhere: the claim (committed with its flush before Jira's create)
	// outlives it, the issue's fingerprint is in Jira, and the sweep of
	// unresolved claims (the sweep_create_claims job) links the issue
	// again once the claim expires.
	// Every later synchronous commit (the copy job's, enqueued once the
	// request answered) flushes it too, as PostgreSQL flushes its log in
	// order.
	now := q.now()
	result := c.Claim.Result
	if result == nil {
		result = []byte{}
	}
	var rl SyncFieldState
	if c.RemoteLink != nil {
		rl = *c.RemoteLink
	}
	var a SignedRequest
	if c.Answer != nil {
		a = *c.Answer
		a.ExpiresAt = dbTime(a.ExpiresAt)
		if a.Response == nil {
			a.Response = []byte{}
		}
	}
	err := q.q.QueryRowContext(ctx, `WITH l AS (
			INSERT INTO links (workspace_gid, task_gid, jira_server_id, issue_id, issue_key, issue_project, created_by, created_at, copy_pending)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $23) ON CONFLICT DO NOTHING RETURNING id),
		k AS (UPDATE idempotency_keys SET result = $9 WHERE scope = $10 AND key = $11 AND EXISTS (SELECT 1 FROM l)),
		f AS (INSERT INTO sync_field_state (`+syncFieldStateColumns+`)
			SELECT id, $12, $13, $14, $15, $16, $8 FROM l WHERE $12 <> ''
			ON CONFLICT (link_id, field) DO UPDATE SET asana_value = excluded.asana_value, jira_value = excluded.jira_value,
				written = excluded.written, seq = excluded.seq, updated_at = excluded.updated_at),
		a AS (INSERT INTO signed_requests (signature, route, status, response, expires_at, created_at)
			SELECT $17, $18, $19, $20, $21, $8 FROM l WHERE $17 <> ''
			ON CONFLICT (signature) DO UPDATE SET `+answerUpdate+`
			WHERE `+answerOver("$22")+`)
		SELECT id FROM l CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS async`,
		l.WorkspaceGID, l.TaskGID, l.JiraServerID, l.IssueID, l.IssueKey, issueProject(l.IssueKey), l.CreatedBy, now,
		result, c.Claim.Scope, c.Claim.Key, rl.Field, rl.AsanaValue, rl.JiraValue, rl.Written, rl.Seq,
		a.Signature, a.Route, a.Status, a.Response, a.ExpiresAt, c.Claimed, c.CopyPending).Scan(&l.ID)
	return q.linkInserted(l, now, err)
}

// createLinkOfCreate is CreateLinkOfCreate as a statement for each record.
func (q queries) createLinkOfCreate(ctx context.Context, l *Link, c LinkOfCreate) error {
	if err := q.insertLink(ctx, l, c.CopyPending); err != nil {
		return err
	}
	if c.Claim.Key != "" {
		err := q.CompleteIdempotencyKey(ctx, c.Claim.Scope, c.Claim.Key, c.Claim.Result)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if c.RemoteLink != nil {
		s := *c.RemoteLink
		s.LinkID = l.ID
		if err := q.PutSyncFieldState(ctx, s); err != nil {
			return err
		}
	}
	if c.Answer != nil {
		return q.AnswerSignedRequest(ctx, *c.Answer, c.Claimed)
	}
	return nil
}

// linkInserted ends an insert of l at now that returned its id (err is the
// scan's): no row means the task or the issue is linked already.
func (q queries) linkInserted(l *Link, now time.Time, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: link task %s to %s: %w", l.TaskGID, l.IssueKey, ErrConflict)
	}
	if err != nil {
		return q.wrap("link task "+l.TaskGID+" to "+l.IssueKey, err)
	}
	l.CreatedAt = now
	return nil
}

// issueProject is the Jira project key of an issue key: DEMO of DEMO-12.
func issueProject(key string) string {
	p, _, _ := strings.Cut(key, "-")
	return strings.ToUpper(p)
}

func (q queries) GetLinkByTask(ctx context.Context, jiraServerID, taskGID string) (Link, error) {
	l, err := scanLink(q.q.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links
		WHERE jira_server_id = $1 AND task_gid = $2`, jiraServerID, taskGID))
	return l, q.wrap("get link of task "+taskGID, err)
}

func (q queries) GetLinkByIssue(ctx context.Context, jiraServerID, issueID string) (Link, error) {
	l, err := scanLink(q.q.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links
		WHERE jira_server_id = $1 AND issue_id = $2`, jiraServerID, issueID))
	return l, q.wrap("get link of issue "+issueID, err)
}

func (q queries) ListLinksByTask(ctx context.Context, taskGID string) ([]Link, error) {
	return q.listLinks(ctx, "list links of task "+taskGID, `WHERE task_gid = $1 ORDER BY id`, taskGID)
}

var (
	issueKeyShape   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*-[0-9]+$`)
	projectKeyShape = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*-?$`)
	digitsShape     = regexp.MustCompile(`^[0-9]+$`)
)

// ListLinks pages through links, newest first. Every filter is an indexed
// column and the page starts from an id, so a page costs the same at any
// depth and at any number of links.
func (q queries) ListLinks(ctx context.Context, f LinkFilter) ([]Link, error) {
	var (
		where []string
		args  params
	)
	arg := args.add
	if f.JiraServerID != "" {
		where = append(where, "jira_server_id = "+arg(f.JiraServerID))
	}
	switch query := strings.TrimSpace(f.Query); {
	case query == "":
	case digitsShape.MatchString(query):
		where = append(where, "task_gid = "+arg(query))
	case issueKeyShape.MatchString(query):
		where = append(where, "issue_key = "+arg(strings.ToUpper(query)))
	case projectKeyShape.MatchString(query):
		where = append(where, "issue_project = "+arg(strings.ToUpper(strings.TrimSuffix(query, "-"))))
	default:
		return nil, nil // no task, issue or project is named so
	}
	order := "DESC"
	switch {
	case f.AfterID > 0:
		where, order = append(where, "id > "+arg(f.AfterID)), "ASC"
	case f.BeforeID > 0:
		where = append(where, "id < "+arg(f.BeforeID))
	}
	clause := ""
	if len(where) > 0 {
		clause = "WHERE " + strings.Join(where, " AND ")
	}
	clause += " ORDER BY id " + order + " LIMIT " + arg(limitOr(f.Limit, 50, 500))
	links, err := q.listLinks(ctx, "list links", clause, args...)
	if order == "ASC" {
		slices.Reverse(links)
	}
	return links, err
}

func (q queries) listLinks(ctx context.Context, op, clause string, args ...any) ([]Link, error) {
	return list(ctx, q, op, `SELECT `+linkColumns+` FROM links `+clause, scanLink, args...)
}

func (q queries) UpdateLinkIssueKey(ctx context.Context, id int64, issueKey string) error {
	res, err := q.q.ExecContext(ctx, `UPDATE links SET issue_key = $2, issue_project = $3 WHERE id = $1`, id, issueKey, issueProject(issueKey))
	return q.mustAffect("update link issue key", res, err)
}

func (q queries) DeleteLink(ctx context.Context, id int64) error {
	res, err := q.q.ExecContext(ctx, `DELETE FROM links WHERE id = $1`, id)
	return q.mustAffect("delete link", res, err)
}

// Idempotency keys.

// ClaimIdempotencyKey records the key, or returns ErrConflict when a live
// claim exists. An expired claim is replaced. It is one statement that never
// raises a unique violation, so a conflict inside InTx leaves the
// transaction usable (PostgreSQL aborts a transaction on any error).
func (q queries) ClaimIdempotencyKey(ctx context.Context, k IdempotencyKey) error {
	if k.ExpiresAt.IsZero() {
		return fmt.Errorf("store: claim idempotency key: ExpiresAt is required")
	}
	res, err := q.q.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, result, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (scope, key) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at,
			created_at = excluded.created_at
		WHERE idempotency_keys.expires_at <= excluded.created_at`,
		k.Scope, k.Key, k.Result, dbTime(k.ExpiresAt), q.now())
	return q.claimed("claim idempotency key", res, err)
}

func (q queries) ClaimCreation(ctx context.Context, k IdempotencyKey, jiraServerID, taskGID string, sig *SignedRequest) (SignedRequest, bool, error) {
	if k.ExpiresAt.IsZero() {
		return SignedRequest{}, false, fmt.Errorf("store: claim creation: ExpiresAt is required")
	}
	if sig == nil {
		return SignedRequest{}, false, q.claimCreation(ctx, k, jiraServerID, taskGID)
	}
	if sig.Signature == "" || sig.ExpiresAt.IsZero() {
		return SignedRequest{}, false, fmt.Errorf("store: claim creation: a signature and an expiry are required")
	}
	if q.s.dialect.Name != "postgres" {
		// SQLite runs in the process: a statement costs no round trip.
		return q.claimCreationSignedTx(ctx, k, jiraServerID, taskGID, *sig)
	}
	// A record released between the claim and the read of it is gone:
	// claim again then.
	for range 3 {
		first, repeat, err := q.claimCreationSigned(ctx, k, jiraServerID, taskGID, *sig)
		if !errors.Is(err, ErrNotFound) {
			return first, repeat, err
		}
	}
	return SignedRequest{}, false, fmt.Errorf("store: claim creation: signature claimed and released repeatedly meanwhile: %w", ErrConflict)
}

func (q queries) claimCreation(ctx context.Context, k IdempotencyKey, jiraServerID, taskGID string) error {
	// The WHERE also keeps SQLite from reading ON CONFLICT as a join's ON.
	res, err := q.q.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, result, expires_at, created_at, workspace_gid, user_gid)
		SELECT $1, $2, $3, $4, $5, $8, $9 WHERE NOT EXISTS (SELECT 1 FROM links WHERE jira_server_id = $6 AND task_gid = $7)
		ON CONFLICT (scope, key) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at,
			created_at = excluded.created_at, `+creationIntentUpdate+`
		WHERE idempotency_keys.expires_at <= excluded.created_at`,
		k.Scope, k.Key, k.Result, dbTime(k.ExpiresAt), q.now(), jiraServerID, taskGID, k.WorkspaceGID, k.UserGID)
	return q.claimed("claim creation", res, err)
}

// claimCreationSignedTx is ClaimCreation with a signature, as a
// transaction of three statements.
func (q queries) claimCreationSignedTx(ctx context.Context, k IdempotencyKey, jiraServerID, taskGID string, sig SignedRequest) (SignedRequest, bool, error) {
	var (
		first  SignedRequest
		repeat bool
	)
	err := q.atomic(ctx, func(q queries) error {
		var err error
		first, err = q.GetSignedRequest(ctx, sig.Signature)
		if !errors.Is(err, ErrNotFound) {
			repeat = err == nil
			return err
		}
		if err := q.claimCreation(ctx, k, jiraServerID, taskGID); err != nil {
			return err
		}
		var claimed bool
		if first, claimed, err = q.ClaimSignedRequest(ctx, sig); err != nil || claimed {
			return err
		}
		repeat = true
		return q.releaseCreation(ctx, k)
	})
	if err != nil {
		return SignedRequest{}, false, err
	}
	return first, repeat, nil
}

// releaseCreation lets go of a creation's claim just taken, whose
// signature another copy of the request recorded meanwhile.
func (q queries) releaseCreation(ctx context.Context, k IdempotencyKey) error {
	return q.ReleaseIdempotencyKey(ctx, k.Scope, k.Key)
}

func (q queries) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key)
	return q.wrap("release idempotency key", err)
}

func (q queries) TakeOverIdempotencyKey(ctx context.Context, k IdempotencyKey, result []byte, expiredBy time.Time) (bool, error) {
	if k.ExpiresAt.IsZero() || (result == nil && expiredBy.IsZero()) {
		return false, fmt.Errorf("store: take over idempotency key: ExpiresAt, and the result taken over or the expiry, are required")
	}
	args := params{k.Scope, k.Key}
	set := `result = NULL, expires_at = ` + args.add(dbTime(k.ExpiresAt)) + `, workspace_gid = ` + args.add(k.WorkspaceGID) +
		`, user_gid = ` + args.add(k.UserGID)
	var same string
	switch {
	case result == nil:
		same = `result IS NULL`
	case q.s.dialect.Name != "postgres":
		// SQLite compares a TEXT value and a BLOB as different.
		same = `CAST(result AS BLOB) = CAST(` + args.add(result) + ` AS BLOB)`
	default:
		same = `result = ` + args.add(result)
	}
	if expiredBy.IsZero() {
		set += `, created_at = ` + args.add(q.now())
	} else {
		same += ` AND expires_at <= ` + args.add(dbTime(expiredBy))
	}
	res, err := q.q.ExecContext(ctx, `UPDATE idempotency_keys SET `+set+` WHERE scope = $1 AND key = $2 AND `+same, args...)
	if err != nil {
		return false, q.wrap("take over idempotency key", err)
	}
	n, err := res.RowsAffected()
	return n > 0, q.wrap("take over idempotency key", err)
}

// creationIntentUpdate sets a creation's intent as a claim's upsert
// inserts it (ClaimCreation), over an expired claim.
const creationIntentUpdate = `workspace_gid = excluded.workspace_gid, user_gid = excluded.user_gid`

// unresolvedCreation is the WHERE of the partial index
// idempotency_keys_unresolved_creations (migration 025) word for word:
// SQLite reads a partial index only for a query that repeats it. A claim
// with an intent (user_gid) is a creation's (CreationScope); its result
// is FailedCreation or CreationAwaitingReconnect when not NULL.
func (q queries) unresolvedCreation() string {
	if q.s.dialect.Name == "postgres" {
		return `user_gid <> '' AND (result IS NULL OR result IN ('{"failed":true}'::bytea, '{"failed":true,"reconnect":true}'::bytea))`
	}
	return `user_gid <> '' AND (result IS NULL OR CAST(result AS BLOB) IN (CAST('{"failed":true}' AS BLOB), CAST('{"failed":true,"reconnect":true}' AS BLOB)))`
}

// PostponeCreation goes by the claim's expiry as the sweep set it: a
// submit that claimed the creation anew after that lapsed, or another
// sweep that took it over, set another (and the submit's own claim marked
// failed under it would let a second submit take it over while the first
// was between Jira's create and its remote link).
func (q queries) PostponeCreation(ctx context.Context, taken IdempotencyKey, until time.Time) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE idempotency_keys SET result = $3, expires_at = $4
		WHERE scope = $1 AND key = $2 AND result IS NULL AND expires_at = $5`,
		CreationScope, taken.Key, CreationAwaitingReconnect, dbTime(until), dbTime(taken.ExpiresAt))
	if err != nil {
		return false, q.wrap("postpone creation", err)
	}
	n, err := res.RowsAffected()
	return n > 0, q.wrap("postpone creation", err)
}

// WakeCreationsAwaitingReconnect goes by the claim's result alone:
// CreationAwaitingReconnect is written only by the sweep's postponement,
// and whoever takes such a claim over (a submit, the sweep) clears it, so
// a claim held by anyone, or failed by a request (FailedCreation), or
// completed, never matches. It reads the unresolved claims through their
// partial index (repeating its WHERE, as SQLite needs), from due on: the
// claims put off and the creates in flight, never the completed claims of
// every create. The key's prefix is compared by substr rather than as a
// range of the primary key: a range of text under PostgreSQL's collation
// need not hold the keys that start with it.
func (q queries) WakeCreationsAwaitingReconnect(ctx context.Context, jiraServerID, userGID string, due time.Time) (int64, error) {
	prefix := jiraServerID + ":"
	args := params{dbTime(due), userGID, prefix, len(prefix)}
	awaiting := args.add(CreationAwaitingReconnect)
	same := `result = ` + awaiting
	if q.s.dialect.Name != "postgres" {
		// SQLite compares a TEXT value and a BLOB as different.
		same = `CAST(result AS BLOB) = CAST(` + awaiting + ` AS BLOB)`
	}
	res, err := q.q.ExecContext(ctx, `UPDATE idempotency_keys SET expires_at = $1
		WHERE `+q.unresolvedCreation()+` AND expires_at > $1 AND user_gid = $2 AND substr(key, 1, $4) = $3 AND `+same, args...)
	if err != nil {
		return 0, q.wrap("wake creations awaiting reconnect", err)
	}
	n, err := res.RowsAffected()
	return n, q.wrap("wake creations awaiting reconnect", err)
}

const idempotencyKeyColumns = `scope, key, result, expires_at, created_at, workspace_gid, user_gid`

func scanIdempotencyKey(row scanner) (IdempotencyKey, error) {
	var (
		k                IdempotencyKey
		expires, created sql.NullTime
	)
	err := row.Scan(&k.Scope, &k.Key, &k.Result, &expires, &created, &k.WorkspaceGID, &k.UserGID)
	k.ExpiresAt, k.CreatedAt = fromNullTime(expires), fromNullTime(created)
	return k, err
}

func (q queries) ListUnresolvedCreations(ctx context.Context, before time.Time, limit int) ([]IdempotencyKey, error) {
	return list(ctx, q, "list unresolved creations", `SELECT `+idempotencyKeyColumns+` FROM idempotency_keys
		WHERE `+q.unresolvedCreation()+` AND expires_at <= $1 AND created_at > $3 ORDER BY expires_at LIMIT $2`,
		scanIdempotencyKey, dbTime(before), limit, dbTime(before.Add(-unresolvedCreationRetention)))
}

// claimCreationSigned is ClaimCreation with a signature in one statement:
// a live record of the signature (seen) keeps the creation from being
// claimed (k), and only a creation claimed records the signature (s).
// Another copy of the request may record the signature between the
// statement's snapshot and its insert (when it answers without creating):
// then the claim just taken is let go, and that record read.
func (q queries) claimCreationSigned(ctx context.Context, k IdempotencyKey, jiraServerID, taskGID string, sig SignedRequest) (SignedRequest, bool, error) {
	var (
		claimed, signed  bool
		first            SignedRequest
		signature, route sql.NullString
		status           sql.NullInt64
		expires, created sql.NullTime
	)
	err := q.q.QueryRowContext(ctx, `WITH seen AS (
			SELECT signature, route, status, response, expires_at, created_at FROM signed_requests
			WHERE signature = $8 AND expires_at > $5),
		k AS (
			INSERT INTO idempotency_keys (scope, key, result, expires_at, created_at, workspace_gid, user_gid)
			SELECT $1, $2, $3, $4, $5, $11, $12 WHERE NOT EXISTS (SELECT 1 FROM seen)
				AND NOT EXISTS (SELECT 1 FROM links WHERE jira_server_id = $6 AND task_gid = $7)
			ON CONFLICT (scope, key) DO UPDATE SET result = excluded.result, expires_at = excluded.expires_at,
				created_at = excluded.created_at, `+creationIntentUpdate+`
			WHERE idempotency_keys.expires_at <= excluded.created_at
			RETURNING 1),
		s AS (
			INSERT INTO signed_requests (signature, route, status, response, expires_at, created_at)
			SELECT $8, $9, 0, NULL, $10, $5 FROM k
			ON CONFLICT (signature) DO UPDATE SET route = excluded.route, status = 0, response = NULL,
				expires_at = excluded.expires_at, created_at = excluded.created_at
			WHERE signed_requests.expires_at <= excluded.created_at
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM k), EXISTS (SELECT 1 FROM s),
			seen.signature, seen.route, seen.status, seen.response, seen.expires_at, seen.created_at
		FROM (SELECT 1) AS one LEFT JOIN seen ON true`,
		k.Scope, k.Key, k.Result, dbTime(k.ExpiresAt), q.now(), jiraServerID, taskGID,
		sig.Signature, sig.Route, dbTime(sig.ExpiresAt), k.WorkspaceGID, k.UserGID).
		Scan(&claimed, &signed, &signature, &route, &status, &first.Response, &expires, &created)
	switch {
	case err != nil:
		return SignedRequest{}, false, q.wrap("claim creation", err)
	case signature.Valid:
		first.Signature, first.Route, first.Status = signature.String, route.String, int(status.Int64)
		first.ExpiresAt, first.CreatedAt = fromNullTime(expires), fromNullTime(created)
		return first, true, nil
	case !claimed:
		return SignedRequest{}, false, fmt.Errorf("store: claim creation: %w", ErrConflict)
	case signed:
		return SignedRequest{}, false, nil
	}
	if err := q.releaseCreation(ctx, k); err != nil {
		return SignedRequest{}, false, err
	}
	first, err = q.GetSignedRequest(ctx, sig.Signature)
	return first, err == nil, err
}

func (q queries) GetIdempotencyKey(ctx context.Context, scope, key string) (IdempotencyKey, error) {
	k, err := scanIdempotencyKey(q.q.QueryRowContext(ctx, `SELECT `+idempotencyKeyColumns+` FROM idempotency_keys
		WHERE scope = $1 AND key = $2 AND expires_at > $3`, scope, key, q.now()))
	return k, q.wrap("get idempotency key", err)
}

func (q queries) CompleteIdempotencyKey(ctx context.Context, scope, key string, result []byte) error {
	if result == nil {
		result = []byte{}
	}
	res, err := q.q.ExecContext(ctx, `UPDATE idempotency_keys SET result = $3 WHERE scope = $1 AND key = $2`,
		scope, key, result)
	return q.mustAffect("complete idempotency key", res, err)
}

// Audit log.

func (q queries) AppendAudit(ctx context.Context, e AuditEntry) error {
	at := e.At
	if at.IsZero() {
		at = q.s.now()
	}
	_, err := q.q.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)`,
		dbTime(at), e.Actor, e.Action, e.Target, e.Detail)
	return q.wrap("append audit entry", err)
}

// ListAudit pages through the audit log, newest first, from an id: a page
// costs the same at any depth, with or without a filter.
func (q queries) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	before := f.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	var args params
	where := []string{"id < " + args.add(before)}
	if f.Action != "" {
		where = append(where, "action = "+args.add(f.Action))
	}
	if f.Target != "" {
		where = append(where, "target = "+args.add(f.Target))
	}
	limit := args.add(limitOr(f.Limit, 50, 500))
	return list(ctx, q, "list audit entries", `SELECT id, at, actor, action, target, detail FROM audit_log
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT `+limit,
		func(row scanner) (AuditEntry, error) {
			var (
				e  AuditEntry
				at sql.NullTime
			)
			err := row.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail)
			e.At = fromNullTime(at)
			return e, err
		}, args...)
}

// DeleteAbandonedCreations reads the unresolved claims through their
// partial index, as the sweep does: those expired, a few at most, never
// the completed claims of every create.
func (q queries) DeleteAbandonedCreations(ctx context.Context, now time.Time) ([]IdempotencyKey, error) {
	return list(ctx, q, "delete abandoned creations", `DELETE FROM idempotency_keys
		WHERE `+q.unresolvedCreation()+` AND expires_at <= $1 AND created_at <= $2
		RETURNING `+idempotencyKeyColumns,
		scanIdempotencyKey, dbTime(now), dbTime(now.Add(-unresolvedCreationRetention)))
}

// unresolvedCreationRetention is how long after it was claimed an
// unresolved creation's claim (ListUnresolvedCreations) outlives its
// expiry, for its sweep to finish it.
const unresolvedCreationRetention = 7 * 24 * time.Hour

// DeleteExpired removes expired auth states, idempotency keys, signed
// request records and side effects.
func (q queries) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, table := range []string{"auth_states", "idempotency_keys", "signed_requests", "side_effects"} {
		where, args := `expires_at <= $1`, []any{dbTime(now)}
		if table == "idempotency_keys" {
			// The sweep of unresolved creations finishes them (or lets
			// them go) a minute or so after they expired; one whose user
			// cannot search Jira any more goes a week on, through
			// DeleteAbandonedCreations, which names it.
			where += ` AND NOT (` + q.unresolvedCreation() + `)`
		}
		res, err := q.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+where, args...)
		if err != nil {
			return total, q.wrap("delete expired "+table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, q.wrap("delete expired "+table, err)
		}
		total += n
	}
	n, err := q.deleteExpiredJiraDeliveries(ctx, now)
	return total + n, err
}
