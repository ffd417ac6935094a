package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/airouter/credits/billing"
)

func TestReconcile_FindsAndRepairsBothKindsOfDifference(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	profile := billing.BillingProfile{Name: "A", Address: billing.Address{Line1: "x", City: "y", Country: "DE"}}
	if _, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_visa", Billing: profile}); err != nil {
		t.Fatal(err)
	}
	// 1. Charged but never credited: the charge succeeds, then the process dies.
	billing.SetAfterChargeHook(f.svc, func(billing.Purchase) error { return context.Canceled })
	if _, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "20"), Billing: profile}); err == nil {
		t.Fatal("the crashed purchase reported success")
	}
	billing.SetAfterChargeHook(f.svc, nil)
	// 2. Credited without a charge: a purchase marked succeeded by hand.
	if _, err := f.db.SQL.Exec(`INSERT INTO purchases (id, workspace_id, kind, status, amount, idempotency_key, created_at, updated_at)
		VALUES (gen_random_uuid(), $1, 'purchase', 'succeeded', 5000000000, 'forged', now(), now())`, ws); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Grant(ctx, ws, usd(t, "5"), "forged credit", "forged"); err != nil {
		t.Fatal(err)
	}
	since, until := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	report, err := f.svc.Reconcile(ctx, since, until, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, d := range report {
		kinds[d.Kind]++
		if d.Fixed {
			t.Fatal("a dry run fixed something")
		}
	}
	if kinds["charged_not_credited"] != 1 || kinds["credited_not_charged"] != 1 || len(report) != 2 {
		t.Fatalf("report %+v", report)
	}
	if got := f.assertInvariant(t, ws); got.String() != "15.00" {
		t.Fatalf("before fix: %s", got)
	}
	if _, err := f.svc.Reconcile(ctx, since, until, true); err != nil {
		t.Fatal(err)
	}
	// +20 credited for the real charge, −5 reversed for the forged one.
	if got := f.assertInvariant(t, ws); got.String() != "30.00" {
		t.Fatalf("after fix: %s, want 30.00", got)
	}
	again, err := f.svc.Reconcile(ctx, since, until, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.assertInvariant(t, ws); got.String() != "30.00" || f.sandbox.Charges() != 2 {
		t.Fatalf("a second fix changed things: %s, charges %d, report %+v", got, f.sandbox.Charges(), again)
	}
}
