package jira

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// This file checks a webhook body the way encoding/json would decode it
// into WebhookEvent, in one pass over the bytes and without building the
// event: CheckWebhook must refuse exactly what ParseWebhook refuses, at a
// fraction of its cost (the receiver runs it on every delivery, on the
// same cores as the jobs that parse the deliveries afterwards).
//
// The shape it checks against is derived once from the Go types with
// reflect, so WebhookEvent and the types it reaches stay the one
// description of a delivery. What encoding/json does and this file
// mirrors: the whole body must be valid JSON (nesting at most 10,000
// deep); an object's keys match a struct's fields exactly, else
// case-insensitively (Unicode simple folding), and unknown keys are
// skipped; a key given twice is decoded twice; null is accepted for every
// type; a string is never a number nor a number a string; an integer must
// be written without fraction or exponent and fit its type; a type with
// its own UnmarshalJSON gets the raw value. The differential fuzz test
// (FuzzCheckWebhook) holds it to ParseWebhook.

// shapeKind is what a Go type accepts of a JSON value.
type shapeKind uint8

const (
	shapeAny    shapeKind = iota // any value: json.RawMessage, WikiText
	shapeString                  // a string
	shapeBool                    // true or false
	shapeInt                     // an integer that fits bits
	shapeStruct                  // an object, its keys matched to fields
	shapeMap                     // an object of elem values
	shapeSlice                   // an array of elem values
	shapeCustom                  // whatever typ's UnmarshalJSON accepts
	shapePtr                     // null, which sets the pointer nil, or elem
)

// shape is what a Go type accepts, derived from it by shapeOf.
type shape struct {
	kind shapeKind
	bits int    // shapeInt
	elem *shape // shapeMap, shapeSlice, shapePtr
	// shapeStruct: fields by JSON name, and by folded JSON name (the
	// first field of each folded name, as encoding/json keeps).
	exact, folded map[string]*shapeField
	typ           reflect.Type // shapeCustom: a non-pointer type
}

// shapeField is a struct field: its JSON and Go names, its index in the
// struct and what it accepts.
type shapeField struct {
	name, goName string
	index        int
	shape        *shape
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
)

// override is the shape of a type with an UnmarshalJSON of its own whose
// acceptance is known without calling it (which would decode the value
// again), or nil.
func (b *shapeBuilder) override(t reflect.Type) *shape {
	switch t {
	case reflect.TypeFor[json.RawMessage]():
		// Keeps any value as it is.
		return &shape{kind: shapeAny}
	case reflect.TypeFor[WikiText]():
		// Decodes a string (valid once the body is) and reads anything
		// else as "".
		return &shape{kind: shapeAny}
	case reflect.TypeFor[IssueFields]():
		// Decodes issueFieldsAlias, then the same value into a map of raw
		// values, which every object (and null) passes.
		return b.of(reflect.TypeFor[issueFieldsAlias]())
	}
	return nil
}

// shapeBuilder derives shapes, each type once (types are recursive:
// Issue.Fields.Parent is an *Issue).
type shapeBuilder struct{ done map[reflect.Type]*shape }

// webhookShape is WebhookEvent's shape, derived on first use.
var webhookShape = sync.OnceValue(func() *shape {
	b := &shapeBuilder{done: map[reflect.Type]*shape{}}
	return b.of(reflect.TypeFor[WebhookEvent]())
})

// of returns t's shape. It panics on what encoding/json would decode in a
// way this file does not mirror (embedded fields, the string option,
// floats, interfaces, text unmarshalers); the tests derive WebhookEvent's
// shape, so a type that brings one in fails them.
func (b *shapeBuilder) of(t reflect.Type) *shape {
	if s, ok := b.done[t]; ok {
		return s
	}
	if s := b.override(t); s != nil {
		b.done[t] = s
		return s
	}
	s := &shape{}
	b.done[t] = s // before the fields, which may lead back to t
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType):
		s.kind, s.typ = shapeCustom, t
		return s
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		panic(fmt.Sprintf("jira: webhook shape: %v decodes as text, which CheckWebhook does not mirror", t))
	}
	switch t.Kind() {
	case reflect.Pointer:
		s.kind, s.elem = shapePtr, b.of(t.Elem())
	case reflect.String:
		s.kind = shapeString
	case reflect.Bool:
		s.kind = shapeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.kind, s.bits = shapeInt, t.Bits()
	case reflect.Slice:
		s.kind, s.elem = shapeSlice, b.of(t.Elem())
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("jira: webhook shape: map key %v is not a string", t.Key()))
		}
		s.kind, s.elem = shapeMap, b.of(t.Elem())
	case reflect.Struct:
		s.kind, s.exact, s.folded = shapeStruct, map[string]*shapeField{}, map[string]*shapeField{}
		for f := range structFields(t) {
			field := &shapeField{name: f.name, goName: f.goName, index: f.index, shape: b.of(f.typ)}
			s.exact[f.name] = field
			if k := string(foldName([]byte(f.name))); s.folded[k] == nil {
				s.folded[k] = field
			}
		}
	default:
		panic(fmt.Sprintf("jira: webhook shape: %v (%v) is not mirrored by CheckWebhook", t, t.Kind()))
	}
	return s
}

