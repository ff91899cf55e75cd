package appcomponents

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/httpx"
)

// encodingJSON is the widget as httpx.WriteJSON wrote it.
func encodingJSON(t testing.TB, v *widgetResponse) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// widgetSamples are widgets as renderWidget draws them, every branch.
func widgetSamples() []widgetResponse {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	full := bridge.WidgetData{Key: "DEMO-2", Summary: `Fix "login" <b>& co</b>` + "\u2028\x01\xff", Status: "In Progress",
		StatusCategory: "indeterminate", Assignee: "Ålice Ànderson", Priority: "High", IssueType: "Bug", DueDate: "2026-01-02",
		Updated: now, Comments: 12, Viewer: "alice", ViewerName: "Alice"}
	synced := full
	synced.Syncing, synced.SyncedAt, synced.DueDate, synced.Resolution = true, now, "", "Done"
	syncErr := synced
	syncErr.SyncError = "Jira said \"no\"\n\ttwice"
	return []widgetResponse{
		renderWidget(&full, now),
		renderWidget(&synced, now),
		renderWidget(&syncErr, now),
		renderWidget(&bridge.WidgetData{Key: "DEMO-3"}, now),
		renderWidget(&bridge.WidgetData{Key: "DEMO-4", NoAccess: true, Viewer: "bob"}, now),
		{},
	}
}

func TestWidgetJSONIsEncodingJSONs(t *testing.T) {
	t.Parallel()
	for _, v := range widgetSamples() {
		want := encodingJSON(t, &v)
		got := string(append(v.appendJSON(nil), '\n'))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-encoding/json +appendJSON):\n%s", diff)
		}
	}
}

// writeWidget answers as httpx.WriteJSON did: same status, headers and
// bytes.
func TestWriteWidgetAnswersAsWriteJSON(t *testing.T) {
	t.Parallel()
	for _, v := range widgetSamples() {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		httpx.WriteJSON(want, http.StatusOK, v)
		writeWidget(got, &v)
		if diff := cmp.Diff(want.Result().Header, got.Result().Header); diff != "" {
			t.Errorf("headers (-WriteJSON +writeWidget):\n%s", diff)
		}
		if want.Code != got.Code || want.Body.String() != got.Body.String() {
			t.Errorf("writeWidget %d %q, WriteJSON %d %q", got.Code, got.Body, want.Code, want.Body)
		}
	}
}

func FuzzWidgetJSON(f *testing.F) {
	f.Add("DEMO-1: s", "Jira Bug", "Status", "To Do", "cool-gray", "", "updated", "", "2026-11-30T12:00:00Z", 3, true)
	f.Add("<&>\"\\", "\u2028\u2029", "\x00\x1f\x7f", "\b\f\n\r\t", "\xff\xfe", "é\xc3", "", "x", "", -1, false)
	f.Fuzz(func(t *testing.T, title, subtitle, name, text, color, datetime, footerType, footerText, updated string, n int, withN bool) {
		v := widgetResponse{Template: "summary_with_details_v0", Metadata: widgetMetadata{Title: title, Subtitle: subtitle,
			Fields: []widgetField{{Type: "pill", Name: name, Text: text, Color: color}, {Type: text, Name: color, Datetime: datetime}},
			Footer: widgetFooter{FooterType: footerType, Text: footerText, LastUpdatedAt: updated}}}
		if withN {
			v.Metadata.NumComments = &n
		}
		if diff := cmp.Diff(encodingJSON(t, &v), string(append(v.appendJSON(nil), '\n'))); diff != "" {
			t.Errorf("(-encoding/json +appendJSON):\n%s", diff)
		}
	})
}

func BenchmarkWidgetJSON(b *testing.B) {
	v := widgetSamples()[0]
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			httpx.WriteJSON(discardWriter{}, http.StatusOK, v)
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			writeWidget(discardWriter{}, &v)
		}
	})
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}
