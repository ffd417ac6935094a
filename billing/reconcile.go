package billing

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"

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

// Reconcile compares our succeeded purchases created in [since, until)
// with the processor's PaymentIntents of that window. With fix, a charge
// not credited is credited (PaymentSucceeded: ledger, invoice, once) and a
// credit without a charge is reversed by a ledger adjustment keyed by the
// purchase (so a second run changes nothing).
func (s *Service) Reconcile(ctx context.Context, since, until time.Time, fix bool) ([]Discrepancy, error) {
	charges, err := s.payments.ListCharges(ctx, since, until)
	if err != nil {
		return nil, fmt.Errorf("list processor charges: %w", err)
	}
	succeeded := map[uuid.UUID]payments.Charge{}
	for _, c := range charges {
		id, err := uuid.Parse(c.Metadata["purchase_id"])
		if err != nil || c.Status != payments.StatusSucceeded {
			continue
		}
		succeeded[id] = c
	}
	ours := map[uuid.UUID]Purchase{}
	rows, err := s.db.QueryContext(ctx, `SELECT `+purchaseColumns+` FROM purchases p
		LEFT JOIN invoices i ON i.workspace_id = p.workspace_id AND i.purchase_id = p.id
		WHERE p.created_at >= $1 AND p.created_at < $2`, since, until)
	if err != nil {
		return nil, fmt.Errorf("list purchases: %w", err)
	}
	for rows.Next() {
		p, err := scanPurchase(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ours[p.ID] = p
	}
	rows.Close()

	var out []Discrepancy
	for id, c := range succeeded {
		p, known := ours[id]
		if known && p.Status == StatusSucceeded {
			continue
		}
		d := Discrepancy{PurchaseID: id, IntentID: c.IntentID, Kind: "charged_not_credited", Amount: money.Cents(c.AmountCents)}
		if fix && known {
			if err := s.PaymentSucceeded(ctx, id, c.IntentID); err != nil {
				return out, fmt.Errorf("credit %s: %w", id, err)
			}
			d.Fixed = true
		}
		out = append(out, d)
	}
	for id, p := range ours {
		if p.Status != StatusSucceeded {
			continue
		}
		if _, ok := succeeded[id]; ok {
			continue
		}
		d := Discrepancy{PurchaseID: id, IntentID: p.PaymentIntentID, Kind: "credited_not_charged", Amount: p.Amount}
		if fix {
			err := s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
				b, applied, err := s.post(ctx, tx, Entry{WorkspaceID: p.WorkspaceID, Kind: KindAdjustment, Amount: -p.Amount,
					Reference: "reconcile-" + id.String(), Description: "reversal: no succeeded charge at the processor"})
				if err != nil || !applied {
					return nil, err
				}
				return []Balance{b}, nil
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
