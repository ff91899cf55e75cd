package queryplan

import (
	"strings"
	"testing"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/google/go-cmp/cmp"
)

// TestSubmitRecordsItsSignatureWithItsOwnWrites: a form submit reads no
// record of its signature before it creates and writes none on its own;
// on PostgreSQL its signature is claimed by the creation's claim and
// answered by the link's statement, each one round trip, so what the
// replay protection costs a create is two statements' parameters.
func TestSubmitRecordsItsSignatureWithItsOwnWrites(t *testing.T) {
	t.Parallel()
	w, rec := startRecorded(t, harness.Postgres)
	ctx := t.Context()
	c := harness.Client(1)
	task, err := w.CreateTask(ctx, c, "Submitted once")
	if err != nil {
		t.Fatal(err)
	}
	rec.during("the form submit")
	if _, err := w.SubmitCreate(ctx, c, w.Alice, task, "Submitted once"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rec.stop() {
		if strings.Contains(s.query, "signed_requests") {
			q := oneLine(s.query)
			got = append(got, q[:min(len(q), 60)])
		}
	}
	want := []string{
		"WITH seen AS ( SELECT signature, route, status, response, ex", // store.ClaimCreation
		"WITH l AS ( INSERT INTO links (workspace_gid, task_gid, jira", // store.CreateLinkOfCreate
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements of a form submit that read or write its signature's record (-want +got):\n%s", diff)
	}
}
