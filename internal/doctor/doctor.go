// Package doctor owns asanajira's Jira diagnosis: the ordered checks that
// tell a Jira administrator whether a Jira Server or Data Center instance
// can be connected (DNS, TCP, TLS, each endpoint asanajira calls, version,
// base URL, clock, authentication and a signed OAuth 1.0a call), each with
// its evidence and a fix in plain words, and the Report that both
// `asanajira doctor` and the admin console render.
//
// Run never returns an error: every problem, including a bad option, becomes
// a failed check, so a caller always has a complete report to show.
package doctor

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
)

// Status is the outcome of one check.
type Status string

// Check outcomes. Only StatusFail makes a report not OK: a warning names
// something to look at, a skip says why a check could not run.
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Check IDs, stable for scripts reading --json and for the admin console.
const (
	CheckURL              = "url"
	CheckDNS              = "dns"
	CheckTCP              = "tcp"
	CheckTLS              = "tls"
	CheckWeb              = "web"
	CheckServerInfo       = "server_info"
	CheckVersion          = "version"
	CheckBaseURL          = "base_url"
	CheckClock            = "clock"
	CheckMyself           = "myself"
	CheckOAuthRequest     = "oauth_request_token"
	CheckOAuthAuthorize   = "oauth_authorize"
	CheckOAuthAccessToken = "oauth_access_token" //nolint:gosec // a check ID, not a credential
	CheckOAuthSignedCall  = "oauth_signed_call"
	CheckCreateMeta       = "createmeta"
	CheckAttachments      = "attachments"
	CheckAppLinks         = "applinks"
)

// MaxClockSkew is the widest clock difference Jira's OAuth 1.0a filter
// accepts before answering timestamp_refused.
const MaxClockSkew = 5 * time.Minute

