package jirawebhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// commentDelivery is the recorded issue_commented delivery, told of the
// comment commentID on the issue issueID.
func commentDelivery(t *testing.T, issueID string, commentID int) []byte {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(fixtureBody(t, "webhook-server-issue-updated-commented-1.json"), &v); err != nil {
		t.Fatal(err)
	}
	v["issue"].(map[string]any)["id"] = issueID
	v["comment"].(map[string]any)["id"] = fmt.Sprint(commentID)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// holdDeliveries takes the lock every store of deliveries needs (SQLite:
// the one write connection; PostgreSQL: the table) until the returned
// function is called.
func holdDeliveries(t *testing.T, f fixture) (release func()) {
	t.Helper()
	held, done, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- f.st.InTx(context.WithoutCancel(t.Context()), func(tx store.Tx) error {
			if f.st.Dialect() == "postgres" {
				if _, err := tx.SQL().ExecContext(t.Context(), `LOCK TABLE jira_deliveries IN EXCLUSIVE MODE`); err != nil {
					return err
				}
			}
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	return func() {
		close(done)
		if err := <-ended; err != nil {
			t.Error(err)
		}
	}
}

// until waits for cond on the committer's state.
func until(c *committer, cond func(waiting, committing int) bool) {
	for {
		c.mu.Lock()
		ok := cond(len(c.waiting), c.committing)
		c.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

// answer is how the receiver answered one delivery, and whether it was
// stored by then.
type answer struct {
	status int
	body   string
	stored bool
}

// sendBatches posts the first deliveries one at a time, each leading a
// batch of its own that waits for the lock (as many as may commit at
// once), then the rest while those wait, so the rest make one batch; it
// returns the answers in the order of bodies.
func sendBatches(t *testing.T, f fixture, bodies [][]byte) []answer {
	t.Helper()
	release := holdDeliveries(t, f)
	answers := make([]answer, len(bodies))
	var wg sync.WaitGroup
	send := func(i int) {
		wg.Go(func() {
			b := bodies[i]
			rec := post(f, t, "/jira/webhook/"+f.server, b, map[string]string{"X-Hub-Signature": sign(b, secret)})
			s, err := jira.ParseWebhookSummary(b)
			if err != nil {
				t.Error(err)
				return
			}
			var n int
			if err := f.st.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM jira_deliveries WHERE dedup_key = $1`,
				deliveryKey(s)).Scan(&n); err != nil {
				t.Error(err)
			}
			answers[i] = answer{status: rec.Code, body: rec.Body.String(), stored: n == 1}
		})
	}
	leaders := min(f.h.c.inFlight, len(bodies)-1)
	for i := range leaders {
		send(i)
		until(f.h.c, func(waiting, committing int) bool { return committing == i+1 && waiting == 0 })
	}
	for i := leaders; i < len(bodies); i++ {
		send(i)
	}
	until(f.h.c, func(waiting, _ int) bool { return waiting == len(bodies)-leaders })
	release()
	wg.Wait()
	return answers
}

// jobGroups are the delivery ids each queued job names, each with the
// issues of its deliveries.
func jobGroups(t *testing.T, f fixture) (groups [][]int64, issues [][]string) {
	t.Helper()
	args := "args"
	if f.st.Dialect() == "sqlite" {
		args = "json(args)" // river keeps SQLite's binary JSON
	}
	rows, err := f.st.DB().QueryContext(t.Context(), `SELECT `+args+` FROM river_job WHERE kind = 'apply_jira_deliveries' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err is checked
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var args struct {
			Server string  `json:"jira_server_id"`
			IDs    []int64 `json:"delivery_ids"`
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			t.Fatal(err)
		}
		if args.Server != f.server {
			t.Fatalf("a job for server %q, want %q", args.Server, f.server)
		}
		groups = append(groups, args.IDs)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, ids := range groups {
		ds, err := f.st.GetJiraDeliveries(t.Context(), ids)
		if err != nil {
			t.Fatal(err)
		}
		var is []string
		for _, d := range ds {
			if !slices.Contains(is, d.IssueID) {
				is = append(is, d.IssueID)
			}
		}
		slices.Sort(is)
		issues = append(issues, is)
	}
	return groups, issues
}

// Deliveries that arrive while transactions are under way (as many as may
// commit at once) are stored together in the next one, with one job naming
// them; each is answered only once stored, a repeat within the batch as a
// duplicate.
func TestDeliveriesArrivingTogetherCommitTogether(t *testing.T) {
	t.Parallel()
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			f := setupOn(t, db)
			bodies := [][]byte{commentDelivery(t, "10013", 1)}
			for i := range 24 {
				bodies = append(bodies, commentDelivery(t, []string{"10013", "10014"}[i%2], 100+i))
			}
			bodies = append(bodies, bodies[5], bodies[6]) // Jira's second deliveries
			answers := sendBatches(t, f, bodies)
			queued := 0
			for i, a := range answers {
				if a.status != http.StatusAccepted || !a.stored {
					t.Fatalf("delivery %d: %d %s, stored when answered: %v", i, a.status, a.body, a.stored)
				}
				if strings.Contains(a.body, `"queued"`) {
					queued++
				}
			}
			if queued != 25 {
				t.Fatalf("%d deliveries queued, want 25 (and 2 duplicates)", queued)
			}
			groups, issues := jobGroups(t, f)
			// The first ones alone, then one job for the rest, of both issues.
			leaders := f.h.c.inFlight
			var sizes []int
			var mixed [][]string
			for i, g := range groups {
				sizes = append(sizes, len(g))
				if len(g) > 1 {
					mixed = append(mixed, issues[i])
				}
			}
			slices.Sort(sizes)
			if diff := cmp.Diff(append(slices.Repeat([]int{1}, leaders), 25-leaders), sizes); diff != "" {
				t.Fatalf("deliveries of each queued job (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([][]string{{"10013", "10014"}}, mixed); diff != "" {
				t.Fatalf("issues of the batch (-want +got):\n%s", diff)
			}
			named := slices.Concat(groups...)
			slices.Sort(named)
			if len(named) != 25 || len(slices.Compact(named)) != 25 {
				t.Fatalf("the jobs name %v, want each of 25 deliveries once", named)
			}
		})
	}
}

// A batch whose transaction fails answers 500 to every delivery in it and
// stores none; sent again, each is stored once.
func TestFailedBatchAnswersEveryDelivery(t *testing.T) {
	t.Parallel()
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			f := setupOn(t, db)
			fail := []string{`CREATE TRIGGER fail_deliveries BEFORE INSERT ON jira_deliveries
				BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`}
			if db == "postgres" {
				fail = []string{`CREATE FUNCTION fail_deliveries() RETURNS trigger LANGUAGE plpgsql AS
					$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`,
					`CREATE TRIGGER fail_deliveries BEFORE INSERT ON jira_deliveries FOR EACH ROW EXECUTE FUNCTION fail_deliveries()`}
			}
			for _, q := range fail {
				if _, err := f.st.DB().ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			var bodies [][]byte
			for i := range 16 {
				bodies = append(bodies, commentDelivery(t, "10013", 200+i))
			}
			for i, a := range sendBatches(t, f, bodies) {
				if a.status != http.StatusInternalServerError || a.stored {
					t.Fatalf("delivery %d during the failure: %d %s, stored: %v", i, a.status, a.body, a.stored)
				}
			}
			if groups, _ := jobGroups(t, f); len(groups) != 0 {
				t.Fatalf("jobs %v queued by failed batches", groups)
			}
			if _, err := f.st.DB().ExecContext(t.Context(), `DROP TRIGGER fail_deliveries`+map[string]string{"postgres": " ON jira_deliveries"}[db]); err != nil {
				t.Fatal(err)
			}
			for i, a := range sendBatches(t, f, bodies) {
				if a.status != http.StatusAccepted || !strings.Contains(a.body, `"queued"`) || !a.stored {
					t.Fatalf("delivery %d sent again: %d %s, stored: %v", i, a.status, a.body, a.stored)
				}
			}
			groups, _ := jobGroups(t, f)
			if n := len(slices.Concat(groups...)); n != len(bodies) {
				t.Fatalf("the jobs name %d deliveries, want %d", n, len(bodies))
			}
		})
	}
}

// Many copies of one delivery sent at once: one is queued, the others are
// answered as duplicates, and one job applies it.
func TestConcurrentDuplicatesQueuedOnce(t *testing.T) {
	t.Parallel()
	body := fixtureBody(t, "webhook-server-issue-updated-commented-1.json")
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			f := setupOn(t, db)
			bodies := slices.Repeat([][]byte{body}, 16)
			queued := 0
			for i, a := range sendBatches(t, f, bodies) {
				if a.status != http.StatusAccepted || !a.stored {
					t.Fatalf("delivery %d: %d %s, stored: %v", i, a.status, a.body, a.stored)
				}
				if strings.Contains(a.body, `"queued"`) {
					queued++
				}
			}
			if groups, _ := jobGroups(t, f); queued != 1 || len(groups) != 1 || len(groups[0]) != 1 {
				t.Fatalf("%d queued, jobs %v; want one delivery queued and one job", queued, groups)
			}
		})
	}
}

// Up to MaxInFlight batches commit side by side: while they wait for the
// database, the next deliveries start batches of their own instead of
// waiting for the first to commit; the one beyond waits. PostgreSQL
// commits several by default, SQLite (one writer) one.
func TestBatchesCommitSideBySide(t *testing.T) {
	t.Parallel()
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			f := setupOn(t, db)
			if want := map[string]int{"sqlite": 1, "postgres": 4}[db]; f.h.c.inFlight != want {
				t.Errorf("batches committing at once by default: %d, want %d", f.h.c.inFlight, want)
			}
			f = f.with(func(d *Deps) { d.MaxInFlight = 3 })
			var bodies [][]byte
			for i := range 4 {
				bodies = append(bodies, commentDelivery(t, "10013", 300+i))
			}
			answers := sendBatches(t, f, bodies) // three leaders, each alone, then one waiting
			for i, a := range answers {
				if a.status != http.StatusAccepted || !strings.Contains(a.body, `"queued"`) || !a.stored {
					t.Fatalf("delivery %d: %d %s, stored when answered: %v", i, a.status, a.body, a.stored)
				}
			}
			groups, _ := jobGroups(t, f)
			if diff := cmp.Diff([]int{1, 1, 1, 1}, func() (n []int) {
				for _, g := range groups {
					n = append(n, len(g))
				}
				return n
			}()); diff != "" {
				t.Fatalf("deliveries of each queued job (-want +got):\n%s", diff)
			}
		})
	}
}
