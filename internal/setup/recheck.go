package setup

import (
	"context"
	"errors"
	"fmt"

	"github.com/asanajira/asanajira/internal/doctor"
	"github.com/asanajira/asanajira/internal/store"
)

// ErrChecksFailed is matched (errors.Is) by RegisterServer's error when the
// input asked to refuse a server whose required checks fail and they did;
// the Registration then carries the doctor's report, and nothing was
// recorded.
var ErrChecksFailed = errors.New("setup: the Jira server failed its required checks")

// Recheck runs the doctor on a recorded server and records what it found:
// the version Jira reports, the time of the check and the status that
// follows (unreachable; needs setup while there is no application link;
// connected or link check failed by the signed request-token check). A
// status the checks cannot decide stays as it was. A change of status is
// written to the audit log; a check that changes nothing is not a change
// of the setup and is not.
func (s *Service) Recheck(ctx context.Context, actor Actor, id string) (store.JiraServer, DoctorReport, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, DoctorReport{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, DoctorReport{}, err
	}
	rep := s.Doctor(ctx, srv)
	was := srv.Status
	srv.Status = statusAfter(srv, rep)
	if rep.Version != "" {
		srv.Version = rep.Version
	}
	srv.CheckedAt = s.now()
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return srv, rep, fmt.Errorf("setup: record the checks: %w", err)
	}
	if srv.Status != was {
		if err := s.audit(ctx, actor, "server.status", srv.ID, fmt.Sprintf("%s → %s after the checks ran again", was, srv.Status)); err != nil {
			return srv, rep, err
		}
	}
	return srv, rep, nil
}

// statusAfter is a server's status after the doctor's report.
func statusAfter(srv store.JiraServer, rep DoctorReport) string {
	check := func(id string) string {
		for _, c := range rep.Checks {
			if c.ID == id {
				return c.Status
			}
		}
		return ""
	}
	switch {
	case check(doctor.CheckServerInfo) != string(doctor.StatusPass):
		return StatusUnreachable
	case srv.AppLinkID == "":
		return StatusNeedsSetup
	}
	switch check(doctor.CheckOAuthRequest) {
	case string(doctor.StatusPass):
		return StatusConnected
	case string(doctor.StatusFail):
		return StatusLinkFailed
	}
	return srv.Status
}
