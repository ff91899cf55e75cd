package bridge

import (
	"context"
	"errors"
	"strings"
	"time"

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
	is, err := jc.GetIssueSummary(ctx, key)
	if err != nil {
		err = s.jiraError(ctx, id.User, srv, err, "see "+key)
		if errors.Is(err, ErrNoAccess) {
			d := &WidgetData{ServerID: srv.ID, Key: key, URL: BrowseURL(srv, key), NoAccess: true, Viewer: viewer, ViewerName: viewerName}
			s.widgets.put(cacheKey, d)
			return d, nil
		}
		return nil, err
	}
	d := &WidgetData{ServerID: srv.ID, Key: is.Key, Summary: is.Summary, URL: BrowseURL(srv, is.Key),
		Status: is.Status, StatusCategory: is.StatusCategory, DueDate: is.DueDate, Updated: is.Updated.Time,
		Viewer: viewer, ViewerName: viewerName, Assignee: is.Assignee, Priority: is.Priority,
		IssueType: is.IssueType, Resolution: is.Resolution, Comments: is.Comments}
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
