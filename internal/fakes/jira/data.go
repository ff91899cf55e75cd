package jira

import (
	"strings"
	"time"
)

// user is a Jira account. Jira Server identifies people by name (mutable)
// and key (immutable); accountId is Cloud-only and never appears here.
type user struct {
	name        string
	key         string
	password    string
	displayName string
	email       string
	admin       bool
	timeZone    string
}

type statusCategory struct {
	id        int
	key       string
	colorName string
	name      string
}

type status struct {
	id          string
	name        string
	description string
	icon        string
	category    int // statusCategory id
}

// transition is one workflow transition.
type transition struct {
	id, name, to string
	event        string // issue event type fired; "" for the generic one
}

type issueType struct {
	id          string
	name        string
	description string
	avatarID    int
	subtask     bool
}

type priority struct {
	id, name, icon string
}

type resolution struct {
	id, name, description string
}

type component struct {
	id, name, description string
}

type version struct {
	id, name string
	released bool
}

// project is a Jira project with its own components, versions and create
// screens (the set of fields each issue type may set on create).
type project struct {
	id          string
	key         string
	name        string
	lead        string
	description string
	issueTypes  []string // issue type ids
	components  []component
	versions    []version
	nextNum     int
	// required lists custom fields that are required, per issue type id.
	required map[string][]string
	// screen lists the fields on the create screen, per issue type id;
	// editScreen those on the edit screen.
	screen     map[string][]string
	editScreen map[string][]string
	// roles are the members of each project role, by role name.
	roles map[string]*roleActors
	// assigneeType is the default assignee: UNASSIGNED or PROJECT_LEAD.
	assigneeType string
	// permissions is the project's permission scheme; security its issue
	// security scheme (nil for none).
	permissions *permissionScheme
	security    *securityScheme
}

// defaultAssignee is who "Automatic" assigns an issue to ("" for nobody).
func (p *project) defaultAssignee() string {
	if p.assigneeType == "PROJECT_LEAD" {
		return p.lead
	}
	return ""
}

// customField describes one custom field (its id is customfield_<n>).
type customField struct {
	id       string
	name     string
	typ      string // schema.type
	custom   string // schema.custom plugin key
	customID int
	items    string
	options  []fieldOption // select lists
}

type fieldOption struct {
	id, value string
}

type comment struct {
	id           string
	author       string
	updateAuthor string
	body         string
	visibility   *visibility // nil: everyone who sees the issue
	properties   props
	created      time.Time
	updated      time.Time
}

type attachment struct {
	id       string
	filename string
	author   string
	created  time.Time
	mimeType string
	content  []byte // nil when DiscardAttachmentContent was on
	size     int64
	crc32c   uint32
	received time.Duration // from the upload request's arrival to its last byte
	issueID  string
}

type remoteLink struct {
	id           int
	globalID     string
	application  map[string]any
	relationship string
	object       map[string]any
}

type historyItem struct {
	field, fieldtype, fieldID string
	from, fromString          any
	to, toString              any
}

type history struct {
	id      string
	author  string
	created time.Time
	items   []historyItem
}

// issue is one Jira issue. Custom field values are kept in their wire form.
type issue struct {
	id          string
	key         string
	project     *project
	typeID      string
	summary     string
	description *string
	environment *string
	statusID    string
	resolution  string // resolution id, "" when unresolved
	resolved    time.Time
	priorityID  string
	assignee    string
	reporter    string
	creator     string
	labels      []string
	components  []string // component ids
	fixVersions []string // version ids
	dueDate     string
	parent      string // issue key of the parent, for sub-tasks
	security    string // issue security level id, "" for none
	custom      map[string]any
	created     time.Time
	updated     time.Time
	comments    []*comment
	attachments []*attachment
	links       []*remoteLink
	histories   []history
	properties  props
}

// Status categories as Jira ships them.
var statusCategories = []statusCategory{
	{1, "undefined", "medium-gray", "No Category"},
	{2, "new", "blue-gray", "To Do"},
	{4, "indeterminate", "yellow", "In Progress"},
	{3, "done", "green", "Done"},
}

