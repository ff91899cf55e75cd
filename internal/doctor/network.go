package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/asanajira/asanajira/internal/jira"
)

// expirySoon is how early the TLS check warns about a certificate about to
// expire: enough time to order and install a new one.
const expirySoon = 30 * 24 * time.Hour

// checkURL parses the URL and options and builds the clients later checks
// use. Nothing else can run without a usable URL.
func (r *runner) checkURL(context.Context) Check {
	if strings.TrimSpace(r.opts.JiraURL) == "" {
		r.stop = "no Jira URL was given"
		return fail("no Jira URL was given", "Give Jira's base URL, the address users open in their browser, including any context path: https://jira.example.com or https://example.com/jira.")
	}
	base, err := jira.ParseBaseURL(r.opts.JiraURL)
	if err != nil {
		r.stop = "the Jira URL is not usable (see Jira URL)"
		return fail(err.Error(), "Give Jira's base URL as shown in Jira under Administration → System → General configuration → Base URL, for example https://jira.example.com/jira.")
	}
	r.base = base
	if r.opts.ConnectTo != "" {
		if _, _, err := net.SplitHostPort(r.opts.ConnectTo); err != nil {
			r.stop = "the connect address is not usable (see Jira URL)"
			return fail(fmt.Sprintf("connect address %q is not host:port", r.opts.ConnectTo), "Give the address asanajira should connect to as host:port, for example 10.0.0.5:8080 or jira-internal.example.com:443.")
		}
	}
	topts := jira.TransportOptions{
		ConnectAddress:        r.opts.ConnectTo,
		DialTimeout:           r.timeout,
		TLSHandshakeTimeout:   r.timeout,
		ResponseHeaderTimeout: r.timeout,
		CABundlePEM:           r.opts.CABundlePEM,
	}
	if len(r.opts.CABundlePEM) > 0 && !x509.NewCertPool().AppendCertsFromPEM(r.opts.CABundlePEM) {
		// The TLS check reports the bad bundle; the other checks still run.
		topts.CABundlePEM = nil
	}
	t, err := jira.NewTransport(base.String(), topts)
	if err != nil {
		r.stop = "the connection options are not usable (see Jira URL)"
		return fail(err.Error(), "Fix the option named in the message.")
	}
	r.transport = t
	r.plain = jira.NewHTTPClient(t, r.timeout)
	r.anon, err = jira.New(base.String(), r.plain, noRetry())
	if err != nil {
		r.stop = "the Jira URL is not usable (see Jira URL)"
		return fail(err.Error(), "Give Jira's base URL, for example https://jira.example.com/jira.")
	}
	r.buildCredentials()
	ev := trimSlash(base.String())
	if r.opts.ConnectTo != "" {
		ev += ", reached through " + r.opts.ConnectTo + " (requests are still addressed and signed for " + base.Host + ")"
	}
	return pass(ev)
}

// buildCredentials prepares the admin and OAuth clients; problems with them
// are reported by the checks that use them.
func (r *runner) buildCredentials() {
	switch {
	case r.opts.AdminToken != "":
		r.admin, _ = jira.New(r.base.String(), jira.NewHTTPClient(&jira.BearerTransport{Token: r.opts.AdminToken, Base: r.transport}, r.timeout), noRetry())
		r.adminWho = "the admin personal access token"
	case r.opts.AdminUser != "":
		r.admin, _ = jira.New(r.base.String(), jira.NewHTTPClient(&jira.BasicAuthTransport{Username: r.opts.AdminUser, Password: r.opts.AdminPassword, Base: r.transport}, r.timeout), noRetry())
		r.adminWho = "user " + r.opts.AdminUser + " (basic auth)"
	}
	if r.opts.ConsumerKey == "" && len(r.opts.PrivateKeyPEM) == 0 {
		return
	}
	switch {
	case r.opts.ConsumerKey == "":
		r.signerErr = errors.New("a private key was given without its consumer key")
		return
	case len(r.opts.PrivateKeyPEM) == 0:
		r.signerErr = errors.New("a consumer key was given without the private key")
		return
	}
	key, err := parsePrivateKey(r.opts.PrivateKeyPEM)
	if err != nil {
		r.signerErr = err
		return
	}
	r.signer = &jira.OAuth1Signer{ConsumerKey: r.opts.ConsumerKey, PrivateKey: key, Now: r.now}
	if r.opts.AccessToken != "" {
		r.oauth, _ = jira.New(r.base.String(), jira.NewHTTPClient(&jira.OAuth1Transport{Signer: r.signer, Token: r.opts.AccessToken, Base: r.transport}, r.timeout), noRetry())
	}
}

