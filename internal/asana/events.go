package asana

import (
	"context"
	"errors"
	"net/url"
)

// Event is one change reported by the events API or a webhook delivery.
type Event struct {
	User      *Ref    `json:"user,omitempty"`
	CreatedAt string  `json:"created_at,omitempty"`
	Action    string  `json:"action"`
	Resource  Ref     `json:"resource"`
	Parent    *Ref    `json:"parent,omitempty"`
	Change    *Change `json:"change,omitempty"`
	Type      string  `json:"type,omitempty"`
}

// Change describes a changed field.
type Change struct {
	Field        string `json:"field"`
	Action       string `json:"action"`
	NewValue     any    `json:"new_value,omitempty"`
	AddedValue   any    `json:"added_value,omitempty"`
	RemovedValue any    `json:"removed_value,omitempty"`
}

// EventPage is one answer of the events API.
type EventPage struct {
	Events []Event
	// Sync is the token for the next call.
	Sync string
	// HasMore says more events are waiting; call again at once.
	HasMore bool
}

// Events returns the events on resource since sync. With an empty or
// expired sync token Asana answers 412 with a fresh token: Events then
// returns an empty page with that token and an error matching
// ErrSyncTokenInvalid, so the caller stores the token and reconciles what
// it may have missed.
//
// https://developers.asana.com/reference/getevents
func (c *Client) Events(ctx context.Context, resource, sync string) (*EventPage, error) {
	q := url.Values{"resource": {resource}}
	if sync != "" {
		q.Set("sync", sync)
	}
	var events []Event
	env, err := c.get(ctx, "events", q, &events)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && errors.Is(err, ErrSyncTokenInvalid) && e.Sync != "" {
			return &EventPage{Sync: e.Sync}, err
		}
		return nil, err
	}
	return &EventPage{Events: events, Sync: env.Sync, HasMore: env.HasMore}, nil
}
