package effects

import "strings"

// Before fingerprints became invisible, every story and Jira comment
// asanajira wrote ended with the line "asanajira ref <fingerprint>".
// Installations upgraded from then have such stories and comments: they
// stay asanajira's own (HasMarker), a write pending across the upgrade is
// still found by its line, and the sync engine leaves the line out of the
// texts it compares and mirrors (StripMarker). Nothing writes the line any
// more.

// markerPrefix starts the marker line.
const markerPrefix = "asanajira ref "

// HasMarker reports whether text carries asanajira's former marker line.
func HasMarker(text string) bool { return strings.Contains(text, markerPrefix) }

// StripMarker is text without its marker lines.
func StripMarker(text string) string {
	if !HasMarker(text) {
		return text
	}
	lines := strings.Split(text, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), markerPrefix) {
			out = append(out, l)
		}
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n")
}

// hasMarkerOf reports whether text carries the marker line of fingerprint.
func hasMarkerOf(text, fingerprint string) bool {
	return fingerprint != "" && strings.Contains(text, markerPrefix+fingerprint)
}
