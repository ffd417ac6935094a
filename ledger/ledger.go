package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgarray"
)

// Channel is the Postgres NOTIFY channel every committed balance change is
// announced on, for every instance's caches and subscribers.
const Channel = "credits_balance"

// Kind says why a balance changed; it is the ledger entry's kind.
type Kind string

const (
	KindPurchase   Kind = "purchase"
	KindAutoTopUp  Kind = "auto_top_up"
	KindUsage      Kind = "usage"
	KindTracing    Kind = "tracing"
	KindAdjustment Kind = "adjustment"
	KindRefund     Kind = "refund"
	// KindDispute withdraws a disputed amount; KindDisputeWon returns it.
	KindDispute    Kind = "dispute"
	KindDisputeWon Kind = "dispute_won"
)

// Change is one movement of a workspace's balance and/or held amount.
//
// With a Kind, Amount (signed: credits positive) is appended to the ledger
// under the key (WorkspaceID, Kind, Reference), which is unique: a change
// whose key is in the ledger already is skipped, not applied twice. Held
// (signed) moves the amount reserved by holds; a change with no Kind moves
// held only and writes no ledger entry.
type Change struct {
	WorkspaceID uuid.UUID
	Kind        Kind
	Amount      money.Amount
	Held        money.Amount
	Reference   string
	Description string
	// FreshReference says the caller has just generated Reference (a new
	// usage batch id), so the duplicate lookup is skipped; the unique
	// index still guards it.
	FreshReference bool
}

// Balance is a workspace's balance at one version.
type Balance struct {
	WorkspaceID uuid.UUID
	Amount      money.Amount
	// Held is reserved by active holds; Available is what is left.
	Held money.Amount
	// Version increases with every change, so a cache keeps the newest.
	Version   int64
	UpdatedAt time.Time
}

// Available is what new calls may still reserve: balance − held, never
// shown below zero (a balance may dip below zero after usage; the
// workspace is then blocked, and "available" is nothing).
func (b Balance) Available() money.Amount {
	a, err := money.Sub(b.Amount, b.Held)
	if err != nil || a < 0 {
		return 0
	}
	return a
}

// Blocked is the one rule for blocking: a workspace may not make router
// calls while its balance is zero or below.
func (b Balance) Blocked() bool { return b.Amount <= 0 }

// Account is a workspace row locked in a transaction.
type Account struct {
	Balance
	PlanID string
}

// Move is what one Apply did to one workspace: the balance before and
// after, and the changes applied to it (duplicates excluded).
type Move struct {
	Before, After Balance
	Changes       []Change
}

// Hook runs inside the transaction after Apply moved balances (e.g. auto
// top-up schedules a charge when a deduction crosses the threshold), with
// the clock reading Apply was given. Its error fails the transaction.
type Hook func(ctx context.Context, tx *Tx, now time.Time, moves []Move) error

// Ledger applies balance changes; it is safe for concurrent use.
type Ledger struct {
	db     *sql.DB
	client *ent.Client
	stmts  *statements

	mu        sync.RWMutex
	hooks     []Hook
	observers []func(Balance)
}

// OnChange registers a hook run inside every transaction that moves a balance.
func (l *Ledger) OnChange(h Hook) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hooks = append(l.hooks, h)
}

// OnCommit registers f to run, in this process, after every committed
// balance change made by this process (other processes' changes arrive by
// NOTIFY on Channel).
func (l *Ledger) OnCommit(f func(Balance)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observers = append(l.observers, f)
}

func (l *Ledger) publish(bs []Balance) {
	l.mu.RLock()
	observers := l.observers
	l.mu.RUnlock()
	for _, b := range bs {
		for _, f := range observers {
			f(b)
		}
	}
}

// ErrUnknownWorkspace is returned by Apply for a change of a workspace that
// does not exist.
var ErrUnknownWorkspace = errors.New("ledger: unknown workspace")

// OverflowError means a change would take a balance or held amount out of
// range; nothing was applied.
type OverflowError struct{ WorkspaceID uuid.UUID }

func (e *OverflowError) Error() string {
	return fmt.Sprintf("ledger: balance of workspace %s would overflow", e.WorkspaceID)
}

// Unwrap makes errors.Is(err, money.ErrOverflow) hold.
func (e *OverflowError) Unwrap() error { return money.ErrOverflow }

