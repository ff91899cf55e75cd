package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// RemoteLink links an issue to something outside Jira (the Asana task).
// GlobalID ("asana:task:<gid>") makes the link unique per issue and lets
// JQL find the issue (issuesWithRemoteLinksByGlobalId).
type RemoteLink struct {
	ID           int              `json:"id,omitempty"`
	Self         string           `json:"self,omitempty"`
	GlobalID     string           `json:"globalId,omitempty"`
	Application  *RemoteLinkApp   `json:"application,omitempty"`
	Relationship string           `json:"relationship,omitempty"`
	Object       RemoteLinkObject `json:"object"`
}

// RemoteLinkApp names the linked application.
type RemoteLinkApp struct {
	Type string `json:"type,omitempty"`
	Name string `json:"name,omitempty"`
}

// RemoteLinkObject is what the link points at; URL and Title are required.
type RemoteLinkObject struct {
	URL     string            `json:"url"`
	Title   string            `json:"title"`
	Summary string            `json:"summary,omitempty"`
	Icon    *RemoteLinkIcon   `json:"icon,omitempty"`
	Status  *RemoteLinkStatus `json:"status,omitempty"`
}

// RemoteLinkIcon is a 16×16 icon.
type RemoteLinkIcon struct {
	URL16x16 string `json:"url16x16,omitempty"`
	Title    string `json:"title,omitempty"`
}

// RemoteLinkStatus marks the linked object resolved (drawn struck through).
type RemoteLinkStatus struct {
	Resolved bool            `json:"resolved"`
	Icon     *RemoteLinkIcon `json:"icon,omitempty"`
}

// RemoteLinkResult is the answer to an upsert.
type RemoteLinkResult struct {
	ID   int    `json:"id"`
	Self string `json:"self"`
	// Created is true for 201 (new link), false for 200 (updated in place).
	Created bool `json:"-"`
}

// UpsertRemoteLink creates the link, or updates the issue's link with the
// same GlobalID. Because of that, it is safe to retry.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-createOrUpdateRemoteIssueLink
func (c *Client) UpsertRemoteLink(ctx context.Context, issue string, link RemoteLink) (*RemoteLinkResult, error) {
	link.ID, link.Self = 0, ""
	var out RemoteLinkResult
	resp, err := c.send(ctx, http.MethodPost, "rest/api/2/issue/"+pathEscape(issue)+"/remotelink", link, &out, link.GlobalID != "")
	if err != nil {
		return nil, err
	}
	out.Created = resp.StatusCode == http.StatusCreated
	return &out, nil
}

// RemoteLinks lists an issue's remote links; a non-empty globalID narrows
// to that link.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-getRemoteIssueLinks
func (c *Client) RemoteLinks(ctx context.Context, issue, globalID string) ([]RemoteLink, error) {
	q := url.Values{}
	if globalID != "" {
		q.Set("globalId", globalID)
	}
	var raw json.RawMessage
	if err := c.get(ctx, "rest/api/2/issue/"+pathEscape(issue)+"/remotelink", q, &raw); err != nil {
		return nil, err
	}
	// With globalId Jira answers a single object rather than an array.
	raw = bytes.TrimSpace(raw)
	if bytes.HasPrefix(raw, []byte("{")) {
		var one RemoteLink
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("jira: decode remote link of %s: %w", issue, err)
		}
		return []RemoteLink{one}, nil
	}
	var out []RemoteLink
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("jira: decode remote links of %s: %w", issue, err)
		}
	}
	return out, nil
}

// DeleteRemoteLink deletes the issue's link with this globalID.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-deleteRemoteIssueLinkByGlobalId
func (c *Client) DeleteRemoteLink(ctx context.Context, issue, globalID string) error {
	q := url.Values{"globalId": {globalID}}
	_, err := c.send(ctx, http.MethodDelete, withQuery("rest/api/2/issue/"+pathEscape(issue)+"/remotelink", q), nil, nil, true)
	return err
}
