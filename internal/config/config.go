// Package config owns asanajira's server settings: one Config, filled from
// flags and their ASANAJIRA_* environment twins, secrets read from *_FILE
// files, checked by Validate with messages that name the setting and the fix,
// and shown by Redacted without any secret.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything `asanajira serve` needs. The zero value is not
// useful; start from Default.
type Config struct {
	// Listen is the address the HTTP server binds.
	Listen string
	// MetricsListen is the address of a second listener that serves only
	// the Prometheus metrics; empty serves them nowhere. They are never on
	// Listen, which faces users' browsers and Asana.
	MetricsListen string
	// PublicURL is the bridge's URL as users' browsers and Jira reach it;
	// OAuth callbacks and App Components URLs are built from it.
	PublicURL string
	// DatabaseURL selects the database: empty or a file path or sqlite:PATH
	// for SQLite, postgres://… for PostgreSQL.
	DatabaseURL string
	// SecretKey seals tokens at rest: one or more base64 32-byte keys,
	// comma-separated, the first used for new values.
	SecretKey string
	// SecretKeyFile holds SecretKey; without either, serve creates one
	// beside the SQLite database.
	SecretKeyFile string

	AsanaClientID     string
	AsanaClientSecret string
	// AsanaURL is Asana's base URL (app.asana.com, or the emulator's).
	AsanaURL string
	// AppOrigin is the origin allowed to call the App Components endpoints
	// from users' browsers.
	AppOrigin string
	// Admins are the Asana user gids or emails allowed into the admin console.
	Admins []string
	// AdminSignInHint is what the admin console tells an Asana user it
	// refused, besides how to become an admin: the demo names its admin
	// account. Not a flag; empty for serve.
	AdminSignInHint string
	// Public says Asana's cloud can reach the bridge, which enables rule
	// actions (they are called from Asana's servers, not users' browsers).
	Public bool
	// AsanaDownloadHosts are the only hosts attachment downloads are fetched
	// from; empty means Asana's own file hosts.
	AsanaDownloadHosts []string

	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	// ReconcileInterval is how often the sync engine searches each Jira
	// server for changes its webhook did not bring.
	ReconcileInterval time.Duration
	// AsanaIntake is how asanajira learns of changes in Asana: "events"
	// (polling Asana's events API, outbound only) or "webhooks" (Asana
	// webhooks, which need Public).
	AsanaIntake string
	// AsanaPollInterval is how often an active Asana project is polled.
	AsanaPollInterval time.Duration
}

// Default returns the settings used when nothing is set.
func Default() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		AsanaURL:        "https://app.asana.com",
		AppOrigin:       "https://app.asana.com",
		LogLevel:        "info",
		LogFormat:       "json",
		ShutdownTimeout: 30 * time.Second,

		ReconcileInterval: 5 * time.Minute,
		AsanaIntake:       "events",
		AsanaPollInterval: 5 * time.Second,
	}
}

// secret is a setting that may also be read from a file.
type secret struct {
	name  string
	value *string
	file  string
}

// Flags binds every setting of c to fs; the values already in c are the
// defaults shown by --help. The returned FileFlags must be resolved after
// parsing.
func (c *Config) Flags(fs *flag.FlagSet) *FileFlags {
	ff := &FileFlags{}
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on, host:port")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen,
		"address serving Prometheus metrics at /metrics, host:port, e.g. 127.0.0.1:9464\n(default: metrics are not served; they are never served on --listen)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "the bridge's URL as browsers and Jira reach it (default http://<listen>)")
	ff.add(fs, &c.DatabaseURL, "database-url",
		"database: a file path or sqlite:PATH for SQLite (default ./asanajira.db),\nor postgres://user:password@host:5432/db for PostgreSQL")
	fs.StringVar(&c.SecretKey, "secret-key", c.SecretKey,
		"base64 32-byte key(s) sealing tokens at rest, comma-separated, newest first\n(create one with 'asanajira secrets new-key')")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", c.SecretKeyFile,
		"file holding --secret-key; without either, serve creates asanajira.key beside the SQLite database")
	fs.StringVar(&c.AsanaClientID, "asana-client-id", c.AsanaClientID, "client id of the Asana app")
	ff.add(fs, &c.AsanaClientSecret, "asana-client-secret", "client secret of the Asana app; it also verifies App Components signatures")
	fs.StringVar(&c.AsanaURL, "asana-url", c.AsanaURL, "Asana's base URL")
	fs.StringVar(&c.AppOrigin, "app-origin", c.AppOrigin, "origin(s) allowed to call the App Components endpoints (CORS), comma-separated")
	fs.Func("admins", "comma-separated Asana user gids or emails allowed into the admin console\n(admins may add more on the console's Admins page)", func(s string) error {
		c.Admins = splitList(s)
		return nil
	})
	fs.BoolVar(&c.Public, "public", c.Public, "the bridge is reachable from Asana's cloud: enables rule actions")
	fs.Func("asana-download-hosts", "comma-separated hosts (host or host:port) attachments may be downloaded from\n(default: Asana's file hosts)", func(s string) error {
		c.AsanaDownloadHosts = splitList(s)
		return nil
	})
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "json or text")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests and jobs may take to finish on SIGTERM")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", c.ReconcileInterval,
		"how often two-way sync searches each Jira server for changes whose webhook never arrived (at least 1s)")
	fs.StringVar(&c.AsanaIntake, "asana-intake", c.AsanaIntake,
		"how two-way sync learns of changes in Asana: events (polls Asana's events API, outbound only)\nor webhooks (Asana webhooks; needs --public)")
	fs.DurationVar(&c.AsanaPollInterval, "asana-poll-interval", c.AsanaPollInterval,
		"how often an Asana project with recent changes is polled (at least 1s); idle projects are polled\nless often, down to every 2m, and at once when someone opens one of their linked tasks")
	return ff
}