// dialAddress is where TCP connections go: --connect-to, or the URL's host
// and port.
func (r *runner) dialAddress() string {
	if r.opts.ConnectTo != "" {
		return r.opts.ConnectTo
	}
	port := r.base.Port()
	if port == "" {
		port = "80"
		if r.base.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(r.base.Hostname(), port)
}

// proxyFor reports the HTTP proxy asanajira would use for Jira, if any.
func (r *runner) proxyFor() *url.URL {
	if r.transport.Proxy == nil || r.opts.ConnectTo != "" {
		return nil
	}
	req := &http.Request{Method: http.MethodGet, URL: r.base, Header: http.Header{}}
	u, err := r.transport.Proxy(req)
	if err != nil {
		return nil
	}
	return u
}

func (r *runner) resolver() *net.Resolver {
	if r.opts.Resolver != nil {
		return r.opts.Resolver
	}
	return net.DefaultResolver
}

func (r *runner) checkDNS(ctx context.Context) Check {
	host, _, _ := net.SplitHostPort(r.dialAddress())
	via := ""
	if r.opts.ConnectTo != "" {
		via = fmt.Sprintf(" (--connect-to: %s is not looked up)", r.base.Hostname())
	}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		ctx, cancel := r.withTimeout(ctx)
		defer cancel()
		addrs, err := r.resolver().LookupIPAddr(ctx, host)
		if err != nil {
			ev, fix := dnsFailure(host, err)
			if p := r.proxyFor(); p != nil {
				return warn(ev+"; calls go through the proxy "+p.Redacted()+", which resolves the name itself", "")
			}
			r.stop = "the Jira host name does not resolve (see DNS)"
			return fail(ev, fix)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	var list []string
	var private []string
	for _, ip := range ips {
		list = append(list, ip.String())
		if c := addressClass(ip); c != "" {
			private = append(private, ip.String()+" ("+c+")")
		}
	}
	ev := host + " → " + strings.Join(list, ", ") + via
	if net.ParseIP(host) != nil {
		ev = host + " is an IP address, no lookup needed" + via
	}
	if r.opts.PublicMode && len(private) > 0 {
		return warn(ev+"\nin public mode, Jira resolves to a non-public address: "+strings.Join(private, ", "),
			"This is fine when asanajira runs inside the same network as Jira: Jira never needs to be reachable from the internet. "+
				"If asanajira runs elsewhere (a cloud host), it cannot reach this address: run it inside Jira's network, or give --connect-to an address it can reach. "+
				"Make sure the Jira URL is the one you meant: a public admin console should not be pointed at internal services.")
	}
	return pass(ev)
}

// addressClass names the kind of a non-public address, "" for a public one.
func addressClass(ip net.IP) string {
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private network"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsUnspecified():
		return "unspecified"
	}
	if v4 := ip.To4(); v4 != nil && v4[0] == 100 && v4[1]&0xc0 == 64 {
		return "carrier-grade NAT"
	}
	return ""
}

func dnsFailure(host string, err error) (ev, fix string) {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return "no DNS record for " + host,
				"Check the spelling of the host name. If the name exists only inside your network (split-horizon DNS), run asanajira where that DNS answers, " +
					"or keep the public URL and give --connect-to with an address asanajira can reach (IP:port)."
		case de.IsTimeout:
			return "the DNS server did not answer for " + host, "Check this host's DNS configuration (/etc/resolv.conf) and that the DNS server is reachable."
		}
	}
	return "cannot resolve " + host + ": " + err.Error(), "Check this host's DNS configuration and the host name in the URL."
}

func (r *runner) checkTCP(ctx context.Context) Check {
	addr := r.dialAddress()
	what := addr
	if p := r.proxyFor(); p != nil {
		addr = p.Host
		if p.Port() == "" {
			port := "80"
			if p.Scheme == "https" {
				port = "443"
			}
			addr = net.JoinHostPort(p.Hostname(), port)
		}
		what = "the proxy " + addr + " (from the HTTPS_PROXY/HTTP_PROXY environment)"
	}
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	d := net.Dialer{Resolver: r.opts.Resolver}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		r.stop = "asanajira cannot open a TCP connection to Jira (see TCP connection)"
		ev, fix := tcpFailure(what, err, r.timeout)
		return fail(ev, fix)
	}
	remote := conn.RemoteAddr().String()
	_ = conn.Close()
	if remote == addr {
		return pass("connected to " + what)
	}
	return pass("connected to " + what + " at " + remote)
}

func tcpFailure(what string, err error, timeout time.Duration) (ev, fix string) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection to " + what + " refused",
			"Nothing accepts connections there: check that Jira (or the proxy in front of it) is running and listens on this port, and that no firewall rejects asanajira's host."
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no answer from %s within %s", what, timeout),
			"A firewall probably drops the packets, or the host is down. Allow asanajira's host to reach this address and port."
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to " + what, "asanajira's host has no network path to Jira: check routing, VPN and firewall rules."
	}
	return "cannot connect to " + what + ": " + err.Error(), "Check that Jira is running and that the network lets asanajira's host reach it."
}

