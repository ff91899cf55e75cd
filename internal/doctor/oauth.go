package doctor

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/asanajira/asanajira/internal/jira"
)

const fixNoOAuth = "Jira's OAuth 1.0a servlets are not at this path. Check the context path in the URL, and that Jira's bundled OAuth apps " +
	"(Atlassian OAuth Admin, Consumer and Service Provider plugins) are enabled under Administration → Manage apps → System apps."

// SignatureDiff puts the OAuth 1.0a signature base string asanajira signed
// next to the one Jira rebuilt and echoed with signature_invalid. Tokens
// are redacted from both.
type SignatureDiff struct {
	Ours string `json:"ours"`
	Jira string `json:"jira"`
	// FirstDifference is the byte offset of the first differing character,
	// -1 when the strings are identical (then the key pair is at fault).
	FirstDifference int `json:"first_difference"`
	// OursURL and JiraURL are the decoded URLs inside the base strings.
	OursURL string `json:"ours_url,omitempty"`
	JiraURL string `json:"jira_url,omitempty"`
}

var tokenInBaseString = regexp.MustCompile(`(oauth_token%3D)[A-Za-z0-9._~%-]*?(%26|$)`)

func newSignatureDiff(ours, theirs string) *SignatureDiff {
	redact := func(s string) string { return tokenInBaseString.ReplaceAllString(s, "${1}REDACTED${2}") }
	d := &SignatureDiff{Ours: redact(ours), Jira: redact(theirs), FirstDifference: -1}
	n := min(len(d.Ours), len(d.Jira))
	for i := range n {
		if d.Ours[i] != d.Jira[i] {
			d.FirstDifference = i
			break
		}
	}
	if d.FirstDifference < 0 && len(d.Ours) != len(d.Jira) {
		d.FirstDifference = n
	}
	d.OursURL, d.JiraURL = baseStringURL(d.Ours), baseStringURL(d.Jira)
	return d
}

// baseStringURL decodes the URL part of METHOD&URL&PARAMS.
func baseStringURL(bs string) string {
	parts := strings.SplitN(bs, "&", 3)
	if len(parts) < 2 {
		return ""
	}
	u, err := url.QueryUnescape(parts[1])
	if err != nil {
		return ""
	}
	return u
}

// Text shows both base strings around their first difference, with a caret
// under it, on three lines.
func (d *SignatureDiff) Text() string {
	if d.FirstDifference < 0 {
		return "ours: " + excerpt(d.Ours, 0, 0, 90) + "\njira: identical"
	}
	const before, after = 40, 50
	start := max(0, d.FirstDifference-before)
	ours := excerpt(d.Ours, start, d.FirstDifference, after)
	theirs := excerpt(d.Jira, start, d.FirstDifference, after)
	caret := len("ours: ") + d.FirstDifference - start
	if start > 0 {
		caret++ // the leading ellipsis is one column wide
	}
	return fmt.Sprintf("ours: %s\njira: %s\n%s^ first difference, at character %d", ours, theirs, strings.Repeat(" ", caret), d.FirstDifference+1)
}

func excerpt(s string, start, at, after int) string {
	if start > len(s) {
		start = len(s)
	}
	end := min(len(s), at+after)
	if end < start {
		end = start
	}
	out := s[start:end]
	if start > 0 {
		out = "…" + out
	}
	if end < len(s) {
		out += "…"
	}
	return out
}

// parsePrivateKey reads an RSA private key in PKCS #1 or PKCS #8 PEM.
func parsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("the private key is not PEM (it should start with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the private key cannot be read as PKCS #1 or PKCS #8: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("the private key is not an RSA key; Jira application links need RSA")
	}
	return rk, nil
}

// parsePublicKey reads a public key as Jira stores it: PEM (PKIX or
// PKCS #1) or bare base64 DER.
func parsePublicKey(text string) (*rsa.PublicKey, error) {
	text = strings.TrimSpace(text)
	var der []byte
	if blk, _ := pem.Decode([]byte(text)); blk != nil {
		der = blk.Bytes
	} else {
		d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return nil, fmt.Errorf("neither PEM nor base64: %w", err)
		}
		der = d
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not an RSA public key: %w", err)
	}
	return k, nil
}

