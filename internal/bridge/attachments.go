package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/effects"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// CopyAttachmentsArgs asks for a task's attachments to be copied to its
// linked issue. It is a job's arguments: its JSON and Kind are a persisted
// contract.
type CopyAttachmentsArgs struct {
	JiraServerID string `json:"jira_server_id"`
	TaskGID      string `json:"task_gid"`
	IssueKey     string `json:"issue_key"`
	// AsanaUser is whose Asana and Jira credentials do the copy: the user who
	// created or linked the issue.
	AsanaUser string `json:"asana_user"`
	// Later asks for the files attached since the link was made (two-way
	// sync saw one): a file the issue has already (same name and size) is
	// taken as copied, and no report is posted on the task, only a note
	// for each file that could not be copied.
	Later bool `json:"later,omitempty"`
	// RemoteLinked says the request that made the link added the issue's
	// remote link to the task: the copy does not ask Jira for it again.
	RemoteLinked bool `json:"remote_linked,omitempty"`
}

// Kind names the job; never change it.
func (CopyAttachmentsArgs) Kind() string { return "copy_attachments" }

// LinkCopyGrace is how long a link stays marked with its copy job still
// to enqueue (Created.LinkID) before a sweep may enqueue it: longer than
// any request creating or attaching an issue lives (the create's claim
// outlives them too), so the sweep enqueues only what a request that died
// left, never what one is about to.
const LinkCopyGrace = CreateClaimTTL

// CopyArgsFor is the copy job for a newly stored link.
func CopyArgsFor(l store.Link) CopyAttachmentsArgs {
	return CopyAttachmentsArgs{JiraServerID: l.JiraServerID, TaskGID: l.TaskGID, IssueKey: l.IssueKey, AsanaUser: l.CreatedBy}
}

// What happened to one attachment.
const (
	OutcomeCopied  = "copied"
	OutcomeLinked  = "linked"
	OutcomeSkipped = "skipped"
)

