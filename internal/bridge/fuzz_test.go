package bridge

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// fuzzForm is a create form with one field of every kind the form turns
// into Jira values, as addMetaFields would have built it.
func fuzzForm() *Form {
	f := func(id, name, typ, items, custom string, required bool, allowed ...string) jira.CreateField {
		m := jira.CreateField{ID: id, Name: name, Required: required, Schema: jira.FieldSchema{Type: typ, Items: items, Custom: custom}}
		for _, a := range allowed {
			m.AllowedValues = append(m.AllowedValues, jira.AllowedValue{ID: a, Value: "v" + a})
		}
		return m
	}
	meta := []jira.CreateField{
		f("summary", "Summary", "string", "", "", true),
		f("description", "Description", "string", "", "", false),
		f("priority", "Priority", "priority", "", "", false, "1", "2", "3"),
		f("labels", "Labels", "array", "string", "", false),
		f("components", "Components", "array", "component", "", false, "10", "11"),
		f("fixVersions", "Fix versions", "array", "version", "", false, "20"),
		f("assignee", "Assignee", "user", "", "", false),
		f("duedate", "Due date", "date", "", "", false),
		f("parent", "Parent", "issuelink", "", "", false),
		f("customfield_10100", "Region", "option-with-child", "", "com.atlassian.jira.plugin.system.customfieldtypes:cascadingselect", false, "30", "31"),
		f("customfield_10101", "Story points", "number", "", "com.atlassian.jira.plugin.system.customfieldtypes:float", false),
		f("customfield_10102", "Starts", "datetime", "", "com.atlassian.jira.plugin.system.customfieldtypes:datetime", false),
		f("customfield_10103", "Reviewers", "array", "user", "com.atlassian.jira.plugin.system.customfieldtypes:multiuserpicker", false),
		f("customfield_10104", "Severity", "option", "", "com.atlassian.jira.plugin.system.customfieldtypes:select", true, "40", "41"),
		f("customfield_10105", "Tags", "array", "string", "com.atlassian.jira.plugin.system.customfieldtypes:labels", false),
		f("customfield_10106", "Notes", "any", "", "com.example:unknown", false),
		f("reporter", "Reporter", "user", "", "", true),
	}
	form := &Form{Project: "OPS", IssueType: "10002", meta: meta}
	for _, m := range meta {
		form.Fields = append(form.Fields, FormField{ID: m.ID, Name: m.Name, Required: m.Required})
	}
	return form
}

// FuzzFormValues submits arbitrary form values, decoded the way the App
// Components decoder reads them (JSON with numbers kept as written), to the
// create form (seeds: testdata/fuzz/FuzzFormValues). A submit is either
// refused with field errors naming fields of the form, or becomes a create
// body Jira can be sent: it encodes as JSON, names the project and issue
// type, and carries a value for each required field.
func FuzzFormValues(f *testing.F) {
	f.Add([]byte(`{"summary":"Write the launch announcement","customfield_10104":"40"}`))
	f.Add([]byte(`{"summary":" Hi ","customfield_10104":{"value":"41","title":"Major"},"priority":"2","labels":"a, b c","components":["10","11"],"assignee":{"title":"Alice","value":"alice"},"duedate":"2026-03-02T00:00:00Z","customfield_10100":"30","customfield_10100__child":"301","customfield_10101":"3,5","customfield_10102":"2026-03-02T10:00:00Z","customfield_10103":["alice","bob"],"parent":"ops-1"}`))
	f.Add([]byte(`{"summary":"x","customfield_10104":"40","customfield_10101":12.5e3}`))
	f.Add([]byte(`{"summary":"x","customfield_10104":"40","customfield_10101":"three"}`))
	f.Add([]byte(`{"summary":"x","customfield_10104":"40","duedate":"2026-13-45"}`))
	f.Add([]byte(`{"summary":"","customfield_10104":null}`))
	f.Add([]byte(`{"summary":["a",{"value":["b"]}],"customfield_10104":[[]],"labels":{"value":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var values Values
		if err := dec.Decode(&values); err != nil {
			return
		}
		form := fuzzForm()
		in, fe := form.issueInput(values)
		if fe != nil {
			if len(fe.Fields) == 0 {
				t.Fatal("refused without naming a field")
			}
			known := map[string]bool{}
			for _, m := range form.meta {
				known[m.ID] = true
			}
			for _, e := range fe.Fields {
				if !known[e.Field] || e.Message == "" {
					t.Fatalf("field error %+v names no field of the form", e)
				}
			}
			return
		}
		body, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("the create body cannot be sent to Jira: %v (values %s)", err, data)
		}
		var sent struct {
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Fatal(err)
		}
		if sent.Fields["project"] == nil || sent.Fields["issuetype"] == nil {
			t.Fatalf("no project or issue type in %s", body)
		}
		for _, m := range form.meta {
			if m.Required && !skipped[m.ID] && sent.Fields[m.ID] == nil {
				t.Fatalf("required %s missing from %s", m.ID, body)
			}
			if skipped[m.ID] && sent.Fields[m.ID] != nil && m.ID != "project" && m.ID != "issuetype" {
				t.Fatalf("%s is set by asanajira, not the form: %s", m.ID, body)
			}
		}
		if n, ok := in.Fields["customfield_10101"].(float64); ok && (math.IsNaN(n) || math.IsInf(n, 0)) {
			t.Fatalf("story points %v", n)
		}
	})
}

var jiraKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]*-[0-9]+$`)

// FuzzKeyFromInput gives the lookup's key and URL parser arbitrary input
// and server base URLs (seeds: testdata/fuzz/FuzzKeyFromInput). What it
// finds is an upper-case issue key, and a URL only yields one when it
// points at that server: a link to another host never names an issue of
// this server.
func FuzzKeyFromInput(f *testing.F) {
	const base = "https://jira.example.com/jira"
	f.Add(base, "OPS-12")
	f.Add(base, " ops-12 ")
	f.Add(base, base+"/browse/OPS-7")
	f.Add(base, base+"/browse/OPS-7/")
	f.Add(base, base+"/projects/OPS/issues?selectedIssue=OPS-9")
	f.Add(base, "https://evil.example.com/jira/browse/OPS-7")
	f.Add(base, "https://jira.example.com@evil.example.com/jira/browse/OPS-7")
	f.Add(base, "https://jira.example.com/other/browse/OPS-7")
	f.Add("http://10.0.0.5:8080", "http://10.0.0.5:8080/browse/A_B-1?x=1")
	f.Add("https://JIRA.example.com/", "https://jira.EXAMPLE.com/browse/x-0")
	f.Add(base, "OPS")
	f.Add("", "//host/browse/A-1")
	s := &Service{}
	f.Fuzz(func(t *testing.T, baseURL, in string) {
		key, ok := s.keyFromInput(store.JiraServer{BaseURL: baseURL}, in)
		if !ok {
			if key != "" {
				t.Fatalf("no match but key %q", key)
			}
			return
		}
		if !jiraKey.MatchString(key) {
			t.Fatalf("key %q from %q is not an issue key", key, in)
		}
		trimmed := strings.TrimSpace(in)
		if strings.EqualFold(trimmed, key) {
			return // a bare key, for whichever server
		}
		u, err := url.Parse(trimmed)
		if err != nil {
			t.Fatalf("key %q from %q, which is neither a key nor a URL", key, in)
		}
		b, err := url.Parse(baseURL)
		if err != nil || !strings.EqualFold(u.Host, b.Host) {
			t.Fatalf("%q names %s on host %q, but the server %q is elsewhere", in, key, u.Host, baseURL)
		}
	})
}
