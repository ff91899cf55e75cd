package jira

import (
	"errors"
	"io"
	"strings"
	"testing"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
)

// TestOpenAttachment streams an attachment's content from the emulator,
// and refuses what is not the file: an SSO login page answered with 200, a
// user who cannot see the issue; a rate limit is retried before any byte.
func TestOpenAttachment(t *testing.T) {
	t.Parallel()
	fj, base := emulator(t, "9.12.0", "")
	alice := patClient(t, fj, base, "alice")
	ctx := t.Context()
	up, err := alice.UploadAttachment(ctx, "DEMO-4", "plan é.txt", 9, strings.NewReader("the plan."), nil)
	if err != nil {
		t.Fatal(err)
	}
	is, err := alice.GetIssue(ctx, "DEMO-4", &GetIssueOptions{Fields: []string{"attachment"}})
	if err != nil {
		t.Fatal(err)
	}
	a := is.Fields.Attachment[len(is.Fields.Attachment)-1]
	if a.ID != up[0].ID || a.Size != 9 || !strings.Contains(a.Content, "/secure/attachment/"+a.ID+"/") {
		t.Fatalf("listed: %+v", a)
	}
	read := func(c *Client) (string, error) {
		rc, err := c.OpenAttachment(ctx, a)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	if got, err := read(alice); err != nil || got != "the plan." {
		t.Fatalf("download = %q, %v", got, err)
	}
	if _, err := read(patClient(t, fj, base, "bob")); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob, who cannot see DEMO-4: %v, want ErrForbidden", err)
	}
	prefix := "/jira/secure/attachment/"
	if err := fj.SetFaults(fakejira.Faults{SSOHTML: true, PathPrefix: prefix}); err != nil {
		t.Fatal(err)
	}
	if _, err := read(alice); !errors.Is(err, ErrNotTheFile) || errors.Is(err, ErrUnauthorized) {
		t.Errorf("SSO page: %v, want ErrNotTheFile (not a refused credential)", err)
	}
	if err := fj.SetFaults(fakejira.Faults{Throttle: true, RetryAfterSeconds: 60, PathPrefix: prefix}); err != nil {
		t.Fatal(err)
	}
	var je *Error
	if _, err := read(alice); !errors.As(err, &je) || je.Kind != KindRateLimited {
		t.Errorf("rate limited: %v", err)
	}
}
