package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

const healthcheckDescription = `
Asks a running asanajira serve for /healthz (or --url) and exits 0 when it
answers 200, 1 otherwise. It exists for container health checks: the image
has no shell and no curl. It reads the same --listen (ASANAJIRA_LISTEN) as
serve, so in the container it finds the server without flags.`

func runHealthcheck(ctx context.Context, args []string, env Env) error {
	var (
		listen  string
		target  string
		timeout time.Duration
	)
	fs := newFlagSet(env, "healthcheck", "[flags]", healthcheckDescription)
	fs.StringVar(&listen, "listen", "127.0.0.1:8080", "the address serve listens on; a missing or wildcard host means 127.0.0.1")
	fs.StringVar(&target, "url", "", "URL to check instead of http://<listen>/healthz")
	fs.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	rest, err := parseFlags(fs, args, env)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if target == "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return usageErrorf("--listen %q is not host:port", listen)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		target = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usageErrorf("--url %q: %v", target, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // drained for the connection's sake only
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	fmt.Fprintf(env.Stdout, "%s: %s\n", target, resp.Status)
	return nil
}
