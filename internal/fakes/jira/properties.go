package jira

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Entity properties: JSON values applications keep on issues and comments
// (/issue/{key}/properties, /comment/{id}/properties), also written with a
// new issue or comment ("properties": [{"key", "value"}]) and read with
// ?properties= on an issue and expand=properties on a comment.

// props maps a property key to its JSON value.
type props map[string]json.RawMessage

// Jira's limits on entity properties.
const (
	maxPropertyKey   = 255
	maxPropertyValue = 32768
)

// propertyInput is one {"key":…, "value":…} of a create request.
type propertyInput struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// checkProperty validates a key and a JSON value; "" when they are fine.
func checkProperty(key string, value []byte) string {
	switch {
	case strings.TrimSpace(key) == "":
		return "The property key cannot be empty."
	case utf8.RuneCountInString(key) > maxPropertyKey:
		return fmt.Sprintf("The property key cannot be longer than %d characters.", maxPropertyKey)
	case len(value) == 0 || !json.Valid(value):
		return "The property value must be valid JSON."
	case utf8.RuneCount(value) > maxPropertyValue:
		return fmt.Sprintf("The property value cannot be longer than %d characters.", maxPropertyValue)
	}
	return ""
}

// propsFrom validates the properties of a create request.
func propsFrom(in []propertyInput) (props, string) {
	if len(in) == 0 {
		return nil, ""
	}
	out := props{}
	for _, p := range in {
		if msg := checkProperty(p.Key, p.Value); msg != "" {
			return nil, msg
		}
		out[p.Key] = slices.Clone(p.Value)
	}
	return out, ""
}

// clone copies the properties for a snapshot (nil when there are none).
func (p props) clone() map[string]json.RawMessage {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(p))
	for k, v := range p {
		out[k] = slices.Clone(v)
	}
	return out
}

// list renders {"key","value"} pairs, sorted by key (comment expand).
func (p props) list() []any {
	out := []any{}
	for _, k := range p.keys() {
		out = append(out, map[string]any{"key": k, "value": p[k]})
	}
	return out
}

func (p props) keys() []string {
	ks := make([]string, 0, len(p))
	for k := range p {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// selected renders the issue's ?properties= selection: "*all", keys, or
// "-key" to leave one out.
func (p props) selected(spec []string) map[string]any {
	out := map[string]any{}
	for _, k := range spec {
		switch {
		case k == "*all":
			for key, v := range p {
				out[key] = v
			}
		case strings.HasPrefix(k, "-"):
		default:
			if v, ok := p[k]; ok {
				out[k] = v
			}
		}
	}
	for _, k := range spec {
		if strings.HasPrefix(k, "-") {
			delete(out, k[1:])
		}
	}
	return out
}

func (s *Server) propertyRoutes(r func(string, authMode, func(profile) bool, handlerFunc)) {
	r("GET "+api+"/issue/{key}/properties", loggedIn, nil, s.issueProperties)
	r("GET "+api+"/issue/{key}/properties/{prop}", loggedIn, nil, s.issueProperties)
	r("PUT "+api+"/issue/{key}/properties/{prop}", loggedIn, nil, s.issueProperties)
	r("DELETE "+api+"/issue/{key}/properties/{prop}", loggedIn, nil, s.issueProperties)
	r("GET "+api+"/comment/{id}/properties", loggedIn, nil, s.commentProperties)
	r("GET "+api+"/comment/{id}/properties/{prop}", loggedIn, nil, s.commentProperties)
	r("PUT "+api+"/comment/{id}/properties/{prop}", loggedIn, nil, s.commentProperties)
	r("DELETE "+api+"/comment/{id}/properties/{prop}", loggedIn, nil, s.commentProperties)
}

// issueProperties serves /issue/{key}/properties[/{prop}]: reading needs
// the issue to be visible, writing Edit Issues.
func (s *Server) issueProperties(w http.ResponseWriter, r *http.Request, u *user) {
	perm := ""
	if r.Method != http.MethodGet {
		perm = permEdit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueFor(w, r.PathValue("key"), u, perm)
	if is == nil {
		return
	}
	if is.properties == nil {
		is.properties = props{}
	}
	s.serveProperties(w, r, is.properties, s.baseURL(r)+"/rest/api/2/issue/"+is.id+"/properties/")
}

// commentProperties serves /comment/{id}/properties[/{prop}]: reading needs
// the comment to be visible, writing the right to edit it.
func (s *Server) commentProperties(w http.ResponseWriter, r *http.Request, u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var is *issue
	var c *comment
	for _, x := range s.issues {
		if y, ok := findBy(x.comments, func(c *comment) bool { return c.id == r.PathValue("id") }); ok {
			is, c = x, y
		}
	}
	if c == nil || !s.canBrowse(u, is) || !s.canSeeComment(u, is, c) {
		s.writeErrors(w, http.StatusNotFound, []string{"Can not find a comment for the id: " + r.PathValue("id") + "."}, nil)
		return
	}
	if r.Method != http.MethodGet && !s.mayChangeComment(u, is, c, "edit") {
		s.writeErrors(w, http.StatusForbidden, []string{"You do not have the permission to edit this comment."}, nil)
		return
	}
	if c.properties == nil {
		c.properties = props{}
	}
	s.serveProperties(w, r, c.properties, s.baseURL(r)+"/rest/api/2/comment/"+c.id+"/properties/")
}

// serveProperties answers the list, read, write and delete of one entity's
// properties; self is the URL prefix of a property. Callers hold s.mu.
func (s *Server) serveProperties(w http.ResponseWriter, r *http.Request, p props, self string) {
	key := r.PathValue("prop")
	switch {
	case r.Method == http.MethodGet && key == "":
		keys := []any{}
		for _, k := range p.keys() {
			keys = append(keys, map[string]any{"self": self + percentEncode(k), "key": k})
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	case r.Method == http.MethodGet:
		v, ok := p[key]
		if !ok {
			s.writeErrors(w, http.StatusNotFound, []string{"The property with key '" + key + "' does not exist."}, nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"key": key, "value": v})
	case r.Method == http.MethodPut:
		b, err := io.ReadAll(io.LimitReader(r.Body, 4*maxPropertyValue+1))
		if err != nil {
			s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
			return
		}
		if msg := checkProperty(key, b); msg != "" {
			s.writeErrors(w, http.StatusBadRequest, []string{msg}, nil)
			return
		}
		status := http.StatusOK
		if _, ok := p[key]; !ok {
			status = http.StatusCreated
		}
		p[key] = b
		w.WriteHeader(status)
	case r.Method == http.MethodDelete:
		if _, ok := p[key]; !ok {
			s.writeErrors(w, http.StatusNotFound, []string{"The property with key '" + key + "' does not exist."}, nil)
			return
		}
		delete(p, key)
		w.WriteHeader(http.StatusNoContent)
	}
}