// FileFlags are the --X-file twins of secret settings.
type FileFlags struct{ secrets []*secret }

func (ff *FileFlags) add(fs *flag.FlagSet, value *string, name, usage string) {
	s := &secret{name: name, value: value}
	ff.secrets = append(ff.secrets, s)
	fs.StringVar(value, name, *value, usage)
	fs.StringVar(&s.file, name+"-file", "", "file holding --"+name+" (for Docker and Kubernetes secrets)")
}

// Resolve reads every secret given as a file. Setting both a secret and its
// file is an error; surrounding white space in a file is dropped.
func (ff *FileFlags) Resolve(readFile func(string) ([]byte, error)) error {
	var errs []error
	for _, s := range ff.secrets {
		if s.file == "" {
			continue
		}
		if *s.value != "" {
			errs = append(errs, fmt.Errorf("--%s and --%s-file are both set (%s, %s_FILE): keep one", s.name, s.name, envName(s.name), envName(s.name)))
			continue
		}
		b, err := readFile(s.file)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s-file (%s_FILE): cannot read %s: %w", s.name, envName(s.name), s.file, err))
			continue
		}
		*s.value = strings.TrimSpace(string(b))
	}
	return errors.Join(errs...)
}

func envName(flagName string) string {
	return "ASANAJIRA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// Database kinds.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Database tells which database DatabaseURL names and where: the SQLite file
// path, or the PostgreSQL URL.
func (c Config) Database() (kind, target string, err error) {
	u := strings.TrimSpace(c.DatabaseURL)
	switch {
	case u == "":
		return SQLite, "asanajira.db", nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			return "", "", errors.New("--database-url (ASANAJIRA_DATABASE_URL) is not a valid URL: expected postgres://user:password@host:5432/dbname")
		}
		return Postgres, u, nil
	case strings.HasPrefix(u, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if p == "" {
			return "", "", errors.New("--database-url (ASANAJIRA_DATABASE_URL) sqlite: needs a file path, e.g. sqlite:/var/lib/asanajira/asanajira.db")
		}
		return SQLite, p, nil
	case strings.Contains(u, "://"):
		scheme, _, _ := strings.Cut(u, "://")
		return "", "", fmt.Errorf("--database-url (ASANAJIRA_DATABASE_URL) has scheme %q: use a file path or sqlite:PATH for SQLite, or postgres://… for PostgreSQL", scheme)
	}
	return SQLite, u, nil
}

// KeyFilePath is where serve keeps the generated key when none is configured:
// beside the SQLite database.
func (c Config) KeyFilePath() string {
	_, path, err := c.Database()
	if err != nil {
		return "asanajira.key"
	}
	return filepath.Join(filepath.Dir(path), "asanajira.key")
}

// EffectivePublicURL is PublicURL, or http://<listen> when it is unset.
func (c Config) EffectivePublicURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.Listen
}