func (r *runner) checkTLS(ctx context.Context) Check {
	if r.base.Scheme != "https" {
		return skip("the URL uses http://, so there is no TLS; passwords and tokens travel unencrypted, and Jira's OAuth 2.0 provider requires https")
	}
	if len(r.opts.CABundlePEM) > 0 && !x509.NewCertPool().AppendCertsFromPEM(r.opts.CABundlePEM) {
		r.stop = "the CA bundle is not usable (see TLS certificate)"
		return fail("the CA bundle holds no PEM certificate", "Give a file with the CA certificate(s) in PEM form, each starting with -----BEGIN CERTIFICATE-----.")
	}
	if p := r.proxyFor(); p != nil {
		return skip("calls go through the proxy " + p.Redacted() + "; the certificate is checked by the HTTPS calls below")
	}
	host := r.base.Hostname()
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	d := tls.Dialer{
		NetDialer: &net.Dialer{Resolver: r.opts.Resolver},
		// Verification is done below with x509.Verify, so that a refused
		// certificate can still be described (subject, issuer, names, dates).
		Config: &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // verified explicitly below
	}
	conn, err := d.DialContext(ctx, "tcp", r.dialAddress())
	if err != nil {
		r.stop = "the TLS handshake with Jira failed (see TLS certificate)"
		return fail("TLS handshake with "+r.dialAddress()+" failed: "+err.Error(),
			"Check that this port serves HTTPS (a plain-HTTP port needs an http:// URL) and that Jira or its proxy accepts TLS 1.2 or later.")
	}
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()
	certs := state.PeerCertificates
	if len(certs) == 0 {
		r.stop = "Jira presented no TLS certificate (see TLS certificate)"
		return fail("the server presented no certificate", "Configure a certificate on Jira or the proxy in front of it.")
	}
	leaf := certs[0]
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if len(r.opts.CABundlePEM) > 0 {
		roots.AppendCertsFromPEM(r.opts.CABundlePEM)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	now := r.now()
	desc := describeCert(leaf)
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: now})
	if verr != nil {
		r.stop = "Jira's TLS certificate is not accepted (see TLS certificate)"
		return r.tlsFailure(host, desc, leaf, verr)
	}
	ev := desc + "\ntrusted for " + host + ", " + tls.VersionName(state.Version)
	if left := leaf.NotAfter.Sub(now); left < expirySoon {
		return warn(ev+fmt.Sprintf("\nexpires in %d days", int(left.Hours()/24)),
			"Renew Jira's certificate before "+leaf.NotAfter.UTC().Format("2006-01-02")+": once it expires, asanajira and browsers refuse to connect.")
	}
	return pass(ev)
}

func describeCert(c *x509.Certificate) string {
	names := c.DNSNames
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	subject := c.Subject.CommonName
	if subject == "" {
		subject = c.Subject.String()
	}
	issuer := c.Issuer.CommonName
	if issuer == "" {
		issuer = c.Issuer.String()
	}
	return fmt.Sprintf("certificate %q issued by %q, names [%s], valid %s to %s", subject, issuer, strings.Join(names, " "),
		c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
}

func (r *runner) tlsFailure(host, desc string, leaf *x509.Certificate, err error) Check {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		if len(r.opts.CABundlePEM) > 0 {
			return fail(desc+"\nnot signed by a CA this host trusts, nor by one in the CA bundle",
				"The CA bundle does not hold the certificate that signed Jira's certificate. Export the issuing CA (and any intermediate) as PEM and give that file as the CA bundle; for a self-signed certificate, give the certificate itself.")
		}
		return fail(desc+"\nnot signed by a CA this host trusts (a private CA or a self-signed certificate)",
			"Give asanajira the CA certificate that signed Jira's certificate, in PEM form (for a self-signed certificate, the certificate itself): "+
				"in the admin console, paste it as this server's CA bundle; for asanajira doctor, --ca-bundle FILE (ASANAJIRA_CA_BUNDLE). "+
				"Alternatively install the CA in this host's trust store.")
	case errors.As(err, &he):
		return fail(desc+"\nnot valid for the host name "+host,
			"Use a host name the certificate names in the Jira URL (and in Jira's Base URL), or have the certificate reissued with "+host+" among its subject alternative names.")
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		now := r.now()
		if now.Before(leaf.NotBefore) {
			return fail(desc+"\nnot valid yet: this host's clock says "+now.UTC().Format(time.RFC3339),
				"Check this host's clock (NTP); if it is right, the certificate was issued with a future start date.")
		}
		return fail(desc+"\nexpired on "+leaf.NotAfter.UTC().Format("2006-01-02"), "Renew Jira's TLS certificate (on Jira or on the proxy in front of it).")
	}
	return fail(desc+"\nrefused: "+err.Error(), "Fix Jira's certificate chain: serve the full chain, from Jira's certificate up to a trusted CA.")
}
