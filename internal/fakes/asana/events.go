package asana

import (
	"net/http"
	"time"
)

// event is one change, recorded for the events API and for webhooks.
type event struct {
	seq      int64
	at       time.Time
	user     string
	action   string // added, changed, removed, deleted, undeleted
	resource obj
	parent   obj
	change   obj
	// scopes are the gids whose event streams and webhooks see the event:
	// the resource, its task and the task's projects (events bubble up).
	scopes []string
}

// json renders an event the way the events API and webhook bodies carry it.
func (ev event) json() obj {
	o := obj{
		"action":     ev.action,
		"created_at": ts(ev.at),
		"resource":   ev.resource,
		"type":       ev.resource["resource_type"],
	}
	if ev.user != "" {
		o["user"] = obj{"gid": ev.user, "resource_type": "user"}
	}
	if ev.parent != nil {
		o["parent"] = obj{"gid": ev.parent["gid"], "resource_type": ev.parent["resource_type"]}
	}
	if ev.change != nil {
		o["change"] = ev.change
	}
	return o
}

// maxEvents bounds the event log; older events fall off and sync tokens
// pointing before them are expired.
const maxEvents = 10000

// emitLocked records an event and queues it for matching webhooks. s.mu is held.
func (s *Server) emitLocked(ev event) {
	st := s.st
	st.eventSeq++
	ev.seq, ev.at = st.eventSeq, s.nowLocked()
	st.events = append(st.events, ev)
	if len(st.events) > maxEvents {
		st.events = st.events[len(st.events)-maxEvents:]
	}
	s.queueWebhookEventsLocked(ev)
}

type syncToken struct {
	resource string
	seq      int64
	created  time.Time
}

// syncTokenLifetime is how long an events sync token stays valid.
const syncTokenLifetime = 24 * time.Hour

const syncInvalidMsg = "Sync token invalid or too old. If you are attempting to keep resources in sync, you must fetch the full dataset for this query now and use the new sync token for the next sync."

// getEvents is GET /events?resource=&sync=: 412 with a fresh sync token on
// the first call or for an unknown or expired token; otherwise up to 100
// events since the token, has_more, and the next token.
func (s *Server) getEvents(w http.ResponseWriter, q *apiRequest) error {
	v := q.r.URL.Query()
	resource := v.Get("resource")
	if resource == "" {
		return errorf(http.StatusBadRequest, "resource: Missing input")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if st.lookupTask(resource) == nil && st.projects[resource] == nil && st.workspaces[resource] == nil {
		return errorf(http.StatusNotFound, "resource: Unknown object: %s", resource)
	}
	now := s.nowLocked()
	tok, ok := st.syncTokens[v.Get("sync")]
	oldest := int64(0)
	if len(st.events) > 0 {
		oldest = st.events[0].seq - 1
	}
	if !ok || tok.resource != resource || now.Sub(tok.created) > syncTokenLifetime || tok.seq < oldest {
		fresh := s.newSyncTokenLocked(resource, st.eventSeq, now)
		writeJSON(w, http.StatusPreconditionFailed, obj{
			"errors": []obj{{"message": syncInvalidMsg, "help": errorsHelp}},
			"sync":   fresh,
		})
		return nil
	}
	const maxPerCall = 100
	out := []obj{}
	last, hasMore := tok.seq, false
	for _, ev := range st.events {
		if ev.seq <= tok.seq || !containsString(ev.scopes, resource) {
			continue
		}
		if len(out) == maxPerCall {
			hasMore = true
			break
		}
		out = append(out, ev.json())
		last = ev.seq
	}
	if !hasMore {
		last = st.eventSeq
	}
	writeJSON(w, http.StatusOK, obj{"data": out, "sync": s.newSyncTokenLocked(resource, last, now), "has_more": hasMore})
	return nil
}

func (s *Server) newSyncTokenLocked(resource string, seq int64, now time.Time) string {
	tok := randomToken(16)
	s.st.syncTokens[tok] = syncToken{resource: resource, seq: seq, created: now}
	return tok
}
