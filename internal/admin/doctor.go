package admin

import (
	"context"

	"github.com/asanajira/asanajira/internal/doctor"
)

// DoctorFunc checks a Jira server the way `asanajira doctor` does, for the
// table shown while a server is connected. It never fails: every problem is
// a failed check in the report.
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

// DoctorReport is the doctor's verdict, in the console's own terms.
type DoctorReport struct {
	Version string
	OK      bool
	Checks  []DoctorCheck
}

// DoctorCheck is one row of the doctor table.
type DoctorCheck struct {
	ID, Title, Status, Evidence, Fix string
}

// runDoctor is the default DoctorFunc: internal/doctor without admin
// credentials (the console never keeps them), with the application link's
// consumer once there is one.
func runDoctor(ctx context.Context, req DoctorRequest) DoctorReport {
	rep := doctor.Run(ctx, doctor.Options{
		JiraURL:       req.JiraURL,
		ConnectTo:     req.ConnectTo,
		ConsumerKey:   req.ConsumerKey,
		PrivateKeyPEM: req.PrivateKeyPEM,
		CABundlePEM:   req.CABundlePEM,
	})
	out := DoctorReport{Version: rep.Version, OK: rep.OK}
	for _, ch := range rep.Checks {
		out.Checks = append(out.Checks, DoctorCheck{ID: ch.ID, Title: ch.Title, Status: string(ch.Status), Evidence: ch.Evidence, Fix: ch.Fix})
	}
	return out
}
