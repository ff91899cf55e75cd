package jobs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/riverqueue/river"
)

// A file attached in Jira reaches the task through the queue: the webhook's
// sync_link run asks for a copy_jira_attachments job, which streams it to
// the task once, on both databases.
func TestCopyJiraAttachmentsJob(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			e := synctest.New(t, synctest.Options{DB: db, Run: true})
			ctx := t.Context()
			if err := e.Engine.PutMapping(ctx, e.Seed.Workspace, e.Server.ID, "", syncengine.Mapping{}, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.JiraAs(t, "bob").UploadAttachment(ctx, "DEMO-1", "queued.txt", 6, strings.NewReader("queued"), nil); err != nil {
				t.Fatal(err)
			}
			copies := func() int {
				n := 0
				for _, a := range e.Asana.Attachments(e.Link.TaskGID) {
					if a.Name == "queued.txt" && string(a.Content) == "queued" {
						n++
					}
				}
				return n
			}
			synctest.Eventually(t, 30*time.Second, "the Jira file reaches the task", func() bool { return copies() == 1 })
			res, err := e.Queue.Client().JobList(ctx, river.NewJobListParams().Kinds("copy_jira_attachments").First(10))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Jobs) == 0 {
				t.Error("no copy_jira_attachments job ran")
			}
			if n := copies(); n != 1 {
				t.Errorf("%d copies on the task", n)
			}
		})
	}
}
