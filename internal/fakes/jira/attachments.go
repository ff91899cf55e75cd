package jira

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultAttachmentLimit is Jira's default maximum attachment size (10 MB).
const DefaultAttachmentLimit = 10485760

func (s *Server) attachmentLimit() int64 {
	if n := s.attachLimit.Load(); n > 0 {
		return n
	}
	return DefaultAttachmentLimit
}

// SetAttachmentLimit changes the maximum attachment size (see
// Options.AttachmentLimit) on a running emulator.
func (s *Server) SetAttachmentLimit(n int64) { s.attachLimit.Store(n) }

// SetDiscardAttachmentContent switches Options.DiscardAttachmentContent on
// or off for later uploads.
func (s *Server) SetDiscardAttachmentContent(on bool) { s.discardContent.Store(on) }

func (s *Server) attachmentMeta(w http.ResponseWriter, _ *http.Request, _ *user) {
	writeJSON(w, http.StatusOK, map[string]any{"enabled": true, "uploadLimit": s.attachmentLimit()})
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// upload is one received file part.
type upload struct {
	name, mime string
	data       []byte // nil when the content is discarded
	size       int64
	crc        uint32
}

// sniffer keeps the first 512 bytes of a discarded upload, all that
// content-type detection reads.
type sniffer struct{ head []byte }

func (w *sniffer) Write(p []byte) (int, error) {
	if n := 512 - len(w.head); n > 0 {
		w.head = append(w.head, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// receivePart reads one file part, up to limit+1 bytes, keeping it or
// only counting and checksumming it.
func receivePart(part io.Reader, limit int64, keep bool) (upload, error) {
	sum := crc32.New(castagnoli)
	r := io.TeeReader(io.LimitReader(part, limit+1), sum)
	if keep {
		data, err := io.ReadAll(r)
		return upload{data: data, size: int64(len(data)), crc: sum.Sum32()}, err
	}
	var head sniffer
	n, err := io.Copy(&head, r)
	return upload{data: head.head, size: n, crc: sum.Sum32()}, err
}

// addAttachments is POST /issue/{key}/attachments: multipart parts named
// "file", guarded by Jira's XSRF check. Over-limit files are refused with a
// plain-text 404, as Jira does.
func (s *Server) addAttachments(w http.ResponseWriter, r *http.Request, u *user) {
	arrived := time.Now()
	if tok := r.Header.Get("X-Atlassian-Token"); tok != "no-check" && tok != "nocheck" {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "XSRF check failed")
		return
	}
	// Jira checks the permission before it reads the files.
	if s.lockIssue(w, r, u, permAttach) == nil {
		return
	}
	s.mu.Unlock()
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{"Expected a multipart/form-data request: " + err.Error()}, nil)
		return
	}
	limit := s.attachmentLimit()
	keep := !s.discardContent.Load()
	var ups []upload
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.writeErrors(w, http.StatusBadRequest, []string{"Malformed multipart body: " + err.Error()}, nil)
			return
		}
		if part.FormName() != "file" {
			continue
		}
		up, err := receivePart(part, limit, keep)
		if err != nil {
			s.writeErrors(w, http.StatusBadRequest, []string{"Reading attachment: " + err.Error()}, nil)
			return
		}
		if up.size > limit {
			w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, "The field file exceeds its maximum permitted size of %d bytes.", limit)
			return
		}
		mt := part.Header.Get("Content-Type")
		if mt == "" || mt == "application/octet-stream" {
			if byExt := mime.TypeByExtension(filepath.Ext(part.FileName())); byExt != "" {
				mt = byExt
			} else {
				mt = http.DetectContentType(up.data)
			}
		}
		mt, _, _ = strings.Cut(mt, ";")
		up.name, up.mime = part.FileName(), mt
		if !keep {
			up.data = nil // only the head was kept, for the content type
		}
		ups = append(ups, up)
	}
	received := time.Since(arrived)
	if len(ups) == 0 {
		s.writeErrors(w, http.StatusBadRequest, []string{"No file was found in the request (expected a part named 'file')."}, nil)
		return
	}
	is := s.lockIssue(w, r, u, permAttach)
	if is == nil {
		return
	}
	base := s.baseURL(r)
	out := []any{}
	var items []historyItem
	for _, up := range ups {
		s.nextAttachID++
		a := &attachment{id: itoa(s.nextAttachID), filename: up.name, author: u.name, created: s.now(), mimeType: up.mime, content: up.data,
			size: up.size, crc32c: up.crc, received: received, issueID: is.id}
		is.attachments = append(is.attachments, a)
		out = append(out, s.attachmentJSON(base, a))
		items = append(items, historyItem{field: "Attachment", fieldtype: "jira", fieldID: "attachment", to: a.id, toString: a.filename})
	}
	clone := *is
	ev, ok := s.commitEditLocked(base, is, &clone, u.name, "issue_updated", items)
	s.mu.Unlock()
	if ok {
		s.dispatch([]event{ev})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) findAttachment(id string) (*issue, *attachment) {
	for _, is := range s.issues {
		for _, a := range is.attachments {
			if a.id == id {
				return is, a
			}
		}
	}
	return nil, nil
}

