package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
)

// bought is a purchase made through GraphQL, with what webhooks name it by.
type bought struct {
	txn, invoice, purchaseID, intentID string
}

func (e *env) buy(owner, amount, card string) bought {
	e.t.Helper()
	data, codes := e.gql(owner, addCredits, purchase(amount, card, ""))
	if len(codes) != 0 {
		e.t.Fatalf("addCredits: %v", codes)
	}
	b := bought{txn: dig(data, "addCredits", "transaction", "id").(string)}
	if inv, ok := dig(data, "addCredits", "transaction", "invoice", "id").(string); ok {
		b.invoice = inv
	}
	b.purchaseID = strings.TrimPrefix(b.txn, "txn_")
	if err := e.db.SQL.QueryRow(`SELECT payment_intent_id FROM purchases WHERE id = $1`, b.purchaseID).Scan(&b.intentID); err != nil {
		e.t.Fatal(err)
	}
	return b
}

// chargeObject is a Stripe charge as a charge.refunded event carries it
// (API 2023-10-16: no refund list unless expanded).
func chargeObject(b bought, amountCents, refundedCents int64) map[string]any {
	return map[string]any{"id": "ch_" + b.purchaseID[:8], "object": "charge", "amount": amountCents, "amount_refunded": refundedCents,
		"refunded": refundedCents == amountCents, "payment_intent": b.intentID, "status": "succeeded"}
}

func disputeObject(b bought, id, status string, amountCents int64) map[string]any {
	return map[string]any{"id": id, "object": "dispute", "amount": amountCents, "charge": "ch_" + b.purchaseID[:8],
		"payment_intent": b.intentID, "status": status, "reason": "fraudulent", "currency": "usd"}
}

// deliver sends a signed event and wants 200.
func (e *env) deliver(id, typ string, object map[string]any) {
	e.t.Helper()
	body, sig := signedEvent(e.t.(*testing.T), id, typ, object)
	if code := e.webhook(body, sig); code != http.StatusOK {
		e.t.Fatalf("%s %s: %d", typ, id, code)
	}
}

const transactionRefunds = `query($id: ID!) { node(id: $id) { ... on Transaction { status amount refundedAmount
	invoice { number creditNotes { id number amount currency reason issuedAt downloadUrl signedDownloadUrl invoice { number } } } } } }`

func TestWebhook_ChargeRefundedPartialThenFullTwiceAndOutOfOrder(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	b := e.buy(owner, "50.00", "pm_card_visa")
	steps := []struct {
		event         string
		refundedCents int64
		balance       string
		status        string
	}{
		{"evt_r1", 1000, "40.00", "PARTIALLY_REFUNDED"}, // a partial refund
		{"evt_r1", 1000, "40.00", "PARTIALLY_REFUNDED"}, // delivered twice
		{"evt_r2", 5000, "0.00", "REFUNDED"},            // then the rest
		{"evt_r1", 1000, "0.00", "REFUNDED"},            // the first, late
		{"evt_r3", 1000, "0.00", "REFUNDED"},            // an old state under a new event id
	}
	for i, s := range steps {
		e.deliver(s.event, "charge.refunded", chargeObject(b, 5000, s.refundedCents))
		if got := e.balance(ws); got != s.balance {
			t.Fatalf("step %d: balance %s, want %s", i, got, s.balance)
		}
		data, codes := e.gql(owner, transactionRefunds, map[string]any{"id": b.txn})
		if len(codes) != 0 || dig(data, "node", "status") != s.status {
			t.Fatalf("step %d: transaction %v %v", i, data, codes)
		}
	}
	data, _ := e.gql(owner, transactionRefunds, map[string]any{"id": b.txn})
	notes := dig(data, "node", "invoice", "creditNotes").([]any)
	if dig(data, "node", "refundedAmount") != "50.00" || len(notes) != 2 {
		t.Fatalf("refunds: %v", data)
	}
	invNumber := dig(data, "node", "invoice", "number")
	for i, want := range []string{"10.00", "40.00"} {
		cn := notes[i].(map[string]any)
		if cn["amount"] != want || cn["currency"] != "USD" || cn["reason"] != "Refund" || !strings.HasPrefix(cn["number"].(string), "CN-") ||
			dig(cn, "invoice", "number") != invNumber || !strings.HasPrefix(cn["id"].(string), "cn_") ||
			cn["downloadUrl"] != "https://credits.example/credit-notes/"+strings.TrimPrefix(cn["id"].(string), "cn_")+".pdf" ||
			cn["signedDownloadUrl"] == "" {
			t.Fatalf("credit note %d: %v", i, cn)
		}
	}
}

