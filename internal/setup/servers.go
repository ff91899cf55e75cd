package setup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/credentials"
	"github.com/asanajira/asanajira/internal/jira"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
)

// Server statuses, as the faces show them.
const (
	StatusNeedsSetup  = "needs setup"
	StatusUnreachable = "unreachable"
	StatusConnected   = "connected"
	StatusLinkFailed  = "link check failed"
)

// ManualLinkID marks an application link an admin created by hand: its
// Jira id is unknown to asanajira.
const ManualLinkID = "manual"

// jiraTimeout bounds each setup call to Jira.
const jiraTimeout = 30 * time.Second

// ServerInput describes a Jira server to register.
type ServerInput struct {
	// BaseURL is Jira's base URL as users open it; required.
	BaseURL string
	// Name is how asanajira shows it; "" means the URL's host.
	Name string
	// ConnectAddress ("host:port") reroutes the TCP dial.
	ConnectAddress string
	// CABundlePEM holds the CA certificate(s) of a Jira behind a private CA.
	CABundlePEM string
	// RefuseFailing records nothing when the doctor finds a required
	// check failing: RegisterServer then returns ErrChecksFailed with the
	// report, so an admin can fix the input or insist.
	RefuseFailing bool
}

// Registration is a newly registered server with the doctor's verdict,
// which ran before anything was recorded.
type Registration struct {
	Server store.JiraServer
	Doctor DoctorReport
}

// ErrPrivateKeyInBundle is matched (errors.Is) by the error of a CA bundle
// that holds a private key; a face must not show such text again.
var ErrPrivateKeyInBundle = errors.New("setup: a private key in the CA bundle")

// checkServerInput validates in and returns Jira's normalized base URL and
// the normalized CA bundle.
func checkServerInput(in ServerInput) (baseURL, bundle string, err error) {
	base, err := jira.ParseBaseURL(strings.TrimSpace(in.BaseURL))
	if strings.TrimSpace(in.BaseURL) == "" || err != nil {
		return "", "", invalid("Enter Jira's base URL as users open it, like https://jira.example.com or https://example.com/jira.")
	}
	if in.ConnectAddress != "" {
		if _, _, err := net.SplitHostPort(in.ConnectAddress); err != nil {
			return "", "", invalid("The connect address must be host:port, like 10.0.0.5:8080.")
		}
	}
	if bundle, err = NormalizeCABundle(in.CABundlePEM); err != nil {
		return "", "", err
	}
	return strings.TrimRight(base.String(), "/"), bundle, nil
}

// RegisterServer records a Jira server with a fresh key pair, consumer key
// and webhook secret. The doctor checks it first; a server the doctor
// cannot reach is still recorded (the report says why) unless
// in.RefuseFailing, Jira Cloud is refused. The application link is made afterwards (ConnectAutomatic, or
// by hand and Verify).
func (s *Service) RegisterServer(ctx context.Context, actor Actor, in ServerInput) (Registration, error) {
	if err := need(actor); err != nil {
		return Registration{}, err
	}
	baseURL, bundle, err := checkServerInput(in)
	if err != nil {
		return Registration{}, err
	}
	if old, found, err := s.serverByBaseURL(ctx, baseURL); err != nil || found {
		if err == nil {
			err = &Error{Code: Conflict, Message: fmt.Sprintf("A Jira server with this base URL is already connected: %q (%s).", old.Name, old.ID)}
		}
		return Registration{}, err
	}
	in.ConnectAddress = strings.TrimSpace(in.ConnectAddress)
	rep := func() DoctorReport {
		ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
		defer cancel()
		return s.doctor(ctx, DoctorRequest{JiraURL: baseURL, ConnectTo: in.ConnectAddress, CABundlePEM: []byte(bundle)})
	}()
	if in.RefuseFailing && !rep.OK {
		return Registration{Doctor: rep}, &Error{Code: Invalid, Err: ErrChecksFailed,
			Message: "Jira did not pass its required checks, so nothing was saved. The checks below say what to fix; save anyway only if you will fix Jira later."}
	}
	srv, err := s.recordServer(ctx, baseURL, strings.TrimSpace(in.Name), in.ConnectAddress, bundle)
	if err != nil {
		return Registration{Doctor: rep}, err
	}
	detail := fmt.Sprintf("%s at %s, Jira %s, consumer key %s", srv.Name, srv.BaseURL, orUnknown(srv.Version), srv.ConsumerKey)
	if n := len(BundleCerts(srv.CABundlePEM)); n > 0 {
		detail += fmt.Sprintf(", CA bundle of %d certificate(s)", n)
	}
	if !rep.OK {
		detail += "; the doctor found problems"
	}
	if err := s.audit(ctx, actor, "server.create", srv.ID, detail); err != nil {
		return Registration{Server: srv, Doctor: rep}, err
	}
	return Registration{Server: srv, Doctor: rep}, nil
}

