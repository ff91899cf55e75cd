package asana

import (
	"net/http"
	"strings"
	"time"
)

// ref names a resource the way events carry it: its gid, type and subtype.
type ref struct {
	gid, typ, subtype string
}

// hook is the reference as webhook bodies carry it: gids and types only,
// never names or other field values.
func (r ref) hook() obj {
	o := obj{"gid": r.gid, "resource_type": r.typ}
	if r.subtype != "" {
		o["resource_subtype"] = r.subtype
	}
	return o
}

// changeValue is one value of an event's change (new_value, added_value or
// removed_value), rendered both ways at the time of the change.
type changeValue struct {
	hook obj // webhook bodies: only gids and types
	api  obj // the events API: the compact representation
}

// change is Event.change: which field changed and how.
type change struct {
	field, action                      string
	newValue, addedValue, removedValue *changeValue
}

func (c *change) render(api bool) obj {
	o := obj{"field": c.field, "action": c.action}
	for key, v := range map[string]*changeValue{"new_value": c.newValue, "added_value": c.addedValue, "removed_value": c.removedValue} {
		if v == nil {
			continue
		}
		if api {
			o[key] = v.api
		} else {
			o[key] = v.hook
		}
	}
	return o
}

// eventSpec is what a change records; emitLocked turns it into an event.
type eventSpec struct {
	user     string
	action   string // added, changed, removed, deleted, undeleted
	resource ref
	parent   *ref // for added and removed: where the resource was added or removed
	change   *change
	// scopes are the gids whose event streams and webhooks see the event:
	// the resource, its task and the task's projects (events bubble up).
	scopes []string
}

// event is one recorded change, for the events API and for webhooks. Both
// renderings are made when it happens, so later renames do not rewrite it.
type event struct {
	seq    int64
	at     time.Time
	action string
	scopes []string
	field  string // change.field, for webhook filters
	// hook is the webhook body's event: gids and types only (Asana's
	// webhooks never carry names or values); api is the events API's
	// compact representation.
	hook, api obj
	// Delivery faults for the events API, decided when it happened.
	visibleAt time.Time // not listed before this time (delay_ms)
	dropped   bool      // never listed (drop_rate)
	copies    int       // listed this many times (duplicate_rate)
}

// emitLocked records an event and queues it for matching webhooks. s.mu is held.
func (s *Server) emitLocked(spec eventSpec) {
	st := s.st
	st.eventSeq++
	now := s.nowLocked()
	ev := &event{seq: st.eventSeq, at: now, action: spec.action, scopes: spec.scopes}
	ev.hook = obj{"action": spec.action, "created_at": ts(now), "resource": spec.resource.hook(), "parent": nil}
	ev.api = obj{"action": spec.action, "created_at": ts(now), "resource": st.compactRef(spec.resource),
		"type": spec.resource.typ, "parent": nil, "user": nil}
	if spec.user != "" {
		ev.hook["user"] = ref{gid: spec.user, typ: "user"}.hook()
		ev.api["user"] = st.compactRef(ref{gid: spec.user, typ: "user"})
	}
	if spec.parent != nil {
		ev.hook["parent"] = spec.parent.hook()
		ev.api["parent"] = st.compactRef(*spec.parent)
	}
	if spec.change != nil {
		ev.field = spec.change.field
		ev.hook["change"] = spec.change.render(false)
		ev.api["change"] = spec.change.render(true)
	}
	f := st.faults
	ev.visibleAt, ev.copies = now, 1
	if f.appliesTo(scopeEvents) {
		ev.visibleAt = now.Add(s.deliveryDelayLocked())
		ev.dropped = f.DropRate > 0 && st.rng.Float64() < f.DropRate
		if f.DuplicateRate > 0 && st.rng.Float64() < f.DuplicateRate {
			ev.copies = 2
		}
	}
	st.events = append(st.events, ev)
	if len(st.events) > maxEvents {
		st.events = st.events[len(st.events)-maxEvents:]
	}
	s.queueWebhookEventsLocked(ev)
}

// compactRef renders a reference as the events API does: the resource's
// compact representation as it is now.
func (st *state) compactRef(r ref) obj {
	o := obj{"gid": r.gid, "resource_type": r.typ}
	if r.subtype != "" {
		o["resource_subtype"] = r.subtype
	}
	switch r.typ {
	case "task":
		return st.taskCompact(r.gid)
	case "user":
		if u := st.users[r.gid]; u != nil {
			o["name"] = u.name
		}
	case "project":
		if p := st.projects[r.gid]; p != nil {
			o["name"] = p.name
		}
	case "section":
		if sec := st.sections[r.gid]; sec != nil {
			o["name"] = sec.name
		}
	case "story":
		if sy := st.stories[r.gid]; sy != nil {
			o = compactOf(st.storyObj(sy))
		}
	case "attachment":
		if a := st.attachments[r.gid]; a != nil {
			o["name"] = a.name
		}
	case "custom_field":
		if cf := st.customFields[r.gid]; cf != nil {
			o["name"] = cf.name
		}
	case "enum_option":
		if e := st.enumOptions[r.gid]; e != nil {
			o = st.enumOptionObj(e.gid)
		}
	}
	return o
}

