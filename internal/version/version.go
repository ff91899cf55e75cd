// Package version reports which asanajira this is. Release builds set
// Version and Commit with -ldflags "-X ..."; other builds fall back to what
// the Go toolchain recorded.
package version

import (
	"runtime"
	"runtime/debug"
)

// Set at build time: go build -ldflags "-X github.com/asanajira/asanajira/internal/version.Version=v1.2.3 -X ...Commit=abc123".
var (
	Version = ""
	Commit  = ""
)

// Info is what `asanajira version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
}

// Get returns the build's version, commit and Go version.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Commit == "" {
				info.Commit = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}
