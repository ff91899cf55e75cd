package asana

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// TestGeneratedAttachment serves a generated file through download_url:
// the right size, the same bytes as GeneratedContent, ranges answered,
// and nothing stored.
func TestGeneratedAttachment(t *testing.T) {
	t.Parallel()
	s, hs := newTestServer(t, Options{})
	seed := s.Seed()
	const size = 200_000 // several periods of the pattern plus a partial one
	gid, err := s.AddGeneratedAttachment(GeneratedAttachment{Task: seed.Tasks[0].GID, Name: "big.bin", Size: size, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	a := call(t, hs, seed.Tokens["alice"], http.MethodGet, "/attachments/"+gid, nil).data(t)
	if a["size"] != float64(size) || a["host"] != "asana" {
		t.Fatalf("attachment: %v", a)
	}
	want, _ := io.ReadAll(GeneratedContent(7, size))
	if len(want) != size || bytes.Equal(want[:generatedBlock], make([]byte, generatedBlock)) {
		t.Fatalf("generated %d bytes", len(want))
	}
	get := func(rng string) ([]byte, int) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, a["download_url"].(string), nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b, resp.StatusCode
	}
	if got, st := get(""); st != http.StatusOK || !bytes.Equal(got, want) {
		t.Errorf("download: %d, %d bytes, equal %v", st, len(got), bytes.Equal(got, want))
	}
	if got, st := get("bytes=65530-65545"); st != http.StatusPartialContent || !bytes.Equal(got, want[65530:65546]) {
		t.Errorf("range across the period: %d %x", st, got)
	}
	for _, ta := range s.Attachments(seed.Tasks[0].GID) {
		if ta.GID == gid && (ta.Content != nil || ta.Size != size) {
			t.Errorf("accessor: %d content bytes, size %d", len(ta.Content), ta.Size)
		}
	}
	if _, err := s.AddGeneratedAttachment(GeneratedAttachment{Task: "nope", Size: 1}); err == nil {
		t.Error("no error for an unknown task")
	}
	if other, _ := io.ReadAll(GeneratedContent(8, 64)); bytes.Equal(other, want[:64]) {
		t.Error("two seeds gave the same bytes")
	}
}
