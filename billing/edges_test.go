package billing_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
)

// service is another Service over the fixture's database with cfg (a
// clock, a policy); the fixture's sandbox is its processor.
func (f *fixture) service(t *testing.T, cfg billing.Config) *billing.Service {
	t.Helper()
	svc := billing.New(f.db.SQL, f.sandbox, cfg, f.log())
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc
}

// Issue 15.1: a retry after a decline charged the amount saved when the
// top-up was scheduled ($500), not the $5 the customer had saved since.
func TestAutoTopUp_ARetryChargesTheSettingsSavedSinceTheDecline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	clock := newTestClock()
	svc := f.service(t, billing.Config{Clock: clock.Now, TopUps: billing.TopUpPolicy{MaxDeclines: 3, Backoff: time.Hour}})
	ws := f.workspace(t, "free", "5")
	f.card(t, ws, "pm_card_chargeDeclined")
	f.enable(t, svc, ws, "10", "500")
	drain(t, svc) // declined; waits an hour
	good := f.card(t, ws, "pm_card_visa")
	if _, err := svc.SetAutoTopUp(ctx, ws, billing.AutoTopUpSettings{Enabled: true, Threshold: usd(t, "10"), Amount: usd(t, "5"), CardID: &good.ID}); err != nil {
		t.Fatal(err)
	}
	// Saving rescheduled it: no waiting for the old backoff.
	drain(t, svc)
	if got := f.assertInvariant(t, ws); got.String() != "10.00" {
		t.Fatalf("balance %s, want 5 + the 5.00 just saved", got)
	}
	var charged []string
	rows, _ := f.db.SQL.Query(`SELECT amount FROM purchases WHERE workspace_id = $1 AND status = 'succeeded'`, ws)
	for rows.Next() {
		var a money.Amount
		rows.Scan(&a) //nolint:errcheck
		charged = append(charged, a.String())
	}
	rows.Close()
	if len(charged) != 1 || charged[0] != "5.00" {
		t.Fatalf("charged %v, want [5.00]", charged)
	}
}

// Issue 15.2 and 15.3, and the cached-price policy.
func TestSetPrice_VersionsAreImmutableInForceOnlyAfterPropagationAndKeepTheCachedPrice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	clock := newTestClock()
	svc := f.service(t, billing.Config{Clock: clock.Now})
	edit := func(model, from string, cached *money.Amount, cachedSet, force bool) error {
		e := billing.PriceEdit{Price: billing.Price{Model: model, InputPerMillion: usd(t, "1"), OutputPerMillion: usd(t, "2"), CachedPerMillion: cached},
			CachedSet: cachedSet, Force: force}
		if from != "" {
			d, _ := time.ParseDuration(from)
			e.EffectiveFrom = clock.Now().Add(d)
		}
		return svc.SetPrice(ctx, e)
	}
	// Sooner than the propagation bound: refused unless forced.
	if err := edit("new-model", "1s", nil, true, false); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("effective in 1 s: %v", err)
	}
	if err := edit("new-model", "", nil, true, false); err != nil { // default: now + the bound
		t.Fatal(err)
	}
	if _, ok := svc.Prices().PriceAt("new-model", clock.Now()); ok {
		t.Fatal("a version was in force before its effective time")
	}
	if _, ok := svc.Prices().PriceAt("new-model", clock.Now().Add(billing.PricePropagation)); !ok {
		t.Fatal("the new version is not in force after the bound")
	}
	// gpt-5 has a cached price: a new version must say what to do with it.
	if err := edit("gpt-5", "1h", nil, false, false); billing.CodeOf(err) != billing.CodeBadUserInput || !strings.Contains(err.Error(), "cached") {
		t.Fatalf("without --cached: %v", err)
	}
	if err := edit("gpt-5", "1h", nil, true, false); err != nil { // --cached none
		t.Fatal(err)
	}
	// Versions are immutable: the same effective time again is refused.
	c := usd(t, "0.1")
	if err := edit("gpt-5", "1h", &c, true, false); billing.CodeOf(err) != billing.CodeBadUserInput || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("rewriting a version: %v", err)
	}
	p, _ := svc.Prices().PriceAt("gpt-5", clock.Now().Add(2*time.Hour))
	if p.CachedPerMillion != nil {
		t.Fatalf("the version was rewritten: %+v", p)
	}
	// Backdating is possible when forced.
	if err := edit("gpt-5", "-1h", &c, true, true); err != nil {
		t.Fatal(err)
	}
}

