package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
)

const emulateAsanaDescription = `
Runs the Asana emulator alone: Asana's REST API under /api/1.0 (users,
workspaces, projects, sections, tasks, stories, custom fields, attachments,
webhooks, events), OAuth 2.0 (/-/oauth_authorize, /-/oauth_token, /-/oauth_revoke),
and a task pane page at / where a person signs in, adds the registered app
to the project (Customize → Apps → + Add app: the install wizard and its
authentication popup) and uses its App Components on the project's tasks
(entry point, modal form, lookup, widgets, rule actions) exactly as Asana
calls them: signed with the client secret (x-asana-request-signature) and
carrying expires_at. A task's permalink_url opens it in the task pane.

Every task change adds the system story Asana adds (marked_complete,
assigned, due_date_changed, section_changed, ...) and is reported to /events
and webhooks as Asana reports it: webhook bodies carry gids and types only.

Seeded data: workspace "Acme", project "Launch" with sections "To do", "In
progress" and "Done", three tasks in "To do" (notes, an Asana-hosted PDF and
PNG, Google Drive, Dropbox, Box and OneDrive links) and an enum custom field
"Priority". GET /_emulator/seed lists every gid.

Demo users (password = name; personal access token in brackets):
  admin  Ada Admin     [pat-admin]
  alice  Alice Anders  [pat-alice]
  bob    Bob Brown     [pat-bob]

App registration: client id asanajira-demo, client secret demo-secret, and
the App Components URLs given by the --*-url flags below (empty = the
capability is not configured). A rule action is registered when
--rule-action-run-url is set. Widget, form and lookup calls are sent from the
browser page with the emulator's origin, so the app must allow that origin
(CORS); run-action calls come from the emulator's server.

Fault injection: GET/PUT/DELETE /_emulator/faults with JSON; unknown keys
are refused with 400. On requests: {"latency_ms","error_rate","error_status",
"throttle","retry_after_seconds","reset","sso_html","clock_skew_seconds",
"path_prefix"}. On event deliveries (webhooks and /events, or one of them
with "delivery_scope"): {"delay_ms","delay_jitter_ms","drop_rate",
"duplicate_rate","reorder"}; on sync tokens: {"expire_sync_tokens",
"sync_token_ttl_ms"}; "seed" makes the random choices repeatable.
`

// runEmulateAsana runs `asanajira emulate asana`. args are the arguments after
// "emulate asana"; it returns when ctx is cancelled (SIGINT/SIGTERM) or on error.
func runEmulateAsana(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "emulate asana", "[flags]", emulateAsanaDescription)
	listen := fs.String("listen", "127.0.0.1:3000", "address to listen on (host:port; port 0 picks a free port)")
	baseURL := fs.String("base-url", "", "public base URL of the emulator (default http://<listen address>)")
	app := fakeasana.DefaultApp()
	fs.StringVar(&app.Name, "app-name", app.Name, "display name of the registered app")
	fs.StringVar(&app.ClientID, "client-id", app.ClientID, "OAuth client id of the registered app")
	fs.StringVar(&app.ClientSecret, "client-secret", app.ClientSecret, "OAuth client secret; also signs every App Components request")
	redirects := fs.String("redirect-urls", "", "comma-separated OAuth redirect URLs the app may use (empty accepts any http(s) URL)")
	fs.StringVar(&app.AuthenticationURL, "authentication-url", "", "Authentication URL opened in a popup by the install wizard")
	fs.StringVar(&app.WidgetMetadataURL, "widget-metadata-url", "", "Widget metadata URL (GET)")
	fs.StringVar(&app.MatchURLPattern, "match-url-pattern", "", "regular expression of attachment URLs that get the app's widget")
	fs.StringVar(&app.FormMetadataURL, "form-metadata-url", "", "Form metadata URL of the modal form (GET)")
	fs.StringVar(&app.ResourceAttachURL, "resource-attach-url", "", "Resource attach URL of the lookup (POST)")
	fs.StringVar(&app.ResourceTypeaheadURL, "resource-typeahead-url", "", "Resource typeahead URL of the lookup (GET)")
	fs.StringVar(&app.ModalFormActionText, "modal-form-action-text", app.ModalFormActionText, "entry point label of the modal form")
	fs.StringVar(&app.LookupActionText, "lookup-action-text", app.LookupActionText, "entry point label of the lookup")
	ruleID := fs.String("rule-action-id", "create_jira_issue", "action_type id of the rule action")
	ruleName := fs.String("rule-action-name", "Create a Jira issue", "display name of the rule action")
	ruleForm := fs.String("rule-action-form-url", "", "rule action Form metadata URL (GET)")
	ruleRun := fs.String("rule-action-run-url", "", "rule action Run action URL (POST); setting it registers the rule action")
	tokenLifetime := fs.Duration("token-lifetime", time.Hour, "lifetime of OAuth access tokens")
	rateLimit := fs.Bool("rate-limit", false, "enforce Asana's per-token rate limits (429 with Retry-After)")
	rateLimitRequests := fs.Int("rate-limit-requests", 1500, "requests one token may make per --rate-limit-window")
	rateLimitWindow := fs.Duration("rate-limit-window", time.Minute, "window of --rate-limit-requests")
	webhookRetry := fs.Duration("webhook-retry", time.Minute, "first retry delay of a failed webhook delivery (doubles per attempt)")
	webhookDeleteAfter := fs.Duration("webhook-delete-after", 24*time.Hour, "delete a webhook whose deliveries failed for this long")
	webhookHeartbeat := fs.Duration("webhook-heartbeat", 8*time.Hour, "interval of empty webhook heartbeat deliveries")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	rest, err := parseFlags(fs, args, env)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected arguments: %s", strings.Join(rest, " "))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErrorf("--log-level %q: %v", *logLevel, err)
	}
	if *redirects != "" {
		for r := range strings.SplitSeq(*redirects, ",") {
			if r = strings.TrimSpace(r); r != "" {
				app.RedirectURLs = append(app.RedirectURLs, r)
			}
		}
	}
	if *ruleRun != "" {
		app.RuleActions = []fakeasana.RuleAction{{ID: *ruleID, DisplayName: *ruleName, FormMetadataURL: *ruleForm, RunActionURL: *ruleRun}}
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	srv, err := fakeasana.New(fakeasana.Options{
		App: app, Logger: logger, TokenLifetime: *tokenLifetime,
		RateLimit: *rateLimit, RateLimitRequests: *rateLimitRequests, RateLimitWindow: *rateLimitWindow,
		WebhookTiming: fakeasana.WebhookTiming{RetryBackoff: *webhookRetry, DeleteAfter: *webhookDeleteAfter, Heartbeat: *webhookHeartbeat},
	})
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer srv.Close()

	ln, err := listenTCP(ctx, "listen", *listen)
	if err != nil {
		return err
	}
	public := *baseURL
	if public == "" {
		public = "http://" + ln.Addr().String()
	}
	if err := srv.SetPublicBaseURL(public); err != nil {
		_ = ln.Close()
		return usageErrorf("--base-url: %v", err)
	}
	fmt.Fprintf(env.Stdout, "Asana emulator listening on %s\n", public)
	return serveUntilDone(ctx, ln, srv)
}
