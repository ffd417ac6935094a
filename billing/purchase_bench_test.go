package billing_test

import (
	"context"
	"testing"

	"github.com/airouter/credits/billing"
)

// BenchmarkAddCredits is one customer buying credits with a saved card in
// the sandbox, one purchase after another: ns/op is a purchase's latency
// (charge, credit, invoice), mostly its round trips to Postgres.
func BenchmarkAddCredits(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	ws := f.workspace(b, "free", "0")
	profile := billing.BillingProfile{Name: "Bench GmbH", Address: billing.Address{Line1: "Hauptstr. 1", City: "Berlin", Country: "DE"}}
	if _, err := f.svc.AddPaymentMethod(ctx, ws, "pm_card_visa", true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(b, "10"), Billing: profile}); err != nil {
			b.Fatal(err)
		}
	}
}
