package billing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/pgtest"
	"github.com/airouter/credits/stripemock"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.DropTemplates()
	stripemock.Stop()
	os.Exit(code)
}

type fixture struct {
	db      *pgtest.DB
	svc     *billing.Service
	sandbox *payments.Sandbox
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := pgtest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sandbox := payments.NewSandbox(log)
	svc := billing.New(db.SQL, sandbox, billing.Config{}, log)
	if err := svc.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	return &fixture{db: db, svc: svc, sandbox: sandbox}
}

func (f *fixture) workspace(t testing.TB, plan string, balance string) uuid.UUID {
	t.Helper()
	ws, err := f.svc.CreateWorkspace(context.Background(), "test", plan)
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	if balance != "0" {
		if _, err := f.svc.Grant(context.Background(), ws, usd(t, balance), "test credit", ""); err != nil {
			t.Fatalf("grant: %v", err)
		}
	}
	return ws
}

// assertInvariant checks balance == sum(ledger) for ws and returns the balance.
func (f *fixture) assertInvariant(t *testing.T, ws uuid.UUID) money.Amount {
	t.Helper()
	b, err := f.svc.GetBalance(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := f.svc.LedgerSum(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	if b.Amount != sum {
		t.Fatalf("balance %s != ledger sum %s", b.Amount, sum)
	}
	return b.Amount
}

func usd(t testing.TB, s string) money.Amount {
	t.Helper()
	a, err := money.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func event(ws uuid.UUID, id, model string, in, out int64) billing.UsageEvent {
	return billing.UsageEvent{ID: id, WorkspaceID: ws.String(), Model: model, InputTokens: in, OutputTokens: out, OccurredAt: time.Now().Add(-time.Minute)}
}

// The usage path's statements get prepared in the background after their
// first run; charges are the same before and after, and a duplicate is
// still recognised through the prepared lookup.
func TestIngestUsage_PreparedStatementsChargeTheSame(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "100")
	first, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "p0", "gpt-4o", 1000, 1000)})
	if err != nil || first.Accepted != 1 {
		t.Fatalf("first batch: %+v %v", first, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for billing.PreparedStatements(f.svc) < 7 { // lock, dedupe, events, rollups, ledger, balances, notify (+ traces, top-ups)
		if time.Now().After(deadline) {
			t.Fatalf("%d statements prepared after 10 s", billing.PreparedStatements(f.svc))
		}
		time.Sleep(10 * time.Millisecond)
	}
	before, _ := f.svc.GetBalance(ctx, ws)
	res, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "p0", "gpt-4o", 1000, 1000), event(ws, "p1", "gpt-4o", 1000, 1000)})
	if err != nil || res.Accepted != 1 || res.Duplicates != 1 {
		t.Fatalf("prepared batch: %+v %v", res, err)
	}
	after, _ := f.svc.GetBalance(ctx, ws)
	if charged := before.Amount - after.Amount; charged != 100*money.Dollar-before.Amount {
		t.Fatalf("the prepared path charged %s, the first batch %s", charged, 100*money.Dollar-before.Amount)
	}
	sum, err := f.svc.LedgerSum(ctx, ws)
	if err != nil || sum != after.Amount {
		t.Fatalf("ledger sum %s, balance %s (%v)", sum, after.Amount, err)
	}
}

// The duplicate lookup is prepared once per connection and its plan kept.
// Planned while usage_events is empty (a fresh database), a plain join's
// generic plan is a sequential scan that every later usage transaction
// would repeat over the grown table; the lookup must probe the index
// whatever the statistics said when it was planned, on its own (a later
// attempt) and in the statement that records a first attempt's events
// (inline and deferred).
func TestFindRecorded_GenericPlanOnEmptyTableProbesTheIndex(t *testing.T) {
	f := newFixture(t)
	lookup := `'{1}', E'\x1fe1', '{1795262400000000}', '{1795391999999999}', '2026-11-21T12:00:00Z', '2026-11-22T23:59:59.999999Z'`
	for name, stmt := range billing.DuplicateLookups() {
		plan := explainFindRecorded(t, f, "force_generic_plan", stmt.SQL, stmt.Args(`'{00000000-0000-4000-8000-000000000001}'`, lookup))
		if strings.Contains(plan, "Seq Scan on usage_events") || !strings.Contains(plan, "_pkey on usage_events") {
			t.Fatalf("%s: generic plan of the duplicate lookup does not probe the unique index:\n%s", name, plan)
		}
	}
}

