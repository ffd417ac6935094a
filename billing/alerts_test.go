package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/ledger"
)

// alertsOf builds the alerts service over the fixture's database.
func (f *fixture) alerts(t testing.TB) *alerts.Service {
	t.Helper()
	a, err := alerts.New(f.svc.Ledger().Ent(), alerts.Config{PublicURL: "https://credits.example"}, f.log())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) setThreshold(t testing.TB, ws uuid.UUID, threshold string) {
	t.Helper()
	th := usd(t, threshold)
	if _, err := f.alerts(t).SetNotificationSettings(context.Background(), ws, alerts.NotificationSettings{LowBalanceThreshold: &th}); err != nil {
		t.Fatal(err)
	}
}

// alertEvents returns the workspace's recorded events of one type, oldest first.
func (f *fixture) alertEvents(t testing.TB, ws uuid.UUID, typ alerts.Type) []alerts.Data {
	t.Helper()
	rows, err := f.db.SQL.Query(`SELECT data FROM alert_events WHERE workspace_id = $1 AND type = $2 ORDER BY created_at, id`, ws, string(typ))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []alerts.Data
	for rows.Next() {
		var raw []byte
		var d alerts.Data
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// gpt-4o output tokens cost $10 per 1M: n cents are 1,000·n tokens.
func spend(ws uuid.UUID, id string, cents int64) billing.UsageEvent {
	return event(ws, id, "gpt-4o", 0, cents*1000)
}

func TestAlerts_FiftyConcurrentDeductionsCrossingTheThresholdRecordOneBalanceLow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "10")
	f.setThreshold(t, ws, "5")

	// Usage reports arriving together may share a group commit; operator
	// debits are a transaction each. Either way: one crossing, one event.
	debits := f.workspace(t, "enterprise", "10")
	f.setThreshold(t, debits, "5")
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{spend(ws, fmt.Sprint("d", i), 15)}); err != nil {
				t.Error(err)
			}
		}(i)
		go func(i int) {
			defer wg.Done()
			if _, err := f.svc.Grant(ctx, debits, -usd(t, "0.15"), "debit", fmt.Sprint("debit-", i)); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if low := f.alertEvents(t, debits, alerts.BalanceLow); len(low) != 1 || f.assertInvariant(t, debits).String() != "2.50" {
		t.Fatalf("50 concurrent debit transactions: %d balance.low events, want 1", len(low))
	}
	if got := f.assertInvariant(t, ws).String(); got != "2.50" {
		t.Fatalf("balance %s, want 10 − 50 × 0.15 = 2.50", got)
	}
	low := f.alertEvents(t, ws, alerts.BalanceLow)
	if len(low) != 1 {
		t.Fatalf("%d balance.low events for one crossing, want 1", len(low))
	}
	// Reports arriving together commit as one group: the balance is the one
	// the crossing transaction left, anywhere from just below 5.00 to 2.50.
	if low[0].Threshold.String() != "5.00" || *low[0].Balance >= usd(t, "5") || *low[0].Balance < usd(t, "2.50") {
		t.Fatalf("balance.low data %+v: want the balance below 5.00 and the threshold", low[0])
	}
	if n := len(f.alertEvents(t, ws, alerts.BalanceDepleted)); n != 0 {
		t.Fatalf("%d balance.depleted events above zero", n)
	}

	// Deductions further below the threshold raise nothing; a credit back
	// above it re-arms, and the next crossing is a second event.
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{spend(ws, "below", 100)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Grant(ctx, ws, usd(t, "10"), "top up", ""); err != nil { // 11.50
		t.Fatal(err)
	}
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{spend(ws, "again", 700)}); err != nil { // 4.50
		t.Fatal(err)
	}
	if n := len(f.alertEvents(t, ws, alerts.BalanceLow)); n != 2 {
		t.Fatalf("%d balance.low events after re-arming and crossing again, want 2", n)
	}
}

func TestAlerts_BalanceDepletedOncePerCrossingOfZero(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "1")
	// No threshold set: no balance.low, but depletion is always told.
	for i, cents := range []int64{60, 60, 30} { // 0.40, −0.20, −0.50
		if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{spend(ws, fmt.Sprint("z", i), cents)}); err != nil {
			t.Fatal(err)
		}
	}
	depleted := f.alertEvents(t, ws, alerts.BalanceDepleted)
	if len(depleted) != 1 || depleted[0].Balance.String() != "-0.20" {
		t.Fatalf("balance.depleted events %+v, want one at -0.20", depleted)
	}
	if n := len(f.alertEvents(t, ws, alerts.BalanceLow)); n != 0 {
		t.Fatalf("%d balance.low events without a threshold", n)
	}
	// Exactly zero is blocked too; unblocked then blocked again is a new event.
	if _, err := f.svc.Grant(ctx, ws, usd(t, "1.50"), "back", ""); err != nil { // 1.00
		t.Fatal(err)
	}
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{spend(ws, "zero", 100)}); err != nil { // 0.00
		t.Fatal(err)
	}
	if n := len(f.alertEvents(t, ws, alerts.BalanceDepleted)); n != 2 {
		t.Fatalf("%d balance.depleted events, want 2", n)
	}
}

