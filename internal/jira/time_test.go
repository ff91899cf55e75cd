package jira

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2019-08-13T07:23:01.890+0800", time.Date(2019, 8, 12, 23, 23, 1, 890e6, time.UTC)},
		{"2019-06-04T00:50:04.873+0000", time.Date(2019, 6, 4, 0, 50, 4, 873e6, time.UTC)},
		{"2019-02-15T19:01:52.971-0800", time.Date(2019, 2, 16, 3, 1, 52, 971e6, time.UTC)},
		{"2019-02-15T19:01:52-0800", time.Date(2019, 2, 16, 3, 1, 52, 0, time.UTC)},
		{"2019-02-15T19:01:52.5Z", time.Date(2019, 2, 15, 19, 1, 52, 5e8, time.UTC)},
		{"2025-05-01", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.in)
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := ParseTime("13/08/2019"); err == nil {
		t.Error("ParseTime accepted a non-Jira date")
	}
}

func TestTimeJSON(t *testing.T) {
	t.Parallel()
	var v struct{ A, B, C Time }
	if err := json.Unmarshal([]byte(`{"A":"2019-08-13T07:23:01.890+0800","B":null,"C":""}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.IsZero() || !v.B.IsZero() || !v.C.IsZero() {
		t.Fatalf("decoded %+v", v)
	}
	b, _ := json.Marshal(v.A)
	if got := string(b); got != `"2019-08-13T07:23:01.890+0800"` {
		t.Errorf("MarshalJSON = %s", got)
	}
}
