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
)

// Issue 14.1: 110 events of 10^12 tokens each once wrapped the balance into
// a credit of $8.4 billion. Counts are now bounded, costs capped per
// event, and every sum checked.
func TestIngestUsage_HugeCountsAreRejectedAndNeverCreditTheBalance(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "100")
	var events []billing.UsageEvent
	for i := 0; i < 110; i++ {
		ev := event(ws, fmt.Sprint("huge-", i), "claude-opus-4-1", 1_000_000_000_000, 1_000_000_000_000)
		ev.CachedInputTokens = 1_000_000_000_000
		events = append(events, ev)
	}
	for i := 0; i < 19; i++ {
		ev := event(ws, fmt.Sprint("traces-", i), "gpt-4o", 0, 0)
		ev.Traces = 1_000_000_000_000
		events = append(events, ev)
	}
	// Within the token bound but above the per-event cost cap ($1,000):
	// 100 M output tokens of opus is $7,500.
	events = append(events, event(ws, "costly", "claude-opus-4-1", 0, billing.MaxTokensPerEvent))
	// The largest event that passes: at the cap exactly.
	events = append(events, event(ws, "at-cap", "claude-opus-4-1", 0, 13_333_333)) // $999.999975
	res, err := f.svc.IngestUsage(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || len(res.Rejected) != 130 {
		t.Fatalf("accepted %d, rejected %d: %+v", res.Accepted, len(res.Rejected), res.Rejected[len(res.Rejected)-1])
	}
	for _, r := range res.Rejected {
		if !strings.Contains(r.Error, "at most") && !strings.Contains(r.Error, "per-event cap") {
			t.Fatalf("rejection %+v", r)
		}
	}
	if got := f.assertInvariant(t, ws); got.String() != "-899.999975" {
		t.Fatalf("balance %s, want 100 − 999.999975", got)
	}
	f.assertUsageEntriesNeverCredit(t, ws)
}

// assertUsageEntriesNeverCredit: usage and tracing only ever deduct, and
// the rollups add up to exactly what the events cost.
func (f *fixture) assertUsageEntriesNeverCredit(t *testing.T, ws uuid.UUID) {
	t.Helper()
	if n := f.count(t, `SELECT count(*) FROM ledger_entries WHERE workspace_id = $1 AND kind IN ('usage', 'tracing') AND amount > 0`, ws); n != 0 {
		t.Fatalf("%d usage entries credit the balance", n)
	}
	var rolled, events, ledger int64
	if err := f.db.SQL.QueryRow(`SELECT
		(SELECT COALESCE(sum(cost), 0) FROM usage_rollups WHERE workspace_id = $1),
		(SELECT COALESCE(sum(cost + trace_cost), 0) FROM usage_events WHERE workspace_id = $1),
		(SELECT COALESCE(-sum(amount), 0) FROM ledger_entries WHERE workspace_id = $1 AND kind IN ('usage', 'tracing'))`, ws).
		Scan(&rolled, &events, &ledger); err != nil {
		t.Fatal(err)
	}
	if rolled != events || events != ledger {
		t.Fatalf("rollups %d, events %d, ledger %d nano-dollars: they must agree", rolled, events, ledger)
	}
}

