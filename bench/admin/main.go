// Command admin measures the admin console's pages on a small installation
// and on one the scale generator filled (-scale-sizes), side by side: both
// worlds run at once, and each page is read from one and then the other,
// alternating, so that machine noise falls on both alike. The small world
// is filled too (-small-sizes), a page of rows in every list, so both sides
// render full pages and the comparison shows what grows with the
// installation, not the rendering of fifty rows against none. It prints one
// line per page:
//
//	bench=admin db=sqlite page=links path=/admin/links n=… small_p50_ms=… scale_p50_ms=… scale_ratio=… small_kib=… scale_kib=…
//
// scale_ratio is scale_p50_ms / small_p50_ms (issue 14's goal: at most
// 1.5). The pages: Links (first page, a search by issue key, a server's),
// Users (first page, a search by name), Jobs, Audit (first page, one
// action), Connections (first page, a search by name), a workspace's
// connect page, Sync, a syncing connection's sync page (the generator's
// first) and the demo server's page.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench admin:", err)
		os.Exit(1)
	}
}

// defaultSmall fills each list with more than a page (the console shows 50
// rows a page; the Connections and Sync pages 50 workspaces): a quarter of
// the audit entries are of the action the filtered page asks for, and a
// hundredth of the jobs failed. As many connections sync as in the large
// world (they share the first page of the Sync page), each with a page of
// links showing an error (one in four).
const defaultSmall = "workspaces=60,servers=2,users=60,links=60,audit=240,jobs=6000,syncing=10,synced_links=2000"

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	var f harness.Flags
	f.Register(fs)
	n := fs.Int("n", 50, "reads of each page from each world")
	smallSizes := fs.String("small-sizes", defaultSmall, "what the small world adds to the demo's data (-scale-sizes for the large one)")
	only := fs.String("pages", "", "measure only these pages, by name, comma-separated (default: every page)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.Scale = true // the large world is the point
	big, err := f.Sizes()
	if err != nil {
		return err
	}
	small, err := harness.ParseSizes(*smallSizes)
	if err != nil {
		return err
	}
	worlds := make([]*harness.World, 2)
	clients := make([]*http.Client, 2)
	for i, sizes := range []*harness.Sizes{&small, big} {
		opts := f.Options()
		opts.Scale = sizes
		w, err := harness.Start(ctx, opts)
		if err != nil {
			return err
		}
		defer w.Close()
		if clients[i], err = w.AdminClient(ctx); err != nil {
			return err
		}
		worlds[i] = w
	}
	prof, err := f.StartProfiles()
	if err != nil {
		return err
	}
	defer prof.Stop() //nolint:errcheck // stopped below; this covers the error paths
	for _, p := range pages(worlds[0]) {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), p.name) {
			continue
		}
		read := func(i int) func(ctx context.Context, _ int) error {
			return func(ctx context.Context, _ int) error {
				_, err := worlds[i].AdminPage(ctx, clients[i], p.path(worlds[i]))
				return err
			}
		}
		// Warm both (templates, the first read of each table). A page
		// that fails (a minute's timeout) is reported, and the others
		// still measured.
		sizes := [2]int{}
		var failed error
		for i := range worlds {
			start := time.Now()
			body, err := worlds[i].AdminPage(ctx, clients[i], p.path(worlds[i]))
			if err != nil {
				failed = fmt.Errorf("%s world after %v: %w", [2]string{"small", "scale"}[i], time.Since(start).Round(time.Second), err)
				break
			}
			sizes[i] = len(body)
		}
		if failed != nil {
			if _, err := fmt.Fprintln(out, harness.Line("bench", "admin", "db", worlds[0].Database, "page", p.name, "path", p.path(worlds[1]),
				"failed", fmt.Sprintf("%q", failed.Error()))); err != nil {
				return err
			}
			continue
		}
		a, b, err := harness.Pairs(ctx, 1, *n, read(0), read(1))
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if _, err := fmt.Fprintln(out, harness.Line("bench", "admin", "db", worlds[0].Database, "page", p.name, "path", p.path(worlds[1]),
			"n", *n, "small_p50_ms", a.P50, "scale_p50_ms", b.P50, "scale_ratio", float64(b.P50)/float64(a.P50),
			"small_kib", float64(sizes[0])/1024, "scale_kib", float64(sizes[1])/1024)); err != nil {
			return err
		}
	}
	return prof.Stop()
}

type page struct {
	name string
	path func(w *harness.World) string
}

func fixed(name, path string) page {
	return page{name, func(*harness.World) string { return path }}
}

// pages are the console's pages that list what grows with the
// installation. The searches name records both worlds have: the
// generator's link 1 is SC01-2 whenever there are two servers or more.
func pages(*harness.World) []page {
	return []page{
		fixed("links", "/admin/links"),
		fixed("links_search", "/admin/links?q=SC01-2"),
		{"links_server", func(w *harness.World) string { return "/admin/links?server=" + w.Server.ID }},
		fixed("users", "/admin/users"),
		fixed("users_search", "/admin/users?q=Scale+user+00042"),
		fixed("jobs", "/admin/jobs"),
		fixed("audit", "/admin/audit"),
		fixed("audit_action", "/admin/audit?action=server.verify"),
		fixed("connections", "/admin/connections"),
		fixed("connections_search", "/admin/connections?q=Scale+workspace+0004"),
		{"workspace_connect", func(w *harness.World) string { return "/admin/workspaces/" + w.Seed.Workspace + "/connect" }},
		{"server", func(w *harness.World) string { return "/admin/servers/" + w.Server.ID }},
		fixed("sync", "/admin/sync"),
		{"sync_connection", func(w *harness.World) string {
			if c := w.Filled.Synced; c.WorkspaceGID != "" {
				return "/admin/sync/" + c.WorkspaceGID + "/" + c.JiraServerID
			}
			return "/admin/sync/" + w.Seed.Workspace + "/" + w.Server.ID // no generated connection syncs
		}},
	}
}
