package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/purchase"
	"github.com/airouter/credits/ent/refund"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
)

// Discrepancy is one difference between our purchases and the processor.
type Discrepancy struct {
	PurchaseID uuid.UUID
	IntentID   string
	// Kind: "charged_not_credited" (the processor took the money, we did not
	// credit it), "credited_not_charged" (we credited, the processor has no
	// succeeded charge), "refunded_not_recorded" (the processor refunded,
	// we did not withdraw the credits), "recorded_not_refunded" (we
	// withdrew credits for a refund the processor does not have, or has as
	// failed) or "refund_pending" (an operator's refund whose answer never
	// came, and that the processor does not list).
	Kind   string
	Amount money.Amount
	// RefundID is the processor's refund id, for the refund kinds.
	RefundID string `json:",omitempty"`
	Fixed    bool
}

// ReconcileMargin widens the processor's side of a reconciliation window
// on both ends: our purchase row and its PaymentIntent are created by two
// clocks a request apart, so a purchase near a window's edge may have its
// intent just across it.
const ReconcileMargin = time.Hour

// Reconcile compares our purchases created in [since, until) with the
// processor's PaymentIntents, matched by PaymentIntent id (or by the
// purchase id in the intent's metadata, for a purchase that crashed before
// recording its intent), never by comparing two clocks. The processor side
// is listed over the window widened by ReconcileMargin, and a credit with
// no matching succeeded intent in that list is only reported after its
// intent has been looked up by id. With fix, a charge not credited is
// credited (ledger, invoice, once) and a credit without a charge is
// reversed by a ledger adjustment keyed by the purchase (so a second run
// changes nothing).
func (s *Service) Reconcile(ctx context.Context, since, until time.Time, fix bool) ([]Discrepancy, error) {
	charges, err := s.payments.ListCharges(ctx, since.Add(-ReconcileMargin), until.Add(ReconcileMargin))
	if err != nil {
		return nil, fmt.Errorf("list processor charges: %w", err)
	}
	rows, err := s.ent.Purchase.Query().Where(purchase.CreatedAtGTE(since), purchase.CreatedAtLT(until)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list purchases: %w", err)
	}
	ours := make(map[uuid.UUID]*ent.Purchase, len(rows))
	byIntent := make(map[string]*ent.Purchase, len(rows))
	for _, p := range rows {
		ours[p.ID] = p
		if p.PaymentIntentID != nil {
			byIntent[*p.PaymentIntentID] = p
		}
	}

	var out []Discrepancy
	matched := map[uuid.UUID]bool{} // our purchases with a succeeded intent
	for _, c := range charges {
		p, err := s.purchaseOfCharge(ctx, c, byIntent)
		if err != nil {
			return out, err
		}
		if p == nil || c.Status != payments.StatusSucceeded {
			continue // not ours, or nothing was taken
		}
		matched[p.ID] = true
		if p.Status == StatusSucceeded {
			continue
		}
		d := Discrepancy{PurchaseID: p.ID, IntentID: c.IntentID, Kind: "charged_not_credited", Amount: money.Cents(c.AmountCents)}
		if fix {
			if err := s.recordOutcome(ctx, p.ID, c.IntentID, ChargeOutcome{Result: ChargeSucceeded}); err != nil {
				return out, fmt.Errorf("credit %s: %w", p.ID, err)
			}
			d.Fixed = true
		}
		out = append(out, d)
	}
	for id, p := range ours {
		if p.Status != StatusSucceeded || matched[id] {
			continue
		}
		intent := ""
		if p.PaymentIntentID != nil {
			intent = *p.PaymentIntentID
			c, err := s.payments.GetCharge(ctx, intent)
			if err == nil && c.Status == payments.StatusSucceeded {
				continue // outside the listed window after all: charged
			}
			if err != nil && !isProcessorNotFound(err) {
				return out, fmt.Errorf("look up intent %s: %w", intent, err)
			}
		}
		d := Discrepancy{PurchaseID: id, IntentID: intent, Kind: "credited_not_charged", Amount: money.Amount(p.Amount)}
		if fix {
			err := s.inTx(ctx, func(tx *ledger.Tx) error {
				_, _, err := ledger.Apply(ctx, tx, s.now(), []ledger.Change{{WorkspaceID: p.WorkspaceID, Kind: KindAdjustment, Amount: -money.Amount(p.Amount),
					Reference: "reconcile-" + id.String(), Description: "reversal: no succeeded charge at the processor"}})
				return err
			})
			if err != nil {
				return out, fmt.Errorf("reverse %s: %w", id, err)
			}
			d.Fixed = true
		}
		out = append(out, d)
	}
	refunds, err := s.reconcileRefunds(ctx, since, until, fix)
	return append(out, refunds...), err
}

