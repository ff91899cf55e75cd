package demo

import (
	"slices"
	"strings"
	"testing"
)

// The demo's admins are its admin user and those --admins names: demo users
// by login, anyone else by gid or email; anything else is refused.
func TestDemoAdmins(t *testing.T) {
	t.Parallel()
	users := map[string]string{"admin": "11", "alice": "12", "bob": "13"}
	for _, tc := range []struct {
		extra []string
		want  []string
		bad   string
	}{
		{nil, []string{"11"}, ""},
		{[]string{"alice"}, []string{"11", "12"}, ""},
		{[]string{"Bob", " carol@acme.example ", "1201000000000099"}, []string{"11", "13", "carol@acme.example", "1201000000000099"}, ""},
		{[]string{"admin"}, []string{"11"}, ""},
		{[]string{"alice", "carol"}, nil, `"carol" is neither a demo user`},
	} {
		got, err := demoAdmins(users, tc.extra)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("demoAdmins(%q) = %v, %v; want an error %q", tc.extra, got, err, tc.bad)
			}
			if cerr := CheckAdmins(tc.extra); cerr == nil {
				t.Errorf("CheckAdmins(%q) accepts it", tc.extra)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("demoAdmins(%q) = %v, %v; want %v", tc.extra, got, err, tc.want)
		}
		if err := CheckAdmins(tc.extra); err != nil {
			t.Errorf("CheckAdmins(%q) = %v", tc.extra, err)
		}
	}
}

// The console's refusal in the demo names the account to use and the flag.
func TestSignInHint(t *testing.T) {
	t.Parallel()
	if h := signInHint(nil); !strings.Contains(h, "sign in to Asana as admin (password admin)") || !strings.Contains(h, "--admins alice,bob") {
		t.Errorf("hint without --admins: %q", h)
	}
	if h := signInHint([]string{"alice"}); !strings.Contains(h, "started with --admins alice") {
		t.Errorf("hint with --admins alice: %q", h)
	}
}
