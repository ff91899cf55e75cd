package asana

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestUploadAttachment streams files to the emulator: a small file and a
// non-ASCII name arrive whole; one over the emulator's limit is refused with
// Asana's 400; a body that fails or ends early aborts the upload, and the
// emulator keeps nothing of it.
func TestUploadAttachment(t *testing.T) {
	t.Parallel()
	fa, base := emulator(t)
	seed := fa.Seed()
	task := seed.Tasks[0].GID
	c := patClient(t, base, seed.Tokens["alice"])
	ctx := t.Context()
	before := len(fa.Attachments(task))
	a, err := c.UploadAttachment(ctx, FileUpload{Parent: task, Name: "résumé.txt", ContentType: "text/plain", Size: 5, Body: strings.NewReader("hello")})
	if err != nil || a.GID == "" {
		t.Fatalf("upload = %+v, %v", a, err)
	}
	fa.SetAttachmentLimit(4)
	_, err = c.UploadAttachment(ctx, FileUpload{Parent: task, Name: "big.bin", Size: 5, Body: strings.NewReader("12345")})
	var ae *Error
	if !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(strings.Join(ae.Messages, " "), "larger than the limit") {
		t.Errorf("over the limit: %v", err)
	}
	fa.SetAttachmentLimit(0)
	for name, body := range map[string]io.Reader{
		"short": strings.NewReader("abc"),
		"fails": io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errors.New("disk gone"))),
	} {
		if _, err := c.UploadAttachment(ctx, FileUpload{Parent: task, Name: name + ".bin", Size: 5, Body: body}); err == nil {
			t.Errorf("%s body: uploaded", name)
		}
	}
	got := fa.Attachments(task)[before:]
	if len(got) != 1 || got[0].Name != "résumé.txt" || string(got[0].Content) != "hello" || got[0].Host != "asana" {
		t.Errorf("the emulator keeps %+v, want only résumé.txt", got)
	}
}
