package jira

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// refIssue is what ParseIssueSummary reads, as encoding/json would decode
// it: the reference the parser is compared with.
type refIssue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Summary string `json:"summary"`
		Status  *struct {
			Name           string `json:"name"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
		Assignee struct {
			DisplayName string `json:"displayName"`
		} `json:"assignee"`
		Priority   struct{ Name string } `json:"priority"`
		IssueType  struct{ Name string } `json:"issuetype"`
		Resolution struct{ Name string } `json:"resolution"`
		DueDate    string                `json:"duedate"`
		Updated    Time                  `json:"updated"`
		Comment    struct {
			Total int `json:"total"`
		} `json:"comment"`
	} `json:"fields"`
}

// refSummary decodes b with encoding/json.
func refSummary(b []byte) (IssueSummary, error) {
	var r refIssue
	if err := json.Unmarshal(b, &r); err != nil {
		return IssueSummary{}, err
	}
	f := &r.Fields
	s := IssueSummary{ID: r.ID, Key: r.Key, Summary: f.Summary, Assignee: f.Assignee.DisplayName,
		Priority: f.Priority.Name, IssueType: f.IssueType.Name, Resolution: f.Resolution.Name,
		DueDate: f.DueDate, Updated: f.Updated, Comments: f.Comment.Total}
	if f.Status != nil {
		s.Status, s.StatusCategory = f.Status.Name, f.Status.StatusCategory.Key
	}
	return s, nil
}

// recordedIssues are the issues in the recorded REST answers and webhook
// deliveries of Jira Server and Data Center (testdata/README.md).
func recordedIssues(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pattern := range []string{"testdata/rest/jiracli-issue*.json", "testdata/rest/jiracli-search.json", "testdata/webhooks/*.json"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Issue  json.RawMessage   `json:"issue"`
				Issues []json.RawMessage `json:"issues"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			name := filepath.Base(f)
			switch {
			case doc.Issue != nil:
				out[name] = doc.Issue
			case doc.Issues != nil:
				for i, is := range doc.Issues {
					out[fmt.Sprintf("%s[%d]", name, i)] = is
				}
			default:
				out[name] = b
			}
		}
	}
	if len(out) < 30 {
		t.Fatalf("found %d recorded issues", len(out))
	}
	return out
}

// TestParseIssueSummaryRecorded reads every recorded issue as encoding/json
// reads it.
func TestParseIssueSummaryRecorded(t *testing.T) {
	t.Parallel()
	nonEmpty := 0
	for name, b := range recordedIssues(t) {
		want, err := refSummary(b)
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		var got IssueSummary
		if err := ParseIssueSummary(b, &got); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-encoding/json +ParseIssueSummary):\n%s", name, diff)
		}
		if got.Key != "" && got.Summary != "" && got.Status != "" {
			nonEmpty++
		}
	}
	if nonEmpty < 20 {
		t.Errorf("only %d recorded issues have a key, summary and status", nonEmpty)
	}
}

