package admin

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// A Jira behind a private CA presents a certificate no system trust store
// knows. The admin gives that CA's certificate(s) as the server's CA bundle,
// pasted or uploaded; every connection to the server then trusts them as
// well as the system roots (credentials.ServerTransportOptions).

// parseForm reads a console form: URL-encoded, or multipart when it carries
// a file (the CA bundle upload). The body is already capped at maxForm.
func parseForm(r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(maxForm) //nolint:gosec // G120: admin() caps the body at maxForm (http.MaxBytesReader) before parsing
	}
	return r.ParseForm()
}

// formCABundle is the CA bundle a server form carries: the uploaded file
// when one was chosen, else the pasted text. pasted is what the form may
// show again after an error.
func formCABundle(r *http.Request) (bundle, pasted string, err error) {
	pasted = strings.TrimSpace(r.PostFormValue("ca_bundle"))
	if r.MultipartForm == nil {
		return pasted, pasted, nil
	}
	f, _, err := r.FormFile("ca_bundle_file")
	if errors.Is(err, http.ErrMissingFile) {
		return pasted, pasted, nil
	}
	if err != nil {
		return "", pasted, adminMessage("The CA bundle file could not be read; choose it again.")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxForm))
	if err != nil {
		return "", pasted, adminMessage("The CA bundle file could not be read; choose it again.")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return pasted, pasted, nil
	}
	return string(b), pasted, nil
}

// errPrivateKeyInBundle refuses a key pasted where certificates belong; the
// form does not show such text again.
var errPrivateKeyInBundle = adminMessage("The CA bundle holds a private key. Give only the CA's certificate(s), each starting with -----BEGIN CERTIFICATE-----; a private key never leaves Jira's host and was not saved.")

// normalizeCABundle checks that bundle holds only certificates and returns
// them as PEM, without the text around them: "" for an empty bundle. PEM is
// expected; a DER file (a .cer holding one certificate) is accepted too.
func normalizeCABundle(bundle string) (string, error) {
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
			return "", adminMessage(fmt.Sprintf("Block %d of the CA bundle is a %q, not a certificate. Give only the CA's certificate(s), each starting with -----BEGIN CERTIFICATE-----.", n, block.Type))
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return "", adminMessage(fmt.Sprintf("Certificate %d of the CA bundle cannot be read (%v); export it again from the CA in PEM form.", n, err))
		}
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes})
	}
	if n > 0 {
		if strings.Contains(string(rest), "-----BEGIN") {
			return "", adminMessage("The CA bundle ends with an incomplete PEM block; copy it again up to its -----END CERTIFICATE----- line.")
		}
		return out.String(), nil
	}
	if strings.Contains(bundle, "-----BEGIN") {
		if strings.Contains(bundle, "PRIVATE KEY") {
			return "", errPrivateKeyInBundle
		}
		return "", adminMessage("The CA bundle's PEM block is incomplete; copy it again from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----.")
	}
	if certs, err := x509.ParseCertificates([]byte(bundle)); err == nil && len(certs) > 0 {
		for _, c := range certs {
			_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		return out.String(), nil
	}
	return "", adminMessage("The CA bundle is not a certificate. Paste the CA's certificate(s) in PEM form, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----, or upload the .pem or .crt file.")
}

// caCert is one certificate of a stored CA bundle, as the server page
// lists it.
type caCert struct {
	Subject, Issuer string
	NotAfter        time.Time
}

// bundleCerts lists a stored (normalized) CA bundle.
func bundleCerts(bundle string) []caCert {
	var out []caCert
	rest := []byte(bundle)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return out
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, caCert{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotAfter: c.NotAfter})
		}
	}
}

// setCABundle replaces a server's CA bundle, or removes it (the remove
// button).
func (c *Console) setCABundle(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	srv, err := c.loadServer(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	var bundle string
	if r.PostFormValue("remove") == "" {
		var raw string
		raw, _, err = formCABundle(r)
		if err == nil {
			bundle, err = normalizeCABundle(raw)
		}
		if err == nil && bundle == "" {
			err = adminMessage("Paste the CA's certificate(s) in PEM form or choose the file; to trust the system's CAs only, press Remove.")
		}
	}
	if err != nil {
		c.renderServer(w, r, s, http.StatusUnprocessableEntity, srv, err.Error())
		return nil
	}
	srv.CABundlePEM = bundle
	if err := c.d.Store.UpdateJiraServer(ctx, &srv); err != nil {
		return fmt.Errorf("admin: CA bundle: %w", err)
	}
	detail, flash := "removed; the system trust store only", "CA bundle removed: asanajira trusts the system's CAs only for this server."
	if certs := bundleCerts(bundle); len(certs) > 0 {
		names := make([]string, len(certs))
		for i, cert := range certs {
			names[i] = cert.Subject
		}
		detail = fmt.Sprintf("%d certificate(s): %s", len(certs), strings.Join(names, "; "))
		flash = "CA bundle saved. Every connection to this Jira now trusts it; the checks below ran with it."
	}
	if err := c.audit(ctx, s, "server.ca_bundle", srv.ID, detail); err != nil {
		return err
	}
	return c.redirect(w, r, "/admin/servers/"+srv.ID, flash)
}
