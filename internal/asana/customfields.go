package asana

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// JiraStatusField is the name of the enum custom field asanajira keeps in
// sync with the linked issue's status.
const JiraStatusField = "Jira status"

// CustomField is a custom field definition.
type CustomField struct {
	GID             string       `json:"gid"`
	Name            string       `json:"name"`
	ResourceSubtype string       `json:"resource_subtype,omitempty"`
	Type            string       `json:"type,omitempty"`
	EnumOptions     []EnumOption `json:"enum_options,omitempty"`
}

// EnumOption is a choice of an enum field.
type EnumOption struct {
	GID     string `json:"gid"`
	Name    string `json:"name"`
	Color   string `json:"color,omitempty"`
	Enabled bool   `json:"enabled"`
}

// CustomFieldValue is a custom field as it appears on a task.
type CustomFieldValue struct {
	CustomField
	TextValue    *string     `json:"text_value,omitempty"`
	NumberValue  *float64    `json:"number_value,omitempty"`
	EnumValue    *EnumOption `json:"enum_value,omitempty"`
	DisplayValue *string     `json:"display_value,omitempty"`
}

// CustomFieldSetting attaches a custom field to a project.
type CustomFieldSetting struct {
	GID         string      `json:"gid"`
	CustomField CustomField `json:"custom_field"`
}

// ProjectCustomFields lists a project's custom fields.
//
// https://developers.asana.com/reference/getcustomfieldsettingsforproject
func (c *Client) ProjectCustomFields(ctx context.Context, project string) ([]CustomField, error) {
	q := optFields(nil, []string{"custom_field.name", "custom_field.resource_subtype", "custom_field.type", "custom_field.enum_options.name", "custom_field.enum_options.color", "custom_field.enum_options.enabled"})
	var out []CustomField
	for s, err := range list[CustomFieldSetting](ctx, c, "projects/"+url.PathEscape(project)+"/custom_field_settings", q) {
		if err != nil {
			return nil, err
		}
		out = append(out, s.CustomField)
	}
	return out, nil
}

// CustomField reads a field definition with its enum options.
//
// https://developers.asana.com/reference/getcustomfield
func (c *Client) CustomField(ctx context.Context, gid string) (*CustomField, error) {
	var f CustomField
	if _, err := c.get(ctx, "custom_fields/"+url.PathEscape(gid), optFields(nil, []string{"name", "resource_subtype", "type", "enum_options.name", "enum_options.color", "enum_options.enabled"}), &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// EnsureEnumField finds the enum custom field called name on a project, or
// creates it in the workspace and adds it to the project, and makes sure
// every option exists. It returns the field with its options. Custom fields
// need a paid plan: on a free workspace the error matches ErrPaymentRequired.
func (c *Client) EnsureEnumField(ctx context.Context, workspace, project, name string, options []string) (*CustomField, error) {
	fields, err := c.ProjectCustomFields(ctx, project)
	if err != nil {
		return nil, err
	}
	var field *CustomField
	for i := range fields {
		if strings.EqualFold(fields[i].Name, name) {
			if st := fields[i].subtype(); st != "enum" {
				return nil, errors.New("asana: the project already has a custom field named " + name + " that is not a single-select (it is " + st + "); rename or remove it")
			}
			field = &fields[i]
			break
		}
	}
	if field == nil {
		var opts []map[string]any
		for _, o := range options {
			opts = append(opts, map[string]any{"name": o})
		}
		var created CustomField
		body := map[string]any{"workspace": workspace, "name": name, "resource_subtype": "enum"}
		if len(opts) > 0 {
			body["enum_options"] = opts
		}
		if err := c.send(ctx, http.MethodPost, "custom_fields", body, &created); err != nil {
			return nil, err
		}
		if err := c.send(ctx, http.MethodPost, "projects/"+url.PathEscape(project)+"/addCustomFieldSetting", map[string]any{"custom_field": created.GID}, nil); err != nil {
			return nil, err
		}
		field = &created
	}
	for _, o := range options {
		if _, err := c.EnsureEnumOption(ctx, field, o); err != nil {
			return nil, err
		}
	}
	return field, nil
}

func (f *CustomField) subtype() string {
	if f.ResourceSubtype != "" {
		return f.ResourceSubtype
	}
	return f.Type
}

// Option returns the enabled option called name, if any.
func (f *CustomField) Option(name string) (EnumOption, bool) {
	for _, o := range f.EnumOptions {
		if strings.EqualFold(o.Name, name) && o.Enabled {
			return o, true
		}
	}
	return EnumOption{}, false
}

// EnsureEnumOption returns the option called name of field, creating it
// (and recording it in field) when missing; Jira statuses appear over time.
//
// https://developers.asana.com/reference/createenumoptionforcustomfield
func (c *Client) EnsureEnumOption(ctx context.Context, field *CustomField, name string) (EnumOption, error) {
	if o, ok := field.Option(name); ok {
		return o, nil
	}
	var o EnumOption
	if err := c.send(ctx, http.MethodPost, "custom_fields/"+url.PathEscape(field.GID)+"/enum_options", map[string]any{"name": name}, &o); err != nil {
		return EnumOption{}, err
	}
	if o.Name == "" {
		o.Name = name
	}
	o.Enabled = true
	field.EnumOptions = append(field.EnumOptions, o)
	return o, nil
}

// SetCustomFields writes custom field values on a task: enum → option gid,
// text → string, number → number, nil clears.
//
// https://developers.asana.com/reference/updatetask
func (c *Client) SetCustomFields(ctx context.Context, task string, values map[string]any) error {
	return c.send(ctx, http.MethodPut, "tasks/"+url.PathEscape(task), map[string]any{"custom_fields": values}, nil)
}
