// Package app wires one instance of the credits service: the database, the
// payment provider, billing and its ledger, the authorize gate, the balance
// feed, tokens and the HTTP server, and the background work they need.
// cmd/credits builds it from the environment; tests build it from Options,
// so both run the same wiring.
//
// It owns no rule and no route: only which piece is given to which.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	_ "github.com/lib/pq" // the Postgres driver

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/feed"
	"github.com/airouter/credits/graph"
	"github.com/airouter/credits/links"
	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/server"
)

// Options are what one instance is built from.
type Options struct {
	// DatabaseURL is the Postgres the instance runs on (also used to LISTEN).
	DatabaseURL string
	// DB, when set, is used instead of opening DatabaseURL (tests share one).
	DB *sql.DB
	// Processor is the card processor; nil means the sandbox.
	Processor payments.Provider
	Billing   billing.Config
	// Alerts configures email (SMTP) and webhook delivery of alerts; its
	// PublicURL and Clock default to the instance's.
	Alerts alerts.Config
	Limits graph.Limits
	// PublicURL is the base of invoice links.
	PublicURL string
	// DownloadSigningKey signs the download links that work without a
	// header (the same on every instance; nil: a random one, links then
	// break on restart — development only).
	DownloadSigningKey []byte
	// StripePublishableKey is handed to the SPA for Stripe.js.
	StripePublishableKey string
	// WebhookSecret verifies Stripe webhooks.
	WebhookSecret string
	// AuthorizeMaxStale bounds the gate's staleness while the listener is down.
	AuthorizeMaxStale time.Duration
	// BalanceInterval coalesces balanceUpdated messages (0: graph's default).
	BalanceInterval time.Duration
	// MutationsPerSecond and MutationBurst limit GraphQL mutations per token
	// (0: server defaults; negative rate: no limit).
	MutationsPerSecond float64
	MutationBurst      int
	// CORSAllowedOrigins may call the API from a browser (exact origins).
	CORSAllowedOrigins []string
	// BodyTimeout bounds reading a request body (0: the server's default).
	BodyTimeout time.Duration
	// HoldExpiryInterval and PriceReloadInterval pace background work
	// (defaults 5 s and 1 min).
	HoldExpiryInterval  time.Duration
	PriceReloadInterval time.Duration
	// UsageRetention is how long raw usage events are kept (whole weekly
	// partitions are dropped after it; default 400 days, never less than
	// billing's maximum event age). Rollups, ledger and invoices are kept.
	UsageRetention time.Duration
	// SettleInterval paces the settlement of deferred usage (default 1 s;
	// billing/settle.go): the longest a spread-out report waits to reach
	// balances, besides the settlement itself.
	SettleInterval time.Duration
	Log            *slog.Logger
}

// App is one built instance.
type App struct {
	opts     Options
	DB       *sql.DB
	ownsDB   bool
	Billing  *billing.Service
	Alerts   *alerts.Service
	Gate     *billing.Gate
	Hub      *feed.Hub
	Tokens   *auth.Tokens
	Sandbox  *payments.Sandbox // set when the sandbox provider is in use
	Server   *server.Server
	Listener *feed.Listener

	wg sync.WaitGroup // background work started by Start
	// workingSet is the usage dedupe working set the last partition
	// maintenance measured (nil before the first), for /metrics.
	workingSet atomic.Pointer[partitions.WorkingSet]
}

