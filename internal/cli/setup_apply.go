package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/asanajira/asanajira/internal/setup"
)

const applyDescription = `
Makes asanajira's setup what a setup file says: the Jira servers (URL,
name, connect address, CA bundle, sign-in methods, OAuth 2.0 client; the
application link and the webhook made or repaired with the administrator's
credentials the file refers to), the Asana workspaces by name or gid, their
connections with their sync settings, and the routes of their projects by
Asana project name or gid to Jira project keys. The README's "Configure
from code" describes the file.

It prints the plan: + adds, ~ changes, - removes. Applying a file twice
changes nothing the second time. Something the file no longer lists (a
server, a workspace, a connection, a route) is shown as a removal and
removed only with --prune. With --dry-run nothing changes: the plan is
computed from the database and, read-only, from Jira (is each application
link accepted, is the webhook right) and Asana at --asana-url (names to
gids, with the token the file's asana entry refers to).

Secrets are never in the file: it names an environment variable (…_env)
or a file (…_file, relative to the setup file) for each.
` + setupSettings + `

Exit status: 0 when the setup is as the file says (or would be, with
--dry-run), 1 when a step failed (the output says which, and what was done
before it), 2 on a usage error.`

func runApply(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet(env, "apply", "-f setup.yaml [--dry-run] [--prune] [flags]", applyDescription)
	c := newSetupCmd(env, "apply", fs)
	file := fs.String("f", "", "the setup `FILE` (YAML); required")
	dryRun := fs.Bool("dry-run", false, "print the plan and change nothing")
	prune := fs.Bool("prune", false, "also remove what the file no longer lists")
	if err := c.parse(fs, args, 0, 0, ""); err != nil {
		return err
	}
	if *file == "" {
		return usageErrorf("-f setup.yaml is required")
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read the setup file: %w", err)
	}
	f, err := setup.ParseFile(data)
	if err != nil {
		return err
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	defer c.close()
	plan, err := c.svc.Plan(ctx, f, setup.FileEnv{Dir: filepath.Dir(*file), Getenv: env.Getenv, ReadFile: os.ReadFile, AsanaURL: c.cfg.AsanaURL}, *prune)
	if err != nil {
		return err
	}
	var applyErr error
	if !*dryRun {
		applyErr = c.svc.Apply(ctx, c.actor, plan)
	}
	if err := c.out(plan, func(w io.Writer) { writePlan(w, plan, filepath.Base(*file), *dryRun, applyErr != nil) }); err != nil {
		return err
	}
	return applyErr
}

// writePlan prints a plan, or what apply did of it.
func writePlan(w io.Writer, p *setup.Plan, file string, dryRun, failed bool) {
	switch {
	case len(p.Changes) == 0:
		fmt.Fprintf(w, "No changes: the setup is what %s says.\n", file)
	case dryRun:
		fmt.Fprintf(w, "Plan for %s (a dry run: nothing was changed):\n", file)
	default:
		fmt.Fprintf(w, "Applying %s:\n", file)
	}
	counts := map[string]int{}
	left := 0
	for _, c := range p.Changes {
		suffix := ""
		switch {
		case c.PruneOnly && !p.Pruned:
			suffix = " (only with --prune)"
			left++
		case !dryRun && !c.Applied:
			suffix = " (not done)"
		default:
			counts[c.Op]++
		}
		fmt.Fprintf(w, "  %s %s%s\n", c.Op, c.What, suffix)
	}
	if len(p.Notes) > 0 {
		fmt.Fprintln(w, "Notes:")
		for _, n := range p.Notes {
			fmt.Fprintf(w, "  ! %s\n", n)
		}
	}
	if len(p.Changes) == 0 {
		return
	}
	add, change, remove := counts[setup.OpAdd], counts[setup.OpChange], counts[setup.OpRemove]
	switch {
	case failed:
		fmt.Fprintf(w, "Stopped after %d added, %d changed, %d removed; the error below says what failed.", add, change, remove)
	case dryRun:
		fmt.Fprintf(w, "Plan: %d to add, %d to change, %d to remove.", add, change, remove)
	default:
		fmt.Fprintf(w, "Done: %d added, %d changed, %d removed.", add, change, remove)
	}
	if left > 0 {
		fmt.Fprintf(w, " %d removal(s) left for --prune.", left)
	}
	fmt.Fprintln(w)
}
