package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// Sync is the sync engine as the Sync page and a link's sync history use
// it; *syncengine.Engine implements it.
type Sync interface {
	// RequestSync asks for a full comparison of a link; it reports false
	// when the link's connection does not sync.
	RequestSync(ctx context.Context, linkID int64, source, key, by string) (bool, error)
	LinkStatus(ctx context.Context, linkID int64) (syncengine.Status, error)
	History(ctx context.Context, linkID int64, limit int) ([]store.SyncHistory, error)
	// Preview tells what a field mapping would change on a link, writing
	// nothing.
	Preview(ctx context.Context, linkID int64, m syncengine.Mapping, force bool) ([]syncengine.FieldChange, error)
}

// AsanaIntake tells the Sync page how asanajira learns of changes in
// Asana; internal/app adapts internal/asanaintake's status to it.
type AsanaIntake interface {
	Status(ctx context.Context) (IntakeStatus, error)
}

// IntakeStatus is the Asana intake as the Sync page shows it.
type IntakeStatus struct {
	// Mode is "events" (Asana's events API polled) or "webhooks".
	Mode string
	// PollInterval is how often an active project is polled, MaxIdleInterval
	// how rarely an idle one is at most, ReconcileEvery how often one with a
	// live webhook is.
	PollInterval, MaxIdleInterval, ReconcileEvery time.Duration
	// Active, Idle and Due count the watched projects.
	Active, Idle, Due       int
	LastPollAt, LastEventAt time.Time
	Budget                  IntakeBudget
	// Webhooks counts the webhooks by health (webhooks mode).
	Webhooks IntakeWebhooks
	// Projects are the watched projects, those with an error first.
	Projects []IntakeProject
}

// IntakeBudget is the Asana request budget of the current minute.
type IntakeBudget struct {
	// TokenBudget is what one token may spend a minute; Tokens how many
	// the intake uses, PausedTokens how many a 429 holds back now.
	TokenBudget, Tokens, PausedTokens int
	// LimitPerMinute is what all tokens together may spend a minute,
	// UsedThisMinute what they spent since it began.
	LimitPerMinute, UsedThisMinute int
	// DemandPerMinute is what the adaptive schedule asks for a minute;
	// FixedDemandPerMinute what polling every project at the poll interval
	// would.
	DemandPerMinute, FixedDemandPerMinute float64
}

// IntakeWebhooks counts Asana webhooks by health.
type IntakeWebhooks struct {
	Active, Pending, Failed, Failing int
	LastDeliveryAt, LastHeartbeatAt  time.Time
}

// IntakeProject is one watched Asana project.
type IntakeProject struct {
	ProjectGID, WorkspaceGID string
	// Interval is how often it is polled now.
	Interval                            time.Duration
	Active                              bool
	NextPollAt, LastPollAt, LastEventAt time.Time
	Requests                            int64
	LastError                           string
	LastErrorAt                         time.Time
	// Webhook is its webhook (webhooks mode; zero before one).
	Webhook store.AsanaWebhook
}

// syncPages are the Sync page (every connection, the Asana intake), each
// connection's sync page, and a link's sync history.
type syncPages struct{ *base }

func (c *syncPages) mount(m *http.ServeMux) {
	m.Handle("GET /admin/sync", c.admin(c.overview))
	m.Handle("GET /admin/sync/{workspace}/{server}", c.admin(c.connection))
	m.Handle("POST /admin/sync/{workspace}/{server}", c.admin(c.saveSettings))
	m.Handle("GET /admin/links/{id}", c.admin(c.link))
	m.Handle("POST /admin/links/{id}/sync", c.admin(c.retry))
	c.mountFields(m)
}

// requestKind is the kind of change a comparison someone asked for is
// recorded as: pending work, never "the last event".
const requestKind = syncengine.KindResync

// Rows the pages list at most.
const (
	errorRows   = 50
	historyRows = 100
	changeRows  = 50
)

