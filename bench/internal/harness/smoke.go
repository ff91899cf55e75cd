package harness

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
)

// Smoke runs a benchmark's run function once per argument list, each on
// SQLite and on PostgreSQL (the PostgreSQL half skipped without
// TEST_POSTGRES_URL, failed under CI), and checks that each prints
// summary lines starting with prefix. It is what `go test ./bench/...` runs:
// proof that the benchmarks still work, with no figure checked.
func Smoke(t *testing.T, prefix string, run func(ctx context.Context, args []string, out io.Writer) error, argLists ...[]string) {
	t.Helper()
	for _, db := range []string{SQLite, Postgres} {
		t.Run(db, func(t *testing.T) {
			extra := []string{"-db", db}
			if db == Postgres {
				extra = append(extra, "-postgres-url", pgtest.URL(t))
			}
			for _, args := range argLists {
				var out bytes.Buffer
				if err := run(t.Context(), append(append([]string{}, args...), extra...), &out); err != nil {
					t.Fatalf("%v: %v", args, err)
				}
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				for _, l := range lines {
					if !strings.HasPrefix(l, prefix) {
						t.Errorf("%v: want summary lines starting %q, got %q", args, prefix, out.String())
					}
				}
			}
		})
	}
}

// SmokeSizes are the scale generator's sizes in the smoke tests: every
// table filled, a few rows each, so that CI runs the generator's code on
// both databases in a fraction of a second.
const SmokeSizes = "workspaces=4,servers=2,users=10,links=50,audit=20,jobs=20,syncing=2,synced_links=8"
