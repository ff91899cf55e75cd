package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

const jiraUsage = `Usage: asanajira jira add|list|show|verify|remove [flags]

Connects Jira servers, as the admin console's Jira pages do:
  add URL      register a Jira server (the doctor checks it first) with a new key pair;
               with a Jira administrator's credentials also create the application
               link and the webhook
  list         the Jira servers and how far each is set up
  show SERVER  one server, with the values to paste into Jira for a link made by hand
  verify SERVER  prove the application link with a signed call; with a Jira
               administrator's credentials check (or --repair-webhook) the webhook
  remove SERVER  remove a server; with a Jira administrator's credentials also what
               asanajira made in Jira

SERVER is a server's id, base URL or name. Run 'asanajira jira <sub> --help'.`

func runJira(ctx context.Context, args []string, env Env) error {
	return subcommand(ctx, "jira", args, env, map[string]func(context.Context, []string, Env) error{
		"add": runJiraAdd, "list": runJiraList, "show": runJiraShow, "verify": runJiraVerify, "remove": runJiraRemove,
	}, jiraUsage)
}

// serverResult is what jira add, verify and remove print with --json.
type serverResult struct {
	Changes []string            `json:"changes"`
	Server  setup.ServerView    `json:"server"`
	Doctor  *setup.DoctorReport `json:"doctor,omitempty"`
	// LeftInJira lists what a removal left in Jira for a person to delete.
	LeftInJira []string `json:"left_in_jira,omitempty"`
}

func printChanges(w io.Writer, changes []string) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "Nothing changed.")
	}
	for _, c := range changes {
		fmt.Fprintln(w, c)
	}
}

func runJiraAdd(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "jira add", "URL [flags]", `
Registers the Jira server at URL (its base URL as users open it, context
path included). The doctor checks it first and its table is printed; a
server the doctor cannot reach is still registered, Jira Cloud is not.
asanajira generates the application link's RSA key pair and consumer key.

With a Jira administrator's credentials (--admin-user with
--admin-password-file, or --admin-token-file; or ASANAJIRA_ADMIN_PASSWORD,
ASANAJIRA_ADMIN_TOKEN), it then creates the application link and its
incoming consumer, proves them with a signed request-token call and
registers the webhook, keeping nothing of the credentials. Adding a server
registered already sets it up again with its keys. Without credentials,
create the link by hand with the values 'asanajira jira show' prints, then
run 'asanajira jira verify'.
`+setupSettings+`

Example:
  ASANAJIRA_ADMIN_TOKEN=... asanajira jira add https://jira.example.com --name "Jira" \
      --public-url https://asanajira.example.com --database-url postgres://...`)
	c := newSetupCmd(env, "jira add", fs)
	name := fs.String("name", "", "how asanajira shows the server (default: the URL's host)")
	connect := fs.String("connect-address", "", "reach Jira at this `HOST:PORT` instead of the URL's host (requests stay signed for URL)")
	caFile := fs.String("ca-bundle", "", "PEM `FILE` of the CA certificate(s) of a Jira behind a private CA")
	creds := addJiraAdminFlags(fs, "to create the application link and the webhook")
	if err := c.parse(fs, args, 1, 1, "Jira's base URL"); err != nil {
		return err
	}
	admin, err := creds.read(env)
	if err != nil {
		return err
	}
	in := setup.ServerInput{BaseURL: c.arg(0), Name: *name, ConnectAddress: *connect}
	if *caFile != "" {
		b, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("read --ca-bundle: %w", err)
		}
		in.CABundlePEM = string(b)
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	var res serverResult
	reg, err := c.svc.RegisterServer(ctx, c.actor, in)
	srv := reg.Server
	switch {
	case err == nil:
		res.Doctor = &reg.Doctor
		res.Changes = append(res.Changes, fmt.Sprintf("Registered Jira server %q (%s) at %s: Jira %s, consumer key %s.",
			srv.Name, srv.ID, srv.BaseURL, or(srv.Version, "version unknown"), srv.ConsumerKey))
	case setup.CodeOf(err) == setup.Conflict && admin.Given():
		if srv, err = c.svc.FindServer(ctx, in.BaseURL); err != nil {
			return err
		}
		if in.CABundlePEM != "" {
			if srv, err = c.svc.SetCABundle(ctx, c.actor, srv.ID, in.CABundlePEM); err != nil {
				return err
			}
		}
	default:
		return err
	}
	if admin.Given() {
		if srv, err = c.svc.ConnectAutomatic(ctx, c.actor, srv.ID, admin); err != nil {
			c.printPartial(res)
			return err
		}
		res.Changes = append(res.Changes, fmt.Sprintf("Created the application link (id %s) and verified it with a signed request-token call; registered the webhook at %s. The administrator's credentials were not kept.",
			srv.AppLinkID, srv.WebhookURL))
	}
	res.Server = setup.ViewServer(srv)
	return c.out(res, func(w io.Writer) {
		if res.Doctor != nil {
			writeDoctor(w, *res.Doctor)
		}
		printChanges(w, res.Changes)
		if srv.AppLinkID == "" {
			fmt.Fprintf(w, "Next: create the application link in Jira with the values 'asanajira jira show %s' prints, then run 'asanajira jira verify %s'; or run this command again with a Jira administrator's credentials.\n", srv.ID, srv.ID)
		}
	})
}