// Lock row-locks the workspaces (in id order, whatever the order given)
// for the rest of tx and returns them; ids that name no workspace are
// absent from the result. Every writer of a workspace's balance, and of
// the rows that must agree with it (holds, rollups), locks the workspace
// first, so this is also the one lock order. (A usage transaction spread
// over many workspaces records events and settles holds without it; the
// settler moves those balances later, under it: billing/settle.go.)
func Lock(ctx context.Context, tx *Tx, ids []uuid.UUID) (map[uuid.UUID]Account, error) {
	if tx.accounts == nil {
		tx.accounts = make(map[uuid.UUID]Account, len(ids))
	}
	var missing []uuid.UUID
	for _, id := range LockOrder(ids) {
		if _, ok := tx.accounts[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		rows, err := tx.QueryContext(ctx, `SELECT id, balance, held, balance_version, balance_updated_at, plan_id
			FROM workspaces WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, pgarray.UUIDs(missing))
		if err != nil {
			return nil, fmt.Errorf("lock workspaces: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var a Account
			if err := rows.Scan(&a.WorkspaceID, &a.Amount, &a.Held, &a.Version, &a.UpdatedAt, &a.PlanID); err != nil {
				return nil, fmt.Errorf("lock workspaces: %w", err)
			}
			tx.accounts[a.WorkspaceID] = a
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("lock workspaces: %w", err)
		}
	}
	out := make(map[uuid.UUID]Account, len(ids))
	for _, id := range ids {
		if a, ok := tx.accounts[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}

// Apply applies changes in tx: locks their workspaces, skips the keyed
// changes already in the ledger (returned as duplicates), appends the
// entries, moves balance and held, bumps each workspace's version once,
// queues one NOTIFY per workspace and runs the hooks. now is the service
// clock's reading, stamped on the entries and the balances. All of it is
// checked arithmetic: a change that would overflow, or take held below
// zero, fails Apply (and so the transaction) and nothing is applied.
func Apply(ctx context.Context, tx *Tx, now time.Time, changes []Change) (moves []Move, duplicates []Change, err error) {
	if len(changes) == 0 {
		return nil, nil, nil
	}
	ids := make([]uuid.UUID, len(changes))
	for i, c := range changes {
		ids[i] = c.WorkspaceID
	}
	accounts, err := Lock(ctx, tx, ids)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range changes {
		if _, ok := accounts[c.WorkspaceID]; !ok {
			return nil, nil, fmt.Errorf("%w %s", ErrUnknownWorkspace, c.WorkspaceID)
		}
		if c.Kind != "" && c.Reference == "" {
			return nil, nil, fmt.Errorf("ledger: a %s change needs a reference", c.Kind)
		}
	}
	applied, duplicates, err := dropRecorded(ctx, tx, changes)
	if err != nil {
		return nil, nil, err
	}

	byWorkspace := map[uuid.UUID]*Move{}
	var order []uuid.UUID
	var entries entryColumns
	for _, c := range applied {
		m, ok := byWorkspace[c.WorkspaceID]
		if !ok {
			b := accounts[c.WorkspaceID].Balance
			m = &Move{Before: b, After: b}
			byWorkspace[c.WorkspaceID] = m
			order = append(order, c.WorkspaceID)
		}
		if m.After.Amount, err = money.Add(m.After.Amount, c.Amount); err != nil {
			return nil, nil, &OverflowError{WorkspaceID: c.WorkspaceID}
		}
		if m.After.Held, err = money.Add(m.After.Held, c.Held); err != nil {
			return nil, nil, &OverflowError{WorkspaceID: c.WorkspaceID}
		}
		if m.After.Held < 0 {
			return nil, nil, fmt.Errorf("ledger: held of workspace %s would be %s, below zero", c.WorkspaceID, m.After.Held)
		}
		m.Changes = append(m.Changes, c)
		if c.Kind != "" {
			entries.add(c, m.After.Amount)
		}
	}
	if len(order) == 0 {
		return nil, duplicates, nil
	}
	moves = make([]Move, 0, len(order))
	for _, id := range order {
		m := byWorkspace[id]
		m.After.Version = m.Before.Version + 1
		m.After.UpdatedAt = now
		moves = append(moves, *m)
	}
	if err := write(ctx, tx, &entries, moves, now); err != nil {
		return nil, nil, err
	}
	for _, m := range moves {
		a := tx.accounts[m.After.WorkspaceID]
		a.Balance = m.After
		tx.accounts[m.After.WorkspaceID] = a
		tx.markChanged(m.After.WorkspaceID)
	}
	tx.ledger.mu.RLock()
	hooks := tx.ledger.hooks
	tx.ledger.mu.RUnlock()
	for _, h := range hooks {
		if err := h(ctx, tx, now, moves); err != nil {
			return nil, nil, err
		}
	}
	return moves, duplicates, nil
}

// dropRecorded splits changes into those to apply and those whose key is
// in the ledger already (or repeated within changes). Safe to check before
// inserting: the workspace rows are locked, and every writer of a
// workspace's ledger entries holds that lock.
func dropRecorded(ctx context.Context, tx *Tx, changes []Change) (apply, duplicates []Change, err error) {
	type key struct {
		ws        uuid.UUID
		kind      Kind
		reference string
	}
	var ws []uuid.UUID
	var kinds, refs []string
	for _, c := range changes {
		if c.Kind != "" && !c.FreshReference {
			ws, kinds, refs = append(ws, c.WorkspaceID), append(kinds, string(c.Kind)), append(refs, c.Reference)
		}
	}
	recorded := map[key]bool{}
	if len(ws) > 0 {
		rows, err := tx.QueryContext(ctx, `SELECT k.w, k.k, k.r FROM unnest($1::uuid[], $2::text[], $3::text[]) AS k(w, k, r)
			WHERE EXISTS (SELECT 1 FROM ledger_entries e WHERE e.workspace_id = k.w AND e.kind = k.k AND e.reference = k.r)`,
			pgarray.UUIDs(ws), pgarray.Texts(kinds), pgarray.Texts(refs))
		if err != nil {
			return nil, nil, fmt.Errorf("find recorded ledger entries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.ws, &k.kind, &k.reference); err != nil {
				return nil, nil, fmt.Errorf("find recorded ledger entries: %w", err)
			}
			recorded[k] = true
		}
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	apply = make([]Change, 0, len(changes))
	for _, c := range changes {
		k := key{c.WorkspaceID, c.Kind, c.Reference}
		if c.Kind != "" && recorded[k] {
			duplicates = append(duplicates, c)
			continue
		}
		if c.Kind != "" {
			recorded[k] = true // a repeat within changes is a duplicate too
		}
		apply = append(apply, c)
	}
	return apply, duplicates, nil
}

// entryColumns are ledger entries as the columns of one INSERT … unnest.
type entryColumns struct {
	ws              []uuid.UUID
	kind, ref, desc []string
	amount, after   []int64
}

func (e *entryColumns) add(c Change, balanceAfter money.Amount) {
	e.ws, e.kind, e.ref, e.desc = append(e.ws, c.WorkspaceID), append(e.kind, string(c.Kind)), append(e.ref, c.Reference), append(e.desc, c.Description)
	e.amount, e.after = append(e.amount, int64(c.Amount)), append(e.after, int64(balanceAfter))
}

// writeSQL appends the ledger entries ($1–$6), sets the balances ($8–$11)
// and queues one NOTIFY per balance on $12 ($13), at $7: one statement, so
// one round trip (each costs the usage transaction, which holds its
// workspaces' locks, a wake-up of the committer on a busy machine). It is
// the one statement that writes balance, held and balance_version.
// Postgres delivers the notifications only if and when the transaction
// commits, so listeners never see a rolled-back balance. Data-modifying
// WITH clauses run to completion whether or not they are read.
const writeSQL = `WITH entries AS (
		INSERT INTO ledger_entries (workspace_id, kind, amount, balance_after, reference, description, created_at)
		SELECT w, k, a, b, r, d, $7 FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[]) AS x(w, k, a, b, r, d)
	), balances AS (
		UPDATE workspaces w SET balance = x.b, held = x.h, balance_version = x.v, balance_updated_at = $7
		FROM unnest($8::uuid[], $9::bigint[], $10::bigint[], $11::bigint[]) AS x(id, b, h, v) WHERE w.id = x.id
	)
	SELECT pg_notify($12, p) FROM unnest($13::text[]) AS p`

// write applies moves and their ledger entries (see writeSQL).
func write(ctx context.Context, tx *Tx, e *entryColumns, moves []Move, now time.Time) error {
	ids, payloads := make([]uuid.UUID, len(moves)), make([]string, len(moves))
	amounts, held, versions := make([]int64, len(moves)), make([]int64, len(moves)), make([]int64, len(moves))
	for i, m := range moves {
		ids[i], amounts[i], held[i], versions[i] = m.After.WorkspaceID, int64(m.After.Amount), int64(m.After.Held), m.After.Version
		payloads[i] = m.After.notification()
	}
	if _, err := tx.ExecContext(ctx, writeSQL, pgarray.UUIDs(e.ws), pgarray.Texts(e.kind), pq.Array(e.amount), pq.Array(e.after), pgarray.Texts(e.ref),
		pgarray.Texts(e.desc), now, pgarray.UUIDs(ids), pq.Array(amounts), pq.Array(held), pq.Array(versions), Channel, pgarray.Texts(payloads)); err != nil {
		return fmt.Errorf("write balances and ledger entries: %w", err)
	}
	return nil
}

// LockOrder is ids without repeats, in the order Lock locks them; callers
// that list workspaces for a batch (usage, settlement) use it so their
// entries come in the same order.
func LockOrder(ids []uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(ids))
	seen := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	// Postgres orders uuid by its bytes: lock in the same order it does.
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}
