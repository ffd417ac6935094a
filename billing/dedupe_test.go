package billing_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/partitions"
	"github.com/airouter/credits/partitions/week"
)

// weeklyPartitions gives the fixture's usage_events the weekly partitions a
// service running for the past 90 days would have.
func weeklyPartitions(t *testing.T, f *fixture) {
	t.Helper()
	now := time.Now()
	for _, at := range []time.Time{now.AddDate(0, 0, -90), now} {
		if err := partitions.Maintain(context.Background(), f.db.SQL, at, 400*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
}

func usageAt(ws uuid.UUID, id string, at time.Time) billing.UsageEvent {
	return billing.UsageEvent{ID: id, WorkspaceID: ws.String(), Model: "gpt-4o", InputTokens: 1000, OutputTokens: 1000, OccurredAt: at}
}

// The idempotency key: an identical re-delivery is refused however long
// after (here 60 days, other weeks' partitions in between), and the same
// event id with an occurred_at up to 7 days apart, in either direction
// and across week boundaries, is a duplicate too. Further apart it is
// another event (the documented window).
func TestIngestUsage_DuplicatesRefusedOverTheDedupeWindow(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "100")
	base := time.Now().UTC().AddDate(0, 0, -60).Truncate(time.Microsecond)
	first, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "e1", base)})
	if err != nil || first.Accepted != 1 {
		t.Fatalf("first delivery: %+v %v", first, err)
	}
	for _, tc := range []struct {
		name      string
		at        time.Time
		duplicate bool
	}{
		{"identical", base, true},
		{"a microsecond later", base.Add(time.Microsecond), true},
		{"six days later (another week)", base.AddDate(0, 0, 6), true},
		{"six days earlier (another week)", base.AddDate(0, 0, -6), true},
		{"exactly seven days later", base.Add(7 * 24 * time.Hour), true},
		{"exactly seven days earlier", base.Add(-7 * 24 * time.Hour), true},
		{"seven days and a microsecond later: another event", base.Add(7*24*time.Hour + time.Microsecond), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.svc.GetBalance(ctx, ws)
			res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "e1", tc.at)})
			if err != nil {
				t.Fatal(err)
			}
			after, _ := f.svc.GetBalance(ctx, ws)
			if tc.duplicate && (res.Duplicates != 1 || after.Amount != before.Amount) {
				t.Fatalf("want a duplicate that charges nothing: %+v, balance %s → %s", res, before.Amount, after.Amount)
			}
			if !tc.duplicate && (res.Accepted != 1 || after.Amount >= before.Amount) {
				t.Fatalf("want a new, charged event: %+v, balance %s → %s", res, before.Amount, after.Amount)
			}
		})
	}
	// Another workspace may use the same event id.
	other := f.workspace(t, "enterprise", "100")
	if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(other, "e1", base)}); err != nil || res.Accepted != 1 {
		t.Fatalf("same id, other workspace: %+v %v", res, err)
	}
	if sum, err := f.svc.LedgerSum(ctx, ws); err != nil {
		t.Fatal(err)
	} else if b, _ := f.svc.GetBalance(ctx, ws); sum != b.Amount {
		t.Fatalf("ledger sum %s, balance %s", sum, b.Amount)
	}
}

// An event stored in the default partition (its week had no partition
// then) is still found once the week's partition is created and the row
// moved there.
func TestIngestUsage_DuplicateFoundAfterItsWeekIsPartitioned(t *testing.T) {
	f := newFixture(t) // no weekly partitions: everything goes to the default one
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "100")
	at := time.Now().UTC().Add(-time.Hour)
	if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "moved", at)}); err != nil || res.Accepted != 1 {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	weeklyPartitions(t, f)
	var part string
	if err := f.db.SQL.QueryRow(`SELECT tableoid::regclass::text FROM usage_events WHERE event_id = 'moved'`).Scan(&part); err != nil || part == "usage_events_default" {
		t.Fatalf("event in %q (%v), want its week's partition", part, err)
	}
	if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "moved", at)}); err != nil || res.Duplicates != 1 {
		t.Fatalf("re-delivery: %+v %v", res, err)
	}
}

