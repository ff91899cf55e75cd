package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/httpx"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// The field mapping page of a connection: which fields sync which way,
// the status → section table, the people whose e-mails differ and the
// e-mail domains that are the same people, for the whole connection or as
// the override of one routed project. Everything is saved through the
// setup service, which audits it.

// blankRows are the empty rows a table of the form offers for additions.
const blankRows = 3

type fieldsData struct {
	WorkspaceGID, WorkspaceName string
	ServerID, ServerName        string
	// Project is the routed project whose override is shown, "" for the
	// connection's mapping.
	Project  string
	Projects []fieldsProject
	// Saved tells whether this mapping (or override) is saved.
	Saved          bool
	ConnSaved      bool
	Rows           []fieldRow
	StatusSections []syncengine.StatusSection
	Users          []syncengine.UserPair
	Aliases        []syncengine.DomainAlias
	Error          string
	// PreviewIssue is the issue key the preview is asked for; Preview its
	// rows, PreviewError why there are none.
	PreviewIssue string
	Previewed    bool
	Preview      []previewRow
	PreviewError string
}

type previewRow struct {
	syncengine.FieldChange
	DirectionLabel string
	// Writes says what would be written, "" when nothing would.
	Writes string
}

type fieldsProject struct {
	GID, JiraProject string
	// Name is the project's name in Asana, "" when it could not be read
	// (the page then shows the gid).
	Name    string
	Current bool
}

type fieldRow struct {
	Field, Asana, Jira string
	Options            []directionOption
}

type directionOption struct {
	Value, Label string
	Selected     bool
}

// fieldLabels name each field's two sides as an admin knows them.
var fieldLabels = map[string][2]string{
	syncengine.FieldName:        {"Name", "Summary"},
	syncengine.FieldDue:         {"Due date", "Due date"},
	syncengine.FieldAssignee:    {"Assignee", "Assignee (matched by e-mail)"},
	syncengine.FieldNotes:       {"Description", "Description"},
	syncengine.FieldStatus:      {"“Jira status” field", "Status"},
	syncengine.FieldPriority:    {"“Jira priority” field", "Priority"},
	syncengine.FieldSection:     {"Section", "Status (the table below)"},
	syncengine.FieldAttachments: {"Attachments (a link when over Asana's 100 MB)", "Attachments"},
}

var directionLabels = map[syncengine.Direction]string{
	syncengine.Off: "Off", syncengine.FromJira: "Jira → Asana", syncengine.FromAsana: "Asana → Jira", syncengine.BothDirections: "Both ways",
}

func (c *syncPages) mountFields(m *http.ServeMux) {
	m.Handle("GET /admin/sync/{workspace}/{server}/fields", c.admin(c.fieldsPage))
	m.Handle("POST /admin/sync/{workspace}/{server}/fields", c.admin(c.saveFields))
	m.Handle("POST /admin/sync/{workspace}/{server}/fields/remove", c.admin(c.removeFields))
}

func fieldsPath(gid, serverID, project string) string {
	p := syncPath(gid, serverID) + "/fields"
	if project != "" {
		p += "?project=" + url.QueryEscape(project)
	}
	return p
}

func (c *syncPages) fieldsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, srv, err := c.connectionOf(r)
	if err != nil {
		return err
	}
	project := r.URL.Query().Get("project")
	m, saved, err := c.setup.FieldMapping(r.Context(), ws.GID, srv.ID, project)
	if err != nil {
		return err
	}
	d, err := c.fieldsView(w, r, s, ws, srv, project, m)
	if err != nil {
		return err
	}
	d.Saved = saved
	c.render(w, r, http.StatusOK, "sync_fields", s, "Fields: "+ws.Name+" × "+srv.Name, d)
	return nil
}

func (c *syncPages) fieldsView(w http.ResponseWriter, r *http.Request, s *session, ws store.Workspace, srv store.JiraServer, project string,
	m syncengine.Mapping,
) (fieldsData, error) {
	ctx := r.Context()
	d := fieldsData{WorkspaceGID: ws.GID, WorkspaceName: ws.Name, ServerID: srv.ID, ServerName: srv.Name, Project: project}
	routes, err := c.setup.Routes(ctx, ws.GID)
	if err != nil {
		return d, err
	}
	for _, rt := range routes {
		if rt.JiraServerID == srv.ID {
			d.Projects = append(d.Projects, fieldsProject{GID: rt.ProjectGID, JiraProject: rt.JiraProjectKey, Current: rt.ProjectGID == project})
		}
	}
	c.nameProjects(w, r, s, d.Projects)
	if project != "" {
		_, d.ConnSaved, err = c.setup.FieldMapping(ctx, ws.GID, srv.ID, "")
		if err != nil {
			return d, err
		}
	}
	for _, f := range syncengine.Fields {
		row := fieldRow{Field: f, Asana: fieldLabels[f][0], Jira: fieldLabels[f][1]}
		for _, dir := range syncengine.AllowedDirections(f) {
			row.Options = append(row.Options, directionOption{Value: string(dir), Label: directionLabels[dir], Selected: dir == m.Direction(f)})
		}
		d.Rows = append(d.Rows, row)
	}
	d.StatusSections = append(m.StatusSections, make([]syncengine.StatusSection, blankRows)...)
	d.Users = append(m.Users, make([]syncengine.UserPair, blankRows)...)
	d.Aliases = append(m.DomainAliases, make([]syncengine.DomainAlias, blankRows)...)
	return d, nil
}