// side is one direction of a connection's sync as the pages show it.
type side struct {
	// Pending counts the changes waiting; PendingCapped says there are
	// more than that (store.SyncStatusCountCap).
	Pending       int
	PendingCapped bool
	// Lag is the age of the oldest pending change (0: none).
	Lag time.Duration
	// Last is the latest event from the side (ID 0: none).
	Last store.SyncChange
}

type connectionRow struct {
	WorkspaceGID, WorkspaceName string
	ServerID, ServerName        string
	Settings                    store.SyncSettings
	Status                      store.SyncConnectionStatus
	// JiraToAsana is the Jira side's changes, AsanaToJira the Asana side's.
	JiraToAsana, AsanaToJira side
	// LinksCapped and ErrorsCapped say Status counted more than
	// store.SyncStatusCountCap links, errors: the page says "more than"
	// the cap.
	LinksCapped, ErrorsCapped bool
}

type syncOverviewData struct {
	Available   bool
	Connections []connectionRow
	// Next is the next page of workspaces ("" when none); Paged says this
	// is not the first page.
	Next        template.URL
	Paged       bool
	Intake      *IntakeStatus
	IntakeError string
}

// overview lists the connections with their sync state, those of 50
// workspaces a page (each row reads its settings and counts through the
// connection's indexes), and the Asana intake with its request budget.
func (c *syncPages) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	d := syncOverviewData{Available: c.d.Sync != nil}
	if d.Available {
		after := r.URL.Query().Get("after")
		d.Paged = after != ""
		conns, last, err := c.connectionsPage(ctx, after)
		if err != nil {
			return err
		}
		for _, conn := range conns {
			row, err := c.connectionRow(ctx, conn.ws, conn.serverID, conn.serverName)
			if err != nil {
				return err
			}
			d.Connections = append(d.Connections, row)
		}
		if last != "" {
			d.Next = pageURL("/admin/sync", url.Values{"after": {last}})
		}
	}
	d.Intake, d.IntakeError = c.intake(ctx)
	c.render(w, r, http.StatusOK, "sync", s, "Sync", d)
	return nil
}

type orderedConnection struct {
	ws                   store.Workspace
	serverID, serverName string
}

// connectionsPage lists the connections of a page of workspaces after the
// workspace after, as the Connections page orders them (workspaces by
// name, each one's servers by name): the workspaces by the name index,
// their connections and servers by their keys. last is the page's last
// workspace when there are more, else "".
func (c *syncPages) connectionsPage(ctx context.Context, after string) (conns []orderedConnection, last string, err error) {
	workspaces, err := c.d.Store.ListWorkspacesPage(ctx, store.WorkspaceFilter{AfterGID: after, Limit: pageSize + 1})
	if err != nil {
		return nil, "", fmt.Errorf("admin: sync: %w", err)
	}
	if len(workspaces) > pageSize {
		workspaces = workspaces[:pageSize]
		last = workspaces[len(workspaces)-1].GID
	}
	all, err := c.d.Store.ListConnectionsOf(ctx, keys(workspaces, workspaceGID))
	if err != nil {
		return nil, "", fmt.Errorf("admin: sync: %w", err)
	}
	nb := c.names(ctx)
	byWorkspace := map[string][]orderedConnection{}
	for _, cn := range all {
		byWorkspace[cn.WorkspaceGID] = append(byWorkspace[cn.WorkspaceGID], orderedConnection{serverID: cn.JiraServerID, serverName: nb.serverName(cn.JiraServerID)})
	}
	for _, ws := range workspaces {
		row := byWorkspace[ws.GID]
		slices.SortFunc(row, func(a, b orderedConnection) int { return cmp.Compare(a.serverName, b.serverName) })
		for _, oc := range row {
			oc.ws = ws
			conns = append(conns, oc)
		}
	}
	return conns, last, nil
}