// Options say which Jira to check and with which credentials. Only JiraURL
// is required; each credential unlocks the checks that need it.
type Options struct {
	// JiraURL is Jira's public base URL, context path included
	// (https://jira.example.com/jira): the URL users' browsers open and
	// OAuth 1.0a requests are signed for.
	JiraURL string
	// ConnectTo ("host:port") reaches Jira at another address (internal DNS
	// name, load balancer, IP) while URLs, Host headers, the TLS server name
	// and OAuth signatures keep JiraURL.
	ConnectTo string
	// CABundlePEM holds extra CA certificates trusted for Jira's TLS
	// certificate (a private CA).
	CABundlePEM []byte

	// ConsumerKey and PrivateKeyPEM are the application link's OAuth 1.0a
	// consumer (PKCS #1 or PKCS #8 PEM). With them the doctor signs a
	// request-token call.
	ConsumerKey   string
	PrivateKeyPEM []byte
	// AccessToken is a user's OAuth 1.0a access token; with it the doctor
	// also makes a signed GET myself.
	AccessToken string

	// AdminUser and AdminPassword, or AdminToken (a personal access token,
	// Jira 8.14+), are a Jira administrator's credentials, for the login
	// check, the data endpoints and the application-links REST API. They
	// are used for read-only calls only.
	AdminUser     string
	AdminPassword string
	AdminToken    string

	// Project is the project key whose create metadata is read; empty
	// means the first project the credentials can see.
	Project string
	// PublicMode says asanajira is reachable from the internet; the DNS
	// check then reports a Jira that resolves to private addresses.
	PublicMode bool
	// Timeout bounds each network step; 0 means 10 seconds.
	Timeout time.Duration
	// Now is this host's clock (clock-skew check, OAuth timestamps, TLS
	// expiry); nil means time.Now.
	Now func() time.Time
	// Resolver resolves Jira's host name; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// Check is the outcome of one check, written for a Jira administrator.
type Check struct {
	// ID is stable (see the Check* constants); Title is for people.
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Evidence is what the doctor saw; it may hold several lines.
	Evidence string `json:"evidence,omitempty"`
	// Fix says what to do about a warning or failure, in plain words.
	Fix string `json:"fix,omitempty"`
	// Signature is set when Jira refused an OAuth signature and echoed its
	// base string, so a page can show both side by side.
	Signature *SignatureDiff `json:"signature,omitempty"`
}

// Report is the result of Run: every check in order.
type Report struct {
	// JiraURL is the URL checked, normalised; ConnectTo echoes Options.
	JiraURL   string `json:"jira_url"`
	ConnectTo string `json:"connect_to,omitempty"`
	// Version is the Jira version serverInfo reported, "" when unknown.
	Version string  `json:"version,omitempty"`
	Checks  []Check `json:"checks"`
	// OK is true when no check failed (and the run was not stopped).
	OK bool `json:"ok"`
}

// Counts returns how many checks ended in each status.
func (r Report) Counts() map[Status]int {
	out := map[Status]int{StatusPass: 0, StatusWarn: 0, StatusFail: 0, StatusSkip: 0}
	for _, c := range r.Checks {
		out[c.Status]++
	}
	return out
}

// Check returns the check with this ID.
func (r Report) Check(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// step is one check in the run order.
type step struct {
	id, title string
	run       func(ctx context.Context) Check
}

// Run checks the Jira server described by opts and returns the report. It
// makes only read-only calls (the request token it asks for is never
// authorised) and stops early only where later checks cannot run; those
// are reported as skipped with the reason.
func Run(ctx context.Context, opts Options) Report {
	r := newRunner(opts)
	rep := Report{JiraURL: opts.JiraURL, ConnectTo: opts.ConnectTo}
	for _, s := range r.steps() {
		var c Check
		switch {
		case ctx.Err() != nil:
			c = Check{Status: StatusSkip, Evidence: "the doctor was stopped before this check: " + ctx.Err().Error()}
		case r.stop != "":
			c = Check{Status: StatusSkip, Evidence: r.stop}
		default:
			c = s.run(ctx)
		}
		c.ID, c.Title = s.id, s.title
		rep.Checks = append(rep.Checks, c)
	}
	if r.base != nil {
		rep.JiraURL = trimSlash(r.base.String())
	}
	if r.info != nil {
		rep.Version = r.info.Version
	}
	// A stopped run proves nothing, so it is not OK even without failures.
	rep.OK = ctx.Err() == nil
	for _, c := range rep.Checks {
		if c.Status == StatusFail {
			rep.OK = false
		}
	}
	return rep
}

// runner carries what earlier checks learned to later ones.
type runner struct {
	opts    Options
	now     func() time.Time
	timeout time.Duration

	// stop, when set, skips every remaining check with this reason.
	stop string

	base      *url.URL // public base URL, with a trailing slash
	transport *http.Transport
	plain     *http.Client // unauthenticated, never follows redirects
	anon      *jira.Client

	admin     *jira.Client // nil without admin credentials
	adminWho  string       // "admin user alice" / "admin personal access token"
	adminOK   bool         // myself succeeded with the admin credentials
	signer    *jira.OAuth1Signer
	signerErr error // why the private key could not be used
	oauth     *jira.Client
	oauthOK   bool // the signed call succeeded

	info         *jira.ServerInfo
	version      jira.Version // zero when unknown
	jiraDate     time.Time    // Date header of serverInfo's answer
	dateSeenAt   time.Time    // this host's clock when it arrived
	reqToken     string       // request token issued by the request-token check
	signedFailed bool         // the signed request-token call was refused
}

func newRunner(opts Options) *runner {
	r := &runner{opts: opts, now: opts.Now, timeout: opts.Timeout}
	if r.now == nil {
		r.now = time.Now
	}
	if r.timeout <= 0 {
		r.timeout = 10 * time.Second
	}
	return r
}

func (r *runner) steps() []step {
	return []step{
		{CheckURL, "Jira URL", r.checkURL},
		{CheckDNS, "DNS", r.checkDNS},
		{CheckTCP, "TCP connection", r.checkTCP},
		{CheckTLS, "TLS certificate", r.checkTLS},
		{CheckWeb, "Jira web page (GET /)", r.checkWeb},
		{CheckServerInfo, "serverInfo endpoint", r.checkServerInfo},
		{CheckVersion, "Jira version", r.checkVersion},
		{CheckBaseURL, "Base URL", r.checkBaseURL},
		{CheckClock, "Clock skew", r.checkClock},
		{CheckMyself, "Login (GET myself)", r.checkMyself},
		{CheckOAuthRequest, "OAuth request-token servlet", r.checkRequestToken},
		{CheckOAuthAuthorize, "OAuth authorize page", r.checkAuthorize},
		{CheckOAuthAccessToken, "OAuth access-token servlet", r.checkAccessToken},
		{CheckOAuthSignedCall, "Signed OAuth call (GET myself)", r.checkSignedCall},
		{CheckCreateMeta, "Create metadata", r.checkCreateMeta},
		{CheckAttachments, "Attachment settings", r.checkAttachments},
		{CheckAppLinks, "Application links REST", r.checkAppLinks},
	}
}

// withTimeout bounds one network step.
func (r *runner) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// noRetry makes the Jira client fail fast: the doctor reports what happened
// on the first attempt instead of hiding it behind retries.
func noRetry() jira.Option {
	return jira.WithRetryPolicy(jira.RetryPolicy{MaxAttempts: 1})
}

func pass(ev string) Check { return Check{Status: StatusPass, Evidence: ev} }

func warn(ev, fix string) Check { return Check{Status: StatusWarn, Evidence: ev, Fix: fix} }

func fail(ev, fix string) Check { return Check{Status: StatusFail, Evidence: ev, Fix: fix} }

func skip(reason string) Check { return Check{Status: StatusSkip, Evidence: reason} }

// asJiraError unwraps a *jira.Error.
func asJiraError(err error) (*jira.Error, bool) {
	var e *jira.Error
	ok := errors.As(err, &e)
	return e, ok
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