// recordServer stores a new Jira server with its detected version, default
// auth methods, a fresh key pair and webhook secret.
func (s *Service) recordServer(ctx context.Context, baseURL, name, connectAddress, bundle string) (store.JiraServer, error) {
	srv := store.JiraServer{Name: name, BaseURL: baseURL, ConnectAddress: connectAddress, CABundlePEM: bundle,
		Status: StatusNeedsSetup, CheckedAt: s.now()}
	if srv.Name == "" {
		srv.Name = hostOf(baseURL)
	}
	if info, err := s.serverInfo(ctx, &srv, nil); err != nil {
		srv.Status = StatusUnreachable
	} else {
		if info.IsCloud() {
			return srv, invalid("This is Jira Cloud; asanajira connects Jira Server and Data Center only.")
		}
		srv.Version = info.ParsedVersion().String()
	}
	srv.AuthMethods = defaultMethods(srv.Version)
	kp, err := secrets.GenerateKeyPair(secrets.MinRSABits, "")
	if err != nil {
		return srv, fmt.Errorf("setup: generate the application link's keys: %w", err)
	}
	srv.ConsumerKey, srv.PrivateKeyPEM, srv.PublicKeyPEM = kp.ConsumerKey, store.Secret(kp.PrivateKeyPEM), kp.PublicKeyPEM
	srv.WebhookSecret = store.Secret(randomToken(32))
	if err := s.st.CreateJiraServer(ctx, &srv); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return srv, &Error{Code: Conflict, Err: err, Message: "A Jira server with this base URL is already connected."}
		}
		return srv, fmt.Errorf("setup: record the server: %w", err)
	}
	return srv, nil
}

func hostOf(baseURL string) string {
	if u, err := jira.ParseBaseURL(baseURL); err == nil {
		return u.Host
	}
	return baseURL
}

// defaultMethods preselects the user auth methods a Jira version offers
// without further setup: OAuth 1.0a everywhere, personal access tokens from
// 8.14. OAuth 2.0 is added once its client id and secret are entered.
func defaultMethods(version string) []store.AuthMethod {
	ms := []store.AuthMethod{store.AuthOAuth1}
	if v, err := jira.ParseVersion(version); err == nil && v.Features().PersonalAccessTokens {
		ms = append(ms, store.AuthPAT)
	}
	return ms
}

func orUnknown(v string) string {
	if v == "" {
		return "version unknown"
	}
	return v
}

// Servers lists the recorded Jira servers in name order.
func (s *Service) Servers(ctx context.Context) ([]store.JiraServer, error) {
	all, err := s.st.ListJiraServers(ctx)
	if err != nil {
		return nil, fmt.Errorf("setup: list servers: %w", err)
	}
	return all, nil
}

// Server returns a recorded server by id.
func (s *Service) Server(ctx context.Context, id string) (store.JiraServer, error) {
	srv, err := s.st.GetJiraServer(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return srv, notFound("No Jira server %q; it may have been removed.", id)
	}
	if err != nil {
		return srv, fmt.Errorf("setup: %w", err)
	}
	return srv, nil
}

