package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// JiraDelivery is one Jira webhook delivery as the receiver stored it,
// before and after a job applied it.
type JiraDelivery struct {
	ID           int64
	JiraServerID string
	// DedupKey identifies the change the delivery tells of on its server:
	// Jira's second delivery of one change carries the same key.
	DedupKey string
	// Event is the delivery's webhookEvent; IssueID its issue's id, if any.
	Event   string
	IssueID string
	// Payload is the body as Jira sent it; empty once applied.
	Payload    []byte
	ReceivedAt time.Time
	// ExpiresAt is when the row may go once applied: until then a
	// delivery with the same key is a duplicate.
	ExpiresAt time.Time
	AppliedAt time.Time
}

// JiraDeliveryQueries are the reads and writes of received Jira webhook
// deliveries.
type JiraDeliveryQueries interface {
	// AddJiraDeliveries stores each delivery of ds whose server and dedup
	// key are not stored yet and sets its ID; a delivery already stored, or
	// repeated earlier in ds, keeps ID 0 and is not written. It never
	// raises a unique violation, so a surrounding transaction stays usable.
	AddJiraDeliveries(ctx context.Context, ds []JiraDelivery) error
	// GetJiraDeliveries returns the deliveries with these ids that exist,
	// in id order.
	GetJiraDeliveries(ctx context.Context, ids []int64) ([]JiraDelivery, error)
	// NextJiraDeliveryIDs returns the ids of up to limit deliveries of
	// the server not applied yet whose ids are above afterID, in order:
	// what arrived after a job's own deliveries, for that job to apply
	// with them.
	NextJiraDeliveryIDs(ctx context.Context, jiraServerID string, afterID int64, limit int) ([]int64, error)
	// MarkJiraDeliveriesApplied records the deliveries as applied at at and
	// drops their payloads; their keys stay until they expire.
	MarkJiraDeliveriesApplied(ctx context.Context, ids []int64, at time.Time) error
}

// deliveryRowsAtOnce are the sizes of the multi-row statements that store
// deliveries: a batch is written as a sum of them, so a handful of
// statement texts serve every batch size (SQLite's connections keep a
// bounded number of prepared statements, keyed by their text).
var deliveryRowsAtOnce = []int{64, 32, 16, 8, 4, 2, 1}

// unappliedDeliveryGrace is how long past its expiry a delivery that was
// never applied is kept (its job failed for good): as long as river keeps
// the discarded job that tells why.
const unappliedDeliveryGrace = 7 * 24 * time.Hour

func (q queries) AddJiraDeliveries(ctx context.Context, ds []JiraDelivery) error {
	type key struct{ server, dedup string }
	fresh := make([]int, 0, len(ds)) // indexes of ds to write
	seen := make(map[key]bool, len(ds))
	for i := range ds {
		d := &ds[i]
		d.ID = 0
		if d.JiraServerID == "" || d.DedupKey == "" || d.ExpiresAt.IsZero() {
			return fmt.Errorf("store: add Jira deliveries: a server, a dedup key and an expiry are required")
		}
		k := key{d.JiraServerID, d.DedupKey}
		if !seen[k] {
			seen[k] = true
			fresh = append(fresh, i)
		}
	}
	now := q.now()
	return q.atomic(ctx, func(q queries) error {
		for len(fresh) > 0 {
			n := deliveryRowsAtOnce[len(deliveryRowsAtOnce)-1]
			for _, size := range deliveryRowsAtOnce {
				if size <= len(fresh) {
					n = size
					break
				}
			}
			if err := q.addJiraDeliveries(ctx, ds, fresh[:n], now); err != nil {
				return err
			}
			fresh = fresh[n:]
		}
		return nil
	})
}

