package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strings"
)

// Issue is a Jira issue as GET issue and search return it.
type Issue struct {
	ID     string      `json:"id,omitempty"`
	Key    string      `json:"key,omitempty"`
	Self   string      `json:"self,omitempty"`
	Fields IssueFields `json:"fields"`
	// Names maps field ids to names (expand=names).
	Names map[string]string `json:"names,omitempty"`
	// RenderedFields holds HTML renderings (expand=renderedFields).
	RenderedFields map[string]json.RawMessage `json:"renderedFields,omitempty"`
	// Changelog is the issue's history (expand=changelog).
	Changelog *IssueChangelog `json:"changelog,omitempty"`
}

// IssueChangelog is an issue's history, oldest first.
type IssueChangelog struct {
	StartAt    int              `json:"startAt"`
	MaxResults int              `json:"maxResults"`
	Total      int              `json:"total"`
	Histories  []ChangelogEntry `json:"histories"`
}

// ChangelogEntry is one change: who changed which fields, when. Its ID is
// the changelog id a webhook delivery of the change carries.
type ChangelogEntry struct {
	ID      string          `json:"id"`
	Author  *User           `json:"author,omitempty"`
	Created Time            `json:"created"`
	Items   []ChangelogItem `json:"items"`
}

// IssueFields are the fields asanajira reads, plus every other field raw in
// Other (custom fields, keyed by id such as customfield_10010).
type IssueFields struct {
	Summary        string       `json:"summary,omitempty"`
	Description    WikiText     `json:"description,omitempty"`
	Status         *Status      `json:"status,omitempty"`
	Priority       *Priority    `json:"priority,omitempty"`
	IssueType      *IssueType   `json:"issuetype,omitempty"`
	Project        *Project     `json:"project,omitempty"`
	Assignee       *User        `json:"assignee,omitempty"`
	Reporter       *User        `json:"reporter,omitempty"`
	Creator        *User        `json:"creator,omitempty"`
	Resolution     *Resolution  `json:"resolution,omitempty"`
	Labels         []string     `json:"labels,omitempty"`
	Components     []Component  `json:"components,omitempty"`
	Created        Time         `json:"created"`
	Updated        Time         `json:"updated"`
	ResolutionDate Time         `json:"resolutiondate"`
	DueDate        string       `json:"duedate,omitempty"`
	Attachment     []Attachment `json:"attachment,omitempty"`
	Comment        *CommentPage `json:"comment,omitempty"`
	Parent         *Issue       `json:"parent,omitempty"`
	// Other holds every field not listed above, undecoded.
	Other map[string]json.RawMessage `json:"-"`
}

type issueFieldsAlias IssueFields

// knownIssueField reports the fields IssueFields decodes itself.
func knownIssueField(k string) bool {
	switch k {
	case "summary", "description", "status", "priority", "issuetype", "project", "assignee",
		"reporter", "creator", "resolution", "labels", "components", "created", "updated",
		"resolutiondate", "duedate", "attachment", "comment", "parent":
		return true
	}
	return false
}

// UnmarshalJSON decodes the known fields and keeps the rest in Other.
func (f *IssueFields) UnmarshalJSON(b []byte) error {
	var a issueFieldsAlias
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, v := range all {
		if knownIssueField(k) {
			continue
		}
		if a.Other == nil {
			a.Other = map[string]json.RawMessage{}
		}
		a.Other[k] = v
	}
	*f = IssueFields(a)
	return nil
}

// WikiText is a text field in Jira wiki markup. Server/DC sends a string;
// anything else (null, or a Cloud document object) decodes as "".
type WikiText string

// UnmarshalJSON implements json.Unmarshaler.
func (w *WikiText) UnmarshalJSON(b []byte) error {
	var s string
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	*w = WikiText(s)
	return nil
}

// Resolution is an issue resolution (Done, Won't Do…).
type Resolution struct {
	Self string `json:"self,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Component is a project component.
type Component struct {
	Self string `json:"self,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// IssueInput is the body of issue create and edit: Fields sets values by
// field id ({"summary":"…","project":{"key":"OPS"}}); Update applies
// operations ({"labels":[{"add":"asana"}]}).
type IssueInput struct {
	Fields map[string]any   `json:"fields,omitempty"`
	Update map[string][]any `json:"update,omitempty"`
}

// CreatedIssue is the answer to issue creation.
type CreatedIssue struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Self string `json:"self"`
}