func TestAlerts_ARolledBackDeductionRecordsNoAlert(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "1")
	f.setThreshold(t, ws, "0.50")
	// The hooks run inside the deduction's transaction; when it rolls back
	// (here: the caller fails after Apply), so do the alerts it recorded.
	failed := errors.New("fails after the deduction")
	err := f.svc.Ledger().InTx(ctx, func(tx *ledger.Tx) error {
		if _, _, err := ledger.Apply(ctx, tx, f.svc.Now(), []ledger.Change{{WorkspaceID: ws, Kind: billing.KindAdjustment,
			Amount: -usd(t, "2"), Reference: "rolled-back"}}); err != nil {
			return err
		}
		if n := f.countIn(t, tx, ws); n != 2 {
			t.Errorf("%d alerts recorded inside the transaction, want balance.low and balance.depleted", n)
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM alert_events WHERE workspace_id = $1`, ws); n != 0 {
		t.Fatalf("%d alerts recorded for a change that never happened", n)
	}
}

func (f *fixture) countIn(t *testing.T, tx *ledger.Tx, ws uuid.UUID) int {
	t.Helper()
	var n int
	if err := tx.QueryRow(context.Background(), `SELECT count(*) FROM alert_events WHERE workspace_id = $1`, []any{ws}, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAlerts_PurchaseSucceededLinksItsInvoiceOnceDispatched(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	res, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "25"), NewPaymentMethod: "pm_card_visa", Billing: testProfile})
	if err != nil {
		t.Fatal(err)
	}
	// A replay of the same payment outcome credits nothing and records nothing.
	if err := f.svc.ApplyPaymentOutcome(ctx, res.Purchase.PaymentIntentID, nil, billing.ChargeOutcome{Result: billing.ChargeSucceeded}); err != nil {
		t.Fatal(err)
	}
	got := f.alertEvents(t, ws, alerts.PurchaseSucceeded)
	if len(got) != 1 || got[0].TransactionID != "txn_"+res.Purchase.ID.String() || got[0].Amount.String() != "25.00" || got[0].TransactionType != "PURCHASE" {
		t.Fatalf("purchase.succeeded events %+v", got)
	}
	if got[0].Invoice != nil {
		t.Fatal("the invoice is issued after the ledger hook runs; it is linked when dispatched")
	}
	a := f.alerts(t)
	if _, err := a.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.GetInvoice(ctx, ws, *res.Purchase.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	got = f.alertEvents(t, ws, alerts.PurchaseSucceeded)
	if got[0].Invoice == nil || got[0].Invoice.Number != inv.Number ||
		got[0].Invoice.DownloadURL != "https://credits.example/invoices/"+inv.ID.String()+".pdf" || got[0].WorkspaceName != "test" {
		t.Fatalf("dispatched purchase.succeeded data %+v (invoice %s)", got[0], inv.Number)
	}
}

func TestAlerts_AutoTopUpDeclinesRecordFailedThenPausedWithTheIssuersReason(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	clock := newTestClock()
	svc := billing.New(f.db.SQL, f.sandbox, billing.Config{Clock: clock.Now, TopUps: billing.TopUpPolicy{MaxDeclines: 3, Backoff: time.Hour}}, f.log())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ws := f.workspace(t, "free", "10")
	f.card(t, ws, "pm_card_chargeDeclined")
	f.enable(t, svc, ws, "50", "100")
	for i := 0; i < 3; i++ {
		drain(t, svc)
		clock.Advance(4 * time.Hour)
	}
	failed := f.alertEvents(t, ws, alerts.AutoTopUpFailed)
	if len(failed) != 2 {
		t.Fatalf("%d auto_top_up.failed events, want one per retried decline (2)", len(failed))
	}
	for i, d := range failed {
		if d.Attempt != i+1 || d.Reason == "" || d.NextAttemptAt == nil || d.Amount.String() != "100.00" {
			t.Fatalf("auto_top_up.failed %d: %+v", i, d)
		}
	}
	paused := f.alertEvents(t, ws, alerts.AutoTopUpPaused)
	if len(paused) != 1 || paused[0].Reason == "" || paused[0].Reason == failed[0].Reason {
		t.Fatalf("auto_top_up.paused events %+v", paused)
	}
	if want := failed[0].Reason; len(paused[0].Reason) < len(want) || paused[0].Reason[len(paused[0].Reason)-len(want):] != want {
		t.Fatalf("paused reason %q does not carry the issuer's %q", paused[0].Reason, want)
	}
}

// A card detached at the processor that was auto top-up's last card
// pauses it: the customer is told, once, however often the webhook comes.
func TestAlerts_LastCardDetachedRecordsPausedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "100")
	card := f.card(t, ws, "pm_card_visa")
	f.enable(t, f.svc, ws, "10", "20")
	for i := 0; i < 3; i++ { // Stripe retries webhooks
		if err := f.svc.PaymentMethodDetached(ctx, card.ProcessorID); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := f.svc.GetAutoTopUp(ctx, ws); a.Status != billing.AutoTopUpPaused {
		t.Fatalf("auto top-up %+v; want paused", a)
	}
	paused := f.alertEvents(t, ws, alerts.AutoTopUpPaused)
	if len(paused) != 1 || !strings.Contains(paused[0].Reason, "no card is left") {
		t.Fatalf("auto_top_up.paused events %+v; want one saying no card is left", paused)
	}
}
