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

// HoldRequest asks to reserve a call's worst-case cost before it starts.
type HoldRequest struct {
	WorkspaceID     uuid.UUID
	Model           string
	MaxInputTokens  int64
	MaxOutputTokens int64
	// RequestID is the router's id for the call; the usage event that
	// reports it (same request_id) settles the hold. Placing the same
	// request id twice returns the first hold.
	RequestID string
}

// Hold is a reservation on a workspace's balance.
type Hold struct {
	ID        uuid.UUID
	Amount    money.Amount
	ExpiresAt time.Time
}

// DefaultHoldTTL is how long an unsettled hold lives.
const DefaultHoldTTL = 10 * time.Minute

// PlaceHold prices the call's worst case (all input uncached, every output
// token used, at the price in force now) and reserves it if, and only if,
// balance − active holds − this hold stays above zero. The check and the
// reservation are one conditional UPDATE of the workspace row, so however
// many calls race, the holds granted never exceed the balance. allowed is
// false (and nothing is reserved) when they would.
func (s *Service) PlaceHold(ctx context.Context, req HoldRequest) (h Hold, b Balance, allowed bool, err error) {
	req.RequestID = strings.TrimSpace(req.RequestID)
	switch {
	case req.RequestID == "" || len(req.RequestID) > maxEventIDLen:
		return Hold{}, Balance{}, false, badInput("request_id", "request_id is required (at most %d characters) with an estimate", maxEventIDLen)
	case req.MaxInputTokens < 0 || req.MaxOutputTokens < 0 || req.MaxInputTokens > MaxTokensPerEvent || req.MaxOutputTokens > MaxTokensPerEvent:
		return Hold{}, Balance{}, false, badInput("max_input_tokens", "token estimates must be between 0 and %d", int64(MaxTokensPerEvent))
	}
	now := s.now().UTC()
	price, ok := s.prices.PriceAt(req.Model, now)
	if !ok {
		return Hold{}, Balance{}, false, badInput("model", "unknown model %q", req.Model)
	}
	cost, err := price.Cost(Usage{InputTokens: req.MaxInputTokens, OutputTokens: req.MaxOutputTokens})
	if err != nil {
		return Hold{}, Balance{}, false, badInput("max_input_tokens", "estimate out of range")
	}
	h = Hold{ID: uuid.New(), Amount: cost, ExpiresAt: now.Add(s.cfg.HoldTTL)}
	err = s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
		var existing Hold
		var status string
		err := tx.QueryRowContext(ctx, `SELECT id, amount, expires_at, status FROM holds WHERE workspace_id = $1 AND request_id = $2`,
			req.WorkspaceID, req.RequestID).Scan(&existing.ID, &existing.Amount, &existing.ExpiresAt, &status)
		switch {
		case err == nil:
			h, allowed = existing, status == "active"
			b, err = readBalance(ctx, tx, req.WorkspaceID)
			return nil, err
		case err != sql.ErrNoRows:
			return nil, err
		}
		b.WorkspaceID = req.WorkspaceID
		// A new version and a NOTIFY, so caches and subscribers see held.
		err = tx.QueryRowContext(ctx, `UPDATE workspaces SET held = held + $2, balance_version = balance_version + 1
			WHERE id = $1 AND balance - held - $2 > 0
			RETURNING balance, held, balance_version, balance_updated_at`, req.WorkspaceID, int64(cost)).
			Scan(&b.Amount, &b.Held, &b.Version, &b.UpdatedAt)
		if err == sql.ErrNoRows {
			b, err = readBalance(ctx, tx, req.WorkspaceID)
			return nil, err // unknown workspace (NOT_FOUND) or not enough available
		}
		if err != nil {
			return nil, fmt.Errorf("reserve hold: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO holds (id, workspace_id, request_id, amount, status, expires_at, created_at)
			VALUES ($1, $2, $3, $4, 'active', $5, $6)`, h.ID, req.WorkspaceID, req.RequestID, int64(cost), h.ExpiresAt, now); err != nil {
			return nil, fmt.Errorf("record hold: %w", err)
		}
		allowed = true
		return []Balance{b}, notify(ctx, tx, []Balance{b})
	})
	if err != nil {
		return Hold{}, Balance{}, false, err
	}
	return h, b, allowed, nil
}

// releaseHolds settles, in the charging transaction, the active holds of
// the events that name one (by request id, or hold id), and lowers each
// workspace's held amount by what they reserved: the real cost is charged
// as usage, the reservation goes.
func releaseHolds(ctx context.Context, tx querier, events []pricedEvent, locked map[uuid.UUID]*lockedWorkspace) error {
	var ws, rids, hids []string
	for _, ev := range events {
		if ev.RequestID == "" && ev.HoldID == "" {
			continue
		}
		ws, rids, hids = append(ws, ev.workspace.String()), append(rids, ev.RequestID), append(hids, ev.HoldID)
	}
	if len(ws) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `WITH settled AS (
			UPDATE holds h SET status = 'settled'
			FROM unnest($1::uuid[], $2::text[], $3::text[]) AS k(ws, rid, hid)
			WHERE h.workspace_id = k.ws AND h.status = 'active' AND (h.request_id = k.rid OR h.id::text = k.hid)
			RETURNING h.workspace_id, h.amount)
		UPDATE workspaces w SET held = w.held - s.total
		FROM (SELECT workspace_id, sum(amount)::bigint AS total FROM settled GROUP BY workspace_id) s
		WHERE w.id = s.workspace_id RETURNING w.id, w.held`, pq.Array(ws), pq.Array(rids), pq.Array(hids))
	if err != nil {
		return fmt.Errorf("settle holds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var held int64
		if err := rows.Scan(&id, &held); err != nil {
			return err
		}
		if lw, ok := locked[id]; ok {
			lw.bal.Held = money.Amount(held)
			lw.heldChanged = true // postBatch announces it, even at no cost
		}
	}
	return rows.Err()
}

// ExpireHolds releases holds past their expiry; an expired hold never
// charges anything. It returns how many it released.
func (s *Service) ExpireHolds(ctx context.Context) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
		rows, err := tx.QueryContext(ctx, `WITH expired AS (
				UPDATE holds SET status = 'expired' WHERE status = 'active' AND expires_at <= now() RETURNING workspace_id, amount),
			released AS (
				UPDATE workspaces w SET held = w.held - e.total, balance_version = w.balance_version + 1
				FROM (SELECT workspace_id, sum(amount)::bigint AS total FROM expired GROUP BY workspace_id) e
				WHERE w.id = e.workspace_id RETURNING w.id, w.balance, w.held, w.balance_version, w.balance_updated_at)
			SELECT id, balance, held, balance_version, balance_updated_at, (SELECT count(*) FROM expired) FROM released`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var changed []Balance
		for rows.Next() {
			var b Balance
			if err := rows.Scan(&b.WorkspaceID, &b.Amount, &b.Held, &b.Version, &b.UpdatedAt, &n); err != nil {
				return nil, err
			}
			changed = append(changed, b)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return changed, notify(ctx, tx, changed)
	})
	if err != nil {
		return 0, fmt.Errorf("expire holds: %w", err)
	}
	return n, nil
}

// RunHoldExpiry expires holds every interval until ctx ends. Safe with
// several instances: each hold row is updated once.
func (s *Service) RunHoldExpiry(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.ExpireHolds(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("expire holds", "err", err)
			}
		}
	}
}
