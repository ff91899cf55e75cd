package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/bridge"
	"github.com/asanajira/asanajira/internal/jobs"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/store/storetest"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/asanajira/asanajira/internal/syncengine/synctest"
	"github.com/google/go-cmp/cmp"
)

// copyJobs are the copy_attachments jobs in river's table, by their
// arguments.
func copyJobs(t *testing.T, st store.Store, dialect string) []bridge.CopyAttachmentsArgs {
	t.Helper()
	args := "args"
	if dialect == "sqlite" {
		args = "json(args)" // river's SQLite schema keeps them as JSONB
	}
	rows, err := st.DB().QueryContext(t.Context(), `SELECT `+args+` FROM river_job WHERE kind = 'copy_attachments' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []bridge.CopyAttachmentsArgs
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var a bridge.CopyAttachmentsArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// txContexts is a store that notes whether each transaction's context is
// a request's (store.Foreground).
type txContexts struct {
	store.Store
	mu sync.Mutex
	fg []bool
}

func (s *txContexts) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	s.mu.Lock()
	s.fg = append(s.fg, store.IsForeground(ctx))
	s.mu.Unlock()
	return s.Store.InTx(ctx, fn)
}

func (s *txContexts) foreground() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.fg)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The request's enqueue of its link's copy job (EnqueueLinkCopy) inserts
// it once, however many enqueue at once, with what the request knows of
// the remote link; once the queue stopped, an enqueue leaves the mark to
// the sweep.
func TestEnqueueLinkCopyInsertsOnce(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bd := b.open(t)
			st := bd.st
			seen := &txContexts{Store: st}
			q := bd.queue(t, seen, jobs.Options{Attachments: bridge.New(bridge.Config{Store: st}), LinkCopyGrace: time.Hour})
			ctx := store.Foreground(t.Context())
			j := storetest.SampleServer("https://enqueue.example", "enqueue")
			must(t, st.CreateJiraServer(ctx, &j))
			link := func(task string) store.Link {
				l := store.Link{WorkspaceGID: "100", TaskGID: task, JiraServerID: j.ID, IssueID: "1" + task, IssueKey: "DEMO-" + task, CreatedBy: "u1"}
				must(t, st.CreateLinkOfCreate(ctx, &l, store.LinkOfCreate{CopyPending: true}))
				return l
			}
			l, later := link("1"), link("2")
			for range 6 {
				q.EnqueueLinkCopy(ctx, l.ID, true)
			}
			q.WaitLinkCopies()
			want := []bridge.CopyAttachmentsArgs{{JiraServerID: j.ID, TaskGID: "1", IssueKey: "DEMO-1", AsanaUser: "u1", RemoteLinked: true}}
			if diff := cmp.Diff(want, copyJobs(t, st, bd.dialect)); diff != "" {
				t.Fatalf("copy jobs (-want +got):\n%s", diff)
			}
			// Background work: on SQLite the requests' writes go first.
			if diff := cmp.Diff([]bool{false, false, false, false, false, false}, seen.foreground()); diff != "" {
				t.Errorf("the enqueues' transactions as requests' (-want +got):\n%s", diff)
			}

			start(t, q)
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			must(t, q.Stop(stopCtx))
			q.EnqueueLinkCopy(ctx, later.ID, true)
			q.WaitLinkCopies()
			if got := copyJobs(t, st, bd.dialect); len(got) != 1 {
				t.Fatalf("copy jobs after an enqueue by a stopped queue = %+v, want the first alone", got)
			}
			must(t, st.InTx(ctx, func(tx store.Tx) error {
				if _, ok, err := tx.ClaimLinkCopy(ctx, later.ID); err != nil || !ok {
					return fmt.Errorf("the mark left for the sweep: %v, %w", ok, err)
				}
				return nil
			}))
		})
	}
}

// A crash between the link's commit and its job's enqueue (here: the
// request never enqueues) leaves the link marked; the sweep enqueues the
// copy job once, a grace later, and the job runs: the task's files reach
// the issue and the link gets its first sync run. A late enqueue by the
// request then inserts nothing.
func TestSweepEnqueuesTheCopyACrashLeft(t *testing.T) {
	t.Parallel()
	for _, db := range synctest.Databases {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			const sweepEvery = 200 * time.Millisecond
			e := synctest.New(t, synctest.Options{DB: db, Run: true, QueueOptions: func(e *synctest.Env, o *jobs.Options) {
				o.Attachments, o.LinkCopyGrace, o.LinkCopySweepInterval = e.Bridge(), 300*time.Millisecond, sweepEvery
			}})
			ctx := t.Context()
			task := e.Seed.Tasks[0]
			c := e.CreateIssue(t, task.GID, task.Name)
			waitUntil(t, "the swept copy job to copy the task's files", func() bool {
				is, _ := e.Jira.Issue(c.IssueKey)
				return len(is.Attachments) == 2
			})
			waitUntil(t, "the link's first sync run", func() bool {
				for _, ch := range e.Changes(t) {
					if ch.Source == "link" && ch.Kind == syncengine.KindResync && ch.Outcome != "" {
						return true
					}
				}
				return false
			})
			e.Queue.EnqueueLinkCopy(ctx, c.LinkID, true)
			e.Queue.WaitLinkCopies()
			time.Sleep(3 * sweepEvery)
			want := []bridge.CopyAttachmentsArgs{{JiraServerID: e.Server.ID, TaskGID: task.GID, IssueKey: c.IssueKey, AsanaUser: e.Users["alice"]}}
			if diff := cmp.Diff(want, copyJobs(t, e.Store, db)); diff != "" {
				t.Errorf("copy jobs (-want +got):\n%s", diff)
			}
		})
	}
}
