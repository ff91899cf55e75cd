package jira

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OAuth 1.0a as Jira's application links implement it: RSA-SHA1 only,
// a five-minute timestamp window, nonces remembered, access tokens valid
// five years (oauth_expires_in=157680000).
const (
	oauthTimestampWindow = 5 * time.Minute
	requestTokenTTL      = 10 * time.Minute
	accessTokenTTL       = 157680000 * time.Second
	deniedVerifier       = "denied"
)

type consumer struct {
	key         string
	name        string
	description string
	publicKey   *rsa.PublicKey
	publicPEM   string
	linkID      string
}

type requestToken struct {
	token    string
	secret   string
	consumer string
	callback string
	created  time.Time
	user     string // set once approved
	verifier string
	denied   bool
}

type accessToken struct {
	token    string
	secret   string
	consumer string
	user     string
	created  time.Time
}

// oauthProblem is an OAuth problem report (oauth_problem=…).
type oauthProblem struct {
	status  int
	problem string
	extra   [][2]string
}

func (p *oauthProblem) Error() string { return "oauth_problem=" + p.problem }

func problem(status int, name string, extra ...[2]string) *oauthProblem {
	return &oauthProblem{status: status, problem: name, extra: extra}
}

// writeOAuthProblem answers like Jira's OAuth filter: the problem in
// WWW-Authenticate and as a form-encoded body.
func (s *Server) writeOAuthProblem(w http.ResponseWriter, r *http.Request, p *oauthProblem) {
	s.mu.Lock()
	realm := s.baseURL(r)
	s.mu.Unlock()
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`OAuth realm="%s", oauth_problem="%s"`, realm, p.problem))
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	s.setUser(w, nil)
	w.WriteHeader(p.status)
	parts := []string{"oauth_problem=" + percentEncode(p.problem)}
	for _, kv := range p.extra {
		parts = append(parts, percentEncode(kv[0])+"="+percentEncode(kv[1]))
	}
	_, _ = io.WriteString(w, strings.Join(parts, "&"))
}

// percentEncode is RFC 3986 / RFC 5849 §3.6 encoding.
func percentEncode(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// parseOAuthHeader reads the parameters of an "Authorization: OAuth …" header.
func parseOAuthHeader(h string) (map[string]string, error) {
	_, rest, ok := strings.Cut(h, " ")
	if !ok {
		return nil, errors.New("empty OAuth header")
	}
	out := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("malformed OAuth parameter %q", part)
		}
		v = strings.Trim(v, `"`)
		dk, err1 := url.PathUnescape(strings.TrimSpace(k))
		dv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed OAuth parameter %q", part)
		}
		out[dk] = dv
	}
	return out, nil
}

// signatureBaseString rebuilds the RFC 5849 §3.4.1 base string of r against
// the public base URL, the way Jira behind a proxyName-configured Tomcat does.
// params are all signed parameters (query, form body, OAuth header).
func (s *Server) signatureBaseString(r *http.Request, params [][2]string) string {
	s.mu.Lock()
	base := s.baseURL(r)
	s.mu.Unlock()
	bu, err := url.Parse(base)
	if err != nil {
		bu = &url.URL{Scheme: "http", Host: r.Host}
	}
	scheme := strings.ToLower(bu.Scheme)
	host := strings.ToLower(bu.Hostname())
	if p := bu.Port(); p != "" && (scheme != "http" || p != "80") && (scheme != "https" || p != "443") {
		host += ":" + p
	}
	path := strings.TrimSuffix(bu.EscapedPath(), "/") + strings.TrimPrefix(r.URL.EscapedPath(), s.cp)
	enc := make([]string, 0, len(params))
	for _, kv := range params {
		enc = append(enc, percentEncode(kv[0])+"="+percentEncode(kv[1]))
	}
	slices.Sort(enc) // sorting "k=v" strings orders by key then value for encoded keys
	return strings.ToUpper(r.Method) + "&" + percentEncode(scheme+"://"+host+path) + "&" + percentEncode(strings.Join(enc, "&"))
}

// signedParams collects the parameters covered by the signature and the
// protocol parameters, wherever they were sent.
func signedParams(r *http.Request) (all [][2]string, oauth map[string]string, err error) {
	oauth = map[string]string{}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "OAuth ") {
		hp, err := parseOAuthHeader(h)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range hp {
			if k == "realm" {
				continue
			}
			oauth[k] = v
			if k != "oauth_signature" {
				all = append(all, [2]string{k, v})
			}
		}
	}
	add := func(vals url.Values) {
		for k, vs := range vals {
			for _, v := range vs {
				if k == "oauth_signature" {
					oauth[k] = v
					continue
				}
				if strings.HasPrefix(k, "oauth_") {
					if _, dup := oauth[k]; !dup {
						oauth[k] = v
					}
				}
				all = append(all, [2]string{k, v})
			}
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, nil, fmt.Errorf("query: %w", err)
	}
	add(q)
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") && r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, nil, fmt.Errorf("body: %w", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, nil, fmt.Errorf("body: %w", err)
		}
		add(form)
	}
	return all, oauth, nil
}

