package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
)

// Tx is one database transaction: the ent client for the models and, for
// the measured hot paths, raw SQL through ExecContext/QueryContext on the
// same connection (prepared once per connection). Apply records the
// balances it moved on the Tx; InTx publishes them once, after commit.
type Tx struct {
	*ent.Tx
	ledger      *Ledger
	accounts    map[uuid.UUID]Account // workspace rows locked in this tx, as they stand now
	changed     []uuid.UUID           // workspaces Apply moved, in first-moved order
	moved       map[uuid.UUID]bool    // the set of changed
	afterCommit []func()
}

// QueryRow runs a raw query that returns at most one row and scans it into
// dest; sql.ErrNoRows when there is none.
func (tx *Tx) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// AfterCommit runs f after the transaction commits (never if it rolls
// back), e.g. to wake a worker for a top-up the transaction scheduled.
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// Open returns the ledger over db. Its ent client runs raw SQL inside
// transactions through statements prepared once per pooled connection.
func Open(db *sql.DB) *Ledger {
	stmts := newStatements(db)
	drv := &preparedDriver{Driver: entsql.OpenDB(dialect.Postgres, db), stmts: stmts}
	return &Ledger{db: db, client: ent.NewClient(ent.Driver(drv)), stmts: stmts}
}

// Ent is the ent client, for reads and writes outside a transaction.
func (l *Ledger) Ent() *ent.Client { return l.client }

// DB is the database (health checks, LISTEN).
func (l *Ledger) DB() *sql.DB { return l.db }

// PreparedStatements is how many raw statements are prepared (tests).
func (l *Ledger) PreparedStatements() int { return l.stmts.ready() }

// InTx runs f in a transaction. When f returns nil the transaction commits
// and then, in this order, the balances Apply moved are published to the
// OnCommit observers (once each, newest version) and the AfterCommit
// functions run. When f fails, or the commit does, nothing is published.
func (l *Ledger) InTx(ctx context.Context, f func(tx *Tx) error) error {
	etx, err := l.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: etx, ledger: l}
	if err := f(tx); err != nil {
		if rerr := etx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := etx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	l.publish(tx.Changed())
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

func (tx *Tx) markChanged(id uuid.UUID) {
	if tx.moved == nil {
		tx.moved = map[uuid.UUID]bool{}
	}
	if !tx.moved[id] {
		tx.moved[id] = true
		tx.changed = append(tx.changed, id)
	}
}

// Changed returns the balances this transaction moved, as they stand now.
func (tx *Tx) Changed() []Balance {
	out := make([]Balance, len(tx.changed))
	for i, id := range tx.changed {
		out[i] = tx.accounts[id].Balance
	}
	return out
}
