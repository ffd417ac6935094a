package billing

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/money"
)

// Kind says why a balance changed.
type Kind string

const (
	KindPurchase   Kind = "purchase"
	KindAutoTopUp  Kind = "auto_top_up"
	KindUsage      Kind = "usage"
	KindTracing    Kind = "tracing"
	KindAdjustment Kind = "adjustment"
	KindRefund     Kind = "refund"
)

// Entry is one ledger entry to append. Reference identifies what caused it;
// (WorkspaceID, Kind, Reference) is unique, so posting it twice applies once.
type Entry struct {
	WorkspaceID uuid.UUID
	Kind        Kind
	Amount      money.Amount
	Reference   string
	Description string
}

// post appends e and moves the balance by e.Amount in tx, holding the
// workspace row lock until tx ends. applied is false, and nothing changes,
// when an entry with the same key exists already.
func (s *Service) post(ctx context.Context, tx *sql.Tx, e Entry) (b Balance, applied bool, err error) {
	b.WorkspaceID = e.WorkspaceID
	err = tx.QueryRowContext(ctx, `SELECT balance, held, balance_version, balance_updated_at FROM workspaces WHERE id = $1 FOR UPDATE`,
		e.WorkspaceID).Scan(&b.Amount, &b.Held, &b.Version, &b.UpdatedAt)
	if err == sql.ErrNoRows {
		return Balance{}, false, notFound("workspace")
	}
	if err != nil {
		return Balance{}, false, fmt.Errorf("lock workspace %s: %w", e.WorkspaceID, err)
	}
	now := s.now().UTC()
	after := b.Amount + e.Amount
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO ledger_entries (workspace_id, kind, amount, balance_after, reference, description, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (workspace_id, kind, reference) DO NOTHING RETURNING id`,
		e.WorkspaceID, string(e.Kind), int64(e.Amount), int64(after), e.Reference, e.Description, now).Scan(&id)
	if err == sql.ErrNoRows {
		return b, false, nil
	}
	if err != nil {
		return Balance{}, false, fmt.Errorf("append ledger %s/%s: %w", e.Kind, e.Reference, err)
	}
	b.Amount, b.Version, b.UpdatedAt = after, b.Version+1, now
	if _, err := tx.ExecContext(ctx, `UPDATE workspaces SET balance = $2, balance_version = $3, balance_updated_at = $4 WHERE id = $1`,
		e.WorkspaceID, int64(b.Amount), b.Version, now); err != nil {
		return Balance{}, false, fmt.Errorf("update balance %s: %w", e.WorkspaceID, err)
	}
	if err := notify(ctx, tx, []Balance{b}); err != nil {
		return Balance{}, false, err
	}
	if e.Amount > 0 {
		if err := cancelTopUpIfCovered(ctx, tx, b); err != nil {
			return Balance{}, false, err
		}
	}
	return b, true, nil
}

// notify queues one NOTIFY per balance; Postgres delivers them only if and
// when tx commits, so listeners never see a rolled-back balance.
func notify(ctx context.Context, tx querier, bs []Balance) error {
	if len(bs) == 0 {
		return nil
	}
	payloads := make([]string, len(bs))
	for i, b := range bs {
		payloads[i] = b.notification()
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, BalanceChannel, pq.Array(payloads)); err != nil {
		return fmt.Errorf("notify balances: %w", err)
	}
	return nil
}

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
	err := s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
		b, applied, err := s.post(ctx, tx, Entry{WorkspaceID: workspaceID, Kind: KindAdjustment, Amount: amount, Reference: reference, Description: reason})
		out = b
		if err != nil || !applied {
			return nil, err
		}
		return []Balance{b}, nil
	})
	return out, err
}

// LedgerSum returns the sum of a workspace's ledger entries, which always
// equals its balance (the invariant tests and `credits reconcile` check).
func (s *Service) LedgerSum(ctx context.Context, workspaceID uuid.UUID) (money.Amount, error) {
	var sum int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE workspace_id = $1`, workspaceID).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("sum ledger %s: %w", workspaceID, err)
	}
	return money.Amount(sum), nil
}

// month is the trace-counting period an instant falls in (calendar month, UTC).
func month(t time.Time) string { return t.UTC().Format("2006-01") }
