package setup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/asanajira/asanajira/internal/store"
	"go.yaml.in/yaml/v3"
)

// File is a setup file (setup.yaml): the Jira servers, the Asana
// workspaces with their connections, sync settings and project routes, as
// they should be. `asanajira apply` makes them so. Secrets are referenced
// by environment variable (…_env) or file (…_file), never written inline.
type File struct {
	// Asana reads workspace and project names; needed only when an entry
	// names one without its gid.
	Asana       AsanaEntry       `yaml:"asana"`
	JiraServers []ServerEntry    `yaml:"jira_servers"`
	Workspaces  []WorkspaceEntry `yaml:"workspaces"`
}

// AsanaEntry is how apply reads Asana: a personal access token of someone
// in every workspace named.
type AsanaEntry struct {
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// Token is refused: secrets are never inline.
	Token string `yaml:"token"`
}

// ServerEntry is a Jira server, known by its base URL.
type ServerEntry struct {
	Name           string `yaml:"name"`
	URL            string `yaml:"url"`
	ConnectAddress string `yaml:"connect_address"`
	// CABundle (PEM) or CABundleFile: the CA certificate(s) of a Jira
	// behind a private CA. Certificates are public; either is fine.
	CABundle     string             `yaml:"ca_bundle"`
	CABundleFile string             `yaml:"ca_bundle_file"`
	Methods      []store.AuthMethod `yaml:"methods"`
	OAuth2       *OAuth2Entry       `yaml:"oauth2"`
	// Admin is a Jira administrator's credentials, used when the
	// application link or the webhook must be made or repaired.
	Admin *AdminEntry `yaml:"admin"`
}

