package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"time"
)

// ConfigCacheTTL bounds how long a configuration record read by a request
// is reused. Changes made through the same Store are seen at once; changes
// made by another replica sharing the database within this time.
const ConfigCacheTTL = 5 * time.Second

// maxCachedKeys bounds each of the cache's maps; a full map starts over.
const maxCachedKeys = 20000

// ConfigCache is a Store that keeps the configuration every request reads
// (Jira servers by id, a workspace's connections, a project's route and the
// server a project routes to) in memory, so a request finds its Jira server
// without a database round trip. Only what requests asked for is kept, one
// entry per key, a few thousand at most at a thousand workspaces. Any change
// of a server, connection or route through this Store, directly or in a
// transaction, empties the cache; entries also expire after ConfigCacheTTL,
// for changes made by other replicas. Everything else goes to the Store it
// wraps.
//
// Users' Jira credentials are kept too, opened, one entry per user and
// server (reading and opening one was a third of a widget request's CPU).
// Every write of a credential through this Store (connecting, a refresh,
// marking it for reconnection, disconnecting, directly or in a
// transaction) drops that entry at once, and a server's deletion or a
// re-seal drops them all, so within a process a revoked or refreshed token
// is never served. Another replica's write is seen within ConfigCacheTTL;
// until then the only stale case that matters, a token Jira no longer
// accepts, is caught by Jira itself: the 401 marks the credential for
// reconnection through this replica's own write (credentials.Provider), so
// the next request sees "reconnect", and an OAuth 2.0 token rotated by
// another replica's refresh is re-read under the credential's row lock.
// Reads inside a transaction (GetJiraCredential FOR UPDATE) bypass the cache.
//
// Asana users are kept the same way, opened, one entry per user (a create's
// form read and opened its user's Asana token on every request). Every
// write of a user through this Store (connecting, a refresh, marking for
// reconnection, disconnecting: PutAsanaUser, directly or in a transaction)
// drops that entry at once, and a re-seal drops them all. Another replica's
// write is seen within ConfigCacheTTL; a token Asana no longer accepts is
// caught by its 401, which refreshes or marks the user through this
// replica's own write, and the refresh reads the user's row in a
// transaction (GetAsanaUser FOR UPDATE on PostgreSQL), not the cache, so a
// token another replica's refresh rotated is used rather than refreshed
// again.
type ConfigCache struct {
	Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	gen     uint64 // bumped by every change; a read begun before one is not kept
	servers map[string]entry[JiraServer]
	conns   map[string]entry[[]Connection]
	routes  map[[2]string]entry[ProjectRoute]
	routed  map[[2]string]entry[JiraServer]
	creds   map[[2]string]entry[JiraCredential] // (Asana user, Jira server)
	users   map[string]entry[AsanaUser]
}

type entry[T any] struct {
	v   T
	err error // nil or ErrNotFound: a key known to be missing is kept too
	at  time.Time
}

// NewConfigCache wraps st. ttl 0 means ConfigCacheTTL; now may be nil.
func NewConfigCache(st Store, ttl time.Duration, now func() time.Time) *ConfigCache {
	if ttl <= 0 {
		ttl = ConfigCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &ConfigCache{Store: st, ttl: ttl, now: now,
		servers: map[string]entry[JiraServer]{}, conns: map[string]entry[[]Connection]{},
		routes: map[[2]string]entry[ProjectRoute]{}, routed: map[[2]string]entry[JiraServer]{},
		creds: map[[2]string]entry[JiraCredential]{}, users: map[string]entry[AsanaUser]{}}
}

// cachedRead returns m[k] while fresh, else fetches and keeps it unless the
// configuration changed meanwhile.
func cachedRead[K comparable, T any](c *ConfigCache, m map[K]entry[T], k K, fetch func() (T, error)) (T, error) {
	c.mu.Lock()
	if e, ok := m[k]; ok && c.now().Sub(e.at) < c.ttl {
		c.mu.Unlock()
		return e.v, e.err
	}
	gen := c.gen
	c.mu.Unlock()
	v, err := fetch()
	if err == nil || errors.Is(err, ErrNotFound) {
		c.mu.Lock()
		if c.gen == gen {
			if len(m) >= maxCachedKeys {
				clear(m)
			}
			m[k] = entry[T]{v: v, err: err, at: c.now()}
		}
		c.mu.Unlock()
	}
	return v, err
}

// Invalidate forgets everything cached.
func (c *ConfigCache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.servers)
	clear(c.conns)
	clear(c.routes)
	clear(c.routed)
	clear(c.creds)
	clear(c.users)
}

// forget drops the entries of keys from m, after a write of them.
func forget[K comparable, T any](c *ConfigCache, m map[K]entry[T], keys ...K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range keys {
		delete(m, k)
	}
}

// forgetCredentials drops the cached credentials of keys.
func (c *ConfigCache) forgetCredentials(keys ...[2]string) { forget(c, c.creds, keys...) }

func cloneServer(s JiraServer) JiraServer {
	s.AuthMethods = slices.Clone(s.AuthMethods)
	return s
}