// Issue 15.4: after the chosen card was detached, auto top-up showed ACTIVE
// with no card and then paused on the next top-up.
func TestPaymentMethodDetached_TheAutoTopUpCardFallsBackToTheDefaultVisibly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "100")
	def := f.card(t, ws, "pm_card_visa")
	chosen := f.card(t, ws, "pm_card_mastercard") // now the default
	if _, err := f.svc.SetDefaultPaymentMethod(ctx, ws, def.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetAutoTopUp(ctx, ws, billing.AutoTopUpSettings{Enabled: true, Threshold: usd(t, "10"), Amount: usd(t, "20"), CardID: &chosen.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PaymentMethodDetached(ctx, chosen.ProcessorID); err != nil {
		t.Fatal(err)
	}
	a, _ := f.svc.GetAutoTopUp(ctx, ws)
	if a.CardID != nil || a.Status != billing.AutoTopUpActive || !strings.Contains(a.LastError, "default card") {
		t.Fatalf("after detaching the chosen card: %+v", a)
	}
	// The next top-up charges the default card.
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "dip", "gpt-4o", 0, 9_100_000)}); err != nil {
		t.Fatal(err)
	}
	drain(t, f.svc)
	if got := f.assertInvariant(t, ws); got.String() != "29.00" {
		t.Fatalf("balance %s, want 100 − 91 + 20", got)
	}
	// The last card detached: paused, and it says why.
	if err := f.svc.PaymentMethodDetached(ctx, def.ProcessorID); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.svc.GetAutoTopUp(ctx, ws); a.Status != billing.AutoTopUpPaused || !strings.Contains(a.LastError, "no card") {
		t.Fatalf("after detaching the last card: %+v", a)
	}
}

// Issue 15.5: a grant with a reused reference printed "granted" and did nothing.
func TestAdjust_AReusedReferenceSaysSoAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	adj := billing.Adjustment{WorkspaceID: ws, Amount: usd(t, "25"), Reason: "ticket", Reference: "TICKET-1"}
	if res, err := f.svc.Adjust(ctx, adj); err != nil || res.AlreadyApplied {
		t.Fatalf("first: %+v %v", res, err)
	}
	if res, err := f.svc.Adjust(ctx, adj); err != nil || !res.AlreadyApplied || res.Balance.Amount.String() != "25.00" {
		t.Fatalf("the same again: %+v %v", res, err)
	}
	adj.Amount = usd(t, "30")
	if _, err := f.svc.Adjust(ctx, adj); billing.CodeOf(err) != billing.CodeBadUserInput || !strings.Contains(err.Error(), "25.00") {
		t.Fatalf("another amount under the same reference: %v", err)
	}
	// Large adjustments need a confirmation; a zero one is refused.
	if _, err := f.svc.Adjust(ctx, billing.Adjustment{WorkspaceID: ws, Amount: usd(t, "1000.01"), Reason: "typo?"}); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("large without confirmation: %v", err)
	}
	if _, err := f.svc.Adjust(ctx, billing.Adjustment{WorkspaceID: ws, Amount: -usd(t, "1000.01"), Reason: "typo?"}); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("large debit without confirmation: %v", err)
	}
	if got := f.assertInvariant(t, ws); got.String() != "25.00" {
		t.Fatalf("balance %s", got)
	}
}

// Issue 15.6: auto top-up could be enabled without a billing profile and
// invoiced to nobody.
func TestSetAutoTopUp_EnablingRequiresABillingProfile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "100")
	if _, err := f.svc.AddPaymentMethod(ctx, ws, "pm_card_visa", true); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.SetAutoTopUp(ctx, ws, billing.AutoTopUpSettings{Enabled: true, Threshold: usd(t, "10"), Amount: usd(t, "20")})
	var berr *billing.Error
	if !errors.As(err, &berr) || berr.Code != billing.CodeBadUserInput || berr.Field != "billingProfile" {
		t.Fatalf("without a profile: %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM auto_top_up_settings WHERE workspace_id = $1`, ws); n != 0 {
		t.Fatal("the refused settings were saved")
	}
	// Disabled settings need no profile.
	if _, err := f.svc.SetAutoTopUp(ctx, ws, billing.AutoTopUpSettings{Enabled: false, Threshold: usd(t, "10"), Amount: usd(t, "20")}); err != nil {
		t.Fatal(err)
	}
}

