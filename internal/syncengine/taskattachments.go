package syncengine

import (
	"context"
	"fmt"

	"github.com/asanajira/asanajira/internal/bridge"
)

// The task's files → Jira (FieldAttachments, the Asana → Jira way). The
// files on the task when the link is made are copied by the link's copy
// job (bridge.CopyAttachments). A file attached later shows in the task's
// stories as attachment_added, which the Asana intake records as a change
// of KindAttachment; a run with such a change (or a full comparison,
// KindResync, that finds such a story since the cutoff) asks for the copy
// job again. The job copies each file once however often it runs, never a
// file two-way sync copied from the issue (the attachment map), and never
// one the issue has already (same name and size: a copy from the issue
// not mapped yet).

// TaskAttachmentEnqueuer is implemented by an Enqueuer that can run the
// link's copy job (internal/jobs).
type TaskAttachmentEnqueuer interface {
	EnqueueTaskAttachments(ctx context.Context, args bridge.CopyAttachmentsArgs) error
}

// storyAttachmentAdded is the subtype of the story Asana adds to a task
// when a file is attached to it.
const storyAttachmentAdded = "attachment_added"

// askTaskAttachments asks for the copy of files attached to the task since
// the link (called by a sync run with the direction on).
func (r *run) askTaskAttachments(ctx context.Context) error {
	te, ok := r.e.enq.(TaskAttachmentEnqueuer)
	if !ok || !r.newTaskFiles() {
		return nil
	}
	args := bridge.CopyArgsFor(r.link)
	args.Later = true
	if err := te.EnqueueTaskAttachments(ctx, args); err != nil {
		return fmt.Errorf("syncengine: ask for the copy of the task's files to %s: %w", r.link.IssueKey, err)
	}
	r.wrote[AsanaToJira+"/"+KindAttachment] = true
	return nil
}

// newTaskFiles reports whether the run was told of a file attached to the
// task, or compares everything and finds one attached since the cutoff.
func (r *run) newTaskFiles() bool {
	resync := false
	for _, c := range r.pending {
		switch {
		case c.Side == SideAsana && c.Kind == KindAttachment:
			return true
		case c.Kind == KindResync:
			resync = true
		}
	}
	if !resync {
		return false
	}
	for _, s := range r.stories {
		if s.ResourceSubtype == storyAttachmentAdded && !parseAsanaTime(s.CreatedAt).Before(r.cutoff) {
			return true
		}
	}
	return false
}