func TestWebhook_RefundListCarriesEachRefundByItsID(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	b := e.buy(owner, "30.00", "pm_card_visa")
	refund := func(id string, cents int64) map[string]any {
		return map[string]any{"id": id, "object": "refund", "amount": cents, "status": "succeeded", "payment_intent": b.intentID,
			"created": 1764000000, "reason": "requested_by_customer"}
	}
	withList := func(refundedCents int64, refunds ...map[string]any) map[string]any {
		c := chargeObject(b, 3000, refundedCents)
		c["refunds"] = map[string]any{"object": "list", "data": refunds, "has_more": false, "url": "/v1/charges/ch_x/refunds"}
		return c
	}
	e.deliver("evt_1", "charge.refunded", withList(500, refund("re_one", 500)))
	e.deliver("evt_2", "charge.refunded", withList(1200, refund("re_two", 700), refund("re_one", 500)))
	e.deliver("evt_1", "charge.refunded", withList(500, refund("re_one", 500)))
	if got := e.balance(ws); got != "18.00" {
		t.Fatalf("balance %s", got)
	}
	if n := e.count(`SELECT count(*) FROM ledger_entries WHERE workspace_id = $1 AND kind = 'refund' AND reference IN ('re_one', 're_two')`, ws); n != 2 {
		t.Fatalf("%d refund entries keyed by the Stripe refund ids, want 2", n)
	}
	// The database refuses a second row for one Stripe refund.
	_, err := e.db.SQL.Exec(`INSERT INTO refunds (id, workspace_id, purchase_id, processor_id, source, status, amount, reason, created_at, updated_at)
		SELECT gen_random_uuid(), workspace_id, purchase_id, processor_id, source, status, amount, reason, created_at, updated_at FROM refunds WHERE processor_id = 're_one'`)
	if err == nil || !strings.Contains(err.Error(), "unique") {
		t.Fatalf("a duplicate refund row was accepted: %v", err)
	}
}

// Issue 19: a refund webhook that arrives with (or before) the success
// event never lets the refunded part be credited.
func TestWebhook_RefundConcurrentWithTheSuccessEvent(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	b := e.buy(owner, "30.00", "pm_card_authenticationRequired")
	if _, err := e.sandbox.CompleteAuthentication(b.intentID); err != nil {
		t.Fatal(err)
	}
	succeeded := map[string]any{"id": b.intentID, "object": "payment_intent", "status": "succeeded", "amount": 3000,
		"metadata": map[string]string{"purchase_id": b.purchaseID}}
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			e.deliver(fmt.Sprint("evt_ok_", i%2), "payment_intent.succeeded", succeeded)
		}(i)
		go func(i int) {
			defer wg.Done()
			e.deliver(fmt.Sprint("evt_refund_", i%2), "charge.refunded", chargeObject(b, 3000, 1000))
		}(i)
	}
	wg.Wait()
	if got := e.balance(ws); got != "20.00" {
		t.Fatalf("balance %s, want 30.00 credited less 10.00 refunded", got)
	}
	if e.count(`SELECT count(*) FROM invoices WHERE workspace_id = $1`, ws) != 1 || e.count(`SELECT count(*) FROM credit_notes WHERE workspace_id = $1`, ws) != 1 {
		t.Fatal("want one invoice and one credit note")
	}
	data, _ := e.gql(owner, transactionRefunds, map[string]any{"id": b.txn})
	if dig(data, "node", "status") != "PARTIALLY_REFUNDED" || dig(data, "node", "refundedAmount") != "10.00" {
		t.Fatalf("transaction %v", data)
	}
}

