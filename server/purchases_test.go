package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/airouter/credits/auth"
)

const addCredits = `mutation($input: AddCreditsInput!) { addCredits(input: $input) {
	transaction { id type status amount currency failureReason cardBrand cardLast4 invoice { id number amount downloadUrl } }
	balance { amount blocked } requiresAction clientSecret } }`

func billingInput() map[string]any {
	return map[string]any{"name": "Zofia Müller-Łęcka", "address": map[string]any{"line1": "ul. Piotrkowska 12", "city": "Łódź", "postalCode": "90-001", "country": "PL"},
		"taxId": map[string]any{"country": "PL", "type": "eu_vat", "value": "5261025421"}} // a real NIP: taxid checks the check digit
}

func purchase(amount, card, key string) map[string]any {
	in := map[string]any{"amount": amount, "newPaymentMethod": card, "billing": billingInput()}
	if key != "" {
		in["idempotencyKey"] = key
	}
	return map[string]any{"input": in}
}

func (e *env) balance(ws uuid.UUID) string {
	e.t.Helper()
	b, err := e.billing.GetBalance(context.Background(), ws)
	if err != nil {
		e.t.Fatal(err)
	}
	sum, err := e.billing.LedgerSum(context.Background(), ws)
	if err != nil {
		e.t.Fatal(err)
	}
	if sum != b.Amount {
		e.t.Fatalf("balance %s != ledger sum %s", b.Amount, sum)
	}
	return b.Amount.String()
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.SQL.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestAddCredits_SucceedsAndCreditsAtOnceWithAnInvoice(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	data, codes := e.gql(owner, addCredits, purchase("25.00", "pm_card_visa", ""))
	if len(codes) != 0 {
		t.Fatalf("addCredits: %v", codes)
	}
	p := dig(data, "addCredits").(map[string]any)
	if dig(p, "transaction", "status") != "SUCCEEDED" || dig(p, "transaction", "type") != "PURCHASE" || dig(p, "transaction", "amount") != "25.00" ||
		dig(p, "balance", "amount") != "25.00" || p["requiresAction"] != false || dig(p, "transaction", "cardLast4") != "4242" {
		t.Fatalf("payload %v", p)
	}
	inv := dig(p, "transaction", "invoice").(map[string]any)
	if !strings.HasPrefix(inv["number"].(string), "CR-") || inv["amount"] != "25.00" ||
		!strings.HasPrefix(inv["downloadUrl"].(string), "https://credits.example/invoices/") {
		t.Fatalf("invoice %v", inv)
	}
	if e.balance(ws) != "25.00" || e.sandbox.Charges() != 1 {
		t.Fatalf("balance %s, charges %d", e.balance(ws), e.sandbox.Charges())
	}
	// The card is saved and the profile stored as entered (normalized).
	data, _ = e.gql(owner, `{ paymentMethods { brand last4 isDefault } billingProfile { name address { city country } taxId { country type value } } }`, nil)
	if dig(data, "billingProfile", "taxId", "value") != "PL5261025421" || dig(data, "billingProfile", "address", "city") != "Łódź" {
		t.Fatalf("profile %v", data)
	}
	if cards := data["paymentMethods"].([]any); len(cards) != 1 || dig(cards[0].(map[string]any), "isDefault") != true {
		t.Fatalf("cards %v", cards)
	}
}

func TestAddCredits_DeclineIsFailedWithTheReasonAndNoCredit(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	for card, reason := range map[string]string{"pm_card_chargeDeclined": "declined", "pm_card_insufficientFunds": "insufficient funds"} {
		_, out := e.post("/graphql", owner, map[string]any{"query": addCredits, "variables": purchase("10.00", card, "")})
		_, codes := gqlResult(out)
		msg, _ := dig(out, "errors").([]any)[0].(map[string]any)["message"].(string)
		if !slices.Equal(codes, []string{"PAYMENT_FAILED"}) || !strings.Contains(msg, reason) {
			t.Fatalf("%s: codes %v message %q", card, codes, msg)
		}
	}
	if e.balance(ws) != "0.00" || e.count(`SELECT count(*) FROM invoices WHERE workspace_id = $1`, ws) != 0 {
		t.Fatal("a declined purchase credited or invoiced")
	}
	data, _ := e.gql(owner, `{ transactions { totalCount edges { node { status failureReason } } } }`, nil)
	edges := dig(data, "transactions", "edges").([]any)
	if dig(data, "transactions", "totalCount") != float64(2) || dig(edges[0].(map[string]any), "node", "status") != "FAILED" {
		t.Fatalf("history %v", data)
	}
}

// signedEvent builds a Stripe webhook request body and signature.
func signedEvent(t *testing.T, id, typ string, object map[string]any) ([]byte, string) {
	t.Helper()
	raw, _ := json.Marshal(object)
	payload := fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","type":%q,"data":{"object":%s}}`, id, typ, raw)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: webhookSecret, Timestamp: time.Now()})
	return signed.Payload, signed.Header
}

func (e *env) webhook(payload []byte, signature string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/stripe/webhook", strings.NewReader(string(payload)))
	req.Header.Set("Stripe-Signature", signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAddCredits_AuthenticationRequiredThenWebhookCreditsOnce(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	data, codes := e.gql(owner, addCredits, purchase("30.00", "pm_card_authenticationRequired", ""))
	p, _ := dig(data, "addCredits").(map[string]any)
	if len(codes) != 0 || p["requiresAction"] != true || p["clientSecret"] == nil || dig(p, "transaction", "status") != "REQUIRES_ACTION" {
		t.Fatalf("payload %v %v", p, codes)
	}
	if e.balance(ws) != "0.00" {
		t.Fatal("credited before authentication")
	}
	var intentID, purchaseID string
	if err := e.db.SQL.QueryRow(`SELECT payment_intent_id, id FROM purchases WHERE workspace_id = $1`, ws).Scan(&intentID, &purchaseID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sandbox.CompleteAuthentication(intentID); err != nil {
		t.Fatal(err)
	}
	pi := map[string]any{"id": intentID, "object": "payment_intent", "status": "succeeded", "amount": 3000, "metadata": map[string]string{"purchase_id": purchaseID}}
	failed := map[string]any{"id": intentID, "object": "payment_intent", "status": "requires_payment_method", "metadata": map[string]string{"purchase_id": purchaseID},
		"last_payment_error": map[string]any{"message": "late failure"}}

	// A bad signature is refused and changes nothing.
	body, _ := signedEvent(t, "evt_1", "payment_intent.succeeded", pi)
	if code := e.webhook(body, "t=1,v1=deadbeef"); code != http.StatusBadRequest {
		t.Fatalf("bad signature: %d", code)
	}
	if e.balance(ws) != "0.00" {
		t.Fatal("a forged event credited")
	}
	// The same event ten times, concurrently, and a stale failure event out of order: credited once.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, sig := signedEvent(t, "evt_1", "payment_intent.succeeded", pi)
			if code := e.webhook(body, sig); code != 200 {
				t.Errorf("webhook: %d", code)
			}
		}()
	}
	wg.Wait()
	body, sig := signedEvent(t, "evt_0", "payment_intent.payment_failed", failed)
	if code := e.webhook(body, sig); code != 200 {
		t.Fatalf("late failure webhook: %d", code)
	}
	if e.balance(ws) != "30.00" || e.count(`SELECT count(*) FROM invoices WHERE workspace_id = $1`, ws) != 1 {
		t.Fatalf("balance %s after replays", e.balance(ws))
	}
	data, _ = e.gql(owner, `{ transactions { edges { node { status invoice { number } } } } }`, nil)
	node := dig(dig(data, "transactions", "edges").([]any)[0].(map[string]any), "node")
	if node.(map[string]any)["status"] != "SUCCEEDED" || dig(node.(map[string]any), "invoice", "number") == nil {
		t.Fatalf("transaction %v", node)
	}
}

func TestAddCredits_ConcurrentConfirmAndWebhookCreditOnce(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	// Deliver the succeeded webhook while the synchronous confirm is settling.
	var wg sync.WaitGroup
	e.sandbox.BeforeCharge = nil
	data, codes := e.gql(owner, addCredits, purchase("12.00", "pm_card_visa", "k1"))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	txn := dig(data, "addCredits", "transaction", "id").(string)
	purchaseID := strings.TrimPrefix(txn, "txn_")
	var intentID string
	if err := e.db.SQL.QueryRow(`SELECT payment_intent_id FROM purchases WHERE id = $1`, purchaseID).Scan(&intentID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			body, sig := signedEvent(t, fmt.Sprintf("evt_%d", i), "payment_intent.succeeded", map[string]any{"id": intentID, "object": "payment_intent",
				"status": "succeeded", "metadata": map[string]string{"purchase_id": purchaseID}})
			e.webhook(body, sig)
		}(i)
		go func() {
			defer wg.Done()
			e.gql(owner, addCredits, purchase("12.00", "pm_card_visa", "k1"))
		}()
	}
	wg.Wait()
	if e.balance(ws) != "12.00" || e.sandbox.Charges() != 1 || e.count(`SELECT count(*) FROM invoices WHERE workspace_id = $1`, ws) != 1 {
		t.Fatalf("balance %s, charges %d", e.balance(ws), e.sandbox.Charges())
	}
}

func TestAddCredits_SameIdempotencyKeyChargesOnce(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.gql(owner, addCredits, purchase("20.00", "pm_card_visa", "order-42"))
		}()
	}
	wg.Wait()
	data, codes := e.gql(owner, addCredits, purchase("20.00", "pm_card_visa", "order-42"))
	if len(codes) != 0 || dig(data, "addCredits", "transaction", "status") != "SUCCEEDED" {
		t.Fatalf("replay: %v %v", data, codes)
	}
	if e.balance(ws) != "20.00" || e.sandbox.Charges() != 1 || e.count(`SELECT count(*) FROM purchases WHERE workspace_id = $1`, ws) != 1 {
		t.Fatalf("balance %s charges %d", e.balance(ws), e.sandbox.Charges())
	}
	// The same key for another amount is refused.
	if _, codes := e.gql(owner, addCredits, purchase("21.00", "pm_card_visa", "order-42")); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
		t.Fatalf("key reuse with another amount: %v", codes)
	}
}

