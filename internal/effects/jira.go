package effects

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/asanajira/asanajira/internal/jira"
)

// PropertyKey is the entity property asanajira keeps on the Jira comments
// it writes: {"fingerprint": "<fingerprint>"}. People never see it.
const PropertyKey = "asanajira"

type fingerprintProperty struct {
	Fingerprint string `json:"fingerprint"`
}

// JiraComment is a comment on a Jira issue, written with the client's user
// as its author. It carries its fingerprint as the entity property
// PropertyKey, sent in the request that creates it so comment and
// fingerprint are stored together. Make reads the properties Jira kept in
// its answer; a Jira (or an app, a proxy) that dropped it gets it set right
// after.
type JiraComment struct {
	Client *jira.Client
	Issue  string // key or id
	// Body is wiki markup, posted as it is.
	Body       string
	Visibility *jira.Visibility
	// Log hears of a comment whose property could not be set (nil:
	// discarded).
	Log *slog.Logger
}

// Digest is what the comment says.
func (c JiraComment) Digest() string { return Digest(c.Body) }

// Make posts the comment; its result is the comment's id.
func (c JiraComment) Make(ctx context.Context, fingerprint string) (string, error) {
	value, err := json.Marshal(fingerprintProperty{Fingerprint: fingerprint})
	if err != nil {
		return "", err
	}
	cm, err := c.Client.CreateComment(ctx, c.Issue, jira.Comment{Body: c.Body, Visibility: c.Visibility,
		Properties: []jira.EntityProperty{{Key: PropertyKey, Value: value}}})
	if err != nil {
		return "", fmt.Errorf("comment on %s: %w", c.Issue, err)
	}
	if !hasFingerprintProperty(cm.Properties, fingerprint) {
		// The comment is made: its result is recorded whatever happens
		// here. Without the property only a crash before recording could
		// make the next attempt miss it.
		if err := c.Client.SetCommentProperty(ctx, cm.ID, PropertyKey, value); err != nil && c.Log != nil {
			c.Log.WarnContext(ctx, "Jira kept no fingerprint property on a new comment and refused to set it",
				slog.String("issue", c.Issue), slog.String("comment", cm.ID), slog.Any("error", err))
		}
	}
	return cm.ID, nil
}

// Find reads the issue's comments for one carrying the fingerprint
// property.
func (c JiraComment) Find(ctx context.Context, lk Lookup) (string, bool, error) {
	for cm, err := range c.Client.CommentsIter(ctx, c.Issue) {
		if err != nil {
			return "", false, fmt.Errorf("read the comments of %s: %w", c.Issue, err)
		}
		if hasFingerprintProperty(cm.Properties, lk.Fingerprint) {
			return cm.ID, true, nil
		}
	}
	return "", false, nil
}

// OwnJiraComment reports whether asanajira wrote a Jira comment: it
// carries the property PropertyKey, or (written before fingerprints became
// invisible) the marker line.
func OwnJiraComment(c *jira.Comment) bool {
	for _, p := range c.Properties {
		if p.Key == PropertyKey {
			return true
		}
	}
	return HasMarker(c.Body)
}

func hasFingerprintProperty(props []jira.EntityProperty, fingerprint string) bool {
	for _, p := range props {
		var v fingerprintProperty
		if p.Key == PropertyKey && json.Unmarshal(p.Value, &v) == nil && v.Fingerprint == fingerprint {
			return true
		}
	}
	return false
}