// Twenty identical batches at once: each event is charged exactly once.
func TestIngestUsage_ConcurrentIdenticalBatchesChargeOnce(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "100")
	at := time.Now().UTC().Add(-time.Minute)
	batch := []billing.UsageEvent{usageAt(ws, "c1", at), usageAt(ws, "c2", at.Add(-3*24*time.Hour))}
	var wg sync.WaitGroup
	results := make(chan billing.IngestResult, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.svc.IngestUsage(ctx, batch)
			if err != nil {
				t.Error(err)
			}
			results <- res
		}()
	}
	wg.Wait()
	close(results)
	accepted, duplicates := 0, 0
	for r := range results {
		accepted += r.Accepted
		duplicates += r.Duplicates
	}
	if accepted != 2 || duplicates != 38 {
		t.Fatalf("accepted %d, duplicates %d; want 2 and 38", accepted, duplicates)
	}
	var n int
	if err := f.db.SQL.QueryRow(`SELECT count(*) FROM usage_events WHERE workspace_id = $1`, ws).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d events stored (%v), want 2", n, err)
	}
}

// The spans looked up for an event are the dedupe window's parts outside
// its own week (whose partition key refuses the id by itself), never past
// now + 1 hour (nothing recorded occurred later); a later attempt looks
// up the whole window.
func TestLookupRanges_WindowOutsideTheEventsWeek(t *testing.T) {
	day := 24 * time.Hour
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	lastInstant := monday.Add(7*day - time.Microsecond) // Sunday 23:59:59.999999
	wednesday := monday.Add(2*day + 12*time.Hour)
	for _, tc := range []struct {
		name   string
		at     time.Time
		now    time.Time
		whole  bool
		ranges [][2]time.Time
	}{
		{"first instant of a week: the week before only", monday, monday,
			false, [][2]time.Time{{monday.Add(-7 * day), monday.Add(-time.Microsecond)}}},
		{"live event mid-week: the week before only", wednesday, wednesday.Add(time.Minute),
			false, [][2]time.Time{{wednesday.Add(-7 * day), monday.Add(-time.Microsecond)}}},
		{"last instant of a week: the next week up to now + 1 h", lastInstant, lastInstant,
			false, [][2]time.Time{{lastInstant.Add(-7 * day), monday.Add(-time.Microsecond)}, {monday.Add(7 * day), lastInstant.Add(time.Hour)}}},
		{"late event: both neighbours, the whole window", wednesday, wednesday.Add(10 * day),
			false, [][2]time.Time{{wednesday.Add(-7 * day), monday.Add(-time.Microsecond)}, {monday.Add(7 * day), wednesday.Add(7 * day)}}},
		{"later attempt: the whole window", wednesday, wednesday,
			true, [][2]time.Time{{wednesday.Add(-7 * day), wednesday.Add(time.Hour)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := billing.LookupRanges(tc.at, tc.now, tc.whole)
			if fmt.Sprint(got) != fmt.Sprint(tc.ranges) {
				t.Fatalf("ranges\n got %v\nwant %v", got, tc.ranges)
			}
		})
	}
}

// A re-stamped retry in the same week is refused by the insert, not the
// lookup: the transaction is rolled back and made again, and nothing of
// the first attempt remains (here the trace counter: the retried event's
// 9,999 traces must not count twice, so only the 10,001st trace is paid).
func TestIngestUsage_SameWeekRetryRedoneWithoutTrace(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	ws := f.workspace(t, "free", "100") // 10,000 traces included, $0.0005 per extra trace
	// Both deliveries in this week, even in a week's first minutes.
	at := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Microsecond)
	if start := week.Start(time.Now()); at.Add(-30 * time.Second).Before(start) {
		at = start.Add(time.Minute)
	}
	traced := func(id string, traces int64, at time.Time) billing.UsageEvent {
		return billing.UsageEvent{ID: id, WorkspaceID: ws.String(), Traces: traces, OccurredAt: at}
	}
	if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{traced("t1", 9_999, at)}); err != nil || res.Accepted != 1 {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	redos := f.svc.UsageRedos()
	res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{traced("t1", 9_999, at.Add(-30*time.Second)), traced("t2", 2, at)})
	if err != nil || res.Accepted != 1 || res.Duplicates != 1 {
		t.Fatalf("retry with a new event: %+v %v", res, err)
	}
	if n := f.svc.UsageRedos() - redos; n != 1 {
		t.Fatalf("%d redone transactions, want 1 (the insert refuses the retry, not the lookup)", n)
	}
	if got := f.assertInvariant(t, ws); got.String() != "99.9995" {
		t.Fatalf("balance %s, want 99.9995 (one trace beyond the plan)", got)
	}
	if n := f.count(t, `SELECT count FROM trace_counters WHERE workspace_id = $1`, ws); n != 10_001 {
		t.Fatalf("trace counter %d, want 10001", n)
	}
	if n := f.count(t, `SELECT count(*) FROM usage_events WHERE workspace_id = $1`, ws); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}

