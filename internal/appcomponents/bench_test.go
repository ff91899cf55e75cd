package appcomponents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/appcomponents"
	fakeasana "github.com/asanajira/asanajira/internal/fakes/asana"
	"github.com/asanajira/asanajira/internal/jira"
)

// signedGet sends a GET to the app as Asana signs it.
func signedGet(b *testing.B, client *http.Client, base, path string, params [][2]string) {
	b.Helper()
	var q []string
	for _, p := range params {
		q = append(q, url.QueryEscape(p[0])+"="+url.QueryEscape(p[1]))
	}
	q = append(q, "expires_at="+url.QueryEscape(time.Now().Add(time.Minute).UTC().Format(time.RFC3339)))
	raw := strings.Join(q, "&")
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+path+"?"+raw, nil)
	req.Header.Set(appcomponents.SignatureHeader, appcomponents.Sign("demo-secret", raw))
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d", path, resp.StatusCode)
	}
}

// BenchmarkWidget measures the widget request end to end over HTTP: from
// the cache, with a Jira round trip on every request, and, for reference,
// the same issue read directly from the Jira emulator. The bridge's own
// overhead is jira_round_trip minus direct_jira.
func BenchmarkWidget(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Hour}, {"jira_round_trip", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, envOptions{widgetTTL: bc.ttl})
			client := &http.Client{}
			params := [][2]string{{"workspace", e.seed.Workspace}, {"task", e.seed.Tasks[0].GID}, {"user", e.alice}, {"resource_url", e.jiraURL + "/browse/DEMO-2"}}
			signedGet(b, client, e.appURL, "/asana/widget", params)
			b.ResetTimer()
			for b.Loop() {
				signedGet(b, client, e.appURL, "/asana/widget", params)
			}
		})
	}
	b.Run("direct_jira", func(b *testing.B) {
		e := newEnv(b, envOptions{})
		jc, _, err := e.clients.Jira(context.Background(), e.alice, e.server.ID)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := jc.GetIssue(context.Background(), "DEMO-2", &jira.GetIssueOptions{Fields: []string{"summary", "status", "assignee", "priority", "issuetype", "duedate", "resolution", "updated", "comment"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sixtyFields answers the DEMO Task create screen with 60 fields (paged by
// 50 like Jira), in front of the emulator, which seeds only a dozen.
func sixtyFields(next http.Handler) http.Handler {
	var fields []map[string]any
	for _, id := range []string{"summary", "issuetype", "project", "description"} {
		fields = append(fields, map[string]any{"fieldId": id, "name": strings.ToUpper(id[:1]) + id[1:], "required": id != "description",
			"schema": map[string]any{"type": "string", "system": id}})
	}
	for i := range 56 {
		id := "customfield_" + strconv.Itoa(20000+i)
		f := map[string]any{"fieldId": id, "name": fmt.Sprintf("Field %d", i), "required": i%14 == 0}
		switch i % 4 {
		case 0:
			f["schema"] = map[string]any{"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield"}
		case 1:
			f["schema"] = map[string]any{"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select"}
			var opts []map[string]any
			for j := range 8 {
				opts = append(opts, map[string]any{"id": strconv.Itoa(30000 + i*10 + j), "value": fmt.Sprintf("Option %d", j)})
			}
			f["allowedValues"] = opts
		case 2:
			f["schema"] = map[string]any{"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}
		case 3:
			f["schema"] = map[string]any{"type": "date", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datepicker"}
		}
		fields = append(fields, f)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/rest/api/2/issue/createmeta/DEMO/issuetypes/10002") {
			next.ServeHTTP(w, r)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		end := min(start+50, len(fields))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"startAt": start, "maxResults": 50, "total": len(fields),
			"isLast": end == len(fields), "values": fields[start:end]})
	})
}

// BenchmarkFormMetadata60Fields measures the create form for a project
// whose create screen has 60 fields, with create metadata cached (the
// default) and read from Jira on every request.
func BenchmarkFormMetadata60Fields(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"meta_cached", time.Hour}, {"meta_from_jira", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, envOptions{metaTTL: bc.ttl, wrapJira: sixtyFields})
			client := &http.Client{}
			params := [][2]string{{"workspace", e.seed.Workspace}, {"task", e.seed.Tasks[0].GID}, {"user", e.alice}}
			signedGet(b, client, e.appURL, "/asana/form", params)
			b.ResetTimer()
			for b.Loop() {
				signedGet(b, client, e.appURL, "/asana/form", params)
			}
		})
	}
}

// TestSixtyFieldForm checks the 60-field form respects Asana's limits.
func TestSixtyFieldForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{wrapJira: sixtyFields})
	r := e.call(t, asanaFormCall(e))
	mustOK(t, r, http.StatusOK)
	f := decode[formJSON](t, r.Body)
	if n := len(f.Metadata.Fields); n > 20 {
		t.Errorf("%d fields, Asana renders at most 20", n)
	}
	for _, id := range []string{"customfield_20000", "customfield_20014", "customfield_20028", "customfield_20042"} {
		if f.field(id) == nil {
			t.Errorf("required %s missing from the form", id)
		}
	}
}

func asanaFormCall(e *env) fakeasana.AppCall {
	return fakeasana.AppCall{Kind: fakeasana.CallFormMetadata, Task: e.seed.Tasks[0].GID}
}
