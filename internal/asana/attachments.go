package asana

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"mime/multipart"
	"net/http"
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
