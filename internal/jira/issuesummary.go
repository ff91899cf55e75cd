package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// IssueSummary is what a glance at an issue shows: its names, dates and
// comment count, as GET issue returns them for SummaryFields.
type IssueSummary struct {
	ID, Key string
	Summary string
	// Status is the status's name, StatusCategory its category's key (new,
	// indeterminate, done, undefined).
	Status, StatusCategory string
	// Assignee is the assignee's display name.
	Assignee string
	// Priority, IssueType and Resolution are names.
	Priority, IssueType, Resolution string
	// DueDate is as Jira sends it (2006-01-02).
	DueDate string
	Updated Time
	// Comments is comment.total.
	Comments int
}

// SummaryFields are the fields GetIssueSummary asks Jira for.
var SummaryFields = []string{"summary", "status", "assignee", "priority", "issuetype", "duedate", "resolution", "updated", "comment"}

// summaryQuery is GetIssueSummary's query string, built once.
var summaryQuery = url.Values{"fields": {strings.Join(SummaryFields, ",")}}.Encode()

// GetIssueSummary reads what IssueSummary holds of an issue. Its answer
// is decoded by ParseIssueSummary rather than encoding/json: the comment
// field carries every comment, which encoding/json scans twice (to find
// the value's end, then to decode it) and reflects over, for a count;
// that was half the widget's CPU. ErrNotFound also means the user may
// not see the issue.
func (c *Client) GetIssueSummary(ctx context.Context, idOrKey string) (*IssueSummary, error) {
	var s IssueSummary
	req, err := c.NewRequest(ctx, http.MethodGet, "rest/api/2/issue/"+pathEscape(idOrKey)+"?"+summaryQuery, nil)
	if err != nil {
		return nil, err
	}
	if _, err := c.Do(req, (*summaryBody)(&s)); err != nil {
		return nil, err
	}
	return &s, nil
}

// summaryBody is an IssueSummary that decodeBody hands the whole body.
type summaryBody IssueSummary

func (s *summaryBody) decodeJSON(b []byte) error { return (*IssueSummary)(s).UnmarshalJSON(b) }

// UnmarshalJSON implements json.Unmarshaler with ParseIssueSummary.
func (s *IssueSummary) UnmarshalJSON(b []byte) error { return ParseIssueSummary(b, s) }

// ParseIssueSummary decodes an issue as GET issue or a webhook sends it
// into s, reading only what IssueSummary holds and skipping the rest
// without decoding it. It accepts and rejects what encoding/json does
// for the equivalent struct (FuzzParseIssueSummary compares them): the
// document is checked whole, keys match case-insensitively after an
// exact match fails, a repeated key decodes again over the first, null
// leaves a name as it is (a null status clears the status and its
// category, as encoding/json's nil pointer does), and a value of the
// wrong type is an error after the rest is checked.
func ParseIssueSummary(b []byte, s *IssueSummary) error {
	p := summaryParser{b: b}
	p.space()
	switch {
	case p.literal("null"): // no-op, as for encoding/json
	case p.peek() == '{':
		p.object((*summaryParser).top, s, 1)
	default:
		p.mismatch("issue")
		p.skip(0)
	}
	if p.err == nil {
		p.space()
		if p.i < len(p.b) {
			p.syntax("after the issue")
		}
	}
	if p.err != nil {
		return p.err
	}
	return p.typeErr
}

// maxSummaryDepth is encoding/json's nesting limit.
const maxSummaryDepth = 10000

// summaryParser walks one JSON document. err is the first syntax error,
// which ends the walk; typeErr the first value of a wrong type, which
// does not.
type summaryParser struct {
	b       []byte
	i       int
	err     error
	typeErr error
}

func (p *summaryParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *summaryParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *summaryParser) syntax(where string) {
	if p.err == nil {
		if p.i >= len(p.b) {
			p.err = fmt.Errorf("jira: issue JSON ends early %s", where)
		} else {
			p.err = fmt.Errorf("jira: issue JSON has an unexpected %q at offset %d %s", p.b[p.i], p.i, where)
		}
	}
}

func (p *summaryParser) mismatch(field string) {
	if p.typeErr == nil {
		p.typeErr = fmt.Errorf("jira: issue JSON has a value of the wrong type at offset %d for %s", p.i, field)
	}
}

