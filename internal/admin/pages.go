package admin

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/store"
)

const pageSize = 50

// The list pages: each reads the database only.
type (
	// linksPage lists task ↔ issue links.
	linksPage struct{ *base }
	// usersPage lists who is connected to which Jira server.
	usersPage struct{ *base }
	// jobsPage lists running, stuck and failed jobs.
	jobsPage struct{ *base }
	// auditPage shows the audit log.
	auditPage struct{ *base }
)

func (c *linksPage) mount(m *http.ServeMux) { m.Handle("GET /admin/links", c.admin(c.linksPage)) }

func (c *usersPage) mount(m *http.ServeMux) { m.Handle("GET /admin/users", c.admin(c.usersPage)) }

func (c *jobsPage) mount(m *http.ServeMux) {
	m.Handle("GET /admin/jobs", c.admin(c.jobsPage))
	m.Handle("POST /admin/jobs/{id}/retry", c.admin(c.retryJob))
}

func (c *auditPage) mount(m *http.ServeMux) { m.Handle("GET /admin/audit", c.admin(c.auditPage)) }

// The list pages (links, users, jobs, audit) page from a key, not an
// offset, and search only indexed columns: a page costs the same on the
// first page as on the thousandth, with a hundred links or a hundred
// thousand.

// onePage trims rows, read one over size, to size, and returns the URL of
// the next page when there is one ("" when none): path with param set to
// the last row's key and the name, value pairs of keep whose value is
// not empty (the search and filters the next page keeps).
func onePage[T any](rows []T, size int, path, param string, key func(T) string, keep ...string) ([]T, template.URL) {
	if len(rows) <= size {
		return rows, ""
	}
	rows = rows[:size]
	next := url.Values{param: {key(rows[len(rows)-1])}}
	for i := 0; i+1 < len(keep); i += 2 {
		if keep[i+1] != "" {
			next.Set(keep[i], keep[i+1])
		}
	}
	return rows, pageURL(path, next)
}

// keys are the keys of rows, in their order.
func keys[T any](rows []T, key func(T) string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = key(r)
	}
	return out
}

func userGID(u store.AsanaUser) string      { return u.GID }
func workspaceGID(w store.Workspace) string { return w.GID }
func jobID(j *rivertype.JobRow) string      { return strconv.FormatInt(j.ID, 10) }
func auditID(e store.AuditEntry) string     { return strconv.FormatInt(e.ID, 10) }
func serverID(j store.JiraServer) string    { return j.ID }

// pageURL is a list page's URL with its query; both are ours, so the
// template may use it as is.
func pageURL(path string, q url.Values) template.URL {
	return template.URL(path + "?" + q.Encode()) //nolint:gosec // G203: a path of ours and an encoded query
}

type linkRow struct {
	Link       store.Link
	ServerName string
	IssueURL   string
	// TaskName, WorkspaceName and CreatorName are the names asanajira
	// knows for the link's gids ("" when none).
	TaskName, WorkspaceName, CreatorName string
}

type linksData struct {
	Query, Server string
	// Servers are the servers the filter offers, when there are a page of
	// them at most; past that the filter is set from a server's page, and
	// ServerName names the one it is set to.
	Servers    []store.JiraServer
	ServerName string
	Links      []linkRow
	// Newer and Older are the neighbouring pages ("" when none).
	Newer, Older template.URL
}

// linksPage lists task ↔ issue links, newest first, searchable by task gid,
// issue key or Jira project key and filterable by server.
func (c *linksPage) linksPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := linksData{Query: strings.TrimSpace(q.Get("q")), Server: q.Get("server")}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	// The server filter offers the servers when they fit a page; with
	// more, a server's page sets it (its links are a link there), so that
	// the page does not grow with the servers.
	servers, err := c.d.Store.ListJiraServersPage(ctx, store.JiraServerFilter{Limit: serverPageSize + 1})
	if err != nil {
		return fmt.Errorf("admin: links: %w", err)
	}
	if len(servers) <= serverPageSize {
		d.Servers = servers
	}
	nb := c.names(ctx)
	d.ServerName = nb.serverName(d.Server)
	links, err := c.d.Store.ListLinks(ctx, store.LinkFilter{JiraServerID: d.Server, Query: d.Query, Limit: pageSize + 1, BeforeID: before, AfterID: after})
	if err != nil {
		return fmt.Errorf("admin: links: %w", err)
	}
	more := len(links) > pageSize
	switch {
	case more && after > 0:
		links = links[1:] // the newest of one too many above after
	case more:
		links = links[:pageSize]
	}
	if len(links) > 0 {
		page := url.Values{}
		if d.Query != "" {
			page.Set("q", d.Query)
		}
		if d.Server != "" {
			page.Set("server", d.Server)
		}
		if more || after > 0 {
			page.Set("before", strconv.FormatInt(links[len(links)-1].ID, 10))
			d.Older = pageURL("/admin/links", page)
			page.Del("before")
		}
		if before > 0 || (after > 0 && more) {
			page.Set("after", strconv.FormatInt(links[0].ID, 10))
			d.Newer = pageURL("/admin/links", page)
		}
	}
	for _, l := range links {
		row := linkRow{Link: l, ServerName: l.JiraServerID, WorkspaceName: nb.of(l.WorkspaceGID), CreatorName: nb.of(l.CreatedBy)}
		if srv, ok := nb.server(l.JiraServerID); ok {
			row.ServerName, row.IssueURL = srv.Name, srv.BaseURL+"/browse/"+l.IssueKey
		}
		d.Links = append(d.Links, row)
	}
	c.render(w, r, http.StatusOK, "links", s, "Links", d)
	return nil
}