func TestWebhook_DisputeWonAndLost(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	won := e.buy(owner, "20.00", "pm_card_visa")
	lost := e.buy(owner, "30.00", "pm_card_visa")
	steps := []struct {
		b              bought
		event, typ, id string
		status         string
		balance        string
	}{
		{won, "evt_d1", "charge.dispute.created", "dp_won", "warning_needs_response", "50.00"}, // an inquiry: nothing withdrawn
		{won, "evt_d2", "charge.dispute.created", "dp_won", "needs_response", "30.00"},
		{won, "evt_d2", "charge.dispute.created", "dp_won", "needs_response", "30.00"}, // twice
		{won, "evt_d3", "charge.dispute.funds_withdrawn", "dp_won", "needs_response", "30.00"},
		{won, "evt_d4", "charge.dispute.closed", "dp_won", "won", "50.00"},
		{won, "evt_d4", "charge.dispute.closed", "dp_won", "won", "50.00"},
		{lost, "evt_d6", "charge.dispute.closed", "dp_lost", "lost", "20.00"}, // closed before created
		{lost, "evt_d5", "charge.dispute.created", "dp_lost", "needs_response", "20.00"},
	}
	for i, s := range steps {
		e.deliver(s.event, s.typ, disputeObject(s.b, s.id, s.status, map[bought]int64{won: 2000, lost: 3000}[s.b]))
		if got := e.balance(ws); got != s.balance {
			t.Fatalf("step %d (%s %s): balance %s, want %s", i, s.typ, s.status, got, s.balance)
		}
	}
	data, _ := e.gql(owner, transactionRefunds, map[string]any{"id": won.txn})
	if dig(data, "node", "status") != "SUCCEEDED" || len(dig(data, "node", "invoice", "creditNotes").([]any)) != 0 {
		t.Fatalf("won dispute: %v", data)
	}
	data, _ = e.gql(owner, transactionRefunds, map[string]any{"id": lost.txn})
	notes := dig(data, "node", "invoice", "creditNotes").([]any)
	if dig(data, "node", "status") != "REFUNDED" || len(notes) != 1 || dig(notes[0].(map[string]any), "reason") != "Chargeback lost (fraudulent)" {
		t.Fatalf("lost dispute: %v", data)
	}
	kinds := map[string]int{}
	rows, err := e.db.SQL.Query(`SELECT kind, count(*) FROM ledger_entries WHERE workspace_id = $1 AND reference LIKE 'dp_%' GROUP BY kind`, ws)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		rows.Scan(&k, &n) //nolint:errcheck
		kinds[k] = n
	}
	if kinds["dispute"] != 2 || kinds["dispute_won"] != 1 {
		t.Fatalf("dispute ledger entries %v", kinds)
	}
}

func TestWebhook_RefundsAndDisputesOfChargesNotOursAre200(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	e.buy(owner, "10.00", "pm_card_visa")
	stranger := bought{purchaseID: uuid.NewString(), intentID: "pi_other_environment"}
	e.deliver("evt_x1", "charge.refunded", chargeObject(stranger, 5000, 5000))
	e.deliver("evt_x2", "charge.dispute.created", disputeObject(stranger, "dp_x", "needs_response", 5000))
	e.deliver("evt_x3", "charge.dispute.closed", disputeObject(stranger, "dp_x", "lost", 5000))
	// A charge without an intent (a direct charge of another integration).
	e.deliver("evt_x4", "charge.refunded", map[string]any{"id": "ch_direct", "object": "charge", "amount": 100, "amount_refunded": 100})
	if e.balance(ws) != "10.00" || e.count(`SELECT count(*) FROM refunds`) != 0 || e.count(`SELECT count(*) FROM disputes`) != 0 {
		t.Fatal("someone else's refund or dispute changed ours")
	}
}