// literal consumes word (true, false, null) if it comes next.
func (p *summaryParser) literal(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

// object walks an object whose '{' is next, calling field for each member
// with the parser on the value; field consumes the value.
func (p *summaryParser) object(field func(p *summaryParser, key []byte, s *IssueSummary, depth int), s *IssueSummary, depth int) {
	if !p.open('}', depth) {
		return
	}
	for {
		if p.peek() != '"' {
			p.syntax("where a key belongs")
			return
		}
		raw, escaped := p.str()
		if p.err != nil {
			return
		}
		key := raw
		if escaped {
			key = []byte(unquoteString(raw))
		}
		p.space()
		if p.peek() != ':' {
			p.syntax("after a key")
			return
		}
		p.i++
		p.space()
		field(p, key, s, depth)
		if p.err != nil || !p.more('}') {
			return
		}
	}
}

// open consumes the '{' or '[' that is next and the space after it, and
// reports whether members follow (false: it consumed closing too, or the
// nesting is too deep).
func (p *summaryParser) open(closing byte, depth int) bool {
	if depth > maxSummaryDepth {
		p.syntax("(nested too deep)")
		return false
	}
	p.i++
	p.space()
	if p.peek() == closing {
		p.i++
		return false
	}
	return true
}

// more consumes what follows a member or an element: a comma (true:
// another follows) or closing.
func (p *summaryParser) more(closing byte) bool {
	p.space()
	switch p.peek() {
	case ',':
		p.i++
		p.space()
		return true
	case closing:
		p.i++
	default:
		p.syntax("after a member or an element")
	}
	return false
}

// match reports whether key names the field name, as encoding/json
// matches keys: exactly, or else case-insensitively.
func match(key []byte, name string) bool {
	return string(key) == name || bytes.EqualFold(key, []byte(name))
}

// top is the issue's members.
func (p *summaryParser) top(key []byte, s *IssueSummary, depth int) {
	switch {
	case match(key, "id"):
		p.stringInto(&s.ID, depth, "id")
	case match(key, "key"):
		p.stringInto(&s.Key, depth, "key")
	case match(key, "fields"):
		p.objectInto((*summaryParser).fields, s, depth, "fields")
	default:
		p.skip(depth)
	}
}

// fields is the issue's fields.
func (p *summaryParser) fields(key []byte, s *IssueSummary, depth int) {
	switch {
	case match(key, "summary"):
		p.stringInto(&s.Summary, depth, "summary")
	case match(key, "status"):
		if p.literal("null") {
			s.Status, s.StatusCategory = "", ""
			return
		}
		p.objectInto((*summaryParser).status, s, depth, "status")
	case match(key, "assignee"):
		p.nameInto(&s.Assignee, "displayName", depth, "assignee")
	case match(key, "priority"):
		p.nameInto(&s.Priority, "name", depth, "priority")
	case match(key, "issuetype"):
		p.nameInto(&s.IssueType, "name", depth, "issuetype")
	case match(key, "resolution"):
		p.nameInto(&s.Resolution, "name", depth, "resolution")
	case match(key, "duedate"):
		p.stringInto(&s.DueDate, depth, "duedate")
	case match(key, "updated"):
		start := p.i
		p.skip(depth)
		if p.err == nil {
			if err := s.Updated.UnmarshalJSON(p.b[start:p.i]); err != nil && p.typeErr == nil {
				p.typeErr = fmt.Errorf("jira: issue JSON's updated: %w", err)
			}
		}
	case match(key, "comment"):
		p.objectInto(func(p *summaryParser, key []byte, s *IssueSummary, depth int) {
			if !match(key, "total") {
				p.skip(depth)
				return
			}
			if p.literal("null") {
				return
			}
			if c := p.peek(); c != '-' && !isDigit(c) {
				p.mismatch("comment.total")
				p.skip(depth)
				return
			}
			start := p.i
			p.number()
			if p.err != nil {
				return
			}
			// A fraction, an exponent or too many digits: not an int.
			n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 0)
			if err != nil {
				p.mismatch("comment.total")
				return
			}
			s.Comments = int(n)
		}, s, depth, "comment")
	default:
		p.skip(depth)
	}
}