type goField struct {
	name, goName string
	index        int
	typ          reflect.Type
}

// structFields are the fields encoding/json decodes of t, for the types
// of this package: exported, not embedded, named by their json tag.
func structFields(t reflect.Type) func(yield func(goField) bool) {
	return func(yield func(goField) bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			if f.Anonymous {
				panic(fmt.Sprintf("jira: webhook shape: %v embeds %v, which CheckWebhook does not mirror", t, f.Type))
			}
			name, opts, _ := strings.Cut(tag, ",")
			for o := range strings.SplitSeq(opts, ",") {
				if o == "string" {
					panic(fmt.Sprintf("jira: webhook shape: %v.%s has the string option", t, f.Name))
				}
			}
			if name == "" {
				name = f.Name
			}
			if !yield(goField{name: name, goName: f.Name, index: i, typ: f.Type}) {
				return
			}
		}
	}
}

// foldName is encoding/json's (fold.go): names equal under it match
// case-insensitively.
func foldName(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune is the smallest rune of r's fold set.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// checkError says where and why a body does not decode.
type checkError struct {
	path   []string // innermost first
	offset int
	msg    string
}

func (e *checkError) Error() string {
	if len(e.path) == 0 {
		return fmt.Sprintf("%s at offset %d", e.msg, e.offset)
	}
	p := make([]string, len(e.path))
	for i, s := range e.path {
		p[len(p)-1-i] = s
	}
	return fmt.Sprintf("%s: %s at offset %d", strings.Join(p, "."), e.msg, e.offset)
}

// within adds a field name to err's path, on its way out.
func within(err error, name string) error {
	if ce := (*checkError)(nil); errors.As(err, &ce) {
		ce.path = append(ce.path, name)
	}
	return err
}

// hook receives the summary's values as the check passes them: field is
// called before a struct field's value is checked and returns the hook
// for inside it (nil: none), value after, with the raw value.
type hook interface {
	field(f *shapeField) hook
	value(f *shapeField, raw []byte) error
}

// checker is one pass over a body.
type checker struct {
	data  []byte
	depth int
}

func (c *checker) fail(i int, format string, args ...any) error {
	return &checkError{offset: i, msg: fmt.Sprintf(format, args...)}
}

func (c *checker) space(i int) int {
	for i < len(c.data) {
		switch c.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// what names the JSON value starting at i, for errors.
func (c *checker) what(i int) string {
	switch c.data[i] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// value checks the value at i (after white space) against s and returns
// where it ends.
func (c *checker) value(s *shape, i int, h hook) (int, error) {
	if i >= len(c.data) {
		return i, c.fail(i, "unexpected end of JSON input")
	}
	ch := c.data[i]
	if ch == 'n' {
		if !c.literal(i, "null") {
			return i, c.fail(i, "invalid character %q looking for beginning of value", ch)
		}
		if s.kind == shapeCustom {
			return i + 4, c.custom(s, i, i+4)
		}
		return i + 4, nil
	}
	switch s.kind {
	case shapePtr:
		return c.value(s.elem, i, h)
	case shapeAny:
		return c.skip(i)
	case shapeCustom:
		end, err := c.skip(i)
		if err != nil {
			return end, err
		}
		return end, c.custom(s, i, end)
	}
	switch ch {
	case '{':
		switch s.kind {
		case shapeStruct, shapeMap:
			return c.object(s, i, h)
		}
	case '[':
		if s.kind == shapeSlice {
			return c.array(s.elem, i)
		}
	case '"':
		if s.kind == shapeString {
			end, _, err := c.str(i)
			return end, err
		}
	case 't', 'f':
		if s.kind == shapeBool {
			if c.literal(i, "true") {
				return i + 4, nil
			}
			if c.literal(i, "false") {
				return i + 5, nil
			}
			return i, c.fail(i, "invalid character %q in literal", ch)
		}
	default:
		end, err := c.number(i)
		if err != nil || s.kind != shapeInt {
			break
		}
		if _, perr := strconv.ParseInt(string(c.data[i:end]), 10, s.bits); perr != nil {
			return i, c.fail(i, "number %s does not fit an int%d", c.data[i:end], s.bits)
		}
		return end, nil
	}
	if end, err := c.skip(i); err != nil {
		return end, err // a syntax error is what encoding/json reports first
	}
	return i, c.fail(i, "%s where %s belongs", c.what(i), s.describe())
}

func (s *shape) describe() string {
	switch s.kind {
	case shapeString:
		return "a string"
	case shapeBool:
		return "a boolean"
	case shapeInt:
		return "an integer"
	case shapeStruct, shapeMap:
		return "an object"
	case shapeSlice:
		return "an array"
	}
	return "a value"
}

// custom checks raw with the UnmarshalJSON of s's type.
func (c *checker) custom(s *shape, start, end int) error {
	u := reflect.New(s.typ).Interface().(json.Unmarshaler) //nolint:forcetypeassert // shapeOf checked it
	if err := u.UnmarshalJSON(c.data[start:end]); err != nil {
		return c.fail(start, "%v", err)
	}
	return nil
}

func (c *checker) literal(i int, lit string) bool {
	return len(c.data)-i >= len(lit) && string(c.data[i:i+len(lit)]) == lit
}

func (c *checker) enter(i int) error {
	c.depth++
	if c.depth > maxDepth {
		return c.fail(i, "exceeded max depth")
	}
	return nil
}

// object checks the object at i against s (a struct or a map).
func (c *checker) object(s *shape, i int, h hook) (int, error) {
	if err := c.enter(i); err != nil {
		return i, err
	}
	defer func() { c.depth-- }()
	i = c.space(i + 1)
	if i < len(c.data) && c.data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(c.data) || c.data[i] != '"' {
			return i, c.syntax(i, "looking for beginning of object key string")
		}
		kEnd, plain, err := c.str(i)
		if err != nil {
			return kEnd, err
		}
		var f *shapeField
		elem := s.elem
		if s.kind == shapeStruct {
			f, err = s.field(c.data[i:kEnd], plain)
			if err != nil {
				return i, err
			}
			elem = anyShape
			if f != nil {
				elem = f.shape
			}
		}
		i = c.space(kEnd)
		if i >= len(c.data) || c.data[i] != ':' {
			return i, c.syntax(i, "after object key")
		}
		i = c.space(i + 1)
		var inner hook
		if h != nil && f != nil {
			inner = h.field(f)
		}
		start := i
		if i, err = c.value(elem, i, inner); err != nil {
			if f != nil {
				return i, within(err, f.name)
			}
			return i, err
		}
		if h != nil && f != nil {
			if err := h.value(f, c.data[start:i]); err != nil {
				return i, err
			}
		}
		var more bool
		if i, more, err = c.next(i, '}', "after object key:value pair"); !more {
			return i, err
		}
	}
}

// next reads past the comma or the closing byte after an element: more
// is whether another element follows.
func (c *checker) next(i int, closing byte, context string) (_ int, more bool, _ error) {
	i = c.space(i)
	switch {
	case i >= len(c.data):
		return i, false, c.fail(i, "unexpected end of JSON input")
	case c.data[i] == ',':
		return c.space(i + 1), true, nil
	case c.data[i] == closing:
		return i + 1, false, nil
	}
	return i, false, c.syntax(i, context)
}

var anyShape = &shape{kind: shapeAny}

// field finds the struct field of the quoted key: by its exact name, else
// its folded one. A key with escapes or other than ASCII is unquoted as
// encoding/json does (invalid UTF-8 becomes U+FFFD).
func (s *shape) field(quoted []byte, plain bool) (*shapeField, error) {
	key := quoted[1 : len(quoted)-1]
	if !plain {
		var k string
		if err := json.Unmarshal(quoted, &k); err != nil {
			return nil, fmt.Errorf("jira: webhook key %s: %w", quoted, err)
		}
		key = []byte(k)
	}
	if f := s.exact[string(key)]; f != nil {
		return f, nil
	}
	if plain && len(key) <= 64 {
		var buf [64]byte
		for i, c := range key {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			buf[i] = c
		}
		return s.folded[string(buf[:len(key)])], nil
	}
	return s.folded[string(foldName(key))], nil
}

// array checks the array at i, each element against elem.
func (c *checker) array(elem *shape, i int) (int, error) {
	if err := c.enter(i); err != nil {
		return i, err
	}
	defer func() { c.depth-- }()
	i = c.space(i + 1)
	if i < len(c.data) && c.data[i] == ']' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		var err error
		if i, err = c.value(elem, i, nil); err != nil {
			return i, within(err, strconv.Itoa(n))
		}
		var more bool
		if i, more, err = c.next(i, ']', "after array element"); !more {
			return i, err
		}
	}
}

func (c *checker) syntax(i int, context string) error {
	if i >= len(c.data) {
		return c.fail(i, "unexpected end of JSON input")
	}
	return c.fail(i, "invalid character %q %s", c.data[i], context)
}

// skip checks that a valid value starts at i and returns its end.
func (c *checker) skip(i int) (int, error) {
	if i >= len(c.data) {
		return i, c.fail(i, "unexpected end of JSON input")
	}
	switch ch := c.data[i]; ch {
	case '{':
		return c.object(anyObject, i, nil)
	case '[':
		return c.array(anyShape, i)
	case '"':
		end, _, err := c.str(i)
		return end, err
	case 't':
		if c.literal(i, "true") {
			return i + 4, nil
		}
	case 'f':
		if c.literal(i, "false") {
			return i + 5, nil
		}
	case 'n':
		if c.literal(i, "null") {
			return i + 4, nil
		}
	default:
		if ch == '-' || ('0' <= ch && ch <= '9') {
			return c.number(i)
		}
		return i, c.syntax(i, "looking for beginning of value")
	}
	return i, c.fail(i, "invalid literal")
}

var anyObject = &shape{kind: shapeMap, elem: anyShape}

// strSpecial marks the bytes a string's plain run stops at.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = true
	}
	return t
}()

