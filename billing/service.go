package billing

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
)

// BalanceChannel is the Postgres NOTIFY channel every balance change is
// announced on, after commit, for every instance's caches and subscribers.
const BalanceChannel = "credits_balance"

// Config holds the rules an operator can tune.
type Config struct {
	MinPurchase money.Amount // default $5.00
	MaxPurchase money.Amount // default $10,000.00
	// MaxBatch bounds the events in one usage report.
	MaxBatch int
	// MaxEventAge rejects usage events older than this (prices and trace
	// months are settled by then); zero means 400 days.
	MaxEventAge time.Duration
	// Seller is printed on every invoice.
	Seller Seller
	// TopUps bounds auto top-up retries.
	TopUps TopUpPolicy
	// HoldTTL is how long an unsettled hold lives (DefaultHoldTTL when zero).
	HoldTTL time.Duration
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
	if c.MaxEventAge == 0 {
		c.MaxEventAge = 400 * 24 * time.Hour
	}
	if c.HoldTTL == 0 {
		c.HoldTTL = DefaultHoldTTL
	}
	if c.Seller.Name == "" {
		c.Seller = Seller{Name: "AI Router Inc.", Address: []string{"548 Market St", "San Francisco, CA 94104", "United States"}}
	}
	return c
}

// Service is the billing rules over one Postgres database. It is safe for
// concurrent use by any number of goroutines and processes.
type Service struct {
	db       *sql.DB
	ent      *ent.Client
	payments payments.Provider
	cfg      Config
	log      *slog.Logger
	prices   *Catalog
	now      func() time.Time
	policy   TopUpPolicy

	topUpWake chan struct{}
	// hookAfterCharge runs when the processor has answered a charge and
	// before the outcome is recorded; tests simulate a crash there.
	hookAfterCharge func(Purchase) error

	startCommitters sync.Once
	commitQueue     chan *commitRequest
	stmts           *statements // the usage path's, prepared per connection

	mu       sync.RWMutex
	onCommit []func(Balance)
}

// New builds the service; Start loads what it keeps in memory.
func New(db *sql.DB, client *ent.Client, processor payments.Provider, cfg Config, log *slog.Logger) *Service {
	cfg = cfg.withDefaults()
	return &Service{db: db, ent: client, payments: processor, cfg: cfg, log: log, prices: &Catalog{}, now: time.Now,
		policy: cfg.TopUps.withDefaults(), topUpWake: make(chan struct{}, 1), stmts: newStatements(db)}
}

// Config returns the rules in force.
func (s *Service) Config() Config { return s.cfg }

// Prices is the in-memory price catalog.
func (s *Service) Prices() *Catalog { return s.prices }

// Start loads the price catalog.
func (s *Service) Start(ctx context.Context) error {
	return s.prices.Reload(ctx, s.db)
}

// OnCommit registers f to run, in this process, after every committed
// balance change made by this process (other processes' changes arrive by
// NOTIFY on BalanceChannel).
func (s *Service) OnCommit(f func(Balance)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCommit = append(s.onCommit, f)
}

func (s *Service) committed(bs []Balance) {
	s.mu.RLock()
	hooks := s.onCommit
	s.mu.RUnlock()
	for _, b := range bs {
		for _, f := range hooks {
			f(b)
		}
	}
}

// Balance is a workspace's balance at one version.
type Balance struct {
	WorkspaceID uuid.UUID
	Amount      money.Amount
	// Version increases with every change, so a cache keeps the newest.
	Version   int64
	UpdatedAt time.Time
	// Held is reserved by active holds (see PlaceHold).
	Held money.Amount
}

// Available is what new calls with an estimate may still reserve.
func (b Balance) Available() money.Amount { return b.Amount - b.Held }

// Blocked is the one rule for blocking: a workspace may not make router
// calls while its balance is zero or below.
func (b Balance) Blocked() bool { return b.Amount <= 0 }

// notification is the NOTIFY payload: "workspace,amount,version,unixnano,held".
func (b Balance) notification() string {
	return fmt.Sprintf("%s,%d,%d,%d,%d", b.WorkspaceID, int64(b.Amount), b.Version, b.UpdatedAt.UnixNano(), int64(b.Held))
}

// ParseNotification decodes a BalanceChannel payload.
func ParseNotification(payload string) (Balance, error) {
	parts := strings.Split(payload, ",")
	if len(parts) != 5 {
		return Balance{}, fmt.Errorf("balance notification %q: want 5 fields", payload)
	}
	id, err := uuid.Parse(parts[0])
	if err != nil {
		return Balance{}, fmt.Errorf("balance notification: %w", err)
	}
	var nums [4]int64
	for i, p := range parts[1:] {
		if nums[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return Balance{}, fmt.Errorf("balance notification: %w", err)
		}
	}
	return Balance{WorkspaceID: id, Amount: money.Amount(nums[0]), Version: nums[1], UpdatedAt: time.Unix(0, nums[2]).UTC(), Held: money.Amount(nums[3])}, nil
}

// GetBalance reads a workspace's balance.
func (s *Service) GetBalance(ctx context.Context, workspaceID uuid.UUID) (Balance, error) {
	return readBalance(ctx, s.db, workspaceID)
}

// queryer is a *sql.DB or a *sql.Tx. Code running inside a transaction
// must read through the transaction: taking a second pooled connection
// while holding one deadlocks once the pool is exhausted.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readBalance(ctx context.Context, q queryer, workspaceID uuid.UUID) (Balance, error) {
	b := Balance{WorkspaceID: workspaceID}
	err := q.QueryRowContext(ctx, `SELECT balance, held, balance_version, balance_updated_at FROM workspaces WHERE id = $1`,
		workspaceID).Scan(&b.Amount, &b.Held, &b.Version, &b.UpdatedAt)
	if err == sql.ErrNoRows {
		return Balance{}, notFound("workspace")
	}
	if err != nil {
		return Balance{}, fmt.Errorf("read balance %s: %w", workspaceID, err)
	}
	return b, nil
}

// inTx runs f in a transaction and, after commit, runs the commit hooks for
// the balances f changed.
func (s *Service) inTx(ctx context.Context, f func(tx *sql.Tx) ([]Balance, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	changed, err := f(tx)
	if err != nil {
		tx.Rollback() //nolint:errcheck // f's error is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.committed(changed)
	return nil
}

// Now is the service's clock (tests may move it).
func (s *Service) Now() time.Time { return s.now() }
