package asana

import (
	"context"
	"net/url"
	"strconv"
)

// Lookups for a person picking an Asana object by name: one page of a
// workspace's projects at a time, and the typeahead search.

// ProjectsPage returns one page of a workspace's unarchived projects, of
// at most limit (1 to 100), from offset ("" for the first page); next is
// the offset of the page after it, "" on the last.
//
// https://developers.asana.com/reference/getprojectsforworkspace
func (c *Client) ProjectsPage(ctx context.Context, workspace string, limit int, offset string) (projects []Project, next string, err error) {
	q := optFields(url.Values{"archived": {"false"}, "limit": {strconv.Itoa(limit)}}, []string{"name", "workspace", "permalink_url", "archived"})
	if offset != "" {
		q.Set("offset", offset)
	}
	env, err := c.get(ctx, "workspaces/"+url.PathEscape(workspace)+"/projects", q, &projects)
	if err != nil {
		return nil, "", err
	}
	if env.NextPage != nil {
		next = env.NextPage.Offset
	}
	return projects, next, nil
}

// Typeahead returns up to count (1 to 100) objects of one resource type
// ("project", "task", "user", …) in a workspace whose names match query,
// the way Asana's search boxes find them. Asana answers one page, never
// paginated, quickly rather than exhaustively.
//
// https://developers.asana.com/reference/typeaheadforworkspace
func (c *Client) Typeahead(ctx context.Context, workspace, resourceType, query string, count int) ([]Ref, error) {
	q := url.Values{"resource_type": {resourceType}, "query": {query}, "count": {strconv.Itoa(count)}}
	var refs []Ref
	if _, err := c.get(ctx, "workspaces/"+url.PathEscape(workspace)+"/typeahead", q, &refs); err != nil {
		return nil, err
	}
	return refs, nil
}
