package jira

import (
	"crypto/x509"
	"errors"
)

// tlsHint names what to do about a TLS certificate Jira's connection
// refused, or "" when err is no certificate problem. A private CA is the
// common case inside company networks: its certificate goes into the
// server's CA bundle.
func tlsHint(err error) string {
	var (
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &ua):
		return "Jira's TLS certificate is signed by a CA this host does not trust (a private CA or a self-signed certificate): " +
			"paste that CA's certificate (PEM) as the server's CA bundle in the admin console (Jira server → CA bundle), " +
			"or install it in this host's trust store"
	case errors.As(err, &he):
		return "Jira's TLS certificate is not valid for this host name: use a base URL whose host the certificate names, or have the certificate reissued"
	case errors.As(err, &ci):
		return "Jira's TLS certificate was refused (" + ci.Error() + "): renew or fix the certificate on Jira or the proxy in front of it"
	}
	return ""
}
