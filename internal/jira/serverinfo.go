package jira

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ServerInfo is GET rest/api/2/serverInfo.
type ServerInfo struct {
	BaseURL        string `json:"baseUrl"`
	Version        string `json:"version"`
	VersionNumbers []int  `json:"versionNumbers"`
	DeploymentType string `json:"deploymentType"`
	BuildNumber    int    `json:"buildNumber"`
	BuildDate      Time   `json:"buildDate"`
	ServerTime     Time   `json:"serverTime"`
	ScmInfo        string `json:"scmInfo"`
	ServerTitle    string `json:"serverTitle"`
}

// ParsedVersion is the server version, from versionNumbers or else version.
func (s *ServerInfo) ParsedVersion() Version {
	if len(s.VersionNumbers) > 0 {
		var v Version
		for i, n := range s.VersionNumbers {
			switch i {
			case 0:
				v.Major = n
			case 1:
				v.Minor = n
			case 2:
				v.Patch = n
			}
		}
		return v
	}
	v, _ := ParseVersion(s.Version)
	return v
}

// IsCloud reports a Jira Cloud site, which asanajira does not support; anything
// else (Server, DataCenter) is self-managed.
func (s *ServerInfo) IsCloud() bool { return strings.EqualFold(s.DeploymentType, "Cloud") }

// ServerInfo returns the server's version and base URL. Some admins block it
// for anonymous users; it never proves the credential is valid (use Myself).
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/serverInfo
func (c *Client) ServerInfo(ctx context.Context) (*ServerInfo, error) {
	var s ServerInfo
	if err := c.get(ctx, "rest/api/2/serverInfo", nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Version is a Jira version, compared for feature gates.
type Version struct{ Major, Minor, Patch int }

// ParseVersion parses "9.12.4" (extra parts and suffixes such as
// "-SNAPSHOT" are ignored).
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.SplitN(s, ".", 4)
	for i, p := range parts {
		if i > 2 {
			break
		}
		p, _, _ = strings.Cut(p, "-")
		n, err := strconv.Atoi(p)
		if err != nil {
			return Version{}, fmt.Errorf("jira: version %q is not like 9.12.4", s)
		}
		switch i {
		case 0:
			v.Major = n
		case 1:
			v.Minor = n
		case 2:
			v.Patch = n
		}
	}
	return v, nil
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// Features are the version-dependent capabilities asanajira relies on.
type Features struct {
	// PaginatedCreateMeta: createmeta/{project}/issuetypes[/{id}] (8.4+).
	PaginatedCreateMeta bool
	// LegacyCreateMeta: issue/createmeta?projectKeys= (removed in 9.0).
	LegacyCreateMeta bool
	// PersonalAccessTokens: Bearer PATs (8.14+).
	PersonalAccessTokens bool
	// BasicAuthToggle: admins can disable basic auth for REST (8.16+).
	BasicAuthToggle bool
	// OAuth2Provider: OAuth 2.0 incoming links (8.22+, Data Center).
	OAuth2Provider bool
	// RateLimiting: Data Center REST rate limiting may answer 429 (8.6+).
	RateLimiting bool
	// AsyncWebhooksOnly: webhooks are always sent asynchronously (10.0+).
	AsyncWebhooksOnly bool
}

// Features derives the feature gates from a version.
func (v Version) Features() Features {
	return Features{
		PaginatedCreateMeta:  v.AtLeast(8, 4),
		LegacyCreateMeta:     !v.AtLeast(9, 0),
		PersonalAccessTokens: v.AtLeast(8, 14),
		BasicAuthToggle:      v.AtLeast(8, 16),
		OAuth2Provider:       v.AtLeast(8, 22),
		RateLimiting:         v.AtLeast(8, 6),
		AsyncWebhooksOnly:    v.AtLeast(10, 0),
	}
}

// User is a Jira Server/DC user. Key is immutable; Name (the username) can be
// renamed. There is no accountId on Server/DC.
type User struct {
	Self         string            `json:"self,omitempty"`
	Key          string            `json:"key,omitempty"`
	Name         string            `json:"name,omitempty"`
	EmailAddress string            `json:"emailAddress,omitempty"`
	DisplayName  string            `json:"displayName,omitempty"`
	Active       bool              `json:"active,omitempty"`
	TimeZone     string            `json:"timeZone,omitempty"`
	Locale       string            `json:"locale,omitempty"`
	AvatarURLs   map[string]string `json:"avatarUrls,omitempty"`
}

// Myself returns the authenticated user: the way to check a credential.
//
// https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/myself
func (c *Client) Myself(ctx context.Context) (*User, error) {
	var u User
	if err := c.get(ctx, "rest/api/2/myself", nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