// attachmentFor finds the attachment of the request on an issue u sees
// (403 otherwise, as for the issue itself). Callers hold s.mu.
func (s *Server) attachmentFor(w http.ResponseWriter, r *http.Request, u *user) (*issue, *attachment) {
	is, a := s.findAttachment(r.PathValue("id"))
	if a == nil {
		s.writeErrors(w, http.StatusNotFound, []string{"The attachment with id '" + r.PathValue("id") + "' does not exist"}, nil)
		return nil, nil
	}
	if !s.canBrowse(u, is) {
		s.writeErrors(w, http.StatusForbidden, []string{"You do not have permission to view attachment with id: " + a.id}, nil)
		return nil, nil
	}
	return is, a
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, a := s.attachmentFor(w, r, u)
	if a == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.attachmentJSON(s.baseURL(r), a))
}

// deleteAttachment needs Delete Own Attachments for the author's own file,
// Delete All Attachments for anyone else's.
func (s *Server) deleteAttachment(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, a := s.attachmentFor(w, r, u)
	if a == nil {
		return
	}
	if (a.author != u.name || !s.hasPerm(u, permDelOwnAttachment, is.project, is)) && !s.hasPerm(u, permDelAllAttachment, is.project, is) {
		s.writeErrors(w, http.StatusForbidden, []string{permDenied[permDelOwnAttachment].message}, nil)
		return
	}
	is.attachments = slices.DeleteFunc(is.attachments, func(x *attachment) bool { return x == a })
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	is, a := s.findAttachment(r.PathValue("id"))
	var data []byte
	var mt string
	visible := a != nil && s.canBrowse(u, is)
	if a != nil {
		data, mt = a.content, a.mimeType
	}
	s.mu.Unlock()
	if a == nil {
		http.Error(w, "Attachment not found", http.StatusNotFound)
		return
	}
	if !visible {
		http.Error(w, "You do not have permission to view this attachment.", http.StatusForbidden)
		return
	}
	if data == nil && a.size > 0 {
		http.Error(w, "The emulator discarded this attachment's content (DiscardAttachmentContent)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.filename}))
	_, _ = w.Write(data)
}

// ---- remote links ----

func (s *Server) remoteLinkJSON(base string, is *issue, l *remoteLink) map[string]any {
	m := map[string]any{"id": l.id, "self": fmt.Sprintf("%s/rest/api/2/issue/%s/remotelink/%d", base, is.key, l.id), "object": l.object}
	if l.globalID != "" {
		m["globalId"] = l.globalID
	}
	if l.application != nil {
		m["application"] = l.application
	}
	if l.relationship != "" {
		m["relationship"] = l.relationship
	}
	return m
}

type remoteLinkInput struct {
	GlobalID     string         `json:"globalId"`
	Application  map[string]any `json:"application"`
	Relationship string         `json:"relationship"`
	Object       map[string]any `json:"object"`
}

func (in remoteLinkInput) validate() map[string]string {
	errs := map[string]string{}
	if in.Object == nil {
		errs["object"] = "'object' is required."
		return errs
	}
	if u, _ := in.Object["url"].(string); u == "" {
		errs["url"] = "'url' is required."
	}
	if t, _ := in.Object["title"].(string); t == "" {
		errs["title"] = "'title' is required."
	}
	if len(in.GlobalID) > 255 {
		errs["globalId"] = "'globalId' must be at most 255 characters."
	}
	return errs
}

func (s *Server) listRemoteLinks(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFor(w, r.PathValue("key"), u, "")
	if is == nil {
		return
	}
	base := s.baseURL(r)
	if g := r.URL.Query().Get("globalId"); g != "" {
		l, ok := findBy(is.links, func(l *remoteLink) bool { return l.globalID == g })
		if !ok {
			s.writeErrors(w, http.StatusNotFound, []string{"No remote link with globalId '" + g + "' exists on this issue."}, nil)
			return
		}
		writeJSON(w, http.StatusOK, s.remoteLinkJSON(base, is, l))
		return
	}
	out := []any{}
	for _, l := range is.links {
		out = append(out, s.remoteLinkJSON(base, is, l))
	}
	writeJSON(w, http.StatusOK, out)
}

// upsertRemoteLink creates a link, or updates the one with the same
// globalId (201 for a new link, 200 for an update).
func (s *Server) upsertRemoteLink(w http.ResponseWriter, r *http.Request, u *user) {
	var in remoteLinkInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	if errs := in.validate(); len(errs) > 0 {
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFor(w, r.PathValue("key"), u, permLink)
	if is == nil {
		return
	}
	base := s.baseURL(r)
	status := http.StatusCreated
	l, ok := findBy(is.links, func(l *remoteLink) bool { return in.GlobalID != "" && l.globalID == in.GlobalID })
	if ok {
		status = http.StatusOK
	} else {
		s.nextLinkID++
		l = &remoteLink{id: s.nextLinkID}
		is.links = append(is.links, l)
	}
	l.globalID, l.application, l.relationship, l.object = in.GlobalID, in.Application, in.Relationship, in.Object
	writeJSON(w, status, map[string]any{"id": l.id, "self": s.remoteLinkJSON(base, is, l)["self"]})
}

// linkOr404 finds the request's remote link on an issue u sees; changing
// it (perm set) needs Link Issues.
func (s *Server) linkOr404(w http.ResponseWriter, r *http.Request, u *user, perm string) (*issue, *remoteLink) {
	is := s.issueFor(w, r.PathValue("key"), u, perm)
	if is == nil {
		return nil, nil
	}
	l, ok := findBy(is.links, func(l *remoteLink) bool { return itoa(l.id) == r.PathValue("id") })
	if !ok {
		s.writeErrors(w, http.StatusNotFound, []string{"No remote link with id '" + r.PathValue("id") + "' exists on this issue."}, nil)
		return nil, nil
	}
	return is, l
}

func (s *Server) getRemoteLink(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, l := s.linkOr404(w, r, u, "")
	if l == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.remoteLinkJSON(s.baseURL(r), is, l))
}

func (s *Server) putRemoteLink(w http.ResponseWriter, r *http.Request, u *user) {
	var in remoteLinkInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	if errs := in.validate(); len(errs) > 0 {
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, l := s.linkOr404(w, r, u, permLink)
	if l == nil {
		return
	}
	l.globalID, l.application, l.relationship, l.object = in.GlobalID, in.Application, in.Relationship, in.Object
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteRemoteLink(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, l := s.linkOr404(w, r, u, permLink)
	if l == nil {
		return
	}
	is.links = slices.DeleteFunc(is.links, func(x *remoteLink) bool { return x == l })
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteRemoteLinkByGlobalID(w http.ResponseWriter, r *http.Request, u *user) {
	g := r.URL.Query().Get("globalId")
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFor(w, r.PathValue("key"), u, permLink)
	if is == nil {
		return
	}
	if g == "" {
		s.writeErrors(w, http.StatusBadRequest, []string{"The globalId query parameter is required."}, nil)
		return
	}
	n := len(is.links)
	is.links = slices.DeleteFunc(is.links, func(x *remoteLink) bool { return x.globalID == g })
	if len(is.links) == n {
		s.writeErrors(w, http.StatusNotFound, []string{"No remote link with globalId '" + g + "' exists on this issue."}, nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

var _ = json.Marshal
