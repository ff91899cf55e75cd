package appcomponents

import (
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The widget is the request Asana makes most often, once per attached issue
// on every task a user opens; its answer is written by hand rather than by
// encoding/json's reflection, which was about a tenth of the widget's CPU.
// The bytes are those of httpx.WriteJSON (json.Encoder: HTML characters
// escaped, a newline at the end); FuzzWidgetJSON compares them.

// widgetBufs holds answer buffers between requests; an answer is under a
// kilobyte.
var widgetBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeWidget answers 200 with the widget in one write.
func writeWidget(w http.ResponseWriter, v *widgetResponse) {
	bp := widgetBufs.Get().(*[]byte)
	b := v.appendJSON((*bp)[:0])
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) //nolint:gosec // G705: JSON with <, > and & escaped, as application/json with nosniff; a write error means the client went away
	if cap(b) <= 64<<10 {
		*bp = b
		widgetBufs.Put(bp)
	}
}

// appendJSON appends v as encoding/json marshals it.
func (v *widgetResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"template":`...)
	b = appendJSONString(b, v.Template)
	m := &v.Metadata
	b = append(b, `,"metadata":{"title":`...)
	b = appendJSONString(b, m.Title)
	if m.Subtitle != "" {
		b = append(b, `,"subtitle":`...)
		b = appendJSONString(b, m.Subtitle)
	}
	b = append(b, `,"fields":`...)
	if m.Fields == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range m.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = m.Fields[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"footer":{"footer_type":`...)
	b = appendJSONString(b, m.Footer.FooterType)
	b = appendOptional(b, `,"text":`, m.Footer.Text)
	b = appendOptional(b, `,"last_updated_at":`, m.Footer.LastUpdatedAt)
	b = append(b, '}')
	if m.NumComments != nil {
		b = append(b, `,"num_comments":`...)
		b = strconv.AppendInt(b, int64(*m.NumComments), 10)
	}
	return append(b, "}}"...)
}

func (f *widgetField) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, f.Type)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, f.Name)
	b = appendOptional(b, `,"text":`, f.Text)
	b = appendOptional(b, `,"color":`, f.Color)
	b = appendOptional(b, `,"datetime":`, f.Datetime)
	return append(b, '}')
}

// appendOptional is an omitempty string member.
func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, key...), s)
}

const lowerHex = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes it with HTML
// escaping on (json.Marshal, json.Encoder's default): <, > and & as
// \u003c, \u003e and \u0026, control characters as \b \f \n \r \t or
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