// intake reads the Asana intake's status; a failure is shown on the page,
// not raised: the rest of the page reads the database alone.
func (c *syncPages) intake(ctx context.Context) (*IntakeStatus, string) {
	if c.d.AsanaIntake == nil {
		return nil, ""
	}
	st, err := c.d.AsanaIntake.Status(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "admin: read the Asana intake's status", "error", err)
		return nil, "The Asana intake's state could not be read; the server log has the details."
	}
	return &st, ""
}

func (c *syncPages) connectionRow(ctx context.Context, ws store.Workspace, serverID, serverName string) (connectionRow, error) {
	row := connectionRow{WorkspaceGID: ws.GID, WorkspaceName: ws.Name, ServerID: serverID, ServerName: serverName}
	set, err := c.setup.ConnectionSync(ctx, ws.GID, serverID)
	if err != nil {
		return row, err
	}
	row.Settings = set
	if !set.Enabled && set.EnabledAt.IsZero() {
		// Sync was never switched on: the intakes recorded no change of
		// its links and no run synced them (syncengine records changes of
		// syncing connections only), so its links are all there is to
		// count, not each link's changes and state.
		if row.Status.Links, err = c.d.Store.CountConnectionLinks(ctx, ws.GID, serverID); err != nil {
			return row, fmt.Errorf("admin: sync status: %w", err)
		}
	} else if row.Status, err = c.d.Store.SyncConnectionStatus(ctx, ws.GID, serverID, requestKind); err != nil {
		return row, fmt.Errorf("admin: sync status: %w", err)
	}
	now := c.now()
	row.JiraToAsana, row.AsanaToJira = sideOf(row.Status.Jira, now), sideOf(row.Status.Asana, now)
	row.Status.Links, row.LinksCapped = capped(row.Status.Links)
	row.Status.Errors, row.ErrorsCapped = capped(row.Status.Errors)
	return row, nil
}

// capped is a count of the store's sync status as the pages show it: the
// cap, and whether there are more.
func capped(n int) (int, bool) {
	if n > store.SyncStatusCountCap {
		return store.SyncStatusCountCap, true
	}
	return n, false
}

func sideOf(s store.SyncSideStatus, now time.Time) side {
	out := side{Last: s.Last}
	out.Pending, out.PendingCapped = capped(s.Pending)
	if s.Oldest.ID != 0 {
		out.Lag = max(now.Sub(changedAt(s.Oldest)), 0)
	}
	return out
}

type syncConnectionData struct {
	Row         connectionRow
	Server      store.JiraServer
	ReconcileAt time.Time
	Errors      []linkErrorRow
	Intake      *IntakeStatus
	IntakeError string
	// Projects are the intake's projects of this workspace.
	Projects []IntakeProject
}

type linkErrorRow struct {
	store.SyncLinkError
	IssueURL string
}

// connection shows one connection's sync: its settings, lag and last
// event each way, its Asana projects and its links with an error.
func (c *syncPages) connection(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	ws, srv, err := c.connectionOf(r)
	if err != nil {
		return err
	}
	d := syncConnectionData{Server: srv}
	if d.Row, err = c.connectionRow(ctx, ws, srv.ID, srv.Name); err != nil {
		return err
	}
	// The reconciliation's cursor, named as the sync engine's contract
	// names it (SYNC-DESIGN.md): where the next search starts.
	cursor, err := c.d.Store.GetSyncCursor(ctx, "jira-reconcile:"+srv.ID)
	switch {
	case err == nil:
		d.ReconcileAt, _ = time.Parse(time.RFC3339Nano, cursor) // unreadable: shown as never
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("admin: reconciliation cursor: %w", err)
	}
	errs, err := c.d.Store.ListSyncLinkErrors(ctx, ws.GID, srv.ID, errorRows)
	if err != nil {
		return fmt.Errorf("admin: sync errors: %w", err)
	}
	for _, e := range errs {
		d.Errors = append(d.Errors, linkErrorRow{SyncLinkError: e, IssueURL: srv.BaseURL + "/browse/" + e.Link.IssueKey})
	}
	d.Intake, d.IntakeError = c.intake(ctx)
	if d.Intake != nil {
		for _, p := range d.Intake.Projects {
			if p.WorkspaceGID == ws.GID {
				d.Projects = append(d.Projects, p)
			}
		}
	}
	c.render(w, r, http.StatusOK, "sync_connection", s, "Sync: "+ws.Name+" × "+srv.Name, d)
	return nil
}

