package jira

import (
	"context"
	"net/url"
)

// Project is a Jira project.
type Project struct {
	Self           string            `json:"self,omitempty"`
	ID             string            `json:"id,omitempty"`
	Key            string            `json:"key,omitempty"`
	Name           string            `json:"name,omitempty"`
	ProjectTypeKey string            `json:"projectTypeKey,omitempty"`
	Archived       bool              `json:"archived,omitempty"`
	Description    string            `json:"description,omitempty"`
	Lead           *User             `json:"lead,omitempty"`
	AvatarURLs     map[string]string `json:"avatarUrls,omitempty"`
	IssueTypes     []IssueType       `json:"issueTypes,omitempty"`
}

// IssueType is an issue type (Task, Bug, Sub-task…).
type IssueType struct {
	Self        string `json:"self,omitempty"`
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	IconURL     string `json:"iconUrl,omitempty"`
	Subtask     bool   `json:"subtask,omitempty"`
}

// Priority is an issue priority.
type Priority struct {
	Self    string `json:"self,omitempty"`
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	IconURL string `json:"iconUrl,omitempty"`
}

// Projects lists the projects the user can browse (Jira answers a plain
// array, not a page).
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/project-getAllProjects
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	var ps []Project
	if err := c.get(ctx, "rest/api/2/project", nil, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// Project returns one project by id or key, with its issue types.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/project-getProject
func (c *Client) Project(ctx context.Context, idOrKey string) (*Project, error) {
	var p Project
	if err := c.get(ctx, "rest/api/2/project/"+pathEscape(idOrKey), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Priorities lists the priorities.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/priority-getPriorities
func (c *Client) Priorities(ctx context.Context) ([]Priority, error) {
	var ps []Priority
	if err := c.get(ctx, "rest/api/2/priority", nil, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// Field is an entry of GET rest/api/2/field (system and custom fields).
type Field struct {
	ID          string      `json:"id"`
	Key         string      `json:"key,omitempty"`
	Name        string      `json:"name"`
	Custom      bool        `json:"custom"`
	Orderable   bool        `json:"orderable"`
	Navigable   bool        `json:"navigable"`
	Searchable  bool        `json:"searchable"`
	ClauseNames []string    `json:"clauseNames,omitempty"`
	Schema      FieldSchema `json:"schema"`
}

// FieldSchema describes a field's value type.
type FieldSchema struct {
	// Type is string, number, date, datetime, user, array, option, priority,
	// any, …
	Type string `json:"type,omitempty"`
	// Items is the element type of an array.
	Items string `json:"items,omitempty"`
	// System names a system field; Custom is a custom field's type key
	// (com.atlassian.jira.plugin.system.customfieldtypes:select…).
	System   string `json:"system,omitempty"`
	Custom   string `json:"custom,omitempty"`
	CustomID int64  `json:"customId,omitempty"`
}

// Fields lists all fields (ids of custom fields such as Epic Link or Sprint).
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/field-getFields
func (c *Client) Fields(ctx context.Context) ([]Field, error) {
	var fs []Field
	if err := c.get(ctx, "rest/api/2/field", nil, &fs); err != nil {
		return nil, err
	}
	return fs, nil
}

// Status is an issue status with its category; map by StatusCategory.Key
// (new, indeterminate, done), never by name.
type Status struct {
	Self           string         `json:"self,omitempty"`
	ID             string         `json:"id,omitempty"`
	Name           string         `json:"name,omitempty"`
	Description    string         `json:"description,omitempty"`
	IconURL        string         `json:"iconUrl,omitempty"`
	StatusCategory StatusCategory `json:"statusCategory"`
}

// StatusCategory is new (To Do), indeterminate (In Progress) or done.
type StatusCategory struct {
	Self      string `json:"self,omitempty"`
	ID        int    `json:"id,omitempty"`
	Key       string `json:"key,omitempty"`
	ColorName string `json:"colorName,omitempty"`
	Name      string `json:"name,omitempty"`
}

// ProjectIssueTypeStatuses is an entry of GET project/{key}/statuses.
type ProjectIssueTypeStatuses struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Subtask  bool     `json:"subtask"`
	Statuses []Status `json:"statuses"`
}

// ProjectStatuses lists each issue type of a project with its statuses.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/project-getAllStatuses
func (c *Client) ProjectStatuses(ctx context.Context, idOrKey string) ([]ProjectIssueTypeStatuses, error) {
	var out []ProjectIssueTypeStatuses
	if err := c.get(ctx, "rest/api/2/project/"+pathEscape(idOrKey)+"/statuses", url.Values{}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
