package billing

import (
	"testing"
	"time"

	"github.com/airouter/credits/money"
)

func usd(s string) money.Amount {
	a, err := money.Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

func ptr(a money.Amount) *money.Amount { return &a }

func TestPriceCost_TokenMathAndRoundingUpOncePerEvent(t *testing.T) {
	gpt5nano := Price{InputPerMillion: usd("0.05"), OutputPerMillion: usd("0.40"), CachedPerMillion: ptr(usd("0.005"))}
	opus := Price{InputPerMillion: usd("15"), OutputPerMillion: usd("75"), CachedPerMillion: ptr(usd("1.50"))}
	noCache := Price{InputPerMillion: usd("2"), OutputPerMillion: usd("6")}
	tests := []struct {
		name  string
		price Price
		usage Usage
		want  string
	}{
		{"zero tokens cost nothing", gpt5nano, Usage{}, "0.00"},
		{"one input token at $0.05/M is 50 nano-dollars", gpt5nano, Usage{InputTokens: 1}, "0.00000005"},
		{"one cached token at $0.005/M is 5 nano-dollars", gpt5nano, Usage{CachedInputTokens: 1}, "0.000000005"},
		{"one million output tokens cost the list price", gpt5nano, Usage{OutputTokens: 1_000_000}, "0.40"},
		{"mixed usage sums exactly", opus, Usage{InputTokens: 1200, OutputTokens: 350, CachedInputTokens: 5000}, "0.05175"},
		{"a fraction of a nano-dollar rounds up", Price{InputPerMillion: 1}, Usage{InputTokens: 1}, "0.000000001"},
		{"fractions round up once for the whole event, not per part", Price{InputPerMillion: 1, OutputPerMillion: 1, CachedPerMillion: ptr(1)},
			Usage{InputTokens: 400_000, OutputTokens: 400_000, CachedInputTokens: 400_000}, "0.000000002"},
		{"exact multiples do not round", Price{InputPerMillion: 3}, Usage{InputTokens: 2_000_000}, "0.000000006"},
		{"cached input without its own price is priced as input", noCache, Usage{CachedInputTokens: 500_000}, "1.00"},
		{"the most tokens an event may carry, at $75/M", opus, Usage{OutputTokens: MaxTokensPerEvent}, "7500.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.price.Cost(tt.usage)
			if err != nil {
				t.Fatalf("Cost: %v", err)
			}
			if got.String() != tt.want {
				t.Fatalf("Cost = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPriceCost_RejectsOutOfRangeCounts(t *testing.T) {
	p := Price{InputPerMillion: usd("1")}
	for _, u := range []Usage{{InputTokens: -1}, {OutputTokens: MaxTokensPerEvent + 1}} {
		if _, err := p.Cost(u); err == nil {
			t.Errorf("Cost(%+v) succeeded, want an error", u)
		}
	}
}

func TestCatalogPriceAt_UsesTheVersionInForceAtTheEvent(t *testing.T) {
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	jun := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	c := &Catalog{byModel: map[string][]Price{
		"m": {{Model: "m", InputPerMillion: usd("1"), EffectiveFrom: jan}, {Model: "m", InputPerMillion: usd("2"), EffectiveFrom: jun}},
	}}
	tests := []struct {
		name string
		at   time.Time
		want string
		ok   bool
	}{
		{"before the first version there is no price", jan.Add(-time.Nanosecond), "", false},
		{"at the first version's start", jan, "1.00", true},
		{"just before the change keeps the old price", jun.Add(-time.Nanosecond), "1.00", true},
		{"at the change the new price applies", jun, "2.00", true},
		{"long after", jun.AddDate(1, 0, 0), "2.00", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := c.PriceAt("m", tt.at)
			if ok != tt.ok || (ok && p.InputPerMillion.String() != tt.want) {
				t.Fatalf("PriceAt = %v, %v; want %s, %v", p.InputPerMillion, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := c.PriceAt("unknown", jun); ok {
		t.Fatal("an unknown model has a price")
	}
}
