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

// Grant is an operator adjustment: it credits (or, negative, debits) amount
// with a reason. reference makes it idempotent; empty means a fresh one.
func (s *Service) Grant(ctx context.Context, workspaceID uuid.UUID, amount money.Amount, reason, reference string) (Balance, error) {
	if amount == 0 {
		return Balance{}, badInput("amount", "amount must not be zero")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Balance{}, badInput("reason", "a reason is required")
	}
	if reference == "" {
		reference = "grant-" + uuid.NewString()
	}
	var out Balance
	err := s.inTx(ctx, func(tx *ledger.Tx) error {
		moves, _, err := ledger.Apply(ctx, tx, s.now(), []ledger.Change{{WorkspaceID: workspaceID, Kind: KindAdjustment, Amount: amount,
			Reference: reference, Description: reason}})
		if err != nil {
			return s.ledgerError(err)
		}
		if len(moves) == 1 {
			out = moves[0].After
			return nil
		}
		acct, err := ledger.Lock(ctx, tx, []uuid.UUID{workspaceID})
		out = acct[workspaceID].Balance
		return err
	})
	return out, err
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
