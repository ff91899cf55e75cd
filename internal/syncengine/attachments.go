package syncengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Jira attachments → Asana (FieldAttachments). A sync run that finds on the
// issue a file attached since the link (or since sync was enabled) that the
// attachment map (sync_attachments) does not know asks its Enqueuer for a
// copy job (AttachmentEnqueuer); the job runs CopyJiraAttachments, outside
// the link's lease, as a large file may take minutes.
//
// Each file is one write in the effects ledger (scope sync-attachment, key
// link:attachment id), leased for as long as its size may take: its content
// is streamed from Jira (its content URL, with the Jira credential of the
// Asana user connected as the file's author, else the link owner's) into an
// Asana upload on the task as the same user, never held in memory. A file
// over Asana's upload limit (100 MB, or a smaller limit Asana answers with)
// becomes an external attachment: a link to the file in Jira. An attempt
// that died after uploading is found by what its upload must look like: an
// attachment on the task with the file's name (and size, for a file),
// created no earlier than the intent, not recorded for another write.
//
// No echo either way: every file copied is mapped (Jira attachment id ↔
// Asana attachment gid), and the task's files copied to the issue by the
// link's copy job are mapped too (bridge), so neither comes back. A Jira
// file the task already has (same name and size; the copy of a task's file
// made before the map existed) is mapped as the same file, not copied.
//
// A file that cannot be copied for a reason people must know (the acting
// user may not add files to the task in Asana, or may not read the file in
// Jira) is told once as a note on the task and mapped as skipped. Jira or
// Asana unavailable, rate limiting, or an SSO login page instead of the
// file are retried by the job.

// AttachmentEnqueuer is implemented by an Enqueuer that can run the copy of
// a link's Jira attachments (internal/jobs). upTo is the newest attachment
// the run saw, so a file added while a copy runs gets a job of its own.
type AttachmentEnqueuer interface {
	EnqueueJiraAttachments(ctx context.Context, linkID int64, upTo string) error
}

const (
	scopeAttachment = "sync-attachment"
	// attachmentRate is the slowest transfer a copy's lease allows for: a
	// write's lease grows by a second per MiB of its file.
	attachmentRate = 1 << 20
	// maxAttachmentLease bounds it, as the copy job's own timeout does.
	maxAttachmentLease = 30 * time.Minute
)

// AttachmentResult tells what a copy did.
type AttachmentResult struct {
	// Copied and Linked count the files uploaded and linked; Busy those
	// another attempt is copying (the job runs again later).
	Copied, Linked, Busy int
}

// askAttachments asks for a copy when the issue has files the map does not
// know (called by a sync run with the direction on).
func (r *run) askAttachments(ctx context.Context) error {
	ae, ok := r.e.enq.(AttachmentEnqueuer)
	if !ok {
		return nil
	}
	maps, err := r.e.st.ListSyncAttachments(ctx, r.link.ID)
	if err != nil {
		return wrap("read the attachment map", err)
	}
	known := map[string]bool{}
	for _, m := range maps {
		known[m.JiraAttachmentID] = true
	}
	upTo := ""
	for _, a := range r.issue.Fields.Attachment {
		if !known[a.ID] && !a.Created.Before(r.cutoff) {
			upTo = a.ID
		}
	}
	if upTo == "" {
		return nil
	}
	if err := ae.EnqueueJiraAttachments(ctx, r.link.ID, upTo); err != nil {
		return fmt.Errorf("syncengine: ask for the copy of %s's attachments: %w", r.link.IssueKey, err)
	}
	return nil
}

