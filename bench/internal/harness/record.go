package harness

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Call is one request an emulator received while the recorder was on.
type Call struct {
	// Emulator is "jira" or "asana".
	Emulator    string
	Method      string
	Path        string
	RawQuery    string
	ContentType string
	Body        []byte
	// Status and Response are the emulator's answer (Response cut at 64
	// KiB).
	Status   int
	Response []byte
	At       time.Time
}

// String is "jira GET /jira/rest/api/2/issue/DEMO-2".
func (c Call) String() string { return c.Emulator + " " + c.Method + " " + c.Path }

// Recorder keeps the requests the emulators receive while it is on: the
// external calls the bridge makes, taken from the emulators' side.
type Recorder struct {
	mu    sync.Mutex
	on    bool
	calls []Call
}

// maxRecorded bounds the bodies kept per call.
const maxRecorded = 64 << 10

// Wrap is a demo.Options.Wrap: it records what reaches the emulator.
func (r *Recorder) Wrap(emulator string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		on := r.on
		r.mu.Unlock()
		if !on || strings.Contains(req.URL.Path, "/_emulator/") {
			h.ServeHTTP(w, req)
			return
		}
		c := Call{Emulator: emulator, Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery,
			ContentType: req.Header.Get("Content-Type"), At: time.Now()}
		if req.Body != nil {
			b, err := io.ReadAll(io.LimitReader(req.Body, maxRecorded+1))
			if err == nil && len(b) <= maxRecorded {
				c.Body = b
			}
			req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), req.Body))
		}
		rw := &capture{ResponseWriter: w}
		h.ServeHTTP(rw, req)
		c.Status, c.Response = rw.status, rw.body.Bytes()
		if c.Status == 0 {
			c.Status = http.StatusOK
		}
		r.mu.Lock()
		r.calls = append(r.calls, c)
		r.mu.Unlock()
	})
}

// Start clears the log and records from now on.
func (r *Recorder) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on, r.calls = true, nil
}

// Stop stops recording and returns the calls in the order they arrived.
func (r *Recorder) Stop() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	out := r.calls
	r.calls = nil
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// capture passes an answer through and keeps a copy of its start.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if room := maxRecorded - c.body.Len(); room > 0 {
		c.body.Write(b[:min(len(b), room)])
	}
	return c.ResponseWriter.Write(b)
}

func (c *capture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Summary lists calls as "emulator METHOD path" with counts, in first-seen
// order, for the README and -v output: "asana GET /api/1.0/tasks/{gid}×1, …".
func Summary(calls []Call, generalise func(string) string) string {
	var order []string
	n := map[string]int{}
	for _, c := range calls {
		k := c.Emulator + " " + c.Method + " " + generalise(c.Path)
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%s×%d", k, n[k])
	}
	return strings.Join(parts, ", ")
}