// Issue 14.3: an event id with NUL made Postgres fail the whole group
// commit, so every report grouped with it got 503 forever.
func TestIngestUsage_OneBadEventNeverFailsTheReportsCommittedWithIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "enterprise", "1000")
	// Text Postgres cannot store is refused with the event, up front.
	bad := []billing.UsageEvent{event(ws, "nul\x00id", "gpt-4o", 10, 10), event(ws, "bad-utf8-\xff", "gpt-4o", 10, 10)}
	withNULRequest := event(ws, "nul-request", "gpt-4o", 10, 10)
	withNULRequest.RequestID = "r\x00"
	bad = append(bad, withNULRequest)
	res, err := f.svc.IngestUsage(ctx, bad)
	if err != nil || len(res.Rejected) != 3 || res.Accepted != 0 {
		t.Fatalf("bad text: %+v %v", res, err)
	}
	// A report that still fails inside the transaction (here: a trigger
	// that refuses one event id) fails alone; the reports grouped with it
	// commit. 8 poisoned reporters beside 8 good ones, 25 reports each.
	if _, err := f.db.SQL.Exec(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.event_id LIKE 'poison-%' THEN RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_poison BEFORE INSERT ON usage_events FOR EACH ROW EXECUTE FUNCTION refuse_poison()`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	goodFailed, poisonOK := 0, 0
	for r := 0; r < 16; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				prefix := "good"
				if r%2 == 0 {
					prefix = "poison"
				}
				_, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, fmt.Sprintf("%s-%d-%d", prefix, r, i), "gpt-4o-mini", 100, 100)})
				mu.Lock()
				if prefix == "good" && err != nil {
					goodFailed++
				}
				if prefix == "poison" && err == nil {
					poisonOK++
				}
				mu.Unlock()
			}
		}(r)
	}
	wg.Wait()
	if goodFailed != 0 || poisonOK != 0 {
		t.Fatalf("%d good reports failed, %d poisoned ones succeeded", goodFailed, poisonOK)
	}
	if n := f.count(t, `SELECT count(*) FROM usage_events WHERE workspace_id = $1`, ws); n != 200 {
		t.Fatalf("%d events recorded, want the 200 good ones", n)
	}
	f.assertInvariant(t, ws)
	f.assertUsageEntriesNeverCredit(t, ws)
}

// Issue 14.4: a declined new card was saved and made the default.
func TestAddCredits_ADeclinedNewCardIsNeitherSavedNorMadeDefault(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	good := f.card(t, ws, "pm_card_visa")
	_, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_chargeDeclined", Billing: testProfile})
	if billing.CodeOf(err) != billing.CodePaymentFailed {
		t.Fatalf("declined: %v", err)
	}
	cards, err := f.svc.PaymentMethods(ctx, ws)
	if err != nil || len(cards) != 1 || cards[0].ID != good.ID || !cards[0].IsDefault {
		t.Fatalf("cards after a decline: %+v %v", cards, err)
	}
	// A new card that succeeds is saved (not made default: one exists).
	if _, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_mastercard", Billing: testProfile}); err != nil {
		t.Fatal(err)
	}
	cards, _ = f.svc.PaymentMethods(ctx, ws)
	if len(cards) != 2 || cards[0].ID != good.ID || cards[1].Brand != "mastercard" || cards[1].IsDefault || cards[1].ExpYear == 0 {
		t.Fatalf("cards after a success: %+v", cards)
	}
}

// Issue 14.5: a declined purchase replaced the saved billing profile (and
// erased its tax ID), and the next auto top-up was invoiced to it.
func TestAddCredits_ADeclinedPurchaseLeavesTheBillingProfileAsItWas(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	saved := testProfile
	saved.TaxID = &billing.TaxID{Country: "DE", Type: "eu_vat", Value: "DE136695976"}
	if _, err := f.svc.UpdateBillingProfile(ctx, ws, saved); err != nil {
		t.Fatal(err)
	}
	declined := billing.BillingProfile{Name: "Declined Person", Address: billing.Address{Line1: "1 Nowhere", City: "Paris", Country: "FR"}}
	_, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_chargeDeclined", Billing: declined})
	if billing.CodeOf(err) != billing.CodePaymentFailed {
		t.Fatalf("declined: %v", err)
	}
	p, err := f.svc.GetBillingProfile(ctx, ws)
	if err != nil || p.Name != saved.Name || p.TaxID == nil || p.TaxID.Value != "DE136695976" {
		t.Fatalf("profile after a decline: %+v %v", p, err)
	}
	// A purchase that succeeds is invoiced to the details given with it,
	// and they become the profile.
	other := billing.BillingProfile{Name: "Zofia Łęcka", Address: billing.Address{Line1: "ul. Piotrkowska 12", City: "Łódź", Country: "PL"}}
	res, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_visa", Billing: other})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.svc.InvoiceOfPurchase(ctx, ws, res.Purchase.ID)
	if err != nil || inv.Buyer.Name != "Zofia Łęcka" || inv.Buyer.TaxID != "" {
		t.Fatalf("invoice buyer %+v %v", inv.Buyer, err)
	}
	if p, _ := f.svc.GetBillingProfile(ctx, ws); p.Name != "Zofia Łęcka" || p.TaxID != nil {
		t.Fatalf("profile after a success: %+v", p)
	}
}

// Issue 14.6: three concurrent addPaymentMethod(makeDefault: true) left two
// default cards.
func TestAddPaymentMethod_ConcurrentMakeDefaultLeavesExactlyOneDefault(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for run := 0; run < 3; run++ {
		ws := f.workspace(t, "free", "0")
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for _, pm := range []string{"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_insufficientFunds", "pm_card_chargeDeclined", "pm_card_authenticationRequired"} {
			wg.Add(1)
			go func(pm string) {
				defer wg.Done()
				_, err := f.svc.AddPaymentMethod(ctx, ws, pm, true)
				errs <- err
			}(pm)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := f.count(t, `SELECT count(*) FROM payment_methods WHERE workspace_id = $1 AND is_default`, ws); n != 1 {
			t.Fatalf("run %d: %d default cards", run, n)
		}
	}
	// The database refuses a second default whatever the code does.
	ws := f.workspace(t, "free", "0")
	f.card(t, ws, "pm_card_visa")
	if _, err := f.db.SQL.Exec(`INSERT INTO payment_methods (id, workspace_id, processor_id, brand, last4, exp_month, exp_year, is_default, created_at)
		VALUES (gen_random_uuid(), $1, 'pm_x', 'visa', '4242', 1, 2030, true, now())`, ws); err == nil {
		t.Fatal("a second default card was stored")
	}
}

// Issue 14.7: 20 concurrent authorizes with one request id answered 503.
func TestPlaceHold_ConcurrentCallsWithOneRequestIDGetTheSameHold(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "10")
	var wg sync.WaitGroup
	type result struct {
		id      uuid.UUID
		allowed bool
		err     error
	}
	results := make(chan result, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, _, ok, err := f.svc.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: ws, Model: "gpt-4o", MaxOutputTokens: 10_000, RequestID: "same"})
			results <- result{h.ID, ok, err}
		}()
	}
	wg.Wait()
	close(results)
	var first uuid.UUID
	for r := range results {
		if r.err != nil || !r.allowed {
			t.Fatalf("a concurrent call: %+v", r)
		}
		if first == uuid.Nil {
			first = r.id
		}
		if r.id != first {
			t.Fatalf("two holds for one request id: %s, %s", first, r.id)
		}
	}
	b, _ := f.svc.GetBalance(ctx, ws)
	if b.Held.String() != "0.10" {
		t.Fatalf("held %s, want one hold of 0.10", b.Held)
	}
}

// Issue 14.9: forged cursors and out-of-range dates are bad input, not
// internal errors.
func TestBadInput_ForgedCursorsDatesAndTextAreRefusedAsBadInput(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	for _, cursor := range []string{"LTYyMTk4NzU1MjAwMDAwMDAwOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA", // year -0001
		"OTIyMzM3MjAzNjg1NDc3NTgwNzowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA", // max int64 micros
		"!!!", "bm90IGEgY3Vyc29y"} {
		if _, err := f.svc.ListPurchases(ctx, ws, nil, 10, cursor); billing.CodeOf(err) != billing.CodeBadUserInput {
			t.Fatalf("cursor %q: %v", cursor, err)
		}
	}
	minus1 := time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := f.svc.UsageSummary(ctx, ws, minus1, time.Now(), true, false); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("usage from year -1: %v", err)
	}
	nul := testProfile
	nul.Name = "Evil\x00Corp"
	if _, err := f.svc.UpdateBillingProfile(ctx, ws, nul); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("NUL in the billing name: %v", err)
	}
	esc := testProfile
	esc.Address.City = "\x1b[31mBerlin"
	if _, err := f.svc.UpdateBillingProfile(ctx, ws, esc); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("terminal escape in the city: %v", err)
	}
	f.card(t, ws, "pm_card_visa")
	for _, key := range []string{"k\x00", "k\xff", strings.Repeat("k", 256)} {
		if _, err := f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), Billing: testProfile, IdempotencyKey: key}); billing.CodeOf(err) != billing.CodeBadUserInput {
			t.Fatalf("idempotency key %q: %v", key, err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM purchases WHERE workspace_id = $1`, ws); n != 0 {
		t.Fatalf("bad input wrote %d purchases", n)
	}
}
