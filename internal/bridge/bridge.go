// Package bridge holds asanajira's business rules between an Asana task and a
// Jira issue: which Jira server and credentials serve a request, the create
// form built from Jira's create metadata, idempotent issue creation, linking
// an existing issue, the widget's view of an issue, copying a task's
// attachments to its issue, and the "Create Jira issue" rule action.
//
// It speaks to Jira and Asana through their clients and to the database
// through store; it serves no HTTP and knows nothing of the job queue (a
// link it stores is marked with its follow-up work still to enqueue,
// store.LinkOfCreate.CopyPending, which the caller enqueues once the link
// committed). Its stories on Asana tasks go through
// internal/effects, which posts each exactly once.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Errors callers map to answers. Clients implementations return errors that
// match ErrNotConnected or ErrReconnectNeeded with errors.Is.
var (
	// ErrNotConnected: the Asana user has not authorized asanajira (for Asana,
	// or for the Jira server asked for).
	ErrNotConnected = errors.New("bridge: user has not connected")
	// ErrReconnectNeeded: a stored credential was refused; the user must
	// authorize again.
	ErrReconnectNeeded = errors.New("bridge: user must reconnect")
	// ErrNoJiraServer: no Jira server serves this workspace or project.
	ErrNoJiraServer = errors.New("bridge: no Jira server is connected to this Asana workspace")
	// ErrJiraUnavailable: Jira did not answer in time, or failed.
	ErrJiraUnavailable = errors.New("bridge: Jira is unavailable")
	// ErrJiraRateLimited: Jira Data Center's rate limiter refused the call.
	ErrJiraRateLimited = errors.New("bridge: Jira is rate limiting")
	// ErrNoAccess: the user's Jira account may not see or change the issue.
	ErrNoAccess = errors.New("bridge: no access in Jira")
	// ErrInvalid: the user's input cannot be used (unknown key, bad URL).
	ErrInvalid = errors.New("bridge: invalid input")
	// ErrGone: a rule action's configuration no longer exists.
	ErrGone = errors.New("bridge: rule action configuration is gone")
)

// Error is a failure with a message fit for the Asana user. Kind is one of
// the sentinels above, matched by errors.Is; Err is the cause, for the log.
type Error struct {
	Kind error
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Is matches the Kind sentinel.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// UserMessage is the message an Asana user may see for err: the Msg of a
// bridge *Error, else a generic sentence.
func UserMessage(err error) string {
	var be *Error
	if errors.As(err, &be) {
		return be.Msg
	}
	return "Something went wrong in asanajira; the administrator can find the details in its log."
}

func newError(kind error, err error, format string, a ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, a...), Err: err}
}

// Clients gives authenticated clients acting as one Asana user.
// internal/credentials implements it; errors match ErrNotConnected or
// ErrReconnectNeeded when the user must (re)authorize.
type Clients interface {
	// Jira returns a client acting as the Jira account the Asana user
	// connected on the server, and the server's record.
	Jira(ctx context.Context, asanaUserGID, jiraServerID string) (*jira.Client, store.JiraServer, error)
	// Asana returns a client with the Asana user's own token.
	Asana(ctx context.Context, asanaUserGID string) (*asana.Client, error)
}

