package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ent/alertevent"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgarray"
)

// Type is what an event says happened (ent's enum: one Go type).
type Type = alertevent.Type

const (
	// BalanceLow: a deduction took the balance below the workspace's
	// low-balance threshold (once per crossing).
	BalanceLow = alertevent.TypeBalanceLow
	// BalanceDepleted: a deduction took the balance to zero or below; the
	// router is refusing the workspace's calls.
	BalanceDepleted = alertevent.TypeBalanceDepleted
	// AutoTopUpFailed: an auto top-up charge was declined and will be retried.
	AutoTopUpFailed = alertevent.TypeAutoTopUpFailed
	// AutoTopUpPaused: auto top-up stopped until the owner acts.
	AutoTopUpPaused = alertevent.TypeAutoTopUpPaused
	// PurchaseSucceeded: credits were bought (by hand or by auto top-up).
	PurchaseSucceeded = alertevent.TypePurchaseSucceeded
)

// Types lists every event type, in the order the API documents them.
var Types = []Type{BalanceLow, BalanceDepleted, AutoTopUpFailed, AutoTopUpPaused, PurchaseSucceeded}

// Event is one alert: what happened to which workspace. Key names what it
// is about (a balance version, a purchase, a top-up attempt): recording
// the same (workspace, type, key) twice records it once.
type Event struct {
	ID          uuid.UUID
	WorkspaceID uuid.UUID
	Type        Type
	Key         string
	Data        Data
	CreatedAt   time.Time
}

// Data is an event's payload, the "data" object of its webhook body (the
// JSON names are the public format: never rename one). It carries no card
// data and no secrets. Fields an event type does not use are omitted.
type Data struct {
	WorkspaceID   string        `json:"workspace_id"`
	WorkspaceName string        `json:"workspace_name,omitempty"`
	Currency      string        `json:"currency"`
	Balance       *money.Amount `json:"balance,omitempty"`
	Threshold     *money.Amount `json:"threshold,omitempty"`
	Amount        *money.Amount `json:"amount,omitempty"`
	// Reason is why an auto top-up failed or paused (the issuer's reason for a decline).
	Reason string `json:"reason,omitempty"`
	// Attempt is the declined attempt's number; NextAttemptAt when it is retried.
	Attempt       int        `json:"attempt,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// TransactionID and TransactionType name the purchase as the GraphQL API does.
	TransactionID   string   `json:"transaction_id,omitempty"`
	TransactionType string   `json:"transaction_type,omitempty"`
	Invoice         *Invoice `json:"invoice,omitempty"`
}

// Invoice is the invoice a purchase.succeeded event links to.
type Invoice struct {
	ID          string `json:"id"`
	Number      string `json:"number"`
	DownloadURL string `json:"download_url"`
}

// Record writes events to the outbox in tx, the transaction of the change
// that caused them: they are delivered if and only if it commits. An event
// whose (workspace, type, key) is recorded already is skipped. One
// statement whatever the number of events; nothing at all for none.
func Record(ctx context.Context, tx *ledger.Tx, now time.Time, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	ids, ws, types, keys, data := make([]string, len(events)), make([]string, len(events)), make([]string, len(events)),
		make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		if e.ID == uuid.Nil {
			e.ID = uuid.New()
		}
		if e.Key == "" {
			return fmt.Errorf("record %s alert: a key is required", e.Type)
		}
		e.Data.WorkspaceID, e.Data.Currency = e.WorkspaceID.String(), money.Currency
		raw, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("record %s alert: %w", e.Type, err)
		}
		ids[i], ws[i], types[i], keys[i], data[i] = e.ID.String(), e.WorkspaceID.String(), string(e.Type), e.Key, string(raw)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_events (id, workspace_id, type, key, data, created_at)
		SELECT i, w, t, k, d::jsonb, $6 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[]) AS x(i, w, t, k, d)
		ON CONFLICT (workspace_id, type, key) DO NOTHING`,
		pq.Array(ids), pq.Array(ws), pq.Array(types), pq.Array(keys), pq.Array(data), now); err != nil {
		return fmt.Errorf("record alerts: %w", err)
	}
	tx.AfterCommit(wakeLocalWorkers) // best effort: workers also poll
	return nil
}

// running is this process's workers, woken after a commit that recorded
// events (other processes find them on their next poll).
var running = struct {
	sync.Mutex
	workers map[*Service]bool
}{workers: map[*Service]bool{}}

func wakeLocalWorkers() {
	running.Lock()
	defer running.Unlock()
	for s := range running.workers {
		s.Wake()
	}
}

// LowBalanceThresholds returns the low-balance thresholds set for the
// given workspaces (absent: none set), read in tx. Raw SQL: billing's
// ledger hook calls it in every usage transaction.
func LowBalanceThresholds(ctx context.Context, tx *ledger.Tx, workspaceIDs []uuid.UUID) (map[uuid.UUID]money.Amount, error) {
	out := map[uuid.UUID]money.Amount{}
	if len(workspaceIDs) == 0 {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT workspace_id, low_balance_threshold FROM notification_settings
		WHERE workspace_id = ANY($1::uuid[]) AND low_balance_threshold IS NOT NULL`, pgarray.UUIDs(workspaceIDs))
	if err != nil {
		return nil, fmt.Errorf("read low-balance thresholds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var threshold int64
		if err := rows.Scan(&id, &threshold); err != nil {
			return nil, fmt.Errorf("read low-balance thresholds: %w", err)
		}
		out[id] = money.Amount(threshold)
	}
	return out, rows.Err()
}
