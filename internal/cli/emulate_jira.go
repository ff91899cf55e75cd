package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/fakes/jira"
)

const emulateJiraDescription = `
Runs the Jira Server / Data Center emulator alone, for testing other tools
against a Jira that behaves like the chosen release (authentication, REST v2,
webhooks, version differences and injected failures).

Seeded users (username/password):
  admin/admin   Jira administrator (application links, webhooks)
  alice/alice   user
  bob/bob       user

Seeded data: projects DEMO and OPS (Epic, Story, Task, Sub-task, Bug; a
To Do / In Progress / Done / Closed workflow whose transitions fire
issue_resolved, issue_closed, issue_reopened or issue_generic; OPS requires
the Severity select customfield_10200 on Task and Bug), Epic Name
customfield_10101, Epic Link customfield_10100, Story Points
customfield_10102, and a few issues (DEMO-1..4, OPS-1..2).

Permissions as Jira has them: groups (jira-administrators,
jira-software-users), project roles (Users, Developers, Administrators), a
permission scheme and issue security levels. bob may not browse OPS, and
DEMO-4 is Confidential (admin and alice only); hidden issues answer 403 on
every resource and never appear in searches or the web UI. Comments may be
restricted to a group or a project role.

Served under the context path (default /jira):
  /rest/api/2/...                 REST v2 (serverInfo, myself, project, issue,
                                  createmeta, editmeta, search, comments,
                                  transitions, attachments, remote links,
                                  issue and comment properties, users,
                                  mypermissions, fields)
  /plugins/servlet/oauth/...      OAuth 1.0a request-token, authorize, access-token
  /rest/applinks/3.0/...          application links and their OAuth consumers
  /rest/pat/latest/tokens         personal access tokens (8.14+)
  /rest/oauth2/latest/...         OAuth 2.0 provider (8.22+)
  /rest/webhooks/1.0/webhook      webhooks (/rest/jira-webhook/1.0/webhooks on 10.x)
  /secure/Dashboard.jspa, /browse/KEY, /login.jsp   web UI
  /_emulator/faults               GET/PUT/DELETE injected faults (JSON; unknown
                                  keys are refused; {"drop_webhooks":true}
                                  silently sends no webhook)
  /_emulator/oauth/approve        POST oauth_token, username: approve a request token
  /_emulator/oauth2/clients       POST: register an OAuth 2.0 client
`

// runEmulateJira runs `asanajira emulate jira`. args are the arguments after
// "emulate jira"; it returns when ctx is cancelled (SIGINT/SIGTERM) or on error.
func runEmulateJira(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "emulate jira", "[flags]", emulateJiraDescription)
	listen := fs.String("listen", "127.0.0.1:2990", "address to listen on (host:port)")
	version := fs.String("jira-version", jira.DefaultVersion, "Jira release to play: "+strings.Join(jira.Versions(), ", "))
	contextPath := fs.String("context-path", "/jira", "path Jira is served under (\"/\" for the root)")
	baseURL := fs.String("base-url", "", "public base URL that clients use and OAuth signatures are checked against\n(default http://<listen><context-path>)")
	noBasic := fs.Bool("disable-basic-auth", false, "refuse basic authentication on REST calls, as the 8.16+ toggle does")
	rateCap := fs.Int("rate-limit", 0, "enable rate limiting (8.6+) with this bucket size per user; 0 leaves it off")
	rateFill := fs.Int("rate-limit-fill", 1, "tokens added to each user's bucket per second when rate limiting")
	attachLimit := fs.Int64("attachment-limit", jira.DefaultAttachmentLimit, "maximum attachment size in bytes")
	verbose := fs.Bool("verbose", false, "log every request and webhook delivery")
	if _, err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if !slices.Contains(jira.Versions(), *version) {
		return usageErrorf("unknown --jira-version %q: choose one of %s", *version, strings.Join(jira.Versions(), ", "))
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	opts := jira.Options{
		Version: *version, ContextPath: *contextPath, PublicBaseURL: *baseURL, Logger: logger,
		DisableBasicAuth: *noBasic, AttachmentLimit: *attachLimit,
	}
	if *rateCap > 0 {
		opts.RateLimit = &jira.RateLimit{Capacity: *rateCap, FillRate: *rateFill, IntervalSeconds: 1}
	}
	srv, err := jira.New(opts)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ln, err := listenTCP(ctx, "listen", *listen)
	if err != nil {
		return err
	}
	if *baseURL == "" {
		if err := srv.SetPublicBaseURL("http://" + ln.Addr().String() + srv.ContextPath()); err != nil {
			_ = ln.Close()
			return fmt.Errorf("emulate jira: %w", err)
		}
	}
	public := *baseURL
	if public == "" {
		public = "http://" + ln.Addr().String() + srv.ContextPath()
	}
	var h http.Handler = srv
	if *verbose {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			logger.Debug("request", "method", r.Method, "path", r.URL.Path)
			srv.ServeHTTP(w, r)
		})
	}
	fmt.Fprintf(env.Stdout, "Jira %s emulator listening on %s\n", srv.Version(), public)
	defer srv.Close() // waits for asynchronous webhook deliveries
	if err := serveUntilDone(ctx, ln, h); err != nil {
		return fmt.Errorf("emulate jira: %w", err)
	}
	return nil
}