// In the default partition (weeks without a partition of their own) an
// event id is refused whatever the times: a reuse 30 days apart is a
// duplicate there, found by the insert on a later attempt, and the rest of
// its batch is charged once.
func TestIngestUsage_IdReusedInTheDefaultPartitionIsADuplicate(t *testing.T) {
	f := newFixture(t) // no weekly partitions: everything goes to the default one
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "100")
	now := time.Now().UTC()
	if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "r", now.AddDate(0, 0, -30))}); err != nil || res.Accepted != 1 {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	before := f.assertInvariant(t, ws)
	res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "r", now.Add(-time.Hour)), usageAt(ws, "fresh", now.Add(-time.Hour))})
	if err != nil || res.Accepted != 1 || res.Duplicates != 1 {
		t.Fatalf("reuse with a new event: %+v %v", res, err)
	}
	f.assertChargedOneEvent(t, ws, before, 2)
}

// assertChargedOneEvent checks that ws paid exactly one usageAt event since
// its balance was before, and that it has stored events in all.
func (f *fixture) assertChargedOneEvent(t *testing.T, ws uuid.UUID, before money.Amount, stored int) {
	t.Helper()
	price, _ := f.svc.Prices().PriceAt("gpt-4o", time.Now())
	one, err := price.Cost(billing.Usage{InputTokens: 1000, OutputTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if charged := before - f.assertInvariant(t, ws); charged != one {
		t.Fatalf("charged %s, want one event's %s", charged, one)
	}
	if n := f.count(t, `SELECT count(*) FROM usage_events WHERE workspace_id = $1`, ws); n != stored {
		t.Fatalf("%d events stored, want %d", n, stored)
	}
}

// A retry re-stamped across a week's first instant, either way round, is a
// duplicate: the two copies live in different partitions and only the
// lookup of the neighbouring week can see the other.
func TestIngestUsage_RetryAcrossAWeekBoundaryIsADuplicate(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	monday := week.Start(time.Now()).AddDate(0, 0, -21)
	lastInstant := monday.Add(-time.Microsecond) // Sunday 23:59:59.999999, the week before
	for _, tc := range []struct {
		name          string
		first, second time.Time
	}{
		{"first on Monday 00:00, retry a microsecond earlier", monday, lastInstant},
		{"first on Sunday 23:59:59.999999, retry a microsecond later", lastInstant, monday},
		{"first on Sunday, retry 7 days later", lastInstant, lastInstant.Add(7 * 24 * time.Hour)},
		{"first on Monday, retry 7 days earlier", monday.Add(7 * 24 * time.Hour), monday},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := f.workspace(t, "enterprise", "100")
			if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "b", tc.first)}); err != nil || res.Accepted != 1 {
				t.Fatalf("first delivery: %+v %v", res, err)
			}
			before := f.assertInvariant(t, ws)
			res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "b", tc.second)})
			if err != nil || res.Duplicates != 1 || res.Accepted != 0 {
				t.Fatalf("retry: %+v %v", res, err)
			}
			if after := f.assertInvariant(t, ws); after != before {
				t.Fatalf("the retry charged: %s → %s", before, after)
			}
		})
	}
}

