package jira

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Transition is a workflow transition available to the user on an issue.
type Transition struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	To          Status `json:"to"`
	IsAvailable *bool  `json:"isAvailable,omitempty"`
	// Fields are the transition screen's fields (expand=transitions.fields),
	// keyed by field id.
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
}

// Transitions lists the transitions the user may make on an issue now, with
// their screen fields.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-getTransitions
func (c *Client) Transitions(ctx context.Context, issue string) ([]Transition, error) {
	var out struct {
		Transitions []Transition `json:"transitions"`
	}
	q := url.Values{"expand": {"transitions.fields"}}
	if err := c.get(ctx, "rest/api/2/issue/"+pathEscape(issue)+"/transitions", q, &out); err != nil {
		return nil, err
	}
	return out.Transitions, nil
}

// TransitionInput performs a transition, with screen fields and updates
// (a comment) when the transition needs them.
type TransitionInput struct {
	ID     string
	Fields map[string]any
	Update map[string][]any
}

// DoTransition moves an issue through a transition (204 on success).
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue-doTransition
func (c *Client) DoTransition(ctx context.Context, issue string, in TransitionInput) error {
	body := map[string]any{"transition": map[string]string{"id": in.ID}}
	if len(in.Fields) > 0 {
		body["fields"] = in.Fields
	}
	if len(in.Update) > 0 {
		body["update"] = in.Update
	}
	_, err := c.send(ctx, http.MethodPost, "rest/api/2/issue/"+pathEscape(issue)+"/transitions", body, nil, false)
	return err
}
