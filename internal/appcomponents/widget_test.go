package appcomponents

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/bridge"
)

// The widget shows a due date as the date, and once it has passed (and
// the issue is not resolved) as a red "overdue" pill.
func TestWidgetDueDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		due, resolution string
		want            *widgetField
	}{
		{due: "2026-12-24", want: &widgetField{Type: "text_with_icon", Name: "Due date", Text: "Dec 24, 2026"}},
		{due: "2026-11-29", want: &widgetField{Type: "text_with_icon", Name: "Due date", Text: "Nov 29, 2026"}},
		{due: "2026-02-28", want: &widgetField{Type: "pill", Name: "Due date", Text: "Feb 28, 2026 · overdue", Color: "red"}},
		{due: "2026-02-28", resolution: "Done", want: nil},
		{due: "", want: nil},
	}
	for _, tc := range tests {
		w := renderWidget(&bridge.WidgetData{Key: "DEMO-1", Summary: "s", Status: "To Do", DueDate: tc.due, Resolution: tc.resolution}, now)
		var got *widgetField
		for _, f := range w.Metadata.Fields {
			if f.Name == "Due date" {
				got = &f
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("due %q resolution %q (-want +got):\n%s", tc.due, tc.resolution, diff)
		}
	}
}

// The subtitle names the Jira account the widget reads the issue with.
func TestWidgetNamesTheConnectedAccount(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    bridge.WidgetData
		want string
	}{
		{bridge.WidgetData{Key: "DEMO-1", IssueType: "Task", Viewer: "alice", ViewerName: "Alice Anderson"}, "Jira Task · connected as alice — Alice Anderson"},
		{bridge.WidgetData{Key: "DEMO-1", IssueType: "Bug", Viewer: "bob"}, "Jira Bug · connected as bob"},
		{bridge.WidgetData{Key: "DEMO-1", IssueType: "Bug"}, "Jira Bug"},
		{bridge.WidgetData{Key: "DEMO-4", NoAccess: true, Viewer: "bob", ViewerName: "Bob Brown"}, "Jira issue · connected as bob — Bob Brown"},
	} {
		if got := renderWidget(&tc.d, now).Metadata.Subtitle; got != tc.want {
			t.Errorf("subtitle %q, want %q", got, tc.want)
		}
	}
}
