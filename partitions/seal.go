package partitions

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/airouter/credits/partitions/week"
)

// SealAfter is how long after its end a week is sealed: the events of its
// last minutes that arrive late (a router's retries, clocks that disagree)
// land before, and each one after costs every instance a rebuild of its
// filter (billing/weekfilter.go).
const SealAfter = time.Hour

// Seal seals last week (the week before now's) once it has been over for
// SealAfter: its partition gets a row trigger that counts, in
// usage_week_seals.late_writes, every transaction inserting into it from
// then on (migrations/sql/20261130120000_usage_week_seals.sql). CREATE
// TRIGGER waits for the inserts running into the partition and holds off
// new ones until the seal commits (lockTimeout bounds the wait; a seal
// that times out is made by the next run), so every insert into the week
// either committed before the seal or is counted: what lets an instance's filter
// of the week, built from a snapshot with the count, be trusted while the
// count stays the same. It reports whether the week is sealed (now or
// before). Several instances may seal at once: the partition lock orders
// them and the second changes nothing.
func Seal(ctx context.Context, db *sql.DB, now time.Time) (time.Time, bool, error) {
	monday := week.Start(now).AddDate(0, 0, -7)
	if now.Before(monday.Add(week.Length + SealAfter)) {
		return monday, false, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return monday, false, fmt.Errorf("partitions: seal: connect: %w", err)
	}
	defer conn.Close()
	var sealed, exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM usage_week_seals WHERE week = $1), to_regclass($2) IS NOT NULL`,
		monday.Format(time.DateOnly), Name(monday)).Scan(&sealed, &exists); err != nil {
		return monday, false, fmt.Errorf("partitions: seal: %w", err)
	}
	if sealed || !exists { // no partition: the week's events are in none a trigger could count
		return monday, sealed, nil
	}
	day := pq.QuoteLiteral(monday.Format(time.DateOnly))
	if err := inTx(ctx, conn, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE OR REPLACE TRIGGER usage_week_late_write AFTER INSERT ON `+pq.QuoteIdentifier(Name(monday))+
			` FOR EACH ROW EXECUTE FUNCTION usage_week_late_write(`+day+`)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO usage_week_seals (week) VALUES (`+day+`) ON CONFLICT (week) DO NOTHING`)
		return err
	}); err != nil {
		return monday, false, fmt.Errorf("partitions: seal %s: %w", Name(monday), err)
	}
	return monday, true, nil
}
