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
	"github.com/airouter/credits/payments"
)

// buy makes a purchase by card and returns it.
func (f *fixture) buy(t *testing.T, ws uuid.UUID, amount, card string) billing.Purchase {
	t.Helper()
	res, err := f.svc.AddCredits(context.Background(), ws, billing.PurchaseRequest{Amount: usd(t, amount), NewPaymentMethod: card, Billing: testProfile})
	if err != nil && card != "pm_card_authenticationRequired" {
		t.Fatalf("buy %s: %v", amount, err)
	}
	return res.Purchase
}

// refund is an operator's refund: amount "" refunds the rest.
func (f *fixture) refund(p billing.Purchase, amount, reason string, allowNegative bool) (billing.RefundResult, error) {
	req := billing.RefundRequest{PurchaseID: p.ID, Reason: reason, AllowNegative: allowNegative}
	if amount != "" {
		a, err := money.Parse(amount)
		if err != nil {
			return billing.RefundResult{}, err
		}
		req.Amount = &a
	}
	return f.svc.RefundPurchase(context.Background(), req)
}

// balance checks balance == Σ ledger and returns the balance as text.
func (f *fixture) balance(t *testing.T, ws uuid.UUID) string {
	t.Helper()
	return f.assertInvariant(t, ws).String()
}

// creditNotes lists "CN-…:amount:reason" of the purchase's invoice.
func (f *fixture) creditNotes(t *testing.T, p billing.Purchase) []string {
	t.Helper()
	inv, err := f.svc.InvoiceOfPurchase(context.Background(), p.WorkspaceID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	notes, err := f.svc.CreditNotesOfInvoice(context.Background(), p.WorkspaceID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cn := range notes {
		if cn.InvoiceNumber != inv.Number || cn.Buyer.Name != inv.Buyer.Name || cn.Seller.Name != inv.Seller.Name || cn.Currency != "USD" {
			t.Fatalf("credit note %s does not carry its invoice's details: %+v", cn.Number, cn)
		}
		out = append(out, fmt.Sprintf("%s:%s", cn.Amount, cn.Reason))
	}
	return out
}

func (f *fixture) purchase(t *testing.T, p billing.Purchase) billing.Purchase {
	t.Helper()
	got, err := f.svc.GetPurchase(context.Background(), p.WorkspaceID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRefundPurchase_PartialThenTheRestEachWithACreditNote(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "25.00", "pm_card_visa")
	res, err := f.refund(p, "10.00", "Unused credits", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Refund.Status != billing.RefundSucceeded || !strings.HasPrefix(res.Refund.ProcessorID, "re_sbx_") || res.Refund.Amount != usd(t, "10") ||
		!strings.HasPrefix(res.CreditNote.Number, "CN-") || !strings.HasSuffix(res.CreditNote.Number, "-000001") || res.CreditNote.Amount != usd(t, "10") ||
		res.CreditNote.Reference != res.Refund.ProcessorID || res.Balance.Amount != usd(t, "15") {
		t.Fatalf("partial refund: %+v", res)
	}
	if got := f.balance(t, ws); got != "15.00" {
		t.Fatalf("balance %s after the partial refund", got)
	}
	if got := f.purchase(t, p); got.Refunded != usd(t, "10") || !got.PartiallyRefunded() || got.FullyRefunded() {
		t.Fatalf("purchase after the partial refund: %+v", got)
	}
	// The rest: no amount given.
	res, err = f.refund(p, "", "Account closed", false)
	if err != nil || res.Refund.Amount != usd(t, "15") || !strings.HasSuffix(res.CreditNote.Number, "-000002") {
		t.Fatalf("refund of the rest: %+v %v", res, err)
	}
	if got := f.balance(t, ws); got != "0.00" {
		t.Fatalf("balance %s after the full refund", got)
	}
	if got := f.purchase(t, p); got.Refunded != usd(t, "25") || !got.FullyRefunded() {
		t.Fatalf("purchase after the full refund: %+v", got)
	}
	if notes := f.creditNotes(t, p); strings.Join(notes, "|") != "10.00:Unused credits|15.00:Account closed" {
		t.Fatalf("credit notes %v", notes)
	}
	if _, err := f.refund(p, "0.01", "again", true); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("a refund of a fully refunded purchase: %v", err)
	}
	if f.sandbox.Refunded(p.PaymentIntentID) != 2500 || f.sandbox.RefundCount() != 2 {
		t.Fatalf("the processor refunded %d cents in %d refunds", f.sandbox.Refunded(p.PaymentIntentID), f.sandbox.RefundCount())
	}
}

func TestRefundPurchase_AboveTheBalanceNeedsAllowNegativeAndThenBlocks(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "25.00", "pm_card_visa")
	if _, err := f.svc.Grant(context.Background(), ws, -usd(t, "20"), "usage stand-in", ""); err != nil {
		t.Fatal(err)
	}
	_, err := f.refund(p, "10.00", "Customer asked", false)
	var berr *billing.Error
	if !errors.As(err, &berr) || berr.Code != billing.CodeInsufficientCredits || berr.Field != "amount" {
		t.Fatalf("refund above the balance: %v", err)
	}
	if f.balance(t, ws) != "5.00" || f.sandbox.RefundCount() != 0 {
		t.Fatal("a refused refund moved money")
	}
	res, err := f.refund(p, "10.00", "Customer asked", true)
	if err != nil || res.Balance.Amount != -usd(t, "5") || !res.Balance.Blocked() {
		t.Fatalf("refund with --allow-negative: %+v %v", res, err)
	}
	if f.balance(t, ws) != "-5.00" {
		t.Fatal("balance")
	}
}

func TestRefundPurchase_RefusesWhatCannotBeRefunded(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "100")
	p := f.buy(t, ws, "25.00", "pm_card_visa")
	pending := f.buy(t, ws, "12.00", "pm_card_authenticationRequired")
	cases := []struct {
		name, amount, reason, field string
		purchase                    billing.Purchase
		code                        billing.Code
	}{
		{"more than the purchase", "25.01", "x", "amount", p, billing.CodeBadUserInput},
		{"zero", "0", "x", "amount", p, billing.CodeBadUserInput},
		{"negative", "-5", "x", "amount", p, billing.CodeBadUserInput},
		{"a fraction of a cent", "1.001", "x", "amount", p, billing.CodeBadUserInput},
		{"no reason", "1.00", "  ", "reason", p, billing.CodeBadUserInput},
		{"a reason with an escape code", "1.00", "\x1b[2Jgone", "reason", p, billing.CodeBadUserInput},
		{"a reason the credit note cannot print", "1.00", "החזר", "reason", p, billing.CodeBadUserInput},
		{"a reason too long", "1.00", strings.Repeat("x", 201), "reason", p, billing.CodeBadUserInput},
		{"a purchase not succeeded", "1.00", "x", "transaction", pending, billing.CodeBadUserInput},
		{"an unknown purchase", "1.00", "x", "", billing.Purchase{ID: uuid.New()}, billing.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.refund(tc.purchase, tc.amount, tc.reason, true)
			var berr *billing.Error
			if !errors.As(err, &berr) || berr.Code != tc.code || berr.Field != tc.field {
				t.Fatalf("err %v (%+v), want %s on %q", err, berr, tc.code, tc.field)
			}
		})
	}
	if f.sandbox.RefundCount() != 0 || f.balance(t, ws) != "125.00" {
		t.Fatal("a refused refund moved money")
	}
}