// Config configures a Service.
type Config struct {
	Store   store.Store
	Clients Clients
	Log     *slog.Logger
	// JiraTimeout bounds the Jira calls of one interactive request, so an App
	// Components handler answers well inside Asana's 10-second budget
	// (default 4 s).
	JiraTimeout time.Duration
	// WidgetCacheTTL is how long a widget's issue stays cached per (user,
	// issue) (default 30 s; negative disables the cache).
	WidgetCacheTTL time.Duration
	// MetaCacheTTL is how long create metadata stays cached per (user,
	// server, project, issue type) (default 60 s; negative disables).
	MetaCacheTTL time.Duration
	// DownloadHosts are the hosts (host or host:port) whose download_url
	// links attachments are fetched from; default Asana's file hosts.
	DownloadHosts []string
	// DownloadClient fetches attachment contents; nil means a client without
	// a timeout (contexts bound the copies) that refuses redirects to hosts
	// outside DownloadHosts.
	DownloadClient *http.Client
	// PublicURL is asanajira's own base URL, for links in Jira remote links.
	PublicURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultDownloadHosts are the hosts Asana serves download_url links from.
var defaultDownloadHosts = []string{"asana-user-private-us-east-1.s3.amazonaws.com", "s3.amazonaws.com", "app.asana.com", "asana-user-private-eu-west-1.s3.amazonaws.com"}

// DefaultDownloadHosts returns the hosts Asana serves attachment downloads
// from, the default of Config.DownloadHosts.
func DefaultDownloadHosts() []string { return append([]string(nil), defaultDownloadHosts...) }

// Service applies the rules. It is safe for concurrent use.
type Service struct {
	st       store.Store
	clients  Clients
	log      *slog.Logger
	timeout  time.Duration
	now      func() time.Time
	public   string
	hosts    map[string]bool
	download *http.Client

	widgets   *ttlCache[*WidgetData]
	syncLines *ttlCache[syncLine] // by server|issue id
	meta      *ttlCache[[]jira.CreateField]
	types     *ttlCache[[]jira.IssueType]
	projs     *ttlCache[[]jira.Project]

	// effects makes every write to Asana and Jira exactly once.
	effects *effects.Ledger
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.JiraTimeout <= 0 {
		cfg.JiraTimeout = 4 * time.Second
	}
	if cfg.WidgetCacheTTL == 0 {
		cfg.WidgetCacheTTL = 30 * time.Second
	}
	if cfg.MetaCacheTTL == 0 {
		cfg.MetaCacheTTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.DownloadHosts) == 0 {
		cfg.DownloadHosts = DefaultDownloadHosts()
	}
	s := &Service{
		st: cfg.Store, clients: cfg.Clients, log: cfg.Log, timeout: cfg.JiraTimeout, now: cfg.Now,
		public: strings.TrimRight(cfg.PublicURL, "/"), hosts: map[string]bool{},
		widgets:   newTTLCache[*WidgetData](cfg.WidgetCacheTTL, 10000, cfg.Now).tagged(func(d *WidgetData) string { return issueTag(d.ServerID, d.Key) }),
		syncLines: newTTLCache[syncLine](cfg.WidgetCacheTTL, 10000, cfg.Now).tagged(func(l syncLine) string { return issueTag(l.server, l.key) }),
		meta:      newTTLCache[[]jira.CreateField](cfg.MetaCacheTTL, 2000, cfg.Now),
		types:     newTTLCache[[]jira.IssueType](cfg.MetaCacheTTL, 2000, cfg.Now),
		projs:     newTTLCache[[]jira.Project](cfg.MetaCacheTTL, 2000, cfg.Now),
		effects:   effects.NewLedger(cfg.Store, effects.Options{Log: cfg.Log}),
	}
	for _, h := range cfg.DownloadHosts {
		s.hosts[strings.ToLower(strings.TrimSpace(h))] = true
	}
	s.download = cfg.DownloadClient
	if s.download == nil {
		s.download = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !s.allowedHost(req.URL.Host) {
				return fmt.Errorf("redirect to %s, which is not an allowed download host", req.URL.Host)
			}
			return nil
		}}
	}
	return s
}

// allowedHost reports whether hostport (host or host:port of a URL) is an
// allowed download host: listed exactly, or listed without a port and
// reached on 443.
func (s *Service) allowedHost(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if s.hosts[hostport] {
		return true
	}
	h, port, err := net.SplitHostPort(hostport)
	return err == nil && port == "443" && s.hosts[h]
}

// Identity is who a request acts for: the Asana user and workspace of a
// signed App Components request.
type Identity struct {
	User      string
	Workspace string
}

// jiraCtx bounds one interactive request's Jira calls.
func (s *Service) jiraCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// jiraFor returns the user's Jira client on a server, with errors mapped.
func (s *Service) jiraFor(ctx context.Context, user, serverID string) (*jira.Client, store.JiraServer, error) {
	c, srv, err := s.clients.Jira(ctx, user, serverID)
	if err != nil {
		return nil, srv, s.credentialError(err, "Jira")
	}
	return c, srv, nil
}

