package jira

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The JQL subset the emulator understands: AND/OR/NOT and parentheses over
// key|issuekey|id, project, status, statusCategory, issuetype, priority,
// assignee, reporter, labels, resolution (=, !=, in, not in, is [not] empty);
// text|summary|description|comment (~); created|updated with relative
// (-10m, -2h, -1d, -1w) or absolute dates; issue in
// issuesWithRemoteLinksByGlobalId(…); currentUser(); ORDER BY.

type token struct {
	kind string // word, str, op, (, ), ,
	text string
}

func lexJQL(q string) ([]token, error) {
	var out []token
	rs := []rune(q)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{string(c), string(c)})
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for ; j < len(rs) && rs[j] != c; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("Error in the JQL Query: The quoted string '%s' has not been completed.", string(rs[i:]))
			}
			out = append(out, token{"str", b.String()})
			i = j + 1
		case strings.ContainsRune("=!~<>", c):
			j := i + 1
			if j < len(rs) && (rs[j] == '=' || rs[j] == '~') {
				j++
			}
			out = append(out, token{"op", string(rs[i:j])})
			i = j
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !strings.ContainsRune("()=,!~<>\"'", rs[j]) {
				j++
			}
			out = append(out, token{"word", string(rs[i:j])})
			i = j
		}
	}
	return out, nil
}

type jqlParser struct {
	toks []token
	pos  int
	s    *Server
	me   *user
}

type pred func(*issue) bool

type sortKey struct {
	field string
	desc  bool
}

func (p *jqlParser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *jqlParser) next() token { t := p.peek(); p.pos++; return t }

func (p *jqlParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == "word" && strings.EqualFold(t.text, w)
}

// parseJQL compiles q into a predicate and an ordering. Callers hold s.mu.
func (s *Server) parseJQL(q string, me *user) (pred, []sortKey, error) {
	toks, err := lexJQL(q)
	if err != nil {
		return nil, nil, err
	}
	p := &jqlParser{toks: toks, s: s, me: me}
	match := pred(func(*issue) bool { return true })
	if p.peek().kind != "" && !p.isWord("order") {
		if match, err = p.or(); err != nil {
			return nil, nil, err
		}
	}
	var order []sortKey
	if p.isWord("order") {
		p.next()
		if !p.isWord("by") {
			return nil, nil, fmt.Errorf("Error in the JQL Query: Expecting 'by' but got '%s'.", p.peek().text)
		}
		p.next()
		for {
			t := p.next()
			if t.kind != "word" && t.kind != "str" {
				return nil, nil, fmt.Errorf("Error in the JQL Query: Expecting a field name after ORDER BY.")
			}
			k := sortKey{field: strings.ToLower(t.text)}
			if p.isWord("desc") || p.isWord("asc") {
				k.desc = strings.EqualFold(p.next().text, "desc")
			}
			order = append(order, k)
			if p.peek().kind != "," {
				break
			}
			p.next()
		}
	}
	if p.peek().kind != "" {
		return nil, nil, fmt.Errorf("Error in the JQL Query: Expecting either 'OR' or 'AND' but got '%s'.", p.peek().text)
	}
	return match, order, nil
}

func (p *jqlParser) or() (pred, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		a := l
		l = func(is *issue) bool { return a(is) || r(is) }
	}
	return l, nil
}

func (p *jqlParser) and() (pred, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		a := l
		l = func(is *issue) bool { return a(is) && r(is) }
	}
	return l, nil
}

func (p *jqlParser) unary() (pred, error) {
	if p.isWord("not") {
		p.next()
		in, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(is *issue) bool { return !in(is) }, nil
	}
	if p.peek().kind == "(" {
		p.next()
		in, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != ")" {
			return nil, fmt.Errorf("Error in the JQL Query: Expecting ')' before the end of the query.")
		}
		return in, nil
	}
	return p.clause()
}

// value reads one operand; functions are evaluated to their values.
func (p *jqlParser) value() ([]string, error) {
	t := p.next()
	if t.kind != "word" && t.kind != "str" {
		return nil, fmt.Errorf("Error in the JQL Query: Expecting an operand but got '%s'.", t.text)
	}
	if t.kind == "word" && p.peek().kind == "(" {
		p.next()
		var args []string
		for p.peek().kind != ")" {
			a := p.next()
			if a.kind == "," {
				continue
			}
			if a.kind == "" {
				return nil, fmt.Errorf("Error in the JQL Query: Expecting ')' to close function '%s'.", t.text)
			}
			args = append(args, a.text)
		}
		p.next()
		switch strings.ToLower(t.text) {
		case "currentuser":
			if p.me == nil {
				return []string{""}, nil
			}
			return []string{p.me.name}, nil
		case "issueswithremotelinksbyglobalid":
			var keys []string
			for _, is := range p.s.issues {
				if slices.ContainsFunc(is.links, func(l *remoteLink) bool { return slices.Contains(args, l.globalID) }) {
					keys = append(keys, is.key)
				}
			}
			if keys == nil {
				keys = []string{}
			}
			return keys, nil
		}
		return nil, fmt.Errorf("Error in the JQL Query: Unable to find JQL function '%s(%s)'.", t.text, strings.Join(args, ", "))
	}
	return []string{t.text}, nil
}

