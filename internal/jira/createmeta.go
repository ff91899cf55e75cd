package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
)

// CreateField is one field of an issue type's create screen, in one shape
// whichever createmeta endpoint it came from.
type CreateField struct {
	// ID is the field id used in IssueInput.Fields (summary,
	// customfield_10010…).
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Required bool        `json:"required"`
	Schema   FieldSchema `json:"schema"`
	// AllowedValues are the choices of select-like fields.
	AllowedValues []AllowedValue `json:"allowedValues,omitempty"`
	// AutoCompleteURL serves suggestions for user, label and issue fields.
	AutoCompleteURL string          `json:"autoCompleteUrl,omitempty"`
	HasDefaultValue bool            `json:"hasDefaultValue"`
	DefaultValue    json.RawMessage `json:"defaultValue,omitempty"`
	Operations      []string        `json:"operations,omitempty"`
}

// AllowedValue is one choice of a field. Jira uses different shapes per
// field type: options have Value, priorities and versions Name, projects Key
// and Name; Raw keeps the original.
type AllowedValue struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name,omitempty"`
	Value    string          `json:"value,omitempty"`
	Key      string          `json:"key,omitempty"`
	Disabled bool            `json:"disabled,omitempty"`
	Children []AllowedValue  `json:"children,omitempty"`
	Raw      json.RawMessage `json:"-"`
}

// Label is the text a user picks the value by.
func (a AllowedValue) Label() string {
	switch {
	case a.Name != "":
		return a.Name
	case a.Value != "":
		return a.Value
	case a.Key != "":
		return a.Key
	}
	return a.ID
}

type allowedValueAlias AllowedValue

// UnmarshalJSON keeps the raw value next to the decoded one.
func (a *AllowedValue) UnmarshalJSON(b []byte) error {
	var v allowedValueAlias
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	v.Raw = append(json.RawMessage(nil), b...)
	*a = AllowedValue(v)
	return nil
}

// wireCreateField is a field meta as both endpoints send it.
type wireCreateField struct {
	FieldID         string          `json:"fieldId"` // 8.4+ endpoint
	Key             string          `json:"key"`     // some legacy answers
	Name            string          `json:"name"`
	Required        bool            `json:"required"`
	Schema          FieldSchema     `json:"schema"`
	AllowedValues   []AllowedValue  `json:"allowedValues"`
	AutoCompleteURL string          `json:"autoCompleteUrl"`
	HasDefaultValue bool            `json:"hasDefaultValue"`
	DefaultValue    json.RawMessage `json:"defaultValue"`
	Operations      []string        `json:"operations"`
}

func (w wireCreateField) normalise(mapKey string) CreateField {
	id := w.FieldID
	if id == "" {
		id = w.Key
	}
	if id == "" {
		id = mapKey
	}
	return CreateField{
		ID: id, Name: w.Name, Required: w.Required, Schema: w.Schema,
		AllowedValues: w.AllowedValues, AutoCompleteURL: w.AutoCompleteURL,
		HasDefaultValue: w.HasDefaultValue, DefaultValue: w.DefaultValue, Operations: w.Operations,
	}
}

// Page is one page of Jira's startAt/maxResults/isLast envelope.
type Page[T any] struct {
	StartAt    int  `json:"startAt"`
	MaxResults int  `json:"maxResults"`
	Total      int  `json:"total"`
	IsLast     bool `json:"isLast"`
	Values     []T  `json:"values"`
}

// pages yields every value of a paginated endpoint.
func pages[T any](ctx context.Context, c *Client, relPath string, pageSize int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		start := 0
		for {
			var p Page[T]
			if err := c.get(ctx, relPath, pageQuery(nil, start, pageSize), &p); err != nil {
				yield(zero, err)
				return
			}
			for _, v := range p.Values {
				if !yield(v, nil) {
					return
				}
			}
			start += len(p.Values)
			if p.IsLast || len(p.Values) == 0 || (p.Total > 0 && start >= p.Total) {
				return
			}
		}
	}
}

func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// CreateMetaIssueTypesIter yields the issue types a user can create in a
// project, from the paginated endpoint of Jira 8.4+.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/9.0.0/#api/2/issue-getCreateIssueMetaProjectIssueTypes
func (c *Client) CreateMetaIssueTypesIter(ctx context.Context, project string) iter.Seq2[IssueType, error] {
	return pages[IssueType](ctx, c, "rest/api/2/issue/createmeta/"+pathEscape(project)+"/issuetypes", 50)
}