// maxEvents bounds the event log; older events fall off and sync tokens
// pointing before them are expired.
const maxEvents = 10000

type syncToken struct {
	resource string
	seq      int64
	created  time.Time
}

// syncTokenLifetime is how long an events sync token stays valid (Asana:
// "within 24 hours, and sooner").
const syncTokenLifetime = 24 * time.Hour

const syncInvalidMsg = "Sync token invalid or too old. If you are attempting to keep resources in sync, you must fetch the full dataset for this query now and use the new sync token for the next sync."

// eventOptFields are the opt_fields GET /events accepts.
var eventOptFields = []string{"action", "change", "change.action", "change.added_value", "change.field",
	"change.new_value", "change.removed_value", "created_at", "parent", "parent.name", "resource",
	"resource.name", "type", "user", "user.name"}

// getEvents is GET /events?resource=&sync=: 412 with a fresh sync token on
// the first call or for an unknown or expired token; otherwise up to 100
// events since the token, has_more, and the next token.
func (s *Server) getEvents(w http.ResponseWriter, q *apiRequest) error {
	v := q.r.URL.Query()
	resource := v.Get("resource")
	if resource == "" {
		return errorf(http.StatusBadRequest, "resource: Missing input")
	}
	for _, f := range q.optFields {
		if !containsString(eventOptFields, f) {
			return errorf(http.StatusBadRequest, "opt_fields: %s is not a valid field for events. Valid fields: %s", f, strings.Join(eventOptFields, ", "))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if st.lookupTask(resource) == nil && st.projects[resource] == nil {
		return errorf(http.StatusNotFound, "resource: Unknown object: %s", resource)
	}
	now := s.nowLocked()
	tok, ok := st.syncTokens[v.Get("sync")]
	oldest := int64(0)
	if len(st.events) > 0 {
		oldest = st.events[0].seq - 1
	}
	lifetime := syncTokenLifetime
	if ms := st.faults.SyncTokenTTLMS; ms > 0 {
		lifetime = time.Duration(ms) * time.Millisecond
	}
	if !ok || tok.resource != resource || now.Sub(tok.created) >= lifetime || tok.seq < oldest || st.faults.ExpireSyncTokens {
		fresh := s.newSyncTokenLocked(resource, st.eventSeq, now)
		// Exactly Asana's answer: no help link, the fresh token beside errors.
		writeJSON(w, http.StatusPreconditionFailed, obj{"errors": []obj{{"message": syncInvalidMsg}}, "sync": fresh})
		return nil
	}
	const maxPerCall = 100
	out := []obj{}
	last, hasMore, held := tok.seq, false, false
	for _, ev := range st.events {
		if ev.seq <= tok.seq || !containsString(ev.scopes, resource) {
			continue
		}
		if now.Before(ev.visibleAt) {
			// Delayed: it and everything after it wait for a later call.
			held = true
			break
		}
		if len(out)+ev.copies > maxPerCall {
			hasMore = true
			break
		}
		last = ev.seq
		if ev.dropped {
			continue
		}
		for range ev.copies {
			out = append(out, selectEvent(ev.api, q.optFields))
		}
	}
	if !hasMore && !held {
		last = st.eventSeq
	}
	if st.faults.Reorder && st.faults.appliesTo(scopeEvents) {
		st.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	writeJSON(w, http.StatusOK, obj{"data": out, "sync": s.newSyncTokenLocked(resource, last, now), "has_more": hasMore})
	return nil
}

// selectEvent applies opt_fields to an event: named fields only, and for
// resource, parent and user with a sub-field, the gid and that field.
func selectEvent(full obj, fields []string) obj {
	if len(fields) == 0 {
		return full
	}
	out := obj{}
	for _, f := range fields {
		head, sub, _ := strings.Cut(f, ".")
		v, present := full[head]
		if !present {
			continue
		}
		if sub == "" {
			out[head] = v
			continue
		}
		src, _ := v.(obj)
		if src == nil {
			if _, set := out[head]; !set {
				out[head] = v
			}
			continue
		}
		dst, _ := out[head].(obj)
		if dst == nil {
			dst = obj{}
			if g, ok := src["gid"]; ok && head != "change" {
				dst["gid"] = g
			}
			out[head] = dst
		}
		if sv, ok := src[sub]; ok {
			dst[sub] = sv
		}
	}
	return out
}

func (s *Server) newSyncTokenLocked(resource string, seq int64, now time.Time) string {
	tok := randomToken(16)
	s.st.syncTokens[tok] = syncToken{resource: resource, seq: seq, created: now}
	return tok
}
