package jira

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// Attachment is a file attached to an issue.
type Attachment struct {
	Self      string `json:"self,omitempty"`
	ID        string `json:"id,omitempty"`
	Filename  string `json:"filename"`
	Author    *User  `json:"author,omitempty"`
	Created   Time   `json:"created"`
	Size      int64  `json:"size"`
	MimeType  string `json:"mimeType,omitempty"`
	Content   string `json:"content,omitempty"`
	Thumbnail string `json:"thumbnail,omitempty"`
}

// stream, given to Do, receives a 2xx answer unread: Do retries what it
// may (a rate limit, a 5xx of a GET) before any of the body is read.
type stream struct{ resp *http.Response }

// ErrNotTheFile matches an *AttachmentContentError.
var ErrNotTheFile = errors.New("jira: the download is not the attachment's content")

// AttachmentContentError says that Jira answered a download with something
// else than the file: an HTML login page (an SSO or proxy login that
// intercepted the request), or a length that is not the file's. Retrying
// later may succeed; it is not a refused credential.
type AttachmentContentError struct {
	ID, Filename string
	Why          string
}

func (e *AttachmentContentError) Error() string {
	return fmt.Sprintf("jira: download of attachment %s (%q): %s", e.ID, e.Filename, e.Why)
}

// Is matches ErrNotTheFile.
func (e *AttachmentContentError) Is(target error) bool { return target == ErrNotTheFile }

// OpenAttachment opens an attachment's content as a stream, with the
// client's credentials; the caller closes it. The request goes to the
// attachment's content path on the client's own base URL (never to a host
// the attachment names), and is retried like every GET before any byte is
// read. An HTML page where the file is not HTML, or a Content-Length that
// is not the file's size, is an *AttachmentContentError: an SSO login page
// must never be copied as the file.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/attachment-getAttachment (content)
func (c *Client) OpenAttachment(ctx context.Context, a Attachment) (io.ReadCloser, error) {
	if a.ID == "" || strings.ContainsAny(a.ID, "/?#") {
		return nil, fmt.Errorf("jira: attachment id %q is not one", a.ID)
	}
	req, err := c.NewRequest(ctx, http.MethodGet, "secure/attachment/"+url.PathEscape(a.ID)+"/"+url.PathEscape(a.Filename), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "*/*")
	var st stream
	if _, err := c.Do(req, &st); err != nil {
		return nil, err
	}
	resp := st.resp
	fail := func(why string) (io.ReadCloser, error) {
		_ = resp.Body.Close()
		return nil, &AttachmentContentError{ID: a.ID, Filename: a.Filename, Why: why}
	}
	if isHTML(resp.Header) && !strings.Contains(strings.ToLower(a.MimeType), "html") {
		return fail("Jira answered with an HTML page (an SSO or proxy login page?) instead of the file")
	}
	if a.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != a.Size {
		return fail(fmt.Sprintf("Jira sent %d bytes where the file has %d", resp.ContentLength, a.Size))
	}
	return resp.Body, nil
}

// AttachmentSettings is GET rest/api/2/attachment/meta.
type AttachmentSettings struct {
	Enabled bool `json:"enabled"`
	// UploadLimit is the largest file Jira accepts, in bytes (default 10 MiB).
	UploadLimit int64 `json:"uploadLimit"`
}

