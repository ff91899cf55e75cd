package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// Provision does for the newcomer what an admin does once: it registers the
// app on the Asana emulator with the bridge's App Components URLs, connects
// the Jira emulator through the setup service's automatic setup
// (application link, consumer, webhook), and routes the Acme workspace to it.
// On a resumed data folder it sets the same server up again: the emulators
// start empty each time, so users authorize again.
func (d *Demo) Provision(ctx context.Context, s *setup.Service) (store.JiraServer, error) {
	const actor = setup.Actor("asanajira demo")
	if err := d.Asana.SetApp(d.AppRegistration()); err != nil {
		return store.JiraServer{}, fmt.Errorf("demo: register the app on the Asana emulator: %w", err)
	}
	d.log.Info("registered the asanajira app on the Asana emulator", slog.String("authentication_url", d.BridgeURL+"/connect/auth"))

	srv, err := s.ConnectJira(ctx, actor, setup.ServerInput{BaseURL: d.JiraURL, Name: "Jira emulator"},
		setup.JiraAdmin{User: "admin", Password: "admin"})
	if err != nil {
		return srv, fmt.Errorf("demo: connect the Jira emulator: %w", err)
	}
	d.log.Info("connected the Jira emulator: application link created, webhook registered",
		slog.String("server", srv.ID), slog.String("consumer_key", srv.ConsumerKey))

	seed := d.Asana.Seed()
	if _, _, err := s.AddWorkspace(ctx, actor, seed.Workspace, "Acme"); err != nil {
		return srv, fmt.Errorf("demo: %w", err)
	}
	if _, err := s.Connect(ctx, actor, seed.Workspace, srv.ID, true); err != nil {
		return srv, fmt.Errorf("demo: %w", err)
	}
	if _, err := s.SetRoute(ctx, actor, store.ProjectRoute{WorkspaceGID: seed.Workspace, ProjectGID: seed.Project, JiraServerID: srv.ID, JiraProjectKey: "DEMO"}); err != nil {
		return srv, fmt.Errorf("demo: %w", err)
	}
	d.log.Info("routed the Acme workspace's Launch project to Jira project DEMO")
	return srv, nil
}

// EnableSync switches two-way sync on for the Acme workspace's connection
// to the server (comments and completion), as an admin would in the
// console's sync settings.
func (d *Demo) EnableSync(ctx context.Context, st store.Store, srv store.JiraServer) error {
	if err := st.PutSyncSettings(ctx, store.SyncSettings{WorkspaceGID: d.Asana.Seed().Workspace, JiraServerID: srv.ID,
		Enabled: true, Comments: true, Completion: true, UpdatedBy: "asanajira demo"}); err != nil {
		return fmt.Errorf("demo: enable two-way sync: %w", err)
	}
	d.log.Info("two-way sync is on for Launch ↔ DEMO: comments and completion")
	return nil
}

// AppRegistration is the demo app as registered on the Asana emulator:
// every App Components URL points at the bridge.
func (d *Demo) AppRegistration() fakeasana.AppRegistration {
	app := fakeasana.DefaultApp()
	b := d.BridgeURL
	app.Name = "Jira Server"
	app.RedirectURLs = []string{b + "/connect/asana/callback", b + "/admin/auth/callback"}
	app.AuthenticationURL = b + "/connect/auth"
	app.WidgetMetadataURL = b + "/asana/widget"
	app.MatchURLPattern = "^" + regexp.QuoteMeta(d.JiraURL) + "/browse/.*"
	app.FormMetadataURL = b + "/asana/form"
	app.ResourceAttachURL = b + "/asana/lookup/attach"
	app.ResourceTypeaheadURL = b + "/asana/lookup/typeahead"
	app.ModalFormActionText = "Create new issue"
	app.LookupActionText = "Link existing issue"
	app.LookupPlaceholder = "Issue key, URL or words"
	app.RuleActions = []fakeasana.RuleAction{{ID: "create_jira_issue", DisplayName: "Create Jira issue",
		FormMetadataURL: b + "/asana/rule/form", RunActionURL: b + "/asana/rule/run"}}
	return app
}

// downloadHost is the Asana emulator's host:port, the only host attachment
// downloads may come from in the demo.
func (d *Demo) downloadHost() string {
	u, err := url.Parse(d.AsanaURL)
	if err != nil {
		return ""
	}
	return u.Host
}