// Issues 15.7 and 15.8, and the estimate policy.
func TestPlaceHold_FinishedRequestIDsTrimmedIDsAndEstimatesEqualToAvailable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "1")
	// An estimate exactly equal to what is available is allowed.
	h, b, ok, err := f.svc.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: ws, Model: "gpt-4o", MaxOutputTokens: 100_000, RequestID: "r1"})
	if err != nil || !ok || h.Amount.String() != "1.00" || b.Available() != 0 {
		t.Fatalf("hold of the whole balance: %+v %+v %v %v", h, b, ok, err)
	}
	// The usage event names it with spaces around: the same request.
	ev := event(ws, "e1", "gpt-4o", 0, 10_000)
	ev.RequestID = " r1 "
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{ev}); err != nil {
		t.Fatal(err)
	}
	if b, _ := f.svc.GetBalance(ctx, ws); b.Held != 0 || b.Amount.String() != "0.90" {
		t.Fatalf("after settling ' r1 ': held %s balance %s", b.Held, b.Amount)
	}
	// Authorizing the settled request id again: a distinct answer, not 402.
	_, _, _, err = f.svc.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: ws, Model: "gpt-4o", MaxOutputTokens: 1, RequestID: "r1"})
	if billing.CodeOf(err) != billing.CodeRequestIDFinished {
		t.Fatalf("a settled request id: %v", err)
	}
	// Available is never shown below zero, even when the balance is.
	if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "e2", "gpt-4o", 0, 200_000)}); err != nil {
		t.Fatal(err)
	}
	if b, _ := f.svc.GetBalance(ctx, ws); b.Amount.String() != "-1.10" || b.Available() != 0 || !b.Blocked() {
		t.Fatalf("below zero: %+v available %s", b, b.Available())
	}
}

// Issue 15.9: expiry and settlement locked rows in opposite orders and
// deadlocked (40P01) with a 20 ms hold lifetime.
func TestHolds_ExpiryAndSettlementTogetherNeverDeadlock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := f.service(t, billing.Config{HoldTTL: 20 * time.Millisecond})
	var wss []uuid.UUID
	for i := 0; i < 4; i++ {
		wss = append(wss, f.workspace(t, "enterprise", "1000"))
	}
	stop := make(chan struct{})
	var expiryErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := svc.ExpireHolds(ctx); err != nil {
				expiryErr = err
				return
			}
		}
	}()
	errs := make(chan error, 8*40)
	for r := 0; r < 8; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				id := fmt.Sprintf("r%d-%d", r, i)
				var events []billing.UsageEvent
				for _, ws := range wss {
					if _, _, _, err := svc.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: ws, Model: "gpt-4o", MaxOutputTokens: 1000, RequestID: id}); err != nil {
						errs <- err
						return
					}
					ev := event(ws, id, "gpt-4o", 0, 500)
					ev.RequestID = id
					events = append(events, ev)
				}
				if _, err := svc.IngestUsage(ctx, events); err != nil {
					errs <- err
				}
			}
		}(r)
	}
	time.Sleep(10 * time.Millisecond)
	go func() { wg.Wait() }()
	// wait for the reporters, then stop expiry
	for done := false; !done; {
		select {
		case err := <-errs:
			close(stop)
			t.Fatalf("a report failed: %v", err)
		case <-time.After(50 * time.Millisecond):
			if f.count(t, `SELECT count(*) FROM usage_events`) == 8*40*len(wss) {
				done = true
			}
		}
	}
	close(stop)
	wg.Wait()
	if expiryErr != nil {
		t.Fatalf("expiry failed: %v", expiryErr)
	}
	for _, ws := range wss {
		f.assertInvariant(t, ws)
	}
}

