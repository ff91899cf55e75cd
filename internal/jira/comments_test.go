package jira

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
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

// A comment is created with its entity properties in the same request, as
// Jira's REST API takes them, and read back with expand=properties.
func TestCommentProperties(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	prop := EntityProperty{Key: "asanajira", Value: json.RawMessage(`{"fingerprint":"0123456789abcdef"}`)}
	mux.HandleFunc("POST /rest/api/2/issue/TEST-1/comment", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "expand", "properties")
		want := map[string]any{"body": "from Asana", "visibility": map[string]any{"type": "role", "value": "Developers"},
			"properties": []any{map[string]any{"key": "asanajira", "value": map[string]any{"fingerprint": "0123456789abcdef"}}}}
		if diff := cmp.Diff(want, decodeJSONBody(t, r)); diff != "" {
			t.Errorf("comment body (-want +got):\n%s", diff)
		}
		writeJSON(w, 201, `{"id":"10100","body":"from Asana"}`)
	})
	mux.HandleFunc("GET /rest/api/2/issue/TEST-1/comment", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "expand", "properties")
		writeJSON(w, 200, `{"startAt":0,"maxResults":1,"total":1,"comments":[{"id":"10100","body":"from Asana",
			"properties":[{"key":"asanajira","value":{"fingerprint":"0123456789abcdef"}}]}]}`)
	})
	mux.HandleFunc("GET /rest/api/2/issue/TEST-1/comment/10100", func(w http.ResponseWriter, r *http.Request) {
		testQuery(t, r, "expand", "properties")
		writeJSON(w, 200, `{"id":"10100","body":"from Asana","properties":[{"key":"asanajira","value":{"fingerprint":"0123456789abcdef"}}]}`)
	})
	ctx := t.Context()
	if _, err := c.CreateComment(ctx, "TEST-1", Comment{Body: "from Asana", Visibility: &Visibility{Type: "role", Value: "Developers"},
		Properties: []EntityProperty{prop}}); err != nil {
		t.Fatal(err)
	}
	page, err := c.Comments(ctx, "TEST-1", 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.GetComment(ctx, "TEST-1", "10100")
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range [][]EntityProperty{page.Comments[0].Properties, one.Properties} {
		if len(got) != 1 || got[0].Key != prop.Key || string(got[0].Value) != string(prop.Value) {
			t.Fatalf("properties read back = %+v", got)
		}
	}
}

// A property is set on an existing comment with PUT
// /comment/{id}/properties/{key}, its value the JSON body.
func TestSetCommentProperty(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var got []byte
	mux.HandleFunc("PUT /rest/api/2/comment/10100/properties/asanajira", func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		w.WriteHeader(http.StatusCreated)
	})
	if err := c.SetCommentProperty(t.Context(), "10100", "asanajira", json.RawMessage(`{"fingerprint":"0123456789abcdef"}`)); err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"fingerprint":"0123456789abcdef"}` {
		t.Errorf("body %s", got)
	}
}
