package jira

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// commentInput is the body of POST/PUT …/comment and of an
// update.comment[].add operation.
type commentInput struct {
	Body       *string          `json:"body"`
	Visibility *visibilityInput `json:"visibility"`
	Properties []propertyInput  `json:"properties"`
}

// newComment is a validated comment waiting to be added.
type newComment struct {
	body  string
	vis   *visibility
	props props
}

// validateComment checks a comment request by author on is and returns the
// comment to add, or Jira's field errors.
func (s *Server) validateComment(author *user, is *issue, in commentInput) (newComment, map[string]string) {
	if !s.hasPerm(author, permComment, is.project, is) {
		return newComment{}, map[string]string{"comment": permDenied[permComment].message}
	}
	if in.Body == nil || strings.TrimSpace(*in.Body) == "" {
		return newComment{}, map[string]string{"comment": "Comment body can not be empty!"}
	}
	vis, msg := s.checkVisibility(author, is, in.Visibility)
	if msg != "" {
		return newComment{}, map[string]string{"commentLevel": msg}
	}
	ps, msg := propsFrom(in.Properties)
	if msg != "" {
		return newComment{}, map[string]string{"properties": msg}
	}
	return newComment{body: *in.Body, vis: vis, props: ps}, nil
}

// commentOut renders a comment for a REST answer, with its entity
// properties when the request asks for expand=properties.
func (s *Server) commentOut(r *http.Request, is *issue, c *comment, u *user) map[string]any {
	m := s.commentJSON(s.baseURL(r), is, c, u)
	if slices.Contains(splitList(r.URL.Query().Get("expand")), "properties") {
		m["properties"] = c.properties.list()
	}
	return m
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFor(w, r.PathValue("key"), u, "")
	if is == nil {
		return
	}
	all := []any{}
	for _, c := range s.visibleComments(u, is) {
		all = append(all, s.commentOut(r, is, c, u))
	}
	start, max := intParam(r, "startAt", 0), intParam(r, "maxResults", 5000)
	pg := page(all, start, max)
	writeJSON(w, http.StatusOK, map[string]any{"startAt": start, "maxResults": len(pg), "total": len(all), "comments": pg})
}

// addCommentLocked adds a comment and returns Jira Server's two events for
// it: the standalone comment_created and jira:issue_updated/issue_commented.
// Callers hold s.mu.
func (s *Server) addCommentLocked(base string, is *issue, author string, nc newComment) []event {
	c := s.storeCommentLocked(is, author, nc)
	return s.commentEventsLocked(base, is, c, author, "comment_created", "issue_commented")
}

// storeCommentLocked adds a comment without events. Callers hold s.mu.
func (s *Server) storeCommentLocked(is *issue, author string, nc newComment) *comment {
	s.nextCommentID++
	now := s.now()
	c := &comment{id: itoa(s.nextCommentID), author: author, updateAuthor: author, body: nc.body, visibility: nc.vis,
		properties: nc.props, created: now, updated: now}
	is.comments = append(is.comments, c)
	is.updated = now
	return c
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request, u *user) {
	var in commentInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	is := s.lockIssue(w, r, u, permComment)
	if is == nil {
		return
	}
	nc, errs := s.validateComment(u, is, in)
	if errs != nil {
		s.mu.Unlock()
		s.writeErrors(w, http.StatusBadRequest, nil, errs)
		return
	}
	base := s.baseURL(r)
	evs := s.addCommentLocked(base, is, u.name, nc)
	out := s.commentOut(r, is, is.comments[len(is.comments)-1], u)
	s.mu.Unlock()
	s.dispatch(evs)
	writeJSON(w, http.StatusCreated, out)
}

// commentOr404 finds the comment of the request; a comment hidden from u
// by its visibility answers the same 404 as a missing one.
func (s *Server) commentOr404(w http.ResponseWriter, r *http.Request, u *user) (*issue, *comment) {
	is := s.issueFor(w, r.PathValue("key"), u, "")
	if is == nil {
		return nil, nil
	}
	c, ok := findBy(is.comments, func(c *comment) bool { return c.id == r.PathValue("id") })
	if !ok || !s.canSeeComment(u, is, c) {
		s.writeErrors(w, http.StatusNotFound, []string{"Can not find a comment for the id: " + r.PathValue("id") + "."}, nil)
		return nil, nil
	}
	return is, c
}

// ownComment is commentOr404 for a change ("edit" or "delete"): the
// author needs the … Own Comments permission, anyone else … All Comments.
func (s *Server) ownComment(w http.ResponseWriter, r *http.Request, u *user, verb string) (*issue, *comment) {
	is, c := s.commentOr404(w, r, u)
	if c == nil {
		return nil, nil
	}
	if !s.mayChangeComment(u, is, c, verb) {
		s.writeErrors(w, http.StatusForbidden, []string{"You do not have the permission to " + verb + " this comment."}, nil)
		return nil, nil
	}
	return is, c
}

// mayChangeComment: the author needs Edit (Delete) Own Comments, anyone
// else Edit (Delete) All Comments. verb is "edit" or "delete".
func (s *Server) mayChangeComment(u *user, is *issue, c *comment, verb string) bool {
	own, all := permEditOwnComments, permEditAllComments
	if verb == "delete" {
		own, all = permDelOwnComments, permDelAllComments
	}
	return c.author == u.name && s.hasPerm(u, own, is.project, is) || s.hasPerm(u, all, is.project, is)
}

