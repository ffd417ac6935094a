package billing

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/invoicecounter"
	"github.com/airouter/credits/ent/modelprice"
	"github.com/airouter/credits/ent/plan"
	"github.com/airouter/credits/ledger"

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
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db)))
	for _, p := range seedPlans {
		price, err := money.Parse(p.extraTrace)
		if err != nil {
			return fmt.Errorf("seed plan %s: %w", p.id, err)
		}
		err = client.Plan.Create().SetID(p.id).SetName(p.name).SetIncludedTraces(p.includedTraces).SetExtraTracePrice(int64(price)).
			OnConflictColumns(plan.FieldID).DoNothing().Exec(ctx)
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("seed plan %s: %w", p.id, err)
		}
	}
	err := client.InvoiceCounter.Create().SetID(1).SetLast(0).OnConflictColumns(invoicecounter.FieldID).DoNothing().Exec(ctx)
	if err != nil && !isNoRows(err) {
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
		if _, err := insertPrice(ctx, client, p, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// PriceEdit is an operator's new price version (`credits price set`).
type PriceEdit struct {
	Price
	// CachedSet says the operator gave the cached-input price
	// (Price.CachedPerMillion, nil meaning "priced as input"). Leaving it
	// out is refused when the version in force has a cached price, so a
	// price cut never silently raises the cached price to the input price.
	CachedSet bool
	// Force allows an EffectiveFrom sooner than PricePropagation from now
	// (backdating: events already charged keep their old price).
	Force bool
}

// SetPrice adds a price version for a model. Versions are immutable:
// events already charged under one must keep matching it, so a version
// with the same model and EffectiveFrom is refused (a correction is a new
// version). It takes effect no sooner than PricePropagation from now
// (the default when EffectiveFrom is zero) unless forced, and the version
// is announced on PricesChannel in the same transaction, so every running
// instance reloads its catalog before the version is in force.
func (s *Service) SetPrice(ctx context.Context, e PriceEdit) error {
	p := e.Price
	p.Model = strings.TrimSpace(p.Model)
	if p.Model == "" {
		return badInput("model", "model is required")
	}
	if err := checkText("model", p.Model, 200); err != nil {
		return err
	}
	if p.InputPerMillion < 0 || p.OutputPerMillion < 0 || (p.CachedPerMillion != nil && *p.CachedPerMillion < 0) {
		return badInput("price", "prices must not be negative")
	}
	now := s.now()
	earliest := now.Add(PricePropagation)
	if p.EffectiveFrom.IsZero() {
		p.EffectiveFrom = earliest
	}
	p.EffectiveFrom = p.EffectiveFrom.UTC().Truncate(time.Microsecond)
	if p.EffectiveFrom.Before(earliest) && !e.Force {
		return badInput("effective_from", "effective_from %s is sooner than %s from now: running servers may price events with the old version until then; use a later time, or force it",
			p.EffectiveFrom.Format(time.RFC3339Nano), PricePropagation)
	}
	if err := s.prices.Reload(ctx, s.ent); err != nil { // the CLI has no catalog loaded
		return err
	}
	if current, ok := s.prices.PriceAt(p.Model, p.EffectiveFrom); ok && !e.CachedSet && current.CachedPerMillion != nil {
		return badInput("cached", "%s's version in force has a cached-input price of %s; give the new cached price, or none to price cached input as input",
			p.Model, *current.CachedPerMillion)
	}
	err := s.inTx(ctx, func(tx *ledger.Tx) error {
		inserted, err := insertPrice(ctx, tx.Client(), p, now)
		if err != nil {
			return err
		}
		if !inserted {
			return badInput("effective_from", "%s already has a price version effective from %s; versions are immutable: add a new one",
				p.Model, p.EffectiveFrom.Format(time.RFC3339Nano))
		}
		_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, PricesChannel, p.Model)
		return err
	})
	if err != nil {
		return err
	}
	return s.prices.Reload(ctx, s.ent)
}

// insertPrice adds a price version unless one with its model and
// effective time exists; inserted says which.
func insertPrice(ctx context.Context, client *ent.Client, p Price, now time.Time) (inserted bool, err error) {
	c := client.ModelPrice.Create().SetModel(p.Model).SetInputPerMillion(int64(p.InputPerMillion)).SetOutputPerMillion(int64(p.OutputPerMillion)).
		SetEffectiveFrom(p.EffectiveFrom.UTC().Truncate(time.Microsecond)).SetCreatedAt(now)
	if p.CachedPerMillion != nil {
		c.SetCachedInputPerMillion(int64(*p.CachedPerMillion))
	}
	err = c.OnConflictColumns(modelprice.FieldModel, modelprice.FieldEffectiveFrom).DoNothing().Exec(ctx)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("save price %s: %w", p.Model, err)
	}
	return true, nil
}

// CreateWorkspace creates a workspace on plan (DefaultPlan when empty) with
// a zero balance.
func (s *Service) CreateWorkspace(ctx context.Context, name, planID string) (uuid.UUID, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return uuid.Nil, badInput("name", "a workspace name is required")
	}
	if err := checkText("name", name, 200); err != nil {
		return uuid.Nil, err
	}
	if planID == "" {
		planID = DefaultPlan
	}
	exists, err := s.ent.Plan.Query().Where(plan.ID(planID)).Exist(ctx)
	if err != nil {
		return uuid.Nil, fmt.Errorf("find plan %s: %w", planID, err)
	}
	if !exists {
		return uuid.Nil, badInput("plan", "unknown plan %q", planID)
	}
	now := s.now()
	w, err := s.ent.Workspace.Create().SetName(name).SetPlanID(planID).
		SetBalanceUpdatedAt(now).SetCreatedAt(now).Save(ctx)
	if err != nil {
		return uuid.Nil, fmt.Errorf("create workspace: %w", err)
	}
	return w.ID, nil
}
