package billing_test

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/partitions/week"
)

// deferAll is a service that leaves every usage transaction over more than
// one workspace to the settler; inlineOnly one that never defers.
func (f *fixture) deferAll(t *testing.T) *billing.Service {
	return f.service(t, billing.Config{UsageDeferWorkspaces: 1})
}

func (f *fixture) inlineOnly(t *testing.T) *billing.Service {
	return f.service(t, billing.Config{UsageDeferWorkspaces: -1})
}

func settle(t *testing.T, svc *billing.Service) int {
	t.Helper()
	n, err := svc.SettleUsage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// workspaceState is everything usage changes about a workspace.
type workspaceState struct {
	Balance, Held, LedgerSum money.Amount
	Rollups                  []billing.UsageRow
	TraceCounts              string
	ActiveHolds              int
	ActiveHeld               int64
	Events                   int
}

func (f *fixture) state(t *testing.T, ws uuid.UUID) workspaceState {
	t.Helper()
	ctx := context.Background()
	b, err := f.svc.GetBalance(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := f.svc.LedgerSum(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rows, err := f.svc.UsageSummary(ctx, ws, now.AddDate(0, 0, -10), now.AddDate(0, 0, 1), true, true)
	if err != nil {
		t.Fatal(err)
	}
	var counts string
	if err := f.db.SQL.QueryRow(`SELECT coalesce(string_agg(month || '=' || count, ',' ORDER BY month), '') FROM trace_counters WHERE workspace_id = $1`, ws).Scan(&counts); err != nil {
		t.Fatal(err)
	}
	var activeHeld int64
	if err := f.db.SQL.QueryRow(`SELECT coalesce(sum(amount), 0) FROM holds WHERE workspace_id = $1 AND status = 'active'`, ws).Scan(&activeHeld); err != nil {
		t.Fatal(err)
	}
	return workspaceState{Balance: b.Amount, Held: b.Held, LedgerSum: sum, Rollups: rows, TraceCounts: counts, ActiveHeld: activeHeld,
		ActiveHolds: f.count(t, `SELECT count(*) FROM holds WHERE workspace_id = $1 AND status = 'active'`, ws),
		Events:      f.count(t, `SELECT count(*) FROM usage_events WHERE workspace_id = $1`, ws)}
}

// The deferred path is the inline path, later: the same reports, with
// traces crossing the plan's included 10,000, holds settled by their
// request ids, duplicates within and across reports and an unknown
// workspace, leave two sets of workspaces (one served by a service that
// settles every report itself, one by a service that defers every report
// of more than one workspace) in the same state once settled: balance,
// held, ledger, rollups, trace counters, holds, events. Before settlement
// the deferred workspaces' balances have not moved, their events are
// recorded and their holds settled.
func TestSettle_DeferredUsageEndsWhereInlineUsageDoes(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	inline, deferred := f.inlineOnly(t), f.deferAll(t)
	const n = 6
	var a, b [n]uuid.UUID
	for i := range n {
		a[i], b[i] = f.workspace(t, "free", "50"), f.workspace(t, "free", "50")
		for _, p := range []struct {
			svc *billing.Service
			ws  uuid.UUID
		}{{inline, a[i]}, {deferred, b[i]}} {
			for h := range 3 {
				if _, _, ok, err := p.svc.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: p.ws, Model: "gpt-4o", MaxInputTokens: 2000,
					MaxOutputTokens: 2000, RequestID: fmt.Sprintf("req-%d-%d", i, h)}); err != nil || !ok {
					t.Fatalf("hold: %v %v", ok, err)
				}
			}
		}
	}
	before := map[uuid.UUID]workspaceState{}
	for i := range n {
		before[b[i]] = f.state(t, b[i])
	}
	rng := rand.New(rand.NewSource(7))
	now := time.Now().UTC().Truncate(time.Microsecond)
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5"}
	var sent [][]billing.UsageEvent // over workspace numbers, as "#i"
	for r := range 25 {
		var batch []billing.UsageEvent
		for e := range 1 + rng.Intn(12) {
			ev := billing.UsageEvent{ID: fmt.Sprintf("ev-%d-%d", r, e), WorkspaceID: fmt.Sprint(rng.Intn(n)), Model: models[rng.Intn(len(models))],
				InputTokens: rng.Int63n(5000), OutputTokens: rng.Int63n(3000), CachedInputTokens: rng.Int63n(100),
				Traces: rng.Int63n(3) * rng.Int63n(1500), OccurredAt: now.Add(-time.Duration(rng.Intn(72)) * time.Hour)}
			if rng.Intn(4) == 0 {
				ev.RequestID = fmt.Sprintf("req-%s-%d", ev.WorkspaceID, rng.Intn(3))
			}
			batch = append(batch, ev)
		}
		// Over two workspaces at least, so the deferring service defers it.
		var k int
		fmt.Sscan(batch[0].WorkspaceID, &k)
		batch = append(batch, billing.UsageEvent{ID: fmt.Sprintf("ev-%d-other", r), WorkspaceID: fmt.Sprint((k + 1) % n), Model: "gpt-4o",
			InputTokens: 10, OccurredAt: now})
		if r > 0 && rng.Intn(3) == 0 { // a re-sent event of an earlier report
			prev := sent[rng.Intn(len(sent))]
			batch = append(batch, prev[rng.Intn(len(prev))])
		}
		if rng.Intn(5) == 0 {
			batch = append(batch, batch[0]) // twice in one report
		}
		if rng.Intn(6) == 0 {
			batch = append(batch, billing.UsageEvent{ID: "ghost", WorkspaceID: "unknown", Model: "gpt-4o", InputTokens: 1, OccurredAt: now})
		}
		sent = append(sent, batch)
	}
	on := func(batch []billing.UsageEvent, ws [n]uuid.UUID) []billing.UsageEvent {
		out := make([]billing.UsageEvent, len(batch))
		for i, ev := range batch {
			out[i] = ev
			if ev.WorkspaceID == "unknown" {
				out[i].WorkspaceID = uuid.NewString()
				continue
			}
			var k int
			fmt.Sscan(ev.WorkspaceID, &k)
			out[i].WorkspaceID = ws[k].String()
		}
		return out
	}
	deferredReports := 0
	for r, batch := range sent {
		ra, err := inline.IngestUsage(ctx, on(batch, a))
		if err != nil {
			t.Fatal(err)
		}
		rb, err := deferred.IngestUsage(ctx, on(batch, b))
		if err != nil {
			t.Fatal(err)
		}
		if ra.Accepted != rb.Accepted || ra.Duplicates != rb.Duplicates || len(ra.Rejected) != len(rb.Rejected) {
			t.Fatalf("report %d: inline %+v, deferred %+v", r, ra, rb)
		}
		if ra.Accepted > 0 {
			deferredReports++
		}
	}
	pending := f.count(t, `SELECT count(*) FROM usage_accruals`)
	if pending == 0 || pending > deferredReports {
		t.Fatalf("%d accruals pending after %d reports with new events", pending, deferredReports)
	}
	for i := range n {
		got, was := f.state(t, b[i]), before[b[i]]
		if got.Balance != was.Balance || got.Held != was.Held || got.LedgerSum != was.LedgerSum || !reflect.DeepEqual(got.Rollups, was.Rollups) {
			t.Fatalf("workspace %d moved before settlement: %+v → %+v", i, was, got)
		}
		if got.Events == 0 || got.ActiveHolds == 3 {
			t.Fatalf("workspace %d: events %d, active holds %d: the report's own effects are not deferred", i, got.Events, got.ActiveHolds)
		}
	}
	if settled := settle(t, deferred); settled != pending {
		t.Fatalf("settled %d of %d accruals", settled, pending)
	}
	if again := settle(t, deferred); again != 0 {
		t.Fatalf("a second settlement applied %d accruals", again)
	}
	crossed := false
	for i := range n {
		sa, sb := f.state(t, a[i]), f.state(t, b[i])
		if !reflect.DeepEqual(sa, sb) {
			t.Fatalf("workspace %d:\ninline   %+v\ndeferred %+v", i, sa, sb)
		}
		if sb.Balance != sb.LedgerSum || int64(sb.Held) != sb.ActiveHeld {
			t.Fatalf("workspace %d: balance %s, ledger %s, held %s, active holds %d", i, sb.Balance, sb.LedgerSum, sb.Held, sb.ActiveHeld)
		}
		var traces int64
		for _, r := range sb.Rollups {
			traces += r.Traces
		}
		crossed = crossed || traces > 10_000
	}
	if !crossed {
		t.Fatal("no workspace went past its plan's included traces: the test does not cover trace pricing")
	}
	if f.count(t, `SELECT count(*) FROM ledger_entries WHERE workspace_id = $1 AND kind = 'usage'`, b[0]) != 1 {
		t.Fatal("one settlement should write one usage entry per workspace")
	}
}

// Twenty reporters (half of them another instance) send overlapping
// reports while two settlers run: every event is charged exactly once, the
// ledger equals the balance, and nothing is left pending.
func TestSettle_ConcurrentReportsAndSettlersChargeEachEventOnce(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	svcs := []*billing.Service{f.deferAll(t), f.deferAll(t)}
	const n = 8
	ws := make([]uuid.UUID, n)
	for i := range ws {
		ws[i] = f.workspace(t, "enterprise", "1000")
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	report := func(r int) []billing.UsageEvent {
		var batch []billing.UsageEvent
		m := r % 15
		for e := range 10 {
			batch = append(batch, usageAt(ws[(m+e)%n], fmt.Sprintf("ev-%d-%d", m, e), now.Add(-time.Duration(e)*time.Minute)))
		}
		return batch
	}
	stop := make(chan struct{})
	var settlers sync.WaitGroup
	var settleErr error
	var mu sync.Mutex
	for _, s := range svcs {
		settlers.Add(1)
		go func() {
			defer settlers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.SettleUsage(ctx); err != nil {
					mu.Lock()
					settleErr = err
					mu.Unlock()
				}
			}
		}()
	}
	var reporters sync.WaitGroup
	accepted := make([]int, 20)
	errs := make([]error, 20)
	for g := range 20 {
		reporters.Add(1)
		go func() {
			defer reporters.Done()
			for r := range 15 {
				res, err := svcs[g%2].IngestUsage(ctx, report(r+g)) // reports overlap across reporters
				if err != nil {
					errs[g] = err
					return
				}
				accepted[g] += res.Accepted
			}
		}()
	}
	reporters.Wait()
	close(stop)
	settlers.Wait()
	settle(t, svcs[0])
	if settleErr != nil {
		t.Fatal(settleErr)
	}
	total := 0
	for g := range 20 {
		if errs[g] != nil {
			t.Fatal(errs[g])
		}
		total += accepted[g]
	}
	if total != 15*10 {
		t.Fatalf("%d events accepted, want the 150 distinct ones", total)
	}
	price, _ := f.svc.Prices().PriceAt("gpt-4o", now)
	one, err := price.Cost(billing.Usage{InputTokens: 1000, OutputTokens: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var charged money.Amount
	for _, id := range ws {
		balance := f.assertInvariant(t, id)
		charged += usd(t, "1000") - balance
	}
	if charged != one*150 {
		t.Fatalf("charged %s in all, want 150 events' %s", charged, one*150)
	}
	if p := f.count(t, `SELECT count(*) FROM usage_accruals`); p != 0 {
		t.Fatalf("%d accruals left", p)
	}
}

// An event re-stamped across a week's first instant and sent at once
// through two instances, each report spread over several workspaces (so
// deferred: no workspace row locks), is charged once: the week locks keep
// each lookup of the neighbouring week apart from the other's insert.
func TestSettle_ConcurrentRetryAcrossAWeekBoundaryIsChargedOnce(t *testing.T) {
	concurrentRetryAcrossAWeekBoundary(t, false)
}

// The same with every instance's dedupe filter of the week before the
// boundary built, sealed and trusted at the start of each round: the
// first copy recorded into that week makes the filters untrusted for
// every transaction after it, and none before it can have missed it.
func TestWeekFilter_ConcurrentRetryAcrossAWeekBoundaryIsChargedOnce(t *testing.T) {
	concurrentRetryAcrossAWeekBoundary(t, true)
}

func concurrentRetryAcrossAWeekBoundary(t *testing.T, filtered bool) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	svcs := []*billing.Service{f.deferAll(t), f.deferAll(t), f.inlineOnly(t)}
	monday := week.Start(time.Now()).AddDate(0, 0, -14)
	if filtered {
		seal(t, f, monday.Add(2*time.Hour)) // seals the week before monday
	}
	for round := range 5 {
		if filtered {
			for _, svc := range svcs {
				buildFilter(t, svc, monday.AddDate(0, 0, -7))
			}
		}
		ws := f.workspace(t, "enterprise", "100")
		others := []uuid.UUID{f.workspace(t, "enterprise", "100"), f.workspace(t, "enterprise", "100")}
		before := f.assertInvariant(t, ws)
		results, errs := ingestAtOnce(svcs, 12, func(g int) []billing.UsageEvent {
			at := monday
			if g%2 == 1 {
				at = monday.Add(-time.Microsecond)
			}
			batch := []billing.UsageEvent{usageAt(ws, "retried", at)}
			if g%3 != 2 { // the inline instance reports it alone
				batch = append(batch, usageAt(others[0], fmt.Sprintf("o-%d-%d", round, g), at), usageAt(others[1], fmt.Sprintf("o-%d-%d", round, g), at))
			}
			return batch
		})
		accepted := 0
		for g := range 12 {
			if errs[g] != nil {
				t.Fatal(errs[g])
			}
			for _, r := range results[g].Rejected {
				t.Fatalf("rejected %+v", r)
			}
		}
		settle(t, svcs[0])
		for g := range 12 {
			accepted += results[g].Accepted
		}
		if want := 1 + 2*8; accepted != want {
			t.Fatalf("round %d: %d accepted, want %d (the retried event once)", round, accepted, want)
		}
		f.assertChargedOneEvent(t, ws, before, 1)
	}
}

// A deferred deduction that takes a balance below the auto top-up
// threshold schedules the top-up when it is settled, as an inline one does
// when it commits.
func TestSettle_AutoTopUpFiresAtSettlement(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	svc := f.deferAll(t)
	ws, other := f.workspace(t, "free", "10"), f.workspace(t, "free", "10")
	f.card(t, ws, "pm_card_visa")
	f.enable(t, svc, ws, "9.99", "20")
	now := time.Now().UTC()
	batch := []billing.UsageEvent{usageAt(ws, "big", now), usageAt(other, "x", now)}
	batch[0].OutputTokens = 200_000
	if res, err := svc.IngestUsage(ctx, batch); err != nil || res.Accepted != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	drain(t, svc)
	if b, _ := svc.GetBalance(ctx, ws); b.Amount != usd(t, "10") {
		t.Fatalf("balance %s moved before settlement", b.Amount)
	}
	settle(t, svc)
	drain(t, svc)
	b := f.assertInvariant(t, ws)
	if b < usd(t, "20") {
		t.Fatalf("balance %s: the top-up of $20 did not happen at settlement", b)
	}
}

// An accrual that cannot be applied (here one forged to credit a balance:
// usage never does, and its negative of the largest amount would overflow)
// fails alone: the others are settled, it stays for an operator, and the
// error names it.
func TestSettle_AnAccrualThatCannotApplyDoesNotHoldBackTheRest(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	svc := f.deferAll(t)
	ws := []uuid.UUID{f.workspace(t, "free", "10"), f.workspace(t, "free", "10")}
	now := time.Now().UTC()
	for r := range 3 {
		if _, err := svc.IngestUsage(ctx, []billing.UsageEvent{usageAt(ws[0], fmt.Sprint("a", r), now), usageAt(ws[1], fmt.Sprint("b", r), now)}); err != nil {
			t.Fatal(err)
		}
	}
	bad := uuid.New()
	if _, err := f.db.SQL.Exec(`INSERT INTO usage_accruals (batch, created_at, events, workspaces, usage, tracing, released, rollup_workspace_n,
		rollup_days, rollup_models, rollup_requests, rollup_input_tokens, rollup_output_tokens, rollup_cached_input_tokens, rollup_traces, rollup_cost)
		VALUES ($1, now() - interval '1 hour', 1, ARRAY[$2::uuid], ARRAY[$3::bigint], ARRAY[0::bigint], ARRAY[0::bigint], '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}')`,
		bad, ws[0], int64(math.MinInt64)); err != nil {
		t.Fatal(err)
	}
	n, err := svc.SettleUsage(ctx)
	if err == nil || !strings.Contains(err.Error(), bad.String()) {
		t.Fatalf("want an error naming accrual %s, got %v", bad, err)
	}
	if n != 3 {
		t.Fatalf("settled %d, want the 3 good accruals", n)
	}
	for _, id := range ws {
		if b := f.assertInvariant(t, id); b >= usd(t, "10") {
			t.Fatalf("workspace %s not charged: %s", id, b)
		}
	}
	if p := f.count(t, `SELECT count(*) FROM usage_accruals WHERE batch = $1`, bad); p != 1 {
		t.Fatal("the bad accrual was lost")
	}
	if !strings.Contains(err.Error(), "negative") {
		t.Fatalf("want the negative usage named, got %v", err)
	}
}

// RunSettlement settles once more when its context ends, so a graceful
// shutdown leaves nothing pending whatever the interval.
func TestSettle_RunSettlementSettlesOnItsWayOut(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	svc := f.deferAll(t)
	done := make(chan struct{})
	go func() { svc.RunSettlement(ctx, time.Hour); close(done) }()
	ws := []uuid.UUID{f.workspace(t, "free", "10"), f.workspace(t, "free", "10")}
	now := time.Now().UTC()
	if _, err := svc.IngestUsage(context.Background(), []billing.UsageEvent{usageAt(ws[0], "a", now), usageAt(ws[1], "b", now)}); err != nil {
		t.Fatal(err)
	}
	if f.count(t, `SELECT count(*) FROM usage_accruals`) != 1 {
		t.Fatal("want one pending accrual")
	}
	cancel()
	<-done
	if p := f.count(t, `SELECT count(*) FROM usage_accruals`); p != 0 {
		t.Fatalf("%d accruals left after shutdown", p)
	}
	if svc.UsageSettled() != 1 {
		t.Fatalf("settled %d", svc.UsageSettled())
	}
	for _, id := range ws {
		if b := f.assertInvariant(t, id); b >= usd(t, "10") {
			t.Fatalf("workspace %s not charged", id)
		}
	}
}

// A deferred report remembers the plans of the workspaces it read, never
// an id that named none: a workspace created after a report named it
// unknown is charged by the next report, at its plan's trace price.
func TestSettle_AnUnknownWorkspaceIsNotRemembered(t *testing.T) {
	f := newFixture(t)
	weeklyPartitions(t, f)
	ctx := context.Background()
	svc := f.deferAll(t)
	known := f.workspace(t, "free", "10")
	later := uuid.New()
	now := time.Now().UTC()
	batch := func(id string) []billing.UsageEvent {
		ev := usageAt(later, id, now)
		ev.Traces = 10_001 // one beyond the free plan's included traces
		return []billing.UsageEvent{usageAt(known, id, now), ev}
	}
	res, err := svc.IngestUsage(ctx, batch("first"))
	if err != nil || res.Accepted != 1 || len(res.Rejected) != 1 || res.Rejected[0].Error != "unknown workspace_id" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := f.db.SQL.Exec(`INSERT INTO workspaces (id, name, plan_id, balance, balance_version, balance_updated_at, created_at)
		VALUES ($1, 'later', 'pro', 0, 0, now(), now())`, later); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Grant(ctx, later, usd(t, "10"), "test credit", ""); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.IngestUsage(ctx, batch("second")); err != nil || res.Accepted != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	settle(t, svc)
	if n := f.count(t, `SELECT count(*) FROM ledger_entries WHERE workspace_id = $1 AND kind = 'tracing'`, later); n != 0 {
		t.Fatalf("%d tracing entries: 10,001 traces are within the pro plan's 100,000", n)
	}
	if b := f.assertInvariant(t, later); b >= usd(t, "10") {
		t.Fatalf("the later workspace was not charged: %s", b)
	}
}
