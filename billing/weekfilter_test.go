package billing_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/partitions/week"
)

// The filter never says a key it holds is missing, whatever the bytes of
// the id (NUL, invalid UTF-8, the longest id), and rules out all but
// about 1 % of keys it does not hold.
func TestKeyFilter_NoFalseNegativesFewFalsePositives(t *testing.T) {
	ws := uuid.New()
	keys := []string{"", "\x00", "\x00\x00", "\xff\xfe", strings.Repeat("x", 200), "é", "e\u0301"}
	for i := range 100_000 {
		keys = append(keys, uuid.NewString()+fmt.Sprint(i%7))
	}
	others := make([]string, 100_000)
	for i := range others {
		others[i] = uuid.NewString()
	}
	fn, fp := billing.KeyFilterErrors(keys, others, ws)
	if fn != 0 {
		t.Fatalf("%d keys added are said to be missing", fn)
	}
	if fp > 0.02 {
		t.Fatalf("%.2f %% false positives, want about 1 %%", 100*fp)
	}
	t.Logf("false positives: %.3f %%", 100*fp)
}

// filterWeek sets the fixture up as a Wednesday 03:00 of this week by svc's
// clock: weekly partitions, and last week (returned) sealed.
func filterWeek(t *testing.T, f *fixture) (now, lastWeek time.Time) {
	t.Helper()
	weeklyPartitions(t, f)
	now = week.Start(time.Now()).Add(2*24*time.Hour + 3*time.Hour)
	lastWeek = week.Start(now).AddDate(0, 0, -7)
	return now, lastWeek
}

func seal(t *testing.T, f *fixture, now time.Time) {
	t.Helper()
	if _, sealed, err := partitions.Seal(context.Background(), f.db.SQL, now); err != nil || !sealed {
		t.Fatalf("seal: %v %v", sealed, err)
	}
}

func buildFilter(t *testing.T, svc *billing.Service, monday time.Time) {
	t.Helper()
	if ok, err := billing.BuildWeekFilter(context.Background(), svc, monday); err != nil || !ok {
		t.Fatalf("build the filter of %s: %v %v", monday, ok, err)
	}
}

func ingestOne(t *testing.T, svc *billing.Service, ev billing.UsageEvent) billing.IngestResult {
	t.Helper()
	res, err := svc.IngestUsage(context.Background(), []billing.UsageEvent{ev})
	if err != nil || len(res.Rejected) != 0 {
		t.Fatalf("ingest %s at %s: %+v %v", ev.ID, ev.OccurredAt, res, err)
	}
	return res
}

// With a trusted filter of last week, a live event's lookup of last week
// goes to Postgres only when the filter may hold its id: a new id is not
// looked up, a retried one still is and is refused. A late event recorded
// into last week after the filter was built (by another instance) makes
// every filter untrusted until rebuilt, so its retry is refused too.
func TestWeekFilter_LeavesOutLookupsAndNeverADuplicate(t *testing.T) {
	f := newFixture(t)
	now, lastWeek := filterWeek(t, f)
	clock := newTestClockAt(now)
	svc, other := f.service(t, billing.Config{Clock: clock.Now}), f.service(t, billing.Config{Clock: clock.Now})
	ws := f.workspace(t, "enterprise", "100")
	friday := lastWeek.Add(4*24*time.Hour + 12*time.Hour) // 5 days before now
	ingestOne(t, svc, usageAt(ws, "before-seal", friday))
	if ok, err := billing.BuildWeekFilter(context.Background(), svc, lastWeek); ok || err != nil {
		t.Fatalf("a filter of an unsealed week: %v %v", ok, err)
	}
	seal(t, f, now)
	buildFilter(t, svc, lastWeek)
	if n := svc.UsageFilterEvents(); n != 1 {
		t.Fatalf("filter holds %d events, want 1", n)
	}

	filtered := svc.UsageLookupsFiltered()
	if res := ingestOne(t, svc, usageAt(ws, "new", now)); res.Accepted != 1 {
		t.Fatalf("a new live event: %+v", res)
	}
	if got := svc.UsageLookupsFiltered() - filtered; got != 1 {
		t.Fatalf("%d lookups filtered, want the new event's", got)
	}
	if res := ingestOne(t, svc, usageAt(ws, "before-seal", now)); res.Duplicates != 1 {
		t.Fatalf("a retry of last week's event, 5 days later: %+v, want a duplicate", res)
	}

	// Another instance records a late event into last week, after the seal.
	ingestOne(t, other, usageAt(ws, "after-seal", friday.Add(time.Hour)))
	if n := f.count(t, `SELECT late_writes FROM usage_week_seals WHERE week = $1`, lastWeek.Format(time.DateOnly)); n != 1 {
		t.Fatalf("late_writes %d, want 1", n)
	}
	if res := ingestOne(t, svc, usageAt(ws, "after-seal", now)); res.Duplicates != 1 {
		t.Fatalf("a retry of the late event, through the instance whose filter predates it: %+v, want a duplicate", res)
	}
	if n := svc.UsageFilterEvents(); n != 0 {
		t.Fatalf("filter of %d events still trusted after a late write", n)
	}
	// Rebuilt, it holds both and is trusted again.
	buildFilter(t, svc, lastWeek)
	if n := svc.UsageFilterEvents(); n != 2 {
		t.Fatalf("rebuilt filter holds %d events, want 2", n)
	}
	filtered = svc.UsageLookupsFiltered()
	for _, id := range []string{"before-seal", "after-seal"} {
		if res := ingestOne(t, svc, usageAt(ws, id, now.Add(time.Minute))); res.Duplicates != 1 {
			t.Fatalf("%s after the rebuild: %+v, want a duplicate", id, res)
		}
	}
	if res := ingestOne(t, svc, usageAt(ws, "new-2", now)); res.Accepted != 1 {
		t.Fatalf("%+v", res)
	}
	if got := svc.UsageLookupsFiltered() - filtered; got != 1 {
		t.Fatalf("%d lookups filtered, want only the new event's", got)
	}
	f.assertChargedEvents(t, ws, 4) // before-seal, new, after-seal, new-2
}

