package jira

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

func TestUploadAttachment(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("GET /rest/api/2/attachment/meta", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"enabled":true,"uploadLimit":10485760}`)
	})
	mux.HandleFunc("POST /rest/api/2/issue/TEST-1/attachments", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Atlassian-Token"); got != "no-check" {
			t.Errorf("X-Atlassian-Token = %q", got)
		}
		if r.ContentLength <= 0 {
			t.Errorf("Content-Length = %d, want the exact length", r.ContentLength)
		}
		mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "multipart/form-data" {
			t.Fatalf("content type %q", mt)
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		if p.FormName() != "file" || p.FileName() != `réunion "notes".txt` || string(body) != "hello jira" || p.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("part %q %q %q %q", p.FormName(), p.FileName(), body, p.Header.Get("Content-Type"))
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Errorf("more parts: %v", err)
		}
		writeJSON(w, 200, `[{"id":"10000","filename":"réunion \"notes\".txt","size":10,"mimeType":"text/plain","content":"http://jira/secure/attachment/10000/x","created":"2024-01-02T03:04:05.000+0000"}]`)
	})
	got, err := c.UploadAttachment(t.Context(), "TEST-1", `réunion "notes".txt`, 10, strings.NewReader("hello jira"), &UploadOptions{ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "10000" || got[0].Size != 10 {
		t.Errorf("UploadAttachment = %+v", got)
	}
}

func TestUploadAttachmentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		meta      string
		size      int64
		status    int
		ctype     string
		body      string
		wantLayer string
		wantErr   error
		wantPosts int32
	}{
		{name: "pre-flight over limit", meta: `{"enabled":true,"uploadLimit":5}`, size: 10, wantLayer: LayerJira, wantErr: ErrAttachmentTooLarge},
		{name: "jira plain-text 404", meta: `{"enabled":true,"uploadLimit":100}`, size: -1, status: 404, ctype: "text/plain",
			body: "The field file exceeds its maximum permitted size of 100 bytes.", wantLayer: LayerJira, wantErr: ErrAttachmentTooLarge, wantPosts: 1},
		{name: "proxy 413", meta: `{"enabled":true,"uploadLimit":10485760}`, size: 10, status: 413, ctype: "text/html",
			body: "<html><body>413 Request Entity Too Large</body></html>", wantLayer: LayerProxy, wantErr: ErrAttachmentTooLarge, wantPosts: 1},
		{name: "disabled", meta: `{"enabled":false,"uploadLimit":10485760}`, size: 10, wantErr: ErrAttachmentsDisabled},
		{name: "no permission", meta: `{"enabled":true,"uploadLimit":10485760}`, size: 10, status: 403, ctype: "application/json",
			body: `{"errorMessages":["You do not have permission to create attachments for this issue."]}`, wantErr: ErrForbidden, wantPosts: 1},
		{name: "short reader", meta: `{"enabled":true,"uploadLimit":10485760}`, size: 100, wantPosts: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _ := setup(t)
			var posts atomic.Int32
			mux.HandleFunc("GET /rest/api/2/attachment/meta", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, tt.meta) })
			mux.HandleFunc("POST /rest/api/2/issue/TEST-1/attachments", func(w http.ResponseWriter, r *http.Request) {
				posts.Add(1)
				_, _ = io.Copy(io.Discard, r.Body)
				if tt.status == 0 {
					writeJSON(w, 200, `[]`)
					return
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.UploadAttachment(t.Context(), "TEST-1", "big.bin", tt.size, strings.NewReader(strings.Repeat("x", 10)), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantLayer != "" {
				var tl *AttachmentTooLargeError
				if !errors.As(err, &tl) || tl.Layer != tt.wantLayer {
					t.Errorf("err = %#v, want layer %s", err, tt.wantLayer)
				}
				if !strings.Contains(err.Error(), "big.bin") || !strings.Contains(err.Error(), "ask the") {
					t.Errorf("message %q does not guide the user", err)
				}
			}
			if tt.wantPosts >= 0 && posts.Load() != tt.wantPosts {
				t.Errorf("posts = %d, want %d", posts.Load(), tt.wantPosts)
			}
		})
	}
}

// genReader produces n bytes without holding them: a stand-in for a large
// file streamed from Asana.
type genReader struct{ left int64 }

func (g *genReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > g.left {
		n = g.left
	}
	for i := range p[:n] {
		p[i] = byte(i)
	}
	g.left -= n
	return int(n), nil
}

// peakHeap samples HeapAlloc until stop is closed.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// TestUploadAttachment1GiB streams a generated 1 GiB file through the
// client and checks the heap never holds it: peak heap stays under 64 MiB.
func TestUploadAttachment1GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 1 GiB; skipped with -short")
	}
	const size = 1 << 30
	// The Jira emulator counts and checksums the upload instead of keeping
	// it, so the heap measured here is the client's.
	fj, base := emulator(t, "9.12.0", "", func(o *fakejira.Options) {
		o.AttachmentLimit = 2 << 30
		o.DiscardAttachmentContent = true
	})
	tok, err := fj.CreatePAT("alice", "upload")
	if err != nil {
		t.Fatal(err)
	}
	// No client timeout: a gigabyte under the race detector on a busy
	// machine takes a while; the test's own deadline bounds it.
	c, err := New(base, NewHTTPClient(&BearerTransport{Token: tok}, 0))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	stop := make(chan struct{})
	peak := peakHeap(stop)
	start := time.Now()
	_, err = c.UploadAttachment(t.Context(), "DEMO-1", "big.bin", size, &genReader{left: size}, nil)
	close(stop)
	p := <-peak
	if err != nil {
		t.Fatal(err)
	}
	is, _ := fj.Issue("DEMO-1")
	var got *fakejira.Attachment
	for i := range is.Attachments {
		if is.Attachments[i].Filename == "big.bin" {
			got = &is.Attachments[i]
		}
	}
	if got == nil || got.Size != size {
		t.Fatalf("Jira emulator has %+v, want big.bin of %d bytes", got, size)
	}
	t.Logf("1 GiB upload to the Jira emulator: peak heap %.1f MiB, %s", float64(p)/(1<<20), time.Since(start).Round(time.Millisecond))
	if p >= 64<<20 {
		t.Errorf("peak heap %d bytes, want < 64 MiB", p)
	}
}