// Build opens the database (unless given) and wires every piece. It starts
// nothing: Start runs the background work.
func Build(opts Options) (*App, error) {
	if opts.Log == nil {
		return nil, errors.New("app: a logger is required")
	}
	if opts.HoldExpiryInterval == 0 {
		opts.HoldExpiryInterval = 5 * time.Second
	}
	if opts.PriceReloadInterval == 0 {
		opts.PriceReloadInterval = time.Minute
	}
	if opts.UsageRetention == 0 {
		opts.UsageRetention = 400 * 24 * time.Hour
	}
	if opts.SettleInterval == 0 {
		opts.SettleInterval = time.Second
	}
	if opts.AuthorizeMaxStale == 0 {
		opts.AuthorizeMaxStale = 2 * time.Second
	}
	a := &App{opts: opts, DB: opts.DB}
	if a.DB == nil {
		db, err := Open(context.Background(), opts.DatabaseURL)
		if err != nil {
			return nil, err
		}
		a.DB, a.ownsDB = db, true
	}
	processor := opts.Processor
	if processor == nil {
		a.Sandbox = payments.NewSandbox(opts.Log)
		processor = a.Sandbox
	} else if sb, ok := processor.(*payments.Sandbox); ok {
		a.Sandbox = sb
	}
	a.Billing = billing.New(a.DB, processor, opts.Billing, opts.Log)
	if maxAge := a.Billing.Config().MaxEventAge; opts.UsageRetention < maxAge {
		// An event older than the retention could be reported again and,
		// its partition dropped, charged a second time.
		return nil, fmt.Errorf("app: usage retention %s is shorter than the maximum event age %s", opts.UsageRetention, maxAge)
	}
	alertsCfg := opts.Alerts
	if alertsCfg.PublicURL == "" {
		alertsCfg.PublicURL = opts.PublicURL
	}
	if alertsCfg.Clock == nil && opts.Billing.Clock != nil {
		alertsCfg.Clock = opts.Billing.Clock
	}
	alertsSvc, err := alerts.New(a.Billing.Ledger().Ent(), alertsCfg, opts.Log)
	if err != nil {
		if a.ownsDB {
			a.DB.Close()
		}
		return nil, err
	}
	a.Alerts = alertsSvc
	a.Tokens = auth.NewTokens(ent.NewClient(ent.Driver(entsql.OpenDB("postgres", a.DB))))
	a.Gate = billing.NewGate(a.Billing, opts.AuthorizeMaxStale)
	a.Hub = feed.NewHub()
	a.Listener = feed.NewListener(opts.DatabaseURL, opts.Log)
	a.Listener.OnBalance = append(a.Listener.OnBalance, a.Gate.Observe, a.Hub.Publish)
	a.Listener.OnLive = append(a.Listener.OnLive, a.Gate.SetLive)
	a.Listener.OnPrices = append(a.Listener.OnPrices, a.reloadPrices)
	key := opts.DownloadSigningKey
	if key == nil {
		opts.Log.Warn("DOWNLOAD_SIGNING_KEY is not set: signed download links use a random key and stop working when this process restarts")
		key = links.RandomKey()
	}
	signer, err := links.New(opts.PublicURL, key, a.Billing.Now)
	if err != nil {
		return nil, err
	}
	a.Server = server.New(server.Deps{
		DB: a.DB, Billing: a.Billing, Gate: a.Gate, Tokens: a.Tokens, Limits: opts.Limits, Log: opts.Log,
		WebhookSecret: opts.WebhookSecret, Sandbox: a.Sandbox, Links: signer,
		MutationsPerSecond: opts.MutationsPerSecond, MutationBurst: opts.MutationBurst,
		CORSAllowedOrigins: opts.CORSAllowedOrigins, BodyTimeout: opts.BodyTimeout,
		WorkingSet: a.dedupeWorkingSet,
		Resolver: &graph.Resolver{Billing: a.Billing, Alerts: a.Alerts, Balances: a.Gate, Hub: a.Hub, Log: opts.Log, Links: signer,
			StripePublishableKey: opts.StripePublishableKey,
			BalanceInterval:      opts.BalanceInterval},
	})
	return a, nil
}

// Open opens and pings the database with the pool sizes the service uses.
func Open(ctx context.Context, url string) (*sql.DB, error) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Enough for concurrent request handling on a small machine; Postgres's
	// default max_connections is 100 and several instances may share it.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// Start loads what billing keeps in memory and runs the background work