// assertChargedEvents: ws's ledger equals its balance and holds n events.
func (f *fixture) assertChargedEvents(t *testing.T, ws uuid.UUID, n int) {
	t.Helper()
	f.assertInvariant(t, ws)
	if got := f.count(t, `SELECT count(*) FROM usage_events WHERE workspace_id = $1`, ws); got != n {
		t.Fatalf("%d events recorded, want %d", got, n)
	}
}

// The count a usage transaction compares with its filter's is read after
// its week locks: a late event's transaction that commits while the live
// one waits for its lock is seen, and the live retry is refused.
func TestWeekFilter_LateEventCommittedWhileWaitingForTheLock(t *testing.T) {
	f := newFixture(t)
	now, lastWeek := filterWeek(t, f)
	svc := f.service(t, billing.Config{Clock: newTestClockAt(now).Now})
	ws := f.workspace(t, "enterprise", "100")
	seal(t, f, now)
	buildFilter(t, svc, lastWeek)
	late := f.lateInsert(t, ws, "raced", lastWeek.Add(6*24*time.Hour), lastWeek)
	done := make(chan billing.IngestResult, 1)
	go func() {
		res, err := svc.IngestUsage(context.Background(), []billing.UsageEvent{usageAt(ws, "raced", now)})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	f.waitForSessions(t, 1, `wait_event_type = 'Lock' AND query LIKE '%usage_lock_weeks%'`, "the live report waiting for last week's lock")
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.Duplicates != 1 {
		t.Fatalf("live retry of an event committed while it waited: %+v, want a duplicate", res)
	}
}

// lateInsert records an event of ws into the week starting on monday from
// another session, as a late event's transaction does (ROW EXCLUSIVE on
// the week's lock), and leaves the transaction open.
func (f *fixture) lateInsert(t *testing.T, ws uuid.UUID, id string, at, monday time.Time) *sql.Tx {
	t.Helper()
	tx, err := f.db.SQL.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() }) //nolint:errcheck // ends the lock
	if _, err := tx.Exec(fmt.Sprintf(`LOCK TABLE usage_week_locks_%d IN ROW EXCLUSIVE MODE`, billing.WeekLock(monday))); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens, cached_input_tokens, traces, cost, trace_cost, batch, event_id, model)
		VALUES ($1, $2, 1, 1, 0, 0, 1, 0, $3, $4, 'gpt-4o')`, ws, at, uuid.New(), id); err != nil {
		t.Fatal(err)
	}
	return tx
}

// Sealing waits for an insert running into the week: the event it
// commits is in the filter built after, and is not counted as late.
func TestWeekFilter_SealWaitsForAnInsertInFlight(t *testing.T) {
	f := newFixture(t)
	now, lastWeek := filterWeek(t, f)
	svc := f.service(t, billing.Config{Clock: newTestClockAt(now).Now})
	ws := f.workspace(t, "enterprise", "100")
	late := f.lateInsert(t, ws, "in-flight", lastWeek.Add(6*24*time.Hour), lastWeek)
	sealed := make(chan error, 1)
	go func() {
		_, ok, err := partitions.Seal(context.Background(), f.db.SQL, now)
		if err == nil && !ok {
			err = fmt.Errorf("not sealed")
		}
		sealed <- err
	}()
	f.waitForSessions(t, 1, `wait_event_type = 'Lock' AND query LIKE 'CREATE OR REPLACE TRIGGER%'`, "the seal waiting for the insert")
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-sealed; err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT late_writes FROM usage_week_seals WHERE week = $1`, lastWeek.Format(time.DateOnly)); n != 0 {
		t.Fatalf("late_writes %d: the insert before the seal counted", n)
	}
	buildFilter(t, svc, lastWeek)
	if n := svc.UsageFilterEvents(); n != 1 {
		t.Fatalf("filter holds %d events, want the in-flight one", n)
	}
	if res := ingestOne(t, svc, usageAt(ws, "in-flight", now)); res.Duplicates != 1 {
		t.Fatalf("%+v, want a duplicate", res)
	}
}

