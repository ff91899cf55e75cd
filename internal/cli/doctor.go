package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/doctor"
)

const doctorDescription = `
Checks a Jira Server / Data Center instance against everything asanajira
needs and explains each failure for a Jira administrator: DNS (and, with
--public, private addresses), TCP, the TLS certificate, each endpoint
asanajira calls (/, serverInfo, myself, the three OAuth 1.0a servlets,
create metadata, attachment settings, application links), the version and
what it implies, Jira's base URL against the URL given, clock skew, basic
auth disabled, CAPTCHA lock-outs, SSO login pages, and a signed OAuth 1.0a
call whose refused signature is shown next to the one Jira rebuilt.

Only --jira-url is required; each credential unlocks more checks. Every
call is read-only (the request token the doctor asks for is never
authorised). Checks that depend on a failed one are skipped with the reason.

Prints a table (or JSON with --json). Exit status: 0 when no check failed
(warnings and skipped checks do not count), 1 when one did, 2 on a usage
error.

Examples:
  asanajira doctor --jira-url https://jira.example.com/jira
  asanajira doctor --jira-url https://jira.example.com --connect-to 10.0.0.5:8080 \
      --consumer-key asanajira-1f2e --private-key jira.pem --access-token TOKEN
  ASANAJIRA_ADMIN_PASSWORD=secret asanajira doctor --jira-url https://jira.example.com --admin-user admin`

// runDoctor runs `asanajira doctor`.
func runDoctor(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "doctor", "--jira-url URL [flags]", doctorDescription)
	jiraURL := fs.String("jira-url", "", "Jira's public base `URL`, context path included (https://jira.example.com/jira); required")
	connectTo := fs.String("connect-to", "", "reach Jira at this `HOST:PORT` instead, while requests stay addressed and signed\nfor --jira-url (internal DNS name, IP, load balancer)")
	caBundle := fs.String("ca-bundle", "", "PEM `FILE` of extra CA certificates to trust for Jira's TLS certificate")
	consumerKey := fs.String("consumer-key", "", "consumer key of asanajira's application link (OAuth 1.0a)")
	privateKey := fs.String("private-key", "", "PEM `FILE` of the RSA private key paired with the link's public key")
	accessToken := fs.String("access-token", "", "a user's OAuth 1.0a access token, for a signed GET myself (prefer --access-token-file)")
	accessTokenFile := fs.String("access-token-file", "", "`FILE` holding the OAuth access token")
	adminUser := fs.String("admin-user", "", "Jira administrator's user name (with --admin-password), for the login and\napplication-links checks")
	adminPassword := fs.String("admin-password", "", "the administrator's password (prefer --admin-password-file or the environment)")
	adminPasswordFile := fs.String("admin-password-file", "", "`FILE` holding the administrator's password")
	adminToken := fs.String("admin-token", "", "a Jira administrator's personal access token (Jira 8.14+), instead of user and password")
	adminTokenFile := fs.String("admin-token-file", "", "`FILE` holding the administrator's personal access token")
	project := fs.String("project", "", "project `KEY` whose create metadata is read (default: the first project visible)")
	public := fs.Bool("public", false, "asanajira is reachable from the internet: report a Jira that resolves to private addresses")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit for each network step")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	rest, err := parseFlags(fs, args, env)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if *jiraURL == "" {
		return usageErrorf("--jira-url is required")
	}
	if *connectTo != "" {
		if _, _, err := net.SplitHostPort(*connectTo); err != nil {
			return usageErrorf("--connect-to %q must be HOST:PORT, like 10.0.0.5:8080", *connectTo)
		}
	}
	if *timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	opts := doctor.Options{
		JiraURL: *jiraURL, ConnectTo: *connectTo, ConsumerKey: *consumerKey, AdminUser: *adminUser,
		Project: *project, PublicMode: *public, Timeout: *timeout,
	}
	if opts.AccessToken, err = secretFlag("access-token", *accessToken, *accessTokenFile); err != nil {
		return err
	}
	if opts.AdminPassword, err = secretFlag("admin-password", *adminPassword, *adminPasswordFile); err != nil {
		return err
	}
	if opts.AdminToken, err = secretFlag("admin-token", *adminToken, *adminTokenFile); err != nil {
		return err
	}
	switch {
	case (*consumerKey == "") != (*privateKey == ""):
		return usageErrorf("--consumer-key and --private-key go together")
	case opts.AccessToken != "" && *consumerKey == "":
		return usageErrorf("--access-token needs --consumer-key and --private-key to sign with")
	case opts.AdminToken != "" && (*adminUser != "" || opts.AdminPassword != ""):
		return usageErrorf("give either --admin-token or --admin-user with --admin-password, not both")
	case (*adminUser == "") != (opts.AdminPassword == "") && opts.AdminToken == "":
		return usageErrorf("--admin-user and --admin-password go together")
	}
	if *privateKey != "" {
		if opts.PrivateKeyPEM, err = os.ReadFile(*privateKey); err != nil {
			return fmt.Errorf("read --private-key: %w", err)
		}
	}
	if *caBundle != "" {
		if opts.CABundlePEM, err = os.ReadFile(*caBundle); err != nil {
			return fmt.Errorf("read --ca-bundle: %w", err)
		}
	}
	rep := doctor.Run(ctx, opts)
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	} else if err := rep.WriteText(env.Stdout); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stopped: %w", ctx.Err())
	}
	if n := rep.Counts()[doctor.StatusFail]; n > 0 {
		if n == 1 {
			return errors.New("1 check failed")
		}
		return fmt.Errorf("%d checks failed", n)
	}
	return nil
}

// secretFlag returns a secret given either directly or as a file (whose
// trailing newline is dropped), refusing both at once.
func secretFlag(name, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", usageErrorf("give --%s or --%s-file, not both", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read --%s-file: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
