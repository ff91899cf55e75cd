package asana

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// certificateRefused reports whether err is a TLS certificate this host
// does not accept (an unknown authority, a wrong host name, an expired or
// otherwise invalid certificate). Retrying such a connection gets the same
// answer, only later; a proxy inspecting TLS with its own CA is the usual
// cause inside company networks.
func certificateRefused(err error) bool {
	var (
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		cv *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cv)
}
