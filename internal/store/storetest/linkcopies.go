package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/google/go-cmp/cmp"
)

// testLinkCopyMark: a link stored with CopyPending is marked, whether its
// statement runs alone or in a transaction, and a link stored without it
// is not; ClaimLinkCopy clears a mark once and returns the link.
func testLinkCopyMark(t *testing.T, newStore NewStore) {
	s, _ := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://copymark.example")
	link := func(task string) store.Link {
		return store.Link{WorkspaceGID: "100", TaskGID: task, JiraServerID: j.ID, IssueID: "1" + task, IssueKey: "DEMO-" + task, CreatedBy: "u" + task}
	}
	alone, inTx, unmarked, plain := link("1"), link("2"), link("3"), link("4")
	must(t, s.CreateLinkOfCreate(ctx, &alone, store.LinkOfCreate{CopyPending: true}))
	must(t, s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateLinkOfCreate(ctx, &inTx, store.LinkOfCreate{CopyPending: true,
			Claim: store.IdempotencyKey{Scope: "create_issue", Key: j.ID + ":2", Result: []byte(`{}`)}})
	}))
	must(t, s.CreateLinkOfCreate(ctx, &unmarked, store.LinkOfCreate{}))
	must(t, s.CreateLink(ctx, &plain))

	tests := []struct {
		name string
		id   int64
		want []bool // ClaimLinkCopy's ok, call after call
		link store.Link
	}{
		{"marked by its statement alone", alone.ID, []bool{true, false}, alone},
		{"marked in a transaction", inTx.ID, []bool{true, false}, inTx},
		{"created without the mark", unmarked.ID, []bool{false}, store.Link{}},
		{"created by CreateLink", plain.ID, []bool{false}, store.Link{}},
		{"no such link", plain.ID + 100, []bool{false}, store.Link{}},
	}
	for _, tc := range tests {
		for i, want := range tc.want {
			var (
				got store.Link
				ok  bool
			)
			must(t, s.InTx(ctx, func(tx store.Tx) (err error) {
				got, ok, err = tx.ClaimLinkCopy(ctx, tc.id)
				return err
			}))
			if ok != want {
				t.Errorf("%s: claim %d = %v, want %v", tc.name, i+1, ok, want)
			}
			if i == 0 && ok {
				if diff := cmp.Diff(tc.link, got); diff != "" {
					t.Errorf("%s: claimed link (-want +got):\n%s", tc.name, diff)
				}
			}
		}
	}
}

// testLinkCopyOneClaim: of enqueuers racing for the same marks, request
// paths (ClaimLinkCopy) and sweeps (ClaimLinkCopies) alike, each mark is
// claimed by exactly one.
func testLinkCopyOneClaim(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://copyrace.example")
	var ids []int64
	for i := range 12 {
		l := store.Link{WorkspaceGID: "100", TaskGID: fmt.Sprint(i), JiraServerID: j.ID, IssueID: fmt.Sprint(1000 + i), IssueKey: fmt.Sprint("DEMO-", i)}
		must(t, s.CreateLinkOfCreate(ctx, &l, store.LinkOfCreate{CopyPending: true}))
		ids = append(ids, l.ID)
	}
	clk.Add(time.Hour)
	var (
		mu      sync.Mutex
		claimed []int64
		wg      sync.WaitGroup
	)
	record := func(id int64) {
		mu.Lock()
		defer mu.Unlock()
		claimed = append(claimed, id)
	}
	for w := range 8 {
		wg.Go(func() {
			if w%2 == 0 {
				for _, id := range ids {
					err := s.InTx(ctx, func(tx store.Tx) error {
						l, ok, err := tx.ClaimLinkCopy(ctx, id)
						if ok {
							record(l.ID)
						}
						return err
					})
					if err != nil {
						t.Errorf("claim %d: %v", id, err)
					}
				}
				return
			}
			for {
				var n int
				err := s.InTx(ctx, func(tx store.Tx) error {
					ls, err := tx.ClaimLinkCopies(ctx, clk.Now(), 3)
					for _, l := range ls {
						record(l.ID)
					}
					n = len(ls)
					return err
				})
				if err != nil {
					t.Errorf("sweep: %v", err)
				}
				if err != nil || n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(claimed)
	if diff := cmp.Diff(ids, claimed); diff != "" {
		t.Errorf("marks claimed (-each once +got):\n%s", diff)
	}
}

// testLinkCopySweep: the sweep claims only marks older than its bound,
// oldest first, up to its limit.
func testLinkCopySweep(t *testing.T, newStore NewStore) {
	s, clk := open(t, newStore)
	ctx := t.Context()
	j := createServer(t, s, "https://copysweep.example")
	create := func(task string, pending bool) int64 {
		t.Helper()
		l := store.Link{WorkspaceGID: "100", TaskGID: task, JiraServerID: j.ID, IssueID: "1" + task, IssueKey: "DEMO-" + task}
		must(t, s.CreateLinkOfCreate(ctx, &l, store.LinkOfCreate{CopyPending: pending}))
		clk.Add(time.Minute)
		return l.ID
	}
	old1, _, old2, old3 := create("1", true), create("2", false), create("3", true), create("4", true)
	bound := clk.Now()
	recent := create("5", true)
	create("6", false)

	sweep := func(limit int) []int64 {
		t.Helper()
		var ids []int64
		must(t, s.InTx(ctx, func(tx store.Tx) error {
			ls, err := tx.ClaimLinkCopies(ctx, bound, limit)
			for _, l := range ls {
				ids = append(ids, l.ID)
			}
			return err
		}))
		slices.Sort(ids)
		return ids
	}
	tests := []struct {
		name  string
		limit int
		want  []int64
	}{
		{"the two oldest marks", 2, []int64{old1, old2}},
		{"the rest of the old marks", 10, []int64{old3}},
		{"none left before the bound", 10, nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, sweep(tc.limit)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// The recent mark is still there for its request to claim.
	var ok bool
	must(t, s.InTx(ctx, func(tx store.Tx) (err error) {
		_, ok, err = tx.ClaimLinkCopy(ctx, recent)
		return err
	}))
	if !ok {
		t.Error("the sweep claimed a mark newer than its bound")
	}
}
