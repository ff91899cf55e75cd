package asana

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// Section is a section of a project.
type Section struct {
	GID  string `json:"gid"`
	Name string `json:"name"`
}

// Membership is a project a task is in, and its section there.
type Membership struct {
	Project *Ref     `json:"project,omitempty"`
	Section *Section `json:"section,omitempty"`
}

// Sections yields a project's sections, in order.
//
// https://developers.asana.com/reference/getsectionsforproject
func (c *Client) Sections(ctx context.Context, project string) iter.Seq2[Section, error] {
	return list[Section](ctx, c, "projects/"+url.PathEscape(project)+"/sections", optFields(nil, []string{"name"}))
}

// AddTaskToSection moves a task into a section (at its end), adding it to
// the section's project if it is not in it.
//
// https://developers.asana.com/reference/addtaskforsection
func (c *Client) AddTaskToSection(ctx context.Context, section, task string) error {
	return c.send(ctx, http.MethodPost, "sections/"+url.PathEscape(section)+"/addTask", map[string]any{"task": task}, nil)
}