// RunWeekFilter builds the filter once last week is sealed (told by
// WakeWeekFilter), and again after a late write makes it untrusted.
func TestWeekFilter_RunBuildsAndRebuilds(t *testing.T) {
	f := newFixture(t)
	now, lastWeek := filterWeek(t, f)
	svc := f.service(t, billing.Config{Clock: newTestClockAt(now).Now})
	ws := f.workspace(t, "enterprise", "100")
	ingestOne(t, svc, usageAt(ws, "a", lastWeek.Add(time.Hour)))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { svc.RunWeekFilter(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	seal(t, f, now)
	svc.WakeWeekFilter()
	waitFor(t, "the filter built", func() bool { return svc.UsageFilterEvents() == 1 })
	ingestOne(t, svc, usageAt(ws, "b", lastWeek.Add(2*time.Hour))) // late: the count moves
	svc.WakeWeekFilter()                                           // the poll finds the count moved, with no usage transaction to tell it
	waitFor(t, "the filter rebuilt", func() bool { return svc.UsageFilterEvents() == 2 })
}

// waitFor polls ok, for up to 10 s, until it holds; what names it in the
// failure.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s", what)
		}
	}
}

// The filter's bound follows the memory limit, and no limit (the largest
// int64) does not overflow it.
func TestWeekFilter_BoundFollowsTheMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	if n := billing.FilterMaxEvents(); n != 100_000_000 {
		t.Fatalf("no limit: %d events, want the 100 million cap", n)
	}
	debug.SetMemoryLimit(128 << 20)
	if n := billing.FilterMaxEvents(); n != (128<<20)/4/10*8 {
		t.Fatalf("128 MiB: %d events, want a quarter of it at 10 bits each", n)
	}
	debug.SetMemoryLimit(0)
	if n := billing.FilterMaxEvents(); n != 0 {
		t.Fatalf("no memory: %d events", n)
	}
}

// A filter is of one week and rules out only ranges inside it: two weeks
// on, with the builder not yet caught up (the next week not sealed), the
// live lookup of last week goes to Postgres and finds a retry, and a late
// event's lookup of the filter's week still uses it.
func TestWeekFilter_OnlyItsOwnWeek(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	this := week.Start(time.Now())
	older := this.AddDate(0, 0, -14) // the filter's week
	now := this.Add(24 * time.Hour)  // Tuesday: last week not sealed (as if maintenance had not run yet)
	svc := f.service(t, billing.Config{Clock: newTestClockAt(now).Now})
	ws := f.workspace(t, "enterprise", "100")
	seal(t, f, older.AddDate(0, 0, 7).Add(2*time.Hour))
	buildFilter(t, svc, older)
	sunday := this.Add(-time.Hour)
	ingestOne(t, svc, usageAt(ws, "last-week", sunday)) // recorded into last week; looks up the filter's week through it
	if got := svc.UsageLookupsFiltered(); got != 1 {
		t.Fatalf("%d lookups filtered, want the late event's, inside the filter's week", got)
	}
	if res := ingestOne(t, svc, usageAt(ws, "last-week", now)); res.Duplicates != 1 {
		t.Fatalf("a retry 25 hours later, its lookup outside the filter's week: %+v, want a duplicate", res)
	}
	if got := svc.UsageLookupsFiltered(); got != 1 {
		t.Fatalf("%d lookups filtered, want still 1", got)
	}
}
