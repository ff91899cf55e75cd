package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asanajira/asanajira/bench/internal/harness"
	"github.com/asanajira/asanajira/internal/store"
)

// recorded is a jira:issue_updated delivery for a new comment, recorded
// from a real Jira Server (testdata/README.md says where from).
//
//go:embed testdata/issue-commented.json
var recorded []byte

// firstCommentID numbers the intake's comments, far above the emulator's
// own ids, so their changes are told apart from the rest.
const firstCommentID = 7_700_000_000

// intakeTargets are the deliveries a second the bridge must accept.
var intakeTargets = map[string]float64{harness.SQLite: 2000, harness.Postgres: 5000}

// deliveries makes the bodies of the intake phase: the recorded delivery
// with a link's issue, a comment of its own and its own times.
type deliveries struct {
	templates [][]byte // one per link, with placeholders
	base      time.Time
}

const (
	phCommentID = "@@comment-id@@"
	phStamp     = `"@@timestamp@@"`
	phTime      = "@@time@@"
)

func (e *env) newDeliveries() (*deliveries, error) {
	d := &deliveries{base: time.Now()}
	for _, l := range e.links {
		is, ok := e.w.Demo.Jira.Issue(l.issue)
		if !ok {
			return nil, fmt.Errorf("intake: no issue %s on the Jira emulator", l.issue)
		}
		var v map[string]any
		if err := json.Unmarshal(recorded, &v); err != nil {
			return nil, fmt.Errorf("intake: the recorded delivery: %w", err)
		}
		issue, _ := v["issue"].(map[string]any)
		c, _ := v["comment"].(map[string]any)
		if issue == nil || c == nil {
			return nil, errors.New("intake: the recorded delivery has no issue or comment")
		}
		issue["id"], issue["key"] = is.ID, is.Key
		issue["self"] = e.w.Demo.JiraURL + "/rest/api/2/issue/" + is.ID
		c["id"], c["created"], c["updated"] = phCommentID, phTime, phTime
		c["self"] = e.w.Demo.JiraURL + "/rest/api/2/issue/" + is.ID + "/comment/" + phCommentID
		c["body"] = "Delivery " + phCommentID
		v["timestamp"] = strings.Trim(phStamp, `"`)
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("intake: %w", err)
		}
		d.templates = append(d.templates, b)
	}
	return d, nil
}

// body is the i-th delivery.
func (d *deliveries) body(i int) []byte {
	at := d.base.Add(time.Duration(i) * time.Millisecond)
	b := d.templates[i%len(d.templates)]
	b = bytes.ReplaceAll(b, []byte(phCommentID), []byte(strconv.Itoa(firstCommentID+i)))
	b = bytes.ReplaceAll(b, []byte(phStamp), []byte(strconv.FormatInt(at.UnixMilli(), 10)))
	return bytes.ReplaceAll(b, []byte(phTime), []byte(at.Format("2006-01-02T15:04:05.000-0700")))
}

// intake measures the durable intake and checks that every accepted
// delivery was applied.
func (e *env) intake(ctx context.Context, out io.Writer) error {
	hook, err := e.webhookURL()
	if err != nil {
		return err
	}
	plain, stop, err := e.plainIntake(ctx)
	if err != nil {
		return err
	}
	defer stop()
	d, err := e.newDeliveries()
	if err != nil {
		return err
	}
	var accepted, duplicates atomic.Int64
	send := func(url string, count bool) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.body(i)))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.client.Do(req) //nolint:gosec // G704: the bridge on loopback, by design
			if err != nil {
				return err
			}
			got, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusAccepted {
				return fmt.Errorf("delivery %d: HTTP %d: %.300s", i, resp.StatusCode, got)
			}
			if count {
				if bytes.Contains(got, []byte(`"duplicate"`)) {
					duplicates.Add(1)
				} else {
					accepted.Add(1)
				}
			}
			return nil
		}
	}
	prof, err := e.c.StartProfiles()
	if err != nil {
		return err
	}
	defer prof.Stop() //nolint:errcheck // stopped below; this covers the error paths
	// Two rounds, the plain handler first in one and last in the other;
	// each round's deliveries are drained before the next starts, so
	// neither side meets the other's backlog.
	half := e.c.deliveries / 2
	var bridge, same harness.Result
	var drained time.Duration
	var bridgeCPU, sameCPU, drainCPU cpuUse
	for round := range 2 {
		from, count := round*half, half
		if round == 1 {
			count = e.c.deliveries - half
		}
		offset := func(fn func(context.Context, int) error) func(context.Context, int) error {
			return func(ctx context.Context, i int) error { return fn(ctx, from+i) }
		}
		viaBridge := func() error {
			cpu := readCPU()
			r, err := harness.Load(ctx, e.c.intakeConcurrency, 0, count, offset(send(hook, true)))
			bridge.N, bridge.Elapsed = bridge.N+r.N, bridge.Elapsed+r.Elapsed
			cpu.addSince(&bridgeCPU)
			if err != nil {
				return fmt.Errorf("intake: %w", err)
			}
			cpu = readCPU()
			took, err := e.w.Drain(ctx, 10*time.Minute)
			drained += took
			cpu.addSince(&drainCPU)
			return err
		}
		directly := func() error {
			cpu := readCPU()
			defer cpu.addSince(&sameCPU)
			r, err := harness.Load(ctx, e.c.intakeConcurrency, 0, count, offset(send(plain, false)))
			same.N, same.Elapsed = same.N+r.N, same.Elapsed+r.Elapsed
			if err != nil {
				return fmt.Errorf("intake, plain handler: %w", err)
			}
			return nil
		}
		first, second := directly, viaBridge
		if round == 1 {
			first, second = viaBridge, directly
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
	}
	if err := prof.Stop(); err != nil {
		return err
	}
	recorded, applied, failed, err := e.applied(ctx, int(accepted.Load()))
	if err != nil {
		return err
	}
	rate, floor := bridge.RPS(), same.RPS()
	target := intakeTargets[e.w.Database]
	_, err = fmt.Fprintln(out, harness.Line("bench", "sync", "db", e.w.Database, "phase", "intake",
		"deliveries", bridge.N, "concurrency", e.c.intakeConcurrency, "accepted", accepted.Load(), "duplicates", duplicates.Load(),
		"accepted_per_s", rate, "target_per_s", target, "meets_target", rate >= target,
		"same_insert_per_s", floor, "ratio", floor/rate,
		"recorded", recorded, "applied", applied, "apply_errors", failed,
		"all_applied", recorded == int(accepted.Load()) && applied == recorded && failed == 0, "drain_ms", drained,
		"accept_cpu_process_s", bridgeCPU.process.Seconds(), "accept_cpu_db_s", bridgeCPU.db.Seconds(), "accept_cpu_machine_s", bridgeCPU.machine.Seconds(),
		"same_cpu_process_s", sameCPU.process.Seconds(), "same_cpu_db_s", sameCPU.db.Seconds(), "same_cpu_machine_s", sameCPU.machine.Seconds(),
		"drain_cpu_process_s", drainCPU.process.Seconds(), "drain_cpu_db_s", drainCPU.db.Seconds(), "drain_cpu_machine_s", drainCPU.machine.Seconds()))
	if err != nil {
		return err
	}
	if recorded != int(accepted.Load()) || applied != recorded {
		return fmt.Errorf("intake: %d deliveries accepted, %d recorded as changes, %d applied", accepted.Load(), recorded, applied)
	}
	return nil
}

