package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/syncengine"
)

func runSyncResync(ctx context.Context, args []string, env Env) error {
	var (
		linkID      int64
		project     string
		concurrency int
		restart     bool
	)
	cfg, err := serverFlags(env, "sync resync", "--link ID | --project GID [flags]", `
Applies the current field mapping to existing links, for a field newly
enabled: a field whose two sides differ is made to agree (the source of its
direction wins; for a field synced both ways, Jira's value unless Jira has
none), as a sync run would, with the same notes, echoes and exactly-once
writes. Comments and completion are synced too. Runs against the database of
a server (stopped or running) with its configuration. A project's links are
resynced a few at a time (--concurrency) with a line per link and a progress
bar; interrupted, the same command resumes after the links it finished
(--restart starts over). Exits non-zero when a link could not be resynced.`, args, func(fs *flag.FlagSet) {
		fs.Int64Var(&linkID, "link", 0, "resync one link, by its id (the console's Links page)")
		fs.StringVar(&project, "project", "", "resync every link whose task is in this routed Asana project (gid)")
		fs.IntVar(&concurrency, "concurrency", 4, "links resynced at once")
		fs.BoolVar(&restart, "restart", false, "ignore an interrupted resync's progress and start over")
	})
	if err != nil {
		return err
	}
	if (linkID == 0) == (project == "") {
		return usageErrorf("give exactly one of --link or --project")
	}
	if concurrency < 1 || concurrency > 32 {
		return usageErrorf("--concurrency must be between 1 and 32")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	a, err := app.New(ctx, cfg, newLogger(env.Stderr, cfg))
	if err != nil {
		return err
	}
	defer a.Close()
	eng := a.Sync()
	ids, name := []int64{linkID}, fmt.Sprintf("link:%d", linkID)
	if project != "" {
		name = "project:" + project
		if ids, err = eng.ProjectLinks(ctx, project); err != nil {
			return err
		}
		if len(ids) == 0 {
			fmt.Fprintf(env.Stdout, "No links: no task of project %s is linked to a Jira issue.\n", project)
			return nil
		}
	}
	failed, err := eng.ResyncLinks(ctx, name, ids, concurrency, restart, func(p syncengine.ResyncProgress) {
		status := fmt.Sprintf("%d write(s)", p.Result.Writes)
		if p.Err != nil {
			status = "failed: " + p.Err.Error()
		}
		fmt.Fprintf(env.Stdout, "%s %d/%d link %d: %s\n", bar(p.Done, p.Total), p.Done, p.Total, p.LinkID, status)
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d link(s) could not be resynced; run the command again to retry them", failed, len(ids))
	}
	fmt.Fprintf(env.Stdout, "Resynced %d link(s).\n", len(ids))
	return nil
}

// bar is a 20-character progress bar.
func bar(done, total int) string {
	if total <= 0 {
		return "[" + strings.Repeat(" ", 20) + "]"
	}
	n := min(20, done*20/total)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", 20-n) + "]"
}
