package billing

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/workspace"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
)

// BalanceChannel is the Postgres NOTIFY channel every balance change is
// announced on, after commit, for every instance's caches and subscribers.
const BalanceChannel = ledger.Channel

// PricesChannel is the NOTIFY channel SetPrice announces a new price
// version on: every instance reloads its catalog when it arrives.
const PricesChannel = "credits_prices"

// PricePropagation bounds how long after SetPrice commits every running
// instance prices with the new version: the NOTIFY arrives within
// milliseconds; an instance whose listener is down reloads when it
// reconnects and every minute in any case. SetPrice refuses a version
// effective sooner than this (unless forced), so no event is priced with
// a version other than the one in force at its time.
const PricePropagation = 5 * time.Second

// Balance is a workspace's balance at one version.
type Balance = ledger.Balance

// ParseNotification decodes a BalanceChannel payload.
var ParseNotification = ledger.ParseNotification

// Clock is the service's one clock: every time billing stamps or compares
// comes from one reading of it, passed into SQL as a parameter (never SQL's
// now()), so tests move it instead of sleeping.
type Clock func() time.Time

// Config holds the rules an operator can tune.
type Config struct {
	MinPurchase money.Amount // default $5.00
	MaxPurchase money.Amount // default $10,000.00
	// MaxBatch bounds the events in one usage report.
	MaxBatch int
	// MaxEventAge rejects usage events older than this (prices and trace
	// months are settled by then); zero means 400 days.
	MaxEventAge time.Duration
	// MaxEventCost rejects a usage event whose token cost is above it
	// (default $1,000: far above any real call; a runaway count or price
	// is refused with the event instead of draining a balance).
	MaxEventCost money.Amount
	// LargeAdjustment is the operator adjustment (grant or debit) above
	// which an explicit confirmation is required (default $1,000).
	LargeAdjustment money.Amount
	// Seller is printed on every invoice.
	Seller Seller
	// TopUps bounds auto top-up retries.
	TopUps TopUpPolicy
	// UsageDeferWorkspaces: a usage transaction over more workspaces than
	// this leaves their balances to the settler (billing/settle.go);
	// DefaultUsageDeferWorkspaces when zero, never when negative.
	UsageDeferWorkspaces int
	// HoldTTL is how long an unsettled hold lives (DefaultHoldTTL when zero).
	HoldTTL time.Duration
	// Clock is the service's clock (time.Now when nil).
	Clock Clock
}