// applied counts the intake's changes the sync engine recorded, those a
// sync run handled and those it failed, waiting up to a minute for the
// runs to catch up with want.
func (e *env) applied(ctx context.Context, want int) (recorded, applied, failed int, err error) {
	deadline := time.Now().Add(time.Minute)
	for {
		err = e.w.App.Store().DB().QueryRowContext(ctx, `SELECT count(*), count(applied_at),
			coalesce(sum(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END), 0)
			FROM sync_changes WHERE source = 'webhook' AND dedup_key LIKE 'comment:77%'`).Scan(&recorded, &applied, &failed)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("intake: count the applied changes: %w", err)
		}
		if (recorded == want && applied == recorded) || time.Now().After(deadline) {
			return recorded, applied, failed, nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// webhookURL is the URL the Jira emulator delivers the bridge's webhook
// to (with its secret, as Jira 9 sends it).
func (e *env) webhookURL() (string, error) {
	for _, h := range e.w.Demo.Jira.Webhooks() {
		if strings.HasPrefix(h.URL, e.w.Demo.BridgeURL+"/") {
			return h.URL, nil
		}
	}
	return "", errors.New("intake: the Jira emulator has no webhook to the bridge")
}

// plainIntake serves the floor the bridge's intake is compared with: each
// delivery read and stored in one transaction through the bridge's own
// store, on the same database, then answered 202. It returns its URL.
func (e *env) plainIntake(ctx context.Context) (string, func(), error) {
	st := e.w.App.Store()
	ddl, insert := `CREATE TABLE bench_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)`,
		`INSERT INTO bench_deliveries (body) VALUES (?)`
	if e.w.Database == harness.Postgres {
		ddl, insert = `CREATE TABLE bench_deliveries (id BIGSERIAL PRIMARY KEY, body BYTEA NOT NULL)`,
			`INSERT INTO bench_deliveries (body) VALUES ($1)`
	}
	if _, err := st.DB().ExecContext(ctx, ddl); err != nil {
		return "", nil, fmt.Errorf("intake: plain handler's table: %w", err)
	}
	if e.w.Database == harness.Postgres {
		// Stored as jira_deliveries stores payloads (migration 019), so the
		// floor does not pay pglz compression the bridge no longer pays.
		const storage = `DO $$ BEGIN
    EXECUTE 'ALTER TABLE bench_deliveries ALTER COLUMN body SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    EXECUTE 'ALTER TABLE bench_deliveries ALTER COLUMN body SET STORAGE EXTERNAL';
END $$`
		if _, err := st.DB().ExecContext(ctx, storage); err != nil {
			return "", nil, fmt.Errorf("intake: plain handler's table: %w", err)
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err == nil {
			err = st.InTx(r.Context(), func(tx store.Tx) error {
				_, err := tx.SQL().ExecContext(r.Context(), insert, body)
				return err
			})
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"queued"}`))
	})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("intake: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with Close
	return "http://" + ln.Addr().String() + "/", func() { _ = srv.Close() }, nil
}
