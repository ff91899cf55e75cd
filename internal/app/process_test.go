package app_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/asanajira/asanajira/internal/servetest"
)

// The real binary, built once for the tests of this package that run
// `asanajira serve` as its own process.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir) // a temporary folder; nothing to report
	}
	os.Exit(code)
}

// asanajiraBinary builds cmd/asanajira (once per test binary) and returns
// its path.
func asanajiraBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the asanajira binary")
	}
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "asanajira-app-test-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "asanajira")
		out, err := exec.Command("go", "build", "-o", binary.path, "github.com/asanajira/asanajira/cmd/asanajira").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// serveProcess is one `asanajira serve` process (internal/servetest).
type serveProcess = servetest.Process

// startServe runs bin serve with env added to the test's environment.
func startServe(t *testing.T, bin, name string, env []string, args ...string) *serveProcess {
	t.Helper()
	return servetest.Start(t, bin, name, env, args...)
}
