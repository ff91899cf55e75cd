package app

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are served on a listener of their own (--metrics-listen), never
// on the main one: that listener faces users' browsers and, in public mode,
// the internet, and the metrics name routes, job kinds and load. Without
// --metrics-listen they are served nowhere. The command serves
// MetricsHandler on that listener next to Run.

// MetricsHandler serves the Prometheus metrics at GET /metrics and nothing
// else.
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	return mux
}

// ListenMetrics binds the --metrics-listen address with a message that
// names the setting when the port is taken.
func ListenMetrics(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s for metrics (is another process using it? pick another with --metrics-listen): %w", addr, err)
	}
	return ln, nil
}
