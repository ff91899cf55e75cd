package setup

import (
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// The views are how the command line's --json and the admin API show
// setup records: every field a person or a script needs, never a secret
// (no private key, client secret or webhook secret).

// ServerView is a Jira server.
type ServerView struct {
	ID             string             `json:"id"`
	Name           string             `json:"name"`
	BaseURL        string             `json:"base_url"`
	ConnectAddress string             `json:"connect_address,omitempty"`
	Version        string             `json:"version,omitempty"`
	Status         string             `json:"status"`
	CheckedAt      *time.Time         `json:"checked_at,omitempty"`
	ConsumerKey    string             `json:"consumer_key"`
	PublicKeyPEM   string             `json:"public_key_pem"`
	AppLink        string             `json:"application_link"`
	AppLinkID      string             `json:"application_link_id,omitempty"`
	Webhook        string             `json:"webhook"`
	WebhookURL     string             `json:"webhook_url,omitempty"`
	Methods        []store.AuthMethod `json:"methods"`
	OAuth2ClientID string             `json:"oauth2_client_id,omitempty"`
	CACertificates []CACert           `json:"ca_certificates"`
}

// ViewServer shows a server.
func ViewServer(srv store.JiraServer) ServerView {
	v := ServerView{ID: srv.ID, Name: srv.Name, BaseURL: srv.BaseURL, ConnectAddress: srv.ConnectAddress, Version: srv.Version,
		Status: srv.Status, ConsumerKey: srv.ConsumerKey, PublicKeyPEM: srv.PublicKeyPEM, AppLink: linkState(srv),
		Webhook: WebhookState(srv), WebhookURL: srv.WebhookURL, Methods: srv.AuthMethods, OAuth2ClientID: srv.OAuth2ClientID,
		CACertificates: BundleCerts(srv.CABundlePEM)}
	if srv.AppLinkID != ManualLinkID {
		v.AppLinkID = srv.AppLinkID
	}
	if !srv.CheckedAt.IsZero() {
		t := srv.CheckedAt.UTC()
		v.CheckedAt = &t
	}
	if v.Methods == nil {
		v.Methods = []store.AuthMethod{}
	}
	if v.CACertificates == nil {
		v.CACertificates = []CACert{}
	}
	return v
}

// ViewServers shows servers; none is an empty list, never null.
func ViewServers(servers []store.JiraServer) []ServerView {
	out := make([]ServerView, 0, len(servers))
	for _, srv := range servers {
		out = append(out, ViewServer(srv))
	}
	return out
}

// WorkspaceView is an Asana workspace.
type WorkspaceView struct {
	GID  string `json:"gid"`
	Name string `json:"name"`
}

// ViewWorkspace shows a workspace.
func ViewWorkspace(ws store.Workspace) WorkspaceView {
	return WorkspaceView{GID: ws.GID, Name: ws.Name}
}

// ConnectionView is a workspace's connection to a server.
type ConnectionView struct {
	Workspace  string `json:"workspace"`
	Server     string `json:"server"`
	ServerName string `json:"server_name"`
	Default    bool   `json:"default"`
}

// RouteView is a project's route.
type RouteView struct {
	Workspace   string `json:"workspace"`
	Project     string `json:"project"`
	Server      string `json:"server"`
	ServerName  string `json:"server_name"`
	JiraProject string `json:"jira_project,omitempty"`
}

// RoutingView is the whole routing: every workspace with its connections
// and project routes.
type RoutingView struct {
	Workspaces  []WorkspaceView  `json:"workspaces"`
	Connections []ConnectionView `json:"connections"`
	Routes      []RouteView      `json:"routes"`
}

// ViewRouting shows an overview's routing.
func ViewRouting(o Overview) RoutingView {
	v := RoutingView{Workspaces: []WorkspaceView{}, Connections: []ConnectionView{}, Routes: []RouteView{}}
	for _, w := range o.Workspaces {
		v.Workspaces = append(v.Workspaces, ViewWorkspace(w.Workspace))
		for _, c := range w.Connections {
			v.Connections = append(v.Connections, ConnectionView{Workspace: w.Workspace.GID, Server: c.ServerID, ServerName: c.ServerName, Default: c.IsDefault})
		}
		for _, r := range w.Routes {
			v.Routes = append(v.Routes, RouteView{Workspace: w.Workspace.GID, Project: r.Route.ProjectGID, Server: r.Route.JiraServerID,
				ServerName: r.ServerName, JiraProject: r.Route.JiraProjectKey})
		}
	}
	return v
}

// SyncView is a connection's two-way sync settings, with the names of an
// apply file's sync: block.
type SyncView struct {
	Workspace        string     `json:"workspace"`
	Server           string     `json:"server"`
	Enabled          bool       `json:"enabled"`
	Comments         bool       `json:"comments"`
	Completion       bool       `json:"completion"`
	DoneTransition   string     `json:"done_transition"`
	ReopenTransition string     `json:"reopen_transition"`
	EnabledAt        *time.Time `json:"enabled_at,omitempty"`
	UpdatedBy        string     `json:"updated_by,omitempty"`
	UpdatedAt        *time.Time `json:"updated_at,omitempty"`
}

// ViewSync shows sync settings.
func ViewSync(s store.SyncSettings) SyncView {
	return SyncView{Workspace: s.WorkspaceGID, Server: s.JiraServerID, Enabled: s.Enabled, Comments: s.Comments,
		Completion: s.Completion, DoneTransition: s.DoneTransition, ReopenTransition: s.ReopenTransition,
		EnabledAt: viewTime(s.EnabledAt), UpdatedBy: s.UpdatedBy, UpdatedAt: viewTime(s.UpdatedAt)}
}

// viewTime is t in UTC, or nil when it is zero.
func viewTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// FieldMappingView is a field mapping with the names of an apply file's
// sync: fields: block, every field with its direction.
type FieldMappingView struct {
	// Saved is false when no mapping is saved there: a connection's fields
	// do not sync, a project follows its connection's mapping; the rest is
	// then what a save would start from. Shown, never taken.
	Saved          *bool                           `json:"saved,omitempty"`
	Directions     map[string]syncengine.Direction `json:"directions"`
	StatusSections []syncengine.StatusSection      `json:"status_sections"`
	Users          []syncengine.UserPair           `json:"users"`
	DomainAliases  []syncengine.DomainAlias        `json:"domain_aliases"`
}

// ViewFieldMapping shows a mapping; its lists are never null, so a script
// can range over them.
func ViewFieldMapping(m syncengine.Mapping, saved bool) FieldMappingView {
	v := FieldMappingView{Saved: &saved, Directions: m.Directions(), StatusSections: m.StatusSections, Users: m.Users, DomainAliases: m.DomainAliases}
	if v.StatusSections == nil {
		v.StatusSections = []syncengine.StatusSection{}
	}
	if v.Users == nil {
		v.Users = []syncengine.UserPair{}
	}
	if v.DomainAliases == nil {
		v.DomainAliases = []syncengine.DomainAlias{}
	}
	return v
}

// Mapping is the mapping v describes; a field it leaves out takes its
// default direction.
func (v FieldMappingView) Mapping() syncengine.Mapping {
	return syncengine.Mapping{Fields: v.Directions, StatusSections: v.StatusSections, Users: v.Users, DomainAliases: v.DomainAliases}
}