// verifyOAuth1 checks an OAuth 1.0a signed request and returns its protocol
// parameters and consumer. Checks run in this order: parameters present,
// consumer known, RSA-SHA1, timestamp window, nonce unused, signature.
func (s *Server) verifyOAuth1(r *http.Request) (map[string]string, *consumer, *oauthProblem) {
	all, op, err := signedParams(r)
	if err != nil {
		return nil, nil, problem(http.StatusBadRequest, "parameter_rejected")
	}
	var absent []string
	for _, k := range []string{"oauth_consumer_key", "oauth_signature_method", "oauth_signature", "oauth_timestamp", "oauth_nonce"} {
		if op[k] == "" {
			absent = append(absent, k)
		}
	}
	if len(absent) > 0 {
		return nil, nil, problem(http.StatusBadRequest, "parameter_absent", [2]string{"oauth_parameters_absent", strings.Join(absent, "&")})
	}
	s.mu.Lock()
	c := s.consumers[op["oauth_consumer_key"]]
	now := s.now()
	s.mu.Unlock()
	if c == nil {
		return nil, nil, problem(http.StatusUnauthorized, "consumer_key_unknown")
	}
	if op["oauth_signature_method"] != "RSA-SHA1" {
		return nil, nil, problem(http.StatusBadRequest, "signature_method_rejected", [2]string{"oauth_acceptable_signature_methods", "RSA-SHA1"})
	}
	ts, err := strconv.ParseInt(op["oauth_timestamp"], 10, 64)
	if err != nil || math.Abs(now.Sub(time.Unix(ts, 0)).Seconds()) > oauthTimestampWindow.Seconds() {
		lo, hi := now.Add(-oauthTimestampWindow).Unix(), now.Add(oauthTimestampWindow).Unix()
		return nil, nil, problem(http.StatusUnauthorized, "timestamp_refused", [2]string{"oauth_acceptable_timestamps", fmt.Sprintf("%d-%d", lo, hi)})
	}
	nonceKey := strings.Join([]string{c.key, op["oauth_token"], op["oauth_timestamp"], op["oauth_nonce"]}, "|")
	s.mu.Lock()
	_, used := s.nonces[nonceKey]
	s.mu.Unlock()
	if used {
		return nil, nil, problem(http.StatusUnauthorized, "nonce_used")
	}
	bs := s.signatureBaseString(r, all)
	sig, err := base64.StdEncoding.DecodeString(op["oauth_signature"])
	h := sha1.Sum([]byte(bs))
	if err != nil || rsa.VerifyPKCS1v15(c.publicKey, crypto.SHA1, h[:], sig) != nil {
		return nil, nil, problem(http.StatusUnauthorized, "signature_invalid",
			[2]string{"oauth_signature", op["oauth_signature"]},
			[2]string{"oauth_signature_base_string", bs},
			[2]string{"oauth_signature_method", "RSA-SHA1"})
	}
	s.mu.Lock()
	s.nonces[nonceKey] = now
	for k, t := range s.nonces {
		if now.Sub(t) > 2*oauthTimestampWindow {
			delete(s.nonces, k)
		}
	}
	s.mu.Unlock()
	return op, c, nil
}

// oauth1Auth authenticates a resource request signed with an access token.
func (s *Server) oauth1Auth(w http.ResponseWriter, r *http.Request) (*user, bool) {
	op, c, p := s.verifyOAuth1(r)
	if p != nil {
		s.writeOAuthProblem(w, r, p)
		return nil, false
	}
	if op["oauth_token"] == "" {
		// Two-legged OAuth is off on the links the emulator creates.
		s.writeOAuthProblem(w, r, problem(http.StatusUnauthorized, "permission_unknown"))
		return nil, false
	}
	s.mu.Lock()
	at := s.accessTokens[op["oauth_token"]]
	var prob *oauthProblem
	var u *user
	switch {
	case at == nil || at.consumer != c.key:
		prob = problem(http.StatusUnauthorized, "token_rejected")
	case s.now().After(at.created.Add(accessTokenTTL)):
		prob = problem(http.StatusUnauthorized, "token_expired")
	default:
		u = s.userByName(at.user)
	}
	s.mu.Unlock()
	if prob != nil {
		s.writeOAuthProblem(w, r, prob)
		return nil, false
	}
	return u, true
}

