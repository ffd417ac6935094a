// Package partitions keeps the weekly partitions of usage_events: it creates
// them ahead of the weeks they hold and drops them once every event in them
// is older than the retention. The server runs Maintain at start-up and
// then periodically; several instances may run it at once (an advisory lock
// lets one work and the others return).
//
// The table (migrations/sql/20261128170000_partition_usage_events.sql) is
// partitioned by range of occurred_at, one partition per UTC week (Monday
// 00:00 to Monday 00:00), named usage_events_YYYYMMDD after its Monday,
// plus usage_events_default for any row no week covers. Maintain moves such
// rows into a week's partition when it creates that week. Why weekly, by
// occurred_at: docs/scaling.md.
//
// It owns no other table: usage rollups, the ledger and invoices are kept
// forever.
package partitions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/airouter/credits/partitions/week"
)

const (
	// Ahead is how many weeks after this one always have a partition. The
	// server runs Maintain hourly, so it may fail for a week before an
	// insert falls into the default partition (which still takes it:
	// slower, not lost).
	Ahead = 2
	// Behind is how many weeks before this one Maintain creates when it
	// finds none, so that an event reported late has its week.
	Behind = 1
	// lockTimeout bounds how long one step waits for its table locks:
	// attaching takes the default partition, dropping takes the parent
	// table, and inserts queue behind a waiting lock. A step that times out
	// is retried by the next run.
	lockTimeout = "500ms"
	// lockKey serialises maintainers across instances (migrations use
	// 7_245_001).
	lockKey = 7_245_002

	table = "usage_events"
	// key is every partition's idempotency key: an event id once per
	// workspace and week (billing refuses the neighbouring weeks' within
	// 7 days by a lookup).
	key        = `PRIMARY KEY (workspace_id, event_id)`
	defaultP   = "usage_events_default"
	nameFormat = "20060102"
	prefix     = table + "_"
	// lookupSuffix names last week's lookup index: <partition>_event_id_hash.
	lookupSuffix = "_event_id_hash"
)

// buildLockTimeout bounds the lookup index's concurrent build and drop
// (lookupIndexes), which wait for the transactions running when they start
// but block no insert or read meanwhile. A build that times out leaves an
// invalid index, dropped and built again by the next run. A variable for
// the test that makes one time out.
var buildLockTimeout = "30s"

// Maintain makes sure usage_events has a partition for every week from
// Behind weeks before now (or from its oldest partition, to fill gaps) to
// Ahead weeks after, drops the partitions whose every event occurred
// before now − retention, deletes such events from the default
// partition, and gives last week alone its lookup index (lookupIndexes).
// It returns nil without doing anything when another session holds the
// maintenance lock.
//
// Retention must be at least the age beyond which the service rejects
// usage events, or an old event could be charged again once its
// partition, and so its idempotency key, is gone.
func Maintain(ctx context.Context, db *sql.DB, now time.Time, retention time.Duration) error {
	if retention < week.Length {
		return fmt.Errorf("partitions: retention %s is shorter than a week", retention)
	}
	// ctx stops Maintain between steps, never inside one: database/sql
	// rolls back a transaction whose context ends from a goroutine of its
	// own, which closes the session's *sql.Conn under a statement this
	// goroutine is starting on it (seen: a nil-pointer panic in the
	// deferred unlock when a test server shut down mid-run). Every step
	// is a transaction whose lock waits lockTimeout bounds.
	stop := ctx
	ctx = context.WithoutCancel(ctx)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("partitions: connect: %w", err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&locked); err != nil {
		return fmt.Errorf("partitions: lock: %w", err)
	}
	if !locked {
		return nil
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, lockKey) //nolint:errcheck // released with the session anyway

	existing, err := weekPartitions(ctx, conn)
	if err != nil {
		return err
	}
	cutoff := now.Add(-retention)
	plan := planWeeks(existing, week.Start(now), cutoff)
	for _, d := range plan.create {
		if err := stop.Err(); err != nil {
			return err
		}
		if err := inTx(ctx, conn, func(tx *sql.Tx) error { return create(ctx, tx, d) }); err != nil {
			return fmt.Errorf("partitions: create %s: %w", Name(d), err)
		}
	}
	for _, d := range plan.drop {
		if err := stop.Err(); err != nil {
			return err
		}
		if err := inTx(ctx, conn, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DROP TABLE `+pq.QuoteIdentifier(Name(d)))
			return err
		}); err != nil {
			return fmt.Errorf("partitions: drop %s: %w", Name(d), err)
		}
	}
	if err := stop.Err(); err != nil {
		return err
	}
	if err := inTx(ctx, conn, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM `+defaultP+` WHERE occurred_at < $1`, cutoff)
		return err
	}); err != nil {
		return fmt.Errorf("partitions: expire the default partition: %w", err)
	}
	// Last, so that a build waiting on a long transaction holds up nothing
	// else maintenance does. Last week's partition exists by now: the plan
	// always covers it (Behind ≥ 1, and retention ≥ a week keeps it).
	if err := stop.Err(); err != nil {
		return err
	}
	b := builder{ctx: ctx, stop: stop, db: db, conn: conn}
	if err := b.lookupIndexes(week.Start(now).AddDate(0, 0, -7)); err != nil {
		return fmt.Errorf("partitions: lookup index: %w", err)
	}
	return nil
}

