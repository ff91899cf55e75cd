// Package store owns asanajira's persistent records: Jira servers, Asana
// workspaces and users, the connections and project routing between them,
// per-user Jira credentials, one-time auth states, task ↔ issue links,
// idempotency keys, rule action configurations, admins, the replay cache of
// signed requests and the audit log.
//
// The Store interface is implemented once, over database/sql, by SQL in this
// package; store/sqlite and store/postgres open their database, apply their
// embedded migrations and supply the few dialect differences. Secret fields
// (type Secret) are sealed by a Sealer before they reach the database, so
// neither the SQLite file nor PostgreSQL rows ever hold a token in the clear.
// store/storetest holds the conformance suite both implementations pass.
package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrNotFound is returned when the record asked for does not exist (or, for
// auth states and idempotency keys, has expired).
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write would break a uniqueness rule: a second
// Jira server with the same base URL, a task linked twice on one server, an
// idempotency key already claimed.
var ErrConflict = errors.New("store: conflict")

// Queries are the reads and writes of asanajira's records. Store runs them
// against the database; Tx runs them inside one transaction.
type Queries interface {
	CreateJiraServer(ctx context.Context, s *JiraServer) error
	GetJiraServer(ctx context.Context, id string) (JiraServer, error)
	GetJiraServerByConsumerKey(ctx context.Context, consumerKey string) (JiraServer, error)
	ListJiraServers(ctx context.Context) ([]JiraServer, error)
	// ListJiraServerNames lists every server's ID, Name and BaseURL alone,
	// in name order, for pages that name servers: no secret is opened.
	ListJiraServerNames(ctx context.Context) ([]JiraServer, error)
	UpdateJiraServer(ctx context.Context, s *JiraServer) error
	DeleteJiraServer(ctx context.Context, id string) error

	PutWorkspace(ctx context.Context, w Workspace) error
	GetWorkspace(ctx context.Context, gid string) (Workspace, error)
	ListWorkspaces(ctx context.Context) ([]Workspace, error)

	PutConnection(ctx context.Context, c Connection) error
	DeleteConnection(ctx context.Context, workspaceGID, jiraServerID string) error
	ListConnections(ctx context.Context) ([]Connection, error)
	PutProjectRoute(ctx context.Context, r ProjectRoute) error
	DeleteProjectRoute(ctx context.Context, workspaceGID, projectGID string) error
	ListProjectRoutes(ctx context.Context, workspaceGID string) ([]ProjectRoute, error)
	RouteProject(ctx context.Context, workspaceGID, projectGID string) (JiraServer, error)
	RoutingQueries
	UserListQueries
	ConnectionListQueries
	WidgetQueries

	PutAsanaUser(ctx context.Context, u AsanaUser) error
	GetAsanaUser(ctx context.Context, gid string) (AsanaUser, error)
	ListAsanaUsers(ctx context.Context) ([]AsanaUser, error)

	PutJiraCredential(ctx context.Context, c JiraCredential) error
	GetJiraCredential(ctx context.Context, asanaUserGID, jiraServerID string) (JiraCredential, error)
	ListJiraCredentials(ctx context.Context, jiraServerID string) ([]JiraCredential, error)
	// FindJiraCredential returns the credential on a server of the Jira
	// user named jiraUsername (case ignored) that needs no reconnecting, the
	// lowest Asana gid's when several are; ErrNotFound when there is none.
	FindJiraCredential(ctx context.Context, jiraServerID, jiraUsername string) (JiraCredential, error)
	// CountJiraCredentials counts a server's credentials (its users).
	CountJiraCredentials(ctx context.Context, jiraServerID string) (int, error)
	MarkJiraCredentialReconnect(ctx context.Context, asanaUserGID, jiraServerID, reason string) error
	DeleteJiraCredential(ctx context.Context, asanaUserGID, jiraServerID string) error

	PutAuthState(ctx context.Context, a AuthState) error
	ConsumeAuthState(ctx context.Context, state string) (AuthState, error)

	CreateLink(ctx context.Context, l *Link) error
	// CreateLinkOfCreate is CreateLink with what a create records with its
	// link (LinkOfCreate), in one statement on PostgreSQL; when the link is
	// not stored (ErrConflict), none of it is written.
	CreateLinkOfCreate(ctx context.Context, l *Link, c LinkOfCreate) error
	// ClaimLinkCopy clears the mark of a link whose copy job is still to
	// enqueue (LinkOfCreate.CopyPending) and returns the link; ok is
	// false, and nothing is written, when the link is not marked (its job
	// was enqueued already) or is gone. Run in the transaction that
	// inserts the job, it makes one of any number of enqueuers insert it.
	ClaimLinkCopy(ctx context.Context, id int64) (l Link, ok bool, err error)
	// ClaimLinkCopies is ClaimLinkCopy for up to limit links marked
	// before before, oldest first: the sweep of the marks no request
	// cleared.
	ClaimLinkCopies(ctx context.Context, before time.Time, limit int) ([]Link, error)
	GetLinkByTask(ctx context.Context, jiraServerID, taskGID string) (Link, error)
	GetLinkByIssue(ctx context.Context, jiraServerID, issueID string) (Link, error)
	ListLinksByTask(ctx context.Context, taskGID string) ([]Link, error)
	ListLinks(ctx context.Context, f LinkFilter) ([]Link, error)
	// CountLinks counts a server's links, up to limit.
	CountLinks(ctx context.Context, jiraServerID string, limit int) (int, error)
	UpdateLinkIssueKey(ctx context.Context, id int64, issueKey string) error
	DeleteLink(ctx context.Context, id int64) error

	ClaimIdempotencyKey(ctx context.Context, k IdempotencyKey) error
	// ClaimCreation is ClaimIdempotencyKey for the creation of a task's
	// issue on a server: also ErrConflict when the task has a link there
	// already, so a create needs no read before its claim. With sig, the
	// signed request asking for the creation is claimed with it
	// (ClaimSignedRequest), in one statement on PostgreSQL: when a live
	// record of its signature exists, nothing is written and that record
	// comes back with repeat true; when the creation is not claimed,
	// neither is the signature.
	ClaimCreation(ctx context.Context, k IdempotencyKey, jiraServerID, taskGID string, sig *SignedRequest) (first SignedRequest, repeat bool, err error)
	GetIdempotencyKey(ctx context.Context, scope, key string) (IdempotencyKey, error)
	CompleteIdempotencyKey(ctx context.Context, scope, key string, result []byte) error
	// ReleaseIdempotencyKey forgets a claim, live or not, so that the next
	// attempt claims it at once: for a holder that did none of what the
	// claim guards.
	ReleaseIdempotencyKey(ctx context.Context, scope, key string) error
	// TakeOverIdempotencyKey claims k (its Scope, Key, ExpiresAt and a
	// creation's intent) over a claim completed with result (a failed
	// attempt's, say), live or not, in one statement: the key is never
	// free meanwhile, and of several attempts that read the same result,
	// one takes it (taken true) and the others find it claimed. With
	// expiredBy set, only a claim that expired by then is taken, and a nil
	// result takes over a claim never completed: the sweep's take-over of
	// a claim its holder left (ListUnresolvedCreations), which a submit
	// that claimed the creation anew, or another sweep, has taken first.
	// The sweep's take-over keeps the claim's CreatedAt, from which
	// DeleteAbandonedCreations counts how long an unresolved creation is
	// kept.
	TakeOverIdempotencyKey(ctx context.Context, k IdempotencyKey, result []byte, expiredBy time.Time) (taken bool, err error)
	// ListUnresolvedCreations lists up to limit claims of creations
	// (CreationScope) with an intent that expired by before unresolved:
	// never completed (their holder died between its claim and its link)
	// or completed with FailedCreation (their holder failed after Jira
	// may have created the issue) or CreationAwaitingReconnect, and taken
	// over by no one since, and claimed within the week they are kept
	// (DeleteAbandonedCreations). Oldest expiry first.
	ListUnresolvedCreations(ctx context.Context, before time.Time, limit int) ([]IdempotencyKey, error)
	// PostponeCreation completes a creation's claim that the sweep took
	// over (taken, as it took it: unfinished, with the expiry it set)
	// with CreationAwaitingReconnect, live until until: the sweep lists
	// it again only then, and a submit takes it over at once. held is
	// false, and nothing written, when the claim is no longer the
	// sweep's as it took it (another took it over after it lapsed).
	PostponeCreation(ctx context.Context, taken IdempotencyKey, until time.Time) (held bool, err error)
	// WakeCreationsAwaitingReconnect brings the claims of a user's
	// creations on a Jira server that the sweep put off for the user's
	// reconnect (CreationAwaitingReconnect) due at due, for the sweep to
	// list them then rather than at their later time, and counts them.
	// Only such claims change, and only those due after due: a live
	// claim, a failed one, a completed one, another user's or another
	// server's are left as they are. One statement.
	WakeCreationsAwaitingReconnect(ctx context.Context, jiraServerID, userGID string, due time.Time) (int64, error)

	SideEffects

	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// DeleteExpired removes auth states, idempotency keys, signed request
	// records and side effects that expired before now, applied Jira
	// deliveries that expired and unapplied ones a week after, and reports
	// how many rows went. An unresolved creation's claim
	// (ListUnresolvedCreations) is kept for its sweep: it goes through
	// DeleteAbandonedCreations alone.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
	// DeleteAbandonedCreations removes, in one statement, the unresolved
	// creations' claims (ListUnresolvedCreations' kind) that expired
	// before now and were claimed more than a week before it, which the
	// sweep lists no more, and returns them, for the cleanup to say which
	// creates were given up.
	DeleteAbandonedCreations(ctx context.Context, now time.Time) ([]IdempotencyKey, error)

	RuleConfigQueries
	AdminQueries
	SignedRequestQueries
	SyncQueries
	AdminAPITokenQueries
	SetupQueries
	AsanaIntakeQueries
	SyncStatusQueries
	FieldMappingQueries
	JiraDeliveryQueries
}

// Tx is a transaction over the store. SQL exposes the underlying *sql.Tx so
// a job can be enqueued in the same transaction as the write that causes it.
type Tx interface {
	Queries
	SQL() *sql.Tx
}

// Store is asanajira's database.
type Store interface {
	Queries
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise; on the connection OnConn put in ctx, if any.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// ResealSecrets opens every sealed value and seals it again under the
	// Sealer's current key, for key rotation. It reports how many values it
	// re-sealed.
	ResealSecrets(ctx context.Context) (int, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// DB is the connection pool, for the job queue.
	DB() *sql.DB
	// Dialect names the database: "sqlite" or "postgres".
	Dialect() string
	Close() error
}