// The workflow every seeded project uses: To Do, In Progress and two done
// statuses, Done and Closed.
var (
	statuses = []status{
		{"10000", "To Do", "Work that has not been started.", "/images/icons/statuses/open.png", 2},
		{"3", "In Progress", "This issue is being actively worked on at the moment by the assignee.", "/images/icons/statuses/inprogress.png", 4},
		{"10001", "Done", "Work that is complete.", "/images/icons/statuses/closed.png", 3},
		{"6", "Closed", "The issue is considered finished, the resolution is correct. Issues which are closed can be reopened.", "/images/icons/statuses/closed.png", 3},
	}
	// transitions are global: Jira offers every one whose target differs
	// from the current status. event is the issue event the transition's
	// post function fires; moving out of a done status fires
	// issue_reopened, and the rest the generic event.
	transitions = []transition{
		{"11", "To Do", "10000", ""},
		{"21", "In Progress", "3", ""},
		{"31", "Done", "10001", "issue_resolved"},
		{"41", "Close", "6", "issue_closed"},
	}
	issueTypes = []issueType{
		{"10000", "Epic", "Created by Jira Software - do not edit or delete. Issue type for a big user story that needs to be broken down.", 10307, false},
		{"10001", "Story", "Created by Jira Software - do not edit or delete. Issue type for a user story.", 10315, false},
		{"10002", "Task", "A task that needs to be done.", 10318, false},
		{"10003", "Sub-task", "The sub-task of the issue", 10316, true},
		{"10004", "Bug", "A problem which impairs or prevents the functions of the product.", 10303, false},
	}
	priorities = []priority{
		{"1", "Highest", "/images/icons/priorities/highest.svg"},
		{"2", "High", "/images/icons/priorities/high.svg"},
		{"3", "Medium", "/images/icons/priorities/medium.svg"},
		{"4", "Low", "/images/icons/priorities/low.svg"},
		{"5", "Lowest", "/images/icons/priorities/lowest.svg"},
	}
	resolutions = []resolution{
		{"10000", "Done", "Work has been completed on this issue."},
		{"10001", "Won't Do", "This issue won't be actioned."},
	}
)

// Custom field ids of the seeded instance.
const (
	FieldEpicLink    = "customfield_10100"
	FieldEpicName    = "customfield_10101"
	FieldStoryPoints = "customfield_10102"
	FieldSeverity    = "customfield_10200"
)

func seedCustomFields() []customField {
	return []customField{
		{id: FieldEpicLink, name: "Epic Link", typ: "any", custom: "com.pyxis.greenhopper.jira:gh-epic-link", customID: 10100},
		{id: FieldEpicName, name: "Epic Name", typ: "string", custom: "com.pyxis.greenhopper.jira:gh-epic-label", customID: 10101},
		{id: FieldStoryPoints, name: "Story Points", typ: "number", custom: "com.atlassian.jira.plugin.system.customfieldtypes:float", customID: 10102},
		{id: FieldSeverity, name: "Severity", typ: "option", custom: "com.atlassian.jira.plugin.system.customfieldtypes:select", customID: 10200,
			options: []fieldOption{{"10300", "Sev 1"}, {"10301", "Sev 2"}, {"10302", "Sev 3"}}},
	}
}

// systemFieldNames maps system field ids to their display names.
var systemFieldNames = map[string]string{
	"summary": "Summary", "issuetype": "Issue Type", "project": "Project", "description": "Description",
	"priority": "Priority", "labels": "Labels", "assignee": "Assignee", "reporter": "Reporter",
	"duedate": "Due Date", "components": "Component/s", "fixVersions": "Fix Version/s", "parent": "Parent",
	"status": "Status", "resolution": "Resolution", "created": "Created", "updated": "Updated",
	"creator": "Creator", "attachment": "Attachment", "comment": "Comment", "resolutiondate": "Resolved",
	"environment": "Environment", "timetracking": "Time tracking", "versions": "Affects Version/s",
	"issuelinks": "Linked Issues", "subtasks": "Sub-Tasks", "watches": "Watchers", "votes": "Votes",
	"worklog": "Log Work", "lastViewed": "Last Viewed", "security": "Security Level",
}

// baseScreen is the create screen shared by every issue type.
var baseScreen = []string{"summary", "issuetype", "project", "description", "priority", "labels",
	"assignee", "reporter", "duedate", "components", "fixVersions"}

func screenFor(typeID string, extra ...string) []string {
	s := append([]string{}, baseScreen...)
	switch typeID {
	case "10000":
		s = append(s, FieldEpicName)
	case "10001":
		s = append(s, FieldEpicLink, FieldStoryPoints)
	case "10003":
		s = append(s, "parent")
	default:
		s = append(s, FieldEpicLink)
	}
	return append(s, extra...)
}

// editScreenFor is the edit screen of an issue type: the create screen
// without project, issue type and parent (fixed once created), plus the
// environment and a comment.
func editScreenFor(typeID string, extra ...string) []string {
	var s []string
	for _, f := range screenFor(typeID, extra...) {
		if f != "project" && f != "issuetype" && f != "parent" {
			s = append(s, f)
		}
	}
	return append(s, "environment", "comment")
}

