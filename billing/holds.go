package billing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/hold"
	"github.com/airouter/credits/ledger"
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
// canReserve allows it. The check and the reservation happen under the
// workspace's row lock, so however many calls race, the holds granted never
// exceed the balance. allowed is false (and nothing is reserved) when they
// would. Placing a request id again returns its hold while it is active;
// once it is settled or expired, REQUEST_ID_FINISHED (never a false
// "insufficient credits").
func (s *Service) PlaceHold(ctx context.Context, req HoldRequest) (h Hold, b Balance, allowed bool, err error) {
	req.RequestID = normalizeRequestID(req.RequestID)
	switch {
	case req.RequestID == "" || len(req.RequestID) > maxEventIDLen:
		return Hold{}, Balance{}, false, badInput("request_id", "request_id is required (at most %d characters) with an estimate", maxEventIDLen)
	case req.MaxInputTokens < 0 || req.MaxOutputTokens < 0 || req.MaxInputTokens > MaxTokensPerEvent || req.MaxOutputTokens > MaxTokensPerEvent:
		return Hold{}, Balance{}, false, badInput("max_input_tokens", "token estimates must be between 0 and %d", int64(MaxTokensPerEvent))
	}
	now := s.now()
	price, ok := s.prices.PriceAt(req.Model, now)
	if !ok {
		return Hold{}, Balance{}, false, badInput("model", "unknown model %q", req.Model)
	}
	cost, err := price.Cost(Usage{InputTokens: req.MaxInputTokens, OutputTokens: req.MaxOutputTokens})
	if err != nil {
		return Hold{}, Balance{}, false, badInput("max_input_tokens", "estimate out of range")
	}
	h = Hold{ID: uuid.New(), Amount: cost, ExpiresAt: now.Add(s.cfg.HoldTTL)}
	err = s.inTx(ctx, func(tx *ledger.Tx) error {
		accounts, err := ledger.Lock(ctx, tx, []uuid.UUID{req.WorkspaceID})
		if err != nil {
			return err
		}
		acct, ok := accounts[req.WorkspaceID]
		if !ok {
			return notFound("workspace")
		}
		b = acct.Balance
		existing, err := tx.Hold.Query().Where(hold.WorkspaceID(req.WorkspaceID), hold.RequestID(req.RequestID)).Only(ctx)
		switch {
		case err == nil && existing.Status != hold.StatusActive:
			return &Error{Code: CodeRequestIDFinished, Field: "request_id", Message: fmt.Sprintf(
				"request_id %q names a hold that is %s already: a new call needs a new request_id", req.RequestID, existing.Status)}
		case err == nil:
			h, allowed = Hold{ID: existing.ID, Amount: money.Amount(existing.Amount), ExpiresAt: existing.ExpiresAt.UTC()}, true
			return nil
		case !ent.IsNotFound(err):
			return fmt.Errorf("find hold: %w", err)
		}
		if !canReserve(b, cost) {
			return nil
		}
		if err := tx.Hold.Create().SetID(h.ID).SetWorkspaceID(req.WorkspaceID).SetRequestID(req.RequestID).SetAmount(int64(cost)).
			SetStatus(hold.StatusActive).SetExpiresAt(h.ExpiresAt).SetCreatedAt(now).Exec(ctx); err != nil {
			return fmt.Errorf("record hold: %w", err)
		}
		moves, _, err := ledger.Apply(ctx, tx, now, []ledger.Change{{WorkspaceID: req.WorkspaceID, Held: cost}})
		if err != nil {
			return s.ledgerError(err)
		}
		b, allowed = moves[0].After, true
		return nil
	})
	if err != nil {
		return Hold{}, Balance{}, false, err
	}
	return h, b, allowed, nil
}

// canReserve is the one rule for holds: a call may reserve its worst case
// when the workspace is not blocked and the estimate fits in what is
// available (an estimate exactly equal to it fits: the customer can afford
// the worst case).
func canReserve(b Balance, cost money.Amount) bool {
	return !b.Blocked() && cost <= b.Available()
}

// normalizeRequestID is the one normalisation of a router request id, for
// placing a hold and for the usage event that settles it alike.
func normalizeRequestID(id string) string { return strings.TrimSpace(id) }

// releaseHolds settles, in the charging transaction (which holds the
// workspaces' row locks: workspace first, then holds, as everywhere), the
// active holds of the events that name one (by request id, or hold id),
// and adds what they reserved to each workspace's released amount: the real
// cost is charged as usage, the reservation goes.
func releaseHolds(ctx context.Context, tx *ledger.Tx, events []pricedEvent, locked map[uuid.UUID]*lockedWorkspace) error {
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
	rows, err := tx.QueryContext(ctx, `UPDATE holds h SET status = 'settled'
		FROM unnest($1::uuid[], $2::text[], $3::text[]) AS k(ws, rid, hid)
		WHERE h.workspace_id = k.ws AND h.status = 'active' AND (h.request_id = k.rid OR h.id::text = k.hid)
		RETURNING h.workspace_id, h.amount`, pq.Array(ws), pq.Array(rids), pq.Array(hids))
	if err != nil {
		return fmt.Errorf("settle holds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var amount money.Amount
		if err := rows.Scan(&id, &amount); err != nil {
			return err
		}
		if lw, ok := locked[id]; ok {
			if lw.released, err = money.Add(lw.released, amount); err != nil {
				return fmt.Errorf("settle holds: %w", err)
			}
		}
	}
	return rows.Err()
}

// maxExpirePerRun bounds one expiry transaction.
const maxExpirePerRun = 500

// ExpireHolds releases holds past their expiry by the service clock; an
// expired hold never charges anything. It returns how many it released.
func (s *Service) ExpireHolds(ctx context.Context) (int, error) {
	now := s.now()
	// Find candidates without locks, then lock workspaces before holds:
	// the same order as settlement, so the two cannot deadlock.
	var due []struct {
		WorkspaceID uuid.UUID `json:"workspace_id"`
	}
	if err := s.ent.Hold.Query().Where(hold.StatusEQ(hold.StatusActive), hold.ExpiresAtLTE(now)).Limit(maxExpirePerRun).
		Unique(true).Select(hold.FieldWorkspaceID).Scan(ctx, &due); err != nil {
		return 0, fmt.Errorf("expire holds: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	ids := make([]uuid.UUID, len(due))
	for i, d := range due {
		ids[i] = d.WorkspaceID
	}
	var n int
	err := s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := ledger.Lock(ctx, tx, ids); err != nil {
			return err
		}
		expired, err := tx.Hold.Query().Where(hold.WorkspaceIDIn(ids...), hold.StatusEQ(hold.StatusActive), hold.ExpiresAtLTE(now)).
			ForUpdate().All(ctx)
		if err != nil || len(expired) == 0 {
			return err
		}
		released := map[uuid.UUID]money.Amount{}
		holdIDs := make([]uuid.UUID, len(expired))
		for i, h := range expired {
			holdIDs[i] = h.ID
			if released[h.WorkspaceID], err = money.Add(released[h.WorkspaceID], money.Amount(h.Amount)); err != nil {
				return err
			}
		}
		if err := tx.Hold.Update().Where(hold.IDIn(holdIDs...)).SetStatus(hold.StatusExpired).Exec(ctx); err != nil {
			return err
		}
		changes := make([]ledger.Change, 0, len(released))
		for _, id := range ids {
			if amount, ok := released[id]; ok {
				changes = append(changes, ledger.Change{WorkspaceID: id, Held: -amount})
			}
		}
		n = len(expired)
		_, _, err = ledger.Apply(ctx, tx, now, changes)
		return err
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
