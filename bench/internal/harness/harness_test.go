package harness

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceAll(t *testing.T) {
	t.Parallel()
	subs := map[string]string{"DEMO-5": "DEMO-77", "1300000000000002": "1300000000000042"}
	for _, tc := range []struct{ in, want string }{
		{"/jira/rest/api/2/issue/DEMO-5/remotelink", "/jira/rest/api/2/issue/DEMO-77/remotelink"},
		{"/jira/rest/api/2/issue/DEMO-50", "/jira/rest/api/2/issue/DEMO-50"},
		{"/jira/rest/api/2/issue/XDEMO-5", "/jira/rest/api/2/issue/XDEMO-5"},
		{`{"globalId":"asana:task:1300000000000002"}`, `{"globalId":"asana:task:1300000000000042"}`},
		{"jql=issue+in+issuesWithRemoteLinksByGlobalId%28%22asana%3Atask%3A1300000000000002%22%29", "jql=issue+in+issuesWithRemoteLinksByGlobalId%28%22asana%3Atask%3A1300000000000042%22%29"},
		{"/api/1.0/tasks/13000000000000021", "/api/1.0/tasks/13000000000000021"},
		{"", ""},
	} {
		if got := replaceAll(tc.in, subs); got != tc.want {
			t.Errorf("replaceAll(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIssueKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"id":"10010","key":"DEMO-9","self":"x"}`: "DEMO-9",
		`{"id":"10010"}`:     "",
		`[{"key":"DEMO-9"}]`: "",
		`not json`:           "",
	} {
		if got := issueKey([]byte(in)); got != want {
			t.Errorf("issueKey(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestFifthsAndMerge(t *testing.T) {
	t.Parallel()
	ms := func(ds ...int) []time.Duration {
		out := make([]time.Duration, len(ds))
		for i, d := range ds {
			out[i] = time.Duration(d) * time.Millisecond
		}
		return out
	}
	r := ResultOf(ms(1, 1, 2, 2, 3, 3, 4, 4, 9, 9))
	var fifths []time.Duration
	for i := range 5 {
		fifths = append(fifths, r.Fifth(i))
	}
	if diff := cmp.Diff(ms(1, 2, 3, 4, 9), fifths); diff != "" {
		t.Errorf("fifths (-want +got):\n%s", diff)
	}
	if r.Elapsed != 38*time.Millisecond || r.N != 10 {
		t.Errorf("Elapsed %v N %d, want the sum 38ms and 10", r.Elapsed, r.N)
	}
	m := merge([]Result{ResultOf(ms(5)), ResultOf(ms(1, 3))})
	if m.N != 3 || m.P50 != 3*time.Millisecond || m.Elapsed != 9*time.Millisecond {
		t.Errorf("merge: %+v", m)
	}
}
