// Package version reports which asanajira this is. `make build` and release
// builds set Version, Commit and Date with -ldflags "-X ..."; `go install
// …@version` builds fall back to the module version the Go toolchain
// recorded; a bare `go build` of a checkout says "dev".
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at build time, for example:
//
//	go build -ldflags "-X github.com/asanajira/asanajira/internal/version.Version=0.2.0 \
//	  -X github.com/asanajira/asanajira/internal/version.Commit=abc1234 \
//	  -X github.com/asanajira/asanajira/internal/version.Date=2026-11-29T12:00:00Z"
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// Info is what `asanajira version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
}

// Get returns this build's version, commit, build date and Go version.
func Get() Info {
	bi, _ := debug.ReadBuildInfo() // absent only in binaries built without module support
	return resolve(Version, Commit, Date, bi)
}

// resolve prefers the values stamped at build time and falls back to the
// build information the toolchain embedded.
func resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		// `go install module@v0.2.0` builds from the module cache and
		// records v0.2.0 with no VCS settings. A build inside a checkout
		// records "(devel)", or since Go 1.24 a version guessed from the
		// checkout's tags (a pseudo-version, "+dirty"): that build was not
		// stamped, so it is "dev" with the commit it was built from.
		fromCheckout := false
		for _, s := range bi.Settings {
			fromCheckout = fromCheckout || s.Key == "vcs"
		}
		if info.Version == "" && !fromCheckout && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			}
		}
	}
	info.Version = strings.TrimPrefix(info.Version, "v")
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// String is the one line `asanajira version` prints.
func (i Info) String() string {
	return "asanajira " + i.Version + " (commit " + i.Commit + ", built " + i.Date + ", " + i.GoVersion + ")"
}
