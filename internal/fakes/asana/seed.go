package asana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"time"
)

// SeedIDs are the stable gids of the seeded demo data, so asanajira demo can
// list them in demo.json and tests can address them without a lookup.
type SeedIDs struct {
	Workspace string `json:"workspace"`
	Project   string `json:"project"`
	// Users maps the login (admin, alice, bob) to the user gid.
	Users map[string]string `json:"users"`
	// Tokens maps the login to its personal access token (pat-<login>).
	Tokens map[string]string `json:"tokens"`
	// Tasks are the seeded tasks of the Launch project, in project order.
	Tasks []SeedTask `json:"tasks"`
	// PriorityField is the enum custom field "Priority" enabled on the
	// project; PriorityOptions maps its option names (Low, Medium, High) to
	// enum option gids.
	PriorityField   string            `json:"priority_field"`
	PriorityOptions map[string]string `json:"priority_options"`
	// Sections maps the Launch project's section names (To do, In
	// progress, Done) to their gids; the seeded tasks are in "To do".
	Sections map[string]string `json:"sections"`
}

// SeedTask names one seeded task and its attachments.
type SeedTask struct {
	GID  string `json:"gid"`
	Name string `json:"name"`
	// Attachments maps each attachment's name to its gid.
	Attachments map[string]string `json:"attachments,omitempty"`
}

// The seeded gids never change, so demo scripts may hard-code them.
const (
	seedWorkspace   = "1201000000000001"
	seedAdmin       = "1201000000000011"
	seedAlice       = "1201000000000012"
	seedBob         = "1201000000000013"
	seedProject     = "1201000000000101"
	seedSecTodo     = "1201000000000111"
	seedSecDoing    = "1201000000000112"
	seedSecDone     = "1201000000000113"
	seedPriority    = "1201000000000201"
	seedPrioLow     = "1201000000000202"
	seedPrioMed     = "1201000000000203"
	seedPrioHigh    = "1201000000000204"
	seedPrioSetting = "1201000000000301"
	seedTask1       = "1201000000001001"
	seedTask2       = "1201000000001002"
	seedTask3       = "1201000000001003"
	seedAttPDF      = "1201000000002001"
	seedAttPNG      = "1201000000002002"
	seedAttGDrive   = "1201000000002003"
	seedAttDbx      = "1201000000002004"
	seedAttBox      = "1201000000002005"
	seedAttOneDr    = "1201000000002006"
	seedStory1      = "1201000000003001"
)

// Seed returns the gids of the seeded demo data.
func (s *Server) Seed() SeedIDs {
	return SeedIDs{
		Workspace: seedWorkspace,
		Project:   seedProject,
		Users:     map[string]string{"admin": seedAdmin, "alice": seedAlice, "bob": seedBob},
		Tokens:    map[string]string{"admin": "pat-admin", "alice": "pat-alice", "bob": "pat-bob"},
		Tasks: []SeedTask{
			{GID: seedTask1, Name: "Write the launch announcement", Attachments: map[string]string{
				"launch-plan.pdf":           seedAttPDF,
				"homepage-mockup.png":       seedAttPNG,
				"Launch brief (Google Doc)": seedAttGDrive,
				"Press kit (Dropbox)":       seedAttDbx,
			}},
			{GID: seedTask2, Name: "Prepare the demo environment", Attachments: map[string]string{
				"Demo script (Box)":       seedAttBox,
				"Budget sheet (OneDrive)": seedAttOneDr,
			}},
			{GID: seedTask3, Name: "Fix the checkout page login bug"},
		},
		PriorityField:   seedPriority,
		PriorityOptions: map[string]string{"Low": seedPrioLow, "Medium": seedPrioMed, "High": seedPrioHigh},
		Sections:        map[string]string{"To do": seedSecTodo, "In progress": seedSecDoing, "Done": seedSecDone},
	}
}

func (s *Server) handleSeed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Seed())
}