// FindServer returns the server a person names: by id, base URL or name.
func (s *Service) FindServer(ctx context.Context, ref string) (store.JiraServer, error) {
	ref = strings.TrimSpace(ref)
	all, err := s.st.ListJiraServers(ctx)
	if err != nil {
		return store.JiraServer{}, fmt.Errorf("setup: %w", err)
	}
	url := strings.TrimRight(ref, "/")
	srv, n := pick(all, func(srv store.JiraServer) bool { return srv.ID == ref || strings.EqualFold(srv.BaseURL, url) },
		func(srv store.JiraServer) bool { return strings.EqualFold(srv.Name, ref) })
	switch n {
	case 1:
		return srv, nil
	case 0:
		return srv, notFound("No Jira server %q: name one by its id, base URL or name.", ref)
	}
	return srv, invalid("%d Jira servers are named %q; name one by its id or base URL.", n, ref)
}

// pick returns the item a person's reference names: the one that matches
// exactly, else the only one whose name matches. n is how many matched
// (more than one: the reference is ambiguous).
func pick[T any](all []T, exact, named func(T) bool) (item T, n int) {
	var byName []T
	for _, x := range all {
		if exact(x) {
			return x, 1
		}
		if named(x) {
			byName = append(byName, x)
		}
	}
	if len(byName) == 1 {
		return byName[0], 1
	}
	return item, len(byName)
}

func (s *Service) serverByBaseURL(ctx context.Context, baseURL string) (store.JiraServer, bool, error) {
	all, err := s.st.ListJiraServers(ctx)
	if err != nil {
		return store.JiraServer{}, false, fmt.Errorf("setup: %w", err)
	}
	for _, srv := range all {
		if strings.EqualFold(srv.BaseURL, baseURL) {
			return srv, true, nil
		}
	}
	return store.JiraServer{}, false, nil
}

// ServerChanges are the settings UpdateServer changes; nil leaves one as is.
type ServerChanges struct {
	Name           *string
	ConnectAddress *string
}

// UpdateServer renames a server or changes its connect address.
func (s *Service) UpdateServer(ctx context.Context, actor Actor, id string, ch ServerChanges) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, err
	}
	var changed []string
	if ch.Name != nil {
		name := strings.TrimSpace(*ch.Name)
		if name == "" {
			return srv, invalid("A Jira server needs a name.")
		}
		if name != srv.Name {
			changed = append(changed, fmt.Sprintf("name %q → %q", srv.Name, name))
			srv.Name = name
		}
	}
	if ch.ConnectAddress != nil {
		addr := strings.TrimSpace(*ch.ConnectAddress)
		if addr != "" {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return srv, invalid("The connect address must be host:port, like 10.0.0.5:8080.")
			}
		}
		if addr != srv.ConnectAddress {
			changed = append(changed, fmt.Sprintf("connect address %q → %q", srv.ConnectAddress, addr))
			srv.ConnectAddress = addr
		}
	}
	if len(changed) == 0 {
		return srv, nil
	}
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return srv, fmt.Errorf("setup: update server: %w", err)
	}
	return srv, s.audit(ctx, actor, "server.update", srv.ID, strings.Join(changed, ", "))
}

// transport returns the network transport for one Jira server: the
// configured one when tests supplied it, else one that honours the
// server's connect address and CA bundle.
func (s *Service) transport(srv *store.JiraServer) (http.RoundTripper, error) {
	if s.rt != nil {
		return s.rt, nil
	}
	t, err := jira.NewTransport(srv.BaseURL, credentials.ServerTransportOptions(*srv))
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return t, nil
}

// jiraClient returns a client for srv authenticated by wrap (nil means
// anonymous). Setup calls are not retried: the admin sees each failure.
func (s *Service) jiraClient(srv *store.JiraServer, wrap func(http.RoundTripper) http.RoundTripper) (*jira.Client, error) {
	rt, err := s.transport(srv)
	if err != nil {
		return nil, err
	}
	if wrap != nil {
		rt = wrap(rt)
	}
	cl, err := jira.New(srv.BaseURL, jira.NewHTTPClient(rt, jiraTimeout), jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return cl, nil
}

func (s *Service) serverInfo(ctx context.Context, srv *store.JiraServer, wrap func(http.RoundTripper) http.RoundTripper) (*jira.ServerInfo, error) {
	cl, err := s.jiraClient(srv, wrap)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return cl.ServerInfo(ctx)
}