// explainFindRecorded returns the plan of stmt for args (written out:
// EXPLAIN EXECUTE takes no parameters), prepared on a connection with
// plan_cache_mode set to mode (force_custom_plan, or force_generic_plan:
// the plan a connection keeps).
func explainFindRecorded(t *testing.T, f *fixture, mode, stmt, args string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := f.db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{`SET plan_cache_mode = ` + mode, `PREPARE explained AS ` + stmt} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	defer conn.ExecContext(ctx, `DEALLOCATE explained; RESET plan_cache_mode`) //nolint:errcheck // the pool's next user must not inherit them
	rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE explained(`+args+`)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

func TestIngestUsage_ConcurrentEventsNeverLoseAnUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "1000")
	const streams, perStream = 64, 200
	price, _ := f.svc.Prices().PriceAt("gpt-4o", time.Now())
	var all []billing.UsageEvent
	var want money.Amount
	for s := 0; s < streams; s++ {
		for i := 0; i < perStream; i++ {
			ev := event(ws, fmt.Sprintf("s%d-e%d", s, i), "gpt-4o", int64(100+i), int64(7*s+1))
			c, err := price.Cost(billing.Usage{InputTokens: ev.InputTokens, OutputTokens: ev.OutputTokens})
			if err != nil {
				t.Fatal(err)
			}
			want += c
			all = append(all, ev)
		}
	}
	send := func() (accepted, dups int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for s := 0; s < streams; s++ {
			wg.Add(1)
			go func(s int) {
				defer wg.Done()
				// Each stream reports its events in batches of 10, like a router would.
				for i := 0; i < perStream; i += 10 {
					res, err := f.svc.IngestUsage(ctx, all[s*perStream+i:s*perStream+i+10])
					if err != nil {
						t.Errorf("ingest: %v", err)
						return
					}
					mu.Lock()
					accepted += res.Accepted
					dups += res.Duplicates
					mu.Unlock()
				}
			}(s)
		}
		wg.Wait()
		return
	}
	accepted, dups := send()
	if accepted != streams*perStream || dups != 0 {
		t.Fatalf("accepted %d, duplicates %d; want %d, 0", accepted, dups, streams*perStream)
	}
	got := f.assertInvariant(t, ws)
	if wantBal := usd(t, "1000") - want; got != wantBal {
		t.Fatalf("balance %s, want 1000 - %s = %s", got, want, wantBal)
	}

	// Re-sending every event changes nothing.
	accepted, dups = send()
	if accepted != 0 || dups != streams*perStream {
		t.Fatalf("resend: accepted %d, duplicates %d; want 0, %d", accepted, dups, streams*perStream)
	}
	if again := f.assertInvariant(t, ws); again != got {
		t.Fatalf("resend moved the balance from %s to %s", got, again)
	}
}

func TestIngestUsage_BlocksAtZeroAndAGrantUnblocks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0.01")
	b, _ := f.svc.GetBalance(ctx, ws)
	if b.Blocked() {
		t.Fatal("a workspace with $0.01 is blocked")
	}
	// gpt-4o output: $10/M; 1,000 tokens cost exactly $0.01 → balance 0 → blocked.
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "e1", "gpt-4o", 0, 1000)}); err != nil {
		t.Fatal(err)
	}
	b, _ = f.svc.GetBalance(ctx, ws)
	if b.Amount != 0 || !b.Blocked() {
		t.Fatalf("balance %s blocked=%v; want 0.00 and blocked", b.Amount, b.Blocked())
	}
	// Usage already under way is still charged: the balance may go below zero.
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "e2", "gpt-4o", 0, 1000)}); err != nil {
		t.Fatal(err)
	}
	if got := f.assertInvariant(t, ws); got.String() != "-0.01" {
		t.Fatalf("balance %s, want -0.01", got)
	}
	b, err := f.svc.Grant(ctx, ws, usd(t, "5"), "support credit", "")
	if err != nil {
		t.Fatal(err)
	}
	if b.Blocked() || b.Amount.String() != "4.99" {
		t.Fatalf("after grant: %s blocked=%v", b.Amount, b.Blocked())
	}
}

