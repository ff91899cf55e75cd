package admin

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/asanajira/asanajira/internal/setup"
)

// A Jira behind a private CA presents a certificate no system trust store
// knows. The admin gives that CA's certificate(s) as the server's CA bundle,
// pasted or uploaded; setup.NormalizeCABundle checks them.

// parseForm reads a console form: URL-encoded, or multipart when it carries
// a file (the CA bundle upload). The body is already capped at maxForm.
func parseForm(r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(maxForm) //nolint:gosec // G120: admin() caps the body at maxForm (http.MaxBytesReader) before parsing
	}
	return r.ParseForm()
}

var errCABundleFile = &setup.Error{Code: setup.Invalid, Message: "The CA bundle file could not be read; choose it again."}

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
		return "", pasted, errCABundleFile
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxForm))
	if err != nil {
		return "", pasted, errCABundleFile
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return pasted, pasted, nil
	}
	return string(b), pasted, nil
}