// OAuth2Entry is the OAuth 2.0 incoming link's client.
type OAuth2Entry struct {
	ClientID         string `yaml:"client_id"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	ClientSecret     string `yaml:"client_secret"` // refused
}

// AdminEntry is a Jira administrator's token, or user name and password.
type AdminEntry struct {
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	TokenEnv     string `yaml:"token_env"`
	TokenFile    string `yaml:"token_file"`
	Password     string `yaml:"password"` // refused
	Token        string `yaml:"token"`    // refused
}

// WorkspaceEntry is an Asana workspace, by name (found in Asana) or gid.
type WorkspaceEntry struct {
	Name        string            `yaml:"name"`
	GID         string            `yaml:"gid"`
	Connections []ConnectionEntry `yaml:"connections"`
	Routes      []RouteEntry      `yaml:"routes"`
}

// ConnectionEntry connects the workspace to a server of the file.
type ConnectionEntry struct {
	Server  string `yaml:"server"`
	Default bool   `yaml:"default"`
	// Sync, when given, is the connection's two-way sync settings;
	// without it they are left as they are.
	Sync *SyncEntry `yaml:"sync"`
}

// SyncEntry is a connection's sync settings. Comments and completion
// default to on.
type SyncEntry struct {
	Enabled          bool   `yaml:"enabled"`
	Comments         *bool  `yaml:"comments"`
	Completion       *bool  `yaml:"completion"`
	DoneTransition   string `yaml:"done_transition"`
	ReopenTransition string `yaml:"reopen_transition"`
	// Fields, when given, is the connection's field mapping (see README,
	// Field mapping); without it the mapping is left as it is.
	Fields *FieldsEntry `yaml:"fields"`
}

// FieldsEntry is a connection's field mapping: a direction per field
// (off, jira_to_asana, asana_to_jira, both; a field not listed takes its
// default), the status → section table, user pairs and domain aliases.
type FieldsEntry struct {
	Directions     map[string]string `yaml:"directions"`
	StatusSections []struct {
		Status  string `yaml:"status"`
		Section string `yaml:"section"`
	} `yaml:"status_sections"`
	Users []struct {
		AsanaEmail string `yaml:"asana_email"`
		JiraUser   string `yaml:"jira_user"`
	} `yaml:"users"`
	DomainAliases []struct {
		Asana string `yaml:"asana"`
		Jira  string `yaml:"jira"`
	} `yaml:"domain_aliases"`
}

// RouteEntry routes an Asana project, by name (found in the workspace) or
// gid, to a server the workspace is connected to.
type RouteEntry struct {
	Project     string `yaml:"project"`
	ProjectGID  string `yaml:"project_gid"`
	Server      string `yaml:"server"`
	JiraProject string `yaml:"jira_project"`
}

// ParseFile reads a setup file and checks it: every field known, required
// fields given, names unique, references resolvable, no inline secret.
func ParseFile(data []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Code: Invalid, Err: err, Message: "The setup file is not valid: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if err := f.check(); err != nil {
		return nil, &Error{Code: Invalid, Err: err, Message: "The setup file is not valid: " + err.Error()}
	}
	return &f, nil
}

func (f *File) check() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	inline := func(where, field, alt string) {
		bad("%s: %s is a secret and is never written in the file; give %s_env (an environment variable) or %s_file (a file) instead", where, field, alt, alt)
	}
	if f.Asana.Token != "" {
		inline("asana", "token", "token")
	}
	servers := map[string]bool{}
	urls := map[string]bool{}
	for i, s := range f.JiraServers {
		where := fmt.Sprintf("jira_servers[%d]", i)
		switch {
		case s.Name == "":
			bad("%s: a server needs a name (the workspaces refer to it)", where)
		case servers[s.Name]:
			bad("%s: a second server is named %q", where, s.Name)
		}
		where = fmt.Sprintf("jira_servers[%d] (%s)", i, s.Name)
		servers[s.Name] = true
		if s.URL == "" {
			bad("%s: url (Jira's base URL) is required", where)
		} else if u := strings.ToLower(strings.TrimRight(s.URL, "/")); urls[u] {
			bad("%s: a second server has the url %s", where, s.URL)
		} else {
			urls[u] = true
		}
		if s.CABundle != "" && s.CABundleFile != "" {
			bad("%s: give ca_bundle or ca_bundle_file, not both", where)
		}
		for _, m := range s.Methods {
			if !slices.Contains([]store.AuthMethod{store.AuthOAuth1, store.AuthOAuth2, store.AuthPAT}, m) {
				bad("%s: there is no sign-in method %q; choose from oauth1, oauth2 and pat", where, m)
			}
		}
		if o := s.OAuth2; o != nil {
			if o.ClientSecret != "" {
				inline(where+" oauth2", "client_secret", "client_secret")
			}
			if o.ClientID == "" || (o.ClientSecretEnv == "") == (o.ClientSecretFile == "") {
				bad("%s oauth2: give client_id and one of client_secret_env or client_secret_file", where)
			}
		}
		if a := s.Admin; a != nil {
			if a.Password != "" {
				inline(where+" admin", "password", "password")
			}
			if a.Token != "" {
				inline(where+" admin", "token", "token")
			}
			token := a.TokenEnv != "" || a.TokenFile != ""
			password := a.PasswordEnv != "" || a.PasswordFile != ""
			switch {
			case a.TokenEnv != "" && a.TokenFile != "", a.PasswordEnv != "" && a.PasswordFile != "":
				bad("%s admin: give a secret by environment variable or by file, not both", where)
			case token && (a.User != "" || password):
				bad("%s admin: give a token, or a user with a password, not both", where)
			case !token && (a.User == "" || !password):
				bad("%s admin: give token_env or token_file, or user with password_env or password_file", where)
			}
		}
	}
	names, gids := map[string]bool{}, map[string]bool{}
	for i, w := range f.Workspaces {
		where := fmt.Sprintf("workspaces[%d]", i)
		switch {
		case w.Name == "" && w.GID == "":
			bad("%s: a workspace needs a name or a gid", where)
		case w.GID != "" && !gidPattern.MatchString(w.GID):
			bad("%s: gid %q is not an Asana gid (a number)", where, w.GID)
		case w.GID != "" && gids[w.GID], w.GID == "" && names[w.Name]:
			bad("%s: the workspace %s is listed twice", where, or(w.Name, w.GID))
		}
		gids[w.GID], names[w.Name] = w.GID != "", w.GID == ""
		where = fmt.Sprintf("workspaces[%d] (%s)", i, or(w.Name, w.GID))
		connected, defaults := map[string]bool{}, 0
		for _, c := range w.Connections {
			switch {
			case !servers[c.Server]:
				bad("%s: connection to %q: no server of that name in jira_servers", where, c.Server)
			case connected[c.Server]:
				bad("%s: the connection to %q is listed twice", where, c.Server)
			}
			connected[c.Server] = true
			if c.Default {
				defaults++
			}
		}
		if defaults > 1 {
			bad("%s: %d connections are the default; a workspace has one default at most", where, defaults)
		}
		projects := map[string]bool{}
		for _, r := range w.Routes {
			p := or(r.ProjectGID, r.Project)
			switch {
			case p == "":
				bad("%s: a route needs a project (its name) or a project_gid", where)
			case r.ProjectGID != "" && !gidPattern.MatchString(r.ProjectGID):
				bad("%s: project_gid %q is not an Asana gid (a number)", where, r.ProjectGID)
			case projects[p]:
				bad("%s: the route of project %s is listed twice", where, p)
			case !connected[r.Server]:
				bad("%s: route of project %s: connect the workspace to %q in its connections first", where, p, r.Server)
			case r.JiraProject != "" && !projectKeyPattern.MatchString(strings.ToUpper(r.JiraProject)):
				bad("%s: route of project %s: jira_project %q is not a Jira project key", where, p, r.JiraProject)
			}
			projects[p] = true
		}
	}
	return errors.Join(errs...)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// FileEnv is where apply reads what a setup file refers to.
type FileEnv struct {
	// Dir is the setup file's folder: relative file paths start there.
	Dir string
	// Getenv reads environment variables; ReadFile reads files.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// AsanaURL is Asana's base URL (https://app.asana.com or an emulator),
	// for names given without gids.
	AsanaURL string
}

// secret reads a secret by environment variable or file; what names it
// (an error) never holds the value.
func (e FileEnv) secret(where, env, file string) (string, error) {
	switch {
	case env != "":
		v := e.Getenv(env)
		if v == "" {
			return "", invalid("%s: the environment variable %s is not set.", where, env)
		}
		return v, nil
	case file != "":
		b, err := e.ReadFile(e.path(file))
		if err != nil {
			return "", &Error{Code: Invalid, Err: err, Message: fmt.Sprintf("%s: cannot read the file: %v.", where, err)}
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

func (e FileEnv) path(p string) string {
	if filepath.IsAbs(p) || e.Dir == "" {
		return p
	}
	return filepath.Join(e.Dir, p)
}
