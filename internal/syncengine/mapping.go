package syncengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/store"
)

// Direction says which way a mapped field syncs.
type Direction string

// The directions of a field.
const (
	Off            Direction = "off"
	FromJira       Direction = "jira_to_asana"
	FromAsana      Direction = "asana_to_jira"
	BothDirections Direction = "both"
)

// Valid reports whether d is one of the four directions.
func (d Direction) Valid() bool {
	return d == Off || d == FromJira || d == FromAsana || d == BothDirections
}

// ToAsana reports whether Jira's changes are written to Asana.
func (d Direction) ToAsana() bool { return d == FromJira || d == BothDirections }

// ToJira reports whether Asana's changes are written to Jira.
func (d Direction) ToJira() bool { return d == FromAsana || d == BothDirections }

// The mapped fields (Asana ↔ Jira).
const (
	// FieldName: the task's name ↔ the summary.
	FieldName = "name"
	// FieldDue: due_on ↔ duedate (days only).
	FieldDue = "due"
	// FieldAssignee: assignee ↔ assignee, matched by e-mail (with the
	// mapping's user overrides and domain aliases).
	FieldAssignee = "assignee"
	// FieldNotes: notes ↔ description (plain text to wiki markup).
	FieldNotes = "notes"
	// FieldStatus: the "Jira status" enum custom field ← status.
	FieldStatus = "status"
	// FieldPriority: the "Jira priority" enum custom field ← priority.
	FieldPriority = "priority"
	// FieldSection: the task's section in its routed project ↔ status,
	// through the mapping's status → section table.
	FieldSection = "section"
	// FieldAttachments: files attached to the issue are copied to the task
	// (streamed, or linked when over Asana's upload limit; see
	// attachments.go), and files attached to the task after the link was
	// made are copied to the issue by the link's copy job
	// (bridge.CopyAttachments, which copies the task's files when the link
	// is made whatever the mapping says).
	FieldAttachments = "attachments"
)

// Fields lists the mapped fields in the order they are shown and synced.
var Fields = []string{FieldName, FieldDue, FieldAssignee, FieldNotes, FieldStatus, FieldPriority, FieldSection, FieldAttachments}

// fieldDirections are the directions a field may take: status and
// priority exist in Jira only.
var fieldDirections = map[string][]Direction{
	FieldStatus:   {Off, FromJira},
	FieldPriority: {Off, FromJira},
}

// AllowedDirections are the directions field may take.
func AllowedDirections(field string) []Direction {
	if a, ok := fieldDirections[field]; ok {
		return slices.Clone(a)
	}
	return []Direction{Off, FromJira, FromAsana, BothDirections}
}

// DefaultDirections are the directions of a mapping that says nothing of a
// field.
var DefaultDirections = map[string]Direction{
	FieldName: BothDirections, FieldDue: BothDirections, FieldAssignee: BothDirections, FieldNotes: Off,
	FieldStatus: FromJira, FieldPriority: FromJira, FieldSection: Off, FieldAttachments: BothDirections,
}

// Mapping says which fields of a connection (or of one routed project)
// sync, which way, and how people and statuses correspond. It is stored as
// JSON; its zero value is the defaults.
type Mapping struct {
	// Fields holds a direction per field; a field not listed takes its
	// DefaultDirections.
	Fields map[string]Direction `json:"fields,omitempty"`
	// StatusSections maps Jira statuses to sections of the routed project
	// (by name, case-insensitive): an issue entering a status moves the task
	// to its section, a task moved to a section moves the issue to the
	// first status mapped to it.
	StatusSections []StatusSection `json:"status_sections,omitempty"`
	// Users pairs an Asana e-mail with a Jira user name where e-mails do
	// not match; DomainAliases pairs e-mail domains (acme.example ↔
	// example.com). A project's override uses the connection's users and
	// aliases after its own.
	Users         []UserPair    `json:"users,omitempty"`
	DomainAliases []DomainAlias `json:"domain_aliases,omitempty"`
}

// StatusSection pairs a Jira status with a section, by name.
type StatusSection struct {
	Status  string `json:"status"`
	Section string `json:"section"`
}

// UserPair pairs an Asana user (by e-mail) with a Jira user name.
type UserPair struct {
	AsanaEmail string `json:"asana_email"`
	JiraUser   string `json:"jira_user"`
}

