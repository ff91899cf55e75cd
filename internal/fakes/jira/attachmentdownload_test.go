package jira

import (
	"strings"
	"testing"
)

// TestAttachmentListedAndDownloaded: an upload is listed on the issue
// (fields.attachment, with its content URL, jira-api.md §4.8) and in its
// changelog as an "Attachment" item; its content needs a logged-in user who
// sees the issue, and the faults reach the download path as they reach
// REST (a rate limit, an SSO login page answered with 200).
func TestAttachmentListedAndDownloaded(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	b := base(s, ts)
	body, ct := multipartBody(t, "spec.txt", []byte("the spec"))
	r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/attachments", body.Bytes(), append(basic("alice"), "Content-Type", ct, "X-Atlassian-Token", "no-check")...)
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := r.list(t)[0].(map[string]any)["id"].(string)
	is := call(t, "GET", b+"/rest/api/2/issue/DEMO-1?fields=attachment&expand=changelog", nil, basic("bob")...).json(t)
	atts := is["fields"].(map[string]any)["attachment"].([]any)
	a := atts[len(atts)-1].(map[string]any)
	content, _ := a["content"].(string)
	if a["id"] != id || a["filename"] != "spec.txt" || a["size"] != 8.0 || a["created"] == nil || a["author"].(map[string]any)["name"] != "alice" ||
		!strings.HasSuffix(content, "/secure/attachment/"+id+"/spec.txt") {
		t.Errorf("listed attachment: %v", a)
	}
	hs := is["changelog"].(map[string]any)["histories"].([]any)
	item := hs[len(hs)-1].(map[string]any)["items"].([]any)[0].(map[string]any)
	if item["field"] != "Attachment" || item["to"] != id || item["toString"] != "spec.txt" {
		t.Errorf("changelog item: %v", item)
	}
	if got := call(t, "GET", content, nil); got.status != 401 {
		t.Errorf("anonymous download: %d %s, want 401", got.status, got.body)
	}
	if got := call(t, "GET", content, nil, basic("bob")...); got.status != 200 || string(got.body) != "the spec" {
		t.Errorf("download: %d %q", got.status, got.body)
	}
	prefix := s.ContextPath() + "/secure/attachment/"
	for _, f := range []Faults{{Throttle: true, PathPrefix: prefix}, {SSOHTML: true, PathPrefix: prefix}} {
		if err := s.SetFaults(f); err != nil {
			t.Fatal(err)
		}
		got := call(t, "GET", content, nil, basic("bob")...)
		if f.Throttle && (got.status != 429 || got.header.Get("Retry-After") == "") ||
			f.SSOHTML && (got.status != 200 || !strings.HasPrefix(got.header.Get("Content-Type"), "text/html")) {
			t.Errorf("download with %+v: %d %s", f, got.status, got.header)
		}
		if rest := call(t, "GET", b+"/rest/api/2/issue/DEMO-1?fields=summary", nil, basic("bob")...); rest.status != 200 {
			t.Errorf("REST outside the fault's prefix: %d", rest.status)
		}
	}
}