// Validate checks every setting and returns all problems at once, each naming
// the setting and how to fix it.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen (ASANAJIRA_LISTEN) %q is not host:port, e.g. 127.0.0.1:8080 or :8080", c.Listen))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen (ASANAJIRA_METRICS_LISTEN) %q is not host:port, e.g. 127.0.0.1:9464", c.MetricsListen))
		} else if _, port, _ := net.SplitHostPort(c.MetricsListen); c.MetricsListen == c.Listen && port != "0" {
			errs = append(errs, fmt.Errorf("--metrics-listen (ASANAJIRA_METRICS_LISTEN) %q is --listen too: metrics need their own address, kept off the public listener", c.MetricsListen))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-url (ASANAJIRA_PUBLIC_URL) %q must be an http(s) URL such as https://asanajira.example.com", c.PublicURL))
		}
	}
	kind, _, err := c.Database()
	if err != nil {
		errs = append(errs, err)
	}
	if kind == Postgres && c.SecretKey == "" && c.SecretKeyFile == "" {
		errs = append(errs, errors.New("--secret-key (ASANAJIRA_SECRET_KEY) or --secret-key-file is required with PostgreSQL, so every replica seals with the same key; create one with 'asanajira secrets new-key'"))
	}
	if c.SecretKey != "" && c.SecretKeyFile != "" {
		errs = append(errs, errors.New("--secret-key and --secret-key-file are both set: keep one"))
	}
	if c.AsanaURL != "" {
		if u, err := url.Parse(c.AsanaURL); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("--asana-url (ASANAJIRA_ASANA_URL) %q is not a URL", c.AsanaURL))
		}
	}
	if (c.AsanaClientID == "") != (c.AsanaClientSecret == "") {
		errs = append(errs, errors.New("--asana-client-id and --asana-client-secret go together: set both (from the Asana developer console) or neither"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level (ASANAJIRA_LOG_LEVEL) %q: choose debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("--log-format (ASANAJIRA_LOG_FORMAT) %q: choose json or text", c.LogFormat))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout (ASANAJIRA_SHUTDOWN_TIMEOUT) must be positive, e.g. 30s"))
	}
	if c.ReconcileInterval < time.Second {
		errs = append(errs, errors.New("--reconcile-interval (ASANAJIRA_RECONCILE_INTERVAL) must be at least 1s, e.g. 5m"))
	}
	switch c.AsanaIntake {
	case "events":
	case "webhooks":
		if !c.Public {
			errs = append(errs, errors.New("--asana-intake (ASANAJIRA_ASANA_INTAKE) webhooks needs --public (ASANAJIRA_PUBLIC): Asana's cloud must reach the bridge to deliver webhooks; without it use events"))
		}
	default:
		errs = append(errs, fmt.Errorf("--asana-intake (ASANAJIRA_ASANA_INTAKE) %q: choose events or webhooks", c.AsanaIntake))
	}
	if c.AsanaPollInterval < time.Second {
		errs = append(errs, errors.New("--asana-poll-interval (ASANAJIRA_ASANA_POLL_INTERVAL) must be at least 1s, e.g. 5s"))
	}
	return errors.Join(errs...)
}

// Redacted is the configuration as it is safe to show: secrets replaced by
// whether they are set, the database URL without its password.
func (c Config) Redacted() []Setting {
	return []Setting{
		{"listen", c.Listen},
		{"metrics-listen", c.MetricsListen},
		{"public-url", c.EffectivePublicURL()},
		{"database-url", redactURL(c.DatabaseURL)},
		{"secret-key", setOrNot(c.SecretKey)},
		{"secret-key-file", c.SecretKeyFile},
		{"asana-client-id", c.AsanaClientID},
		{"asana-client-secret", setOrNot(c.AsanaClientSecret)},
		{"asana-url", c.AsanaURL},
		{"app-origin", c.AppOrigin},
		{"admins", strings.Join(c.Admins, ",")},
		{"public", fmt.Sprint(c.Public)},
		{"asana-download-hosts", strings.Join(c.AsanaDownloadHosts, ",")},
		{"log-level", c.LogLevel},
		{"log-format", c.LogFormat},
		{"shutdown-timeout", c.ShutdownTimeout.String()},
		{"reconcile-interval", c.ReconcileInterval.String()},
		{"asana-intake", c.AsanaIntake},
		{"asana-poll-interval", c.AsanaPollInterval.String()},
	}
}

// Setting is one line of Redacted.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func setOrNot(s string) string {
	if s == "" {
		return ""
	}
	return "(set)"
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if err != nil && strings.Contains(s, "@") {
			return "(set, unparsable)"
		}
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
