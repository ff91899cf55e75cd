package bridge_test

import (
	"testing"

	"github.com/asanajira/asanajira/internal/bridge"
)

func TestCalendarDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"2026-03-15", "2026-03-15", true},
		{" 2026-03-15 ", "2026-03-15", true},
		// Midnight of the picked day in Berlin, Tokyo, Auckland (UTC+13),
		// London, New York and Honolulu (UTC-10), sent as UTC instants.
		{"2026-03-14T23:00:00.000Z", "2026-03-15", true},
		{"2026-03-14T15:00:00Z", "2026-03-15", true},
		{"2026-03-14T11:00:00Z", "2026-03-15", true},
		{"2026-03-15T00:00:00.000Z", "2026-03-15", true},
		{"2026-03-15T04:00:00.000Z", "2026-03-15", true},
		{"2026-03-15T10:00:00Z", "2026-03-15", true},
		// With an offset, the day is read in it.
		{"2026-03-15T00:00:00+09:00", "2026-03-15", true},
		{"2026-03-15T00:00:00-05:00", "2026-03-15", true},
		{"soon", "", false},
		{"2026-02-30", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, ok := bridge.CalendarDate(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CalendarDate(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSentenceCase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Due Date":         "Due date",
		"Fix Version/s":    "Fix version/s",
		"Epic Name":        "Epic name",
		"Story Points":     "Story points",
		"Summary":          "Summary",
		"QA Owner":         "QA owner",
		"Target iOS Build": "Target iOS build",
		"Sprint":           "Sprint",
		"Approver (QA)":    "Approver (QA)",
		"":                 "",
	} {
		if got := bridge.SentenceCase(in); got != want {
			t.Errorf("SentenceCase(%q) = %q, want %q", in, got, want)
		}
	}
}
