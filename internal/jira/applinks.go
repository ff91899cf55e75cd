package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strings"
)

// AppLink is an application link (rest/applinks/3.0). TypeID "generic" is
// what a non-Atlassian consumer such as asanajira uses.
type AppLink struct {
	ID         string `json:"id,omitempty"`
	Name       string `json:"name"`
	RPCURL     string `json:"rpcUrl"`
	DisplayURL string `json:"displayUrl"`
	TypeID     string `json:"typeId"`
}

// AppLinkConsumer is the incoming OAuth 1.0a consumer of an application
// link (rest/applinks-oauth/1.0): the consumer key and the RSA public key
// (PEM) whose private half signs asanajira's requests.
type AppLinkConsumer struct {
	Key                       string  `json:"key"`
	Name                      string  `json:"name"`
	Description               *string `json:"description"`
	SharedSecret              *string `json:"sharedSecret"`
	PublicKey                 string  `json:"publicKey"`
	Outgoing                  bool    `json:"outgoing"`
	TwoLOAllowed              bool    `json:"twoLOAllowed"`
	ExecutingTwoLOUser        *string `json:"executingTwoLOUser"`
	TwoLOImpersonationAllowed *bool   `json:"twoLOImpersonationAllowed"`
}

// CreateAppLink creates an application link and returns its id. It needs an
// administrator (one-time admin credentials); some instances also demand a
// WebSudo session, which shows as a 401/403 — then create the link by hand.
func (c *Client) CreateAppLink(ctx context.Context, l AppLink) (string, error) {
	if l.TypeID == "" {
		l.TypeID = "generic"
	}
	body := map[string]any{"id": nil, "name": l.Name, "rpcUrl": l.RPCURL, "displayUrl": l.DisplayURL, "typeId": l.TypeID}
	// Jira answers with a "resources-created" object whose shape varies
	// between releases; the id is the last segment of the created href.
	var raw json.RawMessage
	resp, err := c.send(ctx, http.MethodPut, "rest/applinks/3.0/applicationlink", body, &raw, false)
	if err != nil {
		return "", err
	}
	var withID struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &withID) == nil && withID.ID != "" {
		return withID.ID, nil
	}
	if m := regexp.MustCompile(`applicationlink/([0-9A-Za-z-]+)`).FindSubmatch(raw); m != nil {
		return string(m[1]), nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		return path.Base(strings.TrimRight(loc, "/")), nil
	}
	return "", fmt.Errorf("jira: Jira created the application link but did not say its id; open Administration → Applications → Application links to finish the setup by hand")
}

// SetAppLinkConsumer configures the incoming OAuth consumer of an
// application link.
func (c *Client) SetAppLinkConsumer(ctx context.Context, linkID string, cons AppLinkConsumer) error {
	_, err := c.send(ctx, http.MethodPut, "rest/applinks-oauth/1.0/applicationlink/"+pathEscape(linkID)+"/authentication/consumer", cons, nil, true)
	return err
}

// DeleteAppLink deletes an application link.
func (c *Client) DeleteAppLink(ctx context.Context, linkID string) error {
	_, err := c.send(ctx, http.MethodDelete, "rest/applinks/3.0/applicationlink/"+pathEscape(linkID), nil, nil, true)
	return err
}

// PersonalAccessToken is a newly created PAT; RawToken is shown once.
type PersonalAccessToken struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	CreatedAt  Time   `json:"createdAt"`
	ExpiringAt Time   `json:"expiringAt"`
	RawToken   string `json:"rawToken"`
}

// CreatePersonalAccessToken creates a PAT for the authenticated user (Jira
// 8.14+); expirationDays 0 means no expiry (if the admin allows it). The
// caller must already be authenticated, so this cannot bootstrap an account
// whose basic auth is disabled.
func (c *Client) CreatePersonalAccessToken(ctx context.Context, name string, expirationDays int) (*PersonalAccessToken, error) {
	body := map[string]any{"name": name}
	if expirationDays > 0 {
		body["expirationDuration"] = expirationDays
	}
	var out PersonalAccessToken
	if _, err := c.send(ctx, http.MethodPost, "rest/pat/latest/tokens", body, &out, false); err != nil {
		return nil, err
	}
	return &out, nil
}
