package setup

import (
	"context"
	"time"

	"github.com/asanajira/asanajira/internal/doctor"
	"github.com/asanajira/asanajira/internal/store"
)

// DoctorFunc checks a Jira server the way `asanajira doctor` does. It never
// fails: every problem is a failed check in the report.
type DoctorFunc func(ctx context.Context, req DoctorRequest) DoctorReport

// DoctorRequest says which Jira to check.
type DoctorRequest struct {
	// JiraURL is Jira's public base URL; ConnectTo optionally reroutes the
	// TCP dial ("host:port").
	JiraURL   string
	ConnectTo string
	// ConsumerKey and PrivateKeyPEM, once the application link exists, let
	// the doctor sign a request-token call.
	ConsumerKey   string
	PrivateKeyPEM []byte
	// CABundlePEM is the server's CA bundle, trusted besides the system's
	// CAs for Jira's TLS certificate.
	CABundlePEM []byte
}

// DoctorReport is the doctor's verdict.
type DoctorReport struct {
	Version string        `json:"version,omitempty"`
	OK      bool          `json:"ok"`
	Checks  []DoctorCheck `json:"checks"`
}

// DoctorCheck is one row of the doctor's table.
type DoctorCheck struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Evidence string `json:"evidence,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// runDoctor is the default DoctorFunc: internal/doctor without admin
// credentials (setup never keeps them), with the application link's
// consumer once there is one.
func runDoctor(ctx context.Context, req DoctorRequest) DoctorReport {
	rep := doctor.Run(ctx, doctor.Options{
		JiraURL:       req.JiraURL,
		ConnectTo:     req.ConnectTo,
		ConsumerKey:   req.ConsumerKey,
		PrivateKeyPEM: req.PrivateKeyPEM,
		CABundlePEM:   req.CABundlePEM,
	})
	out := DoctorReport{Version: rep.Version, OK: rep.OK, Checks: []DoctorCheck{}}
	for _, ch := range rep.Checks {
		out.Checks = append(out.Checks, DoctorCheck{ID: ch.ID, Title: ch.Title, Status: string(ch.Status), Evidence: ch.Evidence, Fix: ch.Fix})
	}
	return out
}

// doctorTimeout bounds one doctor run.
const doctorTimeout = 45 * time.Second

// Doctor checks a recorded server with its network settings and, once the
// application link exists, its consumer.
func (s *Service) Doctor(ctx context.Context, srv store.JiraServer) DoctorReport {
	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	req := DoctorRequest{JiraURL: srv.BaseURL, ConnectTo: srv.ConnectAddress, CABundlePEM: []byte(srv.CABundlePEM)}
	if srv.AppLinkID != "" {
		req.ConsumerKey, req.PrivateKeyPEM = srv.ConsumerKey, []byte(srv.PrivateKeyPEM.Reveal())
	}
	return s.doctor(ctx, req)
}