// connectionOf reads the workspace and server a request's path names.
func (c *syncPages) connectionOf(r *http.Request) (store.Workspace, store.JiraServer, error) {
	if err := c.needSync(); err != nil {
		return store.Workspace{}, store.JiraServer{}, err
	}
	ws, err := c.setup.Workspace(r.Context(), r.PathValue("workspace"))
	if err != nil {
		return ws, store.JiraServer{}, err
	}
	srv, err := c.setup.Server(r.Context(), r.PathValue("server"))
	return ws, srv, err
}

func (c *syncPages) needSync() error {
	if c.d.Sync == nil {
		return httpx.Errorf(http.StatusServiceUnavailable, "two-way sync is not available to the console")
	}
	return nil
}

// saveSettings saves a connection's sync settings through the setup
// service, which audits them.
func (c *syncPages) saveSettings(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, srv, err := c.connectionOf(r)
	if err != nil {
		return err
	}
	on := func(name string) bool { return r.PostFormValue(name) == "on" }
	set := store.SyncSettings{WorkspaceGID: ws.GID, JiraServerID: srv.ID, Enabled: on("enabled"), Comments: on("comments"),
		Completion: on("completion"), DoneTransition: r.PostFormValue("done_transition"), ReopenTransition: r.PostFormValue("reopen_transition")}
	changed, err := c.setup.SetConnectionSync(r.Context(), s.actor(), set)
	if err != nil {
		return err
	}
	msg := "Nothing changed."
	switch {
	case changed && set.Enabled:
		msg = "Sync settings saved: two-way sync is on for this connection's links."
	case changed:
		msg = "Sync settings saved: two-way sync is off for this connection's links."
	}
	return c.redirect(w, r, syncPath(ws.GID, srv.ID), msg)
}

func syncPath(gid, serverID string) string { return "/admin/sync/" + gid + "/" + serverID }

type linkSyncData struct {
	Link       store.Link
	Server     store.JiraServer
	IssueURL   string
	Connection string
	// LinkedBy is the name of who made the link.
	LinkedBy string
	Status   syncengine.Status
	History  []store.SyncHistory
	Changes  []changeRow
}

// changeRow is a change with who made it by name: Asana names people by
// gid.
type changeRow struct {
	store.SyncChange
	By string
}

