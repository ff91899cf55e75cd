package jira

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
)

// Comment is an issue comment; Body is wiki markup.
type Comment struct {
	Self         string      `json:"self,omitempty"`
	ID           string      `json:"id,omitempty"`
	Author       *User       `json:"author,omitempty"`
	UpdateAuthor *User       `json:"updateAuthor,omitempty"`
	Body         string      `json:"body"`
	RenderedBody string      `json:"renderedBody,omitempty"`
	Created      Time        `json:"created"`
	Updated      Time        `json:"updated"`
	Visibility   *Visibility `json:"visibility,omitempty"`
	// Properties are the comment's entity properties (read with
	// expand=properties; written with the comment by CreateComment).
	Properties []EntityProperty `json:"properties,omitempty"`
}

// EntityProperty is a key and a JSON value Jira keeps on an entity (an
// issue, a comment) for applications; people do not see it.
type EntityProperty struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// Visibility restricts a comment to a role or group.
type Visibility struct {
	Type  string `json:"type"` // role or group
	Value string `json:"value"`
}

// CommentPage is a page of comments.
type CommentPage struct {
	StartAt    int       `json:"startAt"`
	MaxResults int       `json:"maxResults"`
	Total      int       `json:"total"`
	Comments   []Comment `json:"comments"`
}

// AddComment adds a wiki-markup comment; visibility may be nil.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-addComment
func (c *Client) AddComment(ctx context.Context, issue, body string, visibility *Visibility) (*Comment, error) {
	return c.CreateComment(ctx, issue, Comment{Body: body, Visibility: visibility})
}

// CreateComment adds a comment with its body, visibility and entity
// properties, all in one request, so a property can never miss its comment.
// The answer lists the properties Jira kept (expand=properties).
func (c *Client) CreateComment(ctx context.Context, issue string, in Comment) (*Comment, error) {
	var out Comment
	if _, err := c.send(ctx, http.MethodPost, "rest/api/2/issue/"+pathEscape(issue)+"/comment?expand=properties", commentInput(in), &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetComment reads one comment of an issue as the client's user sees it,
// with its visibility restriction and entity properties. ErrNotFound also means the comment
// belongs to another issue, or the user may not see it (Jira hides a
// restricted comment from users outside its group or role).
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-getComment
func (c *Client) GetComment(ctx context.Context, issue, commentID string) (*Comment, error) {
	var out Comment
	q := url.Values{"expand": {"properties"}}
	if err := c.get(ctx, "rest/api/2/issue/"+pathEscape(issue)+"/comment/"+pathEscape(commentID), q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// commentInput is the wire shape of a comment write (no zero times).
func commentInput(c Comment) map[string]any {
	m := map[string]any{"body": c.Body}
	if c.Visibility != nil {
		m["visibility"] = c.Visibility
	}
	if len(c.Properties) > 0 {
		m["properties"] = c.Properties
	}
	return m
}

// SetCommentProperty sets an entity property of a comment (created or
// replaced); value is JSON.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/comment/{commentId}/properties-setProperty
func (c *Client) SetCommentProperty(ctx context.Context, commentID, key string, value json.RawMessage) error {
	_, err := c.send(ctx, http.MethodPut, "rest/api/2/comment/"+pathEscape(commentID)+"/properties/"+pathEscape(key), value, nil, true)
	return err
}

// UpdateComment replaces a comment's body.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-updateComment
func (c *Client) UpdateComment(ctx context.Context, issue, commentID, body string) (*Comment, error) {
	var out Comment
	if _, err := c.send(ctx, http.MethodPut, "rest/api/2/issue/"+pathEscape(issue)+"/comment/"+pathEscape(commentID), commentInput(Comment{Body: body}), &out, true); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteComment deletes a comment.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-deleteComment
func (c *Client) DeleteComment(ctx context.Context, issue, commentID string) error {
	_, err := c.send(ctx, http.MethodDelete, "rest/api/2/issue/"+pathEscape(issue)+"/comment/"+pathEscape(commentID), nil, nil, true)
	return err
}

// Comments returns one page of an issue's comments, oldest first, with
// their entity properties.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-getComments
func (c *Client) Comments(ctx context.Context, issue string, startAt, maxResults int) (*CommentPage, error) {
	q := pageQuery(url.Values{"orderBy": {"created"}, "expand": {"properties"}}, startAt, maxResults)
	var out CommentPage
	if err := c.get(ctx, "rest/api/2/issue/"+pathEscape(issue)+"/comment", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CommentsIter yields every comment of an issue.
func (c *Client) CommentsIter(ctx context.Context, issue string) iter.Seq2[Comment, error] {
	return func(yield func(Comment, error) bool) {
		start := 0
		for {
			page, err := c.Comments(ctx, issue, start, 100)
			if err != nil {
				yield(Comment{}, err)
				return
			}
			for _, cm := range page.Comments {
				if !yield(cm, nil) {
					return
				}
			}
			start += len(page.Comments)
			if len(page.Comments) == 0 || start >= page.Total {
				return
			}
		}
	}
}