func (s *Server) oauth1Routes() {
	for _, m := range []string{"GET", "POST"} {
		s.mux.HandleFunc(m+" "+s.cp+"/plugins/servlet/oauth/request-token", s.requestTokenServlet)
		s.mux.HandleFunc(m+" "+s.cp+"/plugins/servlet/oauth/access-token", s.accessTokenServlet)
		s.mux.HandleFunc(m+" "+s.cp+"/plugins/servlet/oauth/authorize", s.authorizeServlet)
	}
}

func writeForm(w http.ResponseWriter, kv ...string) {
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, percentEncode(kv[i])+"="+percentEncode(kv[i+1]))
	}
	_, _ = io.WriteString(w, strings.Join(parts, "&"))
}

func (s *Server) requestTokenServlet(w http.ResponseWriter, r *http.Request) {
	op, c, p := s.verifyOAuth1(r)
	if p != nil {
		s.writeOAuthProblem(w, r, p)
		return
	}
	cb := op["oauth_callback"]
	if cb == "" {
		cb = "oob"
	}
	s.mu.Lock()
	rt := &requestToken{token: alnumToken(32), secret: alnumToken(32), consumer: c.key, callback: cb, created: s.now()}
	s.requestTokens[rt.token] = rt
	s.mu.Unlock()
	s.setUser(w, nil)
	writeForm(w, "oauth_token", rt.token, "oauth_token_secret", rt.secret, "oauth_callback_confirmed", "true")
}

func (s *Server) accessTokenServlet(w http.ResponseWriter, r *http.Request) {
	op, c, p := s.verifyOAuth1(r)
	if p != nil {
		s.writeOAuthProblem(w, r, p)
		return
	}
	s.mu.Lock()
	rt := s.requestTokens[op["oauth_token"]]
	var prob *oauthProblem
	switch {
	case rt == nil || rt.consumer != c.key:
		prob = problem(http.StatusUnauthorized, "token_rejected")
	case s.now().After(rt.created.Add(requestTokenTTL)):
		prob = problem(http.StatusUnauthorized, "token_expired")
	case rt.denied:
		prob = problem(http.StatusUnauthorized, "permission_denied")
	case rt.user == "":
		prob = problem(http.StatusUnauthorized, "permission_unknown")
	case op["oauth_verifier"] != "" && op["oauth_verifier"] != rt.verifier:
		// Jira tolerates a missing verifier but not a wrong one.
		prob = problem(http.StatusUnauthorized, "token_rejected")
	}
	if prob != nil {
		s.mu.Unlock()
		s.writeOAuthProblem(w, r, prob)
		return
	}
	delete(s.requestTokens, rt.token)
	at := &accessToken{token: alnumToken(32), secret: alnumToken(32), consumer: c.key, user: rt.user, created: s.now()}
	s.accessTokens[at.token] = at
	s.mu.Unlock()
	s.setUser(w, nil)
	exp := strconv.Itoa(int(accessTokenTTL.Seconds()))
	writeForm(w, "oauth_token", at.token, "oauth_token_secret", at.secret, "oauth_expires_in", exp,
		"oauth_session_handle", alnumToken(32), "oauth_authorization_expires_in", exp)
}

// ApproveRequestToken approves an OAuth 1.0a request token as username, as
// if the user had logged in on the authorize page and clicked Allow. It
// returns the oauth_verifier the consumer exchanges with the token.
func (s *Server) ApproveRequestToken(token, username string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.approveLocked(token, username)
}

func (s *Server) approveLocked(token, username string) (string, error) {
	rt := s.requestTokens[token]
	if rt == nil {
		return "", fmt.Errorf("jira emulator: unknown request token %q", token)
	}
	u := s.userByName(username)
	if u == nil {
		return "", fmt.Errorf("jira emulator: no user %q", username)
	}
	rt.user, rt.verifier, rt.denied = u.name, alnumToken(6), false
	return rt.verifier, nil
}

// DenyRequestToken refuses a request token as if the user clicked Deny;
// the access-token exchange then fails with permission_denied.
func (s *Server) DenyRequestToken(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.requestTokens[token]
	if rt == nil {
		return fmt.Errorf("jira emulator: unknown request token %q", token)
	}
	rt.denied, rt.user, rt.verifier = true, "", deniedVerifier
	return nil
}

// emulatorApprove is the HTTP twin of ApproveRequestToken for scripts:
// POST <cp>/_emulator/oauth/approve with form fields oauth_token and username.
func (s *Server) emulatorApprove(w http.ResponseWriter, r *http.Request) {
	v, err := s.ApproveRequestToken(r.FormValue("oauth_token"), r.FormValue("username"))
	if err != nil {
		s.writeErrors(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"oauth_verifier": v})
}

