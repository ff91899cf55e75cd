package syncengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/store"
)

// Sides of a link.
const (
	SideJira  = store.SideJira
	SideAsana = store.SideAsana
)

// Kinds of change. A sync run compares everything the settings sync
// whatever the kind; the kind decides how the change's outcome is told.
const (
	// KindComment: a comment or comment story was added, edited or deleted
	// (Object: the Jira comment id or the story gid).
	KindComment = "comment"
	// KindCompletion: the task was completed or reopened, or the issue
	// moved to another status.
	KindCompletion = "completion"
	// KindIssue and KindTask: something else changed, or the intake cannot
	// tell what (a reconciliation hit).
	KindIssue = "issue"
	KindTask  = "task"
	// KindAttachment: a file was attached to the task (its
	// attachment_added story); it is copied to the issue.
	KindAttachment = "attachment"
	// KindResync: compare everything (an Asana 412, a person asking).
	KindResync = "resync"
)

// Change is one change an intake observed on a linked task or issue.
type Change struct {
	LinkID int64
	// Side is where it happened: SideJira or SideAsana.
	Side string
	// Source names the intake: "webhook", "reconcile", "events",
	// "asana_webhook", "resync", "manual", "link" (a new link's first run).
	Source string
	// DedupKey identifies the change within (link, side): every delivery of
	// one change carries the same key, different changes different keys
	// (e.g. a webhook's changelog id, an Asana event's resource, action and
	// time).
	DedupKey string
	Kind     string
	// Object is the comment id or story gid the change is about, if any.
	Object string
	// Actor is who made it (Jira user name, Asana user gid), if known.
	Actor  string
	Detail string
	// ObservedAt is when it happened on its side (zero: unknown); the
	// propagation latency is measured from it.
	ObservedAt time.Time
}

// Enqueuer enqueues a sync_link job for a link in the transaction tx
// (internal/jobs implements it). Jobs of one link are unique among those
// waiting, so a burst of changes makes one run.
type Enqueuer interface {
	EnqueueSyncLink(ctx context.Context, tx *sql.Tx, linkID int64) error
}

// Record stores c once and enqueues a sync run of its link, in one
// transaction. It reports whether c was new; a change already recorded, of
// a link that no longer exists or whose connection does not sync, is not.
func (e *Engine) Record(ctx context.Context, c Change) (bool, error) {
	var recorded bool
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		recorded, err = e.RecordTx(ctx, tx, c)
		return err
	})
	return recorded, err
}

// RecordTx is Record inside the caller's transaction: the change and its job
// exist only if tx commits.
func (e *Engine) RecordTx(ctx context.Context, tx store.Tx, c Change) (bool, error) {
	n, err := e.recordAllTx(ctx, tx, []Change{c})
	return n == 1, err
}

// recordAllTx records each of cs once in tx and enqueues one sync run for
// each link that got a new change. It reports how many were new.
func (e *Engine) recordAllTx(ctx context.Context, tx store.Tx, cs []Change) (int, error) {
	if e.enq == nil {
		return 0, errors.New("syncengine: record: no enqueuer is configured")
	}
	syncs := map[int64]bool{} // of each link met: does it exist and sync
	var runs []int64          // links to run, in the order of their first change
	recorded := 0
	for _, c := range cs {
		on, seen := syncs[c.LinkID]
		if !seen {
			link, err := tx.GetLink(ctx, c.LinkID)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return recorded, fmt.Errorf("syncengine: record: %w", err)
			default:
				if on, err = syncing(ctx, tx, link); err != nil {
					return recorded, err
				}
			}
			syncs[c.LinkID] = on
		}
		if !on {
			continue
		}
		sc := store.SyncChange{LinkID: c.LinkID, Side: c.Side, Source: c.Source, DedupKey: c.DedupKey, Kind: c.Kind,
			Object: c.Object, Actor: c.Actor, Detail: c.Detail, ObservedAt: c.ObservedAt}
		ok, err := tx.RecordSyncChange(ctx, &sc)
		if err != nil {
			return recorded, wrap("record", err)
		}
		if !ok {
			continue
		}
		seen, outcome, err := seenAsRecorded(ctx, tx, c)
		if err != nil {
			return recorded, err
		}
		if seen {
			// A run would read both sides to find nothing to do.
			if err := tx.FinishSyncChange(ctx, sc.ID, outcome, ""); err != nil {
				return recorded, wrap("record", err)
			}
			recorded++
			e.metrics.received.WithLabelValues(direction(c.Side), c.Kind).Inc()
			continue
		}
		if !slices.Contains(runs, c.LinkID) {
			runs = append(runs, c.LinkID)
		}
		recorded++
		e.metrics.received.WithLabelValues(direction(c.Side), c.Kind).Inc()
	}
	for _, id := range runs {
		if err := e.enq.EnqueueSyncLink(ctx, tx.SQL(), id); err != nil {
			return recorded, fmt.Errorf("syncengine: record: %w", err)
		}
	}
	return recorded, nil
}

