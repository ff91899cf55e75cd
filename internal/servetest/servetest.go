// Package servetest runs `asanajira serve` binaries as processes for
// tests: start one with extra environment and flags, wait until it serves
// and /readyz answers, read its JSON logs, signal and stop it.
package servetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is one `asanajira serve` process with JSON logs on stderr.
type Process struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	serving chan string   // the listen address, once "asanajira is serving" is logged
	exited  chan struct{} // closed when the process has exited; err is then set
	err     error

	mu   sync.Mutex
	logs []string
}

// Start runs bin serve with env added to the test's environment. The
// process is killed when the test ends if it still runs.
func Start(t *testing.T, bin, name string, env []string, args ...string) *Process {
	t.Helper()
	// Not cancelled with the test's context: the cleanup below kills a
	// process the test did not stop, after the test's own cleanups ran.
	cmd := exec.CommandContext(context.WithoutCancel(t.Context()), bin, append([]string{"serve"}, args...)...) //nolint:gosec // G204: the binary the test built
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{t: t, name: name, cmd: cmd, serving: make(chan string, 1), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs = append(p.logs, line)
			p.mu.Unlock()
			var m struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "asanajira is serving" {
				p.serving <- m.Listen
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill() // the test failed before stopping it
			<-p.exited
		}
	})
	return p
}

// Logs is everything the process logged so far.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

// WaitReady waits until the process serves and /readyz answers 200, and
// returns its base URL. Waits are bounded only so a broken start fails
// instead of hanging.
func (p *Process) WaitReady() string {
	p.t.Helper()
	var addr string
	select {
	case addr = <-p.serving:
	case <-p.exited:
		p.t.Fatalf("%s exited before serving: %v\n%s", p.name, p.err, p.Logs())
	case <-time.After(2 * time.Minute):
		p.t.Fatalf("%s did not start serving\n%s", p.name, p.Logs())
	}
	base := "http://" + addr
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequestWithContext(p.t.Context(), http.MethodGet, base+"/readyz", nil)
		if err != nil {
			p.t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: /readyz never answered 200 (last error %v)\n%s", p.name, err, p.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// Wait waits for the process to exit and returns how it exited.
func (p *Process) Wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %v\n%s", p.name, timeout, p.Logs())
		return nil
	}
}

// Stop sends SIGTERM and expects a clean exit.
func (p *Process) Stop() {
	p.t.Helper()
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(2 * time.Minute); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.t.Fatalf("%s exited with %v after SIGTERM, want 0\n%s", p.name, err, p.Logs())
		}
		p.t.Fatal(err)
	}
}
