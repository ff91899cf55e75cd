package harness

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/postgres/pgtest"
)

func TestParseSizes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    Sizes
		wantErr bool
	}{
		{in: FullScale.String(), want: FullScale},
		{in: "", want: FullScale},
		{in: "links=10, users=3", want: Sizes{Workspaces: 1000, Servers: 50, Users: 3, Links: 10, Audit: 100000, Jobs: 50000,
			Syncing: 10, SyncedLinks: 20000}},
		{in: "workspaces=2,servers=1,users=0,links=0,audit=0,jobs=0,syncing=0,synced_links=0", want: Sizes{Workspaces: 2, Servers: 1}},
		{in: "workspaces=2,syncing=3", wantErr: true},   // one syncing connection a workspace at most
		{in: "syncing=0,synced_links=5", wantErr: true}, // synced links need a syncing connection
		{in: "tasks=3", wantErr: true},
		{in: "links=-1", wantErr: true},
		{in: "links", wantErr: true},
		{in: "servers=0", wantErr: true}, // the workspaces, users and links need one
	} {
		got, err := ParseSizes(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseSizes(%q): error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); !tc.wantErr && diff != "" {
			t.Errorf("ParseSizes(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestFill fills a world with small sizes on both databases and reads the
// generated records back through the store: the secrets open with the
// bridge's key, and the links page like any other.
func TestFill(t *testing.T) {
	t.Parallel()
	sizes := Sizes{Workspaces: 6, Servers: 4, Users: 9, Links: 250, Audit: 30, Jobs: 200, Syncing: 2, SyncedLinks: 40}
	for _, db := range []string{SQLite, Postgres} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			opts := Options{Database: db, Scale: &sizes}
			if db == Postgres {
				opts.PostgresURL = pgtest.URL(t)
			}
			w, err := Start(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if w.Filled == nil || w.Filled.Sizes != sizes {
				t.Fatalf("Filled = %+v, want the sizes %+v", w.Filled, sizes)
			}
			st := w.App.Store()
			ctx := t.Context()
			servers, err := st.ListJiraServers(ctx)
			if err != nil || len(servers) != sizes.Servers+1 {
				t.Fatalf("%d servers (%v), want the demo's and %d", len(servers), err, sizes.Servers)
			}
			u, err := st.GetAsanaUser(ctx, ScaleUser(8))
			if err != nil || u.AccessToken.Reveal() != "scale-asana-access-8" {
				t.Errorf("user 8: %+v, %v: want its sealed token opened", u, err)
			}
			var cred store.JiraCredential
			for _, s := range servers {
				if c, err := st.GetJiraCredential(ctx, ScaleUser(5), s.ID); err == nil {
					cred = c
				}
			}
			if cred.AccessToken.Reveal() != "scale-pat-5" || cred.Method != store.AuthPAT {
				t.Errorf("user 5's Jira credential: %+v", cred)
			}
			page, err := st.ListLinks(ctx, store.LinkFilter{Limit: 100})
			if err != nil || len(page) != 100 || page[0].TaskGID != "1700000000000289" {
				t.Fatalf("first links page: %d links, %v; want 100, newest first", len(page), err)
			}
			byKey, err := st.ListLinks(ctx, store.LinkFilter{Query: page[0].IssueKey})
			if err != nil || len(byKey) != 1 {
				t.Errorf("links of %s: %d, %v", page[0].IssueKey, len(byKey), err)
			}
			audit, err := st.ListAudit(ctx, store.AuditFilter{Limit: 500})
			if err != nil || len(audit) < sizes.Audit {
				t.Errorf("audit: %d entries, %v; want at least %d", len(audit), err, sizes.Audit)
			}
			// The first syncing connection: 20 synced links besides its
			// share of the others, a quarter of them showing an error, two
			// changes a side, the last of each pending on the links whose
			// id ends in 0.
			set, err := st.GetSyncSettings(ctx, w.Filled.Synced.WorkspaceGID, w.Filled.Synced.JiraServerID)
			if err != nil || !set.Enabled {
				t.Errorf("settings of the first syncing connection: %+v, %v", set, err)
			}
			status, err := st.SyncConnectionStatus(ctx, w.Filled.Synced.WorkspaceGID, w.Filled.Synced.JiraServerID, "resync")
			if err != nil {
				t.Fatal(err)
			}
			synced, err := st.ListSyncedLinks(ctx, w.Filled.Synced.JiraServerID)
			if err != nil {
				t.Fatal(err)
			}
			var wantErrors, wantPending int
			for _, l := range synced {
				if l.WorkspaceGID == w.Filled.Synced.WorkspaceGID && l.TaskGID >= strconv.Itoa(scaleTaskBase+sizes.Links) {
					wantErrors += b2i(l.ID%4 == 0)
					wantPending += b2i(l.ID%10 == 0)
				}
			}
			wantLinks := 20 + (sizes.Links+sizes.Workspaces-1)/sizes.Workspaces
			if status.Links != wantLinks || status.Errors != wantErrors || status.LastSyncedAt.IsZero() ||
				status.Jira.Pending != wantPending || status.Asana.Pending != wantPending ||
				status.Jira.Last.ID == 0 || status.Asana.Last.ID == 0 || (wantPending > 0) != (status.Jira.Oldest.ID != 0) {
				t.Errorf("status of the first syncing connection: %+v; want %d links, %d errors, %d pending a side", status, wantLinks, wantErrors,
					wantPending)
			}
			var jobs, failed int
			if err := st.DB().QueryRowContext(ctx, `SELECT count(*), count(CASE WHEN state = 'discarded' THEN 1 END) FROM river_job
				WHERE kind IN ('copy_attachments', 'apply_jira_event')`).Scan(&jobs, &failed); err != nil || jobs != sizes.Jobs || failed != 2 {
				t.Errorf("jobs: %d of which %d discarded, %v; want %d of which 2", jobs, failed, err, sizes.Jobs)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
