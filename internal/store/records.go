package store

import (
	"log/slog"
	"time"
)

// Secret is a plaintext secret held in a record: a token, a private key, a
// client secret. The store seals it before writing and opens it after reading.
// Its String, GoString, JSON and slog forms are redacted so a Secret logged or
// printed by mistake shows nothing; Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret in the clear, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer with a redacted form.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v redacted too.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps slog output redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps JSON and other text encodings redacted.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// AuthMethod is how an Asana user's requests are authenticated to Jira.
type AuthMethod string

// The user auth methods Jira Server and Data Center offer.
const (
	AuthOAuth1 AuthMethod = "oauth1" // OAuth 1.0a through an application link, every version
	AuthOAuth2 AuthMethod = "oauth2" // OAuth 2.0 incoming link, Data Center 8.22+
	AuthPAT    AuthMethod = "pat"    // personal access token, 8.14+
)

// JiraServer is a connected Jira Server or Data Center instance.
type JiraServer struct {
	ID   string
	Name string
	// BaseURL is Jira's public base URL (its "Base URL" setting), the one OAuth
	// 1.0a signatures are computed against.
	BaseURL string
	// ConnectAddress, when set, is the host:port asanajira dials instead of
	// the base URL's host (split-horizon DNS, a proxy in front of Jira).
	ConnectAddress string
	// CABundlePEM holds the CA certificates (PEM) trusted for Jira's TLS
	// certificate besides the system roots, for a Jira behind a private CA;
	// "" trusts the system roots only. Every connection to the server uses it.
	CABundlePEM   string
	ConsumerKey   string
	PrivateKeyPEM Secret
	PublicKeyPEM  string
	// Version is what serverInfo reported at the last check, e.g. "9.12.0".
	Version string
	// AuthMethods are the user auth methods the admin allowed on this server.
	AuthMethods        []AuthMethod
	OAuth2ClientID     string
	OAuth2ClientSecret Secret
	WebhookSecret      Secret
	WebhookURL         string
	AppLinkID          string
	// Status is the last health verdict shown on the connections page.
	Status    string
	CheckedAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Workspace is an Asana workspace asanajira serves.
type Workspace struct {
	GID       string
	Name      string
	CreatedAt time.Time
}

// Connection says that a workspace may use a Jira server. At most one
// connection per workspace is the default route for its projects.
type Connection struct {
	WorkspaceGID string
	JiraServerID string
	IsDefault    bool
	CreatedAt    time.Time
}

// ProjectRoute overrides the workspace default for one Asana project.
type ProjectRoute struct {
	WorkspaceGID string
	ProjectGID   string
	JiraServerID string
	// JiraProjectKey preselects the Jira project on the create form; optional.
	JiraProjectKey string
	CreatedAt      time.Time
}

// AsanaUser is an Asana user who installed the app, with their Asana OAuth
// token.
type AsanaUser struct {
	GID          string
	Name         string
	Email        string
	AccessToken  Secret
	RefreshToken Secret
	Expiry       time.Time
	// ReconnectNeeded is set when Asana rejected the token; the user must
	// authorize again.
	ReconnectNeeded bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// JiraCredential is one Asana user's authorization on one Jira server.
type JiraCredential struct {
	AsanaUserGID string
	JiraServerID string
	Method       AuthMethod
	// AccessToken is the OAuth 1.0a access token, the OAuth 2.0 access token
	// or the personal access token.
	AccessToken  Secret
	TokenSecret  Secret // OAuth 1.0a token secret (Jira sends one, RSA-SHA1 ignores it)
	RefreshToken Secret // OAuth 2.0 only
	Expiry       time.Time
	// JiraUsername and JiraDisplayName are what Jira's myself answered.
	JiraUsername    string
	JiraDisplayName string
	// ReconnectNeeded is set with a reason when Jira rejected the credential.
	ReconnectNeeded bool
	ReconnectReason string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// AuthState is a one-time value carried through an OAuth redirect (an OAuth
// 2.0 state or an OAuth 1.0a request token). Data is sealed at rest because it
// can hold a PKCE verifier or a request-token secret.
type AuthState struct {
	State     string
	Kind      string
	Data      Secret
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Link ties an Asana task to a Jira issue on one server. A task has at most
// one issue per server and an issue at most one task.
type Link struct {
	ID           int64
	WorkspaceGID string
	TaskGID      string
	JiraServerID string
	IssueID      string
	IssueKey     string
	CreatedBy    string // Asana user gid
	CreatedAt    time.Time
}

// LinkFilter narrows ListLinks; zero values mean "any". Query is a task gid
// (digits), an issue key (DEMO-12) or a Jira project key (DEMO), matched
// whole and without regard to case. Links come newest first, a page of
// Limit at a time: the page before BeforeID (older links), or with AfterID
// the page after it (newer links).
type LinkFilter struct {
	JiraServerID string
	Query        string
	Limit        int
	BeforeID     int64
	AfterID      int64
}

// IdempotencyKey records that an operation with this key ran (or is running),
// and its result, so a retried request does not do the work twice.
type IdempotencyKey struct {
	Scope     string
	Key       string
	Result    []byte // nil until CompleteIdempotencyKey
	ExpiresAt time.Time
	CreatedAt time.Time
	// WorkspaceGID and UserGID are a creation's intent (ClaimCreation,
	// TakeOverIdempotencyKey): the task's Asana workspace and the Asana
	// user whose Jira credentials create the issue, so that the sweep of
	// claims left unresolved (ListUnresolvedCreations) can finish the
	// create as they would have. Empty in other scopes.
	WorkspaceGID string
	UserGID      string
}

// CreationScope is the scope of the claims of issue creations
// (ClaimCreation); their key is "<Jira server id>:<task gid>".
const CreationScope = "create_issue"

// FailedCreation is the result of a creation's claim whose attempt failed
// after Jira may have created the issue: the next attempt takes the claim
// over (TakeOverIdempotencyKey) rather than claim anew, and searches Jira
// for the issue first.
var FailedCreation = []byte(`{"failed":true}`)

// CreationAwaitingReconnect is the result of a creation's claim that the
// sweep of unresolved claims could not finish because its user has no
// usable Jira credential (PostponeCreation). It is a failed claim to
// everyone else: its "failed" makes a submit take it over at once and
// search Jira first, as FailedCreation does, and its expiry only says
// when the sweep may try again.
var CreationAwaitingReconnect = []byte(`{"failed":true,"reconnect":true}`)

// AuditEntry is one change made through asanajira, for the admin audit log.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

// AuditFilter pages through the audit log, newest first; Action and Target,
// when set, match exactly.
type AuditFilter struct {
	BeforeID int64
	Limit    int
	Action   string
	Target   string
}
