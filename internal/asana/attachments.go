package asana

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
)

// Attachment is a file or link attached to a task.
type Attachment struct {
	GID  string `json:"gid"`
	Name string `json:"name"`
	// ResourceSubtype (= Host) is asana for files uploaded to Asana, or the
	// link's host: dropbox, gdrive, onedrive, box, vimeo, external.
	ResourceSubtype string `json:"resource_subtype,omitempty"`
	Host            string `json:"host,omitempty"`
	// DownloadURL expires within minutes: never store it, fetch it right
	// before downloading (DownloadAttachment does).
	DownloadURL    *string `json:"download_url,omitempty"`
	ViewURL        *string `json:"view_url,omitempty"`
	PermanentURL   string  `json:"permanent_url,omitempty"`
	Size           int64   `json:"size,omitempty"`
	CreatedAt      string  `json:"created_at,omitempty"`
	ConnectedToApp bool    `json:"connected_to_app,omitempty"`
}

// Hosted reports a file uploaded into Asana, whose bytes can be copied.
func (a *Attachment) Hosted() bool {
	return a.ResourceSubtype == "asana" || (a.ResourceSubtype == "" && a.Host == "asana")
}

// attachmentFields are the opt_fields without which lists are compact.
func attachmentFields() []string {
	return []string{"name", "resource_subtype", "host", "download_url", "view_url", "permanent_url", "size", "created_at", "connected_to_app"}
}

// Attachments yields the attachments of a task (or project), with the
// fields asanajira needs.
//
// https://developers.asana.com/reference/getattachmentsforobject
func (c *Client) Attachments(ctx context.Context, parent string) iter.Seq2[Attachment, error] {
	return list[Attachment](ctx, c, "attachments", optFields(url.Values{"parent": {parent}}, attachmentFields()))
}

// GetAttachment reads one attachment, with a fresh download_url.
//
// https://developers.asana.com/reference/getattachment
func (c *Client) GetAttachment(ctx context.Context, gid string) (*Attachment, error) {
	var a Attachment
	if _, err := c.get(ctx, "attachments/"+url.PathEscape(gid), optFields(nil, attachmentFields()), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// DownloadAttachment re-reads the attachment for a fresh download_url (they
// expire within minutes) and opens its content as a stream. The caller
// closes the body. The download client carries no Asana token.
func (c *Client) DownloadAttachment(ctx context.Context, gid string) (io.ReadCloser, *Attachment, error) {
	a, err := c.GetAttachment(ctx, gid)
	if err != nil {
		return nil, nil, err
	}
	if a.DownloadURL == nil || *a.DownloadURL == "" {
		return nil, a, fmt.Errorf("asana: attachment %s (%q, %s) has no download URL; only files uploaded to Asana can be copied, link the others", gid, a.Name, a.ResourceSubtype)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *a.DownloadURL, nil)
	if err != nil {
		return nil, a, fmt.Errorf("asana: attachment %s: bad download URL: %w", gid, err)
	}
	resp, err := c.download.Do(req)
	if err != nil {
		return nil, a, &Error{Method: http.MethodGet, URL: sanitizeURL(req.URL), Err: stripURLError(err)}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, a, CheckResponse(resp)
	}
	if a.Size <= 0 && resp.ContentLength > 0 {
		a.Size = resp.ContentLength
	}
	return resp.Body, a, nil
}

// ExternalAttachment links a URL to a task. ConnectToApp makes the App
// Components widget appear on it (OAuth tokens only).
type ExternalAttachment struct {
	Parent       string
	URL          string
	Name         string
	ConnectToApp bool
}

// CreateExternalAttachment attaches a link (resource_subtype external).
//
// https://developers.asana.com/reference/createattachmentforobject
func (c *Client) CreateExternalAttachment(ctx context.Context, in ExternalAttachment) (*Attachment, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := [][2]string{{"parent", in.Parent}, {"resource_subtype", "external"}, {"url", in.URL}, {"name", in.Name}}
	if in.ConnectToApp {
		fields = append(fields, [2]string{"connect_to_app", "true"})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "attachments", bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var a Attachment
	if _, err := c.Do(req, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// UploadLimit is the largest file Asana accepts in an upload: 100 MB.
const UploadLimit = 100 << 20

// FileUpload is a file to attach to a task.
type FileUpload struct {
	Parent string
	Name   string
	// ContentType of the file; "" means application/octet-stream.
	ContentType string
	// Size is the exact byte count of Body, -1 when unknown.
	Size int64
	Body io.Reader
}

// UploadAttachment streams a file to a task as multipart/form-data
// (resource_subtype asana). The file is never held in memory: a goroutine
// writes the multipart body into an io.Pipe while the request reads it,
// and a known size is sent as Content-Length. A Body that ends early or
// runs long, or fails, aborts the request, so Asana never keeps a partial
// file. Uploads are not retried: the body cannot be replayed.
//
// https://developers.asana.com/reference/createattachmentforobject
func (c *Client) UploadAttachment(ctx context.Context, in FileUpload) (*Attachment, error) {
	ct := in.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hdr := make(textproto.MIMEHeader)
	// FormatMediaType writes a non-ASCII name as filename*=utf-8''…, as
	// Asana expects it.
	hdr.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": in.Name}))
	hdr.Set("Content-Type", ct)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := c.NewRequest(ctx, http.MethodPost, "attachments", pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if in.Size >= 0 {
		req.ContentLength = uploadLength(mw.Boundary(), in.Parent, hdr, in.Size)
	}
	done := make(chan error, 1)
	go func() {
		err := writeUpload(mw, in.Parent, hdr, in.Body, in.Size)
		pw.CloseWithError(err) // nil ends the body with EOF
		done <- err
	}()
	var a Attachment
	_, doErr := c.Do(req, &a)
	_ = pr.CloseWithError(errUploadFinished) // unblock the writer if Asana answered early
	writeErr := <-done
	if writeErr != nil && !errors.Is(writeErr, errUploadFinished) && !errors.Is(writeErr, io.ErrClosedPipe) {
		return nil, fmt.Errorf("asana: upload %q to %s: reading the file: %w", in.Name, in.Parent, writeErr)
	}
	if doErr != nil {
		return nil, doErr
	}
	return &a, nil
}

var errUploadFinished = errors.New("asana: upload finished")

func writeUpload(mw *multipart.Writer, parent string, hdr textproto.MIMEHeader, r io.Reader, size int64) error {
	if err := mw.WriteField("parent", parent); err != nil {
		return err
	}
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

// uploadLength is the exact body length of an upload of size bytes, by
// writing the same envelope to a counter.
func uploadLength(boundary, parent string, hdr textproto.MIMEHeader, size int64) int64 {
	var cw countWriter
	mw := multipart.NewWriter(&cw)
	_ = mw.SetBoundary(boundary)
	_ = mw.WriteField("parent", parent)
	_, _ = mw.CreatePart(hdr)
	_ = mw.Close()
	return cw.n + size
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