func TestRefundPurchase_UnknownOutcomeStaysPendingAndResumeFinishesItOnce(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "40.00", "pm_card_visa")
	f.sandbox.BeforeRefund = func(payments.RefundRequest) error { return errors.New("connection reset") }
	res, err := f.refund(p, "15.00", "Duplicate purchase", false)
	if billing.CodeOf(err) != billing.CodePaymentFailed || res.Refund.Status != billing.RefundPending || !strings.Contains(err.Error(), res.Refund.ID.String()) {
		t.Fatalf("unknown outcome: %+v %v", res, err)
	}
	if f.balance(t, ws) != "40.00" {
		t.Fatal("a refund of unknown outcome moved the balance")
	}
	// Another amount while it is pending is refused: finish it first.
	if _, err := f.refund(p, "5.00", "other", false); billing.CodeOf(err) != billing.CodeBadUserInput || !strings.Contains(err.Error(), "waiting") {
		t.Fatalf("another refund while one is pending: %v", err)
	}
	f.sandbox.BeforeRefund = nil
	// --resume, 20 times at once: one refund at the processor, and every
	// one of them answers with it.
	pending := res.Refund.ID
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := f.svc.RefundPurchase(context.Background(), billing.RefundRequest{PurchaseID: p.ID, Resume: &pending})
			if err != nil || res.Refund.ID != pending || res.Refund.Status != billing.RefundSucceeded || res.CreditNote.Number == "" {
				t.Errorf("resume: %+v %v", res, err)
			}
		}()
	}
	wg.Wait()
	if f.sandbox.RefundCount() != 1 || f.sandbox.Refunded(p.PaymentIntentID) != 1500 {
		t.Fatalf("processor refunds %d (%d cents)", f.sandbox.RefundCount(), f.sandbox.Refunded(p.PaymentIntentID))
	}
	other := uuid.New()
	if _, err := f.svc.RefundPurchase(context.Background(), billing.RefundRequest{PurchaseID: p.ID, Resume: &other}); billing.CodeOf(err) != billing.CodeNotFound {
		t.Fatalf("resume of an unknown refund: %v", err)
	}
	if got := f.balance(t, ws); got != "25.00" {
		t.Fatalf("balance %s", got)
	}
	if notes := f.creditNotes(t, p); len(notes) != 1 || notes[0] != "15.00:Duplicate purchase" {
		t.Fatalf("credit notes %v", notes)
	}
}

