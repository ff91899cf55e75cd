package effects

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/asanajira/asanajira/internal/jira"
)

// PropertyKey is the entity property asanajira keeps on the Jira comments
// it writes: {"fingerprint": "<fingerprint>"}.
const PropertyKey = "asanajira"

type fingerprintProperty struct {
	Fingerprint string `json:"fingerprint"`
}

// JiraComment is a comment on a Jira issue, written with the client's user
// as its author. It carries its fingerprint twice, in the same request that
// creates it: as the entity property PropertyKey, which people never see
// and Jira keeps with the comment, and as the comment's last line
// (Marker), which survives where the property does not (a Jira, an app or a
// proxy that drops it). Find accepts either.
type JiraComment struct {
	Client *jira.Client
	Issue  string // key or id
	// Body is wiki markup; the marker line is added after it.
	Body       string
	Visibility *jira.Visibility
}

// Make posts the comment; its result is the comment's id.
func (c JiraComment) Make(ctx context.Context, fingerprint string) (string, error) {
	value, err := json.Marshal(fingerprintProperty{Fingerprint: fingerprint})
	if err != nil {
		return "", err
	}
	cm, err := c.Client.CreateComment(ctx, c.Issue, jira.Comment{Body: withMarker(c.Body, fingerprint), Visibility: c.Visibility,
		Properties: []jira.EntityProperty{{Key: PropertyKey, Value: value}}})
	if err != nil {
		return "", fmt.Errorf("comment on %s: %w", c.Issue, err)
	}
	return cm.ID, nil
}

// Find reads the issue's comments for one carrying the fingerprint.
func (c JiraComment) Find(ctx context.Context, fingerprint string) (string, bool, error) {
	marker := Marker(fingerprint)
	for cm, err := range c.Client.CommentsIter(ctx, c.Issue) {
		if err != nil {
			return "", false, fmt.Errorf("read the comments of %s: %w", c.Issue, err)
		}
		if strings.Contains(cm.Body, marker) || hasFingerprintProperty(cm.Properties, fingerprint) {
			return cm.ID, true, nil
		}
	}
	return "", false, nil
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