func (p *jqlParser) list() ([]string, error) {
	if p.peek().kind != "(" {
		return p.value()
	}
	p.next()
	var out []string
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
		t := p.next()
		if t.kind == ")" {
			return out, nil
		}
		if t.kind != "," {
			return nil, fmt.Errorf("Error in the JQL Query: Expecting ',' or ')' but got '%s'.", t.text)
		}
	}
}

// fieldValues returns the comparable values of a field on an issue.
func (p *jqlParser) fieldValues(field string, is *issue) ([]string, bool) {
	switch field {
	case "key", "issuekey", "issue", "id":
		return []string{is.key, is.id}, true
	case "project":
		return []string{is.project.key, is.project.id, is.project.name}, true
	case "status":
		st := lookupStatus(is.statusID)
		return []string{st.name, st.id}, true
	case "statuscategory":
		c := lookupCategory(lookupStatus(is.statusID).category)
		return []string{c.name, c.key, itoa(c.id)}, true
	case "issuetype", "type":
		t, _ := lookupIssueType(is.typeID)
		return []string{t.name, t.id}, true
	case "priority":
		pr, _ := lookupPriority(is.priorityID)
		return []string{pr.name, pr.id}, true
	case "assignee":
		return nonEmpty(is.assignee), true
	case "reporter":
		return nonEmpty(is.reporter), true
	case "labels":
		return is.labels, true
	case "resolution":
		if is.resolution == "" {
			return nil, true
		}
		r, _ := lookupResolution(is.resolution)
		return []string{r.name, r.id}, true
	}
	return nil, false
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

var relDate = regexp.MustCompile(`^([-+]?)(\d+)([mhdw])$`)

// parseJQLDate reads a JQL date operand: relative to now, or an absolute
// date read in loc, the calling user's time zone, as Jira reads it.
func parseJQLDate(v string, now time.Time, loc *time.Location) (time.Time, error) {
	if m := relDate.FindStringSubmatch(strings.ToLower(v)); m != nil {
		n, _ := strconv.Atoi(m[2])
		unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[3]]
		d := time.Duration(n) * unit
		if m[1] == "-" {
			d = -d
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006/01/02 15:04", "2006-01-02", "2006/01/02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("Error in the JQL Query: Date value '%s' for field is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", v)
}

func (p *jqlParser) clause() (pred, error) {
	ft := p.next()
	if ft.kind != "word" && ft.kind != "str" {
		return nil, fmt.Errorf("Error in the JQL Query: Expecting a field name but got '%s'.", ft.text)
	}
	field := strings.ToLower(ft.text)
	var op string
	switch t := p.peek(); {
	case t.kind == "op":
		op = p.next().text
	case p.isWord("in"):
		p.next()
		op = "in"
	case p.isWord("not"):
		p.next()
		if !p.isWord("in") {
			return nil, fmt.Errorf("Error in the JQL Query: Expecting 'in' after 'not'.")
		}
		p.next()
		op = "not in"
	case p.isWord("is"):
		p.next()
		neg := false
		if p.isWord("not") {
			p.next()
			neg = true
		}
		if !p.isWord("empty") && !p.isWord("null") {
			return nil, fmt.Errorf("Error in the JQL Query: Expecting EMPTY after IS.")
		}
		p.next()
		if _, ok := p.fieldValues(field, &issue{project: &project{}}); !ok {
			return nil, unknownField(ft.text)
		}
		return func(is *issue) bool { v, _ := p.fieldValues(field, is); return (len(v) == 0) != neg }, nil
	default:
		return nil, fmt.Errorf("Error in the JQL Query: Expecting operator but got '%s'.", t.text)
	}
	switch field {
	case "text", "summary", "description", "comment":
		if op != "~" && op != "!~" {
			return nil, fmt.Errorf("Error in the JQL Query: The operator '%s' is not supported by the '%s' field.", op, ft.text)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		needle := strings.ToLower(strings.Trim(v[0], "*"))
		return func(is *issue) bool {
			var hay []string
			if field == "text" || field == "summary" {
				hay = append(hay, is.summary)
			}
			if (field == "text" || field == "description") && is.description != nil {
				hay = append(hay, *is.description)
			}
			if field == "text" || field == "comment" {
				for _, c := range p.s.visibleComments(p.me, is) {
					hay = append(hay, c.body)
				}
			}
			found := slices.ContainsFunc(hay, func(h string) bool { return strings.Contains(strings.ToLower(h), needle) })
			return found == (op == "~")
		}, nil
	case "created", "updated", "resolutiondate", "resolved":
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		at, err := parseJQLDate(v[0], p.s.now(), zoneOf(p.me))
		if err != nil {
			return nil, err
		}
		get := func(is *issue) time.Time {
			switch field {
			case "created":
				return is.created
			case "updated":
				return is.updated
			}
			return is.resolved
		}
		cmp := map[string]func(a, b time.Time) bool{
			">=": func(a, b time.Time) bool { return !a.Before(b) }, ">": func(a, b time.Time) bool { return a.After(b) },
			"<=": func(a, b time.Time) bool { return !a.After(b) }, "<": func(a, b time.Time) bool { return a.Before(b) },
			"=": func(a, b time.Time) bool { return a.Equal(b) }, "!=": func(a, b time.Time) bool { return !a.Equal(b) },
		}[op]
		if cmp == nil {
			return nil, fmt.Errorf("Error in the JQL Query: The operator '%s' is not supported by the '%s' field.", op, ft.text)
		}
		return func(is *issue) bool {
			t := get(is)
			return !t.IsZero() && cmp(t, at)
		}, nil
	}
	if _, ok := p.fieldValues(field, &issue{project: &project{}}); !ok {
		return nil, unknownField(ft.text)
	}
	var vals []string
	var err error
	switch op {
	case "in", "not in":
		vals, err = p.list()
	case "=", "!=":
		vals, err = p.value()
	default:
		return nil, fmt.Errorf("Error in the JQL Query: The operator '%s' is not supported by the '%s' field.", op, ft.text)
	}
	if err != nil {
		return nil, err
	}
	if field == "project" {
		// A project the caller may not browse does not exist for it. Jira
		// itself (nil caller: webhook filters) sees every project.
		for _, v := range vals {
			pr := p.s.projectByKey(v)
			if pr == nil {
				pr, _ = findBy(p.s.projects, func(pr *project) bool { return strings.EqualFold(pr.name, v) })
			}
			if pr == nil || p.me != nil && !p.s.canBrowseProject(p.me, pr) {
				return nil, fmt.Errorf("Error in the JQL Query: The value '%s' does not exist for the field 'project'.", v)
			}
		}
	}
	want := op == "=" || op == "in"
	return func(is *issue) bool {
		have, _ := p.fieldValues(field, is)
		hit := slices.ContainsFunc(vals, func(v string) bool {
			return slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, v) })
		})
		return hit == want
	}, nil
}

