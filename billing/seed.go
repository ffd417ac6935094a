package billing

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/money"
)

// DefaultPlan is the plan a workspace gets when none is named.
const DefaultPlan = "free"

// seedPlans are the plans every database starts with.
var seedPlans = []struct {
	id, name       string
	includedTraces int64
	extraTrace     string // dollars per extra trace
}{
	{"free", "Free", 10_000, "0.0005"},
	{"pro", "Pro", 100_000, "0.0003"},
	{"enterprise", "Enterprise", 1_000_000, "0.0001"},
}

// seedPricesFrom is when the seeded prices take effect: early enough to
// price any event the service accepts (MaxEventAge).
var seedPricesFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// seedPrices are public list prices in USD per 1M tokens (input, output,
// cached input; "" = cached input priced as input), as published by the
// providers for their standard tier.
var seedPrices = [][4]string{
	{"gpt-5", "1.25", "10.00", "0.125"},
	{"gpt-5-mini", "0.25", "2.00", "0.025"},
	{"gpt-5-nano", "0.05", "0.40", "0.005"},
	{"gpt-4.1", "2.00", "8.00", "0.50"},
	{"gpt-4.1-mini", "0.40", "1.60", "0.10"},
	{"gpt-4.1-nano", "0.10", "0.40", "0.025"},
	{"gpt-4o", "2.50", "10.00", "1.25"},
	{"gpt-4o-mini", "0.15", "0.60", "0.075"},
	{"o3", "2.00", "8.00", "0.50"},
	{"o4-mini", "1.10", "4.40", "0.275"},
	{"claude-opus-4-1", "15.00", "75.00", "1.50"},
	{"claude-sonnet-4-5", "3.00", "15.00", "0.30"},
	{"claude-haiku-4-5", "1.00", "5.00", "0.10"},
	{"claude-3-5-haiku", "0.80", "4.00", "0.08"},
	{"gemini-2.5-pro", "1.25", "10.00", "0.31"},
	{"gemini-2.5-flash", "0.30", "2.50", "0.075"},
	{"gemini-2.5-flash-lite", "0.10", "0.40", "0.025"},
	{"mistral-large-latest", "2.00", "6.00", ""},
	{"mistral-small-latest", "0.10", "0.30", ""},
	{"deepseek-chat", "0.27", "1.10", "0.07"},
	{"deepseek-reasoner", "0.55", "2.19", "0.14"},
	{"llama-3.3-70b-versatile", "0.59", "0.79", ""},
}

// Seed inserts the default plans and price catalog where missing; it never
// overwrites what an operator changed.
func Seed(ctx context.Context, db *sql.DB) error {
	for _, p := range seedPlans {
		price, err := money.Parse(p.extraTrace)
		if err != nil {
			return fmt.Errorf("seed plan %s: %w", p.id, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO plans (id, name, included_traces, extra_trace_price)
			VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, p.id, p.name, p.includedTraces, int64(price)); err != nil {
			return fmt.Errorf("seed plan %s: %w", p.id, err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO invoice_counters (id, last) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`); err != nil {
		return fmt.Errorf("seed invoice counter: %w", err)
	}
	for _, row := range seedPrices {
		p := Price{Model: row[0], EffectiveFrom: seedPricesFrom}
		var err error
		if p.InputPerMillion, err = money.Parse(row[1]); err == nil {
			p.OutputPerMillion, err = money.Parse(row[2])
		}
		if err == nil && row[3] != "" {
			var c money.Amount
			c, err = money.Parse(row[3])
			p.CachedPerMillion = &c
		}
		if err != nil {
			return fmt.Errorf("seed price %s: %w", row[0], err)
		}
		if err := insertPrice(ctx, db, p, false); err != nil {
			return err
		}
	}
	return nil
}

// SetPrice adds a price version for a model (an operator's edit). A version
// with the same model and EffectiveFrom is replaced. Call Prices().Reload (or
// restart) on every instance for it to take effect; events are priced by
// the version in force at their occurred_at, so a future EffectiveFrom is
// the safe way to change a price.
func (s *Service) SetPrice(ctx context.Context, p Price) error {
	p.Model = strings.TrimSpace(p.Model)
	if p.Model == "" {
		return badInput("model", "model is required")
	}
	if p.InputPerMillion < 0 || p.OutputPerMillion < 0 || (p.CachedPerMillion != nil && *p.CachedPerMillion < 0) {
		return badInput("price", "prices must not be negative")
	}
	if p.EffectiveFrom.IsZero() {
		p.EffectiveFrom = s.now()
	}
	if err := insertPrice(ctx, s.db, p, true); err != nil {
		return err
	}
	return s.prices.Reload(ctx, s.db)
}

func insertPrice(ctx context.Context, db *sql.DB, p Price, replace bool) error {
	var cached sql.NullInt64
	if p.CachedPerMillion != nil {
		cached = sql.NullInt64{Int64: int64(*p.CachedPerMillion), Valid: true}
	}
	conflict := `DO NOTHING`
	if replace {
		conflict = `DO UPDATE SET input_per_million = EXCLUDED.input_per_million,
			output_per_million = EXCLUDED.output_per_million, cached_input_per_million = EXCLUDED.cached_input_per_million`
	}
	_, err := db.ExecContext(ctx, `INSERT INTO model_prices (model, input_per_million, output_per_million, cached_input_per_million, effective_from, created_at)
		VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (model, effective_from) `+conflict,
		p.Model, int64(p.InputPerMillion), int64(p.OutputPerMillion), cached, p.EffectiveFrom.UTC())
	if err != nil {
		return fmt.Errorf("save price %s: %w", p.Model, err)
	}
	return nil
}

// CreateWorkspace creates a workspace on plan (DefaultPlan when empty) with
// a zero balance.
func (s *Service) CreateWorkspace(ctx context.Context, name, plan string) (uuid.UUID, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return uuid.Nil, badInput("name", "a workspace name is required")
	}
	if plan == "" {
		plan = DefaultPlan
	}
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1)`, plan).Scan(&exists); err != nil {
		return uuid.Nil, fmt.Errorf("find plan %s: %w", plan, err)
	}
	if !exists {
		return uuid.Nil, badInput("plan", "unknown plan %q", plan)
	}
	id := uuid.New()
	now := s.now().UTC()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO workspaces (id, name, plan_id, balance, balance_version, balance_updated_at, created_at)
		VALUES ($1, $2, $3, 0, 0, $4, $4)`, id, name, plan, now); err != nil {
		return uuid.Nil, fmt.Errorf("create workspace: %w", err)
	}
	return id, nil
}
