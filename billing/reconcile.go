package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/purchase"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
)

// Discrepancy is one difference between our purchases and the processor.
type Discrepancy struct {
	PurchaseID uuid.UUID
	IntentID   string
	// Kind: "charged_not_credited" (the processor took the money, we did not
	// credit it) or "credited_not_charged" (we credited, the processor has no
	// succeeded charge).
	Kind   string
	Amount money.Amount
	Fixed  bool
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
	return out, nil
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