// zoneOf is u's time zone (its profile's timeZone); Jira's own (UTC here)
// for nobody.
func zoneOf(u *user) *time.Location {
	if u != nil {
		if loc, err := time.LoadLocation(u.timeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

func unknownField(f string) error {
	return fmt.Errorf("Error in the JQL Query: Field '%s' does not exist or you do not have permission to view it.", f)
}

func lessBy(k sortKey, a, b *issue) int {
	var c int
	switch k.field {
	case "created":
		c = a.created.Compare(b.created)
	case "updated":
		c = a.updated.Compare(b.updated)
	case "priority":
		c = strings.Compare(a.priorityID, b.priorityID)
	case "summary":
		c = strings.Compare(a.summary, b.summary)
	default: // key, id, rank and anything else: by project then number
		c = strings.Compare(a.project.key, b.project.key)
		if c == 0 {
			an, _ := strconv.Atoi(a.id)
			bn, _ := strconv.Atoi(b.id)
			c = an - bn
		}
	}
	if k.desc {
		c = -c
	}
	return c
}

// search is GET and POST /rest/api/2/search.
func (s *Server) search(w http.ResponseWriter, r *http.Request, u *user) {
	var in struct {
		JQL          string   `json:"jql"`
		StartAt      int      `json:"startAt"`
		MaxResults   *int     `json:"maxResults"`
		Fields       []string `json:"fields"`
		Expand       []string `json:"expand"`
		ValidateQury any      `json:"validateQuery"`
	}
	if r.Method == http.MethodPost {
		if err := decodeBody(r, &in); err != nil {
			s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
			return
		}
	} else {
		q := r.URL.Query()
		in.JQL = q.Get("jql")
		in.StartAt = intParam(r, "startAt", 0)
		if q.Has("maxResults") {
			m := intParam(r, "maxResults", 50)
			in.MaxResults = &m
		}
		for _, f := range q["fields"] {
			in.Fields = append(in.Fields, splitList(f)...)
		}
		in.Expand = splitList(q.Get("expand"))
	}
	max := 50
	if in.MaxResults != nil {
		max = min(*in.MaxResults, 1000)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	match, order, err := s.parseJQL(in.JQL, u)
	if err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	var hits []*issue
	for _, is := range s.issues {
		// Issues the caller may not see are never found, without an error.
		if s.canBrowse(u, is) && match(is) {
			hits = append(hits, is)
		}
	}
	if len(order) == 0 {
		order = []sortKey{{field: "key", desc: true}}
	}
	slices.SortStableFunc(hits, func(a, b *issue) int {
		for _, k := range order {
			if c := lessBy(k, a, b); c != 0 {
				return c
			}
		}
		return 0
	})
	base := s.baseURL(r)
	issues := []any{}
	for _, is := range page(hits, in.StartAt, max) {
		issues = append(issues, s.issueJSON(base, is, u, in.Fields, "*navigable", in.Expand))
	}
	writeJSON(w, http.StatusOK, map[string]any{"expand": "schema,names", "startAt": in.StartAt, "maxResults": max, "total": len(hits), "issues": issues})
}

var _ = json.Marshal
