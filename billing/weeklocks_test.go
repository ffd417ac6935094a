package billing_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/partitions/week"
)

// Consecutive weeks lock different tables, four apart the same one.
func TestWeekLock_ConsecutiveWeeksDiffer(t *testing.T) {
	monday := week.Start(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	seen := map[int]bool{}
	for i := range 4 {
		seen[billing.WeekLock(monday.Add(time.Duration(i)*week.Length))] = true
	}
	if len(seen) != 4 {
		t.Fatalf("four consecutive weeks map to %d lock tables", len(seen))
	}
	if a, b := billing.WeekLock(monday), billing.WeekLock(monday.Add(4*week.Length)); a != b {
		t.Fatalf("weeks four apart: %d and %d", a, b)
	}
	// Across 1970 (a forged time) too: the week before the epoch's and
	// the epoch's are consecutive.
	epoch := week.Start(time.Unix(0, 0))
	for w := epoch.Add(-2 * week.Length); w.Before(epoch.Add(2 * week.Length)); w = w.Add(week.Length) {
		if a, b := billing.WeekLock(w), billing.WeekLock(w.Add(week.Length)); (a+1)%4 != b {
			t.Fatalf("weeks of %s and the next: %d and %d", w.Format("2006-01-02"), a, b)
		}
	}
	for _, at := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)} {
		if l := billing.WeekLock(week.Start(at)); l < 0 || l > 3 {
			t.Fatalf("week of %s: lock %d", at, l)
		}
	}
}

// What each kind of batch locks: a live event records this week and looks
// up last week only; one in the last hour of its week looks up the next
// too; a late event (last week's) records last week and looks up the
// weeks either side; a later attempt looks up its own week as well.
func TestWeekLocksFor_WhatEachBatchLocks(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) // a Wednesday
	this := week.Start(now)
	last, next := this.Add(-week.Length), this.Add(week.Length)
	lock := func(modes map[time.Time]int) [4]int {
		var l [4]int
		for w, m := range modes {
			l[billing.WeekLock(w)] = m
		}
		return l
	}
	for _, tc := range []struct {
		name  string
		at    []time.Time
		now   time.Time
		whole bool
		want  [4]int
	}{
		{"live", []time.Time{now}, now, false, lock(map[time.Time]int{this: 1, last: 2})},
		{"live, the first instant of the week", []time.Time{this}, this, false, lock(map[time.Time]int{this: 1, last: 2})},
		{"live, the last minute of the week", []time.Time{next.Add(-time.Minute)}, next.Add(-time.Minute), false, lock(map[time.Time]int{this: 1, last: 2, next: 2})},
		{"late, from last week", []time.Time{last.Add(time.Hour)}, now, false, lock(map[time.Time]int{last: 1, last.Add(-week.Length): 2, this: 2})},
		{"live and late in one batch", []time.Time{now, last.Add(time.Hour)}, now, false, lock(map[time.Time]int{this: 3, last: 3, last.Add(-week.Length): 2})},
		{"a later attempt, the whole window", []time.Time{now}, now, true, lock(map[time.Time]int{this: 3, last: 2})},
		{"no events", nil, now, false, [4]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := billing.WeekLocks(tc.at, tc.now, tc.whole); got != tc.want {
				t.Fatalf("locks %v, want %v", got, tc.want)
			}
		})
	}
}

// The locks of a batch are those of its events one by one, each event's
// week for recording and every week its own lookup ranges reach for
// looking up, wherever in its week each event falls: random batches
// around week boundaries, with now anywhere in the last week's final
// hours, on first and later attempts.
func TestWeekLocksFor_EqualsEachEventsOwnRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	monday := week.Start(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	for trial := range 2000 {
		now := monday.Add(week.Length - time.Duration(rng.Int64N(int64(3*time.Hour))))
		var at []time.Time
		for range 1 + rng.IntN(6) {
			// From two weeks before now to 5 minutes after it.
			at = append(at, now.Add(5*time.Minute-time.Duration(rng.Int64N(int64(2*week.Length)))))
		}
		whole := trial%2 == 1
		var want [4]int
		for _, t0 := range at {
			want[billing.WeekLock(week.Start(t0))] |= 1
			for _, r := range billing.LookupRanges(t0, now, whole) {
				for w := week.Start(r[0]); !r[0].After(r[1]) && !w.After(r[1]); w = w.Add(week.Length) {
					want[billing.WeekLock(w)] |= 2
				}
			}
		}
		if got := billing.WeekLocks(at, now, whole); got != want {
			t.Fatalf("events %v, now %s, whole window %v: locks %v, want %v", at, now, whole, got, want)
		}
	}
}