func (c Config) withDefaults() Config {
	if c.MinPurchase == 0 {
		c.MinPurchase = money.Dollars(5)
	}
	if c.MaxPurchase == 0 {
		c.MaxPurchase = money.Dollars(10_000)
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 1000
	}
	if c.LargeAdjustment == 0 {
		c.LargeAdjustment = money.Dollars(1_000)
	}
	if c.MaxEventCost == 0 {
		c.MaxEventCost = money.Dollars(1_000)
	}
	if c.MaxEventAge == 0 {
		c.MaxEventAge = 400 * 24 * time.Hour
	}
	if c.HoldTTL == 0 {
		c.HoldTTL = DefaultHoldTTL
	}
	if c.UsageDeferWorkspaces == 0 {
		c.UsageDeferWorkspaces = DefaultUsageDeferWorkspaces
	} else if c.UsageDeferWorkspaces < 0 {
		c.UsageDeferWorkspaces = int(^uint(0) >> 1)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Seller.Name == "" {
		c.Seller = Seller{Name: "AI Router Inc.", Address: []string{"548 Market St", "San Francisco, CA 94104", "United States"}}
	}
	return c
}

// Service is the billing rules over one Postgres database. It is safe for
// concurrent use by any number of goroutines and processes.
type Service struct {
	ledger   *ledger.Ledger
	ent      *ent.Client
	payments payments.Provider
	cfg      Config
	log      *slog.Logger
	prices   *Catalog
	plans    *planCache
	policy   TopUpPolicy

	topUpWake chan struct{}
	// hookAfterCharge runs when the processor has answered a charge and
	// before the outcome is recorded; tests simulate a crash there.
	hookAfterCharge func(Purchase) error

	startCommitters sync.Once
	commitQueue     chan *commitRequest
	usageRedos      atomic.Int64 // usage transactions made again (see dedupe)
	settled         atomic.Int64 // deferred usage batches settled (see settle.go)
	settleLag       atomic.Int64 // nanoseconds the last settlement's oldest batch waited
	workspacePlans  workspacePlans

	// The filter of last week's event ids (billing/weekfilter.go).
	weekFilter      atomic.Pointer[weekFilter]
	weekFilterStale atomic.Pointer[weekFilter] // the filter a usage transaction found no longer trusted
	weekFilterWake  chan struct{}
	lookupsFiltered atomic.Int64
}

// New builds the service over db; Start loads what it keeps in memory.
func New(db *sql.DB, processor payments.Provider, cfg Config, log *slog.Logger) *Service {
	cfg = cfg.withDefaults()
	l := ledger.Open(db)
	s := &Service{ledger: l, ent: l.Ent(), payments: processor, cfg: cfg, log: log, prices: &Catalog{}, plans: &planCache{},
		policy: cfg.TopUps.withDefaults(), topUpWake: make(chan struct{}, 1),
		weekFilterWake: make(chan struct{}, 1)}
	// Auto top-up watches every balance change from inside its transaction;
	// the ledger calls it without knowing what it is.
	l.OnChange(s.autoTopUpOnChange)
	l.OnChange(s.alertsOnChange) // alerts: balance.low, balance.depleted, purchase.succeeded (billing/alerts.go)
	return s
}

// Config returns the rules in force.
func (s *Service) Config() Config { return s.cfg }

// Prices is the in-memory price catalog.
func (s *Service) Prices() *Catalog { return s.prices }

// Ent is the ent client (reads outside transactions).
func (s *Service) Ent() *ent.Client { return s.ent }

// Ledger is the one writer of balances (for observers and hooks).
func (s *Service) Ledger() *ledger.Ledger { return s.ledger }

// Start loads the price catalog and the plans.
func (s *Service) Start(ctx context.Context) error {
	if err := s.prices.Reload(ctx, s.ent); err != nil {
		return err
	}
	return s.plans.reload(ctx, s.ent)
}

// OnCommit registers f to run, in this process, after every committed
// balance change made by this process (other processes' changes arrive by
// NOTIFY on BalanceChannel).
func (s *Service) OnCommit(f func(Balance)) { s.ledger.OnCommit(f) }

// GetBalance reads a workspace's balance.
func (s *Service) GetBalance(ctx context.Context, workspaceID uuid.UUID) (Balance, error) {
	w, err := s.ent.Workspace.Query().Where(workspace.ID(workspaceID)).
		Select(workspace.FieldBalance, workspace.FieldHeld, workspace.FieldBalanceVersion, workspace.FieldBalanceUpdatedAt).Only(ctx)
	if ent.IsNotFound(err) {
		return Balance{}, notFound("workspace")
	}
	if err != nil {
		return Balance{}, fmt.Errorf("read balance %s: %w", workspaceID, err)
	}
	return Balance{WorkspaceID: workspaceID, Amount: money.Amount(w.Balance), Held: money.Amount(w.Held),
		Version: w.BalanceVersion, UpdatedAt: w.BalanceUpdatedAt.UTC()}, nil
}

// inTx runs f in a ledger transaction; balances f moved are published after commit.
func (s *Service) inTx(ctx context.Context, f func(tx *ledger.Tx) error) error {
	return s.ledger.InTx(ctx, f)
}

// Now is the service's clock, read at the precision Postgres stores
// (microseconds), so a time compared in Go and stored in Postgres is the
// same instant on both sides.
func (s *Service) Now() time.Time { return s.now() }

func (s *Service) now() time.Time { return s.cfg.Clock().UTC().Truncate(time.Microsecond) }
