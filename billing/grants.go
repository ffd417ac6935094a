package billing

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/ledgerentry"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
)

// Kind says why a balance changed (the ledger entry's kind).
type Kind = ledger.Kind

const (
	KindPurchase   = ledger.KindPurchase
	KindAutoTopUp  = ledger.KindAutoTopUp
	KindUsage      = ledger.KindUsage
	KindTracing    = ledger.KindTracing
	KindAdjustment = ledger.KindAdjustment
	KindRefund     = ledger.KindRefund
)

// Adjustment is an operator's change to a balance: a grant (positive) or
// a debit (negative), with a reason for the ledger.
type Adjustment struct {
	WorkspaceID uuid.UUID
	Amount      money.Amount
	Reason      string
	// Reference makes it idempotent (empty: a new one). Reusing a
	// reference with the same amount returns the earlier adjustment;
	// with another amount it is refused.
	Reference string
	// ConfirmLarge is required above Config.LargeAdjustment (either sign),
	// against a typo moving thousands of dollars.
	ConfirmLarge bool
}

// AdjustmentResult is what Adjust did.
type AdjustmentResult struct {
	Balance Balance
	// AlreadyApplied: the reference was used before with this amount;
	// nothing changed.
	AlreadyApplied bool
}

// Adjust applies an operator adjustment through the ledger.
func (s *Service) Adjust(ctx context.Context, a Adjustment) (AdjustmentResult, error) {
	if a.Amount == 0 {
		return AdjustmentResult{}, badInput("amount", "amount must not be zero")
	}
	if large := a.Amount > s.cfg.LargeAdjustment || a.Amount < -s.cfg.LargeAdjustment; large && !a.ConfirmLarge {
		return AdjustmentResult{}, badInput("amount", "%s USD is beyond ±%s USD: confirm a large adjustment explicitly", a.Amount, s.cfg.LargeAdjustment)
	}
	a.Reason = strings.TrimSpace(a.Reason)
	if a.Reason == "" {
		return AdjustmentResult{}, badInput("reason", "a reason is required")
	}
	if err := checkText("reason", a.Reason, 500); err != nil {
		return AdjustmentResult{}, err
	}
	if err := checkText("reference", a.Reference, 200); err != nil {
		return AdjustmentResult{}, err
	}
	if a.Reference == "" {
		a.Reference = "grant-" + uuid.NewString()
	}
	var out AdjustmentResult
	err := s.inTx(ctx, func(tx *ledger.Tx) error {
		moves, dups, err := ledger.Apply(ctx, tx, s.now(), []ledger.Change{{WorkspaceID: a.WorkspaceID, Kind: KindAdjustment, Amount: a.Amount,
			Reference: a.Reference, Description: a.Reason}})
		if err != nil {
			return s.ledgerError(err)
		}
		if len(moves) == 1 {
			out.Balance = moves[0].After
			return nil
		}
		// The reference was used before: the same adjustment again is a
		// replay; another amount is a mistake to report, not to swallow.
		earlier, err := tx.LedgerEntry.Query().Where(ledgerentry.WorkspaceID(a.WorkspaceID), ledgerentry.KindEQ(ledgerentry.KindAdjustment),
			ledgerentry.Reference(dups[0].Reference)).Only(ctx)
		if err != nil {
			return fmt.Errorf("read earlier adjustment: %w", err)
		}
		if money.Amount(earlier.Amount) != a.Amount {
			return badInput("reference", "reference %q was already used on %s for an adjustment of %s USD", a.Reference,
				earlier.CreatedAt.UTC().Format(time.RFC3339), money.Amount(earlier.Amount))
		}
		acct, err := ledger.Lock(ctx, tx, []uuid.UUID{a.WorkspaceID})
		out = AdjustmentResult{Balance: acct[a.WorkspaceID].Balance, AlreadyApplied: true}
		return err
	})
	return out, err
}

// Grant credits (or, negative, debits) amount with a reason: Adjust,
// confirmed whatever the size (tests and internal callers).
func (s *Service) Grant(ctx context.Context, workspaceID uuid.UUID, amount money.Amount, reason, reference string) (Balance, error) {
	res, err := s.Adjust(ctx, Adjustment{WorkspaceID: workspaceID, Amount: amount, Reason: reason, Reference: reference, ConfirmLarge: true})
	return res.Balance, err
}

// ledgerError turns the ledger's errors into billing's: an unknown
// workspace is NOT_FOUND; an overflow is bad input (the amounts involved
// are absurd); anything else is internal.
func (s *Service) ledgerError(err error) error {
	switch {
	case err == nil:
		return nil
	case isUnknownWorkspace(err):
		return notFound("workspace")
	case isOverflow(err):
		return badInput("amount", "the amount would take the balance out of range")
	}
	return err
}

// LedgerSum returns the sum of a workspace's ledger entries, which always
// equals its balance (the invariant tests and `credits reconcile` check).
func (s *Service) LedgerSum(ctx context.Context, workspaceID uuid.UUID) (money.Amount, error) {
	var sums []struct {
		Sum sql.NullInt64 `json:"sum"`
	}
	err := s.ent.LedgerEntry.Query().Where(ledgerentry.WorkspaceID(workspaceID)).
		Aggregate(ent.As(ent.Sum(ledgerentry.FieldAmount), "sum")).Scan(ctx, &sums)
	if err != nil {
		return 0, fmt.Errorf("sum ledger %s: %w", workspaceID, err)
	}
	if len(sums) == 0 {
		return 0, nil
	}
	return money.Amount(sums[0].Sum.Int64), nil
}

// month is the trace-counting period an instant falls in (calendar month, UTC).
func month(t time.Time) string { return t.UTC().Format("2006-01") }