// seenAsRecorded reports whether change c, just recorded, needs no run of
// its own, and the outcome it is finished with then: an echo of the
// sync's own custom fields (customFieldsOnly), Jira's issue_created of an
// issue whose link has recorded its first run already (LinkMade, by the
// link's copy job), or that first run's change of a link on which a Jira
// delivery was recorded already. The link is stored after Jira created
// the issue, so a run of either reads the issue as created, or later, and
// compares everything. Jira delivers issue_created inside its answer to
// the create, and the delivery is applied before or after the copy job
// (which the request enqueues after answering); whichever came second
// started a second run to find nothing.
func seenAsRecorded(ctx context.Context, tx store.Tx, c Change) (bool, string, error) {
	if customFieldsOnly(c) {
		return true, OutcomeEcho, nil
	}
	var before string // the source of a change recorded first that makes c's run needless
	switch {
	case c.Side != SideJira:
		return false, "", nil
	case c.Source == "webhook" && (c.Detail == "issue_created" || c.Detail == jira.EventIssueCreated):
		before = "link"
	case c.Source == "link" && c.DedupKey == linkMadeKey:
		before = "webhook"
	default:
		return false, "", nil
	}
	seen, err := tx.SyncChangeObservedSince(ctx, c.LinkID, SideJira, time.Time{}, before)
	if err != nil {
		return false, "", wrap("record", err)
	}
	return seen, OutcomeNoop, nil
}

// customFieldsOnly reports whether c is an Asana change of the task's
// custom fields and nothing else, as the Asana intake tells it ("task
// changed custom_fields", or the story Asana adds for it). The only custom
// fields the sync keeps are Jira's status and priority, written from Jira
// alone (their fieldSpecs have no toJira): such a change is the echo of
// the sync's own writes of them (the first run of every link writes both),
// or a person's edit of them, which a run leaves on its side. Either way a
// run would find nothing to write, so it starts none.
func customFieldsOnly(c Change) bool {
	if c.Side != SideAsana || c.Kind != KindTask {
		return false
	}
	return c.Detail == "task changed custom_fields" ||
		strings.HasPrefix(c.Detail, "story added ") && strings.HasSuffix(c.Detail, "_custom_field_changed")
}

// syncing reports whether the link's connection has sync enabled.
func syncing(ctx context.Context, q store.Queries, link store.Link) (bool, error) {
	s, err := q.GetSyncSettings(ctx, link.WorkspaceGID, link.JiraServerID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("syncengine: sync settings: %w", err)
	}
	return s.Enabled, nil
}

// RecordJiraEvent records the change a Jira webhook delivery tells of, for
// the link of its issue on the server (nothing for an unlinked issue, or a
// connection that does not sync). The delivery is only a hint: the run
// reads Jira again.
func (e *Engine) RecordJiraEvent(ctx context.Context, jiraServerID string, payload []byte) (bool, error) {
	ev, err := jira.ParseWebhook(payload)
	if err != nil {
		return false, fmt.Errorf("syncengine: record Jira event: %w", err)
	}
	n, err := e.RecordJiraEvents(ctx, jiraServerID, []*jira.WebhookEvent{ev})
	return n == 1, err
}