// openServer opens the setup service and finds the server the first
// argument names; close with c.close.
func (c *setupCmd) openServer(ctx context.Context) (store.JiraServer, error) {
	if err := c.open(ctx); err != nil {
		return store.JiraServer{}, err
	}
	return c.svc.FindServer(ctx, c.arg(0))
}

// printPartial tells what a command changed before it failed.
func (c *setupCmd) printPartial(res serverResult) {
	if !c.json && len(res.Changes) > 0 {
		if res.Doctor != nil {
			writeDoctor(c.env.Stdout, *res.Doctor)
		}
		printChanges(c.env.Stdout, res.Changes)
	}
}

// writeDoctor prints the doctor's table.
func writeDoctor(w io.Writer, rep setup.DoctorReport) {
	verdict := "every required check passed"
	if !rep.OK {
		verdict = "some checks failed; each says how to fix it"
	}
	fmt.Fprintf(w, "Doctor: %s.\n", verdict)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, ch := range rep.Checks {
		evidence, _, _ := strings.Cut(ch.Evidence, "\n")
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", ch.Status, ch.Title, evidence)
		if ch.Fix != "" && ch.Status != "pass" {
			fmt.Fprintf(tw, "  \t\tfix: %s\n", ch.Fix)
		}
	}
	_ = tw.Flush() // writes to a buffer or the terminal
}

func runJiraList(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "jira list", "[flags]", "Lists the Jira servers and how far each is set up.\n"+setupSettings)
	c := newSetupCmd(env, "jira list", fs)
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	servers, err := c.svc.Servers(ctx)
	if err != nil {
		return err
	}
	out := struct {
		Servers []setup.ServerView `json:"servers"`
	}{setup.ViewServers(servers)}
	return c.out(out, func(w io.Writer) {
		if len(servers) == 0 {
			fmt.Fprintln(w, "No Jira server yet: add one with 'asanajira jira add URL'.")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tVERSION\tSTATUS\tAPPLICATION LINK\tWEBHOOK\tBASE URL")
		for _, v := range out.Servers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, or(v.Version, "unknown"), v.Status, v.AppLink, v.Webhook, v.BaseURL)
		}
		_ = tw.Flush() // writes to a buffer or the terminal
	})
}

func runJiraShow(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "jira show", "SERVER [flags]", `
Shows one Jira server (by id, base URL or name): its state, sign-in
methods, CA bundle, and the values to paste into Jira for an application
link made by hand (application URL and name, consumer key, public key).
`+setupSettings)
	c := newSetupCmd(env, "jira show", fs)
	if err := c.parse(fs, args, 1, 1, "the server (id, base URL or name)"); err != nil {
		return err
	}
	srv, err := c.openServer(ctx)
	defer c.close()
	if err != nil {
		return err
	}
	v := setup.ViewServer(srv)
	return c.out(v, func(w io.Writer) { c.writeServer(w, srv, v) })
}

func (c *setupCmd) writeServer(w io.Writer, srv store.JiraServer, v setup.ServerView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("Name", v.Name)
	row("ID", v.ID)
	row("Base URL", v.BaseURL)
	if v.ConnectAddress != "" {
		row("Connect address", v.ConnectAddress)
	}
	row("Version", or(v.Version, "unknown"))
	status := v.Status
	if v.CheckedAt != nil {
		status += " (checked " + v.CheckedAt.Format("2006-01-02 15:04:05 UTC") + ")"
	}
	row("Status", status)
	link := v.AppLink
	if v.AppLinkID != "" {
		link += " (id " + v.AppLinkID + ")"
	}
	row("Application link", link)
	hook := v.Webhook
	if v.WebhookURL != "" {
		hook += " at " + v.WebhookURL
	}
	row("Webhook", hook)
	var methods []string
	for _, o := range setup.MethodOptions(srv) {
		switch {
		case o.On:
			methods = append(methods, string(o.Method)+" (on)")
		case o.Available:
			methods = append(methods, string(o.Method)+" (off)")
		default:
			methods = append(methods, string(o.Method)+" (not available: "+o.Why+")")
		}
	}
	row("Sign-in methods", strings.Join(methods, ", "))
	row("OAuth 2.0 client", or(v.OAuth2ClientID, "none"))
	bundle := "none: the system's CAs only"
	if n := len(v.CACertificates); n > 0 {
		var subjects []string
		for _, cert := range v.CACertificates {
			subjects = append(subjects, cert.Subject+" (until "+cert.NotAfter.Format("2006-01-02")+")")
		}
		bundle = strings.Join(subjects, "; ")
	}
	row("CA bundle", bundle)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "For an application link made by hand in Jira (Administration → Applications → Application links):")
	row("  Application URL", c.svc.PublicURL())
	row("  Application and consumer name", c.svc.LinkName())
	row("  Consumer key", v.ConsumerKey)
	row("  OAuth 2.0 redirect URL", c.svc.OAuth2RedirectURL())
	_ = tw.Flush() // writes to a buffer or the terminal
	fmt.Fprintf(w, "  Public key:\n%s", v.PublicKeyPEM)
}

