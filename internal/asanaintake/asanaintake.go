// Package asanaintake owns how asanajira learns of changes made in Asana to
// linked tasks, and records each one once with the sync engine, which then
// applies it. Two intakes, chosen by serve --asana-intake:
//
//   - events (the default; outbound requests only): every project that holds
//     a synced task is polled through Asana's events API with its stored sync
//     token. Polling is adaptive: a project whose linked tasks changed is
//     polled every poll interval, an idle one ever more rarely (the interval
//     doubles per empty poll, up to MaxIdleInterval), and one is woken at
//     once by App Components traffic on its tasks (WakeTask). Requests are
//     spread over the connected users' tokens (the link owners of the
//     project first), within a per-token and global request budget per
//     minute, and a 429 holds that token back for its Retry-After. A 412
//     (expired sync token) stores the fresh token and records a full
//     comparison (a resync change) for every link of the project: nothing is
//     missed.
//   - webhooks (with --public): one Asana webhook per project, created by the
//     periodic repair (RepairWebhooks), which re-creates webhooks Asana
//     deleted. The receiver (Receiver, POST /asana/hooks/{project}) accepts
//     an X-Hook-Secret handshake only while that project's registration is
//     pending, verifies X-Hook-Signature over the raw body before reading
//     it, records the delivery's changes in one transaction and answers 200;
//     heartbeats are answered 200. The events stream is kept as
//     reconciliation, each project polled every ReconcileEvery.
//
// Each event is mapped to the links it concerns (a task event to its task, a
// story event to the story's task, told by the event's parent or the sync
// engine's comment map) and recorded with a dedup key made from the event,
// the same for a webhook delivery and a poll of one event, so duplicates are
// dropped. The sync token moves only in the transaction that records the
// page's changes.
//
// The package is an HTTP edge like jirawebhook: it never imports the job
// queue or other HTTP packages. Tick and RepairWebhooks are called by the
// periodic jobs poll_asana and asana_webhooks (internal/jobs), which river's
// leader alone enqueues, so they run once across replicas; all state is in
// the store.
package asanaintake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asanajira/asanajira/internal/asana"
	"github.com/asanajira/asanajira/internal/store"
	"github.com/asanajira/asanajira/internal/syncengine"
	"github.com/prometheus/client_golang/prometheus"
)

// Modes of the Asana intake.
const (
	ModeEvents   = "events"
	ModeWebhooks = "webhooks"
)

// HookPath is where Asana delivers a project's webhook events; the
// receiver's route is "POST " + HookPath + "{project}".
const HookPath = "/asana/hooks/"

// Clients gives Asana clients acting as connected users. Clients of one
// user must share one rate limiter (asana.WithLimiter), and should not wait
// out a long Retry-After themselves: the intake holds the token back and
// polls with another.
type Clients interface {
	Asana(ctx context.Context, asanaUserGID string) (*asana.Client, error)
}

// Recorder records a change once and enqueues its application in tx
// (*syncengine.Engine).
type Recorder interface {
	RecordTx(ctx context.Context, tx store.Tx, c syncengine.Change) (bool, error)
}

// Config configures an Intake.
type Config struct {
	Store    store.Store
	Clients  Clients
	Recorder Recorder
	Log      *slog.Logger
	// Metrics registers the intake's metrics (nil: not registered).
	Metrics prometheus.Registerer
	// Mode is ModeEvents (default) or ModeWebhooks.
	Mode string
	// PublicURL is the bridge's URL as Asana reaches it (webhooks mode).
	PublicURL string
	// PollInterval is how often an active project is polled (default 5 s).
	PollInterval time.Duration
	// MaxIdleInterval caps the interval of an idle project (default 2 min).
	MaxIdleInterval time.Duration
	// ReconcileEvery is the poll interval of a project whose webhook is
	// active (default 5 min).
	ReconcileEvery time.Duration
	// TokenBudget is how many requests a minute the intake may make with
	// one user's token (default 500, a third of a paid workspace's 1,500:
	// the rest is left to the sync writes and the user's own requests).
	TokenBudget int
	// GlobalBudget caps the requests a minute over all tokens (0: the sum
	// of the tokens' budgets).
	GlobalBudget int
	// MaxPollsPerTick bounds the projects one tick polls (default 200).
	MaxPollsPerTick int
	// Workers is how many projects one tick polls at once (default 8).
	Workers int
	// RemapAfter is how old a task's project list may grow before it is
	// read again (default 24 h; membership events keep it current).
	RemapAfter time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Intake is the Asana intake. It is safe for concurrent use.
type Intake struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	metrics *metrics

	mu          sync.Mutex
	denied      map[string]time.Time // project|user -> until: the user cannot read the project
	woken       map[string]time.Time // task -> last wake
	lastRefresh time.Time
	lastObserve time.Time
}

