package jira

import (
	"context"
	"errors"
	"net/url"
	"strconv"
)

// SearchUsers finds active users whose user name, display name or e-mail
// matches query (the way to map an Asana e-mail to a Jira user). Jira 10.3
// caps maxResults at 100.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/user-findUsers
func (c *Client) SearchUsers(ctx context.Context, query string, maxResults int) ([]User, error) {
	q := url.Values{"username": {query}}
	if maxResults > 0 {
		q.Set("maxResults", strconv.Itoa(maxResults))
	}
	var out []User
	if err := c.get(ctx, "rest/api/2/user/search", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AssignableOptions selects where the user would be assigned: a project
// (for a new issue) or an existing issue.
type AssignableOptions struct {
	Project    string
	IssueKey   string
	Query      string
	MaxResults int
}

// AssignableUsers finds users who can be assigned issues in a project or on
// an issue.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/user-findAssignableUsers
func (c *Client) AssignableUsers(ctx context.Context, opts AssignableOptions) ([]User, error) {
	if opts.Project == "" && opts.IssueKey == "" {
		return nil, errors.New("jira: assignable users need a project or an issue key")
	}
	q := url.Values{"username": {opts.Query}}
	if opts.Project != "" {
		q.Set("project", opts.Project)
	}
	if opts.IssueKey != "" {
		q.Set("issueKey", opts.IssueKey)
	}
	if opts.MaxResults > 0 {
		q.Set("maxResults", strconv.Itoa(opts.MaxResults))
	}
	var out []User
	if err := c.get(ctx, "rest/api/2/user/assignable/search", q, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// UserByKey reads a user by immutable key (usernames can be renamed).
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/user-getUser
func (c *Client) UserByKey(ctx context.Context, key string) (*User, error) {
	var u User
	if err := c.get(ctx, "rest/api/2/user", url.Values{"key": {key}}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// UserByName reads a user by user name.
func (c *Client) UserByName(ctx context.Context, name string) (*User, error) {
	var u User
	if err := c.get(ctx, "rest/api/2/user", url.Values{"username": {name}}, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