func seedUsers(gdpr bool) []*user {
	us := []*user{
		{name: "admin", password: "admin", displayName: "Administrator", email: "admin@example.com", admin: true, timeZone: "Etc/UTC"},
		{name: "alice", password: "alice", displayName: "Alice Anderson", email: "alice@example.com", timeZone: "Europe/Paris"},
		{name: "bob", password: "bob", displayName: "Bob Brown", email: "bob@example.com", timeZone: "America/New_York"},
	}
	// Jira 8.3+ gives every new user a JIRAUSERnnnnn key; before, key = name.
	keys := []string{"JIRAUSER10000", "JIRAUSER10100", "JIRAUSER10101"}
	for i, u := range us {
		u.key = u.name
		if gdpr {
			u.key = keys[i]
		}
	}
	return us
}

func seedProjects() []*project {
	all := []string{"10000", "10001", "10002", "10003", "10004"}
	demo := &project{
		id: "10000", key: "DEMO", name: "Demo", lead: "admin",
		description: "The project asanajira demos create issues in.",
		issueTypes:  all,
		components:  []component{{"10000", "Backend", "Servers and APIs"}, {"10001", "Frontend", "Web UI"}},
		versions:    []version{{"10000", "1.0", true}, {"10001", "2.0", false}},
		required:    map[string][]string{"10000": {FieldEpicName}},
		screen:      map[string][]string{}, editScreen: map[string][]string{},
	}
	ops := &project{
		id: "10001", key: "OPS", name: "Operations", lead: "alice",
		description: "Operations work; every Task and Bug needs a Severity.",
		issueTypes:  all,
		components:  []component{{"10002", "Infrastructure", "Hosts and networks"}, {"10003", "On-call", "Pager rotation"}},
		versions:    []version{{"10002", "2024.1", false}},
		required:    map[string][]string{"10000": {FieldEpicName}, "10002": {FieldSeverity}, "10004": {FieldSeverity}},
		screen:      map[string][]string{}, editScreen: map[string][]string{},
	}
	for _, id := range all {
		demo.screen[id], demo.editScreen[id] = screenFor(id, "security"), editScreenFor(id, "security")
		ops.screen[id], ops.editScreen[id] = screenFor(id, FieldSeverity), editScreenFor(id, FieldSeverity)
	}
	demo.roles, ops.roles = seedRoles(demo.key), seedRoles(ops.key)
	demo.assigneeType, ops.assigneeType = "UNASSIGNED", "UNASSIGNED"
	scheme := defaultPermissionScheme()
	demo.permissions, ops.permissions = scheme, scheme
	demo.security = demoSecurityScheme()
	return []*project{demo, ops}
}

// seedIssue describes one seeded issue.
type seedIssue struct {
	project, typeID, summary, description, status, priority, assignee, reporter string
	labels                                                                      []string
	custom                                                                      map[string]any
	security                                                                    string // security level id
}

var seedIssues = []seedIssue{
	{"DEMO", "10002", "Set up the demo board", "Create the board and invite the team.", "10000", "3", "", "admin", []string{"setup"}, nil, ""},
	{"DEMO", "10004", "Login page crashes on Safari", "Steps to reproduce:\n# Open the login page in Safari\n# Click *Sign in*", "3", "2", "alice", "bob", []string{"safari", "frontend"}, nil, ""},
	{"DEMO", "10000", "Onboarding", "Everything a new user meets first.", "10000", "3", "", "admin", nil, map[string]any{FieldEpicName: "Onboarding"}, ""},
	// DEMO-4 is Confidential: only admin and alice see it.
	{"DEMO", "10001", "As a user I can reset my password", "", "10001", "4", "alice", "alice", nil, map[string]any{FieldStoryPoints: 3.0}, "10000"},
	{"OPS", "10002", "Rotate TLS certificates", "The certificates expire next month.", "10000", "2", "alice", "admin", []string{"security"}, map[string]any{FieldSeverity: "Sev 2"}, ""},
	{"OPS", "10004", "Disk full on build agent", "", "3", "1", "admin", "alice", nil, map[string]any{FieldSeverity: "Sev 1"}, ""},
}

func findBy[T any](xs []T, f func(T) bool) (T, bool) {
	for _, x := range xs {
		if f(x) {
			return x, true
		}
	}
	var zero T
	return zero, false
}

func lookupStatus(id string) status {
	s, _ := findBy(statuses, func(s status) bool { return s.id == id })
	return s
}

func lookupCategory(id int) statusCategory {
	c, _ := findBy(statusCategories, func(c statusCategory) bool { return c.id == id })
	return c
}

func lookupIssueType(idOrName string) (issueType, bool) {
	return findBy(issueTypes, func(t issueType) bool { return t.id == idOrName || strings.EqualFold(t.name, idOrName) })
}

func lookupPriority(idOrName string) (priority, bool) {
	return findBy(priorities, func(p priority) bool { return p.id == idOrName || strings.EqualFold(p.name, idOrName) })
}

func lookupResolution(idOrName string) (resolution, bool) {
	return findBy(resolutions, func(r resolution) bool { return r.id == idOrName || strings.EqualFold(r.name, idOrName) })
}
