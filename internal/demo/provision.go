package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

// Provision does for the newcomer what an admin does once: it registers the
// app on the Asana emulator with the bridge's App Components URLs, then
// writes the demo's setup file (SetupFile) into the data folder and applies
// it as `asanajira apply` does: the Jira emulator connected automatically
// (application link, consumer, webhook), the Acme workspace connected to
// it with two-way sync of comments, completion and fields, and its Launch project
// routed to Jira project DEMO. On a resumed
// data folder the same file sets the same server up again: the emulators
// start empty each time, so the application link is made again and users
// authorize again.
func (d *Demo) Provision(ctx context.Context, s *setup.Service) (store.JiraServer, error) {
	const actor = setup.Actor("asanajira demo")
	if err := d.Asana.SetApp(d.AppRegistration()); err != nil {
		return store.JiraServer{}, fmt.Errorf("demo: register the app on the Asana emulator: %w", err)
	}
	d.log.Info("registered the asanajira app on the Asana emulator", slog.String("authentication_url", d.BridgeURL+"/connect/auth"))

	text := d.SetupFile()
	path := filepath.Join(d.DataDir, "setup.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return store.JiraServer{}, fmt.Errorf("demo: write %s: %w", path, err)
	}
	f, err := setup.ParseFile([]byte(text))
	if err != nil {
		return store.JiraServer{}, fmt.Errorf("demo: %w", err)
	}
	plan, err := s.Plan(ctx, f, setup.FileEnv{Dir: d.DataDir, Getenv: SetupSecrets, ReadFile: os.ReadFile, AsanaURL: d.AsanaURL}, false)
	if err != nil {
		return store.JiraServer{}, fmt.Errorf("demo: plan %s: %w", path, err)
	}
	if err := s.Apply(ctx, actor, plan); err != nil {
		return store.JiraServer{}, fmt.Errorf("demo: apply %s: %w", path, err)
	}
	for _, c := range plan.Changes {
		if c.Applied {
			d.log.Info("setup: "+c.Op+" "+c.What, slog.String("file", path))
		}
	}
	srv, err := s.FindServer(ctx, d.JiraURL)
	if err != nil {
		return srv, fmt.Errorf("demo: %w", err)
	}
	d.log.Info("connected the Jira emulator: application link and webhook in place", slog.String("server", srv.ID),
		slog.String("consumer_key", srv.ConsumerKey))
	d.log.Info("routed the Acme workspace's Launch project to Jira project DEMO; two-way sync is on for Launch ↔ DEMO: comments, completion and fields", slog.String("setup_file", path))
	return srv, nil
}

// setupTemplate is the demo's setup file; README's "Configure from code"
// shows it for the default ports, and a test applies that copy.
var setupTemplate = template.Must(template.New("setup.yaml").Parse(`# asanajira demo: the Jira emulator connected automatically, the Acme workspace
# connected to it with two-way sync, and its Launch project routed to Jira
# project DEMO. Apply it with: asanajira apply -f setup.yaml [--dry-run] [--prune]
asana:
  # Finds workspaces and projects by name; pat-admin on the Asana emulator.
  token_env: ASANA_TOKEN
jira_servers:
  - name: Jira emulator
    url: {{.JiraURL}}
    # Only for the application link and the webhook, when they must be made
    # or repaired; never stored. admin/admin on the Jira emulator.
    admin:
      user: admin
      password_env: JIRA_ADMIN_PASSWORD
workspaces:
  - name: Acme
    connections:
      - server: Jira emulator
        default: true
        sync:
          enabled: true
          comments: true
          completion: true
          # The field mapping's defaults (name, due date and assignee both
          # ways; Jira status and priority to Asana), and the Launch
          # project's sections following the issue's status both ways; the
          # emulators' people have different e-mail domains.
          fields:
            directions:
              section: both
            status_sections:
              - status: To Do
                section: To do
              - status: In Progress
                section: In progress
              - status: Done
                section: Done
            domain_aliases:
              - asana: acme.example
                jira: example.com
    routes:
      - project: Launch
        server: Jira emulator
        jira_project: DEMO
`))

// SetupFile is the demo's setup file for its emulators' URLs.
func (d *Demo) SetupFile() string {
	var b strings.Builder
	_ = setupTemplate.Execute(&b, struct{ JiraURL string }{d.JiraURL}) // a fixed template over a string
	return b.String()
}

// SetupSecrets is the environment the demo's setup file reads its secrets
// from: the emulators' demo credentials.
func SetupSecrets(name string) string {
	return map[string]string{"ASANA_TOKEN": "pat-admin", "JIRA_ADMIN_PASSWORD": "admin"}[name]
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