func TestRefundPurchase_RefusedByTheProviderChangesNothing(t *testing.T) {
	f := newFixture(t)
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "20.00", "pm_card_visa")
	// Refunded at the processor behind our back (no webhook yet): Stripe
	// refuses to refund it again.
	if _, err := f.sandbox.Refund(context.Background(), payments.RefundRequest{IntentID: p.PaymentIntentID, AmountCents: 2000, IdempotencyKey: "dashboard"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.refund(p, "", "Customer asked", false)
	if billing.CodeOf(err) != billing.CodePaymentFailed || res.Refund.Status != billing.RefundFailed {
		t.Fatalf("refused refund: %+v %v", res, err)
	}
	if f.balance(t, ws) != "20.00" || len(f.creditNotes(t, p)) != 0 {
		t.Fatal("a refused refund withdrew credits or issued a credit note")
	}
	// A failed refund takes nothing from what is left to refund.
	if _, err := f.refund(p, "20.00", "again", false); billing.CodeOf(err) != billing.CodePaymentFailed {
		t.Fatalf("second attempt: %v", err)
	}
}

// charged is what a charge.refunded event says, with the purchase's intent.
func charged(p billing.Purchase, refundedCents int64, refunds ...payments.Refund) billing.ChargeRefunded {
	return billing.ChargeRefunded{ChargeID: "ch_" + p.ID.String()[:8], IntentID: p.PaymentIntentID, AmountRefundedCents: refundedCents, Refunds: refunds}
}

func TestChargeRefunded_CumulativeAmountsOutOfOrderAndTwiceCountOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "50.00", "pm_card_visa")
	steps := []struct {
		refundedCents int64
		balance       string
	}{
		{1000, "40.00"}, // first partial refund
		{1000, "40.00"}, // the same event again
		{3000, "20.00"}, // a second refund: cumulative 30.00
		{1000, "20.00"}, // the first event, late
		{5000, "0.00"},  // the rest
		{3000, "0.00"},  // stale
		{5000, "0.00"},  // duplicate of the last
	}
	for i, s := range steps {
		if err := f.svc.ApplyChargeRefunded(ctx, charged(p, s.refundedCents)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := f.balance(t, ws); got != s.balance {
			t.Fatalf("step %d (amount_refunded %d): balance %s, want %s", i, s.refundedCents, got, s.balance)
		}
	}
	if notes := f.creditNotes(t, p); strings.Join(notes, "|") != "10.00:Refund|20.00:Refund|20.00:Refund" {
		t.Fatalf("credit notes %v", notes)
	}
	if got := f.purchase(t, p); !got.FullyRefunded() {
		t.Fatalf("purchase %+v", got)
	}
	// More than was charged is not believed beyond the purchase.
	if err := f.svc.ApplyChargeRefunded(ctx, charged(p, 1<<62)); err != nil || f.balance(t, ws) != "0.00" {
		t.Fatalf("absurd amount_refunded: %v, balance %s", err, f.balance(t, ws))
	}
	if err := f.svc.ApplyChargeRefunded(ctx, charged(p, -1)); err == nil {
		t.Fatal("a negative amount_refunded was accepted")
	}
}

