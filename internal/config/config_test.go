package config

import (
	"errors"
	"flag"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func parse(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	c := Default()
	fset := flag.NewFlagSet("serve", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	ff := c.Flags(fset)
	if err := fset.Parse(args); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"/run/secrets/key": "  a2V5LWZyb20tZmlsZQ==\n", "/run/secrets/asana": "asana-secret\n"}
	err := ff.Resolve(func(name string) ([]byte, error) {
		if v, ok := files[name]; ok {
			return []byte(v), nil
		}
		return nil, fs.ErrNotExist
	})
	return c, err
}

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	c, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	kind, path, err := c.Database()
	if err != nil || kind != SQLite || path != "asanajira.db" {
		t.Fatalf("Database() = %q %q %v", kind, path, err)
	}
	if got := c.EffectivePublicURL(); got != "http://127.0.0.1:8080" {
		t.Fatalf("EffectivePublicURL = %q", got)
	}
}

func TestValidateNamesSettingAndFix(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args []string
		want []string
	}{
		"listen":            {[]string{"--listen", "8080"}, []string{"--listen (ASANAJIRA_LISTEN)", "host:port"}},
		"public url":        {[]string{"--public-url", "ftp://x"}, []string{"--public-url", "http(s) URL"}},
		"database scheme":   {[]string{"--database-url", "mysql://x/y"}, []string{"--database-url (ASANAJIRA_DATABASE_URL)", `"mysql"`, "postgres://"}},
		"postgres no key":   {[]string{"--database-url", "postgres://u@h/db"}, []string{"--secret-key (ASANAJIRA_SECRET_KEY)", "secrets new-key"}},
		"empty sqlite path": {[]string{"--database-url", "sqlite:"}, []string{"needs a file path"}},
		"client pair":       {[]string{"--asana-client-id", "123"}, []string{"--asana-client-id and --asana-client-secret go together"}},
		"log level":         {[]string{"--log-level", "loud"}, []string{"--log-level", "debug, info, warn or error"}},
		"log format":        {[]string{"--log-format", "xml"}, []string{"--log-format", "json or text"}},
		"shutdown":          {[]string{"--shutdown-timeout", "0s"}, []string{"--shutdown-timeout", "positive"}},
		"reconcile":         {[]string{"--reconcile-interval", "500ms"}, []string{"--reconcile-interval (ASANAJIRA_RECONCILE_INTERVAL)", "at least 1s"}},
		"asana intake":      {[]string{"--asana-intake", "pubsub"}, []string{"--asana-intake (ASANAJIRA_ASANA_INTAKE)", "events or webhooks"}},
		"webhooks private":  {[]string{"--asana-intake", "webhooks"}, []string{"--asana-intake (ASANAJIRA_ASANA_INTAKE) webhooks needs --public"}},
		"asana poll":        {[]string{"--asana-poll-interval", "200ms"}, []string{"--asana-poll-interval (ASANAJIRA_ASANA_POLL_INTERVAL)", "at least 1s"}},
		"two problems":      {[]string{"--listen", "x", "--log-level", "y"}, []string{"--listen", "--log-level"}},
		"metrics listen":    {[]string{"--metrics-listen", "9464"}, []string{"--metrics-listen (ASANAJIRA_METRICS_LISTEN)", "host:port"}},
		"metrics on listen": {[]string{"--listen", ":8080", "--metrics-listen", ":8080"}, []string{"--metrics-listen", "own address"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := parse(t, tc.args...)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("Validate accepted a bad setting")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSecretFiles(t *testing.T) {
	t.Parallel()
	c, err := parse(t, "--secret-key-file", "/run/secrets/key", "--asana-client-secret-file", "/run/secrets/asana", "--asana-client-id", "1")
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretKeyFile != "/run/secrets/key" || c.AsanaClientSecret != "asana-secret" {
		t.Fatalf("secret files not read: %+v", c)
	}
	_, err = parse(t, "--asana-client-secret", "x", "--asana-client-secret-file", "/run/secrets/asana")
	if err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("secret and its file both set: err = %v", err)
	}
	_, err = parse(t, "--database-url-file", "/missing")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "ASANAJIRA_DATABASE_URL_FILE") {
		t.Fatalf("missing file: err = %v", err)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	t.Parallel()
	c, err := parse(t, "--database-url", "postgres://app:hunter2@db:5432/asanajira", "--secret-key", "c2VjcmV0LWtleQ==",
		"--asana-client-id", "42", "--asana-client-secret", "very-secret", "--admins", "1, alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range c.Redacted() {
		got[s.Name] = s.Value
	}
	want := map[string]string{
		"database-url":        "postgres://app:xxxxx@db:5432/asanajira",
		"secret-key":          "(set)",
		"asana-client-secret": "(set)",
		"asana-client-id":     "42",
		"admins":              "1,alice@example.com",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Redacted %s = %q, want %q", k, got[k], v)
		}
	}
	all := ""
	for _, v := range got {
		all += v
	}
	for _, s := range []string{"hunter2", "c2VjcmV0LWtleQ", "very-secret"} {
		if strings.Contains(all, s) {
			t.Errorf("Redacted shows %q", s)
		}
	}
}

func TestKeyFilePathBesideDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ db, want string }{
		{"", "asanajira.key"},
		{"/var/lib/asanajira/data.db", "/var/lib/asanajira/asanajira.key"},
		{"sqlite:/srv/a.db", "/srv/asanajira.key"},
	}
	for _, tc := range tests {
		c := Default()
		c.DatabaseURL = tc.db
		if diff := cmp.Diff(tc.want, c.KeyFilePath()); diff != "" {
			t.Errorf("KeyFilePath(%q) (-want +got):\n%s", tc.db, diff)
		}
	}
}

// Metrics are served nowhere unless --metrics-listen names an address.
func TestMetricsListen(t *testing.T) {
	t.Parallel()
	c, err := parse(t)
	if err != nil || c.MetricsListen != "" {
		t.Fatalf("default metrics-listen = %q, %v; want empty", c.MetricsListen, err)
	}
	c, err = parse(t, "--metrics-listen", "127.0.0.1:9464")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || c.MetricsListen != "127.0.0.1:9464" {
		t.Fatalf("metrics-listen = %q, Validate: %v", c.MetricsListen, err)
	}
	shown := ""
	for _, st := range c.Redacted() {
		if st.Name == "metrics-listen" {
			shown = st.Value
		}
	}
	if shown != "127.0.0.1:9464" {
		t.Errorf("Redacted metrics-listen = %q", shown)
	}
}

func TestAsanaIntakeSettings(t *testing.T) {
	t.Parallel()
	c, err := parse(t)
	if err != nil || c.AsanaIntake != "events" || c.AsanaPollInterval.String() != "5s" {
		t.Fatalf("defaults: intake %q, poll %v, %v", c.AsanaIntake, c.AsanaPollInterval, err)
	}
	c, err = parse(t, "--asana-intake", "webhooks", "--public", "--asana-poll-interval", "2s")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("webhooks with --public: %v", err)
	}
	got := map[string]string{}
	for _, s := range c.Redacted() {
		got[s.Name] = s.Value
	}
	if got["asana-intake"] != "webhooks" || got["asana-poll-interval"] != "2s" {
		t.Fatalf("Redacted: intake %q, poll %q", got["asana-intake"], got["asana-poll-interval"])
	}
}