func TestCreditNotePDF_SameAuthorizationAsInvoicesAndItsTextAsIssued(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	member := e.token(ws, auth.RoleMember)
	_, otherOwner := e.workspace("0")
	b := e.buy(owner, "25.00", "pm_card_visa")
	amount := money.Dollars(10)
	res, err := e.billing.RefundPurchase(context.Background(), billing.RefundRequest{PurchaseID: uuid.MustParse(b.purchaseID), Amount: &amount,
		Reason: "Unused credits, Łódź office closed"})
	if err != nil {
		t.Fatal(err)
	}
	id := res.CreditNote.ID.String()
	got := e.creditNote(id, owner)
	if got.status != 200 || got.contentType != "application/pdf" || !strings.Contains(got.disposition, `filename="`+res.CreditNote.Number+`.pdf"`) {
		t.Fatalf("download: %d %s %s", got.status, got.contentType, got.disposition)
	}
	text := pdfText(t, got.body)
	inv, _ := e.billing.GetInvoice(context.Background(), ws, res.CreditNote.InvoiceID)
	for _, want := range []string{"CREDIT NOTE", res.CreditNote.Number, inv.Number, "Unused credits, Łódź office closed", "10.00",
		"Zofia Müller-Łęcka", "EU VAT PL5261025421", res.Refund.ProcessorID} {
		if !strings.Contains(text, want) {
			t.Errorf("credit note text lacks %q:\n%s", want, text)
		}
	}
	if m := e.creditNote(id, member); m.status != 200 || string(m.body) != string(got.body) {
		t.Fatalf("member: %d", m.status)
	}
	for name, tc := range map[string]struct {
		id, token string
		want      int
	}{
		"other workspace": {id, otherOwner, 404}, "service token": {id, e.service, 404}, "no token": {id, "", 401},
		"unknown id": {uuid.NewString(), owner, 404}, "malformed id": {"not-a-uuid", owner, 404}, "an invoice's id": {res.CreditNote.InvoiceID.String(), owner, 404},
	} {
		if r := e.creditNote(tc.id, tc.token); r.status != tc.want {
			t.Errorf("%s: %d, want %d", name, r.status, tc.want)
		}
	}
}

func (e *env) creditNote(id, token string) download {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/credit-notes/"+strings.TrimPrefix(id, "cn_")+".pdf", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return download{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), body}
}

// balanceUpdated fires for refunds, disputes and their reversal: they move
// the balance through the ledger like any other change.
func TestBalanceUpdated_FiresOnRefundsAndDisputes(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	b := e.buy(owner, "50.00", "pm_card_visa")
	sub, err := e.subscribe(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.close()
	sub.waitFor(t, "50.00")
	e.deliver("evt_1", "charge.refunded", chargeObject(b, 5000, 1000))
	sub.waitFor(t, "40.00")
	e.deliver("evt_2", "charge.dispute.created", disputeObject(b, "dp_1", "needs_response", 2000))
	sub.waitFor(t, "20.00")
	e.deliver("evt_3", "charge.dispute.closed", disputeObject(b, "dp_1", "won", 2000))
	sub.waitFor(t, "40.00")
	amount := money.Dollars(40)
	if _, err := e.billing.RefundPurchase(context.Background(), billing.RefundRequest{PurchaseID: uuid.MustParse(b.purchaseID), Amount: &amount, Reason: "rest"}); err != nil {
		t.Fatal(err)
	}
	if m := sub.waitFor(t, "0.00"); m["blocked"] != true {
		t.Fatalf("a balance of zero after the refund is not blocked: %v", m)
	}
}
