package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/asanajira/asanajira/internal/setup"
	"github.com/asanajira/asanajira/internal/store"
)

const workspaceUsage = `Usage: asanajira workspace add|list [flags]

  add GID   add an Asana workspace by its gid (--name names it), or rename one
  list      the workspaces asanajira serves, with their connections and routes

Run 'asanajira workspace <sub> --help'.`

func runWorkspace(ctx context.Context, args []string, env Env) error {
	return subcommand(ctx, "workspace", args, env, map[string]func(context.Context, []string, Env) error{
		"add": runWorkspaceAdd, "list": runWorkspaceList,
	}, workspaceUsage)
}

// changeResult is what the routing commands print with --json.
type changeResult struct {
	Changes []string `json:"changes"`
}

func runWorkspaceAdd(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "workspace add", "GID [flags]", `
Adds the Asana workspace with this gid (the number in the workspace's
URLs), or renames it when asanajira knows it already. Connect it to a Jira
server with 'asanajira route set'.
`+setupSettings)
	c := newSetupCmd(env, "workspace add", fs)
	name := fs.String("name", "", "the workspace's name (default \"Workspace <gid>\")")
	if err := c.parse(fs, args, 1, 1, "the workspace's gid"); err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	ws, changed, err := c.svc.AddWorkspace(ctx, c.actor, c.arg(0), *name)
	if err != nil {
		return err
	}
	res := struct {
		changeResult
		Workspace setup.WorkspaceView `json:"workspace"`
	}{changeResult{Changes: []string{}}, setup.ViewWorkspace(ws)}
	if changed {
		res.Changes = append(res.Changes, fmt.Sprintf("Saved workspace %q (%s).", ws.Name, ws.GID))
	}
	return c.out(res, func(w io.Writer) { printChanges(w, res.Changes) })
}

func runWorkspaceList(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "workspace list", "[flags]", "Lists the Asana workspaces asanajira serves, with their connections and project routes.\n"+setupSettings)
	c := newSetupCmd(env, "workspace list", fs)
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	return c.listRouting(ctx, "")
}

const routeUsage = `Usage: asanajira route set|list|remove [flags]

Which Jira server an Asana project's issues go to:
  set --workspace W --server S [--default]   connect a workspace to a server
      (--default: the server of every project without a route of its own)
  set --workspace W --server S --project GID [--jira-project KEY]
      route one Asana project to the server (connecting the workspace first
      when needed), optionally preselecting a Jira project
  list [--workspace W]                        connections and project routes
  remove --workspace W --project GID          the project follows the default again
  remove --workspace W --server S             disconnect the workspace from the server

W is a workspace's gid or name, S a server's id, base URL or name. Run
'asanajira route <sub> --help'.`

func runRoute(ctx context.Context, args []string, env Env) error {
	return subcommand(ctx, "route", args, env, map[string]func(context.Context, []string, Env) error{
		"set": runRouteSet, "list": runRouteList, "remove": runRouteRemove,
	}, routeUsage)
}

func runRouteSet(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "route set", "--workspace W --server S [--default | --project GID [--jira-project KEY]] [flags]", `
Without --project, connects the workspace to the Jira server; --default
makes that server the route of every project of the workspace without a
route of its own (and the workspace's other connections not default).
With --project, routes that Asana project (its gid) to the server,
connecting the workspace to it first when needed; --jira-project
preselects a Jira project on the create form.
`+setupSettings)
	c := newSetupCmd(env, "route set", fs)
	wsRef := fs.String("workspace", "", "the workspace's `gid or name`; required")
	srvRef := fs.String("server", "", "the Jira server's `id, base URL or name`; required")
	isDefault := fs.Bool("default", false, "make the server the workspace's default")
	project := fs.String("project", "", "the Asana project's `gid`")
	key := fs.String("jira-project", "", "Jira project `KEY` to preselect (with --project)")
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	switch {
	case *wsRef == "" || *srvRef == "":
		return usageErrorf("--workspace and --server are required")
	case *project != "" && *isDefault:
		return usageErrorf("--default is about the workspace's connection; a route with --project is per project")
	case *project == "" && *key != "":
		return usageErrorf("--jira-project needs --project")
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	ws, srv, err := c.find(ctx, *wsRef, *srvRef)
	if err != nil {
		return err
	}
	res := changeResult{Changes: []string{}}
	conns, err := c.svc.Connections(ctx)
	if err != nil {
		return err
	}
	connected := false
	for _, cn := range conns {
		connected = connected || (cn.WorkspaceGID == ws.GID && cn.JiraServerID == srv.ID)
	}
	if *project == "" || !connected {
		changed, err := c.svc.Connect(ctx, c.actor, ws.GID, srv.ID, *isDefault)
		if err != nil {
			return err
		}
		if changed {
			line := fmt.Sprintf("Connected workspace %q to %q", ws.Name, srv.Name)
			if *isDefault {
				line += ", the default for its projects"
			}
			res.Changes = append(res.Changes, line+".")
		}
	}
	if *project != "" {
		changed, err := c.svc.SetRoute(ctx, c.actor, store.ProjectRoute{WorkspaceGID: ws.GID, ProjectGID: *project, JiraServerID: srv.ID, JiraProjectKey: *key})
		if err != nil {
			c.printPartialChanges(res)
			return err
		}
		if changed {
			res.Changes = append(res.Changes, fmt.Sprintf("Routed %s of workspace %q.", setup.RouteDetail(*project, srv.Name, strings.ToUpper(*key)), ws.Name))
		}
	}
	return c.out(res, func(w io.Writer) { printChanges(w, res.Changes) })
}

