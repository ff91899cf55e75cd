package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// MaxTypeaheadItems is Asana's limit on typeahead results.
const MaxTypeaheadItems = 50

// Item is one typeahead result.
type Item struct {
	Title    string
	Subtitle string
	Value    string
}

var (
	issueKeyRe    = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)-(\d+)$`)
	keyPrefixRe   = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)-(\d*)$`)
	browsePathRe  = regexp.MustCompile(`/browse/([A-Za-z][A-Za-z0-9_]*-\d+)/?$`)
	selectedIssue = regexp.MustCompile(`[?&]selectedIssue=([A-Za-z][A-Za-z0-9_]*-\d+)`)
)

// lookupServer is the server a lookup searches: the task's route.
func (s *Service) lookupServer(ctx context.Context, id Identity, taskGID string) (*jira.Client, store.JiraServer, error) {
	var projects []string
	if taskGID != "" {
		if ac, err := s.asanaFor(ctx, id.User); err == nil {
			if t, err := ac.GetTask(ctx, taskGID, []string{"projects"}); err == nil {
				for _, p := range t.Projects {
					projects = append(projects, p.GID)
				}
			}
		} else if !errors.Is(err, ErrNotConnected) {
			return nil, store.JiraServer{}, err
		}
	}
	srv, _, err := s.serverForProjects(ctx, id, projects)
	if err != nil {
		return nil, srv, err
	}
	return s.jiraFor(ctx, id.User, srv.ID)
}

func (s *Service) serverForProjects(ctx context.Context, id Identity, projectGIDs []string) (store.JiraServer, string, error) {
	for _, p := range projectGIDs {
		srv, err := s.st.RouteProject(ctx, id.Workspace, p)
		if err == nil {
			return srv, "", nil
		}
	}
	return s.serverForTask(ctx, id, nil)
}

// Typeahead finds issues for the lookup: by key ("OPS-1"), key prefix
// ("OPS-"), or text (JQL text ~), searched as the user, at most 50.
func (s *Service) Typeahead(ctx context.Context, id Identity, taskGID, query string) ([]Item, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	jc, srv, err := s.lookupServer(ctx, id, taskGID)
	if err != nil {
		return nil, err
	}
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	if key, ok := s.keyFromInput(srv, query); ok {
		query = key
	}
	var jql string
	var exact string
	switch {
	case issueKeyRe.MatchString(query):
		exact = strings.ToUpper(query)
		jql = fmt.Sprintf(`project = %q ORDER BY updated DESC`, strings.ToUpper(keyPrefixRe.FindStringSubmatch(query)[1]))
	case keyPrefixRe.MatchString(query):
		jql = fmt.Sprintf(`project = %q ORDER BY updated DESC`, strings.ToUpper(keyPrefixRe.FindStringSubmatch(query)[1]))
	default:
		jql = fmt.Sprintf(`text ~ %q ORDER BY updated DESC`, query)
	}
	fields := []string{"summary", "status"}
	var items []Item
	seen := map[string]bool{}
	add := func(is jira.Issue) {
		if seen[is.Key] || len(items) >= MaxTypeaheadItems {
			return
		}
		seen[is.Key] = true
		sub := ""
		if is.Fields.Status != nil {
			sub = is.Fields.Status.Name
		}
		items = append(items, Item{Title: trunc(is.Key+": "+is.Fields.Summary, 200), Subtitle: sub, Value: is.Key})
	}
	if exact != "" {
		is, err := jc.GetIssue(ctx, exact, &jira.GetIssueOptions{Fields: fields})
		switch {
		case err == nil:
			add(*is)
		case errors.Is(err, jira.ErrNotFound), errors.Is(err, jira.ErrForbidden):
			// Missing, or hidden from the user (Jira Server answers 403
			// for an issue the user may not see): nothing to offer.
		default:
			return nil, s.jiraError(ctx, id.User, srv, err, "search Jira")
		}
	}
	res, err := jc.Search(ctx, jira.SearchOptions{JQL: jql, MaxResults: 100, Fields: fields})
	if err != nil {
		var je *jira.Error
		if errors.As(err, &je) && je.StatusCode == 400 {
			return items, nil // JQL naming a project the user cannot see
		}
		return nil, s.jiraError(ctx, id.User, srv, err, "search Jira")
	}
	prefix := strings.ToUpper(query)
	for _, is := range res.Issues {
		if keyPrefixRe.MatchString(query) && !strings.HasPrefix(is.Key, prefix) {
			continue
		}
		add(is)
	}
	return items, nil
}

// keyFromInput extracts an issue key from a key or a browse URL of srv.
func (s *Service) keyFromInput(srv store.JiraServer, in string) (string, bool) {
	in = strings.TrimSpace(in)
	if issueKeyRe.MatchString(in) {
		return strings.ToUpper(in), true
	}
	u, err := url.Parse(in)
	if err != nil || u.Host == "" {
		return "", false
	}
	base, err := url.Parse(srv.BaseURL)
	if err != nil || !strings.EqualFold(u.Host, base.Host) || !strings.HasPrefix(u.Path, strings.TrimRight(base.Path, "/")+"/") {
		return "", false
	}
	if m := browsePathRe.FindStringSubmatch(u.Path); m != nil {
		return strings.ToUpper(m[1]), true
	}
	if m := selectedIssue.FindStringSubmatch("?" + u.RawQuery); m != nil {
		return strings.ToUpper(m[1]), true
	}
	return "", false
}