func TestChargeRefunded_ListedRefundsAreRecordedByTheirOwnIds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "50.00", "pm_card_visa")
	t0 := time.Now()
	a := payments.Refund{ID: "re_A", AmountCents: 700, Status: payments.RefundSucceeded, Created: t0, Reason: "requested_by_customer"}
	b := payments.Refund{ID: "re_B", AmountCents: 300, Status: payments.RefundSucceeded, Created: t0.Add(time.Second)}
	failed := payments.Refund{ID: "re_F", AmountCents: 4000, Status: payments.RefundFailed, Created: t0}
	for i, ev := range []billing.ChargeRefunded{charged(p, 700, a), charged(p, 1000, b, a, failed), charged(p, 700, a), charged(p, 1000, a, b)} {
		if err := f.svc.ApplyChargeRefunded(ctx, ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if got := f.balance(t, ws); got != "40.00" {
		t.Fatalf("balance %s", got)
	}
	var refs []string
	rows, err := f.db.SQL.Query(`SELECT reference FROM ledger_entries WHERE workspace_id = $1 AND kind = 'refund' ORDER BY id`, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		rows.Scan(&r) //nolint:errcheck
		refs = append(refs, r)
	}
	if strings.Join(refs, ",") != "re_A,re_B" {
		t.Fatalf("ledger references %v, want the Stripe refund ids", refs)
	}
	if notes := f.creditNotes(t, p); strings.Join(notes, "|") != "7.00:Refund (requested by customer)|3.00:Refund" {
		t.Fatalf("credit notes %v", notes)
	}
}

func TestChargeRefunded_CompletesOurPendingRefundInsteadOfCountingItTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "30.00", "pm_card_visa")
	var ours payments.Refund
	f.sandbox.BeforeRefund = func(req payments.RefundRequest) error {
		// The processor makes the refund, but the answer is lost; the
		// webhook arrives first, first without the list, then with it.
		f.sandbox.BeforeRefund = nil
		r, err := f.sandbox.Refund(ctx, req)
		ours = r
		if err != nil {
			return err
		}
		return errors.New("timeout")
	}
	res, err := f.refund(p, "12.00", "Goodwill", false)
	if billing.CodeOf(err) != billing.CodePaymentFailed || res.Refund.Status != billing.RefundPending {
		t.Fatalf("lost answer: %+v %v", res, err)
	}
	for _, ev := range []billing.ChargeRefunded{charged(p, 1200), charged(p, 1200, ours)} {
		if err := f.svc.ApplyChargeRefunded(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.balance(t, ws); got != "18.00" {
		t.Fatalf("balance %s after the webhooks", got)
	}
	// The operator's --resume finds it done.
	res, err = f.svc.RefundPurchase(ctx, billing.RefundRequest{PurchaseID: p.ID, Resume: &res.Refund.ID})
	if err != nil || res.Refund.Status != billing.RefundSucceeded || res.Refund.ProcessorID != ours.ID || res.CreditNote.Amount != usd(t, "12") {
		t.Fatalf("resume of a refund its webhook finished: %+v %v", res, err)
	}
	if f.balance(t, ws) != "18.00" || f.sandbox.RefundCount() != 1 {
		t.Fatal("counted twice")
	}
	if notes := f.creditNotes(t, p); len(notes) != 1 || notes[0] != "12.00:Goodwill" {
		t.Fatalf("credit notes %v", notes)
	}
}

// Issue 19: a refund webhook for a purchase not yet credited is recorded,
// and the later success never credits the refunded part.
func TestChargeRefunded_BeforeTheSuccessIsRecordedAndNeverCredited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	p := f.buy(t, ws, "30.00", "pm_card_authenticationRequired")
	if p.Status != billing.StatusRequiresAction {
		t.Fatalf("purchase %+v", p)
	}
	if err := f.svc.ApplyChargeRefunded(ctx, charged(p, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ApplyDispute(ctx, billing.DisputeUpdate{ID: "dp_early", IntentID: p.PaymentIntentID, AmountCents: 500, Status: "needs_response"}); err != nil {
		t.Fatal(err)
	}
	if got := f.balance(t, ws); got != "0.00" {
		t.Fatalf("balance %s before the success", got)
	}
	if _, err := f.sandbox.CompleteAuthentication(p.PaymentIntentID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the success, twice
		if err := f.svc.ApplyPaymentOutcome(ctx, p.PaymentIntentID, nil, billing.ChargeOutcome{Result: billing.ChargeSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.balance(t, ws); got != "15.00" {
		t.Fatalf("balance %s: 30.00 credited less 10.00 refunded and 5.00 disputed", got)
	}
	if notes := f.creditNotes(t, p); len(notes) != 1 || notes[0] != "10.00:Refund" {
		t.Fatalf("credit notes %v", notes)
	}
}

func TestDisputes_WonGivesBackLostKeepsWithACreditNote(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	won := f.buy(t, ws, "20.00", "pm_card_visa")
	lost := f.buy(t, ws, "30.00", "pm_card_visa")
	dispute := func(p billing.Purchase, id, status string, cents int64) {
		t.Helper()
		if err := f.svc.ApplyDispute(ctx, billing.DisputeUpdate{ID: id, IntentID: p.PaymentIntentID, AmountCents: cents, Status: status, Reason: "fraudulent"}); err != nil {
			t.Fatalf("%s %s: %v", id, status, err)
		}
	}
	steps := []struct {
		p       billing.Purchase
		id      string
		status  string
		balance string
	}{
		{won, "dp_won", "warning_needs_response", "50.00"}, // an inquiry withdraws nothing
		{won, "dp_won", "needs_response", "30.00"},
		{won, "dp_won", "needs_response", "30.00"}, // twice
		{won, "dp_won", "under_review", "30.00"},
		{won, "dp_won", "won", "50.00"},
		{won, "dp_won", "won", "50.00"},
		{won, "dp_won", "needs_response", "50.00"}, // stale: a won dispute never reopens
		{lost, "dp_lost", "lost", "20.00"},         // closed before created
		{lost, "dp_lost", "needs_response", "20.00"},
		{lost, "dp_lost", "lost", "20.00"},
	}
	for i, s := range steps {
		cents, _ := s.p.Amount.CentsExact()
		dispute(s.p, s.id, s.status, cents)
		if got := f.balance(t, ws); got != s.balance {
			t.Fatalf("step %d (%s %s): balance %s, want %s", i, s.id, s.status, got, s.balance)
		}
	}
	if notes := f.creditNotes(t, won); len(notes) != 0 {
		t.Fatalf("a won dispute issued %v", notes)
	}
	if notes := f.creditNotes(t, lost); len(notes) != 1 || notes[0] != "30.00:Chargeback lost (fraudulent)" {
		t.Fatalf("lost dispute credit notes %v", notes)
	}
	if got := f.purchase(t, lost); !got.FullyRefunded() {
		t.Fatalf("a lost dispute's purchase: %+v", got)
	}
	// A disputed purchase cannot be refunded by the operator as well.
	if _, err := f.refund(lost, "1.00", "x", true); billing.CodeOf(err) != billing.CodeBadUserInput {
		t.Fatalf("refund of a lost dispute: %v", err)
	}
	// Not ours: another environment's intent.
	err := f.svc.ApplyDispute(ctx, billing.DisputeUpdate{ID: "dp_x", IntentID: "pi_elsewhere", AmountCents: 100, Status: "needs_response"})
	if !errors.Is(err, billing.ErrNotOurs) {
		t.Fatalf("someone else's dispute: %v", err)
	}
	if err := f.svc.ApplyChargeRefunded(ctx, billing.ChargeRefunded{ChargeID: "ch_x", IntentID: "pi_elsewhere", AmountRefundedCents: 100}); !errors.Is(err, billing.ErrNotOurs) {
		t.Fatalf("someone else's refund: %v", err)
	}
}

func TestCreditNotes_NumbersAreGaplessUnder50ConcurrentRefunds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var purchases []billing.Purchase
	for w := 0; w < 10; w++ {
		ws := f.workspace(t, "free", "0")
		for i := 0; i < 5; i++ {
			purchases = append(purchases, f.buy(t, ws, "5.00", "pm_card_visa"))
		}
	}
	// A refused refund first: it must not take a number.
	f.sandbox.BeforeRefund = func(payments.RefundRequest) error { return payments.ErrRefused }
	if _, err := f.refund(purchases[0], "1.00", "refused", false); billing.CodeOf(err) != billing.CodePaymentFailed {
		t.Fatal(err)
	}
	f.sandbox.BeforeRefund = nil
	var wg sync.WaitGroup
	for i, p := range purchases {
		wg.Add(1)
		go func(i int, p billing.Purchase) {
			defer wg.Done()
			var err error
			if i%2 == 0 { // half by the operator, half by webhook
				_, err = f.refund(p, "", "concurrent", false)
			} else {
				err = f.svc.ApplyChargeRefunded(ctx, charged(p, 500))
			}
			if err != nil {
				t.Errorf("refund %d: %v", i, err)
			}
		}(i, p)
	}
	wg.Wait()
	rows, err := f.db.SQL.Query(`SELECT seq, number, issued_at FROM credit_notes ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, last := int64(0), time.Time{}
	for rows.Next() {
		var seq int64
		var number string
		var issued time.Time
		if err := rows.Scan(&seq, &number, &issued); err != nil {
			t.Fatal(err)
		}
		n++
		if seq != n || number != fmt.Sprintf("CN-%d-%06d", issued.UTC().Year(), n) || issued.Before(last) {
			t.Fatalf("credit note %d: seq %d number %s issued %s (previous %s): not gapless and in order", n, seq, number, issued, last)
		}
		last = issued
	}
	if n != 50 {
		t.Fatalf("%d credit notes, want 50", n)
	}
	for _, p := range purchases {
		f.assertInvariant(t, p.WorkspaceID)
	}
}

// Numbers and dates come from one clock reading under the counter's lock:
// across new year, CN-2026 numbers never follow CN-2027 ones.
func TestCreditNotes_NumberYearIsTheIssueDateAcrossNewYear(t *testing.T) {
	f := newFixture(t)
	clock := newTestClockAt(time.Date(2026, 12, 31, 23, 59, 59, 999_999_000, time.UTC))
	svc := billing.New(f.db.SQL, f.sandbox, billing.Config{Clock: clock.Now}, f.log())
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ws := f.workspace(t, "free", "0")
	res, err := svc.AddCredits(context.Background(), ws, billing.PurchaseRequest{Amount: usd(t, "20"), NewPaymentMethod: "pm_card_visa", Billing: testProfile})
	if err != nil {
		t.Fatal(err)
	}
	first, err := svc.RefundPurchase(context.Background(), billing.RefundRequest{PurchaseID: res.Purchase.ID, Amount: ptr(usd(t, "5")), Reason: "before"})
	if err != nil || first.CreditNote.Number != "CN-2026-000001" || first.CreditNote.IssuedAt.Year() != 2026 {
		t.Fatalf("first: %+v %v", first.CreditNote, err)
	}
	clock.Advance(time.Microsecond)
	second, err := svc.RefundPurchase(context.Background(), billing.RefundRequest{PurchaseID: res.Purchase.ID, Amount: ptr(usd(t, "5")), Reason: "after"})
	if err != nil || second.CreditNote.Number != "CN-2027-000002" || second.CreditNote.IssuedAt.Year() != 2027 {
		t.Fatalf("second: %+v %v", second.CreditNote, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestReconcile_RefundsAreMatchedByID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	a := f.buy(t, ws, "20.00", "pm_card_visa")
	b := f.buy(t, ws, "20.00", "pm_card_visa")
	c := f.buy(t, ws, "20.00", "pm_card_visa")
	if _, err := f.refund(a, "5.00", "recorded", false); err != nil { // ours and theirs: matched
		t.Fatal(err)
	}
	// b: refunded at the processor, the webhook never came.
	missed, err := f.sandbox.Refund(ctx, payments.RefundRequest{IntentID: b.PaymentIntentID, AmountCents: 700, IdempotencyKey: "dashboard-b"})
	if err != nil {
		t.Fatal(err)
	}
	// c: refunded at the processor; its webhook without the list recorded
	// the cumulative amount under the charge's id: covered, not reported.
	if _, err := f.sandbox.Refund(ctx, payments.RefundRequest{IntentID: c.PaymentIntentID, AmountCents: 300, IdempotencyKey: "dashboard-c"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ApplyChargeRefunded(ctx, charged(c, 300)); err != nil {
		t.Fatal(err)
	}
	since, until := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	report, err := f.svc.Reconcile(ctx, since, until, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != 1 || report[0].Kind != "refunded_not_recorded" || report[0].RefundID != missed.ID || report[0].Amount != usd(t, "7") || report[0].Fixed {
		t.Fatalf("report %+v", report)
	}
	if got := f.balance(t, ws); got != "52.00" {
		t.Fatalf("balance %s before the fix", got)
	}
	report, err = f.svc.Reconcile(ctx, since, until, true)
	if err != nil || len(report) != 1 || !report[0].Fixed {
		t.Fatalf("fix: %+v %v", report, err)
	}
	if got := f.balance(t, ws); got != "45.00" {
		t.Fatalf("balance %s after the fix", got)
	}
	if report, err := f.svc.Reconcile(ctx, since, until, true); err != nil || len(report) != 0 {
		t.Fatalf("a second run: %+v %v", report, err)
	}
	if notes := f.creditNotes(t, b); len(notes) != 1 || notes[0] != "7.00:Refund" {
		t.Fatalf("credit notes of b %v", notes)
	}
}
