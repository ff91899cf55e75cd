package jira

import (
	"bytes"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// TestDiscardAttachmentContent streams an upload larger than any buffer
// through the checksum: size and CRC-32C are recorded, the content is not
// kept, and its download says so.
func TestDiscardAttachmentContent(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	s.SetAttachmentLimit(8 << 20)
	s.SetDiscardAttachmentContent(true)
	b := base(s, ts)
	data := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB
	body, ct := multipartBody(t, "big.bin", data)
	r := call(t, "POST", b+"/rest/api/2/issue/DEMO-1/attachments", body.Bytes(), append(basic("alice"), "Content-Type", ct, "X-Atlassian-Token", "no-check")...)
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	a := r.list(t)[0].(map[string]any)
	if a["size"] != float64(len(data)) {
		t.Errorf("size %v, want %d", a["size"], len(data))
	}
	is, _ := s.Issue("DEMO-1")
	got := is.Attachments[len(is.Attachments)-1]
	if got.Content != nil || got.Size != int64(len(data)) || got.CRC32C != crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) || got.Received <= 0 {
		t.Errorf("recorded %d content bytes, size %d, crc %08x, received in %v", len(got.Content), got.Size, got.CRC32C, got.Received)
	}
	if d := call(t, "GET", a["content"].(string), nil, basic("alice")...); d.status != http.StatusNotFound {
		t.Errorf("download of a discarded file: %d", d.status)
	}

	// Over the limit is still refused while streaming.
	s.SetAttachmentLimit(1 << 20)
	r = call(t, "POST", b+"/rest/api/2/issue/DEMO-1/attachments", body.Bytes(), append(basic("alice"), "Content-Type", ct, "X-Atlassian-Token", "no-check")...)
	if r.status != http.StatusNotFound || !strings.Contains(string(r.body), "1048576") {
		t.Errorf("over limit: %d %s", r.status, r.body)
	}
}

// TestKeptAttachmentRecordsChecksum checks the default mode records the
// same size and checksum beside the content.
func TestKeptAttachmentRecordsChecksum(t *testing.T) {
	t.Parallel()
	s, ts := start(t, Options{})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = io.WriteString(fw, "hello")
	_ = mw.Close()
	r := call(t, "POST", base(s, ts)+"/rest/api/2/issue/DEMO-1/attachments", buf.Bytes(), append(basic("alice"), "Content-Type", mw.FormDataContentType(), "X-Atlassian-Token", "no-check")...)
	if r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	is, _ := s.Issue("DEMO-1")
	got := is.Attachments[len(is.Attachments)-1]
	if string(got.Content) != "hello" || got.Size != 5 || got.CRC32C != crc32.Checksum([]byte("hello"), crc32.MakeTable(crc32.Castagnoli)) {
		t.Errorf("recorded %+v", got)
	}
}