// CopyJiraAttachments copies to the task the files attached to the linked
// issue that are not copied yet (see the top of this file). Errors worth
// retrying are returned; what people must act on is told on the task.
func (e *Engine) CopyJiraAttachments(ctx context.Context, linkID int64) (AttachmentResult, error) {
	var res AttachmentResult
	link, err := e.st.GetLink(ctx, linkID)
	if errors.Is(err, store.ErrNotFound) {
		return res, nil // unlinked since
	}
	if err != nil {
		return res, wrap("copy attachments", err)
	}
	set, err := e.st.GetSyncSettings(ctx, link.WorkspaceGID, link.JiraServerID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !set.Enabled {
		return res, nil
	}
	if err != nil {
		return res, wrap("copy attachments", err)
	}
	// A run without a lease owner: it never takes the link's lease, so the
	// link's sync runs go on while a large file travels.
	r := &run{e: e, link: link, set: set, started: e.now(), wrote: map[string]bool{}, errs: map[string]*SyncError{},
		deferred: map[string]bool{}, fieldEcho: map[string]bool{}}
	r.cutoff = link.CreatedAt
	if set.EnabledAt.After(r.cutoff) {
		r.cutoff = set.EnabledAt
	}
	r.cutoff = r.cutoff.Truncate(time.Second)
	owner := link.CreatedBy
	r.jc, r.srv, err = e.clients.Jira(ctx, owner, link.JiraServerID)
	if err != nil {
		return res, r.copyRefused(ctx, r.credentialError(ctx, err, owner, "Jira"))
	}
	if r.ac, err = e.clients.Asana(ctx, owner); err != nil {
		return res, r.copyRefused(ctx, r.credentialError(ctx, err, owner, "Asana"))
	}
	if r.task, err = r.ac.GetTask(ctx, link.TaskGID, []string{"name", "projects.name"}); err != nil {
		return res, r.copyRefused(ctx, r.asanaError(ctx, err, owner, "read the task"))
	}
	if err := r.loadMapping(ctx); err != nil {
		return res, err
	}
	if !r.fieldsOn || !r.mapping.Direction(FieldAttachments).ToAsana() {
		return res, nil
	}
	if r.issue, err = r.jc.GetIssue(ctx, link.IssueID, &jira.GetIssueOptions{Fields: []string{"attachment"}}); err != nil {
		return res, r.copyRefused(ctx, r.jiraError(ctx, err, owner, "read "+link.IssueKey))
	}
	c := &attachmentCopy{run: r, res: &res}
	if err := c.load(ctx); err != nil {
		return res, err
	}
	for _, a := range r.issue.Fields.Attachment {
		if c.known[a.ID] || a.Created.Before(r.cutoff) {
			continue
		}
		if err := c.copyOne(ctx, a); err != nil {
			return res, err
		}
	}
	return res, nil
}

// copyRefused ends a copy on an error people must act on: a note on the task when
// one can be posted, and the link's history; other errors are returned.
func (r *run) copyRefused(ctx context.Context, err error) error {
	var se *SyncError
	if !errors.As(err, &se) {
		return err
	}
	r.history(ctx, JiraToAsana, "attachment.error", "", se.Msg)
	r.e.log.WarnContext(ctx, "cannot copy a Jira issue's attachments to its task", slog.Int64("link", r.link.ID), slog.String("error", se.Msg))
	return nil
}

// attachmentCopy is one CopyJiraAttachments.
type attachmentCopy struct {
	*run
	res *AttachmentResult
	// known holds the mapped Jira attachments; taken the mapped Asana
	// ones; intended the files with a write in the ledger already.
	known, taken, intended map[string]bool
	// onTask lists the task's attachments (read once, when needed).
	onTask []asana.Attachment
	listed bool
}

func (c *attachmentCopy) load(ctx context.Context) error {
	maps, err := c.e.st.ListSyncAttachments(ctx, c.link.ID)
	if err != nil {
		return wrap("read the attachment map", err)
	}
	c.known, c.taken, c.intended = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, m := range maps {
		c.known[m.JiraAttachmentID] = true
		if m.AsanaAttachmentGID != "" {
			c.taken[m.AsanaAttachmentGID] = true
		}
	}
	es, err := c.e.st.ListSideEffectsByTarget(ctx, c.asanaTarget())
	if err != nil {
		return wrap("read the ledger of writes to the task", err)
	}
	for _, e := range es {
		if e.Scope == scopeAttachment {
			c.intended[e.Key] = true
		}
	}
	return nil
}

func (c *attachmentCopy) taskAttachments(ctx context.Context, ac *asana.Client) ([]asana.Attachment, error) {
	if c.listed {
		return c.onTask, nil
	}
	for a, err := range ac.Attachments(ctx, c.link.TaskGID) {
		if err != nil {
			return nil, err
		}
		c.onTask = append(c.onTask, a)
	}
	c.listed = true
	return c.onTask, nil
}

// copyOne copies one file (see the top of the file).
func (c *attachmentCopy) copyOne(ctx context.Context, a jira.Attachment) error {
	author := ""
	if a.Author != nil {
		author = a.Author.Name
	}
	ac, jc, writer := c.ac, c.jc, c.link.CreatedBy
	if g := c.asanaUserFor(ctx, author); g != "" && g != writer {
		// The author's own accounts, when connected on both sides.
		if uac, err := c.e.clients.Asana(ctx, g); err == nil {
			if ujc, _, err := c.e.clients.Jira(ctx, g, c.link.JiraServerID); err == nil {
				ac, jc, writer = uac, ujc, g
			}
		}
	}
	key := fmt.Sprintf("%d:%s", c.link.ID, a.ID)
	if !c.intended[key] {
		// Never written: the task may have this file already (a task's
		// file copied to the issue before the map kept it).
		onTask, err := c.taskAttachments(ctx, c.ac)
		if err != nil {
			return c.asanaError(ctx, err, c.link.CreatedBy, "list the task's attachments")
		}
		for _, t := range onTask {
			if !c.taken[t.GID] && t.Name == a.Filename && t.Hosted() && t.Size == a.Size {
				return c.mapAttachment(ctx, a.ID, t.GID, store.AttachmentSame)
			}
		}
	}
	w := &attachmentWrite{ac: ac, jc: jc, task: c.link.TaskGID, att: a, limit: c.e.uploadLimit,
		url: c.jc.URL("secure/attachment/" + url.PathEscape(a.ID) + "/" + url.PathEscape(a.Filename))}
	eff := effects.Effect{Scope: scopeAttachment, Key: key, Target: c.asanaTarget(), Author: writer}
	lease := min(c.e.writeLease+time.Duration(a.Size/attachmentRate)*time.Second, maxAttachmentLease)
	ledger := effects.NewLedger(c.e.st, effects.Options{Lease: lease, Log: c.e.log})
	out, err := ledger.Apply(ctx, eff, crashing{Write: w, side: "attachment"})
	switch {
	case errors.Is(err, effects.ErrBusy):
		c.res.Busy++
		return nil
	case err != nil:
		why := c.refused(ctx, err, writer, a.Filename)
		if why == "" {
			return fmt.Errorf("syncengine: copy %s of %s to the task: %w", a.Filename, c.link.IssueKey, err)
		}
		// Nothing was made (a refusal); no attempt will make it.
		if _, serr := ledger.Settle(ctx, eff, w); serr != nil && !errors.Is(serr, effects.ErrBusy) {
			return fmt.Errorf("syncengine: settle the copy of %s: %w", a.Filename, serr)
		}
		if err := c.fieldNote(ctx, FieldAttachments, JiraToAsana, why); err != nil {
			return err
		}
		return c.mapAttachment(ctx, a.ID, "", store.AttachmentSkipped)
	}
	what := "copied"
	if w.linked || out.How != effects.Made && w.isLink(out.Result) {
		what = "linked"
		c.res.Linked++
	} else {
		c.res.Copied++
	}
	if out.How != effects.Recorded {
		c.history(ctx, JiraToAsana, "attachment", c.userName(ctx, writer), fmt.Sprintf("%s %q (%s)", what, a.Filename, humanSize(a.Size)))
	}
	return c.mapAttachment(ctx, a.ID, out.Result, store.AttachmentFromJira)
}

// refused tells why a failed copy cannot succeed by retrying ("" when it
// may).
func (c *attachmentCopy) refused(ctx context.Context, err error, writer, name string) string {
	who := c.userName(ctx, writer)
	switch {
	case errors.Is(err, asana.ErrForbidden), errors.Is(err, asana.ErrNotFound):
		return fmt.Sprintf("%s's Asana account may not add the file %q to this task", who, name)
	case errors.Is(err, jira.ErrForbidden):
		return fmt.Sprintf("%s's Jira account may not read the file %q on %s", who, name, c.link.IssueKey)
	case errors.Is(err, jira.ErrNotFound):
		return fmt.Sprintf("the file %q is no longer on %s", name, c.link.IssueKey)
	}
	return ""
}

func (c *attachmentCopy) mapAttachment(ctx context.Context, jiraID, gid, origin string) error {
	err := c.e.st.InsertSyncAttachment(ctx, &store.SyncAttachment{LinkID: c.link.ID, JiraAttachmentID: jiraID, AsanaAttachmentGID: gid, Origin: origin})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return wrap("map the attachment", err)
	}
	c.known[jiraID] = true
	if gid != "" {
		c.taken[gid] = true
	}
	return nil
}

