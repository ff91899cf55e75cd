package asana

import (
	"context"
	"net/http"
	"net/url"
)

// UpdateStory replaces the text of a comment; only its author may. html
// (a <body>…</body> fragment) wins over text when both are given.
//
// https://developers.asana.com/reference/updatestory
func (c *Client) UpdateStory(ctx context.Context, gid, text, html string) (*Story, error) {
	body := map[string]any{"text": text}
	if html != "" {
		body = map[string]any{"html_text": html}
	}
	var s Story
	if err := c.send(ctx, http.MethodPut, "stories/"+url.PathEscape(gid), body, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteStory deletes a comment; only its author may.
//
// https://developers.asana.com/reference/deletestory
func (c *Client) DeleteStory(ctx context.Context, gid string) error {
	return c.send(ctx, http.MethodDelete, "stories/"+url.PathEscape(gid), nil, nil)
}
