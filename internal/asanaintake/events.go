package asanaintake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// Sources of the changes the intake records.
const (
	SourceEvents  = "events"
	SourceWebhook = "asana_webhook"
	SourceResync  = "resync"
)

// observed is what one Asana event tells about linked work.
type observed struct {
	// task is the task the event concerns; "" when the event names only a
	// story (a story edited or deleted: Asana sends no parent then).
	task  string
	story string
	kind  string
	// object is the story gid of a comment change.
	object string
	detail string
	dedup  string
	actor  string
	at     time.Time
	// addedTo and removedFrom name a project the task joined or left.
	addedTo, removedFrom string
}

// observe reads one event. It reports false for events about nothing a
// link can hold (projects, sections, attachments, custom fields…).
func observe(ev asana.Event) (observed, bool) {
	o := observed{}
	if ev.User != nil {
		o.actor = ev.User.GID
	}
	if t, err := time.Parse(time.RFC3339Nano, ev.CreatedAt); err == nil {
		o.at = t
	}
	field := ""
	if ev.Change != nil {
		field = ev.Change.Field
	}
	parent, parentType := "", ""
	if ev.Parent != nil {
		parent, parentType = ev.Parent.GID, ev.Parent.ResourceType
	}
	// One event, one key: a webhook delivery and a poll of the same event,
	// or the same event delivered twice, make the same key.
	o.dedup = strings.Join([]string{"asana", ev.Resource.GID, ev.Action, field, parent, ev.CreatedAt}, ":")
	switch ev.Resource.ResourceType {
	case "task":
		o.task = ev.Resource.GID
		o.kind, o.detail = syncengine.KindTask, "task "+ev.Action
		switch {
		case ev.Action == "changed" && field == "completed":
			o.kind, o.detail = syncengine.KindCompletion, "task changed completed"
		case ev.Action == "changed":
			o.detail = "task changed " + field
		case parentType == "project" && ev.Action == "added":
			o.addedTo, o.detail = parent, "task added to a project"
		case parentType == "project" && ev.Action == "removed":
			o.removedFrom, o.detail = parent, "task removed from a project"
		case parentType == "section":
			o.detail = "task " + ev.Action + " in a section"
		}
	case "story":
		o.story = ev.Resource.GID
		if parentType == "task" {
			o.task = parent
		}
		sub := ev.Resource.ResourceSubtype
		o.kind, o.detail = syncengine.KindTask, "story "+ev.Action+" "+sub
		switch sub {
		case "comment_added":
			o.kind, o.object, o.detail = syncengine.KindComment, ev.Resource.GID, "comment "+ev.Action
		case "marked_complete", "marked_incomplete":
			o.kind = syncengine.KindCompletion
		case "attachment_added":
			o.kind, o.object = syncengine.KindAttachment, ev.Resource.GID
		}
		if ev.Action == "added" {
			// A story is added once: its gid alone is the key.
			o.dedup = "asana:story:" + ev.Resource.GID + ":added"
		}
	default:
		return o, false
	}
	if o.task == "" && o.story == "" {
		return o, false
	}
	return o, true
}

// recorded counts what recordEvents did with a batch of events.
type recorded struct {
	// recorded changes; duplicates not recorded (recorded before, or of a
	// link whose connection does not sync).
	recorded, duplicates int
	// unlinked events concern tasks no link holds; ignored ones nothing a
	// link can hold.
	unlinked, ignored int
	// relevant says an event concerned a linked task.
	relevant bool
	// unplaced are story events whose task is unknown.
	unplaced int
	last     time.Time
}

// storyTasks maps a story to its task, for story events that name no
// parent; the poller asks Asana, the receiver cannot.
type storyTasks map[string]string