// In Postgres: recording into a week and looking it up wait for each
// other; two recordings, or two lookups, do not; and usage_lock_weeks
// refuses what is not a week lock.
func TestUsageLockWeeks_ModesConflictOnlyAcross(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	hold := func(t *testing.T, mode int) *sql.Tx {
		t.Helper()
		tx, err := f.db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() }) //nolint:errcheck // ends the lock
		if _, err := tx.Exec(`SELECT usage_lock_weeks('{1}', $1::int[], '{}')`, pq.Array([]int{mode})); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	// try reports whether mode can be taken while the other is held: the
	// lock_timeout error when it cannot.
	try := func(t *testing.T, mode int) bool {
		t.Helper()
		tx, err := f.db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck // read only
		if _, err := tx.Exec(`SET LOCAL lock_timeout = '200ms'`); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(`SELECT usage_lock_weeks('{1}', $1::int[], '{}')`, pq.Array([]int{mode}))
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "55P03" {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	const record, lookUp, both = 1, 2, 3
	for _, tc := range []struct {
		held, wanted int
		free         bool
	}{
		{record, record, true}, {lookUp, lookUp, true},
		{record, lookUp, false}, {lookUp, record, false},
		{both, record, false}, {both, lookUp, false}, {record, both, false}, {lookUp, both, false}, {both, both, false},
	} {
		held := hold(t, tc.held)
		if got := try(t, tc.wanted); got != tc.free {
			t.Errorf("mode %d while %d is held: taken %v, want %v", tc.wanted, tc.held, got, tc.free)
		}
		held.Rollback() //nolint:errcheck // ends the lock
	}
	// Another week's lock is free whatever this one's holds.
	held := hold(t, both)
	tx, err := f.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SET LOCAL lock_timeout = '200ms'; SELECT usage_lock_weeks('{0,2,3}', '{3,3,3}', '{}')`); err != nil {
		t.Fatalf("other weeks: %v", err)
	}
	tx.Rollback()   //nolint:errcheck // read only
	held.Rollback() //nolint:errcheck // ends the lock
	for _, bad := range []struct{ tables, modes, buckets string }{
		{"{4}", "{1}", "{}"}, {"{-1}", "{1}", "{}"}, {"{NULL}", "{1}", "{}"}, {"{1}", "{0}", "{}"}, {"{1}", "{4}", "{}"},
		{"{1}", "{NULL}", "{}"}, {"{1,2}", "{1}", "{}"}, {"{1}", "{1}", "{64}"}, {"{1}", "{1}", "{-1}"}, {"{1}", "{1}", "{NULL}"},
	} {
		_, err := f.db.SQL.Exec(`SELECT usage_lock_weeks($1::int[], $2::int[], $3::int[])`, bad.tables, bad.modes, bad.buckets)
		if err == nil || !strings.Contains(err.Error(), "usage_lock_weeks") {
			t.Errorf("usage_lock_weeks(%s, %s, %s): %v, want it refused", bad.tables, bad.modes, bad.buckets, err)
		}
	}
}

// Two spread groups run at once: while one waits (here on a trace counter
// another session holds), a second report, spread over other workspaces,
// is charged. Before the week locks, every spread transaction took nearly
// all the event-id locks and the committer ran one at a time.
func TestIngestUsage_SpreadGroupsCommitSideBySide(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	svc := f.deferAll(t)
	now := time.Now().UTC()
	blocked := []uuid.UUID{f.workspace(t, "free", "10"), f.workspace(t, "free", "10")}
	free := []uuid.UUID{f.workspace(t, "free", "10"), f.workspace(t, "free", "10")}
	other := f.lockTraceCounter(t, blocked[0], now) // the first report's
	first := make(chan error, 1)
	go func() {
		evs := []billing.UsageEvent{usageAt(blocked[0], "b0", now), usageAt(blocked[1], "b1", now)}
		evs[0].Traces = 1
		res, err := svc.IngestUsage(ctx, evs)
		if err == nil && res.Accepted != 2 {
			err = errors.New("the first report was not accepted whole")
		}
		first <- err
	}()
	f.waitForSessions(t, 1, `wait_event_type = 'Lock' AND query LIKE '%trace_counters%'`, "the first report waiting on the trace counter")
	second, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := svc.IngestUsage(second, []billing.UsageEvent{usageAt(free[0], "f0", now), usageAt(free[1], "f1", now)})
	if err != nil || res.Accepted != 2 {
		t.Fatalf("the second report, beside the waiting one: %+v %v", res, err)
	}
	select {
	case err := <-first:
		t.Fatalf("the first report ended while its counter was locked: %v", err)
	default:
	}
	if err := other.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	settle(t, svc)
	for _, ws := range append(blocked, free...) {
		f.assertInvariant(t, ws)
	}
	if n := f.count(t, `SELECT count(*) FROM usage_events`); n != 4 {
		t.Fatalf("%d events recorded, want 4", n)
	}
}

// The same spread report sent 20 times at once, in 20 different orders,
// through two instances (a router retrying while the first is in flight):
// every event is charged once, with its traces, and no report fails. Two
// transactions recording the same ids or counting the same workspaces'
// traces take them in one order, so they wait for each other instead of
// deadlocking.
func TestIngestUsage_SameSpreadReportTwentyTimesAtOnce(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	svcs := []*billing.Service{f.deferAll(t), f.deferAll(t)}
	now := time.Now().UTC()
	var ws []uuid.UUID
	for range 10 {
		ws = append(ws, f.workspace(t, "free", "100"))
	}
	var report []billing.UsageEvent
	for i := range 50 {
		ev := usageAt(ws[i%len(ws)], fmt.Sprintf("ev-%02d", i), now)
		ev.Traces = 1
		report = append(report, ev)
	}
	before := map[uuid.UUID]money.Amount{}
	for _, id := range ws {
		before[id] = f.assertInvariant(t, id)
	}
	results, errs := ingestAtOnce(svcs, 20, func(g int) []billing.UsageEvent {
		mine := slices.Clone(report)
		rand.New(rand.NewPCG(uint64(g), 1)).Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		return mine
	})
	accepted, duplicates := 0, 0
	for g := range 20 {
		if errs[g] != nil {
			t.Fatalf("report %d: %v", g, errs[g])
		}
		accepted, duplicates = accepted+results[g].Accepted, duplicates+results[g].Duplicates
	}
	if accepted != 50 || duplicates != 19*50 {
		t.Fatalf("%d accepted, %d duplicates; want 50 and %d", accepted, duplicates, 19*50)
	}
	settle(t, svcs[0])
	if n := f.count(t, `SELECT count(*) FROM usage_events`); n != 50 {
		t.Fatalf("%d events recorded, want 50", n)
	}
	if n := f.count(t, `SELECT coalesce(sum(count), 0) FROM trace_counters`); n != 50 {
		t.Fatalf("%d traces counted, want 50", n)
	}
	for _, id := range ws {
		if after := f.assertInvariant(t, id); after >= before[id] {
			t.Fatalf("workspace %s not charged: %s → %s", id, before[id], after)
		}
	}
}

// ingestAtOnce sends n reports at once, report g (batch(g)) through
// svcs[g mod len(svcs)], and returns each one's result and error.
func ingestAtOnce(svcs []*billing.Service, n int, batch func(g int) []billing.UsageEvent) ([]billing.IngestResult, []error) {
	var wg sync.WaitGroup
	results, errs := make([]billing.IngestResult, n), make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[g], errs[g] = svcs[g%len(svcs)].IngestUsage(context.Background(), batch(g))
		}()
	}
	wg.Wait()
	return results, errs
}

// During a rolling upgrade: while an instance older than the week locks
// holds a workspace's event-id lock (exclusive, on its FNV-1a bucket, as
// that binary took it), a new instance's usage transaction of the same
// workspace waits for it, so the two lookups still cannot pass each other.
func TestIngestUsage_WaitsForAnOldInstancesEventIDLock(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	ws := f.workspace(t, "free", "10")
	h := fnv.New32a()
	h.Write(ws[:])
	old, err := f.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback() //nolint:errcheck // ends the lock
	if _, err := old.Exec(`SELECT pg_advisory_xact_lock($1::int, $2::int)`, 0x75736167, int32(h.Sum32()%64)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "during-upgrade", time.Now().UTC())})
		if err == nil && res.Accepted != 1 {
			err = fmt.Errorf("not accepted: %+v", res)
		}
		done <- err
	}()
	f.waitForSessions(t, 1, `wait_event = 'advisory' AND query LIKE '%usage_lock_weeks%'`, "the new instance's usage transaction waiting for the old instance's lock")
	if err := old.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.assertInvariant(t, ws)
}

// waitForSessions polls pg_stat_activity, for up to 10 s, until n
// sessions match where; what names them in the failure.
func (f *fixture) waitForSessions(t *testing.T, n int, where, what string) {
	t.Helper()
	waitFor(t, what, func() bool { return f.count(t, `SELECT count(*) FROM pg_stat_activity WHERE `+where) >= n })
}

// A caller that hangs up while its report waits for a free transaction
// (two spread groups already in flight, both waiting on a trace counter
// another session holds) is told so once a slot frees, and its events are
// not charged; the two in flight are charged once each.
func TestIngestUsage_HangUpWhileSpreadGroupsAreInFlight(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	svc := f.deferAll(t)
	now := time.Now().UTC()
	hot, a, b := f.workspace(t, "free", "10"), f.workspace(t, "free", "10"), f.workspace(t, "free", "10")
	other := f.lockTraceCounter(t, hot, now)
	inFlight := make(chan error, 2)
	for i := range 2 {
		go func() {
			evs := []billing.UsageEvent{usageAt(hot, fmt.Sprint("hot-", i), now), usageAt(a, fmt.Sprint("a-", i), now)}
			evs[0].Traces = 1
			res, err := svc.IngestUsage(ctx, evs)
			if err == nil && res.Accepted != 2 {
				err = fmt.Errorf("in-flight report %d: %+v", i, res)
			}
			inFlight <- err
		}()
		f.waitForSessions(t, i+1, `wait_event_type = 'Lock' AND query LIKE '%trace_counters%'`, "spread reports waiting on the trace counter")
	}
	hangUp, cancel := context.WithCancel(ctx)
	third := make(chan error, 1)
	go func() {
		_, err := svc.IngestUsage(hangUp, []billing.UsageEvent{usageAt(a, "gone-a", now), usageAt(b, "gone-b", now)})
		third <- err
	}()
	time.Sleep(100 * time.Millisecond) // queued behind the two
	cancel()
	if err := other.Rollback(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-inFlight; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-third; !errors.Is(err, context.Canceled) {
		t.Fatalf("the report whose caller hung up: %v, want context.Canceled", err)
	}
	settle(t, svc)
	if n := f.count(t, `SELECT count(*) FROM usage_events WHERE event_id LIKE 'gone-%'`); n != 0 {
		t.Fatalf("%d events of the abandoned report recorded", n)
	}
	if n := f.count(t, `SELECT count(*) FROM usage_events`); n != 4 {
		t.Fatalf("%d events recorded, want the in-flight reports' 4", n)
	}
	for _, ws := range []uuid.UUID{hot, a, b} {
		f.assertInvariant(t, ws)
	}
}

// lockTraceCounter creates ws's trace counter for the month of at and
// locks it from another session until the returned transaction ends (at
// the test's end at the latest), so that a usage transaction counting
// ws's traces waits.
func (f *fixture) lockTraceCounter(t *testing.T, ws uuid.UUID, at time.Time) *sql.Tx {
	t.Helper()
	if _, err := f.db.SQL.Exec(`INSERT INTO trace_counters (workspace_id, month, count) VALUES ($1, $2, 0)`, ws, at.Format("2006-01")); err != nil {
		t.Fatal(err)
	}
	tx, err := f.db.SQL.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() }) //nolint:errcheck // ends the lock
	if _, err := tx.Exec(`SELECT FROM trace_counters WHERE workspace_id = $1 FOR UPDATE`, ws); err != nil {
		t.Fatal(err)
	}
	return tx
}