func runJiraVerify(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "jira verify", "SERVER [flags]", `
Proves the server's application link with a signed request-token call and
records the verdict (a link made by hand is recorded as such). With a Jira
administrator's credentials it also checks that Jira has exactly the
webhook asanajira needs, and with --repair-webhook makes it so.

Exit status 1 when Jira refuses the link or the webhook is not right.
`+setupSettings)
	c := newSetupCmd(env, "jira verify", fs)
	repair := fs.Bool("repair-webhook", false, "leave exactly one sound webhook in Jira (needs a Jira administrator's credentials)")
	creds := addJiraAdminFlags(fs, "to check or repair the webhook")
	if err := c.parse(fs, args, 1, 1, "the server (id, base URL or name)"); err != nil {
		return err
	}
	admin, err := creds.read(env)
	if err != nil {
		return err
	}
	if *repair && !admin.Given() {
		return usageErrorf("--repair-webhook needs a Jira administrator's credentials")
	}
	srv, err := c.openServer(ctx)
	defer c.close()
	if err != nil {
		return err
	}
	var res serverResult
	if srv, err = c.svc.Verify(ctx, c.actor, srv.ID); err != nil {
		return err
	}
	res.Changes = append(res.Changes, "The application link works: Jira accepted a signed request-token call.")
	var hookErr error
	switch {
	case *repair:
		rep, err := c.svc.RepairWebhook(ctx, c.actor, srv.ID, admin)
		if err != nil {
			c.printPartial(res)
			return err
		}
		srv = rep.Server
		if rep.Changed {
			res.Changes = append(res.Changes, "Repaired the webhook: Jira now delivers every event asanajira needs to "+srv.WebhookURL+".")
		} else {
			res.Changes = append(res.Changes, "The webhook is registered correctly; nothing changed.")
		}
	case admin.Given():
		ok, err := c.svc.CheckWebhook(ctx, srv, admin)
		if err != nil {
			c.printPartial(res)
			return err
		}
		if ok {
			res.Changes = append(res.Changes, "The webhook is registered correctly.")
		} else {
			hookErr = fmt.Errorf("the webhook is not right: Jira should have exactly one enabled webhook to %s with every event; repair it with --repair-webhook", or(srv.WebhookURL, c.svc.PublicURL()+"/jira/webhook/"+srv.ID))
		}
	}
	res.Server = setup.ViewServer(srv)
	if err := c.out(res, func(w io.Writer) { printChanges(w, res.Changes) }); err != nil {
		return err
	}
	return hookErr
}

func runJiraRemove(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "jira remove", "SERVER [flags]", `
Removes a Jira server from asanajira with its connections, routes, users'
Jira authorizations and links. With a Jira administrator's credentials it
first removes from Jira what asanajira made there, and only that: the
application link it created and the webhook it registered; if Jira refuses,
nothing is removed. Without credentials it prints what to delete in Jira
by hand.
`+setupSettings)
	c := newSetupCmd(env, "jira remove", fs)
	creds := addJiraAdminFlags(fs, "to remove the application link and the webhook from Jira too")
	if err := c.parse(fs, args, 1, 1, "the server (id, base URL or name)"); err != nil {
		return err
	}
	admin, err := creds.read(env)
	if err != nil {
		return err
	}
	srv, err := c.openServer(ctx)
	defer c.close()
	if err != nil {
		return err
	}
	rm, err := c.svc.RemoveServer(ctx, c.actor, srv.ID, admin)
	if err != nil {
		return err
	}
	res := serverResult{Server: setup.ViewServer(rm.Server), LeftInJira: rm.LeftInJira,
		Changes: []string{fmt.Sprintf("Removed Jira server %q (%s) with its connections, routes, users' authorizations and links.", srv.Name, srv.ID)}}
	for _, u := range rm.Undone {
		res.Changes = append(res.Changes, "Removed from Jira: "+u+".")
	}
	return c.out(res, func(w io.Writer) {
		printChanges(w, res.Changes)
		for _, l := range rm.LeftInJira {
			fmt.Fprintln(w, "Also delete in Jira: "+l+".")
		}
	})
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
