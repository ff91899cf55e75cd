package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
)

// Fixes shared by several checks.
const (
	fixSSO = "An SSO app or a proxy intercepts the call and answers with a login page. Let /rest/ and /plugins/servlet/oauth/ through to Jira " +
		"(SSO apps such as Atlassian's SSO, Kantega, resolution or miniOrange have a setting to leave REST and OAuth calls to Jira), " +
		"and make sure the URL points at Jira itself, not at the identity provider. Users then sign in through SSO in their browser when they connect their Jira account."
	fixNoJira = "No Jira answers at this path. If Jira runs under a context path (often /jira), include it in the URL: https://host/jira. " +
		"The right value is Jira's Base URL (Administration → System → General configuration)."
)

// answer is what the doctor keeps of a raw HTTP answer: the body is read
// and closed inside send.
type answer struct {
	status int
	header http.Header
	url    *url.URL // the request URL, to resolve a relative Location
	// err explains an answer of 300 or more (read from its body).
	err *jira.Error
}

// get sends an unauthenticated GET for a path relative to the base URL.
func (r *runner) get(ctx context.Context, relPath, accept string) (answer, error) {
	return r.send(ctx, http.MethodGet, relPath, accept)
}

// send makes one unauthenticated call to a path relative to the base URL.
func (r *runner) send(ctx context.Context, method, relPath, accept string) (answer, error) {
	u, err := r.base.Parse(relPath)
	if err != nil {
		return answer{}, fmt.Errorf("doctor: %w", err)
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return answer{}, fmt.Errorf("doctor: %w", err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", jira.DefaultUserAgent)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := r.plain.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("doctor: %s %s: %w", method, redactURL(u), err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header, url: u}
	if resp.StatusCode >= 300 {
		a.err = jira.CheckResponse(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return a, nil
}

// sameSite reports whether target is under the base URL (same scheme, host,
// port and context path).
func (r *runner) sameSite(target *url.URL) bool {
	return strings.EqualFold(target.Scheme, r.base.Scheme) && strings.EqualFold(target.Host, r.base.Host) &&
		strings.HasPrefix(target.Path+"/", r.base.Path)
}

func (r *runner) checkWeb(ctx context.Context) Check {
	resp, err := r.get(ctx, "", "text/html")
	if err != nil {
		return fail("GET / failed: "+errText(err), "Check that Jira is running and reachable from asanajira's host.")
	}
	st := resp.status
	switch {
	case st >= 200 && st < 300:
		return pass(fmt.Sprintf("answered %d %s", st, http.StatusText(st)))
	case st >= 300 && st < 400:
		loc, err := resp.url.Parse(resp.header.Get("Location"))
		if err != nil || resp.header.Get("Location") == "" {
			return warn(fmt.Sprintf("answered %d without a usable Location", st), "")
		}
		shown := redactURL(loc)
		if r.sameSite(loc) {
			return pass(fmt.Sprintf("answered %d, redirecting to %s (the dashboard or login page, as Jira does)", st, loc.Path))
		}
		if looksLikeLogin(loc.String()) {
			return pass(fmt.Sprintf("answered %d, redirecting browsers to the login page %s (SSO): users sign in there", st, shown))
		}
		return warn(fmt.Sprintf("answered %d, redirecting to %s, outside %s", st, shown, trimSlash(r.base.String())),
			"Jira or a proxy sends visitors to another address, so the URL given is probably not Jira's base URL. Use the address Jira itself uses (Administration → System → General configuration → Base URL).")
	case st == http.StatusNotFound:
		return fail("answered 404 Not Found", fixNoJira)
	case st >= 500:
		return fail(fmt.Sprintf("answered %d %s", st, http.StatusText(st)),
			"Jira, or the proxy in front of it, failed: Jira may be starting, in maintenance or down. Check Jira's logs (atlassian-jira.log) and the proxy's.")
	}
	return warn(fmt.Sprintf("answered %d %s", st, http.StatusText(st)), "")
}

func (r *runner) checkServerInfo(ctx context.Context) Check {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	info, err := r.serverInfo(ctx, r.anon)
	if err != nil {
		if e, ok := asJiraError(err); ok && (e.Kind == jira.KindUnauthorized || e.Kind == jira.KindForbidden) && r.admin != nil {
			// Some Jira 9.0–9.5 instances close serverInfo to anonymous callers.
			if info2, err2 := r.serverInfo(ctx, r.admin); err2 == nil {
				r.info = info2
				r.version = info2.ParsedVersion()
				return warn(serverInfoEvidence(info2)+"\nserverInfo is closed to anonymous callers; read with "+r.adminWho,
					"Nothing to do: asanajira reads serverInfo with a user's credentials.")
			}
		}
		return r.endpointFailure("GET rest/api/2/serverInfo", err)
	}
	r.info = info
	r.version = info.ParsedVersion()
	if info.IsCloud() {
		return fail(serverInfoEvidence(info), "This is Jira Cloud. asanajira connects self-managed Jira Server and Data Center (7.13 to 10.x) only.")
	}
	return pass(serverInfoEvidence(info))
}

// serverInfo reads serverInfo with c and keeps the Date header of the
// answer for the clock check, whatever the answer was.
func (r *runner) serverInfo(ctx context.Context, c *jira.Client) (*jira.ServerInfo, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "rest/api/2/serverInfo", nil)
	if err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	var info jira.ServerInfo
	resp, err := c.Do(req, &info)
	if resp != nil {
		if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			r.jiraDate, r.dateSeenAt = d, r.now()
		}
	}
	if err != nil {
		return nil, err
	}
	return &info, nil
}

func serverInfoEvidence(s *jira.ServerInfo) string {
	dt := s.DeploymentType
	if dt == "" {
		dt = "deployment type not reported"
	}
	return fmt.Sprintf("Jira %s (%s, build %d), base URL %s", s.Version, dt, s.BuildNumber, s.BaseURL)
}

// endpointFailure explains a failed call to a Jira endpoint.
func (r *runner) endpointFailure(what string, err error) Check {
	e, ok := asJiraError(err)
	if !ok {
		return fail(what+": "+errText(err), "Check that the URL points at Jira.")
	}
	switch e.Kind {
	case jira.KindSSO:
		return fail(what+": an HTML login page came back instead of JSON (SSO or proxy login)", fixSSO)
	case jira.KindRedirect:
		return fail(what+": redirected to "+e.Location,
			"Jira's REST API does not redirect; a proxy or Jira's own Base URL sends the call elsewhere. Use the address Jira reports as its Base URL, or fix the proxy so it forwards the URL as is.")
	case jira.KindNotFound:
		return fail(what+": 404 Not Found", fixNoJira)
	case jira.KindNetwork:
		return fail(what+": "+errText(e.Err), "Check that Jira is running and reachable from asanajira's host.")
	case jira.KindServer:
		return fail(what+fmt.Sprintf(": %d %s", e.StatusCode, http.StatusText(e.StatusCode)),
			"Jira, or the proxy in front of it, failed: check Jira's logs (atlassian-jira.log); Jira may be starting or in maintenance.")
	case jira.KindRateLimited:
		return warn(what+": 429 rate limited", "Jira Data Center's rate limiting refused the call; exempt asanajira's users or consumer, or raise their limit (Administration → System → Rate limiting).")
	}
	return fail(what+": "+statusDetail(e), e.Hint())
}

// statusDetail is "401 Unauthorized: what Jira said".
func statusDetail(e *jira.Error) string {
	s := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	parts := append([]string(nil), e.ErrorMessages...)
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	if e.OAuthProblem != "" {
		parts = append(parts, "oauth_problem="+e.OAuthProblem)
	}
	if len(parts) == 0 && e.Body != "" && e.Kind != jira.KindSSO {
		parts = append(parts, fmt.Sprintf("%q", e.Body))
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, "; ")
	}
	return s
}

func (r *runner) checkVersion(context.Context) Check {
	if r.info == nil {
		return skip("serverInfo did not answer, so the version is unknown")
	}
	v := r.version
	if v == (jira.Version{}) {
		return warn(fmt.Sprintf("Jira reported version %q, which asanajira cannot read", r.info.Version), "asanajira will try the newest endpoints first and fall back; report this version to the asanajira maintainers.")
	}
	f := v.Features()
	var lines []string
	auth := []string{"OAuth 1.0a through an application link"}
	var missing []string
	if f.PersonalAccessTokens {
		auth = append(auth, "personal access tokens")
	} else {
		missing = append(missing, "personal access tokens (8.14+)")
	}
	if f.OAuth2Provider {
		auth = append(auth, "OAuth 2.0 (Data Center, https only)")
	} else {
		missing = append(missing, "OAuth 2.0 (8.22+)")
	}
	lines = append(lines, "user sign-in available: "+strings.Join(auth, ", "))
	if len(missing) > 0 {
		lines = append(lines, "not on this version: "+strings.Join(missing, ", "))
	}
	switch {
	case !f.PaginatedCreateMeta:
		lines = append(lines, "create metadata: the old issue/createmeta endpoint (the paginated one arrived in 8.4)")
	case f.LegacyCreateMeta:
		lines = append(lines, "create metadata: the paginated issue/createmeta/{project}/issuetypes endpoints (8.4+); the old one still exists but is deprecated")
	default:
		lines = append(lines, "create metadata: the paginated issue/createmeta/{project}/issuetypes endpoints (the old one was removed in 9.0)")
	}
	if f.OAuth2Provider {
		lines = append(lines, "application link: Create link → \"Atlassian product\" for OAuth 1.0a, \"External application\" for OAuth 2.0")
	} else {
		lines = append(lines, "application link: Create link → \"Generic Application\" with \"Create incoming link\" ticked")
	}
	if f.BasicAuthToggle {
		lines = append(lines, "admins can switch basic auth off for REST calls (8.16+)")
	}
	if f.AsyncWebhooksOnly {
		lines = append(lines, "webhooks are sent asynchronously (10.0+)")
	}
	ev := fmt.Sprintf("Jira %s", v) + "\n" + strings.Join(lines, "\n")
	switch {
	case !v.AtLeast(7, 13):
		return fail(fmt.Sprintf("Jira %s is older than 7.13, the oldest release asanajira supports", v)+"\n"+strings.Join(lines, "\n"),
			"Upgrade Jira to 7.13 or later (a Long Term Support release such as 8.20, 9.12 or 10.3 is best).")
	case v.Major >= 11:
		return warn(ev+fmt.Sprintf("\nJira %d is newer than 10.x, the newest release asanajira is tested with", v.Major),
			"asanajira will probably work; Jira 11 is reported to switch basic auth off by default, so use a personal access token for admin setup.")
	}
	return pass(fmt.Sprintf("Jira %s is supported (7.13 to 10.x)", v) + "\n" + strings.Join(lines, "\n"))
}

func (r *runner) checkBaseURL(context.Context) Check {
	if r.info == nil {
		return skip("serverInfo did not answer, so Jira's base URL is unknown")
	}
	if r.info.BaseURL == "" {
		return warn("serverInfo carries no baseUrl", "Set Jira's Base URL under Administration → System → General configuration.")
	}
	reported, err := url.Parse(r.info.BaseURL)
	if err != nil || reported.Host == "" {
		return warn(fmt.Sprintf("serverInfo's baseUrl %q is not a URL", r.info.BaseURL), "Set Jira's Base URL under Administration → System → General configuration.")
	}
	given := trimSlash(r.base.String())
	diffs := compareBaseURL(r.base, reported)
	if len(diffs) == 0 {
		ev := "Jira's base URL " + r.info.BaseURL + " is the URL given"
		if r.opts.ConnectTo != "" {
			ev += ", reached through --connect-to " + r.opts.ConnectTo
		}
		return pass(ev)
	}
	ev := fmt.Sprintf("you gave %s, but Jira says its base URL is %s\n%s", given, r.info.BaseURL, strings.Join(diffs, "\n"))
	return fail(ev, r.urlFix(trimSlash(reported.String())))
}

// urlFix explains how to make the URL asanajira signs for and the one Jira
// rebuilds agree: either asanajira uses Jira's public URL and --connect-to
// the address it can reach, or the reverse proxy tells Jira the public URL.
func (r *runner) urlFix(jiraURL string) string {
	given := trimSlash(r.base.String())
	connect := "If " + jiraURL + " is Jira's public address, use it as the Jira URL and keep reaching Jira where you do now: " +
		"--jira-url " + jiraURL + " --connect-to " + r.dialAddress() + " (--connect-to changes only where asanajira connects, not the URL it signs)."
	proxy := "If " + given + " is the address users open, the reverse proxy in front of Jira does not tell Jira so: in Jira's conf/server.xml, on the <Connector> the proxy talks to, set " +
		proxyAttrs(r.base) + ", restart Jira, and set Administration → System → General configuration → Base URL to " + given + "."
	lead := "Jira checks OAuth 1.0a signatures against the URL it believes it has, so the two must be the same (scheme, host, port and context path). "
	if internalHost(r.base.Hostname()) {
		return lead + connect + " " + proxy
	}
	return lead + proxy + " " + connect
}

// internalHost reports a host name users would not open in a browser: an
// IP address, localhost or a name without a domain.
func internalHost(h string) bool {
	return net.ParseIP(h) != nil || !strings.Contains(h, ".") || strings.EqualFold(h, "localhost")
}

// proxyAttrs spells the Tomcat connector attributes for a public URL.
func proxyAttrs(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[u.Scheme == "https"]
	}
	attrs := fmt.Sprintf(`proxyName="%s" proxyPort="%s" scheme="%s"`, u.Hostname(), port, u.Scheme)
	if u.Scheme == "https" {
		attrs += ` secure="true"`
	}
	return attrs
}

