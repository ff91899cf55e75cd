package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/config"
	"github.com/asanajira/asanajira/internal/setup"
)

// The setup commands (jira, workspace, route, apply) work on the
// configured database directly, no server needed, through the same setup
// service as the admin console, and print what they changed. Each takes
// serve's settings (the database, its key, --public-url: the application
// link and webhook point at the public URL) and --json.

const setupSettings = `
The setup commands use serve's settings: --database-url and the sealing key
(--secret-key, --secret-key-file, or asanajira.key beside the SQLite
file), and --public-url, which the application link and the webhook point
at; give the same values as serve (the ASANAJIRA_* variables work). Every
change is in the audit log under the operating-system user's name.`

// setupCmd is one run of a setup command.
type setupCmd struct {
	name  string
	env   Env
	cfg   config.Config
	ff    *config.FileFlags
	json  bool
	args  []string
	svc   *setup.Service
	done  func()
	actor setup.Actor
}

// newSetupCmd declares serve's settings and --json on fs.
func newSetupCmd(env Env, name string, fs *flag.FlagSet) *setupCmd {
	c := &setupCmd{name: name, env: env, cfg: config.Default()}
	c.ff = c.cfg.Flags(fs)
	fs.BoolVar(&c.json, "json", false, "print the result as JSON")
	return c
}

// parse reads the flags (before, between or after the positional
// arguments) and the ASANAJIRA_* twins, and checks the positional count.
func (c *setupCmd) parse(fs *flag.FlagSet, args []string, minArgs, maxArgs int, what string) error {
	rest, err := parseFlags(fs, flagsFirst(fs, args), c.env)
	if err != nil {
		return err
	}
	if len(rest) < minArgs {
		return usageErrorf("%s is required", what)
	}
	if len(rest) > maxArgs {
		return usageErrorf("unexpected argument %q", rest[maxArgs])
	}
	c.args = rest
	if err := c.ff.Resolve(os.ReadFile); err != nil {
		return err
	}
	if err := c.cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return nil
}

// arg is the i-th positional argument, or "".
func (c *setupCmd) arg(i int) string {
	if i < len(c.args) {
		return c.args[i]
	}
	return ""
}

// open opens the database and the setup service; close with c.close.
func (c *setupCmd) open(ctx context.Context) error {
	log := newLogger(c.env.Stderr, c.cfg)
	if c.cfg.LogLevel == "info" {
		// The commands print what they did; the log says only what went wrong.
		log = slog.New(levelAtLeast{log.Handler(), slog.LevelWarn})
	}
	svc, done, err := app.OpenSetup(ctx, c.cfg, log)
	if err != nil {
		return err
	}
	c.svc, c.done = svc, done
	c.actor = setup.CommandLineActor(osUser(c.env), c.name)
	return nil
}

func (c *setupCmd) close() {
	if c.done != nil {
		c.done()
	}
}

// out writes v as JSON with --json, else text.
func (c *setupCmd) out(v any, text func(w io.Writer)) error {
	if c.json {
		enc := json.NewEncoder(c.env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(c.env.Stdout)
	return nil
}

// osUser is the operating-system user running the command.
func osUser(env Env) string {
	for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
		if u := strings.TrimSpace(env.Getenv(k)); u != "" {
			return u
		}
	}
	return ""
}

// flagsFirst moves the positional arguments after the flags, so that
// "jira add URL --name X" parses like "jira add --name X URL".
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			return append(append(flags, "--"), pos...)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue // parseFlags reports it
			}
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}

// jiraAdminFlags are a Jira administrator's credentials, from files or the
// environment only: never on the command line, where other users see them.
type jiraAdminFlags struct {
	user, passwordFile, tokenFile *string
}

func addJiraAdminFlags(fs *flag.FlagSet, why string) *jiraAdminFlags {
	return &jiraAdminFlags{
		user:         fs.String("admin-user", "", "a Jira administrator's user name, with --admin-password-file (or ASANAJIRA_ADMIN_PASSWORD),\n"+why),
		passwordFile: fs.String("admin-password-file", "", "`FILE` holding that administrator's password"),
		tokenFile:    fs.String("admin-token-file", "", "`FILE` holding a Jira administrator's personal access token (8.14+; or\nASANAJIRA_ADMIN_TOKEN), instead of user and password"),
	}
}

// read returns the credentials; none given is the zero value.
func (f *jiraAdminFlags) read(env Env) (setup.JiraAdmin, error) {
	password, err := secretFlag("admin-password", env.Getenv("ASANAJIRA_ADMIN_PASSWORD"), *f.passwordFile)
	if err != nil {
		return setup.JiraAdmin{}, err
	}
	token, err := secretFlag("admin-token", env.Getenv("ASANAJIRA_ADMIN_TOKEN"), *f.tokenFile)
	if err != nil {
		return setup.JiraAdmin{}, err
	}
	switch {
	case token != "" && *f.user != "":
		return setup.JiraAdmin{}, usageErrorf("give either an administrator's token or --admin-user with a password, not both")
	case *f.user != "" && password == "":
		return setup.JiraAdmin{}, usageErrorf("--admin-user needs --admin-password-file or ASANAJIRA_ADMIN_PASSWORD")
	case token != "":
		return setup.JiraAdmin{Token: token}, nil
	case *f.user != "":
		return setup.JiraAdmin{User: *f.user, Password: password}, nil
	}
	return setup.JiraAdmin{}, nil
}

// levelAtLeast drops records below a level.
type levelAtLeast struct {
	slog.Handler
	min slog.Level
}

func (l levelAtLeast) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= l.min && l.Handler.Enabled(ctx, level)
}

func (l levelAtLeast) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelAtLeast{l.Handler.WithAttrs(attrs), l.min}
}

func (l levelAtLeast) WithGroup(name string) slog.Handler {
	return levelAtLeast{l.Handler.WithGroup(name), l.min}
}

// subcommand dispatches "asanajira <name> <sub> …".
func subcommand(ctx context.Context, name string, args []string, env Env, subs map[string]func(context.Context, []string, Env) error, usage string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, usage)
		return usageErrorf("name a %s subcommand", name)
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintln(env.Stdout, usage)
		return errHelp
	}
	fn, ok := subs[args[0]]
	if !ok {
		return usageErrorf("unknown %s subcommand %q", name, args[0])
	}
	return fn(ctx, args[1:], env)
}
