package billing_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
)

// Random usage batches, grants, purchases, holds placed, settled and
// expired, operator refunds, refund and dispute webhooks (duplicated, out
// of order, above the purchase), at extreme values (0, 1, the largest each
// bound allows), over a few workspaces; after every step: balance == Σ
// ledger, held == Σ active holds, no usage or tracing entry credits,
// rollups == event costs == the ledger's usage and tracing deductions, and
// no purchase gives back more than it took (Σ its credit notes, refund
// and unreturned dispute entries ≤ its amount).
func TestLedger_RandomOperationsAtExtremeValuesKeepTheInvariants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	clock := newTestClock()
	svc := billing.New(f.db.SQL, f.sandbox, billing.Config{Clock: clock.Now, MaxPurchase: money.Dollars(10_000)}, f.log())
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("seed %d", seed)
	var wss []uuid.UUID
	for i := 0; i < 3; i++ {
		ws := f.workspace(t, []string{"free", "pro", "enterprise"}[i], "0")
		if _, err := svc.AddPaymentMethod(ctx, ws, "pm_card_visa", true); err != nil {
			t.Fatal(err)
		}
		wss = append(wss, ws)
	}
	extreme := func(max int64) int64 {
		switch rng.Intn(5) {
		case 0:
			return 0
		case 1:
			return 1
		case 2:
			return max
		case 3:
			return max - 1
		}
		return rng.Int63n(max + 1)
	}
	models := []string{"gpt-4o", "claude-opus-4-1", "gpt-5-nano", ""}
	seq := 0
	var bought []billing.Purchase
	for step := 0; step < 200; step++ {
		ws := wss[rng.Intn(len(wss))]
		op := rng.Intn(9)
		if op >= 6 && len(bought) == 0 {
			op = 3
		}
		switch op {
		case 0, 1: // a usage batch, some events settling holds
			var events []billing.UsageEvent
			for i := rng.Intn(20) + 1; i > 0; i-- {
				seq++
				ev := billing.UsageEvent{ID: fmt.Sprint("e", seq), WorkspaceID: wss[rng.Intn(len(wss))].String(), Model: models[rng.Intn(len(models))],
					InputTokens: extreme(billing.MaxTokensPerEvent), OutputTokens: extreme(billing.MaxTokensPerEvent / 1000),
					CachedInputTokens: extreme(billing.MaxTokensPerEvent), Traces: extreme(billing.MaxTracesPerEvent), OccurredAt: clock.Now()}
				if rng.Intn(4) == 0 {
					ev.RequestID = fmt.Sprint("r", rng.Intn(seq+1))
				}
				if rng.Intn(10) == 0 { // a replay
					ev.ID = fmt.Sprint("e", rng.Intn(seq)+1)
				}
				events = append(events, ev)
			}
			if _, err := svc.IngestUsage(ctx, events); err != nil {
				t.Fatalf("step %d usage: %v", step, err)
			}
		case 2: // a grant at an extreme amount, either sign
			amount := money.Amount(extreme(int64(money.Dollars(1_000_000))))
			if rng.Intn(2) == 0 {
				amount = -amount
			}
			if amount == 0 {
				amount = 1
			}
			if _, err := svc.Grant(ctx, ws, amount, "property", ""); err != nil && billing.CodeOf(err) != billing.CodeBadUserInput {
				t.Fatalf("step %d grant %s: %v", step, amount, err)
			}
		case 3: // a purchase at the bounds
			amount := []money.Amount{money.Dollars(5), money.Dollars(10_000), money.Dollars(5) - money.Cent, money.Dollars(10_000) + money.Cent}[rng.Intn(4)]
			res, err := svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: amount, Billing: testProfile})
			if (err == nil) != (amount >= money.Dollars(5) && amount <= money.Dollars(10_000)) {
				t.Fatalf("step %d purchase %s: %v", step, amount, err)
			}
			if err == nil {
				bought = append(bought, res.Purchase)
			}
		case 4: // a hold
			seq++
			_, _, _, err := svc.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: ws, Model: models[rng.Intn(3)], RequestID: fmt.Sprint("r", seq),
				MaxInputTokens: extreme(billing.MaxTokensPerEvent), MaxOutputTokens: extreme(billing.MaxTokensPerEvent)})
			if err != nil {
				t.Fatalf("step %d hold: %v", step, err)
			}
		case 6: // an operator refund: all that is left, a cent, or more than is left
			p := bought[rng.Intn(len(bought))]
			req := billing.RefundRequest{PurchaseID: p.ID, Reason: "property", AllowNegative: rng.Intn(2) == 0}
			switch rng.Intn(3) {
			case 1:
				req.Amount = ptr(money.Cent)
			case 2:
				req.Amount = ptr(p.Amount + money.Cent)
			}
			if _, err := svc.RefundPurchase(ctx, req); err != nil && billing.CodeOf(err) != billing.CodeBadUserInput &&
				billing.CodeOf(err) != billing.CodeInsufficientCredits && billing.CodeOf(err) != billing.CodePaymentFailed {
				t.Fatalf("step %d refund: %v", step, err)
			}
		case 7: // charge.refunded: a cumulative amount from 0 to above the purchase, maybe stale or repeated
			p := bought[rng.Intn(len(bought))]
			cents, _ := p.Amount.CentsExact()
			refunded := extreme(cents + 1)
			if err := svc.ApplyChargeRefunded(ctx, billing.ChargeRefunded{ChargeID: "ch_" + p.ID.String(), IntentID: p.PaymentIntentID,
				AmountRefundedCents: refunded}); err != nil {
				t.Fatalf("step %d charge.refunded %d: %v", step, refunded, err)
			}
		case 8: // a dispute event: one of two per purchase, any status, any order
			p := bought[rng.Intn(len(bought))]
			cents, _ := p.Amount.CentsExact()
			status := []string{"needs_response", "under_review", "won", "lost", "warning_needs_response"}[rng.Intn(5)]
			if err := svc.ApplyDispute(ctx, billing.DisputeUpdate{ID: fmt.Sprintf("dp_%s_%d", p.ID, rng.Intn(2)), IntentID: p.PaymentIntentID,
				AmountCents: extreme(cents), Status: status, Reason: "fraudulent"}); err != nil {
				t.Fatalf("step %d dispute %s: %v", step, status, err)
			}
		case 5: // time passes: holds expire
			clock.Advance(time.Duration(rng.Intn(15)) * time.Minute)
			if _, err := svc.ExpireHolds(ctx); err != nil {
				t.Fatalf("step %d expire: %v", step, err)
			}
		}
		for _, w := range wss {
			f.assertInvariant(t, w)
			f.assertUsageEntriesNeverCredit(t, w)
			var held, active int64
			if err := f.db.SQL.QueryRow(`SELECT held, (SELECT COALESCE(sum(amount), 0) FROM holds WHERE workspace_id = $1 AND status = 'active')
				FROM workspaces WHERE id = $1`, w).Scan(&held, &active); err != nil {
				t.Fatal(err)
			}
			if held != active {
				t.Fatalf("step %d (op %d): held %d != active holds %d", step, op, held, active)
			}
		}
		var over int
		if err := f.db.SQL.QueryRow(`SELECT count(*) FROM purchases p WHERE
			(SELECT COALESCE(sum(amount), 0) FROM credit_notes c WHERE c.workspace_id = p.workspace_id AND c.purchase_id = p.id) > p.amount
			OR (SELECT COALESCE(sum(amount), 0) FROM refunds r WHERE r.workspace_id = p.workspace_id AND r.purchase_id = p.id AND r.status <> 'failed')
			 + (SELECT COALESCE(sum(amount), 0) FROM disputes d WHERE d.workspace_id = p.workspace_id AND d.purchase_id = p.id AND d.status <> 'won') > p.amount`).
			Scan(&over); err != nil {
			t.Fatal(err)
		}
		if over != 0 {
			t.Fatalf("step %d (op %d): %d purchases gave back more than they took", step, op, over)
		}
	}
}