func (s *Service) asanaFor(ctx context.Context, user string) (*asana.Client, error) {
	c, err := s.clients.Asana(ctx, user)
	if err != nil {
		return nil, s.credentialError(err, "Asana")
	}
	return c, nil
}

func (s *Service) credentialError(err error, what string) error {
	switch {
	case errors.Is(err, ErrReconnectNeeded):
		return newError(ErrReconnectNeeded, err, "Your %s authorization for asanajira has expired or was revoked; authorize again.", what)
	case errors.Is(err, ErrNotConnected), errors.Is(err, store.ErrNotFound):
		return newError(ErrNotConnected, err, "Connect your %s account to asanajira first.", what)
	}
	return fmt.Errorf("bridge: %s credentials: %w", what, err)
}

// jiraError maps a failed Jira call to a bridge *Error. action says what
// was being done ("read OPS-1"). A credential Jira refused is flagged for
// reconnection.
func (s *Service) jiraError(ctx context.Context, user string, srv store.JiraServer, err error, action string) error {
	if err == nil {
		return nil
	}
	var be *Error
	if errors.As(err, &be) {
		return err
	}
	var je *jira.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return newError(ErrJiraUnavailable, err, "Jira (%s) did not answer within %s while trying to %s; try again in a moment.", serverName(srv), s.timeout, action)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("bridge: %s: %w", action, err)
	case errors.Is(err, jira.ErrUnauthorized):
		if user != "" && srv.ID != "" {
			reason := "Jira refused the credential"
			if errors.As(err, &je) && je.Hint() != "" {
				reason = je.Hint()
			}
			// Mark on a context of its own: the request's may be spent.
			mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if merr := s.st.MarkJiraCredentialReconnect(mctx, user, srv.ID, reason); merr != nil && !errors.Is(merr, store.ErrNotFound) {
				s.log.WarnContext(ctx, "could not flag a Jira credential for reconnection", slog.Any("error", merr))
			}
		}
		return newError(ErrReconnectNeeded, err, "Jira (%s) refused your authorization; authorize asanajira again.", serverName(srv))
	case errors.Is(err, jira.ErrRateLimited):
		wait := ""
		if errors.As(err, &je) && je.RetryAfter > 0 {
			wait = fmt.Sprintf(" for %s", je.RetryAfter.Round(time.Second))
		}
		return newError(ErrJiraRateLimited, err, "Jira (%s) is rate limiting requests; try again%s.", serverName(srv), strings.Replace(wait, " for", " in", 1))
	case errors.Is(err, jira.ErrNotFound), errors.Is(err, jira.ErrForbidden):
		return newError(ErrNoAccess, err, "Your Jira account cannot %s, or it does not exist.", action)
	case errors.As(err, &je) && je.Temporary():
		return newError(ErrJiraUnavailable, err, "Jira (%s) is not answering properly (%s); try again in a moment.", serverName(srv), jiraStatus(je))
	}
	return fmt.Errorf("bridge: %s: %w", action, err)
}

func jiraStatus(e *jira.Error) string {
	if e.StatusCode == 0 {
		return "no connection"
	}
	return fmt.Sprintf("HTTP %d", e.StatusCode)
}

func serverName(srv store.JiraServer) string {
	if srv.Name != "" {
		return srv.Name
	}
	return srv.BaseURL
}

// serverForTask picks the Jira server for a task: the route of the first of
// its projects that has one, else the workspace default. Each project's
// route is looked up by key, however many routes the workspace has.
func (s *Service) serverForTask(ctx context.Context, id Identity, task *asana.Task) (store.JiraServer, string, error) {
	if task != nil {
		for _, p := range task.Projects {
			r, err := s.st.GetProjectRoute(ctx, id.Workspace, p.GID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return store.JiraServer{}, "", fmt.Errorf("bridge: project route: %w", err)
			}
			srv, err := s.st.GetJiraServer(ctx, r.JiraServerID)
			if err != nil {
				return store.JiraServer{}, "", fmt.Errorf("bridge: routed server: %w", err)
			}
			return srv, r.JiraProjectKey, nil
		}
	}
	srv, err := s.st.RouteProject(ctx, id.Workspace, "")
	if errors.Is(err, store.ErrNotFound) {
		return store.JiraServer{}, "", newError(ErrNoJiraServer, err, "No Jira server is connected to this Asana workspace yet; ask your asanajira administrator to connect one.")
	}
	if err != nil {
		return store.JiraServer{}, "", fmt.Errorf("bridge: route: %w", err)
	}
	return srv, "", nil
}