// seed fills a fresh state with the demo data.
func (s *Server) seed() {
	st := s.st
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	st.workspaces[seedWorkspace] = &workspace{gid: seedWorkspace, name: "Acme"}
	for _, u := range []*user{
		{gid: seedAdmin, name: "Ada Admin", login: "admin", email: "admin@acme.example"},
		{gid: seedAlice, name: "Alice Anders", login: "alice", email: "alice@acme.example"},
		{gid: seedBob, name: "Bob Brown", login: "bob", email: "bob@acme.example"},
	} {
		st.users[u.gid] = u
		st.userOrder = append(st.userOrder, u.gid)
		st.pats["pat-"+u.login] = u.gid
	}
	st.customFields[seedPriority] = &customField{
		gid: seedPriority, name: "Priority", subtype: "enum", workspace: seedWorkspace,
		description: "How urgent the work is.",
		options:     []string{seedPrioLow, seedPrioMed, seedPrioHigh},
	}
	for _, o := range []*enumOption{
		{gid: seedPrioLow, name: "Low", color: "blue"},
		{gid: seedPrioMed, name: "Medium", color: "yellow"},
		{gid: seedPrioHigh, name: "High", color: "red"},
	} {
		o.enabled, o.field = true, seedPriority
		st.enumOptions[o.gid] = o
	}
	launch := &project{
		gid: seedProject, name: "Launch", workspace: seedWorkspace, owner: seedAdmin,
		notes: "Everything for the spring product launch.", color: "light-green",
		createdAt: t0, modifiedAt: t0, customFields: []string{seedPriority},
		settingGIDs: map[string]string{seedPriority: seedPrioSetting},
	}
	st.projects[seedProject] = launch
	st.projectOrder = append(st.projectOrder, seedProject)
	todo := st.addSectionLocked(launch, seedSecTodo, "To do", t0, -1)
	st.addSectionLocked(launch, seedSecDoing, "In progress", t0, -1)
	st.addSectionLocked(launch, seedSecDone, "Done", t0, -1)

	add := func(t *task) {
		t.workspace, t.projects = seedWorkspace, []string{seedProject}
		t.createdAt, t.modifiedAt = t0, t0
		t.customValues = map[string]any{seedPriority: nil}
		st.tasks[t.gid] = t
		st.taskOrder = append(st.taskOrder, t.gid)
		st.placeTaskLocked(t, todo, -1)
	}
	add(&task{gid: seedTask1, name: "Write the launch announcement", assignee: seedAlice, dueOn: "2026-03-02",
		notes:     "Draft the announcement for the blog and the newsletter.\nThe plan and the mockup are attached; the brief lives in Google Drive.",
		htmlNotes: "<body>Draft the announcement for the <strong>blog</strong> and the newsletter.\nThe plan and the mockup are attached; the brief lives in Google Drive.</body>"})
	add(&task{gid: seedTask2, name: "Prepare the demo environment", assignee: seedBob,
		notes:     "Set up the demo machines before the launch event.",
		htmlNotes: "<body>Set up the demo machines before the launch event.</body>"})
	add(&task{gid: seedTask3, name: "Fix the checkout page login bug",
		notes:     "Customers are logged out when they open the checkout page from an e-mail link.",
		htmlNotes: "<body>Customers are logged out when they open the checkout page from an e-mail link.</body>"})
	st.tasks[seedTask1].customValues[seedPriority] = seedPrioHigh

	attach := func(a *attachment) {
		a.createdAt, a.createdBy = t0.Add(time.Hour), seedAlice
		st.attachments[a.gid] = a
		t := st.tasks[a.parent]
		t.attachments = append(t.attachments, a.gid)
	}
	attach(&attachment{gid: seedAttPDF, name: "launch-plan.pdf", subtype: "asana", parent: seedTask1,
		content: seedPDF(), contentType: "application/pdf"})
	attach(&attachment{gid: seedAttPNG, name: "homepage-mockup.png", subtype: "asana", parent: seedTask1,
		content: seedPNG(), contentType: "image/png"})
	attach(&attachment{gid: seedAttGDrive, name: "Launch brief (Google Doc)", subtype: "gdrive", parent: seedTask1,
		url: "https://docs.google.com/document/d/1LaunchBriefAcmeDemo/edit"})
	attach(&attachment{gid: seedAttDbx, name: "Press kit (Dropbox)", subtype: "dropbox", parent: seedTask1,
		url: "https://www.dropbox.com/s/acmedemo/press-kit.zip?dl=0"})
	attach(&attachment{gid: seedAttBox, name: "Demo script (Box)", subtype: "box", parent: seedTask2,
		url: "https://app.box.com/s/acmedemoscript"})
	attach(&attachment{gid: seedAttOneDr, name: "Budget sheet (OneDrive)", subtype: "onedrive", parent: seedTask2,
		url: "https://onedrive.live.com/view.aspx?resid=ACMEDEMO"})

	st.stories[seedStory1] = &story{gid: seedStory1, task: seedTask1, author: seedBob,
		text: "Mockup looks good to me.", htmlText: "<body>Mockup looks good to me.</body>",
		subtype: "comment_added", typ: "comment", source: "web", createdAt: t0.Add(2 * time.Hour)}
	st.tasks[seedTask1].stories = []string{seedStory1}
}

// seedPDF is a minimal one-page PDF that viewers open.
func seedPDF() []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), s)
	}
	b.WriteString("%PDF-1.4\n")
	content := "BT /F1 24 Tf 72 720 Td (Acme launch plan) Tj ET"
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// seedPNG is a small two-colour image standing in for a design mockup.
func seedPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 40))
	for y := range 40 {
		for x := range 64 {
			c := color.RGBA{0xf0, 0x6a, 0x6a, 0xff}
			if y > 12 {
				c = color.RGBA{0xfa, 0xfa, 0xfa, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // encoding an in-memory RGBA image cannot fail.
	return b.Bytes()
}
