package jira

import (
	"encoding/json"
	"slices"
	"time"
)

// Issue is a snapshot of one issue, for tests and the demo.
type Issue struct {
	ID             string
	Key            string
	Project        string // project key
	IssueType      string // issue type name
	Summary        string
	Description    string
	Status         string // status name
	StatusCategory string // new, indeterminate or done
	Resolution     string // resolution name, "" when unresolved
	Priority       string
	Assignee       string // username, "" when unassigned
	Reporter       string
	Labels         []string
	Parent         string
	DueDate        string
	// Security is the name of the issue's security level, "" for none.
	Security    string
	Environment string
	// Properties are the issue's entity properties (JSON values by key).
	Properties map[string]json.RawMessage
	// Custom holds custom field values by id: strings, float64 numbers and,
	// for select lists, the option value.
	Custom      map[string]any
	Created     time.Time
	Updated     time.Time
	Comments    []Comment
	Attachments []Attachment
	RemoteLinks []RemoteLink
}

// Comment is a snapshot of an issue comment.
type Comment struct {
	ID      string
	Author  string
	Body    string
	Created time.Time
	Updated time.Time
	// Visibility is the comment's restriction; nil when everyone who can
	// see the issue can read it.
	Visibility *Visibility
	// Properties are the comment's entity properties.
	Properties map[string]json.RawMessage
}

// Attachment is a snapshot of an attachment, content included.
type Attachment struct {
	ID       string
	Filename string
	MimeType string
	Author   string
	Content  []byte // nil when the emulator discards attachment content
	Size     int64
	// CRC32C is the Castagnoli CRC-32 of the content, so a discarded upload
	// can still be checked byte for byte.
	CRC32C uint32
	// Received is how long the upload took, from the request's arrival to
	// the last byte of the file.
	Received time.Duration
}

// RemoteLink is a snapshot of a remote issue link.
type RemoteLink struct {
	ID           int
	GlobalID     string
	URL          string
	Title        string
	Relationship string
	Object       map[string]any
	Application  map[string]any
}

func (s *Server) snapshot(is *issue) Issue {
	t, _ := lookupIssueType(is.typeID)
	p, _ := lookupPriority(is.priorityID)
	st := lookupStatus(is.statusID)
	out := Issue{
		ID: is.id, Key: is.key, Project: is.project.key, IssueType: t.name, Summary: is.summary,
		Description: derefOr(is.description, ""), Status: st.name, StatusCategory: lookupCategory(st.category).key,
		Priority: p.name, Assignee: is.assignee, Reporter: is.reporter, Labels: slices.Clone(is.labels),
		Parent: is.parent, DueDate: is.dueDate, Custom: map[string]any{}, Created: is.created, Updated: is.updated,
	}
	if is.resolution != "" {
		r, _ := lookupResolution(is.resolution)
		out.Resolution = r.name
	}
	if lvl := s.securityLevelOf(is); lvl != nil {
		out.Security = lvl.name
	}
	out.Environment = derefOr(is.environment, "")
	out.Properties = is.properties.clone()
	for k, v := range is.custom {
		if o, ok := v.(fieldOption); ok {
			v = o.value
		}
		out.Custom[k] = v
	}
	for _, c := range is.comments {
		sc := Comment{ID: c.id, Author: c.author, Body: c.body, Created: c.created, Updated: c.updated, Properties: c.properties.clone()}
		if c.visibility != nil {
			sc.Visibility = &Visibility{Type: c.visibility.typ, Value: c.visibility.value}
		}
		out.Comments = append(out.Comments, sc)
	}
	for _, a := range is.attachments {
		out.Attachments = append(out.Attachments, Attachment{ID: a.id, Filename: a.filename, MimeType: a.mimeType, Author: a.author, Content: slices.Clone(a.content),
			Size: a.size, CRC32C: a.crc32c, Received: a.received})
	}
	for _, l := range is.links {
		rl := RemoteLink{ID: l.id, GlobalID: l.globalID, Relationship: l.relationship, Object: l.object, Application: l.application}
		rl.URL, _ = l.object["url"].(string)
		rl.Title, _ = l.object["title"].(string)
		out.RemoteLinks = append(out.RemoteLinks, rl)
	}
	return out
}

// Issue returns a snapshot of the issue with this key or id.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueByKey(key)
	if is == nil {
		return Issue{}, false
	}
	return s.snapshot(is), true
}

// Issues returns snapshots of every issue, in creation order.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, is := range s.issues {
		out = append(out, s.snapshot(is))
	}
	return out
}

// Users lists the usernames of the seeded users.
func (s *Server) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, u := range s.users {
		out = append(out, u.name)
	}
	return out
}