// GetJiraServer reads a server through the cache.
func (c *ConfigCache) GetJiraServer(ctx context.Context, id string) (JiraServer, error) {
	s, err := cachedRead(c, c.servers, id, func() (JiraServer, error) { return c.Store.GetJiraServer(ctx, id) })
	return cloneServer(s), err
}

// ListWorkspaceConnections reads a workspace's connections through the cache.
func (c *ConfigCache) ListWorkspaceConnections(ctx context.Context, workspaceGID string) ([]Connection, error) {
	cs, err := cachedRead(c, c.conns, workspaceGID, func() ([]Connection, error) {
		return c.Store.ListWorkspaceConnections(ctx, workspaceGID)
	})
	return slices.Clone(cs), err
}

// GetProjectRoute reads a project's route through the cache.
func (c *ConfigCache) GetProjectRoute(ctx context.Context, workspaceGID, projectGID string) (ProjectRoute, error) {
	return cachedRead(c, c.routes, [2]string{workspaceGID, projectGID}, func() (ProjectRoute, error) {
		return c.Store.GetProjectRoute(ctx, workspaceGID, projectGID)
	})
}

// RouteProject finds a project's server through the cache.
func (c *ConfigCache) RouteProject(ctx context.Context, workspaceGID, projectGID string) (JiraServer, error) {
	s, err := cachedRead(c, c.routed, [2]string{workspaceGID, projectGID}, func() (JiraServer, error) {
		return c.Store.RouteProject(ctx, workspaceGID, projectGID)
	})
	return cloneServer(s), err
}

// GetJiraCredential reads a user's credential on a server through the
// cache (see ConfigCache for when a change is seen).
func (c *ConfigCache) GetJiraCredential(ctx context.Context, asanaUserGID, jiraServerID string) (JiraCredential, error) {
	return cachedRead(c, c.creds, [2]string{asanaUserGID, jiraServerID}, func() (JiraCredential, error) {
		return c.Store.GetJiraCredential(ctx, asanaUserGID, jiraServerID)
	})
}

// GetAsanaUser reads an Asana user through the cache (see ConfigCache for
// when a change is seen).
func (c *ConfigCache) GetAsanaUser(ctx context.Context, gid string) (AsanaUser, error) {
	return cachedRead(c, c.users, gid, func() (AsanaUser, error) { return c.Store.GetAsanaUser(ctx, gid) })
}

// PutAsanaUser stores an Asana user and forgets its cached copy.
func (c *ConfigCache) PutAsanaUser(ctx context.Context, u AsanaUser) error {
	defer forget(c, c.users, u.GID)
	return c.Store.PutAsanaUser(ctx, u)
}

// PutJiraCredential stores a credential and forgets its cached copy.
func (c *ConfigCache) PutJiraCredential(ctx context.Context, cred JiraCredential) error {
	defer c.forgetCredentials([2]string{cred.AsanaUserGID, cred.JiraServerID})
	return c.Store.PutJiraCredential(ctx, cred)
}

// MarkJiraCredentialReconnect marks a credential and forgets its cached
// copy.
func (c *ConfigCache) MarkJiraCredentialReconnect(ctx context.Context, asanaUserGID, jiraServerID, reason string) error {
	defer c.forgetCredentials([2]string{asanaUserGID, jiraServerID})
	return c.Store.MarkJiraCredentialReconnect(ctx, asanaUserGID, jiraServerID, reason)
}

// DeleteJiraCredential deletes a credential and forgets its cached copy.
func (c *ConfigCache) DeleteJiraCredential(ctx context.Context, asanaUserGID, jiraServerID string) error {
	defer c.forgetCredentials([2]string{asanaUserGID, jiraServerID})
	return c.Store.DeleteJiraCredential(ctx, asanaUserGID, jiraServerID)
}

// The writes that change what is cached empty the cache after they ran
// (whether they succeeded or not: a failure may have changed something).

// CreateJiraServer creates a server and empties the cache.
func (c *ConfigCache) CreateJiraServer(ctx context.Context, s *JiraServer) error {
	defer c.Invalidate()
	return c.Store.CreateJiraServer(ctx, s)
}

// UpdateJiraServer updates a server and empties the cache.
func (c *ConfigCache) UpdateJiraServer(ctx context.Context, s *JiraServer) error {
	defer c.Invalidate()
	return c.Store.UpdateJiraServer(ctx, s)
}

// DeleteJiraServer deletes a server and empties the cache.
func (c *ConfigCache) DeleteJiraServer(ctx context.Context, id string) error {
	defer c.Invalidate()
	return c.Store.DeleteJiraServer(ctx, id)
}

// PutConnection puts a connection and empties the cache.
func (c *ConfigCache) PutConnection(ctx context.Context, conn Connection) error {
	defer c.Invalidate()
	return c.Store.PutConnection(ctx, conn)
}

