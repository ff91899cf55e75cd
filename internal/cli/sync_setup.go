package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// The sync commands that set a connection up: its two-way sync settings
// and field mapping, through the setup service, as the console's Sync and
// Fields pages, the admin API and an apply file's sync: block do.

const syncUsage = `Usage: asanajira sync show|set|fields|resync [flags]

Two-way sync of a connection (a workspace and a Jira server):
  show   --workspace W --server S [--project GID]   its settings and field mapping
  set    --workspace W --server S [--enabled] [--comments] [--completion]
         [--done-transition NAME] [--reopen-transition NAME]
         change its settings (a flag left out keeps its value)
  fields --workspace W --server S [--project GID] [--field NAME=DIRECTION]...
         [--status-section STATUS=SECTION]... [--user EMAIL=JIRA_USER]...
         [--domain-alias ASANA_DOMAIN=JIRA_DOMAIN]... [--remove]
         change its field mapping, or a routed project's own
  resync --link ID | --project GID                  apply the mapping to existing links

Run 'asanajira sync <sub> --help'.`

func runSync(ctx context.Context, args []string, env Env) error {
	return subcommand(ctx, "sync", args, env, map[string]func(context.Context, []string, Env) error{
		"show": runSyncShow, "set": runSyncSet, "fields": runSyncFields, "resync": runSyncResync,
	}, syncUsage)
}

// connectionFlags declares --workspace and --server, both required.
func connectionFlags(fs *flag.FlagSet) (wsRef, srvRef *string) {
	return fs.String("workspace", "", "the workspace's `gid or name`; required"),
		fs.String("server", "", "the Jira server's `id, base URL or name`; required")
}

// openConnection opens the setup service and finds the connection's
// workspace and server.
func (c *setupCmd) openConnection(ctx context.Context, wsRef, srvRef string) (store.Workspace, store.JiraServer, error) {
	if wsRef == "" || srvRef == "" {
		return store.Workspace{}, store.JiraServer{}, usageErrorf("--workspace and --server are required")
	}
	if err := c.open(ctx); err != nil {
		return store.Workspace{}, store.JiraServer{}, err
	}
	return c.find(ctx, wsRef, srvRef)
}

// syncShown is what sync show prints with --json.
type syncShown struct {
	Sync    setup.SyncView         `json:"sync"`
	Fields  setup.FieldMappingView `json:"fields"`
	Project string                 `json:"project,omitempty"`
}

func runSyncShow(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "sync show", "--workspace W --server S [--project GID] [flags]", `
Shows a connection's two-way sync settings and its field mapping: every
field with its direction, the status → section table, user pairs and
domain aliases. With --project, the routed project's own mapping (or the
connection's, which it follows until it has one).
`+setupSettings)
	c := newSetupCmd(env, "sync show", fs)
	wsRef, srvRef := connectionFlags(fs)
	project := fs.String("project", "", "a routed Asana project's `gid`")
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	ws, srv, err := c.openConnection(ctx, *wsRef, *srvRef)
	defer c.close() // after a failed open too: close does nothing then
	if err != nil {
		return err
	}
	set, err := c.svc.ConnectionSync(ctx, ws.GID, srv.ID)
	if err != nil {
		return err
	}
	m, saved, err := c.svc.FieldMapping(ctx, ws.GID, srv.ID, *project)
	if err != nil {
		return err
	}
	res := syncShown{Sync: setup.ViewSync(set), Fields: setup.ViewFieldMapping(m, saved), Project: *project}
	return c.out(res, func(w io.Writer) { printSync(w, ws, srv, *project, set, m, saved) })
}

func printSync(w io.Writer, ws store.Workspace, srv store.JiraServer, project string, set store.SyncSettings, m syncengine.Mapping, saved bool) {
	onOff := map[bool]string{true: "on", false: "off"}
	fmt.Fprintf(w, "Two-way sync of workspace %q with %q: %s (comments %s, completion %s).\n", ws.Name, srv.Name,
		onOff[set.Enabled], onOff[set.Comments], onOff[set.Completion])
	if set.DoneTransition != "" || set.ReopenTransition != "" {
		name := func(s string) string {
			if s == "" {
				return "the first that fits"
			}
			return strconv.Quote(s)
		}
		fmt.Fprintf(w, "Transitions: done by %s, reopen by %s.\n", name(set.DoneTransition), name(set.ReopenTransition))
	}
	switch {
	case project != "" && saved:
		fmt.Fprintf(w, "Project %s has its own field mapping:\n", project)
	case project != "":
		fmt.Fprintf(w, "Project %s follows the connection's field mapping:\n", project)
	case saved:
		fmt.Fprintln(w, "Field mapping:")
	default:
		fmt.Fprintln(w, "No field mapping is saved, so fields do not sync; the defaults a save starts from:")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  FIELD\tDIRECTION")
	for _, f := range syncengine.Fields {
		fmt.Fprintf(tw, "  %s\t%s\n", f, m.Direction(f))
	}
	_ = tw.Flush() // writes to a buffer or the terminal
	for _, s := range m.StatusSections {
		fmt.Fprintf(w, "  status %q → section %q\n", s.Status, s.Section)
	}
	for _, u := range m.Users {
		fmt.Fprintf(w, "  user %s = Jira user %s\n", u.AsanaEmail, u.JiraUser)
	}
	for _, a := range m.DomainAliases {
		fmt.Fprintf(w, "  domain %s = %s\n", a.Asana, a.Jira)
	}
}

func runSyncSet(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "sync set", "--workspace W --server S [settings] [flags]", `
Changes a connection's two-way sync settings; a setting not given keeps its
value (until first saved: off, comments and completion on). Switching sync
on starts it from now: comments written before are never mirrored.
`+setupSettings)
	c := newSetupCmd(env, "sync set", fs)
	wsRef, srvRef := connectionFlags(fs)
	enabled := fs.Bool("enabled", false, "sync the connection's links (--enabled=false stops)")
	comments := fs.Bool("comments", true, "mirror comments both ways")
	completion := fs.Bool("completion", true, "sync completion with the issue's status category")
	done := fs.String("done-transition", "", "the Jira transition to take when several lead to a done status (`name`; empty: the first)")
	reopen := fs.String("reopen-transition", "", "the transition to take when reopening (`name`; empty: the first)")
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	ws, srv, err := c.openConnection(ctx, *wsRef, *srvRef)
	defer c.close() // after a failed open too: close does nothing then
	if err != nil {
		return err
	}
	set, err := c.svc.ConnectionSync(ctx, ws.GID, srv.ID)
	if err != nil {
		return err
	}
	for name, apply := range map[string]func(){
		"enabled": func() { set.Enabled = *enabled }, "comments": func() { set.Comments = *comments },
		"completion": func() { set.Completion = *completion }, "done-transition": func() { set.DoneTransition = *done },
		"reopen-transition": func() { set.ReopenTransition = *reopen },
	} {
		if given[name] {
			apply()
		}
	}
	changed, err := c.svc.SetConnectionSync(ctx, c.actor, set)
	if err != nil {
		return err
	}
	res := changeResult{Changes: []string{}}
	if changed {
		res.Changes = append(res.Changes, fmt.Sprintf("Saved the sync settings of workspace %q with %q: %s.", ws.Name, srv.Name, setup.DescribeSync(set)))
	}
	return c.out(res, func(w io.Writer) { printChanges(w, res.Changes) })
}