// callbackURL appends the token and verifier to the consumer's callback.
func callbackURL(cb, token, verifier string) string {
	u, err := url.Parse(cb)
	if err != nil {
		return cb
	}
	q := u.Query()
	q.Set("oauth_token", token)
	q.Set("oauth_verifier", verifier)
	u.RawQuery = q.Encode()
	return u.String()
}

// authorizeServlet is the page a user sees when a consumer sends them to
// Jira: log in if needed, then Allow or Deny.
func (s *Server) authorizeServlet(w http.ResponseWriter, r *http.Request) {
	token := r.FormValue("oauth_token")
	u := s.sessionUser(r)
	s.setUser(w, u)
	s.mu.Lock()
	rt := s.requestTokens[token]
	var c *consumer
	if rt != nil {
		c = s.consumers[rt.consumer]
	}
	s.mu.Unlock()
	if rt == nil || c == nil {
		s.page(w, http.StatusBadRequest, "OAuth error", `<p class="error">The request token is invalid or has expired. Start again from the application.</p>`)
		return
	}
	if r.Method == http.MethodGet {
		s.authorizePage(w, u, c, token, "")
		return
	}
	if u == nil {
		s.mu.Lock()
		u = s.login(r.FormValue("os_username"), r.FormValue("os_password"))
		if u != nil {
			s.startSession(w, u)
		}
		s.mu.Unlock()
		if u == nil {
			s.authorizePage(w, nil, c, token, "Sorry, your username and password are incorrect - please try again.")
			return
		}
		w.Header().Set("X-AUSERNAME", u.name)
	}
	var verifier string
	if r.FormValue("deny") != "" {
		_ = s.DenyRequestToken(token)
		verifier = deniedVerifier
	} else if r.FormValue("approve") != "" {
		v, err := s.ApproveRequestToken(token, u.name)
		if err != nil {
			s.page(w, http.StatusBadRequest, "OAuth error", "<p class=\"error\">"+htmlEscape(err.Error())+"</p>")
			return
		}
		verifier = v
	} else {
		s.authorizePage(w, u, c, token, "")
		return
	}
	if rt.callback == "oob" {
		s.page(w, http.StatusOK, "Access approved",
			fmt.Sprintf(`<p>You have authorized <b>%s</b>. Your verification code is <code id="oauth-verifier">%s</code>.</p>`, htmlEscape(c.name), htmlEscape(verifier)))
		return
	}
	http.Redirect(w, r, callbackURL(rt.callback, token, verifier), http.StatusFound)
}

func (s *Server) authorizePage(w http.ResponseWriter, u *user, c *consumer, token, msg string) {
	var b strings.Builder
	fmt.Fprintf(&b, `<h1>Welcome to Jira</h1><p><b>%s</b> would like read and write access to your Jira data.</p>`, htmlEscape(c.name))
	if msg != "" {
		fmt.Fprintf(&b, `<p class="error">%s</p>`, htmlEscape(msg))
	}
	fmt.Fprintf(&b, `<form method="post" action="%s/plugins/servlet/oauth/authorize" id="oauth-authorize">`, s.cp)
	fmt.Fprintf(&b, `<input type="hidden" name="oauth_token" value="%s">`, htmlEscape(token))
	if u == nil {
		b.WriteString(`<p><label>Username <input type="text" name="os_username" id="login-form-username"></label></p>`)
		b.WriteString(`<p><label>Password <input type="password" name="os_password" id="login-form-password"></label></p>`)
	} else {
		fmt.Fprintf(&b, `<p>Logged in as <b>%s</b>.</p>`, htmlEscape(u.displayName))
	}
	b.WriteString(`<p><input type="submit" name="approve" value="Allow" id="approve"> <input type="submit" name="deny" value="Deny" id="deny"></p></form>`)
	s.page(w, http.StatusOK, "OAuth access request", b.String())
}

// parsePublicKey accepts what the application-link form accepts: a PEM
// PUBLIC KEY (PKIX), a PEM RSA PUBLIC KEY (PKCS#1) or bare base64 DER.
func parsePublicKey(text string) (*rsa.PublicKey, error) {
	text = strings.TrimSpace(text)
	der := []byte(nil)
	if blk, _ := pem.Decode([]byte(text)); blk != nil {
		der = blk.Bytes
	} else {
		d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return nil, fmt.Errorf("public key is neither PEM nor base64 DER: %w", err)
		}
		der = d
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("public key is not an RSA key")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse RSA public key: %w", err)
	}
	return k, nil
}

func publicKeyPEM(k *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