// link shows one link's sync: its status, what the engine did (which way,
// when, as whom) and the changes it was told of.
func (c *syncPages) link(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	if err := c.needSync(); err != nil {
		return err
	}
	link, err := c.findLink(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := linkSyncData{Link: link, Connection: syncPath(link.WorkspaceGID, link.JiraServerID)}
	if d.Server, err = c.d.Store.GetJiraServer(ctx, link.JiraServerID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("admin: link: %w", err)
	}
	if d.Server.BaseURL != "" {
		d.IssueURL = d.Server.BaseURL + "/browse/" + link.IssueKey
	}
	if d.Status, err = c.d.Sync.LinkStatus(ctx, link.ID); err != nil {
		return fmt.Errorf("admin: link: %w", err)
	}
	if d.History, err = c.d.Sync.History(ctx, link.ID, historyRows); err != nil {
		return fmt.Errorf("admin: link: %w", err)
	}
	changes, err := c.d.Store.ListSyncChanges(ctx, store.SyncChangeFilter{LinkID: link.ID, Limit: changeRows})
	if err != nil {
		return fmt.Errorf("admin: link: %w", err)
	}
	names := asanaNames{c: c.base, known: map[string]string{}}
	d.LinkedBy = names.name(ctx, link.CreatedBy)
	for _, ch := range changes {
		row := changeRow{SyncChange: ch, By: ch.Actor}
		if ch.Side == store.SideAsana {
			row.By = names.name(ctx, ch.Actor)
		}
		d.Changes = append(d.Changes, row)
	}
	c.render(w, r, http.StatusOK, "link", s, "Link "+link.IssueKey, d)
	return nil
}

// asanaNames names Asana users by gid, from the users who installed the
// app; a gid it does not know stays a gid.
type asanaNames struct {
	c     *base
	known map[string]string
}

func (n asanaNames) name(ctx context.Context, gid string) string {
	if gid == "" {
		return ""
	}
	if name, ok := n.known[gid]; ok {
		return name
	}
	name := gid
	u, err := n.c.d.Store.GetAsanaUser(ctx, gid)
	switch {
	case err == nil && u.Name != "":
		name = u.Name
	case err != nil && !errors.Is(err, store.ErrNotFound):
		n.c.log.WarnContext(ctx, "admin: name an Asana user", "gid", gid, "error", err)
	}
	n.known[gid] = name
	return name
}

func (c *syncPages) findLink(ctx context.Context, raw string) (store.Link, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return store.Link{}, httpx.Errorf(http.StatusNotFound, "no link %q", raw)
	}
	link, err := c.d.Store.GetLink(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return link, httpx.Errorf(http.StatusNotFound, "no link %d; it may have been removed", id)
	}
	if err != nil {
		return link, fmt.Errorf("admin: link: %w", err)
	}
	return link, nil
}

// retry asks the engine to compare a link's task and issue again: a
// change of kind resync, applied by the link's next sync run like any
// other. It goes back to the link's page, or with back=connection to its
// connection's Sync page.
func (c *syncPages) retry(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	if err := c.needSync(); err != nil {
		return err
	}
	link, err := c.findLink(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	recorded, err := c.d.Sync.RequestSync(ctx, link.ID, "manual", "console:"+randomToken(8), s.Name)
	if err != nil {
		return fmt.Errorf("admin: sync link %d: %w", link.ID, err)
	}
	if !recorded {
		return httpx.Errorf(http.StatusConflict, "two-way sync is off for the connection of %s; switch it on on the Sync page first", link.IssueKey)
	}
	id := strconv.FormatInt(link.ID, 10)
	if err := c.audit(ctx, s, "sync.retry", id, link.TaskGID+" ↔ "+link.IssueKey); err != nil {
		return err
	}
	next := "/admin/links/" + id
	if r.PostFormValue("back") == "connection" {
		next = syncPath(link.WorkspaceGID, link.JiraServerID)
	}
	return c.redirect(w, r, next, "The task and "+link.IssueKey+" will be compared again within seconds.")
}

// intakeProjects is what the intake-projects template lists.
type intakeProjects struct {
	Mode     string
	Projects []IntakeProject
}

// duration is a duration for people: "under a second", "45 s",
// "2 min 5 s", "3 h 20 min", "4 days".
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return strconv.Itoa(m) + " min"
		}
		return strconv.Itoa(m) + " min " + strconv.Itoa(s) + " s"
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + " h"
		}
		return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// directionName is a history row's direction for people.
func directionName(dir string) string {
	switch dir {
	case syncengine.JiraToAsana:
		return "Jira → Asana"
	case syncengine.AsanaToJira:
		return "Asana → Jira"
	}
	return "—"
}

// sideName is a change's side for people.
func sideName(side string) string {
	switch side {
	case store.SideJira:
		return "Jira"
	case store.SideAsana:
		return "Asana"
	}
	return side
}

// changedAt is when a change happened on its side, or else when it was
// received.
func changedAt(c store.SyncChange) time.Time {
	if c.ObservedAt.IsZero() {
		return c.ReceivedAt
	}
	return c.ObservedAt
}