// compareBaseURL lists, in words, how Jira's reported base URL differs
// from the one given (default ports and trailing slashes aside).
func compareBaseURL(given, reported *url.URL) []string {
	var out []string
	gs, rs := strings.ToLower(given.Scheme), strings.ToLower(reported.Scheme)
	if gs != rs {
		out = append(out, fmt.Sprintf("scheme: you gave %s, Jira says %s", gs, rs))
	}
	if gh, rh := strings.ToLower(given.Hostname()), strings.ToLower(reported.Hostname()); gh != rh {
		out = append(out, fmt.Sprintf("host: you gave %s, Jira says %s", gh, rh))
	}
	if gp, rp := effectivePort(given), effectivePort(reported); gp != rp {
		out = append(out, fmt.Sprintf("port: you gave %s, Jira says %s", gp, rp))
	}
	if gp, rp := contextPath(given), contextPath(reported); gp != rp {
		out = append(out, fmt.Sprintf("context path: you gave %s, Jira says %s", gp, rp))
	}
	return out
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

func contextPath(u *url.URL) string {
	p := strings.TrimRight(u.Path, "/")
	if p == "" {
		return "(none)"
	}
	return p
}

func (r *runner) checkClock(context.Context) Check {
	if r.jiraDate.IsZero() {
		return skip("Jira's answer carried no Date header to compare with")
	}
	// Date has a resolution of one second and is truncated, so its middle
	// is the best estimate; a difference of up to two seconds is rounding
	// and network time.
	skew := r.jiraDate.Add(500 * time.Millisecond).Sub(r.dateSeenAt).Round(time.Second)
	abs := skew.Abs()
	if abs <= 2*time.Second {
		return pass("Jira's clock (Date header) and this host's agree within a few seconds")
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	ev := fmt.Sprintf("Jira's clock (Date header) is %s %s this host's", abs, dir)
	fix := "Synchronise both hosts with NTP (for example timedatectl set-ntp true, or chrony). Only UTC time matters; time zones do not."
	switch {
	case abs > MaxClockSkew:
		return fail(ev+"\nJira refuses OAuth 1.0a requests whose timestamp is more than 5 minutes off (oauth_problem=timestamp_refused)", fix)
	case abs > time.Minute:
		return warn(ev+"\nOAuth 1.0a breaks beyond 5 minutes", fix)
	}
	return pass(ev)
}

// checkMyself logs in with the admin credentials, or without credentials
// checks that Jira answers an anonymous call with JSON, not a login page.
func (r *runner) checkMyself(ctx context.Context) Check {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	if r.admin == nil {
		_, err := r.anon.Myself(ctx)
		if err == nil {
			return warn("GET myself answered 200 to an anonymous call", "Jira should answer 401 to an unauthenticated call; a proxy may add credentials. Check the proxy configuration.")
		}
		if e, ok := asJiraError(err); ok && e.Kind == jira.KindUnauthorized {
			return pass("answers 401 with JSON to an anonymous call, as Jira does (give admin credentials to check a login)")
		}
		return r.endpointFailure("GET rest/api/2/myself", err)
	}
	me, err := r.admin.Myself(ctx)
	if err == nil {
		r.adminOK = true
		return pass(fmt.Sprintf("logged in as %s (%s) with %s", me.Name, me.DisplayName, r.adminWho))
	}
	e, ok := asJiraError(err)
	if !ok {
		return r.endpointFailure("GET rest/api/2/myself", err)
	}
	switch e.Kind {
	case jira.KindBasicAuthDisabled:
		return fail("basic authentication is disabled on this Jira: "+e.Message,
			"An admin switched basic auth off for REST calls (Administration → System → Authentication methods, Jira 8.16+). "+
				"Use a personal access token instead (Profile → Personal Access Tokens; --admin-token), or have the admin allow this user in the basic-auth allowlist.")
	case jira.KindCaptcha:
		return fail(fmt.Sprintf("Jira demands a CAPTCHA for %s after failed logins (X-Authentication-Denied-Reason: %s)", r.opts.AdminUser, e.DeniedReason),
			"Log in to Jira once in a browser as "+r.opts.AdminUser+" and answer the CAPTCHA; until then Jira refuses even the right password on REST calls. "+
				"A personal access token (--admin-token) is not subject to the CAPTCHA.")
	case jira.KindUnauthorized:
		if r.opts.AdminToken != "" {
			if r.version != (jira.Version{}) && !r.version.Features().PersonalAccessTokens {
				return fail(fmt.Sprintf("Jira %s has no personal access tokens (they arrived in 8.14); the token was ignored", r.version),
					"Use an admin user name and password (--admin-user, --admin-password) on this Jira version.")
			}
			return fail("Jira refused the personal access token (401)", "Check the token: it may be mistyped, revoked or expired. Create a new one under Profile → Personal Access Tokens.")
		}
		reason := ""
		if e.LoginReason != "" {
			reason = " (X-Seraph-LoginReason: " + e.LoginReason + ")"
		}
		return fail("Jira refused the user name or password of "+r.opts.AdminUser+reason,
			"Check the user name and password; each failed attempt counts toward Jira's CAPTCHA lock (3 by default). Users who sign in only through SSO have no Jira password: use a personal access token (--admin-token).")
	}
	return r.endpointFailure("GET rest/api/2/myself", err)
}

// dataClient is the client for the data endpoints: the OAuth identity the
// integration itself uses when it works, else the admin's.
func (r *runner) dataClient() (*jira.Client, string, string) {
	switch {
	case r.oauthOK:
		return r.oauth, "the OAuth access token", ""
	case r.adminOK:
		return r.admin, r.adminWho, ""
	case r.admin != nil || r.oauth != nil:
		return nil, "", "none of the credentials given worked (see the checks above)"
	}
	return nil, "", "needs credentials: give an OAuth access token (--consumer-key, --private-key, --access-token) or admin credentials"
}

func (r *runner) checkCreateMeta(ctx context.Context) Check {
	c, who, why := r.dataClient()
	if c == nil {
		return skip(why)
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	project := r.opts.Project
	if project == "" {
		ps, err := c.Projects(ctx)
		if err != nil {
			return r.endpointFailure("GET rest/api/2/project", err)
		}
		if len(ps) == 0 {
			return warn("the projects list read with "+who+" is empty", "Give the Jira user permission to browse (and create issues in) the projects asanajira should use.")
		}
		project = ps[0].Key
	}
	v := r.version
	f := v.Features()
	known := v != (jira.Version{})
	var notes []string
	if !known || f.PaginatedCreateMeta {
		types, err := collect(c.CreateMetaIssueTypesIter(ctx, project))
		newPath := "GET rest/api/2/issue/createmeta/" + project + "/issuetypes"
		if err == nil {
			ev := fmt.Sprintf("project %s: %d issue types via %s (Jira 8.4+ endpoint), read with %s", project, len(types), newPath, who)
			if len(types) > 0 {
				fields, ferr := collect(c.CreateMetaFieldsIter(ctx, project, types[0].ID))
				if ferr != nil {
					return r.endpointFailure(newPath+"/"+types[0].ID, ferr)
				}
				ev += fmt.Sprintf("; %s has %d fields on its create screen", types[0].Name, len(fields))
			}
			if !known || !f.LegacyCreateMeta {
				ev += "\n" + r.legacyNote(ctx, c, project)
			}
			return pass(ev)
		}
		if !errors.Is(err, jira.ErrNotFound) || (known && !f.LegacyCreateMeta) {
			return r.endpointFailure(newPath, err)
		}
		notes = append(notes, newPath+" answered 404")
	}
	ps, err := c.LegacyCreateMeta(ctx, project)
	if err != nil {
		return r.endpointFailure("GET rest/api/2/issue/createmeta?projectKeys="+project, err)
	}
	n := 0
	for _, p := range ps {
		n += len(p.IssueTypes)
	}
	ev := fmt.Sprintf("project %s: %d issue types via the old GET rest/api/2/issue/createmeta (the only one before 8.4), read with %s", project, n, who)
	if len(notes) > 0 {
		return warn(ev+"\n"+strings.Join(notes, "\n"), "This Jira reports 8.4 or later but lacks the paginated createmeta endpoints; asanajira falls back to the old one, which is slow on big instances and gone in 9.0.")
	}
	return pass(ev)
}

// legacyNote probes the old createmeta endpoint on 9.0+, where it is gone,
// so the report shows why tools that still use it break.
func (r *runner) legacyNote(ctx context.Context, c *jira.Client, project string) string {
	_, err := c.LegacyCreateMeta(ctx, project)
	switch {
	case err == nil:
		return "the old GET rest/api/2/issue/createmeta still answers here; asanajira does not need it"
	case errors.Is(err, jira.ErrNotFound):
		msg := "404"
		if e, ok := asJiraError(err); ok && len(e.ErrorMessages) > 0 {
			msg += " \"" + e.ErrorMessages[0] + "\""
		}
		return "the old GET rest/api/2/issue/createmeta answers " + msg + ": it was removed in Jira 9.0, which breaks tools that still call it; asanajira uses the paginated endpoints"
	}
	return "the old GET rest/api/2/issue/createmeta failed: " + errText(err)
}

func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (r *runner) checkAttachments(ctx context.Context) Check {
	c, who, why := r.dataClient()
	if c == nil {
		return skip(why)
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	s, err := c.AttachmentMeta(ctx)
	if err != nil {
		return r.endpointFailure("GET rest/api/2/attachment/meta", err)
	}
	if !s.Enabled {
		return warn("attachments are disabled on this Jira (read with "+who+")",
			"Files on Asana tasks cannot be copied to Jira issues. To allow them, enable attachments under Administration → System → Attachments.")
	}
	return pass(fmt.Sprintf("attachments enabled, up to %s per file (read with %s); a proxy in front of Jira may set a lower body limit", humanBytes(s.UploadLimit), who))
}

func humanBytes(n int64) string {
	switch {
	case n <= 0:
		return "no stated limit"
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// appLink is one entry of GET rest/applinks/3.0/applicationlink.
type appLink struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	TypeID string `json:"typeId"`
	RPCURL string `json:"rpcUrl"`
}

// appLinkConsumer is the incoming OAuth consumer of an application link.
type appLinkConsumer struct {
	Key       string `json:"key"`
	Name      string `json:"name"`
	PublicKey string `json:"publicKey"`
}

func (r *runner) checkAppLinks(ctx context.Context) Check {
	if r.admin == nil {
		return skip("needs a Jira administrator's credentials (--admin-user and --admin-password, or --admin-token)")
	}
	if !r.adminOK {
		return skip("the admin credentials did not work (see Login)")
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	req, err := r.admin.NewRequest(ctx, http.MethodGet, "rest/applinks/3.0/applicationlink", nil)
	if err != nil {
		return fail(err.Error(), "")
	}
	var links []appLink
	if _, err := r.admin.Do(req, &links); err != nil {
		if e, ok := asJiraError(err); ok && (e.Kind == jira.KindForbidden || e.Kind == jira.KindUnauthorized) {
			return fail(fmt.Sprintf("GET rest/applinks/3.0/applicationlink: %d %s for %s", e.StatusCode, http.StatusText(e.StatusCode), r.adminWho),
				"The application-links REST API needs a Jira administrator (the jira-administrators group or the Jira System Administrators permission). "+
					"Some instances also demand a secure administrator session (WebSudo) for it; then create the application link by hand.")
		}
		return r.endpointFailure("GET rest/applinks/3.0/applicationlink", err)
	}
	var names []string
	for _, l := range links {
		names = append(names, fmt.Sprintf("%q", l.Name))
	}
	list := "no application links"
	if len(links) > 0 {
		list = fmt.Sprintf("%d application link(s): %s", len(links), strings.Join(names, ", "))
	}
	ev := "read with " + r.adminWho + ": " + list
	if r.opts.ConsumerKey == "" {
		return pass(ev + "\n(give --consumer-key to find asanajira's link)")
	}
	var keys []string
	for _, l := range links {
		cons, err := r.consumerOf(ctx, l.ID)
		if err != nil {
			if errors.Is(err, jira.ErrNotFound) {
				continue
			}
			return r.endpointFailure("GET rest/applinks-oauth/1.0/applicationlink/"+l.ID+"/authentication/consumer", err)
		}
		keys = append(keys, cons.Key)
		if cons.Key != r.opts.ConsumerKey {
			continue
		}
		found := fmt.Sprintf("application link %q has the incoming consumer %s", l.Name, cons.Key)
		if r.signer == nil {
			return pass(ev + "\n" + found)
		}
		theirs, perr := parsePublicKey(cons.PublicKey)
		ours := fingerprint(&r.signer.PrivateKey.PublicKey)
		switch {
		case perr != nil:
			return warn(ev+"\n"+found+", but its public key cannot be read: "+perr.Error(), "Paste asanajira's public key (PEM) into the link's incoming authentication again.")
		case fingerprint(theirs) != ours:
			return fail(ev+"\n"+found+fmt.Sprintf(", but its public key (%s) does not pair with asanajira's private key (public key %s)", fingerprint(theirs), ours),
				"Edit the application link's incoming authentication and replace the public key with the one that pairs with asanajira's private key (openssl pkey -in KEY -pubout prints it).")
		}
		return pass(ev + "\n" + found + " and asanajira's public key (" + ours + ")")
	}
	seen := "none of them has an incoming OAuth consumer"
	if len(keys) > 0 {
		seen = "their incoming consumer keys: " + strings.Join(keys, ", ")
	}
	return fail(ev+"\nno application link has the consumer key "+r.opts.ConsumerKey+"; "+seen,
		"Create the application link (asanajira's admin console can do it with these admin credentials), or set the consumer key of the existing link's incoming authentication to exactly "+r.opts.ConsumerKey+".")
}

func (r *runner) consumerOf(ctx context.Context, linkID string) (*appLinkConsumer, error) {
	req, err := r.admin.NewRequest(ctx, http.MethodGet, "rest/applinks-oauth/1.0/applicationlink/"+url.PathEscape(linkID)+"/authentication/consumer", nil)
	if err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	var c appLinkConsumer
	if _, err := r.admin.Do(req, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// errText is an error's message without the *url.Error prefix that repeats
// the URL.
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// redactURL drops a URL's query, which may carry tokens.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User = "", "", nil
	return c.String()
}

func looksLikeLogin(loc string) bool {
	l := strings.ToLower(loc)
	for _, s := range []string{"login", "saml", "sso", "oauth2/authorize", "openid", "signin"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
