package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/asanajira/asanajira/internal/app"
	"github.com/asanajira/asanajira/internal/secrets"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/version"
)

func runVersion(_ context.Context, args []string, env Env) error {
	var asJSON bool
	fs := newFlagSet(env, "version", "[--json]", "Prints the version, commit, build date and Go version of this build.")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	if _, err := parseFlags(fs, args, env); err != nil {
		return err
	}
	v := version.Get()
	if asJSON {
		return json.NewEncoder(env.Stdout).Encode(v)
	}
	fmt.Fprintln(env.Stdout, v.String())
	return nil
}

func runKeys(_ context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] != "generate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(env.Stdout, "Usage: asanajira keys generate [flags]")
			return errHelp
		}
		return usageErrorf("the only keys subcommand is: asanajira keys generate")
	}
	var (
		bits        int
		consumerKey string
		out         string
	)
	fs := newFlagSet(env, "keys generate", "[flags]", `
Generates the RSA key pair and consumer key of a Jira application link
(OAuth 1.0a). Paste the consumer key and the public key into Jira's incoming
link; the private key stays with asanajira (the admin console stores it sealed).
Without --out, the private key is printed too: treat the output as a secret.`)
	fs.IntVar(&bits, "bits", 2048, "RSA key size in bits (at least 2048)")
	fs.StringVar(&consumerKey, "consumer-key", "", "consumer key to use (default asanajira-<random>)")
	fs.StringVar(&out, "out", "", "write the private key PEM to this file (mode 0600) instead of printing it")
	rest, err := parseFlags(fs, args[1:], env)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if bits < secrets.MinRSABits {
		return usageErrorf("--bits %d is too small: Jira application links need at least %d", bits, secrets.MinRSABits)
	}
	kp, err := secrets.GenerateKeyPair(bits, consumerKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Consumer key: %s\n\nPublic key (paste into Jira):\n%s\n", kp.ConsumerKey, kp.PublicKeyPEM)
	if out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("cannot create %s (it must not exist yet): %w", out, err)
		}
		_, werr := f.WriteString(kp.PrivateKeyPEM)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", out, werr)
		}
		fmt.Fprintf(env.Stdout, "Private key written to %s (mode 0600).\n", out)
		return nil
	}
	fmt.Fprintf(env.Stdout, "Private key (keep secret):\n%s", kp.PrivateKeyPEM)
	return nil
}

func runSecrets(ctx context.Context, args []string, env Env) error {
	usage := func() {
		fmt.Fprintln(env.Stdout, "Usage: asanajira secrets new-key | rotate [flags]")
		fmt.Fprintln(env.Stdout)
		fmt.Fprintln(env.Stdout, "  new-key  print a fresh base64 key for --secret-key")
		fmt.Fprintln(env.Stdout, "  rotate   re-seal every stored secret under the first configured key")
	}
	if len(args) == 0 {
		usage()
		return usageErrorf("name a secrets subcommand")
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage()
		return errHelp
	case "new-key":
		k, err := secrets.NewKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, k)
		return nil
	case "rotate":
		return runSecretsRotate(ctx, args[1:], env)
	}
	return usageErrorf("unknown secrets subcommand %q: use new-key or rotate", args[0])
}

func runSecretsRotate(ctx context.Context, args []string, env Env) error {
	cfg, err := serverFlags(env, "secrets rotate", "[flags]", `
Re-seals every stored token and key under the first key of --secret-key (or
the key file). To rotate: create a key with 'asanajira secrets new-key', put it
first and keep the old one after it (--secret-key NEW,OLD), run this command,
then drop the old key. Values sealed with a key that is not configured cannot
be opened: the command stops and changes nothing.`, args, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log := newLogger(env.Stderr, cfg)
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Store().ResealSecrets(ctx)
	if err != nil {
		return err
	}
	if err := a.Store().AppendAudit(ctx, store.AuditEntry{Actor: "cli", Action: "secrets.rotate",
		Detail: fmt.Sprintf("re-sealed %d values under key %s", n, a.Keyring().PrimaryID())}); err != nil {
		return err
	}
	log.Info("secrets re-sealed", slog.Int("values", n), slog.String("key_id", a.Keyring().PrimaryID()))
	fmt.Fprintf(env.Stdout, "re-sealed %d stored secrets under key %s\n", n, a.Keyring().PrimaryID())
	return nil
}
