package asana

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAttachmentLimitsAndRights: POST /attachments refuses a file over the
// upload limit with 400 (the spec lists no 413) in Asana's error envelope, and a comment-only
// member's upload or link with 403, storing nothing; an external link needs
// no file and is kept with its URL (asana_oas.yaml createAttachmentForObject:
// resource_subtype external, url, name).
func TestAttachmentLimitsAndRights(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	s.SetAttachmentLimit(8)
	task := s.Seed().Tasks[0].GID
	before := len(s.Attachments(task))
	ext := map[string]string{"parent": task, "resource_subtype": "external", "url": "http://jira.example/secure/attachment/10001/big.iso", "name": "big.iso"}
	tests := []struct {
		name    string
		token   string
		fields  map[string]string
		file    string
		content []byte
		status  int
		message string
	}{
		{name: "within the limit", token: "pat-alice", fields: map[string]string{"parent": task}, file: "small.txt", content: []byte("12345678"), status: 200},
		{name: "over the limit", token: "pat-alice", fields: map[string]string{"parent": task}, file: "big.txt", content: []byte("123456789"), status: http.StatusBadRequest,
			message: "file: The file is larger than the limit of 8 bytes"},
		{name: "an external link of any size", token: "pat-alice", fields: ext, status: 200},
		{name: "comment-only member's file", token: "pat-bob", fields: map[string]string{"parent": task}, file: "b.txt", content: []byte("b"), status: http.StatusForbidden, message: "Forbidden"},
		{name: "comment-only member's link", token: "pat-bob", fields: ext, status: http.StatusForbidden, message: "Forbidden"},
	}
	s.SetCommentOnly("bob", true)
	for _, tc := range tests {
		body, ct := multipartBody(t, tc.fields, tc.file, tc.content)
		r := upload(t, hs, hs.URL, tc.token, body, ct)
		if r.Status != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, r.Status, r.Body, tc.status)
		}
		if tc.message == "" {
			continue
		}
		errs, _ := r.decode(t)["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["message"] != tc.message || errs[0].(map[string]any)["help"] == nil {
			t.Errorf("%s: error body %s, want the message %q with help", tc.name, r.Body, tc.message)
		}
	}
	var got []string
	for _, a := range s.Attachments(task)[before:] {
		got = append(got, a.Host+" "+a.Name+" "+a.URL)
	}
	want := []string{"asana small.txt ", "external big.iso http://jira.example/secure/attachment/10001/big.iso"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored attachments (-want +got):\n%s", diff)
	}
}