func TestParseIssueSummary(t *testing.T) {
	t.Parallel()
	updated := time.Date(2024, 3, 5, 9, 10, 11, 123e6, time.FixedZone("", 3600))
	full := IssueSummary{ID: "10004", Key: "DEMO-2", Summary: "Login page crashes on Safari", Status: "In Progress",
		StatusCategory: "indeterminate", Assignee: "Alice Example", Priority: "High", IssueType: "Bug",
		Resolution: "Done", DueDate: "2024-04-01", Updated: Time{updated}, Comments: 2}
	tests := []struct {
		name string
		in   string
		want IssueSummary
		err  bool
	}{
		{name: "Data Center 9.x", in: `{"expand":"renderedFields,names","id":"10004","self":"http://j/rest/api/2/issue/10004","key":"DEMO-2",
			"fields":{"summary":"Login page crashes on Safari","status":{"self":"s","description":"","iconUrl":"i","name":"In Progress","id":"3",
			"statusCategory":{"self":"c","id":4,"key":"indeterminate","colorName":"yellow","name":"In Progress"}},
			"assignee":{"self":"u","name":"alice","key":"JIRAUSER10100","emailAddress":"a@example.com","avatarUrls":{"48x48":"x"},"displayName":"Alice Example","active":true,"timeZone":"UTC"},
			"priority":{"self":"p","iconUrl":"i","name":"High","id":"2"},"issuetype":{"self":"t","id":"10004","description":"","iconUrl":"i","name":"Bug","subtask":false,"avatarId":10303},
			"resolution":{"self":"r","id":"10000","description":"","name":"Done"},"duedate":"2024-04-01","updated":"2024-03-05T09:10:11.123+0100",
			"comment":{"comments":[{"id":"1","body":"first \"quoted\"\nline\u00e9","author":{"name":"bob"}},{"id":"2","body":"[~alice] {code}x{code}"}],"maxResults":2,"total":2,"startAt":0}}}`,
			want: full},
		{name: "Server 7.13: no statusCategory, total first", in: `{"id":"1","key":"OLD-1","fields":{"comment":{"total":0,"startAt":0,"comments":[],"maxResults":0},
			"status":{"name":"Open","id":"1"},"summary":"old","assignee":{"name":"bob","key":"bob","displayName":"Bob"}}}`,
			want: IssueSummary{ID: "1", Key: "OLD-1", Summary: "old", Status: "Open", Assignee: "Bob"}},
		{name: "nulls", in: `{"id":"5","key":"N-1","fields":{"summary":null,"status":null,"assignee":null,"priority":null,"issuetype":null,
			"resolution":null,"duedate":null,"updated":null,"comment":null}}`, want: IssueSummary{ID: "5", Key: "N-1"}},
		{name: "missing fields", in: `{"id":"5","key":"N-1","fields":{}}`, want: IssueSummary{ID: "5", Key: "N-1"}},
		{name: "no fields", in: `{"id":"5","key":"N-1"}`, want: IssueSummary{ID: "5", Key: "N-1"}},
		{name: "empty updated", in: `{"fields":{"updated":""}}`},
		{name: "whitespace", in: " \n\t{ \"key\" : \"A-1\" , \"fields\" : { \"comment\" : { \"total\" : 3 } } } \r\n",
			want: IssueSummary{Key: "A-1", Comments: 3}},
		{name: "escapes and UTF-8", in: `{"fields":{"summary":"caf\u00e9 \ud83d\ude00 \"x\"\\/ tab\t","assignee":{"displayName":"Zoë"}}}`,
			want: IssueSummary{Summary: "café 😀 \"x\"\\/ tab\t", Assignee: "Zoë"}},
		{name: "invalid UTF-8 becomes U+FFFD", in: "{\"fields\":{\"summary\":\"a\xffb\"}}", want: IssueSummary{Summary: "a\ufffdb"}},
		{name: "keys match case-insensitively", in: `{"KEY":"A-1","Fields":{"Summary":"s","STATUS":{"Name":"Open"}}}`,
			want: IssueSummary{Key: "A-1", Summary: "s", Status: "Open"}},
		{name: "escaped key", in: `{"k\u0065y":"A-1"}`, want: IssueSummary{Key: "A-1"}},
		{name: "repeated key: last wins, objects merge", in: `{"key":"A-1","key":"A-2","fields":{"status":{"name":"Open"},"status":{"statusCategory":{"key":"new"}}}}`,
			want: IssueSummary{Key: "A-2", Status: "Open", StatusCategory: "new"}},
		{name: "null status clears it", in: `{"fields":{"status":{"name":"Open"},"status":null}}`},
		{name: "null assignee leaves it", in: `{"fields":{"assignee":{"displayName":"A"},"assignee":null}}`, want: IssueSummary{Assignee: "A"}},
		{name: "top-level null", in: `null`},
		{name: "deep unread value", in: `{"fields":{"customfield_1":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}}`},
		{name: "too deep", in: `{"x":` + strings.Repeat("[", maxSummaryDepth) + strings.Repeat("]", maxSummaryDepth) + `}`, err: true},
		{name: "number total with exponent", in: `{"fields":{"comment":{"total":1e2}}}`, err: true},
		{name: "negative zero total", in: `{"fields":{"comment":{"total":-0}}}`},
		{name: "string total", in: `{"fields":{"comment":{"total":"2"}}}`, err: true},
		{name: "number summary", in: `{"fields":{"summary":5}}`, err: true},
		{name: "string status", in: `{"fields":{"status":"Open"}}`, err: true},
		{name: "bad updated", in: `{"fields":{"updated":"yesterday"}}`, err: true},
		{name: "array", in: `[]`, err: true},
		{name: "empty", in: ``, err: true},
		{name: "trailing data", in: `{} {}`, err: true},
		{name: "trailing comma", in: `{"key":"A-1",}`, err: true},
		{name: "unclosed", in: `{"key":"A-1"`, err: true},
		{name: "unclosed string", in: `{"key":"A-1`, err: true},
		{name: "control character", in: "{\"key\":\"A\n1\"}", err: true},
		{name: "bad escape", in: `{"key":"\x"}`, err: true},
		{name: "bad number", in: `{"x":01}`, err: true},
		{name: "bad literal", in: `{"x":nul}`, err: true},
		{name: "literal run-on", in: `{"x":truex}`, err: true},
		{name: "syntax error after a type error", in: `{"fields":{"summary":5},"x":}`, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got IssueSummary
			err := ParseIssueSummary([]byte(tc.in), &got)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			want, refErr := refSummary([]byte(tc.in))
			if (refErr != nil) != tc.err {
				t.Errorf("encoding/json err = %v, want error %v", refErr, tc.err)
			}
			if tc.err {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-encoding/json +ParseIssueSummary):\n%s", diff)
			}
		})
	}
}

