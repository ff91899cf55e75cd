package asana

import (
	"testing"
)

// ProjectsPage pages through a workspace's projects with Asana's offset
// tokens; Typeahead finds them by name.
func TestProjectsPageAndTypeahead(t *testing.T) {
	t.Parallel()
	fa, base := emulator(t)
	seed := fa.Seed()
	c := patClient(t, base, seed.Tokens["admin"])
	ctx := t.Context()
	for _, name := range []string{"Website redesign", "Mobile app"} {
		var p Project
		if err := c.send(ctx, "POST", "projects", map[string]any{"name": name, "workspace": seed.Workspace}, &p); err != nil || p.GID == "" {
			t.Fatalf("create %s: %+v %v", name, p, err)
		}
	}
	var names []string
	offset := ""
	for pages := 0; ; pages++ {
		ps, next, err := c.ProjectsPage(ctx, seed.Workspace, 2, offset)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) > 2 || pages > 2 {
			t.Fatalf("page %d has %d projects", pages, len(ps))
		}
		for _, p := range ps {
			names = append(names, p.Name)
		}
		if next == "" {
			break
		}
		offset = next
	}
	if len(names) != 3 || names[0] != "Launch" || names[2] != "Mobile app" {
		t.Errorf("pages list %v", names)
	}
	refs, err := c.Typeahead(ctx, seed.Workspace, "project", "web", 20)
	if err != nil || len(refs) != 1 || refs[0].Name != "Website redesign" || refs[0].GID == "" {
		t.Errorf("typeahead web = %+v, %v", refs, err)
	}
}
