package asana

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// Ref is a compact reference to any Asana object.
type Ref struct {
	GID             string `json:"gid"`
	ResourceType    string `json:"resource_type,omitempty"`
	ResourceSubtype string `json:"resource_subtype,omitempty"`
	Name            string `json:"name,omitempty"`
}

// User is an Asana user.
type User struct {
	GID        string `json:"gid"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Workspaces []Ref  `json:"workspaces,omitempty"`
}

// Workspace is an Asana workspace or organization.
type Workspace struct {
	GID            string `json:"gid"`
	Name           string `json:"name"`
	IsOrganization bool   `json:"is_organization,omitempty"`
}

// Project is an Asana project.
type Project struct {
	GID          string `json:"gid"`
	Name         string `json:"name"`
	Workspace    *Ref   `json:"workspace,omitempty"`
	PermalinkURL string `json:"permalink_url,omitempty"`
	Archived     bool   `json:"archived,omitempty"`
}

// Me returns the token's user.
//
// https://developers.asana.com/reference/getuser
func (c *Client) Me(ctx context.Context) (*User, error) { return c.User(ctx, "me") }

// User returns a user by gid, e-mail or "me".
//
// https://developers.asana.com/reference/getuser
func (c *Client) User(ctx context.Context, gid string) (*User, error) {
	var u User
	if _, err := c.get(ctx, "users/"+url.PathEscape(gid), optFields(nil, []string{"name", "email", "workspaces.name"}), &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// WorkspaceUsers yields the users of a workspace (to map e-mails).
//
// https://developers.asana.com/reference/getusersforworkspace
func (c *Client) WorkspaceUsers(ctx context.Context, workspace string) iter.Seq2[User, error] {
	return list[User](ctx, c, "workspaces/"+url.PathEscape(workspace)+"/users", optFields(nil, []string{"name", "email"}))
}

// Workspaces yields the workspaces visible to the token.
//
// https://developers.asana.com/reference/getworkspaces
func (c *Client) Workspaces(ctx context.Context) iter.Seq2[Workspace, error] {
	return list[Workspace](ctx, c, "workspaces", optFields(nil, []string{"name", "is_organization"}))
}

// Projects yields the unarchived projects of a workspace.
//
// https://developers.asana.com/reference/getprojectsforworkspace
func (c *Client) Projects(ctx context.Context, workspace string) iter.Seq2[Project, error] {
	q := optFields(url.Values{"archived": {"false"}}, []string{"name", "workspace", "permalink_url", "archived"})
	return list[Project](ctx, c, "workspaces/"+url.PathEscape(workspace)+"/projects", q)
}

// Project returns one project.
//
// https://developers.asana.com/reference/getproject
func (c *Client) Project(ctx context.Context, gid string) (*Project, error) {
	var p Project
	if _, err := c.get(ctx, "projects/"+url.PathEscape(gid), optFields(nil, []string{"name", "workspace", "permalink_url", "archived"}), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Task is an Asana task with the fields asanajira reads.
type Task struct {
	GID          string             `json:"gid"`
	Name         string             `json:"name"`
	Notes        string             `json:"notes,omitempty"`
	HTMLNotes    string             `json:"html_notes,omitempty"`
	Completed    bool               `json:"completed"`
	CompletedAt  string             `json:"completed_at,omitempty"`
	DueOn        string             `json:"due_on,omitempty"`
	Assignee     *User              `json:"assignee,omitempty"`
	PermalinkURL string             `json:"permalink_url,omitempty"`
	ModifiedAt   string             `json:"modified_at,omitempty"`
	Projects     []Ref              `json:"projects,omitempty"`
	Workspace    *Ref               `json:"workspace,omitempty"`
	CustomFields []CustomFieldValue `json:"custom_fields,omitempty"`
	Memberships  []Membership       `json:"memberships,omitempty"`
	External     *External          `json:"external,omitempty"`
}

// External is a task's app-private external data (OAuth tokens only).
type External struct {
	GID  string `json:"gid,omitempty"`
	Data string `json:"data,omitempty"`
}

// TaskFields is the default opt_fields of GetTask.
func TaskFields() []string {
	return []string{"name", "notes", "html_notes", "completed", "due_on", "assignee.name", "assignee.email",
		"permalink_url", "modified_at", "projects.name", "workspace.name", "custom_fields", "external"}
}

// GetTask reads a task; nil fields means TaskFields().
//
// https://developers.asana.com/reference/gettask
func (c *Client) GetTask(ctx context.Context, gid string, fields []string) (*Task, error) {
	if fields == nil {
		fields = TaskFields()
	}
	var t Task
	if _, err := c.get(ctx, "tasks/"+url.PathEscape(gid), optFields(nil, fields), &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateTask changes writable task fields ({"completed": true,
// "custom_fields": {...}}) and returns the task.
//
// https://developers.asana.com/reference/updatetask
func (c *Client) UpdateTask(ctx context.Context, gid string, fields map[string]any) (*Task, error) {
	var t Task
	if err := c.send(ctx, http.MethodPut, "tasks/"+url.PathEscape(gid), fields, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ProjectTasks yields the tasks of a project.
//
// https://developers.asana.com/reference/gettasksforproject
func (c *Client) ProjectTasks(ctx context.Context, project string, fields []string) iter.Seq2[Task, error] {
	return list[Task](ctx, c, "projects/"+url.PathEscape(project)+"/tasks", optFields(nil, fields))
}

// Story is a task story; comments have ResourceSubtype "comment_added".
type Story struct {
	GID             string `json:"gid"`
	CreatedAt       string `json:"created_at,omitempty"`
	CreatedBy       *User  `json:"created_by,omitempty"`
	Text            string `json:"text,omitempty"`
	HTMLText        string `json:"html_text,omitempty"`
	ResourceSubtype string `json:"resource_subtype,omitempty"`
	Type            string `json:"type,omitempty"`
	IsEdited        bool   `json:"is_edited,omitempty"`
}

// AddComment posts a comment on a task; html is a <body>…</body> fragment
// and wins over text when both are given.
//
// https://developers.asana.com/reference/createstoryfortask
func (c *Client) AddComment(ctx context.Context, task, text, html string) (*Story, error) {
	body := map[string]any{"text": text}
	if html != "" {
		body = map[string]any{"html_text": html}
	}
	var s Story
	if err := c.send(ctx, http.MethodPost, "tasks/"+url.PathEscape(task)+"/stories", body, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Stories yields a task's stories, oldest first.
//
// https://developers.asana.com/reference/getstoriesfortask
func (c *Client) Stories(ctx context.Context, task string) iter.Seq2[Story, error] {
	q := optFields(nil, []string{"created_at", "created_by.name", "text", "html_text", "resource_subtype", "type", "is_edited"})
	return list[Story](ctx, c, "tasks/"+url.PathEscape(task)+"/stories", q)
}