// New returns an Intake.
func New(cfg Config) (*Intake, error) {
	if cfg.Store == nil || cfg.Clients == nil || cfg.Recorder == nil {
		return nil, errors.New("asanaintake: a store, clients and a recorder are required")
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeEvents
	case ModeEvents, ModeWebhooks:
	default:
		return nil, fmt.Errorf("asanaintake: unknown mode %q (events or webhooks)", cfg.Mode)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Mode == ModeWebhooks && cfg.PublicURL == "" {
		return nil, errors.New("asanaintake: webhooks mode needs the bridge's public URL")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PollInterval, 5*time.Second)
	def(&cfg.MaxIdleInterval, 2*time.Minute)
	cfg.MaxIdleInterval = max(cfg.MaxIdleInterval, cfg.PollInterval)
	def(&cfg.ReconcileEvery, 5*time.Minute)
	def(&cfg.RemapAfter, 24*time.Hour)
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	defInt(&cfg.TokenBudget, 500)
	defInt(&cfg.MaxPollsPerTick, 200)
	defInt(&cfg.Workers, 8)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	return &Intake{cfg: cfg, st: cfg.Store, log: cfg.Log, metrics: m, denied: map[string]time.Time{}, woken: map[string]time.Time{}}, nil
}

// Mode is the intake's mode.
func (in *Intake) Mode() string { return in.cfg.Mode }

// Target is the URL Asana delivers a project's webhook events to.
func (in *Intake) Target(projectGID string) string {
	return in.cfg.PublicURL + HookPath + projectGID
}

// activeWindow is how long a project stays at the shortest poll interval
// after an event on a linked task or App Components traffic on one: people
// make several changes in a row.
const activeWindow = time.Minute

// wakeDebounce is how often one task may wake its projects: App Components
// calls come in bursts (the widget, then the form), one wake is enough.
const wakeDebounce = time.Second

// WakeTask makes the idle projects of a task due now, so a change someone
// is making on it is seen within a poll interval. App Components requests
// call it; it costs a read, and a write only when a project was idle.
// Failures are logged, never returned: a missed wake only delays a poll.
// (In webhooks mode a project with a live webhook is never idle, so this
// wakes only those whose webhook could not be made.)
func (in *Intake) WakeTask(ctx context.Context, taskGID string) {
	in.WakeTaskBeside(ctx, taskGID)()
}

// WakeTaskBeside is WakeTask for a caller that goes on meanwhile: a task
// woken within wakeDebounce is told at once, otherwise the store is read
// (and written) in a goroutine of its own; the function it returns waits
// for that.
func (in *Intake) WakeTaskBeside(ctx context.Context, taskGID string) (wait func()) {
	if taskGID == "" {
		return func() {}
	}
	now := in.cfg.Now()
	in.mu.Lock()
	if last, ok := in.woken[taskGID]; ok && now.Sub(last) < wakeDebounce {
		in.mu.Unlock()
		return func() {}
	}
	if len(in.woken) > 10000 {
		for k, v := range in.woken {
			if now.Sub(v) >= wakeDebounce {
				delete(in.woken, k)
			}
		}
	}
	in.woken[taskGID] = now
	in.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err := in.st.WakeAsanaTask(ctx, taskGID, now, now.Add(activeWindow))
		if err != nil {
			in.log.LogAttrs(ctx, slog.LevelWarn, "could not wake the Asana projects of a task", slog.String("task", taskGID),
				slog.Any("error", err))
			return
		}
		if n > 0 {
			in.metrics.wakes.Add(float64(n))
		}
	}()
	return func() { <-done }
}

// deny remembers for a while that user cannot read project (403/404).
func (in *Intake) deny(project, user string, until time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.denied[project+"|"+user] = until
}

func (in *Intake) isDenied(project, user string, now time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	until, ok := in.denied[project+"|"+user]
	if ok && !now.Before(until) {
		delete(in.denied, project+"|"+user)
		return false
	}
	return ok
}

// metrics are the intake's Prometheus series.
type metrics struct {
	requests   *prometheus.CounterVec
	events     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	wakes      prometheus.Counter
	budget     *prometheus.GaugeVec
	projects   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "asanajira_asana_poll_requests_total",
			Help: "Requests the Asana intake made, by what (events, task, webhooks) and outcome (ok, expired, rate_limited, denied, error)."},
			[]string{"what", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "asanajira_asana_intake_events_total",
			Help: "Asana events the intake read, by source (events, webhook) and outcome (recorded, duplicate, unlinked, ignored)."},
			[]string{"source", "outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "asanajira_asana_webhook_deliveries_total",
			Help: "Requests to the Asana webhook receiver, by outcome (events, heartbeat, handshake, refused)."},
			[]string{"outcome"}),
		wakes: prometheus.NewCounter(prometheus.CounterOpts{Name: "asanajira_asana_poll_wakes_total",
			Help: "Idle Asana projects woken by App Components traffic on their tasks."}),
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "asanajira_asana_poll_budget",
			Help: "The Asana intake's request budget a minute (limit) and what it used in the current minute (used), as of its last tick."},
			[]string{"what"}),
		projects: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "asanajira_asana_poll_projects",
			Help: "Asana projects the intake watches, by state (active, idle), as of its last tick."}, []string{"state"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.events, m.deliveries, m.wakes, m.budget, m.projects} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("asanaintake: metrics: %w", err)
		}
	}
	return m, nil
}
