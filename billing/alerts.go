package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
)

// Alerts billing raises, each recorded (alerts.Record) in the transaction
// of the change that caused it, so it is delivered if and only if that
// change commits. Package alerts delivers them; the rules for when a
// balance is low or used up live here.

// lowBalanceCrossed is the one rule for balance.low: the change took the
// balance from at or above the threshold to below it. Ledger changes of a
// workspace are serialised by its row lock, so each crossing is seen by
// exactly one transaction, however many deductions run at once; a credit
// that lifts the balance back to the threshold re-arms it.
func lowBalanceCrossed(before, after, threshold money.Amount) bool {
	return before >= threshold && after < threshold
}

// depleted is the one rule for balance.depleted: the change blocked the
// workspace (see Balance.Blocked).
func depleted(before, after Balance) bool { return !before.Blocked() && after.Blocked() }

// alertsOnChange is the alerts' ledger hook, run in every transaction that
// moves a balance: balance.low and balance.depleted on the crossing,
// purchase.succeeded for a purchase or auto top-up credited. Keys make each
// at most once: a balance version, a purchase id.
func (s *Service) alertsOnChange(ctx context.Context, tx *ledger.Tx, now time.Time, moves []ledger.Move) error {
	var events []alerts.Event
	var dipped []uuid.UUID
	for _, m := range moves {
		ws, after := m.After.WorkspaceID, m.After.Amount
		if m.After.Amount < m.Before.Amount {
			dipped = append(dipped, ws)
		}
		if depleted(m.Before, m.After) {
			events = append(events, alerts.Event{WorkspaceID: ws, Type: alerts.BalanceDepleted, Key: fmt.Sprintf("v%d", m.After.Version),
				Data: alerts.Data{Balance: &after}})
		}
		for _, c := range m.Changes {
			if c.Kind != KindPurchase && c.Kind != KindAutoTopUp {
				continue
			}
			amount, typ := c.Amount, "PURCHASE"
			if c.Kind == KindAutoTopUp {
				typ = "AUTO_TOP_UP"
			}
			// The reference is the purchase id; the transaction id is the API's.
			events = append(events, alerts.Event{WorkspaceID: ws, Type: alerts.PurchaseSucceeded, Key: c.Reference,
				Data: alerts.Data{Amount: &amount, Balance: &after, TransactionID: "txn_" + c.Reference, TransactionType: typ}})
		}
	}
	if len(dipped) > 0 {
		thresholds, err := alerts.LowBalanceThresholds(ctx, tx, dipped)
		if err != nil {
			return err
		}
		for _, m := range moves {
			threshold, ok := thresholds[m.After.WorkspaceID]
			if ok && lowBalanceCrossed(m.Before.Amount, m.After.Amount, threshold) {
				after := m.After.Amount
				events = append(events, alerts.Event{WorkspaceID: m.After.WorkspaceID, Type: alerts.BalanceLow, Key: fmt.Sprintf("v%d", m.After.Version),
					Data: alerts.Data{Balance: &after, Threshold: &threshold}})
			}
		}
	}
	return alerts.Record(ctx, tx, now, events)
}

// alertTopUpDeclined records auto_top_up.failed in the transaction that
// records a declined attempt which will be retried at next (declineTopUp).
func (s *Service) alertTopUpDeclined(ctx context.Context, tx *ledger.Tx, now time.Time, t *ent.TopUp, attempt int, reason string, next time.Time) error {
	amount := money.Amount(t.Amount)
	return alerts.Record(ctx, tx, now, []alerts.Event{{WorkspaceID: t.WorkspaceID, Type: alerts.AutoTopUpFailed,
		Key: fmt.Sprintf("%s-%d", t.ID, attempt), Data: alerts.Data{Amount: &amount, Reason: reason, Attempt: attempt, NextAttemptAt: &next}}})
}

// alertCardRemovedPause records auto_top_up.paused in the transaction that
// pauses auto top-up because its last card was removed (cardRemoved).
func (s *Service) alertCardRemovedPause(ctx context.Context, tx *ledger.Tx, now time.Time, workspaceID, cardID uuid.UUID, reason string) error {
	return alerts.Record(ctx, tx, now, []alerts.Event{{WorkspaceID: workspaceID, Type: alerts.AutoTopUpPaused,
		Key: "card-removed-" + cardID.String(), Data: alerts.Data{Reason: reason}}})
}

// alertTopUpPaused records auto_top_up.paused in the transaction that
// pauses auto top-up (pauseTopUp); after the last declined attempt its
// reason carries the issuer's.
func (s *Service) alertTopUpPaused(ctx context.Context, tx *ledger.Tx, now time.Time, t *ent.TopUp, reason string) error {
	amount := money.Amount(t.Amount)
	return alerts.Record(ctx, tx, now, []alerts.Event{{WorkspaceID: t.WorkspaceID, Type: alerts.AutoTopUpPaused,
		Key: t.ID.String(), Data: alerts.Data{Amount: &amount, Reason: reason}}})
}
