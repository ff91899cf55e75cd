package bridge

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// WidgetData is what the widget shows of an issue, as the viewing user
// sees it in Jira.
type WidgetData struct {
	ServerID string
	Key      string
	Summary  string
	URL      string
	// Status is the status name; StatusCategory is Jira's category key
	// (new, indeterminate, done, undefined).
	Status         string
	StatusCategory string
	Assignee       string
	Priority       string
	IssueType      string
	DueDate        string
	Resolution     string
	Updated        time.Time
	Comments       int
	// NoAccess is set when the viewing user's Jira account cannot see the
	// issue; only Key (and the viewer) is filled then.
	NoAccess bool
	// Syncing says the issue's link syncs both ways; SyncedAt is when it
	// last synced, SyncError its sync error ("" when none).
	Syncing   bool
	SyncedAt  time.Time
	SyncError string
	// Viewer and ViewerName are the Jira account the viewing user connected
	// (username, display name), so a wrong account is noticed.
	Viewer, ViewerName string
}

// widgetIssue is what the widget reads of GET issue: names and a comment
// count. Decoding only these skips the comments themselves and the
// double decoding of jira.Issue's fields, which were most of the
// request's CPU. A field Jira sends as null leaves its zero value.
type widgetIssue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Summary    string       `json:"summary"`
		Status     *jira.Status `json:"status"`
		Assignee   named        `json:"assignee"`
		Priority   named        `json:"priority"`
		IssueType  named        `json:"issuetype"`
		Resolution named        `json:"resolution"`
		DueDate    string       `json:"duedate"`
		Updated    jira.Time    `json:"updated"`
		Comment    struct {
			Total int `json:"total"`
		} `json:"comment"`
	} `json:"fields"`
}

// named is a Jira object the widget shows by name (a user by display
// name).
type named struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

var widgetFields = []string{"summary", "status", "assignee", "priority", "issuetype", "duedate", "resolution", "updated", "comment"}

// Widget reads the issue behind an attachment's resource URL with the
// viewing user's credentials, through a short cache per (user, issue).
func (s *Service) Widget(ctx context.Context, id Identity, resourceURL string) (*WidgetData, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	// Keyed by the URL as Asana sends it, so a cache hit costs no lookup.
	cacheKey := id.User + "|" + id.Workspace + "|" + resourceURL
	if d, ok := s.widgets.get(cacheKey); ok {
		return d, nil
	}
	servers, err := s.workspaceServers(ctx, id.Workspace)
	if err != nil {
		return nil, err
	}
	var srv store.JiraServer
	var key string
	for _, c := range servers {
		if k, ok := s.keyFromInput(c, resourceURL); ok {
			srv, key = c, k
			break
		}
	}
	if key == "" {
		return nil, newError(ErrInvalid, nil, "This link is not an issue of a Jira server connected to this workspace.")
	}
	jc, srv, err := s.jiraFor(ctx, id.User, srv.ID)
	if err != nil {
		return nil, err
	}
	var viewer, viewerName string
	if c, err := s.st.GetJiraCredential(ctx, id.User, srv.ID); err == nil {
		viewer, viewerName = c.JiraUsername, c.JiraDisplayName
	}
	var is widgetIssue
	err = jc.GetIssueInto(ctx, key, &jira.GetIssueOptions{Fields: widgetFields}, &is)
	if err != nil {
		err = s.jiraError(ctx, id.User, srv, err, "see "+key)
		if errors.Is(err, ErrNoAccess) {
			d := &WidgetData{ServerID: srv.ID, Key: key, URL: BrowseURL(srv, key), NoAccess: true, Viewer: viewer, ViewerName: viewerName}
			s.widgets.put(cacheKey, d)
			return d, nil
		}
		return nil, err
	}
	f := &is.Fields
	d := &WidgetData{ServerID: srv.ID, Key: is.Key, Summary: f.Summary, URL: BrowseURL(srv, is.Key),
		DueDate: f.DueDate, Updated: f.Updated.Time, Viewer: viewer, ViewerName: viewerName,
		Assignee: f.Assignee.DisplayName, Priority: f.Priority.Name, IssueType: f.IssueType.Name,
		Resolution: f.Resolution.Name, Comments: f.Comment.Total}
	if st := f.Status; st != nil {
		d.Status, d.StatusCategory = st.Name, st.StatusCategory.Key
	}
	s.syncStatus(ctx, srv.ID, is.ID, is.Key, d)
	s.widgets.put(cacheKey, d)
	return d, nil
}

// InvalidateIssue drops every cached widget of an issue (for every user),
// for the Jira webhook receiver to call when the issue changes.
func (s *Service) InvalidateIssue(serverID, issueKey string) {
	tag := issueTag(serverID, issueKey)
	s.widgets.deleteTag(tag)
	s.syncLines.deleteTag(tag)
}

// issueTag names an issue's cached widgets; keys compare case-insensitively.
func issueTag(serverID, issueKey string) string { return serverID + "|" + strings.ToUpper(issueKey) }