// plan is what one Maintain run changes.
type plan struct{ create, drop []time.Time }

// planWeeks decides, from the existing partitions (their Mondays), this
// week's Monday and the retention cutoff, which weeks to create and which
// to drop.
func planWeeks(existing []time.Time, this, cutoff time.Time) plan {
	have := make(map[time.Time]bool, len(existing))
	from := this.AddDate(0, 0, -7*Behind)
	var p plan
	for _, w := range existing {
		have[w] = true
		if !w.Add(week.Length).After(cutoff) {
			p.drop = append(p.drop, w)
		} else if w.Before(from) {
			from = w // fill any gap between the oldest partition kept and now
		}
	}
	for w := from; !w.After(this.AddDate(0, 0, 7*Ahead)); w = w.AddDate(0, 0, 7) {
		if !have[w] && w.Add(week.Length).After(cutoff) {
			p.create = append(p.create, w)
		}
	}
	sort.Slice(p.drop, func(i, j int) bool { return p.drop[i].Before(p.drop[j]) })
	return p
}

// create adds the partition of the week starting on Monday d. It is
// created as a plain table, filled with the rows of that week the default
// partition holds, and attached, with inserts into usage_events held off
// meanwhile (SHARE ROW EXCLUSIVE: reads go on): an insert running beside
// an ATTACH can route a row of the new week to the default partition and
// then fail its changed constraint, or commit such a row between the move
// and the ATTACH, which then fails (both seen when a server started with
// usage arriving and no partitions yet). Weeks are created two ahead, so
// this happens weekly and holds inserts for milliseconds (plus up to
// lockTimeout while it waits for running ones). The key is the partition's own (the parent
// has none; migrations/sql/20261129010000_usage_events_week_keys.sql).
func create(ctx context.Context, tx *sql.Tx, d time.Time) error {
	p := pq.QuoteIdentifier(Name(d))
	from, to := pq.QuoteLiteral(d.Format(time.RFC3339)), pq.QuoteLiteral(d.Add(week.Length).Format(time.RFC3339))
	for _, stmt := range []string{
		`LOCK TABLE ` + table + ` IN SHARE ROW EXCLUSIVE MODE`,
		`CREATE TABLE ` + p + ` (LIKE ` + table + ` INCLUDING DEFAULTS INCLUDING CONSTRAINTS, ` + key + `)`,
		`WITH moved AS (DELETE FROM ` + defaultP + ` WHERE occurred_at >= ` + from + ` AND occurred_at < ` + to + ` RETURNING *)
			INSERT INTO ` + p + ` SELECT * FROM moved`,
		`ALTER TABLE ` + table + ` ATTACH PARTITION ` + p + ` FOR VALUES FROM (` + from + `) TO (` + to + `)`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// lookupIndexes gives last week's partition (Monday last) a hash index on
// event_id, and drops it from every other week. Every live event's
// duplicate lookup (billing.findRecordedSQL) probes last week, and its
// primary key, (workspace_id, event_id) on random ids, is about 100 bytes
// an event in leaves touched at random: with this week's key, which each
// insert must check, two weeks of btree had to stay in Postgres's buffers,
// and at 50 M events a year they did not fit the default 128 MB (about one
// read from the operating system per event and index). A hash index holds
// a 4-byte hash code an event (about 33 bytes with its overhead), so a
// probe reads one bucket page of a third of the memory; the planner takes
// it for the lookup by itself (event_id = …, then workspace_id as a filter
// on the rare hash match). It is built once the week is over, not kept on
// the week being written, where it would be one more index to insert into.
// The primary key stays every week's idempotency key; this index is only
// a faster way to the same rows, and a lookup without it (a run that has not
// built it yet, an older week's late event) uses the key as before.
//
// The build and drop are CONCURRENTLY, so usage goes on meanwhile; each
// runs outside a transaction and waits at most buildLockTimeout for the
// transactions running when it starts. The build reads the whole week:
// 1.7 s a million events, so an hour and more for a week of billions. A
// shutdown stops it (builder.exec) rather than wait for it; what it leaves,
// an invalid index, the next run drops and builds again.
func (b builder) lookupIndexes(last time.Time) error {
	ctx, conn := b.ctx, b.conn
	rows, err := conn.QueryContext(ctx, `SELECT t.relname, i.relname, x.indisvalid
		FROM pg_inherits h JOIN pg_class t ON t.oid = h.inhrelid
		JOIN pg_index x ON x.indrelid = t.oid JOIN pg_class i ON i.oid = x.indexrelid
		WHERE h.inhparent = $1::regclass AND right(i.relname, $2) = $3`, table, len(lookupSuffix), lookupSuffix)
	if err != nil {
		return err
	}
	var drop []string
	built := false
	for rows.Next() {
		var t, i string
		var valid bool
		if err := rows.Scan(&t, &i, &valid); err != nil {
			rows.Close()
			return err
		}
		if d, ok := parseName(t); ok && d.Equal(last) && valid {
			built = true
		} else {
			drop = append(drop, i) // another week's, or an interrupted build's
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `SET lock_timeout = '`+buildLockTimeout+`'`); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, `RESET lock_timeout`) //nolint:errcheck // the next step sets its own; a broken session is discarded
	for _, i := range drop {
		if err := b.exec(`DROP INDEX CONCURRENTLY IF EXISTS ` + pq.QuoteIdentifier(i)); err != nil {
			return fmt.Errorf("drop %s: %w", i, err)
		}
	}
	if built {
		return nil
	}
	p := Name(last)
	if err := b.exec(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ` + pq.QuoteIdentifier(p+lookupSuffix) +
		` ON ` + pq.QuoteIdentifier(p) + ` USING hash (event_id)`); err != nil {
		return fmt.Errorf("build on %s: %w", p, err)
	}
	return nil
}

// builder runs the lookup index's long statements on Maintain's session.
type builder struct {
	ctx  context.Context // never ends (see Maintain)
	stop context.Context // ends at shutdown
	db   *sql.DB
	conn *sql.Conn
}

// exec runs stmt on the session and, if stop ends first, cancels it from
// another session (pg_cancel_backend), so the statement returns its own
// error: ending the context of the statement instead would close the
// session under it (see Maintain). A cancel that arrives while the
// session is idle (before the statement, or after it ended) is ignored
// by Postgres.
// The error of a stopped statement wraps stop's.
func (b builder) exec(stmt string) error {
	if err := b.stop.Err(); err != nil {
		return err
	}
	var pid int
	if err := b.conn.QueryRowContext(b.ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return err
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-done:
		case <-b.stop.Done():
			// Again each second: a cancel that reached the session just
			// before the statement did was ignored.
			for {
				ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
				b.db.ExecContext(ctx, `SELECT pg_cancel_backend($1)`, pid) //nolint:errcheck // tried again until the statement ends
				cancel()
				select {
				case <-done:
					return
				case <-time.After(time.Second):
				}
			}
		}
	}()
	_, err := b.conn.ExecContext(b.ctx, stmt)
	close(done)
	<-finished // no cancel is still on its way to the session's next statement
	if err != nil && b.stop.Err() != nil {
		return fmt.Errorf("%w: %v", b.stop.Err(), err)
	}
	return err
}

// weekPartitions lists the Mondays of the weeks that have a partition,
// oldest first.
func weekPartitions(ctx context.Context, conn *sql.Conn) ([]time.Time, error) {
	rows, err := conn.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = $1::regclass`, table)
	if err != nil {
		return nil, fmt.Errorf("partitions: list: %w", err)
	}
	defer rows.Close()
	var weeks []time.Time
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if d, ok := parseName(n); ok {
			weeks = append(weeks, d)
		}
	}
	sort.Slice(weeks, func(i, j int) bool { return weeks[i].Before(weeks[j]) })
	return weeks, rows.Err()
}

func inTx(ctx context.Context, conn *sql.Conn, f func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+lockTimeout+`'`); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := f(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}

// Name is the partition of the week starting on Monday d: usage_events_YYYYMMDD.
func Name(d time.Time) string { return prefix + d.Format(nameFormat) }

func parseName(n string) (time.Time, bool) {
	s, ok := strings.CutPrefix(n, prefix)
	if !ok || len(s) != len(nameFormat) {
		return time.Time{}, false
	}
	d, err := time.Parse(nameFormat, s)
	return d, err == nil && d.Weekday() == time.Monday
}