// until ctx ends: the balance listener (live is closed once it first
// connects), the auto top-up worker, hold expiry, usage settlement, the
// dedupe filter of last week, the price reload and the alerts worker.
// Stop waits for all of it to end.
func (a *App) Start(ctx context.Context) (live <-chan struct{}, err error) {
	if err := a.Billing.Start(ctx); err != nil {
		return nil, err
	}
	connected := make(chan struct{})
	var once sync.Once
	a.Listener.OnLive = append(a.Listener.OnLive, func(up bool) {
		if up {
			once.Do(func() { close(connected) })
			go a.Hub.Refresh(ctx, a.Billing.GetBalance)
			go a.reloadPrices() // price notifications sent while it was down are lost
		}
	})
	run := func(f func()) {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); f() }()
	}
	run(func() {
		if err := a.Listener.Run(ctx); err != nil {
			a.opts.Log.Error("balance listener stopped", "err", err)
		}
	})
	// Auto top-up worker: safe with any number of instances (SKIP LOCKED).
	run(func() { a.Billing.RunTopUps(ctx) })
	run(func() { a.Billing.RunHoldExpiry(ctx, a.opts.HoldExpiryInterval) })
	// Deferred usage: safe with any number of instances (SKIP LOCKED); the
	// last settlement runs as ctx ends.
	run(func() { a.Billing.RunSettlement(ctx, a.opts.SettleInterval) })
	run(func() { a.Billing.RunPriceReload(ctx, a.opts.PriceReloadInterval) })
	run(func() { a.maintainPartitions(ctx) })
	run(func() { a.Billing.RunWeekFilter(ctx) })
	// Alerts worker: dispatches the outbox and delivers email and webhooks;
	// safe with any number of instances (SKIP LOCKED).
	run(func() { a.Alerts.Run(ctx) })
	return connected, nil
}

// maintainPartitions keeps usage_events' weekly partitions (created ahead,
// dropped after the retention, last week sealed) at start-up and every
// hour; with several instances one does it at a time (an advisory lock).
// After each run every instance measures the dedupe working set
// (measureWorkingSet).
func (a *App) maintainPartitions(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := a.Billing.Now()
		if err := partitions.Maintain(ctx, a.DB, now, a.opts.UsageRetention); err != nil {
			if ctx.Err() == nil {
				a.opts.Log.Error("maintain usage partitions", "err", err)
			}
		} else {
			a.sealLastWeek(ctx, now)
			a.measureWorkingSet(ctx, now)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sealLastWeek seals last week once it has been over for an hour, so
// that each instance's dedupe filter of it can be trusted
// (partitions.Seal), and has this instance's built at once.
func (a *App) sealLastWeek(ctx context.Context, now time.Time) {
	monday, sealed, err := partitions.Seal(ctx, a.DB, now)
	if err != nil {
		if ctx.Err() == nil {
			a.opts.Log.Warn("seal last week's usage partition", "week", monday.Format(time.DateOnly), "err", err)
		}
		return
	}
	if sealed {
		a.Billing.WakeWeekFilter()
	}
}

// measureWorkingSet stores the usage dedupe working set for /metrics and
// warns, once a run, when it takes more than half of shared_buffers: from
// there ingestion slows as the week's key grows (partitions.WorkingSet).
// Measuring is advice, so its failure is only logged.
func (a *App) measureWorkingSet(ctx context.Context, now time.Time) {
	w, err := partitions.DedupeWorkingSet(ctx, a.DB, now)
	if err != nil {
		if ctx.Err() == nil {
			a.opts.Log.Warn("measure the usage dedupe working set", "err", err)
		}
		return
	}
	a.workingSet.Store(&w)
	if w.Oversized() {
		a.opts.Log.Warn("usage dedupe indexes take more than half of shared_buffers and ingestion slows as they grow: "+
			"raise shared_buffers to at least twice them (docs/scaling.md, \"What one Postgres holds\")",
			"dedupe_index_mb", partitions.MB(w.Bytes()), "shared_buffers_mb", partitions.MB(w.SharedBuffers),
			"this_week_key_mb", partitions.MB(w.ThisWeekKey), "last_week_lookup_mb", partitions.MB(w.LastWeekLookup),
			"min_shared_buffers_mb", partitions.MB(w.MinSharedBuffers()))
	}
}

// dedupeWorkingSet is the last measured working set (zero before the first).
func (a *App) dedupeWorkingSet() partitions.WorkingSet {
	if w := a.workingSet.Load(); w != nil {
		return *w
	}
	return partitions.WorkingSet{}
}

// reloadPrices reloads the price catalog (an operator added a version).
func (a *App) reloadPrices() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Billing.Prices().Reload(ctx, a.Billing.Ent()); err != nil {
		a.opts.Log.Error("reload prices", "err", err)
	}
}

// Wait blocks until the background work started by Start has ended (its
// context was canceled), then closes the database if Build opened it.
func (a *App) Wait() {
	a.wg.Wait()
	if a.ownsDB {
		a.DB.Close()
	}
}
