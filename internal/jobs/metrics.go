package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// countCollector reports how many jobs exist by kind and state, read from
// river's table when Prometheus scrapes, so every replica reports the shared
// truth and nothing has to be kept in step.
type countCollector struct {
	ctx  context.Context // the server's lifetime; Prometheus gives Collect none
	db   *sql.DB
	log  *slog.Logger
	desc *prometheus.Desc
}

// NewCountCollector returns the asanajira_jobs collector for reg.
func NewCountCollector(ctx context.Context, db *sql.DB, log *slog.Logger) prometheus.Collector {
	return &countCollector{ctx: ctx, db: db, log: log, desc: prometheus.NewDesc("asanajira_jobs",
		"Jobs in the queue by kind and state (available, running, retryable, completed, discarded, ...).",
		[]string{"kind", "state"}, nil)}
}

func (c *countCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	rows, err := c.db.QueryContext(ctx, `SELECT kind, state, count(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		c.log.Warn("job metrics: cannot count jobs", slog.Any("error", err))
		return
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kind, state string
			n           float64
		)
		if err := rows.Scan(&kind, &state, &n); err != nil {
			c.log.Warn("job metrics: cannot count jobs", slog.Any("error", err))
			return
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, kind, state)
	}
	if err := rows.Err(); err != nil {
		c.log.Warn("job metrics: cannot count jobs", slog.Any("error", err))
	}
}