// AttachmentOutcome is what the copy did with one attachment, and why.
type AttachmentOutcome struct {
	GID    string `json:"gid"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	// JiraID is the Jira attachment a copy made ("" for others).
	JiraID string `json:"jira_id,omitempty"`
}

// CopyReport lists every attachment's outcome, including those handled by
// an earlier attempt of the same job.
type CopyReport struct {
	IssueKey string
	Items    []AttachmentOutcome
	// Comment is the story posted on the task ("" when none was posted).
	Comment string
}

// copyScope remembers copied files (idempotency keys); commentScope names
// the report comment in the ledger of external writes.
const (
	copyScope    = "copy_attachment"
	commentScope = "copy_attachments_comment"
	copyMemory   = 365 * 24 * time.Hour
)

// linkHosts are the attachment hosts that are links to a cloud drive (or
// any URL) rather than files stored in Asana.
var linkHosts = map[string]string{"dropbox": "Dropbox", "gdrive": "Google Drive", "box": "Box", "onedrive": "OneDrive", "vimeo": "Vimeo", "external": "link"}

// CopyAttachments copies a task's Asana-hosted files to its issue, streaming
// each from a fresh download_url straight into Jira, links cloud-drive
// files with remote links, skips files over Jira's upload limit, and posts
// one comment on the task saying what was copied, linked and skipped. Each
// attachment is handled once even when the job runs again. A returned
// error is worth retrying unless it matches ErrNotConnected,
// ErrReconnectNeeded or ErrNoAccess; the last is told on the task once, as
// the user who linked the task may not add to the issue in Jira.
func (s *Service) CopyAttachments(ctx context.Context, args CopyAttachmentsArgs) (*CopyReport, error) {
	rep, err := s.copyAttachments(ctx, args)
	if errors.Is(err, ErrNoAccess) {
		if terr := s.tellCopyRefused(ctx, args, err); terr != nil {
			return nil, terr
		}
	}
	return rep, err
}

// tellCopyRefused posts, once per task and issue, why the task's files did
// not reach the issue.
func (s *Service) tellCopyRefused(ctx context.Context, args CopyAttachmentsArgs, cause error) error {
	ac, err := s.asanaFor(ctx, args.AsanaUser)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("asanajira could not copy this task's files to Jira issue %s. %s Ask a Jira administrator for access, then attach the files in Jira.",
		args.IssueKey, UserMessage(cause))
	e := effects.Effect{Scope: commentScope + "_refused", Key: args.JiraServerID + ":" + args.IssueKey + ":" + args.TaskGID, Target: "asana:task:" + args.TaskGID,
		Author: args.AsanaUser}
	if _, err := s.effects.Apply(ctx, e, effects.AsanaStory{Client: ac, Task: args.TaskGID, Text: text}); err != nil {
		return asanaError(err, "comment on the task")
	}
	return nil
}

func (s *Service) copyAttachments(ctx context.Context, args CopyAttachmentsArgs) (*CopyReport, error) {
	jc, srv, err := s.jiraFor(ctx, args.AsanaUser, args.JiraServerID)
	if err != nil {
		return nil, err
	}
	ac, err := s.asanaFor(ctx, args.AsanaUser)
	if err != nil {
		return nil, err
	}
	l, err := s.st.GetLinkByTask(ctx, srv.ID, args.TaskGID)
	if errors.Is(err, store.ErrNotFound) {
		return &CopyReport{IssueKey: args.IssueKey}, nil // unlinked since: nothing to do
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: copy attachments: %w", err)
	}
	if !args.RemoteLinked {
		if err := s.repairRemoteLink(ctx, ac, jc, srv, args, l.IssueKey); err != nil {
			return nil, err
		}
	}
	// Jira's attachment settings matter only to a file stored in Asana:
	// read when the first one is met (most tasks have none).
	var settings *jira.AttachmentSettings
	rep := &CopyReport{IssueKey: l.IssueKey}
	// The files two-way sync copied from the issue to the task (and every
	// file mapped to one on the issue) are never copied back.
	maps, err := s.st.ListSyncAttachments(ctx, l.ID)
	if err != nil {
		return nil, fmt.Errorf("bridge: copy attachments: %w", err)
	}
	mapped := map[string]bool{}
	for _, m := range maps {
		mapped[m.AsanaAttachmentGID] = true
	}
	var existing []jira.Attachment
	loadedExisting := false
	loadExisting := func() error {
		is, err := jc.GetIssue(ctx, l.IssueKey, &jira.GetIssueOptions{Fields: []string{"attachment"}})
		if err != nil {
			return s.jiraError(ctx, args.AsanaUser, srv, err, "read "+l.IssueKey)
		}
		existing, loadedExisting = is.Fields.Attachment, true
		return nil
	}
	if args.Later {
		// A file the issue has already is a copy two-way sync made from it
		// and has not mapped yet, or one a person attached on both sides.
		if err := loadExisting(); err != nil {
			return nil, err
		}
	}
	for a, err := range ac.Attachments(ctx, args.TaskGID) {
		if err != nil {
			return nil, asanaError(err, "list the task's attachments")
		}
		key := srv.ID + ":" + l.IssueID + ":" + a.GID
		done, inProgress, err := s.remembered(ctx, key)
		if err != nil {
			return nil, err
		}
		if done != nil {
			rep.Items = append(rep.Items, *done)
			continue
		}
		if s.isOwnIssueLink(ctx, &a, srv) || mapped[a.GID] {
			continue // the URL attachment of the issue itself, or a copy of a Jira file
		}
		if (inProgress || args.Later) && a.Hosted() {
			// An earlier attempt died during this upload, or the file came
			// later: Jira may have it already.
			if !loadedExisting {
				if err := loadExisting(); err != nil {
					return nil, err
				}
			}
			if hasFile(existing, a.Name, a.Size) {
				out := AttachmentOutcome{GID: a.GID, Name: a.Name, Action: OutcomeCopied}
				if err := s.remember(ctx, key, out); err != nil {
					return nil, err
				}
				rep.Items = append(rep.Items, out)
				continue
			}
		}
		if settings == nil && a.Hosted() {
			if settings, err = jc.AttachmentMeta(ctx); err != nil {
				return nil, s.jiraError(ctx, args.AsanaUser, srv, err, "read Jira's attachment settings")
			}
		}
		out, err := s.copyOne(ctx, ac, jc, srv, settings, l.IssueKey, &a)
		if err != nil {
			return nil, s.jiraError(ctx, args.AsanaUser, srv, err, "copy "+a.Name+" to "+l.IssueKey)
		}
		if args.Later && out.Action == OutcomeSkipped {
			// Told before it is remembered: a retry after a crash tells it
			// once, through the ledger.
			if err := s.tellSkipped(ctx, ac, srv.ID, l, args, out); err != nil {
				return nil, err
			}
		}
		if out.JiraID != "" {
			// Mapped before it is remembered: two-way sync must know the
			// copy on the issue as this file, not as a new one.
			err := s.st.InsertSyncAttachment(ctx, &store.SyncAttachment{LinkID: l.ID, JiraAttachmentID: out.JiraID,
				AsanaAttachmentGID: a.GID, Origin: store.AttachmentFromAsana})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, fmt.Errorf("bridge: map the copy of %s: %w", a.Name, err)
			}
		}
		if err := s.remember(ctx, key, out); err != nil {
			return nil, err
		}
		rep.Items = append(rep.Items, out)
	}
	if len(rep.Items) == 0 || args.Later {
		return rep, nil // a later file is seen on the issue; a skipped one was told
	}
	rep.Comment = copyComment(rep)
	// One report per task and issue, posted exactly once: recorded as an
	// intent first, so an Asana failure or a crash here loses nothing.
	e := effects.Effect{Scope: commentScope, Key: srv.ID + ":" + l.IssueID + ":" + args.TaskGID, Target: "asana:task:" + args.TaskGID,
		Author: args.AsanaUser}
	out, err := s.effects.Apply(ctx, e, effects.AsanaStory{Client: ac, Task: args.TaskGID, Text: rep.Comment})
	if err != nil {
		return nil, asanaError(err, "comment on the task")
	}
	if out.How == effects.Recorded {
		rep.Comment = "" // posted by an earlier attempt
	}
	return rep, nil
}

// tellSkipped posts, once, why a file attached to the task after the link
// was not copied to the issue.
func (s *Service) tellSkipped(ctx context.Context, ac *asana.Client, serverID string, l store.Link, args CopyAttachmentsArgs, out AttachmentOutcome) error {
	text := fmt.Sprintf("asanajira did not copy %s to Jira issue %s: %s.", out.Name, l.IssueKey, out.Reason)
	e := effects.Effect{Scope: commentScope + "_later", Key: serverID + ":" + l.IssueID + ":" + args.TaskGID + ":" + out.GID,
		Target: "asana:task:" + args.TaskGID, Author: args.AsanaUser}
	if _, err := s.effects.Apply(ctx, e, effects.AsanaStory{Client: ac, Task: args.TaskGID, Text: text}); err != nil {
		return asanaError(err, "comment on the task")
	}
	return nil
}

// remembered returns the stored outcome of an attachment, or inProgress
// when an attempt claimed it without finishing.
func (s *Service) remembered(ctx context.Context, key string) (*AttachmentOutcome, bool, error) {
	k, err := s.st.GetIdempotencyKey(ctx, copyScope, key)
	if errors.Is(err, store.ErrNotFound) {
		err = s.st.ClaimIdempotencyKey(ctx, store.IdempotencyKey{Scope: copyScope, Key: key, ExpiresAt: s.now().Add(copyMemory)})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, false, fmt.Errorf("bridge: remember attachment: %w", err)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("bridge: remembered attachment: %w", err)
	}
	if len(k.Result) == 0 {
		return nil, true, nil
	}
	var out AttachmentOutcome
	if err := json.Unmarshal(k.Result, &out); err != nil {
		return nil, true, nil
	}
	return &out, false, nil
}

func (s *Service) remember(ctx context.Context, key string, out AttachmentOutcome) error {
	b, _ := json.Marshal(out)
	if err := s.st.CompleteIdempotencyKey(ctx, copyScope, key, b); err != nil {
		return fmt.Errorf("bridge: remember attachment: %w", err)
	}
	return nil
}

func hasFile(existing []jira.Attachment, name string, size int64) bool {
	for _, e := range existing {
		if e.Filename == name && (size <= 0 || e.Size == size) {
			return true
		}
	}
	return false
}

// isOwnIssueLink reports the external attachment Asana made for the issue
// link itself (its URL is an issue of a connected server).
func (s *Service) isOwnIssueLink(_ context.Context, a *asana.Attachment, srv store.JiraServer) bool {
	if a.ResourceSubtype != "external" || a.ViewURL == nil {
		return false
	}
	_, ok := s.keyFromInput(srv, *a.ViewURL)
	return ok && strings.Contains(*a.ViewURL, "/browse/")
}

// repairRemoteLink adds the remote link to the task when the create
// request could not add it in time. It asks Jira first, so the usual case
// costs no call on the user's Asana quota, which the requests need more.
func (s *Service) repairRemoteLink(ctx context.Context, ac *asana.Client, jc *jira.Client, srv store.JiraServer, args CopyAttachmentsArgs, issueKey string) error {
	links, err := jc.RemoteLinks(ctx, issueKey, GlobalID(args.TaskGID))
	if err == nil && len(links) > 0 {
		return nil
	}
	task, err := ac.GetTask(ctx, args.TaskGID, []string{"name", "completed", "permalink_url"})
	if err != nil {
		return asanaError(err, "read the task")
	}
	if err := s.upsertRemoteLink(ctx, jc, issueKey, task); err != nil {
		return s.jiraError(ctx, args.AsanaUser, srv, err, "link "+issueKey+" to the task")
	}
	return nil
}

// copyOne handles one attachment (settings: Jira's, read for a file stored
// in Asana; nil for a link). Outcomes that retrying cannot change
// (too large, not permitted) are returned as skipped; other failures are
// errors, so the job retries them.
func (s *Service) copyOne(ctx context.Context, ac *asana.Client, jc *jira.Client, srv store.JiraServer, settings *jira.AttachmentSettings, issueKey string, a *asana.Attachment) (AttachmentOutcome, error) {
	out := AttachmentOutcome{GID: a.GID, Name: a.Name}
	if !a.Hosted() {
		return s.linkOne(ctx, jc, issueKey, a, out)
	}
	if !settings.Enabled {
		out.Action, out.Reason = OutcomeSkipped, "attachments are disabled on the Jira server"
		return out, nil
	}
	if settings.UploadLimit > 0 && a.Size > settings.UploadLimit {
		out.Action, out.Reason = OutcomeSkipped, fmt.Sprintf("%s is over Jira's limit of %s", humanSize(a.Size), humanSize(settings.UploadLimit))
		return out, nil
	}
	fresh, err := ac.GetAttachment(ctx, a.GID)
	if err != nil {
		if errors.Is(err, asana.ErrForbidden) || errors.Is(err, asana.ErrNotFound) {
			out.Action, out.Reason = OutcomeSkipped, "no permission to read it in Asana"
			return out, nil
		}
		return out, fmt.Errorf("bridge: read attachment %s: %w", a.GID, err)
	}
	if fresh.DownloadURL == nil || *fresh.DownloadURL == "" {
		out.Action, out.Reason = OutcomeSkipped, "Asana offers no download for it"
		return out, nil
	}
	u, err := url.Parse(*fresh.DownloadURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !s.allowedHost(u.Host) {
		s.log.WarnContext(ctx, "refused to download an attachment from a host outside the allowlist", slog.String("attachment", a.GID), slog.String("host", hostOf(u)))
		out.Action, out.Reason = OutcomeSkipped, "its download host is not allowed"
		return out, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return out, fmt.Errorf("bridge: download %s: %w", a.GID, err)
	}
	resp, err := s.download.Do(req)
	if err != nil {
		return out, fmt.Errorf("bridge: download %s from %s: %w", a.GID, u.Host, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		// An expired link answers 403 too; the retry fetches a fresh one.
		return out, fmt.Errorf("bridge: download %s: HTTP %d", a.GID, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return out, fmt.Errorf("bridge: download %s: HTTP %d", a.GID, resp.StatusCode)
	}
	size := fresh.Size
	if size <= 0 {
		size = resp.ContentLength // -1 when unknown
	}
	if settings.UploadLimit > 0 && size > settings.UploadLimit {
		out.Action, out.Reason = OutcomeSkipped, fmt.Sprintf("%s is over Jira's limit of %s", humanSize(size), humanSize(settings.UploadLimit))
		return out, nil
	}
	ct := resp.Header.Get("Content-Type")
	up, err := jc.UploadAttachment(ctx, issueKey, a.Name, size, resp.Body, &jira.UploadOptions{ContentType: ct, Settings: settings})
	var tooLarge *jira.AttachmentTooLargeError
	switch {
	case errors.As(err, &tooLarge):
		out.Action, out.Reason = OutcomeSkipped, "too large for Jira"
		if tooLarge.Layer == jira.LayerProxy {
			out.Reason = "too large for the proxy in front of Jira"
		}
		return out, nil
	case errors.Is(err, jira.ErrForbidden), errors.Is(err, jira.ErrAttachmentsDisabled):
		out.Action, out.Reason = OutcomeSkipped, "no permission to attach files to the issue in Jira"
		return out, nil
	case err != nil:
		return out, err
	}
	out.Action = OutcomeCopied
	if len(up) > 0 {
		out.JiraID = up[0].ID
	}
	return out, nil
}

// linkOne adds a Jira remote link for a cloud-drive file (upsert by
// globalId, so safe to repeat).
func (s *Service) linkOne(ctx context.Context, jc *jira.Client, issueKey string, a *asana.Attachment, out AttachmentOutcome) (AttachmentOutcome, error) {
	target := ""
	if a.ViewURL != nil {
		target = *a.ViewURL
	}
	if target == "" {
		target = a.PermanentURL
	}
	if target == "" {
		out.Action, out.Reason = OutcomeSkipped, "Asana gives no link for it"
		return out, nil
	}
	host := linkHosts[a.ResourceSubtype]
	if host == "" {
		host = a.ResourceSubtype
	}
	_, err := jc.UpsertRemoteLink(ctx, issueKey, jira.RemoteLink{
		GlobalID:     "asana:attachment:" + a.GID,
		Application:  &jira.RemoteLinkApp{Type: "com.asana", Name: "Asana"},
		Relationship: "attached in Asana",
		Object:       jira.RemoteLinkObject{URL: target, Title: trunc(a.Name, 255), Summary: "File on " + host + ", attached to the Asana task"},
	})
	if err != nil {
		if errors.Is(err, jira.ErrForbidden) {
			out.Action, out.Reason = OutcomeSkipped, "no permission to link it in Jira"
			return out, nil
		}
		return out, err
	}
	out.Action = OutcomeLinked
	return out, nil
}

func copyComment(rep *CopyReport) string {
	var copied, linked, skipped []string
	for _, it := range rep.Items {
		switch it.Action {
		case OutcomeCopied:
			copied = append(copied, it.Name)
		case OutcomeLinked:
			linked = append(linked, it.Name)
		default:
			skipped = append(skipped, it.Name+" ("+it.Reason+")")
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "asanajira brought this task's files to Jira issue %s.", rep.IssueKey)
	// One sentence a line, each ended, so they read apart wherever the
	// line breaks are lost.
	if len(copied) > 0 {
		b.WriteString("\nCopied: " + strings.Join(copied, ", ") + ".")
	}
	if len(linked) > 0 {
		b.WriteString("\nLinked: " + strings.Join(linked, ", ") + ".")
	}
	if len(skipped) > 0 {
		b.WriteString("\nSkipped: " + strings.Join(skipped, "; ") + ".")
	}
	return b.String()
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host
}
