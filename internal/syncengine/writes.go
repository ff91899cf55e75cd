package syncengine

import (
	"context"

	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
)

// ownJiraComment reports whether asanajira wrote a Jira comment: it carries
// the effects fingerprint, as the entity property or its marker line.
func ownJiraComment(c *jira.Comment) bool {
	if effects.HasMarker(c.Body) {
		return true
	}
	for _, p := range c.Properties {
		if p.Key == effects.PropertyKey {
			return true
		}
	}
	return false
}

// crashing marks the crash points around a write (see crashAt): before it is
// sent, with its intent recorded, and after it was made, before the ledger
// records it.
type crashing struct {
	effects.Write
	side string // "jira" or "asana"
}

func (c crashing) Make(ctx context.Context, fp string) (string, error) {
	crashAt("before-" + c.side + "-write")
	res, err := c.Write.Make(ctx, fp)
	if err == nil {
		crashAt("after-" + c.side + "-write")
	}
	return res, err
}
