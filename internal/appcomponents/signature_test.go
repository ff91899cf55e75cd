package appcomponents

import (
	"strings"
	"testing"
)

// TestValidSignature: validSignature accepts exactly Sign's answer.
func TestValidSignature(t *testing.T) {
	t.Parallel()
	const secret, msg = "demo-secret", "user=1&workspace=2&expires_at=2026-11-30T10%3A00%3A00Z"
	good := Sign(secret, msg)
	changed := good[:63] + "0"
	if good[63] == '0' {
		changed = good[:63] + "1"
	}
	tests := []struct {
		name, sig string
		want      bool
	}{
		{"Sign's answer", good, true},
		{"another secret's", Sign("other", msg), false},
		{"another message's", Sign(secret, msg+"&x=1"), false},
		{"one digit changed", changed, false},
		{"uppercase", strings.ToUpper(good), true},
		{"short", good[:62], false},
		{"long", good + "00", false},
		{"not hex", "zz" + good[2:], false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := validSignature(secret, msg, tc.sig); got != tc.want {
				t.Errorf("validSignature(%q) = %v, want %v", tc.sig, got, tc.want)
			}
		})
	}
}
