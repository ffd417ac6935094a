package billing

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/partitions/week"
)

// Week locks order usage transactions around the duplicate lookup of the
// neighbouring weeks (see dedupe). A transaction's lookup of week V must
// see every event of V recorded by a transaction that committed before,
// and a transaction recording into V after it must in turn find its
// events. So every usage transaction takes, before the statement whose
// snapshot its lookup reads:
//   - ROW EXCLUSIVE on the lock of each week it records events into;
//   - SHARE on the lock of each week it looks up;
//   - SHARE ROW EXCLUSIVE (both) on a week it does both for.
//
// ROW EXCLUSIVE and SHARE conflict with each other and not with
// themselves: live transactions, which all record into this week and look
// up last week, never wait for one another, and a late event's (recorded
// into last week) waits for them and they for it. Two events of one id in
// the same week need no lock: the week's unique key refuses the second.
//
// The locks are table locks on empty tables (usage_week_locks_0..3,
// migrations/sql/20261130090000_usage_week_locks.sql), a week's being
// usage_week_locks_<week number mod 4>: advisory locks have only shared
// and exclusive modes, where a writer-versus-lookup conflict without
// writer-versus-writer needs two modes that conflict only with each other,
// and the partitions themselves cannot carry them (SHARE would wait for,
// and stall behind, the CREATE INDEX CONCURRENTLY of last week's lookup
// index and every VACUUM). Weeks four apart share a lock: a spurious
// wait, never a missed one.
const weekLockTables = 4

// Lock modes, as usage_lock_weeks takes them.
const (
	lockRecord = 1                       // ROW EXCLUSIVE
	lockLookUp = 2                       // SHARE
	lockBoth   = lockRecord | lockLookUp // SHARE ROW EXCLUSIVE
)

// weekLocks is the mode a usage transaction needs on each week lock, by
// lock table.
type weekLocks [weekLockTables]int

// weekLock is the lock table of the week starting at monday (a week.Start).
func weekLock(monday time.Time) int {
	secs, length := monday.Unix(), int64(week.Length/time.Second)
	n := secs / length // consecutive Mondays, consecutive numbers (floored, before 1970 too)
	if secs%length < 0 {
		n--
	}
	return int((n%weekLockTables + weekLockTables) % weekLockTables)
}

// lookUp adds the locks of every week [from, to] reaches (a lookup range:
// at most the dedupe window either side of an event, so three weeks), for
// looking them up.
func (l *weekLocks) lookUp(from, to time.Time) {
	for w := week.Start(from); !w.After(to); w = w.Add(week.Length) {
		l[weekLock(w)] |= lockLookUp
	}
}

// weekLocksFor is what a usage transaction recording events needs,
// looking up as d says: the week of each event, and each week its lookup
// ranges reach (a superset when some events turn out not to be recorded).
// Which weeks an event's ranges reach depends only on its week, not on
// where in it the event falls (lookupRanges: the window's part before the
// week lies in the week before; the part after it reaches the next week
// exactly when now + recordedHorizon does), so each week's are added
// once, from its first instant: a batch's events share a week or two, and
// per event this was 228 µs for 1,000.
func weekLocksFor(events []pricedEvent, now time.Time, d dedupe) weekLocks {
	var l weekLocks
	var done []time.Time // the weeks added, few
	for _, ev := range events {
		if len(done) > 0 {
			if last := done[len(done)-1]; !ev.OccurredAt.Before(last) && ev.OccurredAt.Before(last.Add(week.Length)) {
				continue // in the week added last
			}
		}
		w := week.Start(ev.OccurredAt)
		if slices.ContainsFunc(done, w.Equal) {
			continue
		}
		done = append(done, w)
		l[weekLock(w)] |= lockRecord
		for _, r := range lookupRanges(w, now, d.wholeWindow) {
			if !r[0].After(r[1]) {
				l.lookUp(r[0], r[1])
			}
		}
	}
	return l
}

// lockWeeks takes locks in tx, in lock table order (so two transactions
// cannot deadlock on them), in one statement, after the workspaces' old
// event-id locks, shared (oldEventIDBuckets). With a filter, it also
// returns the count of transactions that inserted into the filter's week
// since its seal, read after the locks (NULL when the week is not
// sealed): what trustedFilter compares with the filter's own. Without
// one (not built yet, or a week too big to filter) the three-argument
// form spares every usage transaction that read.
func lockWeeks(ctx context.Context, tx *ledger.Tx, locks weekLocks, ws []uuid.UUID, f *weekFilter) (late sql.NullInt64, err error) {
	var tables, modes []int32
	for i, m := range locks {
		if m != 0 {
			tables, modes = append(tables, int32(i)), append(modes, int32(m))
		}
	}
	if len(tables) == 0 {
		return late, nil
	}
	args := []any{pq.Array(tables), pq.Array(modes), pq.Array(oldEventIDBuckets(ws))}
	if f == nil {
		_, err = tx.ExecContext(ctx, `SELECT usage_lock_weeks($1::int[], $2::int[], $3::int[])`, args...)
	} else {
		err = tx.QueryRow(ctx, `SELECT usage_lock_weeks($1::int[], $2::int[], $3::int[], $4::date)`,
			append(args, f.week.Format(time.DateOnly)), &late)
	}
	if err != nil {
		return late, fmt.Errorf("lock usage weeks: %w", err)
	}
	return late, nil
}

// oldEventIDBucketCount is how many buckets the old instances hash
// workspaces into (usage_lock_weeks refuses any other).
const oldEventIDBucketCount = 64

// oldEventIDBuckets are the advisory lock buckets of the workspaces, in
// order, as instances older than the week locks (before 30 Nov 2026) lock
// them, exclusive, instead of week locks: each workspace's FNV-1a hash
// mod oldEventIDBucketCount, under key 0x75736167. usage_lock_weeks takes
// them shared, so that during a rolling upgrade an old instance's usage
// transaction and a new one's still wait for each other, and new ones
// never do (migrations/sql/20261130100000_usage_week_locks_upgrade.sql).
// Remove once no older instance can run.
func oldEventIDBuckets(ws []uuid.UUID) []int32 {
	var seen [oldEventIDBucketCount]bool
	for _, id := range ws {
		h := fnv.New32a()
		h.Write(id[:])
		seen[h.Sum32()%oldEventIDBucketCount] = true
	}
	var buckets []int32
	for b, ok := range seen {
		if ok {
			buckets = append(buckets, int32(b))
		}
	}
	return buckets
}