// pairsFlag collects repeated NAME=VALUE flags.
type pairsFlag struct {
	given bool
	pairs [][2]string
}

func (p *pairsFlag) String() string { return "" }

func (p *pairsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	p.given = true
	p.pairs = append(p.pairs, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	return nil
}

func runSyncFields(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "sync fields", "--workspace W --server S [--project GID] [mapping flags] [flags]", `
Changes the field mapping of a connection, or with --project a routed
project's own (which starts from the connection's). It starts from the
mapping saved there (or the defaults): each --field sets one field's
direction (off, jira_to_asana, asana_to_jira or both; status and priority
only off or jira_to_asana), the fields being
`+strings.Join(syncengine.Fields, ", ")+`;
--status-section, --user and --domain-alias, when given, replace that
whole list. A connection's first mapping turns field sync on for its links;
'asanajira sync resync' applies a changed mapping to existing links.
--remove removes the mapping instead (a project follows the connection's
again; a connection's fields stop syncing).
`+setupSettings)
	c := newSetupCmd(env, "sync fields", fs)
	wsRef, srvRef := connectionFlags(fs)
	project := fs.String("project", "", "a routed Asana project's `gid`: its own mapping")
	var fields, sections, users, aliases pairsFlag
	fs.Var(&fields, "field", "a field's direction, `NAME=DIRECTION` (repeat for more)")
	fs.Var(&sections, "status-section", "a Jira status and its section, `STATUS=SECTION` (repeat; replaces the table)")
	fs.Var(&users, "user", "an Asana e-mail and its Jira user name, `EMAIL=JIRA_USER` (repeat; replaces the pairs)")
	fs.Var(&aliases, "domain-alias", "e-mail domains of the same people, `ASANA_DOMAIN=JIRA_DOMAIN` (repeat; replaces the aliases)")
	remove := fs.Bool("remove", false, "remove the mapping instead")
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	if *remove && (fields.given || sections.given || users.given || aliases.given) {
		return usageErrorf("--remove takes no mapping flags")
	}
	ws, srv, err := c.openConnection(ctx, *wsRef, *srvRef)
	defer c.close() // after a failed open too: close does nothing then
	if err != nil {
		return err
	}
	where := fmt.Sprintf("workspace %q with %q", ws.Name, srv.Name)
	if *project != "" {
		where = fmt.Sprintf("project %s (workspace %q with %q)", *project, ws.Name, srv.Name)
	}
	res := changeResult{Changes: []string{}}
	if *remove {
		if err := c.svc.RemoveFieldMapping(ctx, c.actor, ws.GID, srv.ID, *project); err != nil {
			return err
		}
		res.Changes = append(res.Changes, "Removed the field mapping of "+where+".")
		return c.out(res, func(w io.Writer) { printChanges(w, res.Changes) })
	}
	m, _, err := c.svc.FieldMapping(ctx, ws.GID, srv.ID, *project)
	if err != nil {
		return err
	}
	m.Fields = m.Directions()
	for _, p := range fields.pairs {
		m.Fields[p[0]] = syncengine.Direction(p[1])
	}
	if sections.given {
		m.StatusSections = nil
		for _, p := range sections.pairs {
			m.StatusSections = append(m.StatusSections, syncengine.StatusSection{Status: p[0], Section: p[1]})
		}
	}
	if users.given {
		m.Users = nil
		for _, p := range users.pairs {
			m.Users = append(m.Users, syncengine.UserPair{AsanaEmail: p[0], JiraUser: p[1]})
		}
	}
	if aliases.given {
		m.DomainAliases = nil
		for _, p := range aliases.pairs {
			m.DomainAliases = append(m.DomainAliases, syncengine.DomainAlias{Asana: p[0], Jira: p[1]})
		}
	}
	changed, err := c.svc.SetFieldMapping(ctx, c.actor, ws.GID, srv.ID, *project, m)
	if err != nil {
		return err
	}
	if changed {
		res.Changes = append(res.Changes, "Saved the field mapping of "+where+".")
	}
	return c.out(res, func(w io.Writer) { printChanges(w, res.Changes) })
}