// recordEvents records in tx the change each event tells of, once per link
// of its task, and follows the project membership changes of linked tasks.
func (in *Intake) recordEvents(ctx context.Context, tx store.Tx, source string, evs []asana.Event, tasks storyTasks) (recorded, error) {
	var r recorded
	for _, ev := range evs {
		o, ok := observe(ev)
		if !ok {
			r.ignored++
			in.metrics.events.WithLabelValues(metricSource(source), "ignored").Inc()
			continue
		}
		linkIDs, links, err := in.linksOf(ctx, tx, o, tasks)
		if err != nil {
			return r, err
		}
		if o.task == "" && len(linkIDs) == 0 {
			r.unplaced++
			in.metrics.events.WithLabelValues(metricSource(source), "unplaced").Inc()
			continue
		}
		if len(linkIDs) == 0 {
			r.unlinked++
			in.metrics.events.WithLabelValues(metricSource(source), "unlinked").Inc()
			continue
		}
		r.relevant = true
		if o.at.After(r.last) {
			r.last = o.at
		}
		if err := followMembership(ctx, tx, o, links, in.cfg.Now()); err != nil {
			return r, err
		}
		for _, id := range linkIDs {
			ok, err := in.cfg.Recorder.RecordTx(ctx, tx, syncengine.Change{LinkID: id, Side: syncengine.SideAsana, Source: source,
				DedupKey: o.dedup, Kind: o.kind, Object: o.object, Actor: o.actor, Detail: o.detail, ObservedAt: o.at})
			if err != nil {
				return r, fmt.Errorf("asanaintake: record: %w", err)
			}
			outcome := "duplicate"
			if ok {
				r.recorded++
				outcome = "recorded"
			} else {
				r.duplicates++
			}
			in.metrics.events.WithLabelValues(metricSource(source), outcome).Inc()
		}
	}
	return r, nil
}

// linksOf finds the links an event concerns: those of its task, or, for a
// story event without a parent, those whose comment map holds the story.
func (in *Intake) linksOf(ctx context.Context, q store.Queries, o observed, tasks storyTasks) ([]int64, []store.Link, error) {
	task := o.task
	if task == "" {
		ids, err := q.LinksOfStory(ctx, o.story)
		if err != nil || len(ids) > 0 {
			return ids, nil, wrap("links of a story", err)
		}
		task = tasks[o.story]
		if task == "" {
			return nil, nil, nil
		}
	}
	links, err := q.ListLinksByTask(ctx, task)
	if err != nil {
		return nil, nil, wrap("links of a task", err)
	}
	ids := make([]int64, 0, len(links))
	for _, l := range links {
		ids = append(ids, l.ID)
	}
	return ids, links, nil
}

// followMembership keeps the task → project map current when a linked task
// joins or leaves a project.
func followMembership(ctx context.Context, q store.Queries, o observed, links []store.Link, now time.Time) error {
	if len(links) == 0 {
		return nil
	}
	switch {
	case o.addedTo != "":
		return wrap("follow a task's projects", q.AddAsanaTaskProject(ctx, o.task, o.addedTo, links[0].WorkspaceGID, now))
	case o.removedFrom != "":
		return wrap("follow a task's projects", q.RemoveAsanaTaskProject(ctx, o.task, o.removedFrom))
	}
	return nil
}

// unplacedStories lists the stories of events that name no task and that
// no link's comment map holds: the poller asks Asana for their task.
func (in *Intake) unplacedStories(ctx context.Context, evs []asana.Event) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, ev := range evs {
		o, ok := observe(ev)
		if !ok || o.task != "" || seen[o.story] {
			continue
		}
		seen[o.story] = true
		ids, err := in.st.LinksOfStory(ctx, o.story)
		if err != nil {
			return nil, wrap("links of a story", err)
		}
		if len(ids) == 0 {
			out = append(out, o.story)
		}
	}
	return out, nil
}

// storyTask asks Asana which task a story is on ("" when it is gone).
func storyTask(ctx context.Context, c *asana.Client, story string) (string, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "stories/"+url.PathEscape(story)+"?opt_fields=target", nil)
	if err != nil {
		return "", err
	}
	var s struct {
		Target *asana.Ref `json:"target"`
	}
	if _, err := c.Do(req, &s); err != nil {
		if errors.Is(err, asana.ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	if s.Target == nil || s.Target.ResourceType != "task" {
		return "", nil
	}
	return s.Target.GID, nil
}

func metricSource(source string) string {
	if source == SourceWebhook {
		return "webhook"
	}
	return "events"
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("asanaintake: %s: %w", op, err)
}
