package ledger

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// statements prepares the raw SQL run in transactions (the usage path and
// the ledger's own statements) once per pooled connection. Unprepared, Postgres parses and plans each statement of every
// usage transaction anew, and for a small batch that is most of its work
// (parse and bind of the workspace lock alone took 1 ms of a 5 ms
// transaction of 10 events). A statement is prepared on first use, in the
// background and on the pool (never on a transaction's connection, which
// would need a second connection while holding the first); until it is
// ready it runs unprepared.
type statements struct {
	db *sql.DB

	mu       sync.RWMutex
	prepared map[string]*sql.Stmt // by query text
	pending  map[string]bool      // being prepared, or failed to
	max      int                  // bound: the queries are constants, a few dozen at most
}

func newStatements(db *sql.DB) *statements {
	return &statements{db: db, prepared: map[string]*sql.Stmt{}, pending: map[string]bool{}, max: 64}
}

// stmt returns tx's handle on query's prepared statement, or nil while it
// is not prepared yet (and starts preparing it).
func (st *statements) stmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	st.mu.RLock()
	s, ok := st.prepared[query]
	st.mu.RUnlock()
	if ok {
		// Prepared on this transaction's connection already, or now, on it.
		return tx.StmtContext(ctx, s)
	}
	st.mu.Lock()
	start := !st.pending[query] && len(st.pending) < st.max
	if start {
		st.pending[query] = true
	}
	st.mu.Unlock()
	if start {
		go st.prepare(query)
	}
	return nil
}

func (st *statements) prepare(query string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := st.db.PrepareContext(ctx, query)
	if err != nil {
		return // stays pending: the query keeps running unprepared
	}
	st.mu.Lock()
	st.prepared[query] = s
	st.mu.Unlock()
}

// ready reports how many statements are prepared (tests).
func (st *statements) ready() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.prepared)
}

// preparedDriver is ent's SQL driver whose transactions run raw SQL
// (ExecContext, QueryContext: ent's execquery feature) through prepared
// statements. ent's own builders run unprepared, as they always do.
type preparedDriver struct {
	*entsql.Driver
	stmts *statements
}

func (d *preparedDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

func (d *preparedDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := d.DB().BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &preparedTx{Tx: &entsql.Tx{Conn: entsql.Conn{ExecQuerier: tx}, Tx: tx}, sqlTx: tx, stmts: d.stmts}, nil
}

// preparedTx runs raw statements through their prepared form when there is one.
type preparedTx struct {
	*entsql.Tx
	sqlTx *sql.Tx
	stmts *statements
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.stmts.stmt(ctx, p.sqlTx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.sqlTx.ExecContext(ctx, query, args...)
}

func (p *preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmts.stmt(ctx, p.sqlTx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.sqlTx.QueryContext(ctx, query, args...)
}
