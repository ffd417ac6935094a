package billing_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
)

// second returns another Service over the same database with its own
// connection pool: another process, as far as Postgres can tell.
func (f *fixture) second(t *testing.T, policy billing.TopUpPolicy) *billing.Service {
	t.Helper()
	return f.secondWith(t, billing.Config{TopUps: policy})
}

// secondWith is second with a whole config (a clock, a policy).
func (f *fixture) secondWith(t *testing.T, cfg billing.Config) *billing.Service {
	t.Helper()
	db, err := sql.Open("postgres", f.db.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := billing.New(db, f.sandbox, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return svc
}

// card saves a card (the default) and, if there is none, a billing profile:
// auto top-up needs both.
func (f *fixture) card(t *testing.T, ws uuid.UUID, pm string) billing.Card {
	t.Helper()
	if p, err := f.svc.GetBillingProfile(context.Background(), ws); err != nil || p == nil {
		if _, err := f.svc.UpdateBillingProfile(context.Background(), ws, testProfile); err != nil {
			t.Fatal(err)
		}
	}
	c, err := f.svc.AddPaymentMethod(context.Background(), ws, pm, true)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) enable(t *testing.T, svc *billing.Service, ws uuid.UUID, threshold, amount string) billing.AutoTopUp {
	t.Helper()
	a, err := svc.SetAutoTopUp(context.Background(), ws, billing.AutoTopUpSettings{Enabled: true, Threshold: usd(t, threshold), Amount: usd(t, amount)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.SQL.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// drain runs workers until no top-up is due.
func drain(t *testing.T, svcs ...*billing.Service) {
	t.Helper()
	for {
		any := false
		for _, s := range svcs {
			did, err := s.ProcessTopUp(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			any = any || did
		}
		if !any {
			return
		}
	}
}

func TestAutoTopUp_ConcurrentDeductionsBelowTheThresholdChargeExactlyOnce(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws := f.workspace(t, "enterprise", "60")
	f.card(t, ws, "pm_card_visa")
	f.enable(t, f.svc, ws, "50", "200")
	// Two workers with separate connection pools race for the top-up while usage streams in.
	workerA, workerB := f.second(t, billing.TopUpPolicy{Poll: 5 * time.Millisecond}), f.second(t, billing.TopUpPolicy{Poll: 5 * time.Millisecond})
	var workers sync.WaitGroup
	for _, w := range []*billing.Service{workerA, workerB} {
		workers.Add(1)
		go func(w *billing.Service) { defer workers.Done(); w.RunTopUps(ctx) }(w)
	}
	const streams, perStream = 64, 5
	var wg sync.WaitGroup
	for s := 0; s < streams; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := 0; i < perStream; i++ {
				// 5,000 gpt-4o output tokens: $0.05 each, $16 in all.
				if _, err := f.svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, fmt.Sprintf("s%d-%d", s, i), "gpt-4o", 0, 5000)}); err != nil {
					t.Error(err)
				}
			}
		}(s)
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for f.count(t, `SELECT count(*) FROM top_ups WHERE workspace_id = $1 AND status IN ('pending', 'charging')`, ws) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	workers.Wait()
	if got := f.sandbox.Charges(); got != 1 {
		t.Fatalf("%d charges, want 1", got)
	}
	if n := f.count(t, `SELECT count(*) FROM purchases WHERE workspace_id = $1 AND kind = 'auto_top_up' AND status = 'succeeded'`, ws); n != 1 {
		t.Fatalf("%d AUTO_TOP_UP transactions, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM invoices WHERE workspace_id = $1`, ws); n != 1 {
		t.Fatalf("%d invoices, want 1", n)
	}
	if got := f.assertInvariant(t, ws); got.String() != "244.00" {
		t.Fatalf("balance %s, want 60 + 200 - 16 = 244.00", got)
	}
	a, _ := f.svc.GetAutoTopUp(context.Background(), ws)
	if a.Status != billing.AutoTopUpActive || a.LastError != "" {
		t.Fatalf("auto top-up %+v", a)
	}
}

func TestAutoTopUp_DeclinesAreRecordedRetriedWithBackoffThenPaused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	clock := newTestClock()
	svc := f.service(t, billing.Config{Clock: clock.Now, TopUps: billing.TopUpPolicy{MaxDeclines: 3, Backoff: time.Hour}})
	ws := f.workspace(t, "free", "10")
	f.card(t, ws, "pm_card_chargeDeclined")
	f.enable(t, svc, ws, "50", "100") // balance 10 < 50: scheduled at once

	drain(t, svc)
	a, _ := svc.GetAutoTopUp(ctx, ws)
	if a.Status != billing.AutoTopUpProcessing || a.LastError == "" {
		t.Fatalf("after the first decline: %+v", a)
	}
	// The retry waits for its backoff (1 h, then 2 h): the clock moves, no sleeping.
	clock.Advance(time.Hour - time.Second)
	if did, _ := svc.ProcessTopUp(ctx); did {
		t.Fatal("a declined top-up was retried before its backoff")
	}
	clock.Advance(time.Second)
	drain(t, svc) // second decline
	if a, _ = svc.GetAutoTopUp(ctx, ws); a.Status != billing.AutoTopUpProcessing {
		t.Fatalf("after the second decline: %+v", a)
	}
	clock.Advance(2*time.Hour - time.Second)
	if did, _ := svc.ProcessTopUp(ctx); did {
		t.Fatal("the second retry did not wait for the doubled backoff")
	}
	clock.Advance(time.Second)
	drain(t, svc) // third decline: paused
	a, _ = svc.GetAutoTopUp(ctx, ws)
	if a.Status != billing.AutoTopUpPaused {
		t.Fatalf("not paused after repeated declines: %+v", a)
	}
	if n := f.count(t, `SELECT count(*) FROM purchases WHERE workspace_id = $1 AND kind = 'auto_top_up' AND status = 'failed'`, ws); n != 3 {
		t.Fatalf("%d failed attempts recorded, want 3", n)
	}
	// Paused: further dips schedule nothing; usage is still recorded.
	res, err := svc.IngestUsage(ctx, []billing.UsageEvent{event(ws, "while-paused", "gpt-4o", 0, 1000)})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("usage while paused: %+v %v", res, err)
	}
	if n := f.count(t, `SELECT count(*) FROM top_ups WHERE workspace_id = $1 AND status IN ('pending', 'charging')`, ws); n != 0 {
		t.Fatal("a paused auto top-up scheduled a top-up")
	}
	// Saving the settings with a good card resumes.
	good := f.card(t, ws, "pm_card_visa")
	if _, err := svc.SetAutoTopUp(ctx, ws, billing.AutoTopUpSettings{Enabled: true, Threshold: usd(t, "50"), Amount: usd(t, "100"), CardID: &good.ID}); err != nil {
		t.Fatal(err)
	}
	drain(t, svc)
	a, _ = svc.GetAutoTopUp(ctx, ws)
	if a.Status != billing.AutoTopUpActive || f.assertInvariant(t, ws).String() != "109.99" {
		t.Fatalf("after resuming: %+v balance %s", a, f.assertInvariant(t, ws))
	}
}

func TestAutoTopUp_CrashBetweenChargeAndCreditIsRecoveredWithoutASecondCharge(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "10")
	f.card(t, ws, "pm_card_visa")
	clock := newTestClock()
	crashing := f.service(t, billing.Config{Clock: clock.Now, TopUps: billing.TopUpPolicy{Lease: 2 * time.Minute}})
	crashCtx, crash := context.WithCancel(context.Background())
	billing.SetAfterChargeHook(crashing, func(billing.Purchase) error {
		crash() // the process dies: nothing after the charge is written
		return errors.New("killed")
	})
	f.enable(t, crashing, ws, "50", "100")
	if _, err := crashing.ProcessTopUp(crashCtx); err == nil {
		t.Fatal("the crashed attempt reported success")
	}
	if f.sandbox.Charges() != 1 || f.assertInvariant(t, ws).String() != "10.00" {
		t.Fatalf("after the crash: charges %d balance %s", f.sandbox.Charges(), f.assertInvariant(t, ws))
	}
	// Restart: another process takes the top-up over once its lease expires.
	restarted := f.secondWith(t, billing.Config{Clock: clock.Now, TopUps: billing.TopUpPolicy{Lease: 2 * time.Minute}})
	drain(t, restarted)
	if f.sandbox.Charges() != 1 {
		t.Fatal("the top-up was taken over before its lease expired")
	}
	clock.Advance(2*time.Minute + time.Microsecond)
	drain(t, restarted)
	if f.sandbox.Charges() != 1 {
		t.Fatalf("recovery charged again: %d charges", f.sandbox.Charges())
	}
	if got := f.assertInvariant(t, ws); got.String() != "110.00" {
		t.Fatalf("balance %s, want 110.00 (credited once)", got)
	}
	if n := f.count(t, `SELECT count(*) FROM invoices WHERE workspace_id = $1`, ws); n != 1 {
		t.Fatalf("%d invoices", n)
	}
}