type userRow struct {
	User       store.AsanaUser
	ServerName string
	Credential *store.JiraCredential
}

type usersData struct {
	Query string
	Rows  []userRow
	// Next is the next page ("" when none); Paged says this is not the
	// first page.
	Next  template.URL
	Paged bool
}

// usersPage lists who is connected to which Jira server, by which method,
// and who must reconnect, by name a page at a time; searchable by gid,
// email or the start of a name.
func (c *usersPage) usersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := usersData{Query: strings.TrimSpace(q.Get("q")), Paged: q.Get("after") != ""}
	users, err := c.d.Store.ListUsers(ctx, store.UserFilter{Query: d.Query, AfterGID: q.Get("after"), Limit: pageSize + 1})
	if err != nil {
		return fmt.Errorf("admin: users: %w", err)
	}
	users, d.Next = onePage(users, pageSize, "/admin/users", "after", userGID, "q", d.Query)
	creds, err := c.d.Store.ListJiraCredentialsOf(ctx, keys(users, userGID))
	if err != nil {
		return fmt.Errorf("admin: users: %w", err)
	}
	byUser := map[string][]userRow{}
	for _, cr := range creds {
		row := userRow{ServerName: cr.JiraServerID, Credential: &cr}
		if srv, err := c.d.Store.GetJiraServer(ctx, cr.JiraServerID); err == nil {
			row.ServerName = srv.Name
		}
		byUser[cr.AsanaUserGID] = append(byUser[cr.AsanaUserGID], row)
	}
	for _, u := range users {
		rows := byUser[u.GID]
		if len(rows) == 0 {
			d.Rows = append(d.Rows, userRow{User: u})
			continue
		}
		for _, row := range rows {
			row.User = u
			d.Rows = append(d.Rows, row)
		}
	}
	c.render(w, r, http.StatusOK, "users", s, "Users", d)
	return nil
}

type jobRow struct {
	ID          int64
	Kind, State string
	Attempt     int
	MaxAttempts int
	At          time.Time
	Error       string
	Stuck       bool
}

type jobsData struct {
	Available bool
	Running   []jobRow
	Failed    []jobRow
	// Kind filters the failed jobs; Older is the next page of them (""
	// when none), Paged says this is not the first.
	Kind  string
	Older template.URL
	Paged bool
}

// jobsPage lists running jobs, marking those whose process stopped
// renewing them, and failed jobs with their last error, newest first, a
// page at a time, filterable by kind.
func (c *jobsPage) jobsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	d := jobsData{Available: c.d.Jobs != nil, Kind: strings.TrimSpace(q.Get("kind")), Paged: before > 0}
	if c.d.Jobs != nil {
		running, err := c.d.Jobs.RunningJobs(r.Context(), 100)
		if err != nil {
			return fmt.Errorf("admin: jobs: %w", err)
		}
		for _, j := range running {
			row := jobRow{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Stuck: c.d.Jobs.Stuck(j)}
			if j.AttemptedAt != nil {
				row.At = *j.AttemptedAt
			}
			d.Running = append(d.Running, row)
		}
		failed, err := c.d.Jobs.FailedJobs(r.Context(), d.Kind, before, pageSize+1)
		if err != nil {
			return fmt.Errorf("admin: jobs: %w", err)
		}
		failed, d.Older = onePage(failed, pageSize, "/admin/jobs", "before", jobID, "kind", d.Kind)
		for _, j := range failed {
			row := jobRow{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, At: j.CreatedAt}
			if n := len(j.Errors); n > 0 {
				row.Error, row.At = j.Errors[n-1].Error, j.Errors[n-1].At
			}
			if j.FinalizedAt != nil {
				row.At = *j.FinalizedAt
			}
			d.Failed = append(d.Failed, row)
		}
	}
	c.render(w, r, http.StatusOK, "jobs", s, "Jobs", d)
	return nil
}

func (c *jobsPage) retryJob(w http.ResponseWriter, r *http.Request, s *session) error {
	if c.d.Jobs == nil {
		return httpx.Errorf(http.StatusServiceUnavailable, "the job queue is not available to the console")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return httpx.Errorf(http.StatusNotFound, "no job %q", r.PathValue("id"))
	}
	if err := c.d.Jobs.RetryJob(r.Context(), id); err != nil {
		return httpx.Wrap(http.StatusUnprocessableEntity, "the job could not be retried; it may have been deleted", err)
	}
	if err := c.audit(r.Context(), s, "job.retry", strconv.FormatInt(id, 10), ""); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/jobs", fmt.Sprintf("Job %d will run again shortly.", id))
}

type auditData struct {
	Entries        []store.AuditEntry
	Action, Target string
	// Targets names the entries' targets that have names.
	Targets map[string]string
	// Older is the next page ("" when none).
	Older template.URL
}

// auditPage shows the audit log, newest first, a page at a time,
// filterable by action and by target.
func (c *auditPage) auditPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	d := auditData{Action: strings.TrimSpace(q.Get("action")), Target: strings.TrimSpace(q.Get("target"))}
	es, err := c.d.Store.ListAudit(r.Context(), store.AuditFilter{BeforeID: before, Limit: pageSize + 1, Action: d.Action, Target: d.Target})
	if err != nil {
		return fmt.Errorf("admin: audit: %w", err)
	}
	es, d.Older = onePage(es, pageSize, "/admin/audit", "before", auditID, "action", d.Action, "target", d.Target)
	d.Entries, d.Targets = es, map[string]string{}
	nb := c.names(r.Context())
	for _, e := range es {
		if n := nb.target(e.Target); n != "" {
			d.Targets[e.Target] = n
		}
	}
	c.render(w, r, http.StatusOK, "audit", s, "Audit log", d)
	return nil
}