func (s *Server) getComment(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is, c := s.commentOr404(w, r, u)
	if c == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.commentOut(r, is, c, u))
}

// updateComment is PUT …/comment/{id}. A body without "visibility" keeps
// the comment's restriction.
func (s *Server) updateComment(w http.ResponseWriter, r *http.Request, u *user) {
	var in commentInput
	if err := decodeBody(r, &in); err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	s.mu.Lock()
	is, c := s.ownComment(w, r, u, "edit")
	if c == nil {
		s.mu.Unlock()
		return
	}
	body := c.body
	if in.Body != nil {
		body = *in.Body
	}
	vis, msg := s.checkVisibility(u, is, in.Visibility)
	if msg != "" {
		s.mu.Unlock()
		s.writeErrors(w, http.StatusBadRequest, nil, map[string]string{"commentLevel": msg})
		return
	}
	if in.Visibility == nil {
		vis = c.visibility
	}
	evs := s.editCommentLocked(s.baseURL(r), is, c, u.name, body, vis)
	out := s.commentOut(r, is, c, u)
	s.mu.Unlock()
	s.dispatch(evs)
	writeJSON(w, http.StatusOK, out)
}

// editCommentLocked rewrites a comment's body and visibility as actor and
// returns Jira Server's two events for it. The edit also makes the issue
// updated, so a search by "updated" finds an issue whose comment changed.
// Callers hold s.mu.
func (s *Server) editCommentLocked(base string, is *issue, c *comment, actor, body string, vis *visibility) []event {
	now := s.now()
	c.body, c.visibility, c.updateAuthor, c.updated = body, vis, actor, now
	is.updated = now
	return s.commentEventsLocked(base, is, c, actor, "comment_updated", "issue_comment_edited")
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	is, c := s.ownComment(w, r, u, "delete")
	if c == nil {
		s.mu.Unlock()
		return
	}
	is.comments = slices.DeleteFunc(is.comments, func(x *comment) bool { return x == c })
	evs := s.commentEventsLocked(s.baseURL(r), is, c, u.name, "comment_deleted", "issue_comment_deleted")
	s.mu.Unlock()
	s.dispatch(evs)
	w.WriteHeader(http.StatusNoContent)
}

// Visibility restricts a comment to a Jira group or project role, as the
// REST "visibility" object does: Type is "group" or "role".
type Visibility struct {
	Type  string
	Value string
}

// AddComment comments on an issue as username, as if done in the web UI;
// webhooks fire.
func (s *Server) AddComment(key, username, body string) error {
	return s.AddRestrictedComment(key, username, body, Visibility{})
}

// AddRestrictedComment comments on an issue as username with a visibility
// restriction (the zero Visibility for none), validated as Jira validates
// it; webhooks fire.
func (s *Server) AddRestrictedComment(key, username, body string, v Visibility) error {
	s.mu.Lock()
	is := s.issueByKey(key)
	u := s.userByName(username)
	if is == nil || u == nil {
		s.mu.Unlock()
		return fmt.Errorf("jira emulator: comment on %s as %s: no such issue or user", key, username)
	}
	in := commentInput{Body: &body}
	if v != (Visibility{}) {
		in.Visibility = &visibilityInput{Type: v.Type, Value: v.Value}
	}
	nc, errs := s.validateComment(u, is, in)
	if errs != nil {
		s.mu.Unlock()
		return fmt.Errorf("jira emulator: comment on %s: %v", key, errs)
	}
	evs := s.addCommentLocked(s.baseURL(nil), is, u.name, nc)
	s.mu.Unlock()
	s.dispatch(evs)
	return nil
}

// EditComment edits a comment as username as Jira's web form does: the
// form sends the visibility again with every edit, so the zero Visibility
// lifts a restriction (REST's PUT without "visibility" keeps it). The edit
// is validated as Jira validates it; webhooks fire.
func (s *Server) EditComment(key, id, username, body string, v Visibility) error {
	s.mu.Lock()
	is := s.issueByKey(key)
	u := s.userByName(username)
	if is == nil || u == nil {
		s.mu.Unlock()
		return fmt.Errorf("jira emulator: edit comment %s on %s as %s: no such issue or user", id, key, username)
	}
	c, ok := findBy(is.comments, func(c *comment) bool { return c.id == id })
	if !ok || !s.canSeeComment(u, is, c) || !s.mayChangeComment(u, is, c, "edit") {
		s.mu.Unlock()
		return fmt.Errorf("jira emulator: edit comment %s on %s: no such comment, or %s may not edit it", id, key, username)
	}
	if strings.TrimSpace(body) == "" {
		s.mu.Unlock()
		return fmt.Errorf("jira emulator: edit comment %s on %s: Comment body can not be empty!", id, key)
	}
	var in *visibilityInput
	if v != (Visibility{}) {
		in = &visibilityInput{Type: v.Type, Value: v.Value}
	}
	vis, msg := s.checkVisibility(u, is, in)
	if msg != "" {
		s.mu.Unlock()
		return fmt.Errorf("jira emulator: edit comment %s on %s: %s", id, key, msg)
	}
	evs := s.editCommentLocked(s.baseURL(nil), is, c, u.name, body, vis)
	s.mu.Unlock()
	s.dispatch(evs)
	return nil
}
