package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/bench/internal/harness"
)

// Sides of a link.
const (
	sideJira  = "jira"
	sideAsana = "asana"
)

func other(side string) string {
	if side == sideJira {
		return sideAsana
	}
	return sideJira
}

// pair is a task and an issue: linked (the bridge syncs them) or not (the
// direct baseline works on them).
type pair struct {
	task, issue string
}

// A change is one kind of change the benchmark makes on one side of a pair
// and watches arrive on the other. Comments are the first kind; a field
// change (the field mapping) is another: it writes a field on one side,
// reads the item back, and its arrival is the bridge's update of the other
// side carrying the marker.
type change interface {
	// write makes the change, carrying marker, on side of p, as alice
	// through the emulator's REST API.
	write(ctx context.Context, e *env, side string, p pair, marker string) error
	// read reads side of p as a sync run must before it writes the other
	// (the direct baseline's middle step).
	read(ctx context.Context, e *env, side string, p pair) error
	// carries reports whether a request to an emulator ("jira" or
	// "asana") is a write that may carry a change of this kind: its body
	// is then searched for the markers awaited.
	carries(emulator, method, path string) bool
}

var changes = map[string]change{
	"comment": comment{},
	"name":    name{},
}

func changeNames() []string { return slices.Sorted(maps.Keys(changes)) }

// comment is a comment on the issue or a comment story on the task.
type comment struct{}

func (comment) write(ctx context.Context, e *env, side string, p pair, marker string) error {
	text := "Benchmark comment " + marker
	if side == sideJira {
		req, err := e.w.JiraRequest(ctx, http.MethodPost, "/rest/api/2/issue/"+p.issue+"/comment", map[string]any{"body": text})
		if err != nil {
			return err
		}
		return harness.DoJSON(e.client, req, http.StatusCreated, nil)
	}
	req, err := e.w.AsanaRequest(ctx, http.MethodPost, "/tasks/"+p.task+"/stories", map[string]any{"data": map[string]any{"text": text}})
	if err != nil {
		return err
	}
	return harness.DoJSON(e.client, req, http.StatusCreated, nil)
}

func (comment) read(ctx context.Context, e *env, side string, p pair) error {
	if side == sideJira {
		req, err := e.w.JiraRequest(ctx, http.MethodGet, "/rest/api/2/issue/"+p.issue+"/comment", nil)
		if err != nil {
			return err
		}
		return harness.DoJSON(e.client, req, http.StatusOK, nil)
	}
	req, err := e.w.AsanaRequest(ctx, http.MethodGet, "/tasks/"+p.task+"/stories", nil)
	if err != nil {
		return err
	}
	return harness.DoJSON(e.client, req, http.StatusOK, nil)
}

func (comment) carries(emulator, method, path string) bool {
	if method != http.MethodPost {
		return false
	}
	if emulator == sideJira {
		return strings.Contains(path, "/rest/api/2/issue/") && strings.HasSuffix(path, "/comment")
	}
	return strings.HasPrefix(path, "/api/1.0/tasks/") && strings.HasSuffix(path, "/stories")
}

// name is a field change: the task's name on Asana's side, the issue's
// summary on Jira's, which the demo's field mapping syncs both ways.
type name struct{}

func (name) write(ctx context.Context, e *env, side string, p pair, marker string) error {
	text := "Benchmark name " + marker
	if side == sideJira {
		req, err := e.w.JiraRequest(ctx, http.MethodPut, "/rest/api/2/issue/"+p.issue, map[string]any{"fields": map[string]any{"summary": text}})
		if err != nil {
			return err
		}
		return harness.DoJSON(e.client, req, http.StatusNoContent, nil)
	}
	req, err := e.w.AsanaRequest(ctx, http.MethodPut, "/tasks/"+p.task, map[string]any{"data": map[string]any{"name": text}})
	if err != nil {
		return err
	}
	return harness.DoJSON(e.client, req, http.StatusOK, nil)
}

func (name) read(ctx context.Context, e *env, side string, p pair) error {
	if side == sideJira {
		req, err := e.w.JiraRequest(ctx, http.MethodGet, "/rest/api/2/issue/"+p.issue, nil)
		if err != nil {
			return err
		}
		return harness.DoJSON(e.client, req, http.StatusOK, nil)
	}
	req, err := e.w.AsanaRequest(ctx, http.MethodGet, "/tasks/"+p.task, nil)
	if err != nil {
		return err
	}
	return harness.DoJSON(e.client, req, http.StatusOK, nil)
}

// carries: the issue's or the task's own PUT, not one of its sub-resources.
func (name) carries(emulator, method, path string) bool {
	if method != http.MethodPut {
		return false
	}
	prefix := "/api/1.0/tasks/"
	if emulator == sideJira {
		prefix = "/rest/api/2/issue/"
	}
	i := strings.Index(path, prefix)
	return i >= 0 && !strings.Contains(path[i+len(prefix):], "/")
}

// direct does the work of one change without the bridge, on an unlinked
// pair: the write on from, the read of from, the write on the other side.
func direct(ctx context.Context, e *env, kind change, from string, p pair, marker string) error {
	if err := kind.write(ctx, e, from, p, marker); err != nil {
		return fmt.Errorf("direct write on %s: %w", from, err)
	}
	if err := kind.read(ctx, e, from, p); err != nil {
		return fmt.Errorf("direct read of %s: %w", from, err)
	}
	if err := kind.write(ctx, e, other(from), p, marker); err != nil {
		return fmt.Errorf("direct write on %s: %w", other(from), err)
	}
	return nil
}