// RecordJiraEvents is RecordJiraEvent for several deliveries of one server:
// one transaction per link, which records its changes and enqueues one run.
// It reports how many changes were new.
func (e *Engine) RecordJiraEvents(ctx context.Context, jiraServerID string, events []*jira.WebhookEvent) (int, error) {
	var cs []Change
	links := map[string]int64{} // issue id → link id (0: none)
	for _, ev := range events {
		if ev.Issue == nil || ev.Issue.ID == "" || ev.WebhookEvent == jira.EventIssueDeleted {
			// Standalone comment_* events on Server carry no issue (their
			// jira:issue_updated twin does); a deleted issue ends its link.
			continue
		}
		id, seen := links[ev.Issue.ID]
		if !seen {
			link, err := e.st.GetLinkByIssue(ctx, jiraServerID, ev.Issue.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return 0, fmt.Errorf("syncengine: record Jira event: %w", err)
			default:
				id = link.ID
			}
			links[ev.Issue.ID] = id
		}
		if id != 0 {
			cs = append(cs, JiraEventChange(id, ev))
		}
	}
	// One transaction per link: a transaction that took the locks of
	// several links' changes and runs, in its own order, would deadlock
	// with another batch taking them in another (PostgreSQL).
	var order []int64
	byLink := map[int64][]Change{}
	for _, c := range cs {
		if _, seen := byLink[c.LinkID]; !seen {
			order = append(order, c.LinkID)
		}
		byLink[c.LinkID] = append(byLink[c.LinkID], c)
	}
	total := 0
	for _, id := range order {
		err := e.st.InTx(ctx, func(tx store.Tx) error {
			n, err := e.recordAllTx(ctx, tx, byLink[id])
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// JiraEventChange is the change a webhook delivery tells of. Jira Server
// sends a comment twice (comment_created and jira:issue_updated with
// issue_commented); both get the same dedup key.
func JiraEventChange(linkID int64, ev *jira.WebhookEvent) Change {
	c := Change{LinkID: linkID, Side: SideJira, Source: "webhook", Kind: KindIssue, Detail: ev.WebhookEvent}
	if t := ev.EventType(); t != "" {
		c.Detail = t
	}
	if ev.Timestamp > 0 {
		c.ObservedAt = ev.Time()
	}
	if ev.User != nil {
		c.Actor = ev.User.Name
	}
	switch {
	case ev.Comment != nil && ev.Comment.ID != "":
		c.Kind, c.Object = KindComment, ev.Comment.ID
		stamp := ev.Comment.Updated.Time
		if stamp.IsZero() {
			stamp = ev.Comment.Created.Time
		}
		c.DedupKey = "comment:" + ev.Comment.ID + ":" + strconv.FormatInt(stamp.UnixMilli(), 10)
		if strings.Contains(ev.EventType(), "deleted") || strings.Contains(ev.WebhookEvent, "deleted") {
			c.DedupKey = "comment-deleted:" + ev.Comment.ID
		}
	case ev.Changelog != nil && ev.Changelog.ID != "":
		c.DedupKey = "changelog:" + ev.Changelog.ID
		for _, it := range ev.Changelog.Items {
			if strings.EqualFold(it.Field, "status") || it.FieldID == "status" {
				c.Kind = KindCompletion
			}
		}
	default:
		c.DedupKey = fmt.Sprintf("event:%s:%d", ev.WebhookEvent, ev.Timestamp)
	}
	if strings.HasPrefix(ev.EventType(), "issue_comment") && c.Kind == KindIssue {
		// issue_comment_deleted carries no comment object.
		c.Kind = KindComment
	}
	return c
}

// linkMadeKey is the DedupKey of a link's LinkMade change.
const linkMadeKey = "linked"

// LinkMade records the change that starts a new link's first run (when
// its connection syncs), once however often it is called: the link's copy
// job calls it before copying. Without it the first run would wait for the
// issue's next change or the next reconciliation: Jira's issue_created
// delivery for a create reaches the bridge inside Jira's answer to the
// create, before the link is stored, and on PostgreSQL is often applied
// before the link commits, finding no link to record it on. A link removed
// meanwhile is no error.
func (e *Engine) LinkMade(ctx context.Context, jiraServerID, taskGID string) error {
	l, err := e.st.GetLinkByTask(ctx, jiraServerID, taskGID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return wrap("a new link's first run", err)
	}
	_, err = e.Record(ctx, Change{LinkID: l.ID, Side: SideJira, Source: "link", DedupKey: linkMadeKey,
		Kind: KindResync, Actor: l.CreatedBy, ObservedAt: e.now(), Detail: "the link was made"})
	return err
}

// RequestSync records a change asking for a full comparison of a link (a
// person pressing "sync now", an Asana 412 resync for each link of the
// project), with key naming the request so it is recorded once.
func (e *Engine) RequestSync(ctx context.Context, linkID int64, source, key, by string) (bool, error) {
	return e.Record(ctx, Change{LinkID: linkID, Side: SideAsana, Source: source, DedupKey: "resync:" + key,
		Kind: KindResync, Actor: by, ObservedAt: e.now()})
}

func direction(side string) string {
	if side == SideJira {
		return JiraToAsana
	}
	return AsanaToJira
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("syncengine: %s: %w", op, err)
}