// nameProjects names the routed projects the page lists, read from Asana
// as the signed-in admin, as the project picker names them: asanajira
// keeps routes by gid alone. At most a picker's page of them is read; a
// project Asana does not show the admin keeps its gid, and any other
// failure (no Asana sign-in, Asana not answering) leaves the rest as gids
// too rather than waiting on Asana once per project.
func (c *syncPages) nameProjects(w http.ResponseWriter, r *http.Request, s *session, ps []fieldsProject) {
	if len(ps) == 0 {
		return
	}
	ctx := r.Context()
	cl, err := c.asanaAs(w, r, s)
	if err != nil {
		if !errors.Is(err, errNoAsanaSignin) {
			c.log.WarnContext(ctx, "admin: name routed projects", "error", err)
		}
		return
	}
	for i := range ps[:min(len(ps), pickPage)] {
		p, err := cl.Project(ctx, ps[i].GID)
		var ae *asana.Error
		switch {
		case err == nil:
			ps[i].Name = p.Name
		case errors.As(err, &ae) && (ae.StatusCode == http.StatusNotFound || ae.StatusCode == http.StatusForbidden):
		default:
			c.log.WarnContext(ctx, "admin: name routed projects", "project", ps[i].GID, "error", err)
			return
		}
	}
}

// mappingFromForm reads the mapping the form says; empty rows are
// additions left unused.
func mappingFromForm(r *http.Request) syncengine.Mapping {
	m := syncengine.Mapping{Fields: map[string]syncengine.Direction{}}
	for _, f := range syncengine.Fields {
		if v := r.PostFormValue("dir_" + f); v != "" {
			m.Fields[f] = syncengine.Direction(v)
		}
	}
	pairs := func(a, b string, add func(x, y string)) {
		xs, ys := r.PostForm[a], r.PostForm[b]
		for i := range min(len(xs), len(ys)) {
			x, y := strings.TrimSpace(xs[i]), strings.TrimSpace(ys[i])
			if x != "" || y != "" {
				add(x, y)
			}
		}
	}
	pairs("status", "section", func(x, y string) {
		m.StatusSections = append(m.StatusSections, syncengine.StatusSection{Status: x, Section: y})
	})
	pairs("asana_email", "jira_user", func(x, y string) {
		m.Users = append(m.Users, syncengine.UserPair{AsanaEmail: x, JiraUser: y})
	})
	pairs("asana_domain", "jira_domain", func(x, y string) {
		m.DomainAliases = append(m.DomainAliases, syncengine.DomainAlias{Asana: x, Jira: y})
	})
	return m
}

// saveFields saves the form's mapping; a refused one is shown again as
// typed, with the reason, so nothing the admin entered is lost.
func (c *syncPages) saveFields(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, srv, err := c.connectionOf(r)
	if err != nil {
		return err
	}
	project, err := c.routedProject(r.Context(), ws.GID, srv.ID, r.PostFormValue("project"))
	if err != nil {
		return err
	}
	m := mappingFromForm(r)
	if r.PostFormValue("preview") != "" {
		return c.previewFields(w, r, s, ws, srv, project, m)
	}
	changed, err := c.setup.SetFieldMapping(r.Context(), s.actor(), ws.GID, srv.ID, project, m)
	var se *setup.Error
	if errors.As(err, &se) && se.Code == setup.Invalid {
		d, verr := c.fieldsView(w, r, s, ws, srv, project, m)
		if verr != nil {
			return verr
		}
		_, d.Saved, _ = c.setup.FieldMapping(r.Context(), ws.GID, srv.ID, project)
		d.Error = se.Message
		c.render(w, r, http.StatusUnprocessableEntity, "sync_fields", s, "Fields: "+ws.Name+" × "+srv.Name, d)
		return nil
	}
	if err != nil {
		return err
	}
	msg := "Nothing changed."
	if changed {
		msg = "Field mapping saved. Linked pairs follow it from their next change; asanajira sync resync applies it to them now."
	}
	return c.redirect(w, r, fieldsPath(ws.GID, srv.ID, project), msg)
}

