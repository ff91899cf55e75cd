package setup

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
)

// FieldMapping is the field mapping saved for a connection (projectGID "")
// or the override of one of its routed projects; saved is false when none
// is (for a project: the connection's applies; for a connection: its
// fields do not sync), and m is then the defaults to start from.
func (s *Service) FieldMapping(ctx context.Context, gid, serverID, projectGID string) (m syncengine.Mapping, saved bool, err error) {
	fm, err := s.fieldMappings(ctx, gid, serverID, projectGID)
	if err != nil {
		return m, false, err
	}
	got, err := fm.GetMapping(ctx, gid, serverID, projectGID)
	switch {
	case errors.Is(err, syncengine.ErrNoMapping):
		if projectGID != "" { // an override starts from what applies today
			conn, cerr := fm.GetMapping(ctx, gid, serverID, "")
			switch {
			case cerr == nil:
				return conn.Mapping, false, nil
			case !errors.Is(cerr, syncengine.ErrNoMapping):
				return m, false, fmt.Errorf("setup: field mapping: %w", cerr)
			}
		}
		return syncengine.Mapping{}, false, nil
	case err != nil:
		return m, false, fmt.Errorf("setup: field mapping: %w", err)
	}
	return got.Mapping, true, nil
}

// SetFieldMapping saves the field mapping of a connection (projectGID "")
// or a routed project's override through the sync engine, and audits it;
// it reports whether anything changed. A connection's first mapping turns
// field sync on for its links.
func (s *Service) SetFieldMapping(ctx context.Context, actor Actor, gid, serverID, projectGID string, m syncengine.Mapping) (bool, error) {
	if err := need(actor); err != nil {
		return false, err
	}
	if err := m.Validate(); err != nil {
		return false, &Error{Code: Invalid, Err: err, Message: "The field mapping cannot be saved: " + strings.TrimPrefix(err.Error(), "syncengine: ")}
	}
	have, saved, err := s.FieldMapping(ctx, gid, serverID, projectGID)
	if err != nil {
		return false, err
	}
	if saved && sameMapping(have, m) {
		return false, nil
	}
	fm, _ := s.sync.(FieldMappings) // fieldMappings checked it
	if err := fm.PutMapping(ctx, gid, serverID, projectGID, m, string(actor)); err != nil {
		return false, fmt.Errorf("setup: save the field mapping: %w", err)
	}
	return true, s.audit(ctx, actor, "sync.fields", mappingTarget(gid, serverID, projectGID), describeMapping(m))
}

// RemoveFieldMapping removes a routed project's override (the connection's
// mapping applies to the project again) or a connection's mapping (its
// fields stop syncing), and audits it.
func (s *Service) RemoveFieldMapping(ctx context.Context, actor Actor, gid, serverID, projectGID string) error {
	if err := need(actor); err != nil {
		return err
	}
	fm, err := s.fieldMappings(ctx, gid, serverID, projectGID)
	if err != nil {
		return err
	}
	err = fm.DeleteMapping(ctx, gid, serverID, projectGID)
	switch {
	case errors.Is(err, syncengine.ErrNoMapping):
		return notFound("No field mapping is saved there.")
	case err != nil:
		return fmt.Errorf("setup: remove the field mapping: %w", err)
	}
	return s.audit(ctx, actor, "sync.fields.delete", mappingTarget(gid, serverID, projectGID), "")
}

// fieldMappings checks that a mapping can be kept where asked: a sync
// engine that keeps mappings, the connection, and for a project a route of
// that project to the connection's server.
func (s *Service) fieldMappings(ctx context.Context, gid, serverID, projectGID string) (FieldMappings, error) {
	if err := s.requireConnection(ctx, gid, serverID); err != nil {
		return nil, err
	}
	fm, ok := s.sync.(FieldMappings)
	if !ok {
		return nil, invalid("This asanajira's sync engine keeps no field mapping.")
	}
	if projectGID == "" {
		return fm, nil
	}
	routes, err := s.Routes(ctx, gid)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(routes, func(r store.ProjectRoute) bool { return r.ProjectGID == projectGID && r.JiraServerID == serverID }) {
		return nil, notFound("Asana project %q is not routed to this Jira server; a project's own mapping needs its route first.", projectGID)
	}
	return fm, nil
}

func mappingTarget(gid, serverID, projectGID string) string {
	if projectGID == "" {
		return gid + "/" + serverID
	}
	return gid + "/" + serverID + "/" + projectGID
}

// sameMapping says two mappings sync the same way.
func sameMapping(a, b syncengine.Mapping) bool {
	return reflect.DeepEqual(a.Directions(), b.Directions()) && slices.Equal(a.StatusSections, b.StatusSections) &&
		slices.Equal(a.Users, b.Users) && slices.Equal(a.DomainAliases, b.DomainAliases)
}