func TestAutoTopUp_CreditsThatCoverTheDipCancelAPendingTopUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "10")
	f.card(t, ws, "pm_card_visa")
	f.enable(t, f.svc, ws, "50", "100") // scheduled: 10 < 50
	if _, err := f.svc.Grant(ctx, ws, usd(t, "45"), "support", ""); err != nil {
		t.Fatal(err)
	}
	drain(t, f.svc)
	if f.sandbox.Charges() != 0 || f.assertInvariant(t, ws).String() != "55.00" {
		t.Fatalf("a covered top-up was charged: %d charges", f.sandbox.Charges())
	}
	if n := f.count(t, `SELECT count(*) FROM top_ups WHERE workspace_id = $1 AND status = 'canceled'`, ws); n != 1 {
		t.Fatalf("%d canceled top-ups, want 1", n)
	}
}

func TestSetAutoTopUp_RefusesBadSettingsAndSavesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "10")
	cases := map[string]struct {
		in   billing.AutoTopUpSettings
		code billing.Code
	}{
		"enabling without a card": {billing.AutoTopUpSettings{Enabled: true, Threshold: usd(t, "50"), Amount: usd(t, "100")}, billing.CodePaymentMethodRequired},
		"amount below minimum":    {billing.AutoTopUpSettings{Threshold: usd(t, "50"), Amount: usd(t, "4.99")}, billing.CodeBadUserInput},
		"negative threshold":      {billing.AutoTopUpSettings{Threshold: usd(t, "-1"), Amount: usd(t, "100")}, billing.CodeBadUserInput},
		"3-decimal threshold":     {billing.AutoTopUpSettings{Threshold: usd(t, "50.001"), Amount: usd(t, "100")}, billing.CodeBadUserInput},
		"3-decimal amount":        {billing.AutoTopUpSettings{Threshold: usd(t, "50"), Amount: usd(t, "100.001")}, billing.CodeBadUserInput},
		"another workspace's card": {billing.AutoTopUpSettings{Enabled: true, Threshold: usd(t, "50"), Amount: usd(t, "100"),
			CardID: func() *uuid.UUID { id := uuid.New(); return &id }()}, billing.CodeNotFound},
	}
	for name, tc := range cases {
		if _, err := f.svc.SetAutoTopUp(ctx, ws, tc.in); billing.CodeOf(err) != tc.code {
			t.Errorf("%s: err %v, want %s", name, err, tc.code)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM auto_top_up_settings WHERE workspace_id = $1`, ws); n != 0 {
		t.Fatal("refused settings were saved")
	}
	// The card auto top-up depends on cannot be removed while it is enabled.
	card := f.card(t, ws, "pm_card_visa")
	f.enable(t, f.svc, ws, "5", "100")
	if err := f.svc.RemovePaymentMethod(ctx, ws, card.ID); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("removing the auto top-up card: %v", err)
	}
	if _, err := f.svc.SetAutoTopUp(ctx, ws, billing.AutoTopUpSettings{Enabled: false, Threshold: usd(t, "5"), Amount: usd(t, "100")}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemovePaymentMethod(ctx, ws, card.ID); err != nil {
		t.Fatalf("removing after disabling: %v", err)
	}
}
