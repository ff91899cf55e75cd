package jira

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// TimeLayout is Jira's datetime format: milliseconds and an offset without a
// colon ("2019-08-13T07:23:01.890+0800"), which time.RFC3339 rejects.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// DateLayout is the format of date-only fields such as duedate.
const DateLayout = "2006-01-02"

// ParseTime parses a Jira datetime. It also accepts RFC 3339 and missing
// milliseconds, which some proxies and plugins produce.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{TimeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano, DateLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("jira: %q is not a Jira datetime like 2019-08-13T07:23:01.890+0800", s)
}

// Time is a Jira datetime in JSON. The zero Time stands for null or "".
type Time struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	s := strings.Trim(string(b), `"`)
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.Format(TimeLayout) + `"`), nil
}
