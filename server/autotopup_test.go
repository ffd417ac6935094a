package server_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/airouter/credits/auth"
)

const setAutoTopUp = `mutation($input: SetAutoTopUpInput!) { setAutoTopUp(input: $input) {
	enabled threshold amount status lastError paymentMethod { last4 } } }`

func TestAutoTopUp_EndToEndUsageDipTriggersOneAutoTopUpWithInvoice(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	member := e.token(ws, auth.RoleMember)
	settings := map[string]any{"input": map[string]any{"enabled": true, "threshold": "50.00", "amount": "200.00"}}
	if _, codes := e.gql(owner, setAutoTopUp, settings); !slices.Equal(codes, []string{"PAYMENT_METHOD_REQUIRED"}) {
		t.Fatalf("enabling without a card: %v", codes)
	}
	if _, codes := e.gql(owner, addCredits, purchase("60.00", "pm_card_visa", "")); len(codes) != 0 {
		t.Fatal(codes)
	}
	if _, codes := e.gql(member, setAutoTopUp, settings); !slices.Equal(codes, []string{"FORBIDDEN"}) {
		t.Fatalf("member: %v", codes)
	}
	for name, in := range map[string]map[string]any{
		"amount below minimum": {"enabled": true, "threshold": "50.00", "amount": "4.99"},
		"negative threshold":   {"enabled": true, "threshold": "-1.00", "amount": "200.00"},
		"3 decimals":           {"enabled": true, "threshold": "50.005", "amount": "200.00"},
	} {
		if _, codes := e.gql(owner, setAutoTopUp, map[string]any{"input": in}); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
			t.Errorf("%s: %v", name, codes)
		}
	}
	data, codes := e.gql(owner, setAutoTopUp, settings)
	if len(codes) != 0 || dig(data, "setAutoTopUp", "status") != "ACTIVE" || dig(data, "setAutoTopUp", "threshold") != "50.00" {
		t.Fatalf("setAutoTopUp: %v %v", data, codes)
	}
	// The card auto top-up uses cannot be removed.
	cards, _ := e.gql(owner, `{ paymentMethods { id } }`, nil)
	cardID := dig(cards["paymentMethods"].([]any)[0].(map[string]any), "id")
	if _, codes := e.gql(owner, `mutation($id: ID!) { removePaymentMethod(id: $id) }`, map[string]any{"id": cardID}); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
		t.Fatalf("removing the auto top-up card: %v", codes)
	}
	// Report $15 of usage: 60 → 45, below 50.
	var events []any
	for i := 0; i < 15; i++ {
		events = append(events, usageEvent(ws, fmt.Sprint("u", i), 100_000)) // $1 each
	}
	if code, body := e.post("/v1/usage", e.service, map[string]any{"events": events}); code != 200 || body["accepted"] != float64(15) {
		t.Fatalf("usage: %d %v", code, body)
	}
	var auto map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ := e.gql(member, `{ transactions(filter: {types: [AUTO_TOP_UP]}) { edges { node { status amount invoice { number } } } } }`, nil)
		if edges := dig(data, "transactions", "edges").([]any); len(edges) == 1 && dig(edges[0].(map[string]any), "node", "status") == "SUCCEEDED" {
			auto = edges[0].(map[string]any)["node"].(map[string]any)
			break
		}
	}
	if auto == nil || auto["amount"] != "200.00" || dig(auto, "invoice", "number") == nil {
		t.Fatalf("no succeeded AUTO_TOP_UP with an invoice: %v", auto)
	}
	if b := e.balance(ws); b != "245.00" || e.sandbox.Charges() != 2 {
		t.Fatalf("balance %s (want 245.00), charges %d (want 2)", b, e.sandbox.Charges())
	}
	data, _ = e.gql(member, `{ autoTopUp { enabled status lastError } }`, nil)
	if dig(data, "autoTopUp", "status") != "ACTIVE" {
		t.Fatalf("autoTopUp %v", data)
	}
}