// str checks the string at i and returns its end and whether its bytes
// are its value (ASCII without escapes).
func (c *checker) str(i int) (end int, plain bool, err error) {
	d := c.data
	plain = true
	j := i + 1
	for {
		for j < len(d) && !strSpecial[d[j]] {
			j++
		}
		if j >= len(d) {
			return j, false, c.fail(j, "unexpected end of JSON input")
		}
		switch ch := d[j]; {
		case ch == '"':
			return j + 1, plain, nil
		case ch == '\\':
			plain = false
			if j+1 >= len(d) {
				return j, false, c.fail(j, "unexpected end of JSON input")
			}
			switch d[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for k := j + 2; k < j+6; k++ {
					if k >= len(d) {
						return k, false, c.fail(k, "unexpected end of JSON input")
					}
					if !isHex(d[k]) {
						return k, false, c.fail(k, "invalid character %q in \\u hexadecimal character escape", d[k])
					}
				}
				j += 6
			default:
				return j, false, c.fail(j+1, "invalid character %q in string escape code", d[j+1])
			}
		case ch < 0x20:
			return j, false, c.fail(j, "invalid character %q in string literal", ch)
		default: // not ASCII: encoding/json takes any byte here
			plain = false
			j++
		}
	}
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// number checks the number at i (JSON's grammar) and returns its end.
func (c *checker) number(i int) (int, error) {
	d := c.data
	j := i
	if j < len(d) && d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && '1' <= d[j] && d[j] <= '9':
		for j < len(d) && '0' <= d[j] && d[j] <= '9' {
			j++
		}
	default:
		return j, c.syntax(j, "in numeric literal")
	}
	if j < len(d) && d[j] == '.' {
		j++
		if j >= len(d) || d[j] < '0' || d[j] > '9' {
			return j, c.syntax(j, "after decimal point in numeric literal")
		}
		for j < len(d) && '0' <= d[j] && d[j] <= '9' {
			j++
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if j >= len(d) || d[j] < '0' || d[j] > '9' {
			return j, c.syntax(j, "in exponent of numeric literal")
		}
		for j < len(d) && '0' <= d[j] && d[j] <= '9' {
			j++
		}
	}
	return j, nil
}

// unquote is the value of a checked string.
func unquote(raw []byte, plain bool) (string, error) {
	if plain {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("jira: webhook string %.40s: %w", raw, err)
	}
	return s, nil
}

// summaryHook fills a WebhookSummary as encoding/json would fill
// WebhookEvent's fields of the same Go names: a repeated key decodes
// again into what the first made (an issue's id and key from two objects
// merge), null sets a pointer nil and leaves anything else as it was.
type summaryHook struct{ s *WebhookSummary }

func (h summaryHook) field(f *shapeField) hook {
	switch f.goName {
	case "Issue":
		if h.s.Issue == nil {
			h.s.Issue = &struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			}{}
		}
		return idHook{id: &h.s.Issue.ID, key: &h.s.Issue.Key}
	case "Changelog":
		if h.s.Changelog == nil {
			h.s.Changelog = &struct {
				ID string `json:"id"`
			}{}
		}
		return idHook{id: &h.s.Changelog.ID}
	case "Comment":
		if h.s.Comment == nil {
			h.s.Comment = &struct {
				ID string `json:"id"`
			}{}
		}
		return idHook{id: &h.s.Comment.ID}
	}
	return nil
}