// status is the status's members.
func (p *summaryParser) status(key []byte, s *IssueSummary, depth int) {
	switch {
	case match(key, "name"):
		p.stringInto(&s.Status, depth, "status.name")
	case match(key, "statusCategory"):
		p.nameInto(&s.StatusCategory, "key", depth, "status.statusCategory")
	default:
		p.skip(depth)
	}
}

// nameInto reads member name of an object into dst; null leaves dst.
func (p *summaryParser) nameInto(dst *string, name string, depth int, field string) {
	p.objectInto(func(p *summaryParser, key []byte, s *IssueSummary, depth int) {
		if match(key, name) {
			p.stringInto(dst, depth, field)
			return
		}
		p.skip(depth)
	}, nil, depth, field)
}

// objectInto walks an object value with field; null is no-op, anything
// else a type error.
func (p *summaryParser) objectInto(field func(p *summaryParser, key []byte, s *IssueSummary, depth int), s *IssueSummary, depth int, name string) {
	switch {
	case p.peek() == '{':
		p.object(field, s, depth+1)
	case p.literal("null"):
	default:
		p.mismatch(name)
		p.skip(depth)
	}
}

// stringInto reads a string value into dst; null is no-op, anything else a
// type error.
func (p *summaryParser) stringInto(dst *string, depth int, name string) {
	switch {
	case p.peek() == '"':
		raw, escaped := p.str()
		if p.err != nil {
			return
		}
		if escaped || !isASCII(raw) {
			*dst = unquoteString(raw)
		} else {
			*dst = string(raw)
		}
	case p.literal("null"):
	default:
		p.mismatch(name)
		p.skip(depth)
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// unquoteString decodes the inside of a checked JSON string as encoding/json
// does (escapes, and U+FFFD for bytes that are not UTF-8).
func unquoteString(raw []byte) string {
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	_ = json.Unmarshal(q, &s) // checked by str: cannot fail
	return s
}

// str consumes a string whose '"' is next and returns its inside as sent,
// and whether it holds escapes. Most of a document is strings the summary
// skips, so the scan keeps its index in a local.
func (p *summaryParser) str() (raw []byte, escaped bool) {
	b, i := p.b, p.i+1
	start := i
	for {
		for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
			i++
		}
		p.i = i
		if i >= len(b) || b[i] < 0x20 {
			p.syntax("in a string")
			return nil, false
		}
		if b[i] == '"' {
			p.i = i + 1
			return b[start:i], escaped
		}
		// A backslash: one of JSON's escapes.
		escaped = true
		i++
		if i >= len(b) {
			p.i = i
			p.syntax("in a string")
			return nil, false
		}
		switch b[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			i++
			for range 4 {
				if i >= len(b) || !isHexDigit(b[i]) {
					p.i = i
					p.syntax("in a \\u escape")
					return nil, false
				}
				i++
			}
		default:
			p.i = i
			p.syntax("in a string escape")
			return nil, false
		}
	}
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skip checks and consumes one value the summary does not read; depth is
// the nesting of the object or array it sits in.
func (p *summaryParser) skip(depth int) {
	switch c := p.peek(); {
	case c == '"':
		p.str()
	case c == '{':
		p.object(func(p *summaryParser, _ []byte, _ *IssueSummary, depth int) { p.skip(depth) }, nil, depth+1)
	case c == '[':
		p.array(depth + 1)
	case c == '-' || isDigit(c):
		p.number()
	case p.literal("true"), p.literal("false"), p.literal("null"):
	default:
		p.syntax("where a value belongs")
	}
}

// array checks and consumes an array whose '[' is next.
func (p *summaryParser) array(depth int) {
	if !p.open(']', depth) {
		return
	}
	for {
		p.skip(depth)
		if p.err != nil || !p.more(']') {
			return
		}
	}
}

// number checks and consumes a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *summaryParser) number() {
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		for p.i < len(p.b) && isDigit(p.b[p.i]) {
			p.i++
		}
	default:
		p.syntax("in a number")
		return
	}
	if p.peek() == '.' {
		p.i++
		if !isDigit(p.peek()) {
			p.syntax("in a number")
			return
		}
		for p.i < len(p.b) && isDigit(p.b[p.i]) {
			p.i++
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !isDigit(p.peek()) {
			p.syntax("in a number")
			return
		}
		for p.i < len(p.b) && isDigit(p.b[p.i]) {
			p.i++
		}
	}
}
