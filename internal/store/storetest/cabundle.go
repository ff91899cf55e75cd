package storetest

import (
	"testing"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// samplePEM stands for a CA bundle; the store keeps it as text, unsealed.
const samplePEM = "-----BEGIN CERTIFICATE-----\nMIIBprivate-ca\n-----END CERTIFICATE-----\n"

// testJiraServerCABundle: a server's CA bundle is stored and read back by
// every query that returns servers (get, by consumer key, list, routing),
// replaced and cleared by an update, and empty by default.
func testJiraServerCABundle(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	a := SampleServer("https://private-ca.example/jira", "asanajira-ca")
	a.CABundlePEM = samplePEM
	must(t, s.CreateJiraServer(ctx, &a))
	plain := createServer(t, s, "https://public-ca.example")

	read := func(step string, want string) {
		t.Helper()
		got, err := s.GetJiraServer(ctx, a.ID)
		must(t, err)
		byKey, err := s.GetJiraServerByConsumerKey(ctx, "asanajira-ca")
		must(t, err)
		all, err := s.ListJiraServers(ctx)
		must(t, err)
		routed, err := s.RouteProject(ctx, "ca-ws", "any-project")
		must(t, err)
		bundles := map[string]string{"get": got.CABundlePEM, "by consumer key": byKey.CABundlePEM, "route": routed.CABundlePEM}
		for _, srv := range all {
			bundles["list "+srv.BaseURL] = srv.CABundlePEM
		}
		wantAll := map[string]string{"get": want, "by consumer key": want, "route": want,
			"list " + a.BaseURL: want, "list " + plain.BaseURL: ""}
		if diff := cmp.Diff(wantAll, bundles); diff != "" {
			t.Fatalf("%s: CA bundles (-want +got):\n%s", step, diff)
		}
	}
	must(t, s.PutWorkspace(ctx, store.Workspace{GID: "ca-ws", Name: "CA"}))
	must(t, s.PutConnection(ctx, store.Connection{WorkspaceGID: "ca-ws", JiraServerID: a.ID, IsDefault: true}))
	read("created", samplePEM)

	a.CABundlePEM = samplePEM + samplePEM
	must(t, s.UpdateJiraServer(ctx, &a))
	read("replaced", samplePEM+samplePEM)

	a.CABundlePEM = ""
	must(t, s.UpdateJiraServer(ctx, &a))
	read("cleared", "")
}