// addJiraDeliveries writes ds[at...] in one statement.
func (q queries) addJiraDeliveries(ctx context.Context, ds []JiraDelivery, at []int, now time.Time) error {
	const cols = 7
	var b strings.Builder
	b.WriteString(`INSERT INTO jira_deliveries (jira_server_id, dedup_key, event, issue_id, payload, received_at, expires_at) VALUES `)
	args := make([]any, 0, cols*len(at))
	byKey := make(map[string]int, len(at))
	for n, i := range at {
		d := ds[i]
		if n > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n*cols+1, n*cols+2, n*cols+3, n*cols+4, n*cols+5, n*cols+6, n*cols+7)
		received := now
		if !d.ReceivedAt.IsZero() {
			received = dbTime(d.ReceivedAt)
		}
		payload := d.Payload
		if payload == nil {
			payload = []byte{}
		}
		args = append(args, d.JiraServerID, d.DedupKey, d.Event, d.IssueID, payload, received, dbTime(d.ExpiresAt))
		byKey[d.JiraServerID+"\x00"+d.DedupKey] = i
	}
	b.WriteString(` ON CONFLICT (jira_server_id, dedup_key) DO NOTHING RETURNING id, jira_server_id, dedup_key`)
	rows, err := q.q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return q.wrap("add Jira deliveries", err)
	}
	defer rows.Close() //nolint:errcheck // rows.Err below reports what matters
	for rows.Next() {
		var (
			id            int64
			server, dedup string
		)
		if err := rows.Scan(&id, &server, &dedup); err != nil {
			return q.wrap("add Jira deliveries", err)
		}
		if i, ok := byKey[server+"\x00"+dedup]; ok {
			ds[i].ID = id
		}
	}
	return q.wrap("add Jira deliveries", rows.Err())
}

func (q queries) GetJiraDeliveries(ctx context.Context, ids []int64) ([]JiraDelivery, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	query, args := inInt64s(`SELECT `+jiraDeliveryColumns+` FROM jira_deliveries WHERE id IN (%s) ORDER BY id`, ids)
	return list(ctx, q, "get Jira deliveries", query, scanJiraDelivery, args...)
}

// NextJiraDeliveryIDs reads forward along the primary key from afterID:
// the deliveries after a job's own are the newest ones, so the range is
// short. The server is compared through an expression, so that SQLite does
// not read every delivery of the server by the unique key instead and
// sort them (each with its payload's pages: applied_at comes after it).
func (q queries) NextJiraDeliveryIDs(ctx context.Context, jiraServerID string, afterID int64, limit int) ([]int64, error) {
	if limit <= 0 {
		return nil, nil
	}
	return list(ctx, q, "next Jira deliveries", nextJiraDeliveryIDs,
		func(r scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}, afterID, jiraServerID, limit)
}

const nextJiraDeliveryIDs = `SELECT id FROM jira_deliveries
		WHERE id > $1 AND jira_server_id || '' = $2 AND applied_at IS NULL ORDER BY id LIMIT $3`

const jiraDeliveryColumns = `id, jira_server_id, dedup_key, event, issue_id, payload, received_at, expires_at, applied_at`

func scanJiraDelivery(r scanner) (JiraDelivery, error) {
	var (
		d                          JiraDelivery
		received, expires, applied sql.NullTime
	)
	if err := r.Scan(&d.ID, &d.JiraServerID, &d.DedupKey, &d.Event, &d.IssueID, &d.Payload, &received, &expires, &applied); err != nil {
		return d, err
	}
	d.ReceivedAt, d.ExpiresAt, d.AppliedAt = fromNullTime(received), fromNullTime(expires), fromNullTime(applied)
	return d, nil
}

func (q queries) MarkJiraDeliveriesApplied(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	query, args := inInt64s(`UPDATE jira_deliveries SET applied_at = $1, payload = $2 WHERE id IN (%s) AND applied_at IS NULL`,
		ids, dbTime(at), []byte{})
	_, err := q.q.ExecContext(ctx, query, args...)
	return q.wrap("mark Jira deliveries applied", err)
}

// deleteExpiredJiraDeliveries removes the applied deliveries that expired
// before now, and those never applied a grace period after.
func (q queries) deleteExpiredJiraDeliveries(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.q.ExecContext(ctx, `DELETE FROM jira_deliveries
		WHERE expires_at <= $1 AND (applied_at IS NOT NULL OR expires_at <= $2)`,
		dbTime(now), dbTime(now.Add(-unappliedDeliveryGrace)))
	if err != nil {
		return 0, q.wrap("delete expired Jira deliveries", err)
	}
	n, err := res.RowsAffected()
	return n, q.wrap("delete expired Jira deliveries", err)
}

// inInt64s fills the %s of query with a placeholder for each id, numbered
// after those of the leading args, and returns the arguments in order. The
// list is padded to a power of two with the last id (which changes nothing
// in an IN list), so a few statement texts serve every length.
func inInt64s(query string, ids []int64, leading ...any) (string, []any) {
	n := 1
	for n < len(ids) {
		n *= 2
	}
	args := make([]any, 0, len(leading)+n)
	args = append(args, leading...)
	marks := make([]string, n)
	for i := range n {
		args = append(args, ids[min(i, len(ids)-1)])
		marks[i] = fmt.Sprintf("$%d", len(leading)+i+1)
	}
	return fmt.Sprintf(query, strings.Join(marks, ", ")), args
}