// CreateIssue creates an issue. It is never retried after a 5xx or network
// error, because Jira may have created the issue anyway; callers make
// creation idempotent with a remote link globalId and a JQL check
// (issue in issuesWithRemoteLinksByGlobalId("…")) before trying again.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-createIssue
func (c *Client) CreateIssue(ctx context.Context, in IssueInput) (*CreatedIssue, error) {
	var out CreatedIssue
	if _, err := c.send(ctx, http.MethodPost, "rest/api/2/issue", in, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetIssueOptions narrows GetIssue.
type GetIssueOptions struct {
	// Fields limits the fields returned (nil: all).
	Fields []string
	// Expand is e.g. renderedFields, names, transitions, changelog.
	Expand []string
}

// GetIssue reads an issue by id or key. ErrNotFound also means the user may
// not see it.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-getIssue
func (c *Client) GetIssue(ctx context.Context, idOrKey string, opts *GetIssueOptions) (*Issue, error) {
	var is Issue
	if err := c.GetIssueInto(ctx, idOrKey, opts, &is); err != nil {
		return nil, err
	}
	return &is, nil
}

// GetIssueInto reads an issue as GetIssue does into v, a struct of the
// caller's with only what it reads. Decoding an Issue decodes its fields
// twice (to keep the custom ones) and every comment; a struct with a
// comment count and a few names skips the rest: the widget's read went
// from most of its CPU to a small part.
func (c *Client) GetIssueInto(ctx context.Context, idOrKey string, opts *GetIssueOptions, v any) error {
	q := url.Values{}
	if opts != nil {
		if len(opts.Fields) > 0 {
			q.Set("fields", strings.Join(opts.Fields, ","))
		}
		if len(opts.Expand) > 0 {
			q.Set("expand", strings.Join(opts.Expand, ","))
		}
	}
	return c.get(ctx, "rest/api/2/issue/"+pathEscape(idOrKey), q, v)
}

// EditIssue sets fields and applies update operations (204 on success).
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-editIssue
func (c *Client) EditIssue(ctx context.Context, idOrKey string, in IssueInput) error {
	_, err := c.send(ctx, http.MethodPut, "rest/api/2/issue/"+pathEscape(idOrKey), in, nil, true)
	return err
}

// AssignIssue assigns an issue to a user name; "" unassigns it.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-assign
func (c *Client) AssignIssue(ctx context.Context, idOrKey, userName string) error {
	body := map[string]any{"name": nil}
	if userName != "" {
		body["name"] = userName
	}
	_, err := c.send(ctx, http.MethodPut, "rest/api/2/issue/"+pathEscape(idOrKey)+"/assignee", body, nil, true)
	return err
}

// SearchOptions is a JQL search.
type SearchOptions struct {
	JQL string `json:"jql"`
	// StartAt is the index of the first issue; MaxResults the page size
	// (0: Jira's default of 50).
	StartAt    int      `json:"startAt"`
	MaxResults int      `json:"maxResults,omitempty"`
	Fields     []string `json:"fields,omitempty"`
	Expand     []string `json:"expand,omitempty"`
}

// SearchResult is one page of a search.
type SearchResult struct {
	StartAt    int     `json:"startAt"`
	MaxResults int     `json:"maxResults"`
	Total      int     `json:"total"`
	Issues     []Issue `json:"issues"`
}

// Search runs one page of a JQL search. It uses POST, so long JQL never hits
// URL length limits; a search changes nothing, so it is retried like a GET.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/search-searchUsingSearchRequest
func (c *Client) Search(ctx context.Context, opts SearchOptions) (*SearchResult, error) {
	var out SearchResult
	if _, err := c.send(ctx, http.MethodPost, "rest/api/2/search", opts, &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// SearchIter yields every issue matching opts.JQL, page by page, from
// opts.StartAt. It stops at the first error, which it yields.
func (c *Client) SearchIter(ctx context.Context, opts SearchOptions) iter.Seq2[Issue, error] {
	return func(yield func(Issue, error) bool) {
		for {
			page, err := c.Search(ctx, opts)
			if err != nil {
				yield(Issue{}, err)
				return
			}
			for _, is := range page.Issues {
				if !yield(is, nil) {
					return
				}
			}
			opts.StartAt += len(page.Issues)
			if len(page.Issues) == 0 || opts.StartAt >= page.Total {
				return
			}
		}
	}
}

// EditMeta lists the fields the caller may edit on an issue now (its edit
// screen, as the caller sees it): field id → its metadata, undecoded. It is
// empty without the Edit Issues permission.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-getEditIssueMeta
func (c *Client) EditMeta(ctx context.Context, idOrKey string) (map[string]json.RawMessage, error) {
	var out struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err := c.get(ctx, "rest/api/2/issue/"+pathEscape(idOrKey)+"/editmeta", nil, &out); err != nil {
		return nil, err
	}
	if out.Fields == nil {
		out.Fields = map[string]json.RawMessage{}
	}
	return out.Fields, nil
}