// Event ids that need quoting in Postgres's array syntax or are long, on
// every path a duplicate can take: refused by the lookup (another week),
// by the insert and redone (the same week), learnt from the insert (the
// default partition). Each is charged once; the batch's new event once.
func TestIngestUsage_AwkwardIdsOnEveryDuplicatePath(t *testing.T) {
	ids := []string{`a,b`, `{x}`, `"quoted"`, `back\slash`, `NULL`, ` spaced `, `ünï–cødé ✓`, strings.Repeat("z", 200)}
	now := time.Now().UTC()
	sameWeek := now.Add(-2 * time.Minute)
	if start := week.Start(now); sameWeek.Add(-time.Minute).Before(start) {
		sameWeek = start.Add(time.Minute)
	}
	for _, tc := range []struct {
		name          string
		partitioned   bool
		first, second time.Time
	}{
		{"another week: the lookup", true, now.AddDate(0, 0, -8).Add(time.Hour), now.AddDate(0, 0, -2)},
		{"same week: the insert, then a redo", true, sameWeek.Add(-time.Minute), sameWeek},
		{"default partition: learnt from the insert", false, now.AddDate(0, 0, -30), now.Add(-time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.partitioned {
				weeklyPartitions(t, f)
			}
			ctx := context.Background()
			ws := f.workspace(t, "enterprise", "100")
			var first, second []billing.UsageEvent
			for _, id := range ids {
				first = append(first, usageAt(ws, id, tc.first))
				second = append(second, usageAt(ws, id, tc.second))
			}
			if res, err := f.svc.IngestUsage(ctx, first); err != nil || res.Accepted != len(ids) {
				t.Fatalf("first delivery: %+v %v", res, err)
			}
			before := f.assertInvariant(t, ws)
			res, err := f.svc.IngestUsage(ctx, append(second, usageAt(ws, "new", tc.second)))
			if err != nil || res.Duplicates != len(ids) || res.Accepted != 1 || len(res.Rejected) != 0 {
				t.Fatalf("retry with a new event: %+v %v", res, err)
			}
			f.assertChargedOneEvent(t, ws, before, len(ids)+1)
		})
	}
}

// Last week's partition, which every live event's lookup probes, is
// probed through the hash index partitions.Maintain builds on it once the
// week is over (a third of the primary key's memory), in the plan a
// connection keeps and in a fresh one, and a retry re-stamped across the
// Monday is still refused through it.
func TestFindRecorded_LastWeekProbedThroughItsHashIndex(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	now := time.Now().UTC()
	this := week.Start(now)
	last := this.AddDate(0, 0, -7)
	lastName := "usage_events_" + last.Format("20060102")
	// A week of other workspaces' usage, so the plan is made for a
	// partition of some size, as in service.
	if _, err := f.db.SQL.ExecContext(ctx, `INSERT INTO usage_events (workspace_id, occurred_at, input_tokens, output_tokens,
			cached_input_tokens, traces, cost, trace_cost, batch, event_id, model)
		SELECT gen_random_uuid(), $1::timestamptz + g * interval '20 seconds', 1, 1, 0, 0, 1, 0, gen_random_uuid(), gen_random_uuid()::text, 'gpt-4o'
		FROM generate_series(1, 20000) AS g`, last); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SQL.ExecContext(ctx, `ANALYZE `+lastName); err != nil {
		t.Fatal(err)
	}

	ws := f.workspace(t, "enterprise", "100")
	original, retry := this.Add(-time.Hour), this.Add(30*time.Minute)
	if retry.After(now) {
		retry = now
	}
	if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "restamped", original)}); err != nil || res.Accepted != 1 {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	before := f.assertInvariant(t, ws)
	if res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws, "restamped", retry)}); err != nil || res.Duplicates != 1 {
		t.Fatalf("retry re-stamped across the Monday: %+v %v, want a duplicate", res, err)
	}
	if after := f.assertInvariant(t, ws); after != before {
		t.Fatalf("the retry charged: %s → %s", before, after)
	}

	// EXPLAIN EXECUTE takes no parameters: a uuid, integers and times,
	// written out.
	from, to := retry.Add(-7*24*time.Hour), this.Add(-time.Microsecond)
	lookup := fmt.Sprintf(`'{1}', E'\x1frestamped', '{%d}', '{%d}', '%s', '%s'`,
		from.UnixMicro(), to.UnixMicro(), from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	for name, stmt := range billing.DuplicateLookups() {
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if p := explainFindRecorded(t, f, mode, stmt.SQL, stmt.Args(`'{`+ws.String()+`}'`, lookup)); !strings.Contains(p, lastName+"_event_id_hash on "+lastName) {
				t.Errorf("%s, %s: last week's lookup does not probe its hash index:\n%s", name, mode, p)
			}
		}
	}
}
