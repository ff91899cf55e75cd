package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asanajira/asanajira/internal/config"
)

// BuildBridge compiles cmd/asanajira into dir, so the bridge can run as
// its own process and its memory be measured alone.
func BuildBridge(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "asanajira")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/asanajira/asanajira/cmd/asanajira")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("harness: go build: %w: %s", err, out)
	}
	return bin, nil
}

// Process is a running `asanajira serve`.
type Process struct {
	cmd     *exec.Cmd
	URL     string
	Started time.Time
	waited  chan error
}

// ServeArgs are the serve flags for a bridge configuration.
func ServeArgs(cfg config.Config) []string {
	args := []string{"serve", "--listen", cfg.Listen, "--public-url", cfg.PublicURL, "--database-url", cfg.DatabaseURL,
		"--asana-url", cfg.AsanaURL, "--asana-client-id", cfg.AsanaClientID, "--asana-client-secret", cfg.AsanaClientSecret,
		"--app-origin", cfg.AppOrigin, "--log-level", "warn"}
	if len(cfg.AsanaDownloadHosts) > 0 {
		args = append(args, "--asana-download-hosts", strings.Join(cfg.AsanaDownloadHosts, ","))
	}
	if len(cfg.Admins) > 0 {
		args = append(args, "--admins", strings.Join(cfg.Admins, ","))
	}
	if cfg.Public {
		args = append(args, "--public")
	}
	if cfg.SecretKey != "" {
		args = append(args, "--secret-key", cfg.SecretKey) // a throw-away key of a benchmark's PostgreSQL schema
	}
	return args
}

// StartBridge runs bin serve with cfg's settings.
func StartBridge(ctx context.Context, bin string, cfg config.Config, logOut io.Writer) (*Process, error) {
	cmd := exec.CommandContext(ctx, bin, ServeArgs(cfg)...) //nolint:gosec // G204: the binary the benchmark built or was given
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = logOut, logOut
	// A benchmark interrupted by its context must not leave the bridge
	// running: SIGTERM lets it shut down cleanly.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	p := &Process{cmd: cmd, URL: cfg.PublicURL, waited: make(chan error, 1)}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("harness: start %s: %w", bin, err)
	}
	go func() { p.waited <- cmd.Wait() }()
	return p, nil
}

// PID is the bridge's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// WaitReady polls /readyz every 2 ms and returns how long after the start
// it first answered 200.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.waited:
			p.waited <- err
			return 0, fmt.Errorf("harness: the bridge exited before it was ready: %w", err)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/readyz", nil)
		if err != nil {
			return 0, fmt.Errorf("harness: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(p.Started), nil
			}
		}
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("harness: waiting for /readyz: %w", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("harness: /readyz did not answer 200 within %v", timeout)
}

// Memory is a process's resident memory, from /proc/<pid>/status.
type Memory struct {
	RSS  int64 // VmRSS: resident now, bytes
	Peak int64 // VmHWM: the highest resident size since start, bytes
}

// Memory reads the bridge's resident memory.
func (p *Process) Memory() (Memory, error) { return ReadMemory(p.PID()) }

// ReadMemory reads VmRSS and VmHWM of a process (Linux only).
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("harness: %w", err)
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("harness: %s %q: %w", k, v, err)
		}
		if k == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("harness: %w", err)
	}
	if m.Peak == 0 {
		return Memory{}, errors.New("harness: no VmHWM in /proc status")
	}
	return m, nil
}

// Stop sends SIGTERM and waits for the bridge to exit.
func (p *Process) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // fails only if it exited already
	select {
	case err := <-p.waited:
		p.waited <- err
		return err
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		return errors.New("harness: the bridge did not stop within 20s")
	}
}