// routedProject returns the project a form names as its stored route to
// the server ("" for the connection), so the page redirected to names only
// what asanajira stores.
func (c *syncPages) routedProject(ctx context.Context, gid, serverID, project string) (string, error) {
	if project == "" {
		return "", nil
	}
	routes, err := c.setup.Routes(ctx, gid)
	if err != nil {
		return "", err
	}
	for _, rt := range routes {
		if rt.ProjectGID == project && rt.JiraServerID == serverID {
			return rt.ProjectGID, nil
		}
	}
	return "", httpx.Errorf(http.StatusNotFound, "Asana project %q is not routed to this Jira server; a project's own mapping needs its route first", project)
}

func (c *syncPages) removeFields(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, srv, err := c.connectionOf(r)
	if err != nil {
		return err
	}
	project, err := c.routedProject(r.Context(), ws.GID, srv.ID, r.PostFormValue("project"))
	if err != nil {
		return err
	}
	if err := c.setup.RemoveFieldMapping(r.Context(), s.actor(), ws.GID, srv.ID, project); err != nil {
		return err
	}
	msg := "The connection's field mapping is removed: fields no longer sync on this connection (comments and completion follow the sync settings)."
	if project != "" {
		msg = "The project's own mapping is removed: the connection's mapping applies to it again."
	}
	return c.redirect(w, r, fieldsPath(ws.GID, srv.ID, project), msg)
}

// previewFields shows the page with the mapping as typed (not saved) and
// what it would change on one linked pair, read from both sides as the
// link's owner.
func (c *syncPages) previewFields(w http.ResponseWriter, r *http.Request, s *session, ws store.Workspace, srv store.JiraServer, project string, m syncengine.Mapping) error {
	ctx := r.Context()
	d, err := c.fieldsView(w, r, s, ws, srv, project, m)
	if err != nil {
		return err
	}
	_, d.Saved, _ = c.setup.FieldMapping(ctx, ws.GID, srv.ID, project)
	d.Previewed = true
	d.PreviewIssue = strings.ToUpper(strings.TrimSpace(r.PostFormValue("preview_issue")))
	if err := m.Validate(); err != nil {
		d.Error = "The field mapping cannot be previewed: " + err.Error()
		c.render(w, r, http.StatusUnprocessableEntity, "sync_fields", s, "Fields: "+ws.Name+" × "+srv.Name, d)
		return nil
	}
	status := http.StatusOK
	link, err := c.linkByIssue(ctx, ws.GID, srv.ID, d.PreviewIssue)
	if err == nil {
		var changes []syncengine.FieldChange
		if changes, err = c.d.Sync.Preview(ctx, link.ID, m, false); err == nil {
			for _, ch := range changes {
				row := previewRow{FieldChange: ch, DirectionLabel: directionLabels[ch.Direction]}
				switch ch.To {
				case store.SideAsana:
					row.Writes = "Asana ← " + or(ch.Value, "(empty)")
				case store.SideJira:
					row.Writes = "Jira ← " + or(ch.Value, "(empty)")
				}
				d.Preview = append(d.Preview, row)
			}
		}
	}
	if err != nil {
		status = http.StatusUnprocessableEntity
		d.PreviewError = previewProblem(err)
		if !errors.Is(err, errNoSuchLink) {
			c.log.WarnContext(ctx, "admin: field mapping preview", "link_issue", d.PreviewIssue, "error", err)
		}
	}
	c.render(w, r, status, "sync_fields", s, "Fields: "+ws.Name+" × "+srv.Name, d)
	return nil
}

// errNoSuchLink says the preview's issue is not linked on the connection.
var errNoSuchLink = errors.New("admin: no such link")

// linkByIssue finds the link of an issue key on a connection.
func (c *syncPages) linkByIssue(ctx context.Context, gid, serverID, key string) (store.Link, error) {
	if key == "" {
		return store.Link{}, errNoSuchLink
	}
	links, err := c.d.Store.ListLinks(ctx, store.LinkFilter{JiraServerID: serverID, Query: key, Limit: 20})
	if err != nil {
		return store.Link{}, fmt.Errorf("admin: find the link of %s: %w", key, err)
	}
	for _, l := range links {
		if strings.EqualFold(l.IssueKey, key) && l.WorkspaceGID == gid {
			return l, nil
		}
	}
	return store.Link{}, errNoSuchLink
}

// previewProblem words why a preview could not be made.
func previewProblem(err error) string {
	if errors.Is(err, errNoSuchLink) {
		return "No task of this workspace is linked to that issue on this server: give the key of a linked issue (such as DEMO-2)."
	}
	// The outermost message is the one written for people; what it wraps
	// goes to the log.
	msg := err.Error()
	if inner := errors.Unwrap(err); inner != nil {
		msg = strings.TrimSuffix(msg, ": "+inner.Error())
	}
	return "The preview could not read both sides: " + msg
}
