package jira

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// summaryOf is the summary ParseWebhook's event states, for comparing
// with CheckWebhook's.
func summaryOf(e *WebhookEvent) *WebhookSummary {
	s := &WebhookSummary{Timestamp: e.Timestamp, WebhookEvent: e.WebhookEvent}
	if e.Issue != nil {
		s.Issue = &struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}{e.Issue.ID, e.Issue.Key}
	}
	if e.Changelog != nil {
		s.Changelog = &struct {
			ID string `json:"id"`
		}{e.Changelog.ID}
	}
	if e.Comment != nil {
		s.Comment = &struct {
			ID string `json:"id"`
		}{e.Comment.ID}
	}
	return s
}

// sameVerdict fails t unless CheckWebhook and ParseWebhookWithoutFields
// refuse body iff ParseWebhook does, and otherwise state the same
// summary and the same event but for the issue's fields. It reports
// whether the body was accepted.
func sameVerdict(t *testing.T, body []byte) bool {
	t.Helper()
	e, perr := ParseWebhook(body)
	s, cerr := CheckWebhook(body)
	w, werr := ParseWebhookWithoutFields(body)
	switch {
	case perr != nil && cerr != nil && werr != nil:
		return false
	case perr != nil:
		t.Fatalf("ParseWebhook refuses %q (%v), CheckWebhook (%v) or ParseWebhookWithoutFields (%v) accepts it", body, perr, cerr, werr)
	case cerr != nil:
		t.Fatalf("CheckWebhook refuses %q (%v), ParseWebhook accepts it", body, cerr)
	case werr != nil:
		t.Fatalf("ParseWebhookWithoutFields refuses %q (%v), ParseWebhook accepts it", body, werr)
	}
	if diff := cmp.Diff(summaryOf(e), s); diff != "" {
		t.Fatalf("summary of %q (-ParseWebhook +CheckWebhook):\n%s", body, diff)
	}
	if e.Issue != nil {
		e.Issue.Fields = IssueFields{}
	}
	if diff := cmp.Diff(e, w, cmp.Comparer(func(a, b Time) bool { return a.Equal(b.Time) })); diff != "" {
		t.Fatalf("event of %q (-ParseWebhook without fields +ParseWebhookWithoutFields):\n%s", body, diff)
	}
	return true
}

// recordedWebhooks are the payloads recorded from real Jira servers.
func recordedWebhooks(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no recorded payloads: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzCheckWebhook holds CheckWebhook and ParseWebhookWithoutFields to
// ParseWebhook: the same bodies refused, the same summary and event (but
// the issue's fields) of the others. Seeded with every recorded
// payload and the edge cases of TestCheckWebhookEdges.
func FuzzCheckWebhook(f *testing.F) {
	for _, b := range recordedWebhooks(f) {
		f.Add(b)
	}
	for _, c := range checkEdgeCases() {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameVerdict(t, body) })
}

// TestCheckWebhookRecorded: every recorded payload, and the payloads with
// one value swapped for a value of another type (the first value of each
// key met in them), get the same verdict and summary from CheckWebhook as
// from ParseWebhook.
func TestCheckWebhookRecorded(t *testing.T) {
	t.Parallel()
	swaps := []string{`null`, `7`, `"x"`, `true`, `[]`, `{}`, `1.5`, `"2019-08-13T07:23:01.890+0800"`}
	swapped := map[string]bool{}
	for _, b := range recordedWebhooks(t) {
		if !sameVerdict(t, b) {
			t.Fatalf("a recorded payload is refused: %.80s", b)
		}
		body := string(b)
		for i := 0; i < len(body); i++ {
			if body[i] != ':' || i < 2 || body[i-1] != '"' {
				continue
			}
			key := body[strings.LastIndexByte(body[:i-1], '"'):i]
			if swapped[key] {
				continue
			}
			swapped[key] = true
			start := i + 1
			for start < len(body) && body[start] == ' ' {
				start++
			}
			c := checker{data: b}
			end, err := c.skip(start)
			if err != nil {
				continue // a colon inside a string
			}
			for _, v := range swaps {
				sameVerdict(t, []byte(body[:start]+v+body[end:]))
			}
		}
	}
}

type checkEdgeCase struct {
	name, body string
	ok         bool // whether ParseWebhook accepts it
}