// workspaceServers lists the Jira servers connected to a workspace.
func (s *Service) workspaceServers(ctx context.Context, workspace string) ([]store.JiraServer, error) {
	conns, err := s.st.ListWorkspaceConnections(ctx, workspace)
	if err != nil {
		return nil, fmt.Errorf("bridge: connections: %w", err)
	}
	var out []store.JiraServer
	for _, c := range conns {
		srv, err := s.st.GetJiraServer(ctx, c.JiraServerID)
		if err != nil {
			return nil, fmt.Errorf("bridge: connected server: %w", err)
		}
		out = append(out, srv)
	}
	return out, nil
}

// serverVersion is the stored version of a server (zero when unknown, which
// makes the client probe createmeta endpoints).
func serverVersion(srv store.JiraServer) jira.Version {
	v, _ := jira.ParseVersion(srv.Version)
	return v
}

// BrowseURL is the issue's page in Jira.
func BrowseURL(srv store.JiraServer, key string) string {
	return strings.TrimRight(srv.BaseURL, "/") + "/browse/" + key
}

// GlobalID is the remote-link globalId tying a Jira issue to an Asana task;
// issuesWithRemoteLinksByGlobalId finds the issue by it.
func GlobalID(taskGID string) string { return "asana:task:" + taskGID }

// ttlCache is a small map cache with a TTL and a size bound. With a tag
// function, entries are also indexed by tag, so that dropping every entry
// of one tag (one issue's widgets, for every user) does not look at the
// others.
type ttlCache[V any] struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	tag  func(V) string // nil: no index
	mu   sync.Mutex
	data map[string]ttlEntry[V]
	tags map[string]map[string]struct{} // tag → keys
}

type ttlEntry[V any] struct {
	v  V
	at time.Time
}

func newTTLCache[V any](ttl time.Duration, maxEntries int, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: maxEntries, now: now, data: map[string]ttlEntry[V]{}, tags: map[string]map[string]struct{}{}}
}

// tagged returns c indexed by tag.
func (c *ttlCache[V]) tagged(tag func(V) string) *ttlCache[V] {
	c.tag = tag
	return c
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	var zero V
	if c.ttl < 0 {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.data[k]
	if !ok || c.now().Sub(e.at) > c.ttl {
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(k string, v V) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.data[k]; !ok && len(c.data) >= c.max {
		c.evictLocked()
	}
	c.removeLocked(k)
	c.data[k] = ttlEntry[V]{v: v, at: c.now()}
	if c.tag != nil {
		t := c.tag(v)
		if c.tags[t] == nil {
			c.tags[t] = map[string]struct{}{}
		}
		c.tags[t][k] = struct{}{}
	}
}

// evictLocked makes room: expired entries go, and when that frees too
// little, an eighth of the others (whichever the map yields first), so a
// full cache keeps most of what it holds.
func (c *ttlCache[V]) evictLocked() {
	now := c.now()
	for k, e := range c.data {
		if now.Sub(e.at) > c.ttl {
			c.removeLocked(k)
		}
	}
	for k := range c.data {
		if len(c.data) < c.max-c.max/8 {
			break
		}
		c.removeLocked(k)
	}
}

func (c *ttlCache[V]) removeLocked(k string) {
	e, ok := c.data[k]
	if !ok {
		return
	}
	delete(c.data, k)
	if c.tag != nil {
		t := c.tag(e.v)
		delete(c.tags[t], k)
		if len(c.tags[t]) == 0 {
			delete(c.tags, t)
		}
	}
}

// deleteTag drops every entry of one tag.
func (c *ttlCache[V]) deleteTag(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tags[tag] {
		c.removeLocked(k)
	}
}
