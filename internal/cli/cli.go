// Package cli owns the asanajira command line: it parses each subcommand's
// flags (and their ASANAJIRA_* environment twins), prints true --help texts and
// hands off to the packages that do the work. It holds no business logic.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is the process environment a command runs in. Tests substitute every
// field, so nothing in this package touches os.* directly.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// command is one subcommand of asanajira.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env Env) error
}

func commands() []command {
	return []command{
		{"serve", "Run the bridge server (SQLite by default, PostgreSQL with --database-url).", runServe},
		{"demo", "Run the Jira and Asana emulators and the bridge on this machine, wired together.", runDemo},
		{"doctor", "Check a Jira server against every requirement and explain each failure.", runDoctor},
		{"emulate", "Run the Jira or the Asana emulator alone (emulate jira|asana).", runEmulate},
		{"jira", "Connect Jira servers: jira add|list|show|verify|remove.", runJira},
		{"workspace", "Add and list the Asana workspaces asanajira serves: workspace add|list.", runWorkspace},
		{"route", "Route Asana workspaces and projects to Jira servers: route set|list|remove.", runRoute},
		{"sync", "Two-way sync of a connection: sync show / set / fields set it up, sync resync applies the field mapping to existing links.", runSync},
		{"apply", "Make the setup what a setup file says (apply -f setup.yaml [--dry-run] [--prune]).", runApply},
		{"keys", "Generate the RSA key pair and consumer key of a Jira application link.", runKeys},
		{"secrets", "Manage the keys that seal tokens at rest (secrets rotate).", runSecrets},
		{"migrate", "Apply database migrations and exit.", runMigrate},
		{"backup", "Back up the database (SQLite copy, or the pg_dump command for PostgreSQL).", runBackup},
		{"healthcheck", "Ask a running server's /healthz; exit 0 when it answers (container health checks).", runHealthcheck},
		{"version", "Print the version, commit, build date and Go version.", runVersion},
	}
}

// errUsage marks an error whose message is a usage problem; Main exits 2 for it.
var errUsage = errors.New("usage")

// errHelp is returned when --help was asked for and printed; Main exits 0.
var errHelp = flag.ErrHelp

// Main runs asanajira with args (without the program name) and returns the
// process exit code: 0 on success, 1 on failure, 2 on a usage error.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printTopUsage(env.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], env)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, errHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(env.Stderr, "asanajira %s: %s\n", c.name, message(c.name, strings.TrimSuffix(err.Error(), ": "+errUsage.Error())))
			fmt.Fprintf(env.Stderr, "Run 'asanajira %s --help' for usage.\n", c.name)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "asanajira %s: %s\n", c.name, message(c.name, err.Error()))
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "asanajira: unknown command %q\n\n", args[0])
	printTopUsage(env.Stderr)
	return 2
}

// message is an error's text without a leading "<command>: ", which the
// packages a command runs put on their errors and Main prints already.
func message(command, text string) string {
	return strings.TrimPrefix(text, command+": ")
}

func printTopUsage(w io.Writer) {
	fmt.Fprintln(w, "asanajira connects Asana with self-managed Jira Server and Data Center.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: asanajira <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every flag can also be set with an environment variable: --database-url is")
	fmt.Fprintln(w, "ASANAJIRA_DATABASE_URL. A flag on the command line wins over its variable.")
	fmt.Fprintln(w, "Run 'asanajira <command> --help' for a command's flags.")
}

// newFlagSet returns a FlagSet for "asanajira <name>" whose --help prints
// synopsis, the description and every flag with its environment twin.
func newFlagSet(env Env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet("asanajira "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		w := env.Stdout
		fmt.Fprintf(w, "Usage: asanajira %s %s\n\n", name, synopsis)
		if description != "" {
			fmt.Fprintln(w, strings.TrimSpace(description))
			fmt.Fprintln(w)
		}
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if len(names) == 0 {
			return
		}
		sort.Strings(names)
		fmt.Fprintln(w, "Flags (each has an environment twin, shown in brackets):")
		for _, n := range names {
			f := fs.Lookup(n)
			typ, usage := flag.UnquoteUsage(f)
			head := "  --" + f.Name
			if typ != "" {
				head += " " + typ
			}
			fmt.Fprintf(w, "%s  [%s]\n", head, EnvName(f.Name))
			fmt.Fprintf(w, "      %s", strings.ReplaceAll(usage, "\n", "\n      "))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		}
	}
	return fs
}

// EnvName is the environment twin of a flag: --database-url is ASANAJIRA_DATABASE_URL.
func EnvName(flagName string) string {
	return "ASANAJIRA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command line
// from its ASANAJIRA_* variable. Positional arguments are returned.
//
// A flag the command does not have is reported once, by Main, with a
// pointer to --help: the flag package's own report (the error, then the
// whole usage) is silenced, and the usage is printed only for --help.
func parseFlags(fs *flag.FlagSet, args []string, env Env) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(env.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, errHelp
		}
		return nil, fmt.Errorf("%w: %w", err, errUsage)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		v := env.Getenv(EnvName(f.Name))
		if v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", errors.Join(errs...), errUsage)
	}
	return fs.Args(), nil
}

// usageErrorf returns a usage error; Main prints it with a pointer to --help.
func usageErrorf(format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, errUsage)...)
}

func runEmulate(ctx context.Context, args []string, env Env) error {
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: asanajira emulate jira|asana [flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Runs one emulator alone, for testing other tools against it.")
		fmt.Fprintln(w, "  jira   Jira Server / Data Center emulator (asanajira emulate jira --help)")
		fmt.Fprintln(w, "  asana  Asana REST + App Components host emulator (asanajira emulate asana --help)")
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return usageErrorf("name the emulator to run: jira or asana")
	}
	switch args[0] {
	case "jira":
		return runEmulateJira(ctx, args[1:], env)
	case "asana":
		return runEmulateAsana(ctx, args[1:], env)
	case "-h", "--help", "help":
		usage(env.Stdout)
		return errHelp
	}
	return usageErrorf("unknown emulator %q: choose jira or asana", args[0])
}