// CreateMetaFieldsIter yields the create-screen fields of an issue type,
// from the paginated endpoint of Jira 8.4+.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/9.0.0/#api/2/issue-getCreateIssueMetaProjectIssueTypes
func (c *Client) CreateMetaFieldsIter(ctx context.Context, project, issueTypeID string) iter.Seq2[CreateField, error] {
	return func(yield func(CreateField, error) bool) {
		for w, err := range pages[wireCreateField](ctx, c, "rest/api/2/issue/createmeta/"+pathEscape(project)+"/issuetypes/"+pathEscape(issueTypeID), 50) {
			if !yield(w.normalise(""), err) || err != nil {
				return
			}
		}
	}
}

// LegacyCreateMetaProject is one project of the pre-9.0 createmeta answer.
type LegacyCreateMetaProject struct {
	ID         string                      `json:"id"`
	Key        string                      `json:"key"`
	Name       string                      `json:"name"`
	IssueTypes []LegacyCreateMetaIssueType `json:"issuetypes"`
}

// LegacyCreateMetaIssueType is an issue type with its fields in screen
// order.
type LegacyCreateMetaIssueType struct {
	IssueType
	Fields []CreateField
}

// UnmarshalJSON decodes the issue type and its "fields" object, keeping the
// object's key order (Jira sends fields in screen order).
func (l *LegacyCreateMetaIssueType) UnmarshalJSON(b []byte) error {
	var w struct {
		IssueType
		Fields json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	l.IssueType = w.IssueType
	l.Fields = nil
	if len(bytes.TrimSpace(w.Fields)) == 0 || string(w.Fields) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(w.Fields))
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var f wireCreateField
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("field %s: %w", key, err)
		}
		l.Fields = append(l.Fields, f.normalise(key))
	}
	return nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// LegacyCreateMeta reads the pre-9.0 createmeta endpoint
// (issue/createmeta?projectKeys=…&expand=projects.issuetypes.fields). It
// is heavy on big instances and gone in 9.0, where Jira answers 404
// "Issue Does Not Exist".
//
// https://docs.atlassian.com/software/jira/docs/api/REST/8.0.0/#api/2/issue-getCreateIssueMeta
func (c *Client) LegacyCreateMeta(ctx context.Context, project string, issueTypeIDs ...string) ([]LegacyCreateMetaProject, error) {
	q := url.Values{"expand": {"projects.issuetypes.fields"}}
	if allDigits(project) {
		q.Set("projectIds", project)
	} else {
		q.Set("projectKeys", project)
	}
	if len(issueTypeIDs) > 0 {
		q.Set("issuetypeIds", strings.Join(issueTypeIDs, ","))
	}
	var out struct {
		Projects []LegacyCreateMetaProject `json:"projects"`
	}
	if err := c.get(ctx, "rest/api/2/issue/createmeta", q, &out); err != nil {
		return nil, err
	}
	return out.Projects, nil
}

// useLegacyCreateMeta decides by version: below 8.4 only the legacy
// endpoint exists. A zero Version means unknown: try the new endpoints first.
func useLegacyCreateMeta(v Version) bool {
	return v != (Version{}) && !v.Features().PaginatedCreateMeta
}

// canFallBack says whether a 404 from the new endpoints may mean "not there
// yet" (below 9.0, where the legacy endpoint still exists).
func canFallBack(v Version, err error) bool {
	return errors.Is(err, ErrNotFound) && (v == (Version{}) || v.Features().LegacyCreateMeta)
}

// CreateIssueTypes lists the issue types a user can create in a project,
// choosing the createmeta endpoint by server version (see ServerInfo).
func (c *Client) CreateIssueTypes(ctx context.Context, v Version, project string) ([]IssueType, error) {
	if !useLegacyCreateMeta(v) {
		types, err := collect(c.CreateMetaIssueTypesIter(ctx, project))
		if err == nil || !canFallBack(v, err) {
			return types, err
		}
	}
	ps, err := c.LegacyCreateMeta(ctx, project)
	if err != nil {
		return nil, err
	}
	var out []IssueType
	for _, p := range ps {
		for _, it := range p.IssueTypes {
			out = append(out, it.IssueType)
		}
	}
	return out, nil
}

// CreateFields lists the create-screen fields of an issue type in a
// project, choosing the createmeta endpoint by server version.
func (c *Client) CreateFields(ctx context.Context, v Version, project, issueTypeID string) ([]CreateField, error) {
	if !useLegacyCreateMeta(v) {
		fields, err := collect(c.CreateMetaFieldsIter(ctx, project, issueTypeID))
		if err == nil || !canFallBack(v, err) {
			return fields, err
		}
	}
	ps, err := c.LegacyCreateMeta(ctx, project, issueTypeID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		for _, it := range p.IssueTypes {
			if it.ID == issueTypeID {
				return it.Fields, nil
			}
		}
	}
	return nil, &Error{Method: "GET", URL: c.URL("rest/api/2/issue/createmeta"), StatusCode: 404, Kind: KindNotFound,
		ErrorMessages: []string{fmt.Sprintf("issue type %s is not creatable in project %s", issueTypeID, project)}}
}