func (h summaryHook) value(f *shapeField, raw []byte) error {
	isNull := string(raw) == "null"
	switch f.goName {
	case "Timestamp":
		if !isNull {
			n, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return fmt.Errorf("jira: webhook timestamp: %w", err)
			}
			h.s.Timestamp = n
		}
	case "WebhookEvent":
		return setString(&h.s.WebhookEvent, raw)
	case "Issue":
		if isNull {
			h.s.Issue = nil
		}
	case "Changelog":
		if isNull {
			h.s.Changelog = nil
		}
	case "Comment":
		if isNull {
			h.s.Comment = nil
		}
	}
	return nil
}

// setString stores the checked string raw in *dst; null leaves it.
func setString(dst *string, raw []byte) error {
	if string(raw) == "null" {
		return nil
	}
	plain := true
	for _, c := range raw[1 : len(raw)-1] {
		if strSpecial[c] {
			plain = false
			break
		}
	}
	s, err := unquote(raw, plain)
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// idHook takes the ID (and Key) of the issue, changelog or comment.
type idHook struct{ id, key *string }

func (idHook) field(*shapeField) hook { return nil }

func (h idHook) value(f *shapeField, raw []byte) error {
	switch {
	case f.goName == "ID":
		return setString(h.id, raw)
	case f.goName == "Key" && h.key != nil:
		return setString(h.key, raw)
	}
	return nil
}

// eventHook decodes the event's fields with encoding/json as the check
// passes them, but for the issue's fields: each value on its own decodes
// as it does inside the whole body (into what an earlier key of the same
// name made, null leaving a non-pointer as it was), and cannot fail once
// checked.
type eventHook struct{ e *WebhookEvent }

func (h eventHook) field(f *shapeField) hook {
	if f.goName != "Issue" {
		return nil
	}
	if h.e.Issue == nil {
		h.e.Issue = &Issue{}
	}
	return issueHook{h.e.Issue}
}

func (h eventHook) value(f *shapeField, raw []byte) error {
	if f.goName == "Issue" {
		if string(raw) == "null" {
			h.e.Issue = nil
		}
		return nil
	}
	return decodeField(h.e, f, raw)
}

// issueHook decodes an issue's fields but its Fields.
type issueHook struct{ is *Issue }

func (issueHook) field(*shapeField) hook { return nil }

func (h issueHook) value(f *shapeField, raw []byte) error {
	if f.goName == "Fields" {
		return nil
	}
	return decodeField(h.is, f, raw)
}

// decodeField decodes raw into the field f of the struct ptr points to.
func decodeField(ptr any, f *shapeField, raw []byte) error {
	dst := reflect.ValueOf(ptr).Elem().Field(f.index).Addr().Interface()
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("jira: webhook %s: %w", f.name, err)
	}
	return nil
}

// checkBody checks body as ParseWebhook decodes it, passing what it meets
// to h.
func checkBody(body []byte, h hook) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return errEmptyWebhook
	}
	c := checker{data: body}
	i := c.space(0)
	end, err := c.value(webhookShape(), i, h)
	if err == nil {
		if end = c.space(end); end < len(body) {
			err = c.fail(end, "invalid character %q after top-level value", body[end])
		}
	}
	if err != nil {
		return fmt.Errorf("jira: webhook body is not a Jira webhook payload: %w", err)
	}
	return nil
}
