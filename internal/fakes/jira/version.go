package jira

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// profile is what one Jira release reports about itself and which
// features it has. Gates follow the capability matrix of the Jira reference.
type profile struct {
	version     string
	nums        [3]int
	buildNumber int
	buildDate   string // Jira datetime layout
	scmInfo     string
}

// profiles are the releases the emulator can play, oldest first.
var profiles = []profile{
	{"7.13.5", [3]int{7, 13, 5}, 713005, "2019-06-18T00:00:00.000+0000", "e0c7e59ae1b1d0da9a4d72a7ad1ec8e1bc3eb4e9"},
	{"8.5.0", [3]int{8, 5, 0}, 805000, "2019-10-15T00:00:00.000+0000", "b4c5e1c5a4d6e9f5e4d2c1b0a9f8e7d6c5b4a392"},
	{"8.13.0", [3]int{8, 13, 0}, 813000, "2020-09-29T00:00:00.000+0000", "c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4"},
	{"8.20.1", [3]int{8, 20, 1}, 820001, "2021-10-28T00:00:00.000+0000", "7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708"},
	{"9.12.0", [3]int{9, 12, 0}, 9120000, "2023-11-22T00:00:00.000+0000", "3f2e1d0c9b8a7f6e5d4c3b2a1908f7e6d5c4b3a2"},
	{"10.3.0", [3]int{10, 3, 0}, 10030000, "2024-12-10T00:00:00.000+0000", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"},
}

// Versions lists the Jira versions the emulator can play, oldest first.
func Versions() []string {
	out := make([]string, len(profiles))
	for i, p := range profiles {
		out[i] = p.version
	}
	return out
}

// DefaultVersion is the profile used when Options.Version is empty.
const DefaultVersion = "9.12.0"

func lookupProfile(v string) (profile, error) {
	if v == "" {
		v = DefaultVersion
	}
	i := slices.IndexFunc(profiles, func(p profile) bool { return p.version == v })
	if i < 0 {
		return profile{}, fmt.Errorf("jira emulator: unknown Jira version %q: choose one of %s", v, strings.Join(Versions(), ", "))
	}
	return profiles[i], nil
}

// atLeast reports whether the profile is major.minor or newer.
func (p profile) atLeast(major, minor int) bool {
	if p.nums[0] != major {
		return p.nums[0] > major
	}
	return p.nums[1] >= minor
}

// Feature gates, one per row of the capability matrix.
func (p profile) hasPAT() bool             { return p.atLeast(8, 14) }
func (p profile) hasOAuth2() bool          { return p.atLeast(8, 22) }
func (p profile) hasBasicAuthToggle() bool { return p.atLeast(8, 16) }
func (p profile) hasRateLimit() bool       { return p.atLeast(8, 6) }
func (p profile) hasNewCreatemeta() bool   { return p.atLeast(8, 4) }
func (p profile) hasOldCreatemeta() bool   { return !p.atLeast(9, 0) }
func (p profile) hasGDPRKeys() bool        { return p.atLeast(8, 3) }
func (p profile) asyncWebhooks() bool      { return p.atLeast(10, 0) }
func (p profile) newWebhookREST() bool     { return p.atLeast(10, 0) }
func (p profile) hasHealthChecks() bool    { return !p.atLeast(10, 0) }
func (p profile) signsWebhooks() bool      { return p.atLeast(10, 0) }

func (p profile) versionNumbers() []int { return []int{p.nums[0], p.nums[1], p.nums[2]} }

func itoa(i int) string { return strconv.Itoa(i) }