// reconcileRefunds compares our refunds recorded in [since, until) with
// the processor's refunds of that window (widened by ReconcileMargin),
// matched by the processor's refund id, or, for an operator refund whose
// answer was lost, by the refund_id metadata we sent with it.
//
// A processor refund of one of our purchases that no refund of ours
// matches is refunded_not_recorded, unless our refunds of that purchase
// already add up to the processor's (a webhook without the refund list
// records the cumulative amount under the charge's id, not each refund's);
// --fix records it as its webhook would have (ledger entry, credit note,
// once) and completes a matching pending operator refund. A refund we
// recorded under a processor id the processor does not know, or has as
// failed, is recorded_not_refunded, and an operator refund still pending
// and unknown to the processor is refund_pending: both are reported, not
// fixed (an operator decides: a grant gives credits back, running the
// refund command again finishes a pending refund).
func (s *Service) reconcileRefunds(ctx context.Context, since, until time.Time, fix bool) ([]Discrepancy, error) {
	listed, err := s.payments.ListRefunds(ctx, since.Add(-ReconcileMargin), until.Add(ReconcileMargin))
	if err != nil {
		return nil, fmt.Errorf("list processor refunds: %w", err)
	}
	ours, err := s.ent.Refund.Query().Where(refund.CreatedAtGTE(since), refund.CreatedAtLT(until)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	ids := make([]string, 0, len(listed))
	for _, r := range listed {
		ids = append(ids, r.ID)
	}
	// Our rows for the listed refunds, wherever their creation falls.
	known, err := s.ent.Refund.Query().Where(refund.ProcessorIDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("find refunds: %w", err)
	}
	byProcessor := map[string]*ent.Refund{}
	for _, r := range known {
		byProcessor[*r.ProcessorID] = r
	}
	listedIDs, matchedOurs := map[string]payments.Refund{}, map[uuid.UUID]bool{}
	processorTotal := map[string]int64{} // intent → cents refunded in the listed window
	for _, r := range listed {
		listedIDs[r.ID] = r
		if r.Status != payments.RefundFailed {
			processorTotal[r.IntentID] += r.AmountCents
		}
	}

	var out []Discrepancy
	for _, r := range listed {
		if r.Status == payments.RefundFailed {
			continue
		}
		if row, ok := byProcessor[r.ID]; ok {
			matchedOurs[row.ID] = true
			continue
		}
		ourID, _ := uuid.Parse(r.Metadata["refund_id"])
		purchaseID, err := s.PurchaseIDForIntent(ctx, r.IntentID, r.Metadata)
		if errors.Is(err, ErrNotOurs) {
			continue
		}
		if err != nil {
			return out, err
		}
		pending, err := s.ent.Refund.Query().Where(refund.ID(ourID), refund.PurchaseID(purchaseID), refund.StatusEQ(RefundPending)).Exist(ctx)
		if err != nil {
			return out, fmt.Errorf("find refund %s: %w", ourID, err)
		}
		if !pending {
			recorded, err := s.recordedRefundCents(ctx, purchaseID)
			if err != nil {
				return out, err
			}
			if recorded >= processorTotal[r.IntentID] {
				continue // covered by a cumulative record
			}
		}
		matchedOurs[ourID] = pending
		d := Discrepancy{PurchaseID: purchaseID, IntentID: r.IntentID, Kind: "refunded_not_recorded", Amount: money.Cents(r.AmountCents), RefundID: r.ID}
		if fix {
			recorded, err := s.recordedRefundCents(ctx, purchaseID)
			if err != nil {
				return out, err
			}
			target := recorded + r.AmountCents
			if pending {
				target = recorded // the pending refund counts already
			}
			if err := s.recordProcessorRefunds(ctx, purchaseID, []payments.Refund{r}, target, r.ID); err != nil {
				return out, fmt.Errorf("record refund %s: %w", r.ID, err)
			}
			d.Fixed = true
		}
		out = append(out, d)
	}
	for _, row := range ours {
		if matchedOurs[row.ID] {
			continue
		}
		intent := ""
		if p, err := s.ent.Purchase.Get(ctx, row.PurchaseID); err == nil && p.PaymentIntentID != nil {
			intent = *p.PaymentIntentID
		}
		switch {
		case row.Status == RefundPending:
			out = append(out, Discrepancy{PurchaseID: row.PurchaseID, IntentID: intent, Kind: "refund_pending", Amount: money.Amount(row.Amount)})
		case row.Status == RefundSucceeded && strings.HasPrefix(*row.ProcessorID, "re_"):
			if r, ok := listedIDs[*row.ProcessorID]; ok && r.Status != payments.RefundFailed {
				continue
			}
			r, err := s.payments.GetRefund(ctx, *row.ProcessorID)
			if err == nil && r.Status != payments.RefundFailed {
				continue // outside the listed window after all
			}
			if err != nil && !isProcessorNotFound(err) {
				return out, fmt.Errorf("look up refund %s: %w", *row.ProcessorID, err)
			}
			out = append(out, Discrepancy{PurchaseID: row.PurchaseID, IntentID: intent, Kind: "recorded_not_refunded",
				Amount: money.Amount(row.Amount), RefundID: *row.ProcessorID})
		}
	}
	return out, nil
}

// recordedRefundCents is what our refunds of a purchase add up to (made or
// on their way), in cents.
func (s *Service) recordedRefundCents(ctx context.Context, purchaseID uuid.UUID) (int64, error) {
	rows, err := s.ent.Refund.Query().Where(refund.PurchaseID(purchaseID), refund.StatusNEQ(RefundFailed)).All(ctx)
	if err != nil {
		return 0, fmt.Errorf("read refunds: %w", err)
	}
	var sum money.Amount
	for _, r := range rows {
		sum += money.Amount(r.Amount)
	}
	cents, _ := sum.CentsExact()
	return cents, nil
}

// purchaseOfCharge finds the purchase a processor charge belongs to: by its
// intent id, else by the purchase id in its metadata; nil when not ours.
func (s *Service) purchaseOfCharge(ctx context.Context, c payments.Charge, byIntent map[string]*ent.Purchase) (*ent.Purchase, error) {
	if p, ok := byIntent[c.IntentID]; ok {
		return p, nil
	}
	q := s.ent.Purchase.Query()
	if id, err := uuid.Parse(c.Metadata["purchase_id"]); err == nil {
		q = q.Where(purchase.Or(purchase.PaymentIntentID(c.IntentID), purchase.ID(id)))
	} else {
		q = q.Where(purchase.PaymentIntentID(c.IntentID))
	}
	p, err := q.First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find purchase of intent %s: %w", c.IntentID, err)
	}
	return p, nil
}

func isProcessorNotFound(err error) bool { return errors.Is(err, payments.ErrNotFound) }