// DomainAlias says that addresses at Asana domain Asana are the people at
// Jira domain Jira.
type DomainAlias struct {
	Asana string `json:"asana"`
	Jira  string `json:"jira"`
}

// Direction is the direction of field in m.
func (m Mapping) Direction(field string) Direction {
	if d, ok := m.Fields[field]; ok {
		return d
	}
	return DefaultDirections[field]
}

// Directions is every field's direction in m.
func (m Mapping) Directions() map[string]Direction {
	out := map[string]Direction{}
	for _, f := range Fields {
		out[f] = m.Direction(f)
	}
	return out
}

// Validate reports the first thing wrong with m.
func (m Mapping) Validate() error {
	for f, d := range m.Fields {
		if !slices.Contains(Fields, f) {
			return fmt.Errorf("syncengine: no field %q (the fields: %s)", f, strings.Join(Fields, ", "))
		}
		allowed := AllowedDirections(f)
		if !slices.Contains(allowed, d) {
			return fmt.Errorf("syncengine: field %s cannot sync %q (it may: %v)", f, d, allowed)
		}
	}
	for _, s := range m.StatusSections {
		if strings.TrimSpace(s.Status) == "" || strings.TrimSpace(s.Section) == "" {
			return errors.New("syncengine: a status → section row needs both a status and a section")
		}
	}
	for _, u := range m.Users {
		if !strings.Contains(u.AsanaEmail, "@") || strings.TrimSpace(u.JiraUser) == "" {
			return fmt.Errorf("syncengine: a user pair needs an Asana e-mail and a Jira user name (got %q, %q)", u.AsanaEmail, u.JiraUser)
		}
	}
	for _, a := range m.DomainAliases {
		if a.Asana == "" || a.Jira == "" || strings.Contains(a.Asana, "@") || strings.Contains(a.Jira, "@") {
			return fmt.Errorf("syncengine: a domain alias pairs two domains (got %q, %q)", a.Asana, a.Jira)
		}
	}
	return nil
}

// SectionFor is the section mapped to a Jira status ("" when none).
func (m Mapping) SectionFor(status string) string {
	for _, s := range m.StatusSections {
		if strings.EqualFold(s.Status, status) {
			return s.Section
		}
	}
	return ""
}

// StatusFor is the first Jira status mapped to a section ("" when none).
func (m Mapping) StatusFor(section string) string {
	for _, s := range m.StatusSections {
		if strings.EqualFold(s.Section, section) {
			return s.Status
		}
	}
	return ""
}

// JiraEmail is the Jira side's address for an Asana address (by the
// domain aliases; unchanged when none applies).
func (m Mapping) JiraEmail(asanaEmail string) string {
	return alias(asanaEmail, m.DomainAliases, func(a DomainAlias) (string, string) { return a.Asana, a.Jira })
}

// AsanaEmail is the Asana side's address for a Jira address.
func (m Mapping) AsanaEmail(jiraEmail string) string {
	return alias(jiraEmail, m.DomainAliases, func(a DomainAlias) (string, string) { return a.Jira, a.Asana })
}

func alias(email string, as []DomainAlias, sides func(DomainAlias) (string, string)) string {
	local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if !ok {
		return email
	}
	for _, a := range as {
		if from, to := sides(a); strings.EqualFold(from, domain) {
			return local + "@" + strings.ToLower(to)
		}
	}
	return local + "@" + domain
}

// JiraUserFor is the Jira user name the user pairs give an Asana address.
func (m Mapping) JiraUserFor(asanaEmail string) string {
	for _, u := range m.Users {
		if strings.EqualFold(u.AsanaEmail, asanaEmail) {
			return u.JiraUser
		}
	}
	return ""
}

// AsanaEmailFor is the Asana address the user pairs give a Jira user.
func (m Mapping) AsanaEmailFor(jiraUser string) string {
	for _, u := range m.Users {
		if strings.EqualFold(u.JiraUser, jiraUser) {
			return u.AsanaEmail
		}
	}
	return ""
}

// SavedMapping is a mapping as stored for a connection or a project.
type SavedMapping struct {
	WorkspaceGID string
	JiraServerID string
	// ProjectGID is "" for the connection's mapping.
	ProjectGID string
	Mapping    Mapping
	UpdatedBy  string
	UpdatedAt  string
}

