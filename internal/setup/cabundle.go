package setup

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/asanajira/asanajira/internal/store"
)

// A Jira behind a private CA presents a certificate no system trust store
// knows. The admin gives that CA's certificate(s) as the server's CA
// bundle; every connection to the server then trusts them as well as the
// system roots (credentials.ServerTransportOptions).

var errPrivateKeyInBundle = &Error{Code: Invalid, Err: ErrPrivateKeyInBundle,
	Message: "The CA bundle holds a private key. Give only the CA's certificate(s), each starting with -----BEGIN CERTIFICATE-----; a private key never leaves Jira's host and was not saved."}

// NormalizeCABundle checks that bundle holds only certificates and returns
// them as PEM, without the text around them: "" for an empty bundle. PEM
// is expected; a DER file (a .cer holding one certificate) is accepted too.
func NormalizeCABundle(bundle string) (string, error) {
	rest := []byte(strings.TrimSpace(bundle))
	if len(rest) == 0 {
		return "", nil
	}
	var out bytes.Buffer
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			if strings.Contains(block.Type, "PRIVATE KEY") {
				return "", errPrivateKeyInBundle
			}
			return "", invalid("Block %d of the CA bundle is a %q, not a certificate. Give only the CA's certificate(s), each starting with -----BEGIN CERTIFICATE-----.", n, block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return "", invalid("Certificate %d of the CA bundle cannot be read (%v); export it again from the CA in PEM form.", n, err)
		}
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	}
	if n > 0 {
		if strings.Contains(string(rest), "-----BEGIN") {
			return "", invalid("The CA bundle ends with an incomplete PEM block; copy it again up to its -----END CERTIFICATE----- line.")
		}
		return out.String(), nil
	}
	if strings.Contains(bundle, "-----BEGIN") {
		if strings.Contains(bundle, "PRIVATE KEY") {
			return "", errPrivateKeyInBundle
		}
		return "", invalid("The CA bundle's PEM block is incomplete; copy it again from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.")
	}
	if certs, err := x509.ParseCertificates([]byte(bundle)); err == nil && len(certs) > 0 {
		for _, c := range certs {
			_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		return out.String(), nil
	}
	return "", invalid("The CA bundle is not a certificate. Paste the CA's certificate(s) in PEM form, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----, or upload the .pem or .crt file.")
}

// CACert is one certificate of a stored CA bundle.
type CACert struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
}

// BundleCerts lists a stored (normalized) CA bundle.
func BundleCerts(bundle string) []CACert {
	var out []CACert
	rest := []byte(bundle)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return out
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, CACert{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotAfter: c.NotAfter})
		}
	}
}

// SetCABundle replaces a server's CA bundle; "" removes it, so the
// server's connections trust the system's CAs only.
func (s *Service) SetCABundle(ctx context.Context, actor Actor, id, bundle string) (store.JiraServer, error) {
	if err := need(actor); err != nil {
		return store.JiraServer{}, err
	}
	srv, err := s.Server(ctx, id)
	if err != nil {
		return srv, err
	}
	if bundle, err = NormalizeCABundle(bundle); err != nil {
		return srv, err
	}
	if bundle == srv.CABundlePEM {
		return srv, nil
	}
	srv.CABundlePEM = bundle
	if err := s.st.UpdateJiraServer(ctx, &srv); err != nil {
		return srv, fmt.Errorf("setup: CA bundle: %w", err)
	}
	detail := "removed; the system trust store only"
	if certs := BundleCerts(bundle); len(certs) > 0 {
		names := make([]string, len(certs))
		for i, cert := range certs {
			names[i] = cert.Subject
		}
		detail = fmt.Sprintf("%d certificate(s): %s", len(certs), strings.Join(names, "; "))
	}
	return srv, s.audit(ctx, actor, "server.ca_bundle", srv.ID, detail)
}