// checkEdgeCases are bodies where encoding/json's semantics matter.
func checkEdgeCases() []checkEdgeCase {
	const issue = `{"timestamp":1,"webhookEvent":"jira:issue_updated","issue":{"id":"10001","key":"P-1","fields":%s}%s}`
	withFields := func(fields string) string {
		return strings.Replace(strings.Replace(issue, "%s", fields, 1), "%s", "", 1)
	}
	with := func(rest string) string {
		return strings.Replace(strings.Replace(issue, "%s", "{}", 1), "%s", rest, 1)
	}
	deep := func(n int) string {
		return `{"webhookEvent":"x","extra":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	}
	return []checkEdgeCase{
		// Keys: exact, then case-insensitive with Unicode folding, escapes.
		{"key case", `{"WEBHOOKEVENT":"comment_created"}`, true},
		{"key escaped", `{"webhook\u0045vent":"comment_created"}`, true},
		{"key kelvin sign folds to k", `{"webhookEvent":"jira:issue_updated","issue":{"id":"","` + "\u212a" + `ey":"P-1"}}`, true},
		{"key long s folds to s", withFields(`{"` + "\u017f" + `ummary":5}`), false},
		{"key invalid utf-8", "{\"\xffwebhookEvent\":\"x\"}", false},
		{"unknown key any value", withFields(`{"customfield_1":{"a":[1,{"b":null}]},"timespent":null}`), true},
		// A repeated key: the last wins, objects merge.
		{"duplicate event", `{"webhookEvent":"a","webhookEvent":"comment_created"}`, true},
		{"duplicate event null", `{"webhookEvent":"comment_created","webhookEvent":null}`, true},
		{"duplicate issue merges", `{"webhookEvent":"jira:issue_updated","issue":{"id":"1"},"ISSUE":{"key":"K-1"}}`, true},
		{"duplicate issue after null", `{"webhookEvent":"jira:issue_updated","issue":{"id":"1"},"issue":null,"issue":{"key":"K-1"}}`, true},
		{"issue null at last", `{"webhookEvent":"jira:issue_updated","issue":{"id":"1"},"issue":null}`, false},
		{"comment empty object", `{"webhookEvent":"comment_created","comment":{},"changelog":{"id":null}}`, true},
		{"duplicate wrong then right", withFields(`{"summary":1,"summary":"s"}`), false},
		// null for every type.
		{"nulls", `{"timestamp":null,"webhookEvent":"jira:issue_updated","user":null,"issue":{"id":"1","key":null,"fields":null,"names":null,"renderedFields":null,"changelog":null},"changelog":null,"comment":null}`, true},
		{"nulls in fields", withFields(`{"summary":null,"description":null,"status":null,"labels":[null],"components":[null],"created":null,"comment":{"comments":[null],"total":null},"parent":null,"project":{"avatarUrls":{"a":null}}}`), true},
		// Strings and numbers, both ways.
		{"timestamp a string", `{"timestamp":"1","webhookEvent":"comment_created"}`, false},
		{"timestamp a fraction", `{"timestamp":1.0,"webhookEvent":"comment_created"}`, false},
		{"timestamp an exponent", `{"timestamp":1e3,"webhookEvent":"comment_created"}`, false},
		{"timestamp minus zero", `{"timestamp":-0,"webhookEvent":"comment_created"}`, true},
		{"timestamp too large", `{"timestamp":9223372036854775808,"webhookEvent":"comment_created"}`, false},
		{"timestamp largest", `{"timestamp":9223372036854775807,"webhookEvent":"comment_created"}`, true},
		{"event a number", `{"webhookEvent":1}`, false},
		{"issue id a number", `{"webhookEvent":"jira:issue_updated","issue":{"id":10001,"key":"P-1"}}`, false},
		{"status category id a string", withFields(`{"status":{"statusCategory":{"id":"2"}}}`), false},
		{"status category id", withFields(`{"status":{"statusCategory":{"id":2}}}`), true},
		{"total a fraction", withFields(`{"comment":{"total":2.5}}`), false},
		{"active a string", `{"webhookEvent":"comment_created","user":{"active":"true"}}`, false},
		{"active a number", `{"webhookEvent":"comment_created","user":{"active":1}}`, false},
		{"size negative", withFields(`{"attachment":[{"size":-12}]}`), true},
		// Nested types and arrays.
		{"parent's summary", withFields(`{"parent":{"fields":{"summary":1}}}`), false},
		{"parent's parent", withFields(`{"parent":{"fields":{"parent":{"key":"P-0","fields":{"labels":["a"]}}}}}`), true},
		{"comment in page bad time", withFields(`{"comment":{"comments":[{"created":"yesterday"}]}}`), false},
		{"description an object", withFields(`{"description":{"type":"doc","content":[]}}`), true},
		{"description a number", withFields(`{"description":5}`), true},
		{"fields a string", withFields(`"x"`), false},
		{"rendered fields any", `{"webhookEvent":"jira:issue_updated","issue":{"id":"1","renderedFields":{"a":1,"b":[true]}}}`, true},
		{"names a number", `{"webhookEvent":"jira:issue_updated","issue":{"id":"1","names":{"a":1}}}`, false},
		{"changelog item field a number", with(`,"changelog":{"id":"1","items":[{"field":1}]}`), false},
		{"labels mixed", withFields(`{"labels":["a",1]}`), false},
		{"properties any value", with(`,"comment":{"id":"1","properties":[{"key":"k","value":{"x":[1]}}]}`), true},
		// Jira times.
		{"time", with(`,"comment":{"id":"1","created":"2019-08-13T07:23:01.890+0800"}`), true},
		{"time empty", with(`,"comment":{"id":"1","created":""}`), true},
		{"time a number", with(`,"comment":{"id":"1","created":123}`), false},
		{"time an object", with(`,"comment":{"id":"1","created":{}}`), false},
		{"time escaped", with(`,"comment":{"id":"1","created":"\u0032019-08-13T07:23:01.890+0800"}`), false},
		// Syntax.
		{"trailing comma", `{"webhookEvent":"comment_created",}`, false},
		{"trailing value", `{"webhookEvent":"comment_created"} {}`, false},
		{"unterminated", `{"webhookEvent":"comment_created"`, false},
		{"control character", "{\"webhookEvent\":\"comment\tcreated\"}", false},
		{"bad escape", `{"webhookEvent":"comment\xcreated"}`, false},
		{"short unicode escape", `{"webhookEvent":"\u12"}`, false},
		{"leading zero", `{"webhookEvent":"comment_created","x":01}`, false},
		{"bare minus", `{"webhookEvent":"comment_created","x":-}`, false},
		{"NaN", `{"webhookEvent":"comment_created","x":NaN}`, false},
		{"bad literal", `{"webhookEvent":"comment_created","x":nul}`, false},
		{"bad literal in a typed field", `{"webhookEvent":"comment_created","user":{"active":tru}}`, false},
		{"missing colon", `{"webhookEvent" "comment_created"}`, false},
		{"single quotes", `{'webhookEvent':'comment_created'}`, false},
		{"escaped event", `{"webhookEvent":"jira:issue\u005fupdated","issue":{"key":"P-\u0031"}}`, true},
		{"invalid utf-8 in a value", "{\"webhookEvent\":\"comment\xff\",\"issue\":{\"key\":\"\xc3\"}}", true},
		{"surrogate escape", `{"webhookEvent":"\ud83d\ude00 \ud83d"}`, true},
		{"json white space", " \t\r\n{ \"webhookEvent\" : \"comment_created\" , \"x\" : [ 1 , 2 ] }\n", true},
		{"unicode space trimmed", "\u00a0{\"webhookEvent\":\"comment_created\"}\u00a0", true},
		{"unicode space inside", "{\u00a0\"webhookEvent\":\"comment_created\"}", false},
		{"top null", `null`, false},
		{"top string", `"x"`, false},
		{"top array", `[{"webhookEvent":"comment_created"}]`, false},
		{"depth at the limit", deep(9999), true},
		{"depth beyond the limit", deep(10000), false},
	}
}

// TestCheckWebhookEdges: bodies where encoding/json's semantics matter
// get the verdict ParseWebhook gives them, and the same summary.
func TestCheckWebhookEdges(t *testing.T) {
	t.Parallel()
	for _, c := range checkEdgeCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := sameVerdict(t, []byte(c.body)); got != c.ok {
				t.Errorf("accepted = %v, want %v: the case tests something else than it says", got, c.ok)
			}
		})
	}
}

// BenchmarkWebhookCheck compares CheckWebhook with the decodes on the
// recorded payloads (together 0.7 MiB).
func BenchmarkWebhookCheck(b *testing.B) {
	bodies := recordedWebhooks(b)
	var size int64
	for _, body := range bodies {
		size += int64(len(body))
	}
	for _, fn := range []struct {
		name string
		fn   func([]byte) error
	}{
		{"CheckWebhook", func(p []byte) error { _, err := CheckWebhook(p); return err }},
		{"ParseWebhookWithoutFields", func(p []byte) error { _, err := ParseWebhookWithoutFields(p); return err }},
		{"ParseWebhookSummary", func(p []byte) error { _, err := ParseWebhookSummary(p); return err }},
		{"ParseWebhook", func(p []byte) error { _, err := ParseWebhook(p); return err }},
	} {
		b.Run(fn.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, body := range bodies {
					if err := fn.fn(body); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
