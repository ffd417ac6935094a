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

// Issue 14.2: a purchase row created just before a window's end whose
// PaymentIntent was created just after it (ordinary latency, two clocks)
// was reported credited_not_charged and reversed by --fix. Matched by
// intent id, the two adjacent windows find nothing to fix.
func TestReconcile_AdjacentWindowsAroundAPurchaseStraddlingTheBoundaryFindNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	boundary := time.Now().UTC().Truncate(time.Second).Add(-100 * time.Millisecond)
	clock := newTestClockAt(boundary.Add(-200 * time.Millisecond)) // our row: 200 ms before the boundary
	svc := billing.New(f.db.SQL, f.sandbox, billing.Config{Clock: clock.Now}, f.log())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ws := f.workspace(t, "free", "0")
	time.Sleep(time.Until(boundary.Add(150 * time.Millisecond))) // the sandbox's intent: after it
	if _, err := svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_visa", Billing: testProfile}); err != nil {
		t.Fatal(err)
	}
	for _, w := range [][2]time.Time{{boundary.Add(-time.Hour), boundary}, {boundary, boundary.Add(time.Hour)}} {
		report, err := svc.Reconcile(ctx, w[0], w[1], true)
		if err != nil || len(report) != 0 {
			t.Fatalf("window %v: %+v %v", w, report, err)
		}
	}
	if got := f.assertInvariant(t, ws); got.String() != "10.00" {
		t.Fatalf("balance %s after reconciling, want 10.00", got)
	}
}
