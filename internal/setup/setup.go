// Package setup owns how asanajira is connected to Jira and Asana: Jira
// server registration (the doctor first), the application link's key pair,
// the application link created automatically with a Jira administrator's
// credentials or by hand and verified, the OAuth 2.0 client of an incoming
// link, webhook registration and repair, CA bundles, the sign-in methods
// users are offered, removal (undoing in Jira only what exists), the Asana
// workspaces with their connections, each connection's two-way sync
// settings (kept by the sync engine) and per-project routing, and the
// declarative setup file that `asanajira apply` converges to.
//
// It is the one implementation behind four faces: the admin console, the
// command line, the JSON admin API and `asanajira apply`. Every change is
// written to the audit log with the actor who made it (an admin, a command
// line user, an API token), and every Jira call goes through internal/jira.
// A Jira administrator's credentials are used for the call at hand and
// never stored, logged or put into an error.
package setup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// Deps are the service's collaborators and settings.
type Deps struct {
	// Store is asanajira's database; required.
	Store store.Store
	// PublicURL is asanajira's URL as browsers and Jira reach it; required.
	// The application link and the webhook point at it.
	PublicURL string
	// JiraOAuth2RedirectURL is the redirect URL of users' Jira OAuth 2.0
	// authorizations, entered in Jira's incoming link; "" means PublicURL
	// + /connect/oauth2/callback.
	JiraOAuth2RedirectURL string
	// Doctor checks a Jira server; nil means internal/doctor.
	Doctor DoctorFunc
	// Transport carries every Jira call when set (tests); nil gives each
	// server its own transport honouring its connect address and CA bundle.
	Transport http.RoundTripper
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives what the service does on its own; nil discards.
	Log *slog.Logger
	// Sync takes each connection's sync settings from a setup file; nil
	// refuses files that set them.
	Sync SyncSettings
}

// Service performs setup operations. It is safe for concurrent use.
type Service struct {
	st       store.Store
	public   string
	redirect string
	doctor   DoctorFunc
	rt       http.RoundTripper
	now      func() time.Time
	log      *slog.Logger
	sync     SyncSettings
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Store == nil {
		return nil, errors.New("setup: Deps.Store is required")
	}
	pu, err := url.Parse(d.PublicURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("setup: public URL %q must be an http(s) URL", d.PublicURL)
	}
	s := &Service{st: d.Store, public: strings.TrimRight(d.PublicURL, "/"), redirect: d.JiraOAuth2RedirectURL,
		doctor: d.Doctor, rt: d.Transport, now: d.Now, log: d.Log, sync: d.Sync}
	if s.redirect == "" {
		s.redirect = s.public + "/connect/oauth2/callback"
	}
	if s.doctor == nil {
		s.doctor = runDoctor
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// PublicURL is asanajira's URL as Jira reaches it.
func (s *Service) PublicURL() string { return s.public }

// OAuth2RedirectURL is the redirect URL to enter in Jira's OAuth 2.0
// incoming link.
func (s *Service) OAuth2RedirectURL() string { return s.redirect }

// Actor is who makes a change, as the audit log names them. The faces build
// it from who is really there: a signed-in admin, the command line's user,
// an admin API token.
type Actor string

// AdminActor is an admin signed in to the console.
func AdminActor(name, gid string) Actor {
	if gid == "" {
		return Actor(name)
	}
	return Actor(name + " (" + gid + ")")
}

// CommandLineActor is the operating-system user running a command.
func CommandLineActor(user, command string) Actor {
	if user == "" {
		user = "unknown user"
	}
	return Actor(user + " (asanajira " + command + ")")
}

// APITokenActor is a caller of the admin API, by its token's name and id.
func APITokenActor(name, id string) Actor {
	return Actor("API token " + name + " (" + id + ")")
}

var errNoActor = errors.New("setup: every change needs an actor for the audit log")

// need refuses a change without an actor before anything changes.
func need(actor Actor) error {
	if strings.TrimSpace(string(actor)) == "" {
		return errNoActor
	}
	return nil
}

// audit writes one audit entry. A change whose entry cannot be written is
// reported as failed, so the log never silently misses a change.
func (s *Service) audit(ctx context.Context, actor Actor, action, target, detail string) error {
	if err := need(actor); err != nil {
		return err
	}
	if err := s.st.AppendAudit(ctx, store.AuditEntry{At: s.now(), Actor: string(actor), Action: action, Target: target, Detail: detail}); err != nil {
		return fmt.Errorf("setup: audit %s: %w", action, err)
	}
	return nil
}

// randomToken returns n random bytes as hex.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}
