package effects

import (
	"context"
	"fmt"
	"strings"

	"github.com/asanajira/asanajira/internal/asana"
)

// Asana keeps no external data on stories, and rich text keeps only a few
// tags and no hidden elements (a marker hidden in html_text does not
// survive), so an Asana story carries its fingerprint as text a person can
// read: its last line is Marker(fingerprint). The line survives in text and
// html_text alike, and in edits that leave it alone.

// AsanaStory is a comment on an Asana task, posted with the client's user
// as its author.
type AsanaStory struct {
	Client *asana.Client
	Task   string
	// Text is the comment; the marker line is added after it.
	Text string
}

// Make posts the story with the marker as its last line; its result is the
// story's gid.
func (s AsanaStory) Make(ctx context.Context, fingerprint string) (string, error) {
	st, err := s.Client.AddComment(ctx, s.Task, withMarker(s.Text, fingerprint), "")
	if err != nil {
		return "", fmt.Errorf("post a story on task %s: %w", s.Task, err)
	}
	return st.GID, nil
}

// Find reads the task's stories for a comment carrying the marker.
func (s AsanaStory) Find(ctx context.Context, fingerprint string) (string, bool, error) {
	marker := Marker(fingerprint)
	for st, err := range s.Client.Stories(ctx, s.Task) {
		if err != nil {
			return "", false, fmt.Errorf("read the stories of task %s: %w", s.Task, err)
		}
		if st.ResourceSubtype == "comment_added" && strings.Contains(st.Text, marker) {
			return st.GID, true, nil
		}
	}
	return "", false, nil
}