// DeleteConnection deletes a connection and empties the cache.
func (c *ConfigCache) DeleteConnection(ctx context.Context, workspaceGID, jiraServerID string) error {
	defer c.Invalidate()
	return c.Store.DeleteConnection(ctx, workspaceGID, jiraServerID)
}

// PutProjectRoute puts a route and empties the cache.
func (c *ConfigCache) PutProjectRoute(ctx context.Context, r ProjectRoute) error {
	defer c.Invalidate()
	return c.Store.PutProjectRoute(ctx, r)
}

// DeleteProjectRoute deletes a route and empties the cache.
func (c *ConfigCache) DeleteProjectRoute(ctx context.Context, workspaceGID, projectGID string) error {
	defer c.Invalidate()
	return c.Store.DeleteProjectRoute(ctx, workspaceGID, projectGID)
}

// ResealSecrets re-seals the stored secrets and empties the cache.
func (c *ConfigCache) ResealSecrets(ctx context.Context) (int, error) {
	defer c.Invalidate()
	return c.Store.ResealSecrets(ctx)
}

// InTx runs fn in a transaction of the wrapped store; its reads bypass
// the cache (they see the transaction), and a change of what is cached
// empties the cache once the transaction ends.
func (c *ConfigCache) InTx(ctx context.Context, fn func(tx Tx) error) error {
	changed := false
	var (
		creds [][2]string
		users []string
	)
	defer func() {
		switch {
		case changed:
			c.Invalidate()
		case len(creds) > 0 || len(users) > 0:
			c.forgetCredentials(creds...)
			forget(c, c.users, users...)
		}
	}()
	return c.Store.InTx(ctx, func(tx Tx) error {
		return fn(&configTx{Tx: tx, changed: &changed, creds: &creds, users: &users})
	})
}

// configTx notes the writes that change what is cached.
type configTx struct {
	Tx
	changed *bool
	creds   *[][2]string // credentials written
	users   *[]string    // Asana users written
}

func (t *configTx) PutAsanaUser(ctx context.Context, u AsanaUser) error {
	*t.users = append(*t.users, u.GID)
	return t.Tx.PutAsanaUser(ctx, u)
}

func (t *configTx) PutJiraCredential(ctx context.Context, cred JiraCredential) error {
	*t.creds = append(*t.creds, [2]string{cred.AsanaUserGID, cred.JiraServerID})
	return t.Tx.PutJiraCredential(ctx, cred)
}

func (t *configTx) MarkJiraCredentialReconnect(ctx context.Context, asanaUserGID, jiraServerID, reason string) error {
	*t.creds = append(*t.creds, [2]string{asanaUserGID, jiraServerID})
	return t.Tx.MarkJiraCredentialReconnect(ctx, asanaUserGID, jiraServerID, reason)
}

func (t *configTx) DeleteJiraCredential(ctx context.Context, asanaUserGID, jiraServerID string) error {
	*t.creds = append(*t.creds, [2]string{asanaUserGID, jiraServerID})
	return t.Tx.DeleteJiraCredential(ctx, asanaUserGID, jiraServerID)
}

func (t *configTx) CreateJiraServer(ctx context.Context, s *JiraServer) error {
	*t.changed = true
	return t.Tx.CreateJiraServer(ctx, s)
}

func (t *configTx) UpdateJiraServer(ctx context.Context, s *JiraServer) error {
	*t.changed = true
	return t.Tx.UpdateJiraServer(ctx, s)
}

func (t *configTx) DeleteJiraServer(ctx context.Context, id string) error {
	*t.changed = true
	return t.Tx.DeleteJiraServer(ctx, id)
}

func (t *configTx) PutConnection(ctx context.Context, conn Connection) error {
	*t.changed = true
	return t.Tx.PutConnection(ctx, conn)
}

func (t *configTx) DeleteConnection(ctx context.Context, workspaceGID, jiraServerID string) error {
	*t.changed = true
	return t.Tx.DeleteConnection(ctx, workspaceGID, jiraServerID)
}

func (t *configTx) PutProjectRoute(ctx context.Context, r ProjectRoute) error {
	*t.changed = true
	return t.Tx.PutProjectRoute(ctx, r)
}

func (t *configTx) DeleteProjectRoute(ctx context.Context, workspaceGID, projectGID string) error {
	*t.changed = true
	return t.Tx.DeleteProjectRoute(ctx, workspaceGID, projectGID)
}

// ReadDB is the wrapped store's read pool.
func (c *ConfigCache) ReadDB() *sql.DB {
	if r, ok := c.Store.(interface{ ReadDB() *sql.DB }); ok {
		return r.ReadDB()
	}
	return c.DB()
}

// ObserveQueries passes fn to the wrapped store (see SQL.ObserveQueries).
func (c *ConfigCache) ObserveQueries(fn func(ctx context.Context, query string, args []any)) {
	if o, ok := c.Store.(interface {
		ObserveQueries(func(ctx context.Context, query string, args []any))
	}); ok {
		o.ObserveQueries(fn)
	}
}

// Unwrap returns the wrapped store.
func (c *ConfigCache) Unwrap() Store { return c.Store }
