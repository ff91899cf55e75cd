package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/asanajira/asanajira/internal/app"
)

// listen binds addr with a message that says what to do when the port is taken.
func listenTCP(ctx context.Context, flagName, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (is another process using the port? choose another with --%s): %w", addr, flagName, err)
	}
	return ln, nil
}

// serveUntilDone serves h on ln until ctx is cancelled, then lets in-flight
// requests finish for up to ten seconds. It is how the emulators run alone.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// runWithMetrics runs a on ln until ctx is done and, when metrics is not
// nil, serves a's metrics on it until a has stopped, so the shutdown's
// drain stays visible to a scrape. A failing metrics server is logged and
// does not stop the rest.
func runWithMetrics(ctx context.Context, a *app.App, ln, metrics net.Listener, log *slog.Logger) error {
	if metrics == nil {
		return a.Run(ctx, ln)
	}
	mctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- serveUntilDone(mctx, metrics, a.MetricsHandler()) }()
	log.Info("serving metrics", slog.String("listen", metrics.Addr().String()), slog.String("path", "/metrics"))
	err := a.Run(ctx, ln)
	stop()
	if merr := <-done; merr != nil {
		log.Error("metrics server stopped", slog.Any("error", merr))
	}
	return err
}

// listenMetrics binds --metrics-listen when it is set; nil otherwise.
func listenMetrics(ctx context.Context, addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil //nolint:nilnil // no address, no listener: metrics are not served
	}
	return app.ListenMetrics(ctx, addr)
}

// closeListeners closes the listeners of a start that failed.
func closeListeners(lns ...net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			_ = ln.Close() // nothing was served on it yet
		}
	}
}