// ErrNoMapping says that a connection (or project) has no saved mapping:
// its fields do not sync.
var ErrNoMapping = errors.New("syncengine: no field mapping is saved")

// GetMapping returns the mapping saved for a connection (projectGID "") or
// for one of its routed projects; ErrNoMapping when none is.
func (e *Engine) GetMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) (SavedMapping, error) {
	fm, err := e.st.GetFieldMapping(ctx, workspaceGID, jiraServerID, projectGID)
	if errors.Is(err, store.ErrNotFound) {
		return SavedMapping{}, ErrNoMapping
	}
	if err != nil {
		return SavedMapping{}, wrap("mapping", err)
	}
	return decodeMapping(fm)
}

func decodeMapping(fm store.FieldMapping) (SavedMapping, error) {
	var m Mapping
	if err := json.Unmarshal([]byte(fm.Mapping), &m); err != nil {
		return SavedMapping{}, fmt.Errorf("syncengine: the mapping of %s × %s %q is not valid JSON: %w", fm.WorkspaceGID, fm.JiraServerID, fm.ProjectGID, err)
	}
	return SavedMapping{WorkspaceGID: fm.WorkspaceGID, JiraServerID: fm.JiraServerID, ProjectGID: fm.ProjectGID, Mapping: m,
		UpdatedBy: fm.UpdatedBy, UpdatedAt: fm.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")}, nil
}

// ListMappings returns a connection's saved mapping and its projects'
// overrides (the connection's first).
func (e *Engine) ListMappings(ctx context.Context, workspaceGID, jiraServerID string) ([]SavedMapping, error) {
	fms, err := e.st.ListFieldMappings(ctx, workspaceGID, jiraServerID)
	if err != nil {
		return nil, wrap("mappings", err)
	}
	out := make([]SavedMapping, 0, len(fms))
	for _, fm := range fms {
		m, err := decodeMapping(fm)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// PutMapping saves the mapping of a connection (projectGID "") or the
// override of one of its projects, by is who (for the record). Saving a
// connection's mapping turns field sync on for its links; existing links
// take it at their next run (see Resync).
func (e *Engine) PutMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string, m Mapping, by string) error {
	if err := m.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("syncengine: encode the mapping: %w", err)
	}
	err = e.st.PutFieldMapping(ctx, store.FieldMapping{WorkspaceGID: workspaceGID, JiraServerID: jiraServerID, ProjectGID: projectGID,
		Mapping: string(b), UpdatedBy: by})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w (%s × %s)", ErrNoConnection, workspaceGID, jiraServerID)
	}
	return wrap("save the mapping", err)
}

// DeleteMapping removes a saved mapping: a project's override (the
// connection's mapping applies to it again) or the connection's (its
// fields stop syncing). ErrNoMapping when there is none.
func (e *Engine) DeleteMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) error {
	err := e.st.DeleteFieldMapping(ctx, workspaceGID, jiraServerID, projectGID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoMapping
	}
	return wrap("delete the mapping", err)
}

// EffectiveMapping is the mapping that applies to the links of a routed
// project: the project's override when saved (with the connection's user
// pairs and aliases after its own), else the connection's. ok is false when
// neither is saved: the links' fields do not sync.
func (e *Engine) EffectiveMapping(ctx context.Context, workspaceGID, jiraServerID, projectGID string) (m Mapping, ok bool, err error) {
	conn, err := e.GetMapping(ctx, workspaceGID, jiraServerID, "")
	if err != nil && !errors.Is(err, ErrNoMapping) {
		return Mapping{}, false, err
	}
	hasConn := err == nil
	if projectGID != "" {
		proj, err := e.GetMapping(ctx, workspaceGID, jiraServerID, projectGID)
		switch {
		case err == nil:
			pm := proj.Mapping
			pm.Users = append(pm.Users, conn.Mapping.Users...)
			pm.DomainAliases = append(pm.DomainAliases, conn.Mapping.DomainAliases...)
			return pm, true, nil
		case !errors.Is(err, ErrNoMapping):
			return Mapping{}, false, err
		}
	}
	return conn.Mapping, hasConn, nil
}
