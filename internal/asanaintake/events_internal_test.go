package asanaintake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/google/go-cmp/cmp"
)

// golden reads one of the Asana emulator's recorded changes: the events API
// and webhook renderings of the same events (the emulator keeps them in
// step with Asana's documented shapes; see internal/fakes/asana).
func golden(t *testing.T, name string) (events, webhook []asana.Event) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fakes", "asana", "testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Events  []asana.Event `json:"events"`
		Webhook []asana.Event `json:"webhook"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Events) != len(g.Webhook) {
		t.Fatalf("%s: %d events, %d webhook events", name, len(g.Events), len(g.Webhook))
	}
	return g.Events, g.Webhook
}

// TestObserveRecordedShapes maps each recorded change to what the intake
// records: the task and kind it concerns, and one dedup key that the events
// API and a webhook delivery of the same event share.
func TestObserveRecordedShapes(t *testing.T) {
	t.Parallel()
	const (
		task  = "1201000000001002"
		story = "1300000000000002"
	)
	type seen struct {
		Task, Story, Kind, Object, AddedTo, RemovedFrom string
	}
	tests := map[string][]seen{
		"comment.json": {{Task: task, Story: story, Kind: syncengine.KindComment, Object: story}},
		"completed.json": {
			{Task: task, Kind: syncengine.KindCompletion},
			{Task: task, Story: story, Kind: syncengine.KindCompletion},
		},
		"reopened.json": {
			{Task: task, Kind: syncengine.KindCompletion},
			{Task: task, Story: "1300000000000003", Kind: syncengine.KindCompletion},
		},
		// Asana names only the story of an edit: its task comes from the
		// comment map or from Asana.
		"comment_edited.json":  {{Story: "1300000000000001", Kind: syncengine.KindComment, Object: "1300000000000001"}},
		"comment_deleted.json": {{Task: task, Story: "1300000000000001", Kind: syncengine.KindComment, Object: "1300000000000001"}},
		"section_changed.json": {
			{Task: task, Kind: syncengine.KindTask},
			{Task: task, Kind: syncengine.KindTask},
			{Task: task, Story: story, Kind: syncengine.KindTask},
		},
		"task_created.json": {
			{Task: story, Kind: syncengine.KindTask, AddedTo: "1201000000000101"},
			{Task: story, Kind: syncengine.KindTask},
		},
		// A file attached to the task: its copy to the issue is asked for.
		"file_attached.json": {{Task: task, Story: "1300000000000003", Kind: syncengine.KindAttachment, Object: "1300000000000003"}},
		"renamed.json": {
			{Task: task, Kind: syncengine.KindTask},
			{Task: task, Story: story, Kind: syncengine.KindTask},
		},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			events, webhook := golden(t, name)
			var got []seen
			for i := range events {
				o, ok := observe(events[i])
				w, wok := observe(webhook[i])
				if !ok || !wok {
					t.Fatalf("event %d not observed: %+v / %+v", i, events[i], webhook[i])
				}
				if o.dedup != w.dedup || o.task != w.task || o.kind != w.kind || o.actor != w.actor || !o.at.Equal(w.at) {
					t.Errorf("event %d: the events API gives %+v, the webhook %+v; want the same", i, o, w)
				}
				if o.actor == "" || o.at.IsZero() {
					t.Errorf("event %d: no actor or time: %+v", i, o)
				}
				got = append(got, seen{Task: o.task, Story: o.story, Kind: o.kind, Object: o.object, AddedTo: o.addedTo, RemovedFrom: o.removedFrom})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("observed (-want +got):\n%s", diff)
			}
			keys := map[string]bool{}
			for _, ev := range events {
				o, _ := observe(ev)
				if keys[o.dedup] {
					t.Errorf("two events of one change share the key %s", o.dedup)
				}
				keys[o.dedup] = true
			}
		})
	}
}

// TestObserveIgnoresWhatNoLinkHolds: project, section and custom field
// events concern no task.
func TestObserveIgnoresWhatNoLinkHolds(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"section_created.json", "enum_option_created.json", "custom_field_added_to_project.json"} {
		events, _ := golden(t, name)
		for _, ev := range events {
			if o, ok := observe(ev); ok {
				t.Errorf("%s: %s %s observed as %+v", name, ev.Resource.ResourceType, ev.Action, o)
			}
		}
	}
}
