package asana

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// UploadLimit is the largest file Asana accepts in POST /attachments: 100 MB.
const UploadLimit = maxBody

// SetAttachmentLimit makes POST /attachments refuse files larger than n
// bytes (0: UploadLimit), so tests need not send 100 MB.
func (s *Server) SetAttachmentLimit(n int64) { s.attachLimit.Store(n) }

func (s *Server) attachmentLimit() int64 {
	if n := s.attachLimit.Load(); n > 0 {
		return n
	}
	return UploadLimit
}

// SetCommentOnly makes a user (by gid or name) a comment-only member of
// every project: they may read and comment on tasks, and Asana refuses
// their attachments with 403, as it does for a project's comment-only
// members.
func (s *Server) SetCommentOnly(user string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid := user
	for _, u := range s.st.users {
		if u.name == user || u.login == user || u.gid == user {
			gid = u.gid
		}
	}
	if s.commentOnly == nil {
		s.commentOnly = map[string]bool{}
	}
	s.commentOnly[gid] = on
}

// linkHosts are the attachment hosts that are links to another service.
var linkHosts = []string{"dropbox", "gdrive", "box", "onedrive", "vimeo", "external"}

func (s *Server) listAttachments(w http.ResponseWriter, q *apiRequest) error {
	parent := q.r.URL.Query().Get("parent")
	if parent == "" {
		return errorf(http.StatusBadRequest, "parent: Missing input")
	}
	s.mu.Lock()
	t := s.st.lookupTask(parent)
	if t == nil {
		s.mu.Unlock()
		return notFound("parent")
	}
	now := s.nowLocked()
	var items []obj
	for _, gid := range t.attachments {
		items = append(items, s.st.attachmentObj(s.st.attachments[gid], now))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

func (s *Server) getAttachment(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.attachments[q.r.PathValue("attachment_gid")]
	if a == nil {
		return notFound("attachment")
	}
	return writeOne(w, http.StatusOK, q, s.st.attachmentObj(a, s.nowLocked()))
}

func (s *Server) deleteAttachment(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.attachments[q.r.PathValue("attachment_gid")]
	if a == nil {
		return notFound("attachment")
	}
	delete(s.st.attachments, a.gid)
	if t := s.st.tasks[a.parent]; t != nil {
		t.attachments = removeString(t.attachments, a.gid)
		s.emitLocked(eventSpec{user: q.user, action: "deleted",
			resource: ref{gid: a.gid, typ: "attachment", subtype: a.subtype}, scopes: t.scopes()})
	}
	writeJSON(w, http.StatusOK, obj{"data": obj{}})
	return nil
}

func removeString(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// createAttachment is POST /attachments (multipart/form-data): a file upload
// (resource_subtype asana) or an external link, optionally connected to the
// app so its widget shows.
func (s *Server) createAttachment(w http.ResponseWriter, q *apiRequest) error {
	r := q.r
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return errorf(http.StatusBadRequest, "Request must be multipart/form-data")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errorf(http.StatusBadRequest, "file: The file is larger than the limit of %d bytes", UploadLimit)
		}
		return errorf(http.StatusBadRequest, "Could not parse the multipart body: %v", err)
	}
	form := r.MultipartForm
	field := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if of := field("opt_fields"); of != "" {
		q.optFields = append(q.optFields, strings.Split(of, ",")...)
	}
	a := &attachment{subtype: field("resource_subtype"), name: field("name"), createdBy: q.user}
	switch {
	case a.subtype == "" || a.subtype == "asana":
		a.subtype = "asana"
		files := form.File["file"]
		if len(files) == 0 {
			return errorf(http.StatusBadRequest, "file: Missing input")
		}
		f, err := files[0].Open()
		if err != nil {
			return errorf(http.StatusBadRequest, "file: %v", err)
		}
		defer f.Close()
		// The spec lists 400 (not 413) among this call's answers.
		if files[0].Size > s.attachmentLimit() {
			return errorf(http.StatusBadRequest, "file: The file is larger than the limit of %d bytes", s.attachmentLimit())
		}
		if a.content, err = io.ReadAll(f); err != nil {
			return errorf(http.StatusBadRequest, "file: %v", err)
		}
		if a.name == "" {
			a.name = files[0].Filename
		}
		a.contentType = files[0].Header.Get("Content-Type")
	case a.subtype == "external":
		u, err := url.Parse(field("url"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errorf(http.StatusBadRequest, "url: Must be an absolute http(s) URL")
		}
		a.url = u.String()
		if a.name == "" {
			a.name = a.url
		}
		switch field("connect_to_app") {
		case "true":
			if !q.viaOAuth {
				return errorf(http.StatusBadRequest, "connect_to_app: Only an OAuth app can connect an attachment to itself")
			}
			a.connectedToApp = true
		case "", "false":
		default:
			return errorf(http.StatusBadRequest, "connect_to_app: Not a boolean")
		}
	case containsString(linkHosts, a.subtype):
		return errorf(http.StatusBadRequest, "resource_subtype: %s attachments cannot be created through the API", a.subtype)
	default:
		return errorf(http.StatusBadRequest, "resource_subtype: Unknown value %q", a.subtype)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(field("parent"))
	if t == nil {
		return errorf(http.StatusBadRequest, "parent: Not a recognized ID: %s", field("parent"))
	}
	if s.commentOnly[q.user] {
		return errorf(http.StatusForbidden, "Forbidden")
	}
	a.gid, a.parent, a.createdAt = s.st.newGID(), t.gid, s.nowLocked()
	s.addAttachmentLocked(a, q.user, true)
	w.Header().Set("Location", "/api/1.0/attachments/"+a.gid)
	return writeOne(w, http.StatusOK, q, s.st.attachmentObj(a, s.nowLocked()))
}

// addAttachmentLocked stores an attachment on its task. Asana documents no
// "added" event for attachments (only deleted and undeleted); an attachment
// made through the API shows in the task's streams as its attachment_added
// system story (withStory). A resource an App Components app attaches gets
// none: the widget shows it.
func (s *Server) addAttachmentLocked(a *attachment, by string, withStory bool) {
	t := s.st.tasks[a.parent]
	s.st.attachments[a.gid] = a
	t.attachments = append(t.attachments, a.gid)
	t.modifiedAt = a.createdAt
	if withStory {
		s.systemStoryLocked(t, by, "attachment_added", "attached "+a.name, nil)
	}
}

// handleDownload serves an Asana-hosted file behind an expiring download_url.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d, ok := s.st.downloads[r.PathValue("ticket")]
	var a *attachment
	if ok {
		a = s.st.attachments[d.attachment]
	}
	expired := ok && !s.nowLocked().Before(d.expires)
	s.mu.Unlock()
	switch {
	case !ok || a == nil:
		http.Error(w, "Not found", http.StatusNotFound)
		return
	case expired:
		// Asana's file store answers an expired signed link with 403.
		http.Error(w, "Request has expired", http.StatusForbidden)
		return
	}
	ct := a.contentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.name}))
	if a.generated != nil {
		serveGenerated(w, r, a.generated)
		return
	}
	_, _ = w.Write(a.content)
}

// size is the file's length in bytes.
func (a *attachment) size() int64 {
	if a.generated != nil {
		return a.generated.Size
	}
	return int64(len(a.content))
}

// TaskAttachment is an attachment as tests see it.
type TaskAttachment struct {
	GID            string
	Name           string
	Host           string // asana, dropbox, gdrive, box, onedrive, vimeo, external
	URL            string // the linked URL (non-Asana hosts)
	Content        []byte // the file (Asana-hosted); nil when generated
	Size           int64  // the file's size (Asana-hosted)
	ConnectedToApp bool
}

// Attachments returns a task's attachments, oldest first.
func (s *Server) Attachments(taskGID string) []TaskAttachment {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.tasks[taskGID]
	if t == nil {
		return nil
	}
	var out []TaskAttachment
	for _, gid := range t.attachments {
		a := s.st.attachments[gid]
		out = append(out, TaskAttachment{GID: a.gid, Name: a.name, Host: a.subtype, URL: a.url,
			Content: append([]byte(nil), a.content...), Size: a.size(), ConnectedToApp: a.connectedToApp})
	}
	return out
}