// Issue 15.10 and the trace-only policy, with an injected clock crossing a
// month end, a year end and a price change: what is charged is what is
// stored, to the microsecond.
func TestIngestUsage_AcrossMonthYearAndPriceBoundariesChargesWhatIsStored(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	newYear := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newTestClockAt(newYear.Add(-time.Hour))
	svc := f.service(t, billing.Config{Clock: clock.Now})
	// A price change at the new year, set in advance.
	if err := svc.SetPrice(ctx, billing.PriceEdit{Price: billing.Price{Model: "gpt-4o", InputPerMillion: usd(t, "100"), OutputPerMillion: usd(t, "100"),
		EffectiveFrom: newYear}, CachedSet: true}); err != nil {
		t.Fatal(err)
	}
	clock.Set(newYear.Add(time.Hour))
	ws := f.workspace(t, "free", "100")               // 10,000 traces included a month
	lastNano := newYear.Add(-time.Nanosecond)         // 23:59:59.999999999 → .999999 when stored
	justBefore := newYear.Add(-500 * time.Nanosecond) // .9999995 → .999999: still December
	events := []billing.UsageEvent{
		{ID: "dec-traces", WorkspaceID: ws.String(), Traces: 10_000, OccurredAt: newYear.Add(-time.Hour)},           // trace-only: no model
		{ID: "dec-last", WorkspaceID: ws.String(), Traces: 1, OccurredAt: justBefore},                               // the 10,001st December trace
		{ID: "dec-tokens", WorkspaceID: ws.String(), Model: "gpt-4o", InputTokens: 1_000_000, OccurredAt: lastNano}, // old price: $2.50
		{ID: "jan-tokens", WorkspaceID: ws.String(), Model: "gpt-4o", InputTokens: 10_000, OccurredAt: newYear},     // new price: $1.00
		{ID: "jan-trace", WorkspaceID: ws.String(), Traces: 1, OccurredAt: newYear},                                 // January's first: included
	}
	res, err := svc.IngestUsage(ctx, events)
	if err != nil || res.Accepted != 5 {
		t.Fatalf("%+v %v", res, err)
	}
	// 100 − 0.0005 (one extra December trace) − 2.50 − 1.00
	if got := f.assertInvariant(t, ws); got.String() != "96.4995" {
		t.Fatalf("balance %s, want 96.4995", got)
	}
	f.assertUsageEntriesNeverCredit(t, ws)
	// Recounting each month from the stored rows gives the counters.
	rows, err := f.db.SQL.Query(`SELECT c.month, c.count, (SELECT COALESCE(sum(traces), 0) FROM usage_events e
		WHERE e.workspace_id = c.workspace_id AND to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') = c.month)
		FROM trace_counters c WHERE c.workspace_id = $1 ORDER BY c.month`, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	months := map[string]int64{}
	for rows.Next() {
		var month string
		var counter, recount int64
		if err := rows.Scan(&month, &counter, &recount); err != nil {
			t.Fatal(err)
		}
		if counter != recount {
			t.Fatalf("%s: counter %d, recount from stored rows %d", month, counter, recount)
		}
		months[month] = counter
	}
	if months["2026-12"] != 10_001 || months["2027-01"] != 1 {
		t.Fatalf("months %v", months)
	}
	// The rollup days follow the stored times too.
	if n := f.count(t, `SELECT count(*) FROM usage_rollups WHERE workspace_id = $1 AND day = '2026-12-31'`, ws); n != 2 {
		t.Fatalf("%d December 31 rollup rows, want 2 (traces and gpt-4o)", n)
	}
}

// Issue 15.11: a purchase that read the clock in 2026 and waited for the
// counter got CR-2026-000002 after another's CR-2027-000001.
func TestInvoices_NumbersAndDatesAreInTheSameOrderAcrossTheNewYear(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	newYear := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newTestClockAt(newYear.Add(-100 * time.Millisecond))
	svc := f.service(t, billing.Config{Clock: clock.Now})
	wsA, wsB := f.workspace(t, "free", "0"), f.workspace(t, "free", "0")
	for _, ws := range []uuid.UUID{wsA, wsB} {
		if _, err := svc.AddPaymentMethod(ctx, ws, "pm_card_visa", true); err != nil {
			t.Fatal(err)
		}
	}
	// Hold the counter's lock: both purchases queue behind it, A first,
	// with the clock still in 2026.
	blocker, err := f.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(`SELECT last FROM invoice_counters WHERE id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, ws := range []uuid.UUID{wsA, wsB} {
		wg.Add(1)
		go func(ws uuid.UUID) {
			defer wg.Done()
			if _, err := svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), Billing: testProfile}); err != nil {
				t.Error(err)
			}
		}(ws)
		time.Sleep(100 * time.Millisecond)
		clock.Advance(150 * time.Millisecond) // B's purchase starts in 2027
	}
	blocker.Rollback() //nolint:errcheck
	wg.Wait()
	rows, err := f.db.SQL.Query(`SELECT number, issued_at FROM invoices ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev time.Time
	var numbers []string
	for rows.Next() {
		var number string
		var issued time.Time
		if err := rows.Scan(&number, &issued); err != nil {
			t.Fatal(err)
		}
		if issued.Before(prev) || !strings.Contains(number, fmt.Sprint(issued.UTC().Year())) {
			t.Fatalf("invoice %s issued %s after one issued %s", number, issued, prev)
		}
		prev = issued
		numbers = append(numbers, number)
	}
	if len(numbers) != 2 {
		t.Fatalf("invoices %v", numbers)
	}
}

// Policy: the usage view's 400-day limit counts calendar days inclusive.
func TestUsageSummary_TheWindowIsCountedInCalendarDays(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	from := time.Date(2025, 1, 1, 23, 0, 0, 0, time.UTC)
	if _, err := f.svc.UsageSummary(ctx, ws, from, from.AddDate(0, 0, 399).Add(-22*time.Hour), true, false); err != nil {
		t.Fatalf("400 calendar days: %v", err)
	}
	if _, err := f.svc.UsageSummary(ctx, ws, from, from.AddDate(0, 0, 400).Add(-22*time.Hour), true, false); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("401 calendar days (less than 400 × 24 h): %v", err)
	}
}