func TestIngestUsage_ChargesTracesBeyondThePlanAndResetsMonthly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "100") // free: 10,000 included, $0.0005 per extra trace
	oct := time.Date(2026, 10, 15, 12, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	tracing := func(id string, traces int64, at time.Time) billing.UsageEvent {
		return billing.UsageEvent{ID: id, WorkspaceID: ws.String(), Model: "gpt-4o", Traces: traces, OccurredAt: at}
	}
	steps := []struct {
		ev   billing.UsageEvent
		want string // balance after
	}{
		{tracing("a", 9_999, oct), "100.00"},   // within the plan
		{tracing("b", 1, oct), "100.00"},       // the 10,000th trace is still included
		{tracing("c", 1, oct), "99.9995"},      // the 10,001st is charged
		{tracing("d", 10, oct), "99.9945"},     // 10 more
		{tracing("e", 10_000, nov), "99.9945"}, // a new month starts from zero
		{tracing("f", 2, nov), "99.9935"},      // and charges past its own 10,000
		{tracing("c", 1, oct), "99.9935"},      // a duplicate is not charged again
	}
	for _, s := range steps {
		if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{s.ev}); err != nil {
			t.Fatal(err)
		}
		if got := f.assertInvariant(t, ws); got.String() != s.want {
			t.Fatalf("after %s (%d traces): balance %s, want %s", s.ev.ID, s.ev.Traces, got, s.want)
		}
	}
	// Overage inside one batch is charged from the exact trace that crosses.
	ws2 := f.workspace(t, "free", "100")
	batch := []billing.UsageEvent{
		{ID: "x", WorkspaceID: ws2.String(), Model: "gpt-4o", Traces: 9_990, OccurredAt: oct},
		{ID: "y", WorkspaceID: ws2.String(), Model: "gpt-4o", Traces: 20, OccurredAt: oct},
	}
	if _, err := f.svc.IngestUsage(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := f.assertInvariant(t, ws2); got.String() != "99.995" {
		t.Fatalf("batch crossing the plan: balance %s, want 99.995 (10 extra traces)", got)
	}
}

func TestIngestUsage_BadEventsAreRejectedAloneAndChangeNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "10")
	now := time.Now()
	good := event(ws, "good", "gpt-4o-mini", 1000, 1000)
	bad := []billing.UsageEvent{
		{ID: "", WorkspaceID: ws.String(), Model: "gpt-4o", OccurredAt: now},
		{ID: "neg", WorkspaceID: ws.String(), Model: "gpt-4o", InputTokens: -1, OccurredAt: now},
		{ID: "unknown-ws", WorkspaceID: uuid.NewString(), Model: "gpt-4o", InputTokens: 1, OccurredAt: now},
		{ID: "bad-ws", WorkspaceID: "not-a-uuid", Model: "gpt-4o", OccurredAt: now},
		{ID: "unknown-model", WorkspaceID: ws.String(), Model: "gpt-99", InputTokens: 1, OccurredAt: now},
		{ID: "no-time", WorkspaceID: ws.String(), Model: "gpt-4o"},
		{ID: "future", WorkspaceID: ws.String(), Model: "gpt-4o", OccurredAt: now.Add(time.Hour)},
		{ID: "before-any-price", WorkspaceID: ws.String(), Model: "gpt-4o", OccurredAt: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)},
	}
	res, err := f.svc.IngestUsage(ctx, append([]billing.UsageEvent{good}, bad...))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || len(res.Rejected) != len(bad) {
		t.Fatalf("accepted %d, rejected %v; want 1 accepted and %d rejected", res.Accepted, res.Rejected, len(bad))
	}
	for i, r := range res.Rejected {
		if r.ID != bad[i].ID || r.Error == "" {
			t.Errorf("rejection %d = %+v, want id %q with a reason", i, r, bad[i].ID)
		}
	}
	// gpt-4o-mini: 1000 × $0.15/M + 1000 × $0.60/M = $0.00075
	if got := f.assertInvariant(t, ws); got.String() != "9.99925" {
		t.Fatalf("balance %s, want 9.99925", got)
	}
	big := make([]billing.UsageEvent, f.svc.Config().MaxBatch+1)
	if _, err := f.svc.IngestUsage(ctx, big); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("oversized batch: err = %v, want BAD_USER_INPUT", err)
	}
}