func TestAddCredits_BadInputIsRefusedAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	member := e.token(ws, auth.RoleMember)
	noTax := billingInput()
	delete(noTax, "taxId")
	cases := map[string]struct {
		token string
		vars  map[string]any
		code  string
	}{
		"$4.99":            {owner, purchase("4.99", "pm_card_visa", ""), "BAD_USER_INPUT"},
		"zero":             {owner, purchase("0", "pm_card_visa", ""), "BAD_USER_INPUT"},
		"negative":         {owner, purchase("-10.00", "pm_card_visa", ""), "BAD_USER_INPUT"},
		"3 decimals":       {owner, purchase("10.005", "pm_card_visa", ""), "BAD_USER_INPUT"},
		"above maximum":    {owner, purchase("10000.01", "pm_card_visa", ""), "BAD_USER_INPUT"},
		"float amount":     {owner, map[string]any{"input": map[string]any{"amount": 10.5, "newPaymentMethod": "pm_card_visa", "billing": billingInput()}}, "BAD_USER_INPUT"},
		"no name":          {owner, map[string]any{"input": map[string]any{"amount": "10.00", "newPaymentMethod": "pm_card_visa", "billing": map[string]any{"name": " ", "address": map[string]any{"line1": "x", "city": "y", "country": "DE"}}}}, "BAD_USER_INPUT"},
		"bad country":      {owner, map[string]any{"input": map[string]any{"amount": "10.00", "newPaymentMethod": "pm_card_visa", "billing": map[string]any{"name": "A", "address": map[string]any{"line1": "x", "city": "y", "country": "Germany"}}}}, "BAD_USER_INPUT"},
		"bad VAT":          {owner, map[string]any{"input": map[string]any{"amount": "10.00", "newPaymentMethod": "pm_card_visa", "billing": map[string]any{"name": "A", "address": map[string]any{"line1": "x", "city": "y", "country": "DE"}, "taxId": map[string]any{"country": "DE", "type": "eu_vat", "value": "DE12"}}}}, "BAD_USER_INPUT"},
		"unknown tax type": {owner, map[string]any{"input": map[string]any{"amount": "10.00", "newPaymentMethod": "pm_card_visa", "billing": map[string]any{"name": "A", "address": map[string]any{"line1": "x", "city": "y", "country": "DE"}, "taxId": map[string]any{"country": "DE", "type": "xx_tax", "value": "1"}}}}, "BAD_USER_INPUT"},
		"unknown card":     {owner, map[string]any{"input": map[string]any{"amount": "10.00", "paymentMethodId": "card_" + uuid.NewString(), "billing": noTax}}, "NOT_FOUND"},
		"no card at all":   {owner, map[string]any{"input": map[string]any{"amount": "10.00", "billing": noTax}}, "PAYMENT_METHOD_REQUIRED"},
		"not a pm id":      {owner, purchase("10.00", "card_4242", ""), "BAD_USER_INPUT"},
		"unknown pm id":    {owner, purchase("10.00", "pm_card_nonexistent", ""), "BAD_USER_INPUT"},
		"member token":     {member, purchase("10.00", "pm_card_visa", ""), "FORBIDDEN"},
		"no token":         {"", purchase("10.00", "pm_card_visa", ""), "UNAUTHENTICATED"},
	}
	for name, tc := range cases {
		data, codes := e.gql(tc.token, addCredits, tc.vars)
		if !slices.Equal(codes, []string{tc.code}) || dig(data, "addCredits") != nil {
			t.Errorf("%s: codes %v data %v, want %s", name, codes, data, tc.code)
		}
	}
	if e.balance(ws) != "0.00" || e.sandbox.Charges() != 0 ||
		e.count(`SELECT count(*) FROM purchases WHERE workspace_id = $1`, ws)+e.count(`SELECT count(*) FROM payment_methods WHERE workspace_id = $1`, ws)+
			e.count(`SELECT count(*) FROM billing_profiles WHERE workspace_id = $1`, ws) != 0 {
		t.Fatal("a refused purchase wrote something")
	}
}