// FuzzParseIssueSummary: ParseIssueSummary accepts exactly what
// encoding/json accepts for the same struct, and reads the same.
func FuzzParseIssueSummary(f *testing.F) {
	for _, b := range recordedIssues(f) {
		f.Add(b)
	}
	for _, s := range []string{`{"fields":{"status":null,"assignee":{"displayName":"A"},"comment":{"total":1}}}`,
		`{"KEY":"a","Fields":{"ſummary":"s","status":{"name":"x"},"status":{"statusCategory":{"key":"k"}}}}`,
		`{"fields":{"comment":{"total":9223372036854775808}}}`, `{"fields":{"updated":{"a":1}}}`, `[1,{"a":[]}]`, `"x"`, `null`, ` `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, refErr := refSummary(b)
		var got IssueSummary
		err := ParseIssueSummary(b, &got)
		if (err != nil) != (refErr != nil) {
			t.Fatalf("ParseIssueSummary err = %v, encoding/json err = %v", err, refErr)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-encoding/json +ParseIssueSummary):\n%s", diff)
		}
	})
}

// TestGetIssueSummary reads issues from the emulator, on every version it
// plays, as GetIssue reads them.
func TestGetIssueSummary(t *testing.T) {
	t.Parallel()
	for _, v := range fakejira.Versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			_, base := emulator(t, v, "")
			c, err := New(base, NewHTTPClient(&BasicAuthTransport{Username: "alice", Password: "alice"}, 30*time.Second), fastRetries())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.AddComment(t.Context(), "DEMO-2", "a comment with \"quotes\" and é", nil); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"DEMO-1", "DEMO-2"} {
				got, err := c.GetIssueSummary(t.Context(), key)
				if err != nil {
					t.Fatal(err)
				}
				is, err := c.GetIssue(t.Context(), key, &GetIssueOptions{Fields: SummaryFields})
				if err != nil {
					t.Fatal(err)
				}
				f := &is.Fields
				want := IssueSummary{ID: is.ID, Key: is.Key, Summary: f.Summary, DueDate: f.DueDate, Updated: f.Updated}
				if f.Status != nil {
					want.Status, want.StatusCategory = f.Status.Name, f.Status.StatusCategory.Key
				}
				if f.Assignee != nil {
					want.Assignee = f.Assignee.DisplayName
				}
				if f.Priority != nil {
					want.Priority = f.Priority.Name
				}
				if f.IssueType != nil {
					want.IssueType = f.IssueType.Name
				}
				if f.Resolution != nil {
					want.Resolution = f.Resolution.Name
				}
				if f.Comment != nil {
					want.Comments = f.Comment.Total
				}
				if diff := cmp.Diff(want, *got); diff != "" {
					t.Errorf("%s (-GetIssue +GetIssueSummary):\n%s", key, diff)
				}
				if want.Summary == "" || want.Status == "" || want.IssueType == "" {
					t.Errorf("%s: the emulator's issue lacks names: %+v", key, want)
				}
			}
			if _, err := c.GetIssueSummary(t.Context(), "NOPE-999"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing issue: %v", err)
			}
		})
	}
}

// BenchmarkParseIssueSummary decodes a recorded issue with its comments,
// by ParseIssueSummary and by encoding/json into the same struct.
func BenchmarkParseIssueSummary(b *testing.B) {
	var doc []byte
	for _, is := range recordedIssues(b) {
		if len(is) > len(doc) {
			doc = is
		}
	}
	b.Run("ParseIssueSummary", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			var s IssueSummary
			if err := ParseIssueSummary(doc, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			var r refIssue
			if err := json.NewDecoder(bytes.NewReader(doc)).Decode(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetIssueSummaryGzip reads the largest recorded issue over
// loopback as Jira sends it with gzip compression on and off. The client
// asks for gzip (net/http's Transport does unless told not to) and
// inflates what comes compressed (the server fails a request that does not
// ask for it); wire_bytes is what crossed the network.
func BenchmarkGetIssueSummaryGzip(b *testing.B) {
	var doc []byte
	for _, is := range recordedIssues(b) {
		if len(is) > len(doc) {
			doc = is
		}
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(doc)
	_ = zw.Close()
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", compress), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json;charset=UTF-8")
				body := doc
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					http.Error(w, "the client did not ask for gzip", http.StatusBadRequest)
					return
				}
				if compress {
					w.Header().Set("Content-Encoding", "gzip")
					body = zipped.Bytes()
				}
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			tr, err := NewTransport(srv.URL, TransportOptions{})
			if err != nil {
				b.Fatal(err)
			}
			c, err := New(srv.URL, NewHTTPClient(tr, 30*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			wire := len(doc)
			if compress {
				wire = zipped.Len()
			}
			for b.Loop() {
				if _, err := c.GetIssueSummary(b.Context(), "DEMO-2"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(wire), "wire_bytes") // after the loop, whose start clears metrics
		})
	}
}
