package asana

import (
	"net/http"
	"strings"
	"time"
)

// Stories: comments (type "comment", resource_subtype "comment_added") that
// people write, and system stories (type "system") that Asana adds for every
// change of a task: marked_complete, assigned, due_date_changed, name_changed,
// section_changed, enum_custom_field_changed and so on. A sync engine must
// tell them apart; both arrive as story "added" events.

func taskRef(gid string) ref { return ref{gid: gid, typ: "task", subtype: "default_task"} }

func storyRef(sy *story) ref { return ref{gid: sy.gid, typ: "story", subtype: sy.subtype} }

// addStoryLocked stores a story on its task and records the story "added"
// event (parent: the task), as Asana does for comments and system stories.
func (s *Server) addStoryLocked(t *task, sy *story) {
	st := s.st
	st.stories[sy.gid] = sy
	t.stories = append(t.stories, sy.gid)
	t.modifiedAt = sy.createdAt
	s.emitLocked(eventSpec{user: sy.author, action: "added", resource: storyRef(sy),
		parent: ptr(taskRef(t.gid)), scopes: t.scopes()})
}

// addCommentLocked adds a comment by author; html wins when both are given.
func (s *Server) addCommentLocked(t *task, author, text, html, source string, pinned bool) *story {
	if html == "" {
		html = "<body>" + htmlEscape(text) + "</body>"
	} else {
		text = plainText(html)
	}
	sy := &story{gid: s.st.newGID(), task: t.gid, author: author, text: text, htmlText: html,
		subtype: "comment_added", typ: "comment", source: source, createdAt: s.nowLocked(), isPinned: pinned}
	s.addStoryLocked(t, sy)
	return sy
}

// systemStoryLocked adds the system story Asana writes for a change.
func (s *Server) systemStoryLocked(t *task, by, subtype, text string, details obj) {
	sy := &story{gid: s.st.newGID(), task: t.gid, author: by, text: text,
		htmlText: "<body>" + htmlEscape(text) + "</body>", subtype: subtype, typ: "system",
		source: "api", createdAt: s.nowLocked(), details: details}
	s.addStoryLocked(t, sy)
}

// dueDateText writes a date as Asana's due-date stories do ("February 21");
// a date outside the current year carries its year.
func dueDateText(day string, now time.Time) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	if d.Year() == now.Year() {
		return d.Format("January 2")
	}
	return d.Format("January 2, 2006")
}

// storyDates is a StoryResponseDates; nil for no date (the spec's due_on is
// not nullable, so a story leaves out the side that has no date).
func storyDates(due string) any {
	if due == "" {
		return nil
	}
	return obj{"due_on": due, "due_at": nil, "start_on": nil}
}

// withDates sets old_dates / new_dates (or another pair) on a system
// story's details, leaving out a side without a date.
func withDates(details obj, oldKey, newKey, old, value string) obj {
	if d := storyDates(old); d != nil {
		details[oldKey] = d
	}
	if d := storyDates(value); d != nil {
		details[newKey] = d
	}
	return details
}

func (s *Server) listStories(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		s.mu.Unlock()
		return notFound("task")
	}
	var items []obj
	for _, gid := range t.stories {
		items = append(items, s.st.storyObj(s.st.stories[gid]))
	}
	s.mu.Unlock()
	return s.writeList(w, q, items)
}

// storyText reads text or html_text (exactly one) of a comment body.
func storyText(data map[string]any) (text, html string, ok bool, err error) {
	text, hasText := str(data, "text")
	html, hasHTML := str(data, "html_text")
	switch {
	case hasText && hasHTML:
		return "", "", false, errorf(http.StatusBadRequest, "You may only provide one of text or html_text")
	case hasHTML:
		if !strings.HasPrefix(strings.TrimSpace(html), "<body>") {
			return "", "", false, errorf(http.StatusBadRequest, "html_text: XML is invalid: the root element must be <body>")
		}
		return "", html, true, nil
	case hasText:
		return text, "", true, nil
	}
	return "", "", false, nil
}

func (s *Server) createStory(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(q.r.PathValue("task_gid"))
	if t == nil {
		return notFound("task")
	}
	text, html, ok, err := storyText(q.data)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusBadRequest, "text: Missing input")
	}
	pinned, _ := q.data["is_pinned"].(bool)
	sy := s.addCommentLocked(t, q.user, text, html, "api", pinned)
	w.Header().Set("Location", "/api/1.0/stories/"+sy.gid)
	return writeOne(w, http.StatusCreated, q, s.st.storyObj(sy))
}

func (s *Server) getStory(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sy := s.st.stories[q.r.PathValue("story_gid")]
	if sy == nil {
		return notFound("story")
	}
	return writeOne(w, http.StatusOK, q, s.st.storyObj(sy))
}

// updateStory is PUT /stories/{story_gid}: only comments can have their
// text changed (text or html_text, not both), only by their author; the
// story is then marked is_edited and a story "changed" event is recorded.
func (s *Server) updateStory(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sy := s.st.stories[q.r.PathValue("story_gid")]
	if sy == nil {
		return notFound("story")
	}
	t := s.st.tasks[sy.task]
	text, html, hasText, err := storyText(q.data)
	if err != nil {
		return err
	}
	pin, hasPin := q.data["is_pinned"]
	pinned, isBool := pin.(bool)
	switch {
	case hasPin && !isBool:
		return errorf(http.StatusBadRequest, "is_pinned: Not a boolean: %v", pin)
	case hasText && sy.typ != "comment":
		return errorf(http.StatusBadRequest, "Only comment stories can have their text updated")
	case hasPin && sy.typ != "comment" && sy.subtype != "attachment_added":
		return errorf(http.StatusBadRequest, "Only comment and attachment stories can be pinned")
	case sy.author != q.user:
		return errorf(http.StatusForbidden, "You can only edit stories you have created")
	}
	if hasText {
		if html == "" {
			html = "<body>" + htmlEscape(text) + "</body>"
		} else {
			text = plainText(html)
		}
		if html != sy.htmlText {
			sy.text, sy.htmlText, sy.isEdited = text, html, true
			s.emitLocked(eventSpec{user: q.user, action: "changed", resource: storyRef(sy),
				change: &change{field: "text", action: "changed"}, scopes: t.scopes()})
		}
	}
	if hasPin && pinned != sy.isPinned {
		sy.isPinned = pinned
		s.emitLocked(eventSpec{user: q.user, action: "changed", resource: storyRef(sy),
			change: &change{field: "is_pinned", action: "changed"}, scopes: t.scopes()})
	}
	return writeOne(w, http.StatusOK, q, s.st.storyObj(sy))
}

// deleteStory is DELETE /stories/{story_gid}: a user deletes only comments
// they wrote; the task's streams see the story "removed" from the task.
func (s *Server) deleteStory(w http.ResponseWriter, q *apiRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sy := s.st.stories[q.r.PathValue("story_gid")]
	if sy == nil {
		return notFound("story")
	}
	switch {
	case sy.typ != "comment":
		return errorf(http.StatusForbidden, "Only comments can be deleted")
	case sy.author != q.user:
		return errorf(http.StatusForbidden, "You can only delete stories you have created")
	}
	t := s.st.tasks[sy.task]
	s.emitLocked(eventSpec{user: q.user, action: "removed", resource: storyRef(sy),
		parent: ptr(taskRef(t.gid)), scopes: t.scopes()})
	delete(s.st.stories, sy.gid)
	t.stories = removeString(t.stories, sy.gid)
	t.modifiedAt = s.nowLocked()
	writeJSON(w, http.StatusOK, obj{"data": obj{}})
	return nil
}
