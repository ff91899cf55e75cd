package effects

import "strings"

// markerPrefix starts the marker line of every story and comment asanajira
// writes.
const markerPrefix = "asanajira ref "

// Marker is the line that carries a fingerprint in the text of a story or a
// comment: "asanajira ref <fingerprint>".
func Marker(fingerprint string) string { return markerPrefix + fingerprint }

// HasMarker reports whether text carries a marker of asanajira: the sync
// engine knows its own stories and comments by it and never mirrors them
// back.
func HasMarker(text string) bool { return strings.Contains(text, markerPrefix) }

// withMarker is text with the marker as its last line.
func withMarker(text, fingerprint string) string { return text + "\n\n" + Marker(fingerprint) }