func (c *setupCmd) printPartialChanges(res changeResult) {
	if !c.json && len(res.Changes) > 0 {
		printChanges(c.env.Stdout, res.Changes)
	}
}

// find resolves a workspace and a server named by a person.
func (c *setupCmd) find(ctx context.Context, wsRef, srvRef string) (store.Workspace, store.JiraServer, error) {
	ws, err := c.svc.FindWorkspace(ctx, wsRef)
	if err != nil {
		return ws, store.JiraServer{}, err
	}
	srv, err := c.svc.FindServer(ctx, srvRef)
	return ws, srv, err
}

func runRouteList(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "route list", "[--workspace W] [flags]", "Lists the workspaces' connections to Jira servers and their project routes.\n"+setupSettings)
	c := newSetupCmd(env, "route list", fs)
	wsRef := fs.String("workspace", "", "only this workspace (`gid or name`)")
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	return c.listRouting(ctx, *wsRef)
}

// listRouting prints the workspaces with their connections and routes.
func (c *setupCmd) listRouting(ctx context.Context, wsRef string) error {
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	o, err := c.svc.Overview(ctx)
	if err != nil {
		return err
	}
	if wsRef != "" {
		ws, err := c.svc.FindWorkspace(ctx, wsRef)
		if err != nil {
			return err
		}
		var keep []setup.WorkspaceSummary
		for _, w := range o.Workspaces {
			if w.Workspace.GID == ws.GID {
				keep = append(keep, w)
			}
		}
		o.Workspaces = keep
	}
	v := setup.ViewRouting(o)
	return c.out(v, func(w io.Writer) {
		if len(o.Workspaces) == 0 {
			fmt.Fprintln(w, "No workspace yet: add one with 'asanajira workspace add GID --name NAME'.")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "WORKSPACE\tGID\tPROJECT\tJIRA SERVER\tJIRA PROJECT")
		for _, ws := range o.Workspaces {
			if len(ws.Connections)+len(ws.Routes) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t\tnot connected\t\n", ws.Workspace.Name, ws.Workspace.GID)
			}
			for _, cn := range ws.Connections {
				project := "(other projects)"
				if !cn.IsDefault {
					project = "(by route only)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", ws.Workspace.Name, ws.Workspace.GID, project, cn.ServerName)
			}
			for _, r := range ws.Routes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ws.Workspace.Name, ws.Workspace.GID, r.Route.ProjectGID, r.ServerName, or(r.Route.JiraProjectKey, "any"))
			}
		}
		_ = tw.Flush() // writes to a buffer or the terminal
	})
}

func runRouteRemove(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "route remove", "--workspace W (--project GID | --server S) [flags]", `
With --project, removes the project's route: the project follows the
workspace's default again. With --server, disconnects the workspace from
the server.
`+setupSettings)
	c := newSetupCmd(env, "route remove", fs)
	wsRef := fs.String("workspace", "", "the workspace's `gid or name`; required")
	project := fs.String("project", "", "the Asana project's `gid`")
	srvRef := fs.String("server", "", "the Jira server's `id, base URL or name`")
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	if *wsRef == "" || (*project == "") == (*srvRef == "") {
		return usageErrorf("give --workspace and either --project or --server")
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	ws, err := c.svc.FindWorkspace(ctx, *wsRef)
	if err != nil {
		return err
	}
	res := changeResult{}
	if *project != "" {
		if err := c.svc.RemoveRoute(ctx, c.actor, ws.GID, *project); err != nil {
			return err
		}
		res.Changes = []string{fmt.Sprintf("Removed the route of project %s of workspace %q; it follows the workspace's default again.", *project, ws.Name)}
	} else {
		srv, err := c.svc.FindServer(ctx, *srvRef)
		if err != nil {
			return err
		}
		if err := c.svc.Disconnect(ctx, c.actor, ws.GID, srv.ID); err != nil {
			return err
		}
		res.Changes = []string{fmt.Sprintf("Disconnected workspace %q from %q.", ws.Name, srv.Name)}
	}
	return c.out(res, func(w io.Writer) { printChanges(w, res.Changes) })
}