// fingerprint names a public key by the SHA-256 of its PKIX encoding, so
// two keys can be compared in a report without printing them.
func fingerprint(k *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "unreadable"
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

func (r *runner) oauthConfig() *jira.OAuth1Config {
	return &jira.OAuth1Config{BaseURL: r.base.String(), Signer: r.signer, HTTPClient: r.plain, Timeout: r.timeout}
}

// probeServlet makes an unsigned POST to an OAuth servlet, which Jira must
// answer with an oauth_problem.
func (r *runner) probeServlet(ctx context.Context, relPath, hint string) Check {
	resp, err := r.send(ctx, http.MethodPost, relPath, "text/plain")
	what := "POST " + relPath
	if err != nil {
		return fail(what+": "+errText(err), "Check that Jira is running and reachable from asanajira's host.")
	}
	switch {
	case resp.err != nil && resp.err.OAuthProblem != "":
		return pass(fmt.Sprintf("answers oauth_problem=%s to an unsigned call: the servlet is there%s", resp.err.OAuthProblem, hint))
	case resp.status == http.StatusNotFound:
		return fail(what+": 404 Not Found", fixNoOAuth)
	case resp.err != nil:
		return r.endpointFailure(what, resp.err)
	}
	return warn(fmt.Sprintf("%s answered %d to an unsigned call instead of an oauth_problem", what, resp.status),
		"Make sure the URL points at Jira itself: something in front of it answers OAuth calls.")
}

func (r *runner) checkRequestToken(ctx context.Context) Check {
	const path = "plugins/servlet/oauth/request-token"
	if r.signerErr != nil {
		return fail("cannot sign: "+r.signerErr.Error(),
			"Give the consumer key of asanajira's application link and the RSA private key (PEM) whose public key was pasted into the link; `asanajira keys generate` makes a pair.")
	}
	if r.signer == nil {
		return r.probeServlet(ctx, path, " (give --consumer-key and --private-key to check the application link)")
	}
	tok, err := r.oauthConfig().RequestToken(ctx)
	if err != nil {
		r.signedFailed = true
		return r.oauthFailure("POST "+path, err)
	}
	r.reqToken = tok.Token
	return pass(fmt.Sprintf("Jira issued a request token to consumer %s: an incoming application link has this consumer key and asanajira's public key (%s), "+
		"the signature for %s verified, and the clocks agree", r.opts.ConsumerKey, fingerprint(&r.signer.PrivateKey.PublicKey), trimSlash(r.base.String())))
}

func (r *runner) checkAuthorize(ctx context.Context) Check {
	path := "plugins/servlet/oauth/authorize"
	with := "without a request token"
	if r.reqToken != "" {
		path += "?" + url.Values{"oauth_token": {r.reqToken}}.Encode()
		with = "with the request token just issued"
	}
	resp, err := r.get(ctx, path, "text/html")
	if err != nil {
		return fail("GET plugins/servlet/oauth/authorize: "+errText(err), "Check that Jira is running and reachable from asanajira's host.")
	}
	browsers := ""
	if r.opts.ConnectTo != "" {
		browsers = "\nusers' browsers open this page at " + trimSlash(r.base.String()) + ", so that address must work from their machines"
	}
	st := resp.status
	switch {
	case st == http.StatusNotFound:
		return fail("GET plugins/servlet/oauth/authorize: 404 Not Found", fixNoOAuth)
	case st >= 500:
		return fail(fmt.Sprintf("GET plugins/servlet/oauth/authorize: %d %s", st, http.StatusText(st)), "Jira failed to show the page: check Jira's logs (atlassian-jira.log).")
	case st >= 300 && st < 400:
		loc := resp.header.Get("Location")
		if u, err := resp.url.Parse(loc); err == nil {
			loc = redactURL(u)
		}
		return pass(fmt.Sprintf("answered %d %s, sending the browser to %s to sign in first (SSO or Jira's login), as expected", st, with, loc) + browsers)
	case r.reqToken != "" && st != http.StatusOK:
		return fail(fmt.Sprintf("answered %d %s instead of the page where users allow asanajira", st, with),
			"Jira did not accept the request token it has just issued; check Jira's logs, and that all Jira Data Center nodes share the same OAuth data.")
	}
	if r.reqToken != "" {
		return pass(fmt.Sprintf("shows the page where users allow asanajira (%d %s)", st, with) + browsers)
	}
	return pass(fmt.Sprintf("the page where users allow asanajira is there (it answered %d to a call %s, as Jira does)", st, with) + browsers)
}

func (r *runner) checkAccessToken(ctx context.Context) Check {
	const path = "plugins/servlet/oauth/access-token"
	if r.signer == nil || r.reqToken == "" {
		return r.probeServlet(ctx, path, "")
	}
	// The request token was never allowed by a user, so Jira must refuse to
	// exchange it; that answer proves the servlet works for this consumer.
	_, err := r.oauthConfig().AccessToken(ctx, r.reqToken, "")
	if err == nil {
		return warn("Jira exchanged a request token no user allowed for an access token", "Check the application link: it may allow two-legged OAuth or impersonation, which asanajira does not need. Turn both off in the link's incoming authentication.")
	}
	if e, ok := asJiraError(err); ok && e.Kind == jira.KindOAuth {
		switch e.OAuthProblem {
		case "permission_unknown", "permission_denied", "token_rejected", "parameter_absent":
			return pass(fmt.Sprintf("answers oauth_problem=%s for a request token no user has allowed yet, as it should", e.OAuthProblem))
		}
		return r.oauthFailure("POST "+path, err)
	}
	return r.endpointFailure("POST "+path, err)
}

func (r *runner) checkSignedCall(ctx context.Context) Check {
	switch {
	case r.signerErr != nil:
		return skip("the OAuth key could not be used (see OAuth request-token servlet)")
	case r.signer == nil:
		return skip("give --consumer-key, --private-key and --access-token (a user's OAuth access token) to make a signed call")
	case r.oauth == nil:
		return skip("give --access-token (a user's OAuth access token) to make a signed API call; the request-token check covers the application link")
	case r.signedFailed:
		return skip("the signed request-token call already failed; fix that first")
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	me, err := r.oauth.Myself(ctx)
	if err != nil {
		return r.oauthFailure("GET rest/api/2/myself", err)
	}
	r.oauthOK = true
	return pass(fmt.Sprintf("signed GET myself answered as %s (%s): OAuth 1.0a works end to end for %s", me.Name, me.DisplayName, trimSlash(r.base.String())))
}

// oauthFailure explains a refused OAuth 1.0a call.
func (r *runner) oauthFailure(what string, err error) Check {
	e, ok := asJiraError(err)
	if !ok || e.Kind != jira.KindOAuth {
		return r.endpointFailure(what, err)
	}
	key := r.opts.ConsumerKey
	ev := fmt.Sprintf("%s: %d %s, oauth_problem=%s", what, e.StatusCode, http.StatusText(e.StatusCode), e.OAuthProblem)
	switch e.OAuthProblem {
	case "consumer_key_unknown":
		return fail(ev+"\nJira has no incoming application link with the consumer key "+key,
			"In Jira, open Administration → Applications → Application links and create a link to asanajira: on Jira 8.22 and later choose \"Atlassian product\", "+
				"before 8.22 choose \"Generic Application\" and tick \"Create incoming link\". In its incoming authentication enter the consumer key "+key+
				" exactly and asanajira's public key. If the link exists, compare its consumer key character by character.")
	case "signature_invalid":
		return r.signatureFailure(ev, e)
	case "signature_method_rejected":
		return fail(ev+"\nJira refused the RSA-SHA1 signature method for consumer "+key,
			"asanajira signs with RSA-SHA1, which is what application links use. This answer means the link's incoming consumer is set up for another method, "+
				"usually with a shared secret (HMAC) instead of a public key. Edit the application link's incoming authentication: clear the shared secret and paste asanajira's public key.")
	case "timestamp_refused":
		return fail(ev+"\nJira's clock and this host's differ by more than 5 minutes",
			"Synchronise both hosts with NTP (for example timedatectl set-ntp true, or chrony). Only UTC time matters; time zones do not.")
	case "token_rejected", "token_expired", "token_revoked":
		return fail(ev+"\nJira does not accept this access token",
			"The user revoked it, it expired, the application link or its consumer was recreated, or it was issued by another Jira. Connect the Jira account again to get a new access token.")
	case "nonce_used":
		return warn(ev+"\nJira saw this nonce before", "Run the doctor again; if it persists, two clients share a clock and a nonce source.")
	case "consumer_key_refused", "consumer_key_rejected":
		return fail(ev+"\nthe consumer "+key+" is known but disabled", "Enable the application link's incoming authentication in Jira.")
	}
	return fail(ev, e.Hint())
}

// signatureFailure explains signature_invalid: either Jira rebuilt another
// URL than the one signed (a proxy or base URL problem), or the key pair
// does not match.
func (r *runner) signatureFailure(ev string, e *jira.Error) Check {
	ours := ""
	if r.signer != nil {
		ours = fingerprint(&r.signer.PrivateKey.PublicKey)
	}
	keyFix := "Edit the application link's incoming authentication in Jira and replace the public key with the one that pairs with asanajira's private key " +
		"(public key " + ours + "; openssl pkey -in KEY -pubout prints it)."
	if e.OAuthSignatureBaseString == "" {
		return fail(ev+"\nJira did not echo the base string it checked, so the cause is one of two",
			"Either Jira rebuilds another URL than "+trimSlash(r.base.String())+" (see Base URL: fix the reverse proxy's proxyName/proxyPort, or use Jira's own URL with --connect-to), or: "+keyFix)
	}
	d := newSignatureDiff(e.SentSignatureBaseString, e.OAuthSignatureBaseString)
	if d.FirstDifference < 0 {
		c := fail(ev+"\nJira rebuilt exactly the base string asanajira signed, so the URL is right: the public key in the application link does not pair with asanajira's private key\n"+d.Text(), keyFix)
		c.Signature = d
		return c
	}
	var lines []string
	lines = append(lines, ev)
	if d.OursURL != d.JiraURL {
		lines = append(lines, "asanajira signed for "+d.OursURL, "Jira checked against "+d.JiraURL)
	} else {
		lines = append(lines, "the URL is the same; the parameters differ (a proxy or firewall rewrote the query)")
	}
	lines = append(lines, d.Text())
	fix := r.urlFix(strings.TrimSuffix(d.JiraURL, "/"+strings.TrimPrefix(d.OursURL, r.base.String())))
	if d.OursURL == d.JiraURL {
		fix = "Make the proxy or firewall in front of Jira pass query strings and form bodies unchanged (no parameter rewriting, no HEAD-to-GET caching)."
	}
	c := fail(strings.Join(lines, "\n"), fix)
	c.Signature = d
	return c
}
