package effects

import (
	"context"
	"fmt"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
)

// Asana keeps no external data on stories, and rich text keeps only a few
// tags and no hidden elements, so a story carries no fingerprint: Find
// knows an earlier attempt's story by what it must look like.

// AsanaStory is a comment on an Asana task, posted with the client's user
// as its author.
type AsanaStory struct {
	Client *asana.Client
	Task   string
	// Text is the comment, posted as it is.
	Text string
}

// Digest is what the story says.
func (s AsanaStory) Digest() string { return Digest(s.Text) }

// Make posts the story; its result is the story's gid.
func (s AsanaStory) Make(ctx context.Context, _ string) (string, error) {
	st, err := s.Client.AddComment(ctx, s.Task, s.Text, "")
	if err != nil {
		return "", fmt.Errorf("post a story on task %s: %w", s.Task, err)
	}
	return st.GID, nil
}

// Find reads the task's stories, oldest first, for the first that can only
// be this write: a comment by the client's user, created no earlier than
// the intent (less ClockSkew), saying what the intent said or what the
// story says now, and not the recorded result of another write to the task
// (two notes saying the same are two writes). A story carrying the
// fingerprint's marker line (written before fingerprints became
// invisible) is found by it.
func (s AsanaStory) Find(ctx context.Context, lk Lookup) (string, bool, error) {
	me, err := s.Client.Me(ctx)
	if err != nil {
		return "", false, fmt.Errorf("read the acting Asana user: %w", err)
	}
	says := map[string]bool{}
	for _, d := range []string{lk.Digest, s.Digest()} {
		if d != "" && d != Digest("") {
			says[d] = true
		}
	}
	since := lk.IntendedAt.Add(-ClockSkew)
	for st, err := range s.Client.Stories(ctx, s.Task) {
		if err != nil {
			return "", false, fmt.Errorf("read the stories of task %s: %w", s.Task, err)
		}
		if st.ResourceSubtype != "comment_added" {
			continue
		}
		if hasMarkerOf(st.Text, lk.Fingerprint) {
			return st.GID, true, nil
		}
		if st.CreatedBy == nil || st.CreatedBy.GID != me.GID || !says[Digest(st.Text)] {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, st.CreatedAt); err != nil || at.Before(since) {
			continue
		}
		taken, err := lk.taken(ctx, st.GID)
		if err != nil {
			return "", false, fmt.Errorf("look up story %s in the ledger: %w", st.GID, err)
		}
		if !taken {
			return st.GID, true, nil
		}
	}
	return "", false, nil
}