// attachmentWrite copies one Jira file to the task: streamed, or linked
// when over Asana's limit; its result is the Asana attachment's gid.
type attachmentWrite struct {
	ac    *asana.Client
	jc    *jira.Client
	task  string
	att   jira.Attachment
	url   string // the file in Jira, for a link
	limit int64
	// linked: this attempt made a link; links holds the gids of the links
	// Find saw, so a found write is told as what it is.
	linked bool
	links  []string
}

// Digest is empty: an attachment says no text a story could be taken for.
func (w *attachmentWrite) Digest() string { return "" }

func (w *attachmentWrite) isLink(gid string) bool { return slices.Contains(w.links, gid) }

func (w *attachmentWrite) Make(ctx context.Context, _ string) (string, error) {
	if w.att.Size > w.limit {
		return w.link(ctx)
	}
	body, err := w.jc.OpenAttachment(ctx, w.att)
	if err != nil {
		return "", fmt.Errorf("download it from Jira: %w", err)
	}
	defer body.Close()
	up, err := w.ac.UploadAttachment(ctx, asana.FileUpload{Parent: w.task, Name: w.att.Filename, ContentType: w.att.MimeType, Size: w.att.Size, Body: body})
	if tooLarge(err) {
		// Asana's limit is lower than the one we know: link it.
		return w.link(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("upload it to Asana: %w", err)
	}
	return up.GID, nil
}

func (w *attachmentWrite) link(ctx context.Context) (string, error) {
	a, err := w.ac.CreateExternalAttachment(ctx, asana.ExternalAttachment{Parent: w.task, URL: w.url, Name: w.att.Filename})
	if err != nil {
		return "", fmt.Errorf("link it from Asana: %w", err)
	}
	w.linked = true
	return a.GID, nil
}

// tooLarge reports Asana refusing an upload for its size.
func tooLarge(err error) bool {
	var ae *asana.Error
	if !errors.As(err, &ae) || ae.StatusCode != 400 && ae.StatusCode != 413 {
		return false
	}
	msg := strings.ToLower(strings.Join(ae.Messages, " "))
	return ae.StatusCode == 413 || strings.Contains(msg, "larger") || strings.Contains(msg, "too large") || strings.Contains(msg, "size")
}

// Find looks on the task for what an earlier attempt made: the file (same
// name and size) or the link (same name), created no earlier than the
// intent, not the recorded result of another write.
func (w *attachmentWrite) Find(ctx context.Context, lk effects.Lookup) (string, bool, error) {
	since := lk.IntendedAt.Add(-effects.ClockSkew)
	for a, err := range w.ac.Attachments(ctx, w.task) {
		if err != nil {
			return "", false, err
		}
		if a.Name != w.att.Filename {
			continue
		}
		file := a.Hosted() && a.Size == w.att.Size
		link := a.ResourceSubtype == "external" || a.Host == "external"
		if !file && !link {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, a.CreatedAt); err != nil || at.Before(since) {
			continue
		}
		taken, err := lk.Taken(ctx, a.GID)
		if err != nil {
			return "", false, err
		}
		if !taken {
			if link {
				w.links = append(w.links, a.GID)
			}
			return a.GID, true, nil
		}
	}
	return "", false, nil
}

// previewAttachments tells what the copy would do for the link.
func (r *run) previewAttachments(ctx context.Context, d Direction) (FieldChange, error) {
	c := FieldChange{Field: FieldAttachments, Label: fieldLabel(FieldAttachments), Direction: d, Why: "off"}
	if d == Off {
		return c, nil
	}
	maps, err := r.e.st.ListSyncAttachments(ctx, r.link.ID)
	if err != nil {
		return c, wrap("read the attachment map", err)
	}
	known := map[string]bool{}
	for _, m := range maps {
		known[m.JiraAttachmentID] = true
	}
	var names []string
	for _, a := range r.issue.Fields.Attachment {
		c.Jira = joinName(c.Jira, a.Filename)
		if !known[a.ID] && !a.Created.Before(r.link.CreatedAt.Truncate(time.Second)) {
			names = append(names, a.Filename)
		}
	}
	c.Why = "in step"
	if len(names) > 0 {
		c.To, c.Value, c.Why = SideAsana, strings.Join(names, ", "), "changed in Jira"
	}
	return c, nil
}

func joinName(list, name string) string {
	if list == "" {
		return name
	}
	return list + ", " + name
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
