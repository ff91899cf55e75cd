package jira

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// GetComment reads a comment as its user sees it: with the visibility
// restriction of a restricted comment, and not at all when the comment is
// hidden from the user, deleted, or belongs to another issue.
func TestGetComment(t *testing.T) {
	t.Parallel()
	fj, base := emulator(t, "9.12.0", "")
	alice := patClient(t, fj, base, "alice")
	admin := patClient(t, fj, base, "admin")
	ctx := t.Context()

	open, err := alice.AddComment(ctx, "DEMO-1", "Everyone may read this", nil)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := alice.AddComment(ctx, "DEMO-1", "Developers only", &Visibility{Type: "role", Value: "Developers"})
	if err != nil {
		t.Fatal(err)
	}
	admins, err := admin.AddComment(ctx, "DEMO-1", "Administrators only", &Visibility{Type: "group", Value: "jira-administrators"})
	if err != nil {
		t.Fatal(err)
	}

	issue, err := alice.GetIssue(ctx, "DEMO-1", &GetIssueOptions{Fields: []string{"summary"}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		c          *Client
		issue, id  string
		body       string
		visibility *Visibility
		err        error
	}{
		{"open comment", alice, "DEMO-1", open.ID, "Everyone may read this", nil, nil},
		{"by issue id", alice, issue.ID, open.ID, "Everyone may read this", nil, nil},
		{"restricted to a role the user has", alice, "DEMO-1", devs.ID, "Developers only", &Visibility{Type: "role", Value: "Developers"}, nil},
		{"restricted to a group the user is in", admin, "DEMO-1", admins.ID, "Administrators only", &Visibility{Type: "group", Value: "jira-administrators"}, nil},
		{"hidden from the user", alice, "DEMO-1", admins.ID, "", nil, ErrNotFound},
		{"of another issue", alice, "DEMO-2", open.ID, "", nil, ErrNotFound},
		{"no such comment", alice, "DEMO-1", "999999", "", nil, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.GetComment(ctx, tc.issue, tc.id)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				return
			}
			if got.ID != tc.id || got.Body != tc.body || got.Author == nil {
				t.Fatalf("comment = %+v", got)
			}
			if diff := cmp.Diff(tc.visibility, got.Visibility); diff != "" {
				t.Fatalf("visibility (-want +got):\n%s", diff)
			}
		})
	}
}
