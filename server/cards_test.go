package server_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/airouter/credits/auth"
)

func TestPaymentMethods_AddDefaultRemoveAndStripeDetach(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("0")
	_, otherOwner := e.workspace("0")
	member := e.token(ws, auth.RoleMember)

	data, codes := e.gql(owner, `mutation { createSetupIntent { clientSecret } }`, nil)
	if len(codes) != 0 || !strings.Contains(dig(data, "createSetupIntent", "clientSecret").(string), "_secret_") {
		t.Fatalf("createSetupIntent: %v %v", data, codes)
	}
	add := `mutation($pm: String!, $def: Boolean) { addPaymentMethod(paymentMethodId: $pm, makeDefault: $def) { id brand last4 expMonth expYear isDefault } }`
	visa, codes := e.gql(owner, add, map[string]any{"pm": "pm_card_visa"})
	if len(codes) != 0 || dig(visa, "addPaymentMethod", "isDefault") != true || dig(visa, "addPaymentMethod", "last4") != "4242" {
		t.Fatalf("first card: %v %v", visa, codes)
	}
	mc, _ := e.gql(owner, add, map[string]any{"pm": "pm_card_mastercard"})
	if dig(mc, "addPaymentMethod", "isDefault") != false {
		t.Fatalf("second card became default: %v", mc)
	}
	mcID := dig(mc, "addPaymentMethod", "id")
	if _, codes := e.gql(member, add, map[string]any{"pm": "pm_card_amex"}); !slices.Equal(codes, []string{"FORBIDDEN"}) {
		t.Fatalf("member adds a card: %v", codes)
	}
	if _, codes := e.gql(owner, add, map[string]any{"pm": "tok_visa"}); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
		t.Fatalf("not a PaymentMethod id: %v", codes)
	}
	setDefault := `mutation($id: ID!) { setDefaultPaymentMethod(id: $id) { id isDefault } }`
	if _, codes := e.gql(otherOwner, setDefault, map[string]any{"id": mcID}); !slices.Equal(codes, []string{"NOT_FOUND"}) {
		t.Fatalf("another workspace's card: %v", codes)
	}
	if data, codes := e.gql(owner, setDefault, map[string]any{"id": mcID}); len(codes) != 0 || dig(data, "setDefaultPaymentMethod", "isDefault") != true {
		t.Fatalf("setDefault: %v %v", data, codes)
	}
	list, _ := e.gql(member, `{ paymentMethods { last4 isDefault } }`, nil)
	cards := list["paymentMethods"].([]any)
	if len(cards) != 2 || dig(cards[0].(map[string]any), "last4") != "4444" || dig(cards[0].(map[string]any), "isDefault") != true {
		t.Fatalf("cards: %v", cards)
	}
	// Removing the default card promotes the other one.
	if data, codes := e.gql(owner, `mutation($id: ID!) { removePaymentMethod(id: $id) }`, map[string]any{"id": mcID}); len(codes) != 0 || data["removePaymentMethod"] != true {
		t.Fatalf("remove: %v %v", data, codes)
	}
	list, _ = e.gql(owner, `{ paymentMethods { last4 isDefault } }`, nil)
	if cards := list["paymentMethods"].([]any); len(cards) != 1 || dig(cards[0].(map[string]any), "isDefault") != true {
		t.Fatalf("after remove: %v", cards)
	}
	// Stripe says the card was detached (e.g. from the dashboard): it disappears.
	body, sig := signedEvent(t, "evt_detach", "payment_method.detached", map[string]any{"id": "pm_card_visa", "object": "payment_method"})
	if code := e.webhook(body, sig); code != 200 {
		t.Fatalf("detached webhook: %d", code)
	}
	list, _ = e.gql(owner, `{ paymentMethods { last4 } }`, nil)
	if cards := list["paymentMethods"].([]any); len(cards) != 0 {
		t.Fatalf("a detached card is still listed: %v", cards)
	}
}