// AttachmentMeta returns whether attachments are enabled and their size
// limit.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/attachment-getAttachmentMeta
func (c *Client) AttachmentMeta(ctx context.Context) (*AttachmentSettings, error) {
	var s AttachmentSettings
	if err := c.get(ctx, "rest/api/2/attachment/meta", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ErrAttachmentsDisabled is returned when the Jira admin turned attachments off.
var ErrAttachmentsDisabled = errors.New("jira: attachments are disabled on this Jira server; ask the Jira admin to enable them (Administration → System → Attachments)")

// Layers that can refuse a large attachment.
const (
	LayerJira  = "jira"  // Jira's own attachment limit
	LayerProxy = "proxy" // a reverse proxy's body limit, before Jira
)

// AttachmentTooLargeError reports a file refused for its size, and by whom.
type AttachmentTooLargeError struct {
	Filename string
	// Size is the file size in bytes, -1 if unknown.
	Size int64
	// Limit is Jira's upload limit in bytes, 0 if unknown.
	Limit int64
	// Layer is LayerJira or LayerProxy.
	Layer string
	// Err is Jira's (or the proxy's) answer; nil when the pre-flight check
	// against attachment/meta refused the file before sending it.
	Err *Error
}

// Error implements error.
func (e *AttachmentTooLargeError) Error() string {
	if e.Layer == LayerProxy {
		return fmt.Sprintf("jira: a proxy in front of Jira refused attachment %q (%s) with HTTP 413 before Jira saw it; ask the admin to raise the proxy's request body limit (for nginx, client_max_body_size)",
			e.Filename, humanBytes(e.Size))
	}
	limit := "its attachment limit"
	if e.Limit > 0 {
		limit = "its attachment limit of " + humanBytes(e.Limit)
	}
	return fmt.Sprintf("jira: attachment %q (%s) exceeds %s; ask the Jira admin to raise it (Administration → System → Attachments) or attach a smaller file",
		e.Filename, humanBytes(e.Size), limit)
}

// Is matches ErrAttachmentTooLarge.
func (e *AttachmentTooLargeError) Is(target error) bool { return target == ErrAttachmentTooLarge }

// Unwrap returns Jira's answer, if there was one.
func (e *AttachmentTooLargeError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

func humanBytes(n int64) string {
	switch {
	case n < 0:
		return "unknown size"
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// UploadOptions tune UploadAttachment.
type UploadOptions struct {
	// ContentType of the file; "" means application/octet-stream.
	ContentType string
	// Settings, when set, are used instead of fetching attachment/meta.
	Settings *AttachmentSettings
}

// UploadAttachment streams one file to an issue as multipart/form-data.
// The file is never held in memory: a goroutine writes the multipart body
// into an io.Pipe while the request reads from it. size is the exact byte
// count of r (or -1 if unknown); a known size is checked against
// attachment/meta first and sent as Content-Length, so a proxy can refuse
// early. A file over the limit yields an *AttachmentTooLargeError (also for
// Jira's plain-text 404 and a proxy's 413). Uploads are never retried: the
// body cannot be replayed.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue/{issueIdOrKey}/attachments-addAttachment
func (c *Client) UploadAttachment(ctx context.Context, issue, filename string, size int64, r io.Reader, opts *UploadOptions) ([]Attachment, error) {
	if opts == nil {
		opts = &UploadOptions{}
	}
	settings := opts.Settings
	if settings == nil {
		s, err := c.AttachmentMeta(ctx)
		if err != nil {
			return nil, err
		}
		settings = s
	}
	if !settings.Enabled {
		return nil, ErrAttachmentsDisabled
	}
	if size >= 0 && settings.UploadLimit > 0 && size > settings.UploadLimit {
		return nil, &AttachmentTooLargeError{Filename: filename, Size: size, Limit: settings.UploadLimit, Layer: LayerJira}
	}
	ct := opts.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hdr := make(textproto.MIMEHeader)
	hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, escapeQuotes(filename)))
	hdr.Set("Content-Type", ct)

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := c.NewRequest(ctx, http.MethodPost, "rest/api/2/issue/"+pathEscape(issue)+"/attachments", pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	// Jira's XSRF guard refuses multipart posts without it.
	req.Header.Set("X-Atlassian-Token", "no-check")
	if size >= 0 {
		req.ContentLength = multipartLength(mw.Boundary(), hdr, size)
	}

	done := make(chan error, 1)
	go func() {
		err := writeMultipart(mw, hdr, r, size)
		// A nil error ends the body with EOF; any other fails the request.
		pw.CloseWithError(err)
		done <- err
	}()

	var out []Attachment
	_, doErr := c.Do(req, &out)
	// Unblock the writer if the server answered before reading everything.
	_ = pr.CloseWithError(errUploadFinished)
	writeErr := <-done
	if doErr != nil {
		var apiErr *Error
		if errors.As(doErr, &apiErr) && apiErr.Kind == KindTooLarge {
			layer := LayerJira
			if apiErr.StatusCode == http.StatusRequestEntityTooLarge {
				layer = LayerProxy
			}
			return nil, &AttachmentTooLargeError{Filename: filename, Size: size, Limit: settings.UploadLimit, Layer: layer, Err: apiErr}
		}
		if writeErr != nil && !errors.Is(writeErr, errUploadFinished) && !errors.Is(writeErr, io.ErrClosedPipe) {
			return nil, fmt.Errorf("jira: upload %q to %s: reading the file: %w", filename, issue, writeErr)
		}
		return nil, doErr
	}
	return out, nil
}

var errUploadFinished = errors.New("jira: upload finished")

func writeMultipart(mw *multipart.Writer, hdr textproto.MIMEHeader, r io.Reader, size int64) error {
	part, err := mw.CreatePart(hdr)
	if err != nil {
		return err
	}
	if size >= 0 {
		n, err := io.Copy(part, io.LimitReader(r, size+1))
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("the file has %d bytes, not the %d announced", n, size)
		}
	} else if _, err := io.Copy(part, r); err != nil {
		return err
	}
	return mw.Close()
}

// multipartLength computes the exact body length for a single part of size
// bytes, by writing the same envelope to a counter.
func multipartLength(boundary string, hdr textproto.MIMEHeader, size int64) int64 {
	var cw countWriter
	mw := multipart.NewWriter(&cw)
	_ = mw.SetBoundary(boundary)
	_, _ = mw.CreatePart(hdr)
	_ = mw.Close()
	return cw.n + size
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func escapeQuotes(s string) string {
	return strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "%0D", "\n", "%0A").Replace(s)
}
