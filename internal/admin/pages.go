package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

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

type linkRow struct {
	Link       store.Link
	ServerName string
	IssueURL   string
}

type linksData struct {
	Query, Server string
	Servers       []store.JiraServer
	Links         []linkRow
	Offset        int
	PrevOffset    int
	NextOffset    int
	HasPrev       bool
	HasNext       bool
}

// linksPage lists task ↔ issue links, searchable by task gid or issue key
// prefix and filterable by server.
func (c *linksPage) linksPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := linksData{Query: strings.TrimSpace(q.Get("q")), Server: q.Get("server")}
	d.Offset, _ = strconv.Atoi(q.Get("offset"))
	d.Offset = max(d.Offset, 0)
	servers, err := c.d.Store.ListJiraServers(ctx)
	if err != nil {
		return fmt.Errorf("admin: links: %w", err)
	}
	d.Servers = servers
	byID := map[string]store.JiraServer{}
	for _, srv := range servers {
		byID[srv.ID] = srv
	}
	links, err := c.d.Store.ListLinks(ctx, store.LinkFilter{JiraServerID: d.Server, Query: d.Query, Limit: pageSize + 1, Offset: d.Offset})
	if err != nil {
		return fmt.Errorf("admin: links: %w", err)
	}
	if len(links) > pageSize {
		links, d.HasNext, d.NextOffset = links[:pageSize], true, d.Offset+pageSize
	}
	d.HasPrev, d.PrevOffset = d.Offset > 0, max(d.Offset-pageSize, 0)
	for _, l := range links {
		row := linkRow{Link: l, ServerName: l.JiraServerID}
		if srv, ok := byID[l.JiraServerID]; ok {
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
	Rows []userRow
}

// usersPage lists who is connected to which Jira server, by which method,
// and who must reconnect.
func (c *usersPage) usersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	users, err := c.d.Store.ListAsanaUsers(ctx)
	if err != nil {
		return fmt.Errorf("admin: users: %w", err)
	}
	servers, err := c.d.Store.ListJiraServers(ctx)
	if err != nil {
		return fmt.Errorf("admin: users: %w", err)
	}
	creds := map[string][]userRow{}
	for _, srv := range servers {
		cs, err := c.d.Store.ListJiraCredentials(ctx, srv.ID)
		if err != nil {
			return fmt.Errorf("admin: users: %w", err)
		}
		for _, cr := range cs {
			creds[cr.AsanaUserGID] = append(creds[cr.AsanaUserGID], userRow{ServerName: srv.Name, Credential: &cr})
		}
	}
	var d usersData
	for _, u := range users {
		rows := creds[u.GID]
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
}

// jobsPage lists running jobs, marking those whose process stopped
// renewing them, and failed jobs with their last error.
func (c *jobsPage) jobsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d := jobsData{Available: c.d.Jobs != nil}
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
		failed, err := c.d.Jobs.FailedJobs(r.Context(), 100)
		if err != nil {
			return fmt.Errorf("admin: jobs: %w", err)
		}
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
	Entries    []store.AuditEntry
	NextBefore int64
}

// auditPage shows the audit log, newest first, a page at a time.
func (c *auditPage) auditPage(w http.ResponseWriter, r *http.Request, s *session) error {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	es, err := c.d.Store.ListAudit(r.Context(), store.AuditFilter{BeforeID: before, Limit: pageSize})
	if err != nil {
		return fmt.Errorf("admin: audit: %w", err)
	}
	d := auditData{Entries: es}
	if len(es) == pageSize {
		d.NextBefore = es[len(es)-1].ID
	}
	c.render(w, r, http.StatusOK, "audit", s, "Audit log", d)
	return nil
}
