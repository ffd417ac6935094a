package billing

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"sync"
	"time"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/modelprice"
	"github.com/airouter/credits/money"
)

// Price is one version of a model's price per million tokens.
type Price struct {
	Model            string
	InputPerMillion  money.Amount
	OutputPerMillion money.Amount
	CachedPerMillion *money.Amount // nil: cached input is priced as input
	EffectiveFrom    time.Time
}

// Usage is the token counts of one call. InputTokens excludes cached input
// tokens, which are counted separately in CachedInputTokens.
type Usage struct {
	InputTokens, OutputTokens, CachedInputTokens int64
}

// MaxTokensPerEvent bounds each token count (input, output, cached input)
// of one event: 100 M, about 50 times the largest context window sold
// today. A larger count is a bug or an attack, rejected with the event.
const MaxTokensPerEvent = 100_000_000

// MaxTracesPerEvent bounds the traces one event reports.
const MaxTracesPerEvent = 1_000_000

// Cost prices usage with p. The rounding rule, the only one for usage: the
// exact cost sum(tokens × price per million) / 1,000,000 is computed in
// 128-bit integers and rounded UP to the next whole nano-dollar, once per
// event. A call is never free, and never costs $0.000000001 or more extra.
func (p Price) Cost(u Usage) (money.Amount, error) {
	cached := p.InputPerMillion
	if p.CachedPerMillion != nil {
		cached = *p.CachedPerMillion
	}
	var hi, lo uint64 // the 128-bit numerator, in nano-dollars × 1e6
	for _, part := range [3]struct {
		tokens int64
		price  money.Amount
	}{{u.InputTokens, p.InputPerMillion}, {u.OutputTokens, p.OutputPerMillion}, {u.CachedInputTokens, cached}} {
		if part.tokens < 0 || part.tokens > MaxTokensPerEvent || part.price < 0 {
			return 0, money.ErrRange
		}
		ph, pl := bits.Mul64(uint64(part.tokens), uint64(part.price))
		var carry uint64
		lo, carry = bits.Add64(lo, pl, 0)
		hi, _ = bits.Add64(hi, ph, carry)
	}
	const perMillion = 1_000_000
	if hi >= perMillion {
		return 0, money.ErrRange
	}
	q, r := bits.Div64(hi, lo, perMillion)
	if r != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return 0, money.ErrRange
	}
	return money.Amount(q), nil
}

// Catalog holds every price version in memory, so pricing an event costs no
// database round trip. Reload refreshes it from model_prices.
type Catalog struct {
	mu      sync.RWMutex
	byModel map[string][]Price // sorted by EffectiveFrom ascending
}

// PriceAt returns the price of model in force at t: the latest version whose
// EffectiveFrom is not after t.
func (c *Catalog) PriceAt(model string, t time.Time) (Price, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	versions := c.byModel[model]
	i := sort.Search(len(versions), func(i int) bool { return versions[i].EffectiveFrom.After(t) })
	if i == 0 {
		return Price{}, false
	}
	return versions[i-1], true
}

// Current returns, for every model, the version in force at now, by model name.
func (c *Catalog) Current(now time.Time) []Price {
	c.mu.RLock()
	models := make([]string, 0, len(c.byModel))
	for m := range c.byModel {
		models = append(models, m)
	}
	c.mu.RUnlock()
	sort.Strings(models)
	out := make([]Price, 0, len(models))
	for _, m := range models {
		if p, ok := c.PriceAt(m, now); ok {
			out = append(out, p)
		}
	}
	return out
}

// Reload replaces the catalog with the rows of model_prices.
func (c *Catalog) Reload(ctx context.Context, client *ent.Client) error {
	rows, err := client.ModelPrice.Query().Order(modelprice.ByModel(), modelprice.ByEffectiveFrom()).All(ctx)
	if err != nil {
		return fmt.Errorf("load prices: %w", err)
	}
	byModel := map[string][]Price{}
	for _, r := range rows {
		p := Price{Model: r.Model, InputPerMillion: money.Amount(r.InputPerMillion), OutputPerMillion: money.Amount(r.OutputPerMillion),
			EffectiveFrom: r.EffectiveFrom.UTC()}
		if r.CachedInputPerMillion != nil {
			v := money.Amount(*r.CachedInputPerMillion)
			p.CachedPerMillion = &v
		}
		byModel[p.Model] = append(byModel[p.Model], p)
	}
	c.mu.Lock()
	c.byModel = byModel
	c.mu.Unlock()
	return nil
}

// RunPriceReload reloads the price catalog every interval until ctx ends,
// so every instance picks up versions other instances' operators added.
func (s *Service) RunPriceReload(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.prices.Reload(ctx, s.ent); err != nil && ctx.Err() == nil {
				s.log.Error("reload prices", "err", err)
			}
		}
	}
}
