package bridge_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/bridge/bridgetest"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
)

// Asana answering 503 to the "files copied" comment loses nothing: the copy
// job fails, and its retry posts the comment, once.
func TestCopyCommentSurvivesAsana503(t *testing.T) {
	t.Parallel()
	e := bridgetest.New(t, bridgetest.Options{})
	ctx := t.Context()
	args := bridge.CopyArgsFor(e.Link)
	if err := e.Asana.SetFaults(fakeasana.Faults{ErrorRate: 1, ErrorStatus: 503,
		PathPrefix: "/api/1.0/tasks/" + e.Link.TaskGID + "/stories"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Bridge.CopyAttachments(ctx, args)
	var ae *asana.Error
	if !errors.As(err, &ae) || ae.StatusCode != 503 {
		t.Fatalf("copy while Asana fails = %v, want Asana's 503", err)
	}
	if err := e.Asana.SetFaults(fakeasana.Faults{Reset: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Bridge.CopyAttachments(ctx, args)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Comment, "Copied:") || e.Stories("asanajira brought this task's files to Jira issue DEMO-1.") != 1 {
		t.Fatalf("after the retry: report %q, stories %+v", rep.Comment, e.Asana.Stories(e.Link.TaskGID))
	}
	again, err := e.Bridge.CopyAttachments(ctx, args)
	if err != nil {
		t.Fatal(err)
	}
	if again.Comment != "" || e.Stories("asanajira brought") != 1 || len(again.Items) != len(rep.Items) {
		t.Fatalf("a third run: report %+v, %d comments", again, e.Stories("asanajira brought"))
	}
	is, _ := e.Jira.Issue("DEMO-1")
	if len(is.Attachments) == 0 {
		t.Fatal("no files were copied")
	}
}
