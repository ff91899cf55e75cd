package admin_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	fakejira "github.com/asanajira/asanajira/internal/fakes/jira"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/tlstest"
)

// postMultipart posts a console form as multipart/form-data, with the
// session's CSRF token unless fields set "csrf", and files by field name.
func (e *env) postMultipart(b *browser, path string, fields map[string]string, files map[string][]byte) response {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, ok := fields["csrf"]; !ok {
		_ = mw.WriteField("csrf", e.csrf(b))
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for k, v := range files {
		fw, err := mw.CreateFormFile(k, k+".pem")
		if err != nil {
			e.t.Fatal(err)
		}
		_, _ = fw.Write(v)
	}
	_ = mw.Close()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.hs.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// newTLSJira starts a Jira emulator behind TLS with a certificate from its
// own private CA and returns it with its base URL and the CA.
func newTLSJira(t *testing.T, version string) (*fakejira.Server, string, *tlstest.CA) {
	t.Helper()
	j, err := fakejira.New(fakejira.Options{Version: version, OnUnknownRoute: func(m, p string) {
		t.Errorf("jira emulator %s: unknown route %s %s", version, m, p)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	ca := tlstest.NewCA(t, "Example Corp Private CA")
	return j, ca.NewServer(t, j).URL + j.ContextPath(), ca
}

const privateKeyPEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"

// A CA bundle that is not certificates is refused with a 422 that says
// what is wrong, nothing is stored, and a pasted private key is not shown
// again.
func TestCABundleValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.admin()
	ca := tlstest.NewCA(t, "Valid CA")
	truncated := string(ca.PEM[:len(ca.PEM)/2])
	tests := []struct {
		name   string
		pasted string
		file   []byte
		text   string
	}{
		{"not PEM", "hello", nil, "The CA bundle is not a certificate"},
		{"a private key", privateKeyPEM, nil, "holds a private key"},
		{"a private key uploaded", "", []byte(privateKeyPEM), "holds a private key"},
		{"a certificate and a key", string(ca.PEM) + privateKeyPEM, nil, "holds a private key"},
		{"a public key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", nil, `is a &#34;PUBLIC KEY&#34;, not a certificate`},
		{"a broken certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", nil, "Certificate 1 of the CA bundle cannot be read"},
		{"a truncated certificate", truncated, nil, "incomplete"},
		{"a certificate then a truncated one", string(ca.PEM) + truncated, nil, "incomplete PEM block"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			if tc.file != nil {
				files["ca_bundle_file"] = tc.file
			}
			r := e.postMultipart(b, "/admin/servers", map[string]string{"base_url": "https://jira.example.com", "ca_bundle": tc.pasted}, files)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, tc.text) {
				t.Errorf("%d, want 422 with %q:\n%s", r.Status, tc.text, r.Body)
			}
			if strings.Contains(r.Body, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC") {
				t.Error("the page shows the private key again")
			}
			if !strings.Contains(r.Body, `value="https://jira.example.com"`) {
				t.Error("the page lost the base URL entered")
			}
		})
	}
	servers, err := e.store.ListJiraServers(t.Context())
	if err != nil || len(servers) != 0 {
		t.Fatalf("servers after refused forms: %+v, %v", servers, err)
	}
	// A multipart form without the CSRF token is refused like any other.
	r := e.postMultipart(b, "/admin/servers", map[string]string{"csrf": "forged", "base_url": "https://jira.example.com"}, nil)
	if r.Status != http.StatusForbidden {
		t.Errorf("multipart form with a forged CSRF token: %d, want 403", r.Status)
	}
}

// A Jira behind a private CA, connected from the console: without the CA
// bundle every call fails and the doctor and the setup say why; with the
// bundle (uploaded on the server page) the doctor passes, the automatic
// setup creates the application link and registers the webhook over TLS.
func TestPrivateCAJira(t *testing.T) {
	t.Parallel()
	jira, base, ca := newTLSJira(t, "9.12.0")
	e := newEnv(t)
	e.doctor = nil // the real doctor, over the network
	e.restart()
	b := e.admin()

	srv := e.addServerAnyway(b, base)
	if srv.Status != "unreachable" || srv.Version != "" || srv.CABundlePEM != "" {
		t.Fatalf("without a CA bundle: status %q, version %q", srv.Status, srv.Version)
	}
	page := b.get(e.hs.URL + "/admin/servers/" + srv.ID)
	for _, want := range []string{`<tr data-check="tls"`, "not signed by a CA this host trusts", "paste it as this server&#39;s CA bundle", `id="tls-trust">the system's CAs<`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("server page without a CA bundle lacks %q", want)
		}
	}
	pat, err := jira.CreatePAT("admin", "asanajira setup")
	if err != nil {
		t.Fatal(err)
	}
	setup := url.Values{"auth": {"token"}, "admin_token": {pat}}
	r := e.postForm(b, "/admin/servers/"+srv.ID+"/automatic", setup)
	if r.Status != http.StatusBadGateway || !strings.Contains(r.Body, "paste that CA&#39;s certificate (PEM) as the server&#39;s CA bundle") {
		t.Fatalf("automatic setup without the CA bundle: %d, want 502 naming the CA bundle:\n%s", r.Status, r.Body)
	}
	if len(jira.ApplicationLinks()) != 0 {
		t.Fatal("an application link was created over an untrusted connection")
	}

	// The admin uploads the CA's certificate on the server page.
	r = e.postMultipart(b, "/admin/servers/"+srv.ID+"/ca-bundle", nil, map[string][]byte{"ca_bundle_file": ca.PEM})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save the CA bundle: %d %s", r.Status, r.Body)
	}
	got, err := e.store.GetJiraServer(t.Context(), srv.ID)
	if err != nil || got.CABundlePEM != string(ca.PEM) {
		t.Fatalf("stored CA bundle %q, %v; want the CA's certificate", got.CABundlePEM, err)
	}
	page = b.get(e.hs.URL + "/admin/servers/" + srv.ID)
	for _, want := range []string{"CN=Example Corp Private CA", "the CA bundle (1 certificate)", `id="remove-ca-bundle"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("server page with the CA bundle lacks %q", want)
		}
	}
	if tls := checkRow(page.Body, "tls"); !strings.Contains(tls, `class="lozenge ok"`) {
		t.Errorf("doctor's TLS check with the CA bundle: %s", tls)
	}

	r = e.postForm(b, "/admin/servers/"+srv.ID+"/automatic", setup)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("automatic setup with the CA bundle: %d %s", r.Status, r.Body)
	}
	got, _ = e.store.GetJiraServer(t.Context(), srv.ID)
	if links := jira.ApplicationLinks(); len(links) != 1 || links[0].ConsumerKey != got.ConsumerKey {
		t.Errorf("application links %+v", links)
	}
	if hooks := jira.Webhooks(); len(hooks) != 1 || !strings.HasPrefix(hooks[0].URL, e.hs.URL+"/jira/webhook/"+srv.ID) {
		t.Errorf("webhooks %+v", hooks)
	}
	if got.Status != "connected" || got.Version != "9.12.0" {
		t.Errorf("after setup: status %q, version %q", got.Status, got.Version)
	}

	// Remove: back to the system's CAs, and the doctor fails again.
	r = e.postMultipart(b, "/admin/servers/"+srv.ID+"/ca-bundle", map[string]string{"remove": "1"}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("remove the CA bundle: %d %s", r.Status, r.Body)
	}
	if got, _ := e.store.GetJiraServer(t.Context(), srv.ID); got.CABundlePEM != "" {
		t.Errorf("CA bundle after remove: %q", got.CABundlePEM)
	}
	// Saving nothing is refused rather than read as "remove".
	r = e.postMultipart(b, "/admin/servers/"+srv.ID+"/ca-bundle", map[string]string{"ca_bundle": " "}, nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "press Remove") {
		t.Errorf("empty CA bundle: %d", r.Status)
	}
	entries, _ := e.store.ListAudit(t.Context(), store.AuditFilter{})
	var actions []string
	for _, en := range entries {
		if en.Action == "server.ca_bundle" {
			actions = append(actions, en.Detail)
		}
	}
	if len(actions) != 2 || !strings.Contains(actions[1], "Example Corp Private CA") || !strings.Contains(actions[0], "removed") {
		t.Errorf("audit of the CA bundle: %q", actions)
	}
}

// A server added with its CA bundle pasted on the new-server form is read
// over TLS at once (version, status), and ConnectJira takes the bundle too.
func TestPrivateCAJiraFromTheStart(t *testing.T) {
	t.Parallel()
	t.Run("console form", func(t *testing.T) {
		t.Parallel()
		_, base, ca := newTLSJira(t, "10.3.0")
		e := newEnv(t)
		b := e.admin()
		// Text around the PEM block (as openssl prints it) is dropped.
		r := e.postMultipart(b, "/admin/servers", map[string]string{"base_url": base, "ca_bundle": "subject=CN = Example Corp Private CA\n" + string(ca.PEM)}, nil)
		m := serverPathRE.FindStringSubmatch(r.Location)
		if r.Status != http.StatusSeeOther || m == nil {
			t.Fatalf("create server: %d %s", r.Status, r.Body)
		}
		srv, err := e.store.GetJiraServer(t.Context(), m[1])
		if err != nil || srv.Version != "10.3.0" || srv.Status != "needs setup" || srv.CABundlePEM != string(ca.PEM) {
			t.Fatalf("server %+v, %v", srv, err)
		}
	})
}

// checkRow is the doctor table's row of one check.
func checkRow(page, id string) string {
	i := strings.Index(page, `<tr data-check="`+id+`"`)
	if i < 0 {
		return ""
	}
	row := page[i:]
	if j := strings.Index(row, "</tr>"); j >= 0 {
		row = row[:j]
	}
	return row
}
