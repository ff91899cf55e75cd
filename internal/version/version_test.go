package version

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	checkout := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "ae713bd2cafe"},
		{Key: "vcs.time", Value: "2026-11-29T20:38:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := map[string]struct {
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		"make build stamps everything": {
			version: "0.2.0+ae713bd", commit: "ae713bd", date: "2026-11-29T20:38:00Z",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: checkout},
			want: Info{Version: "0.2.0+ae713bd", Commit: "ae713bd", Date: "2026-11-29T20:38:00Z", GoVersion: "go1.26.8"},
		},
		"a v-prefixed tag stamped by hand": {
			version: "v0.3.0", commit: "abc", date: "2026-12-01T00:00:00Z",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8"},
			want: Info{Version: "0.3.0", Commit: "abc", Date: "2026-12-01T00:00:00Z", GoVersion: "go1.26.8"},
		},
		"go install module@v0.2.0 (module cache, no VCS)": {
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/asanajira/asanajira", Version: "v0.2.0"}},
			want: Info{Version: "0.2.0", Commit: "unknown", Date: "unknown", GoVersion: "go1.26.8"},
		},
		"go install of an untagged commit (pseudo-version)": {
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.2.1-0.20261129203800-ae713bd2cafe"}},
			want: Info{Version: "0.2.1-0.20261129203800-ae713bd2cafe", Commit: "unknown", Date: "unknown", GoVersion: "go1.26.8"},
		},
		"bare go build in a checkout, Go 1.24+ guesses a version": {
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.2.0+dirty"}, Settings: checkout},
			want: Info{Version: "dev", Commit: "ae713bd2cafe", Date: "2026-11-29T20:38:00Z", GoVersion: "go1.26.8"},
		},
		"bare go build with -buildvcs=false": {
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: Info{Version: "dev", Commit: "unknown", Date: "unknown", GoVersion: "go1.26.8"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, resolve(tc.version, tc.commit, tc.date, tc.bi)); diff != "" {
				t.Errorf("resolve (-want +got):\n%s", diff)
			}
		})
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	got := Info{Version: "0.2.0", Commit: "ae713bd", Date: "2026-11-29T20:38:00Z", GoVersion: "go1.26.8"}.String()
	want := "asanajira 0.2.0 (commit ae713bd, built 2026-11-29T20:38:00Z, go1.26.8)"
	if got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
