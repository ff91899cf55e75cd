package bridge

import "testing"

// The comment on the task says what was copied, linked and skipped, one
// ended sentence a line.
func TestCopyCommentSentences(t *testing.T) {
	t.Parallel()
	got := copyComment(&CopyReport{IssueKey: "DEMO-5", Items: []AttachmentOutcome{
		{Name: "launch-plan.pdf", Action: OutcomeCopied},
		{Name: "homepage-mockup.png", Action: OutcomeCopied},
		{Name: "Press kit (Dropbox)", Action: OutcomeLinked},
		{Name: "big.bin", Action: OutcomeSkipped, Reason: "larger than Jira accepts"},
	}})
	want := "asanajira brought this task's files to Jira issue DEMO-5.\n" +
		"Copied: launch-plan.pdf, homepage-mockup.png.\n" +
		"Linked: Press kit (Dropbox).\n" +
		"Skipped: big.bin (larger than Jira accepts)."
	if got != want {
		t.Errorf("comment:\n%s\nwant:\n%s", got, want)
	}
}