func TestIngestUsage_PricesAnEventWithThePriceInForceWhenItHappened(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "10")
	change := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := f.svc.SetPrice(ctx, billing.PriceEdit{Price: billing.Price{Model: "gpt-4o", InputPerMillion: usd(t, "100"), OutputPerMillion: usd(t, "100"),
		EffectiveFrom: change}, CachedSet: true, Force: true}); err != nil {
		t.Fatal(err)
	}
	before := billing.UsageEvent{ID: "old", WorkspaceID: ws.String(), Model: "gpt-4o", InputTokens: 1_000_000, OccurredAt: change.Add(-time.Second)}
	after := billing.UsageEvent{ID: "new", WorkspaceID: ws.String(), Model: "gpt-4o", InputTokens: 10_000, OccurredAt: change}
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{before, after}); err != nil {
		t.Fatal(err)
	}
	// old: 1M × $2.50 = $2.50; new: 10k × $100/M = $1.00
	if got := f.assertInvariant(t, ws); got.String() != "6.50" {
		t.Fatalf("balance %s, want 6.50", got)
	}
}

func TestGrant_IsIdempotentByReference(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	for i := 0; i < 3; i++ {
		if _, err := f.svc.Grant(ctx, ws, usd(t, "7"), "promo", "promo-2026"); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.assertInvariant(t, ws); got.String() != "7.00" {
		t.Fatalf("balance %s, want 7.00", got)
	}
	if _, err := f.svc.Grant(ctx, uuid.New(), usd(t, "1"), "x", ""); billing.CodeOf(err) != billing.CodeNotFound {
		t.Fatalf("grant to unknown workspace: %v", err)
	}
	if _, err := f.svc.Grant(ctx, ws, 0, "x", ""); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("zero grant: %v", err)
	}
}

func TestGate_AnswersFromMemoryAndSeesCommitsAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0.01")
	gate := billing.NewGate(f.svc, time.Hour)
	gate.SetLive(true)
	b, err := gate.Check(ctx, ws)
	if err != nil || b.Blocked() {
		t.Fatalf("check: %v blocked=%v", err, b.Blocked())
	}
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "e", "gpt-4o", 0, 1000)}); err != nil {
		t.Fatal(err)
	}
	if b, _ := gate.Check(ctx, ws); !b.Blocked() {
		t.Fatalf("gate still allows after the balance reached %s", b.Amount)
	}
	// An out-of-order, older balance never overwrites a newer one.
	gate.Observe(billing.Balance{WorkspaceID: ws, Amount: usd(t, "100"), Version: 1})
	if b, _ := gate.Check(ctx, ws); !b.Blocked() {
		t.Fatal("a stale notification unblocked the workspace")
	}
	if _, err := gate.Check(ctx, uuid.New()); billing.CodeOf(err) != billing.CodeNotFound {
		t.Fatalf("unknown workspace: %v", err)
	}
}

// The first calls for a workspace arrive together (a router instance
// starting); they share one database read instead of one each.
func TestGate_ConcurrentFirstChecksShareOneRead(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "1")
	gate := billing.NewGate(f.svc, time.Hour)
	gate.SetLive(true)
	const callers = 64
	start := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if b, err := gate.Check(context.Background(), ws); err != nil || b.Blocked() {
				failed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d checks failed", failed.Load(), callers)
	}
	// Goroutines that start after the first read finished hit the cache;
	// the ones that overlap it share it. Without sharing this is ~64.
	if r := gate.Reads(); r < 1 || r > 4 {
		t.Fatalf("%d database reads for %d concurrent first checks", r, callers)
	}
}

func TestIngestUsage_TheSameEventsSentConcurrentlyAreChargedOnce(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "100")
	batch := []billing.UsageEvent{event(ws, "a", "gpt-4o", 0, 1000), event(ws, "b", "gpt-4o", 0, 1000), event(ws, "c", "gpt-4o", 0, 1000)}
	var mu sync.Mutex
	var accepted, dups int
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.svc.IngestUsage(context.Background(), batch)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			accepted, dups = accepted+res.Accepted, dups+res.Duplicates
			mu.Unlock()
		}()
	}
	wg.Wait()
	if accepted != 3 || dups != 57 {
		t.Fatalf("accepted %d, duplicates %d; want 3 and 57", accepted, dups)
	}
	if got := f.assertInvariant(t, ws); got.String() != "99.97" {
		t.Fatalf("balance %s, want 99.97", got)
	}
}

// testClock is a service clock tests move by hand instead of sleeping.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now().UTC().Truncate(time.Microsecond)} }

func newTestClockAt(t time.Time) *testClock {
	return &testClock{now: t.UTC().Truncate(time.Microsecond)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var testProfile = billing.BillingProfile{Name: "Test GmbH", Address: billing.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"}}

func (f *fixture) log() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