// ParseIssueRef finds the server and key of a key or browse URL: a URL
// picks the connected server whose base URL it starts with; a bare key
// uses the fallback server.
func (s *Service) parseIssueRef(ctx context.Context, id Identity, in string, fallback store.JiraServer) (store.JiraServer, string, error) {
	if key, ok := s.keyFromInput(fallback, in); ok {
		return fallback, key, nil
	}
	servers, err := s.workspaceServers(ctx, id.Workspace)
	if err != nil {
		return store.JiraServer{}, "", err
	}
	for _, srv := range servers {
		if key, ok := s.keyFromInput(srv, in); ok && strings.Contains(in, "/") {
			return srv, key, nil
		}
	}
	return store.JiraServer{}, "", newError(ErrInvalid, nil, "“%s” is not an issue key (such as OPS-12) or a link to an issue on a connected Jira server.", trunc(in, 80))
}

// Attach links an existing issue, given by key or browse URL, to a task:
// it checks the user can see the issue, adds the remote link on the Jira
// side and stores the link, marked with its copy job to enqueue
// (Created.LinkID).
func (s *Service) Attach(ctx context.Context, id Identity, taskGID, input string) (*Created, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	ac, err := s.asanaFor(ctx, id.User)
	if err != nil {
		return nil, err
	}
	task, err := ac.GetTask(ctx, taskGID, []string{"name", "completed", "permalink_url", "projects"})
	if err != nil {
		return nil, asanaError(err, "read the task")
	}
	var projects []string
	for _, p := range task.Projects {
		projects = append(projects, p.GID)
	}
	routed, _, err := s.serverForProjects(ctx, id, projects)
	if err != nil {
		return nil, err
	}
	srv, key, err := s.parseIssueRef(ctx, id, input, routed)
	if err != nil {
		return nil, err
	}
	jc, srv, err := s.jiraFor(ctx, id.User, srv.ID)
	if err != nil {
		return nil, err
	}
	is, err := jc.GetIssue(ctx, key, &jira.GetIssueOptions{Fields: []string{"summary"}})
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "see "+key)
	}
	if l, err := s.st.GetLinkByTask(ctx, srv.ID, taskGID); err == nil && l.IssueID != is.ID {
		return nil, newError(ErrInvalid, nil, "This task is already linked to %s on %s; one task links to one issue per Jira server.", l.IssueKey, serverName(srv))
	}
	if err := s.upsertRemoteLink(ctx, jc, is.Key, task); err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "add the Asana link to "+is.Key)
	}
	c := &Created{ServerID: srv.ID, IssueID: is.ID, IssueKey: is.Key, Summary: is.Fields.Summary, URL: BrowseURL(srv, is.Key),
		RemoteLinked: true, remoteLink: RemoteLinkState(RemoteLinkFor(task))}
	if err := s.storeLink(ctx, id, srv, taskGID, c, CreateHooks{}); err != nil {
		return nil, err
	}
	return c, nil
}

// UserTypeahead finds Jira users assignable in a project, for the form's
// user pickers.
func (s *Service) UserTypeahead(ctx context.Context, id Identity, serverID, project, query string) ([]Item, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	jc, srv, err := s.jiraFor(ctx, id.User, serverID)
	if err != nil {
		return nil, err
	}
	var users []jira.User
	if project != "" {
		users, err = jc.AssignableUsers(ctx, jira.AssignableOptions{Project: project, Query: query, MaxResults: MaxTypeaheadItems})
	} else {
		users, err = jc.SearchUsers(ctx, query, MaxTypeaheadItems)
	}
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "search Jira users")
	}
	items := make([]Item, 0, len(users))
	for _, u := range users[:min(len(users), MaxTypeaheadItems)] {
		items = append(items, Item{Title: trunc(u.DisplayName, 200), Subtitle: u.Name, Value: u.Name})
	}
	return items, nil
}

// ProjectTypeahead finds projects by key or name, for servers with more
// projects than a dropdown holds.
func (s *Service) ProjectTypeahead(ctx context.Context, id Identity, serverID, query string) ([]Item, error) {
	ctx, cancel := s.jiraCtx(ctx)
	defer cancel()
	jc, srv, err := s.jiraFor(ctx, id.User, serverID)
	if err != nil {
		return nil, err
	}
	ps, err := s.projects(ctx, jc, id.User, srv)
	if err != nil {
		return nil, s.jiraError(ctx, id.User, srv, err, "list your Jira projects")
	}
	q := strings.ToLower(strings.TrimSpace(query))
	var items []Item
	for _, p := range ps {
		if q == "" || strings.Contains(strings.ToLower(p.Key+" "+p.Name), q) {
			items = append(items, Item{Title: trunc(p.Key+": "+p.Name, 200), Value: p.Key})
		}
	}
	slices.SortStableFunc(items, func(a, b Item) int {
		return boolInt(!strings.HasPrefix(strings.ToLower(a.Value), q)) - boolInt(!strings.HasPrefix(strings.ToLower(b.Value), q))
	})
	return items[:min(len(items), MaxTypeaheadItems)], nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
