package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
)

// idorOps is every GraphQL operation with a document aimed at workspace
// B's objects. TestIDOR_SweepEveryOperation fails when the schema gains an
// operation missing here.
func idorOps(b bObjects) map[string]struct {
	doc  string
	vars map[string]any
} {
	type op = struct {
		doc  string
		vars map[string]any
	}
	profile := map[string]any{"name": "Mallory", "address": map[string]any{"line1": "x", "city": "y", "country": "DE"}}
	return map[string]op{
		"balance":                 {`{ balance { amount } }`, nil},
		"modelPrices":             {`{ modelPrices { model } }`, nil},
		"purchaseSettings":        {`{ purchaseSettings { minimum } }`, nil},
		"node":                    {`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": b.txn}},
		"nodeCreditNote":          {`query($id: ID!) { node(id: $id) { id ... on CreditNote { number amount reason invoice { number } } } }`, map[string]any{"id": b.creditNote}},
		"taxIdTypes":              {`{ taxIdTypes(country: "PL") { type } }`, nil},
		"transactions":            {`{ transactions { totalCount edges { node { id } } } }`, nil},
		"paymentMethods":          {`{ paymentMethods { id } }`, nil},
		"invoice":                 {`query($id: ID!) { invoice(id: $id) { id number creditNotes { id number } } }`, map[string]any{"id": b.invoice}},
		"billingProfile":          {`{ billingProfile { name } }`, nil},
		"autoTopUp":               {`{ autoTopUp { enabled threshold paymentMethod { id } } }`, nil},
		"usage":                   {`query($f: Time!, $t: Time!) { usage(from: $f, to: $t, groupBy: []) { requests } }`, map[string]any{"f": time.Now().Add(-time.Hour).Format(time.RFC3339), "t": time.Now().Format(time.RFC3339)}},
		"addCredits":              {`mutation($in: AddCreditsInput!) { addCredits(input: $in) { transaction { id } } }`, map[string]any{"in": map[string]any{"amount": "10.00", "paymentMethodId": b.card, "billing": profile}}},
		"setAutoTopUp":            {`mutation($id: ID) { setAutoTopUp(input: {enabled: true, threshold: "5.00", amount: "10.00", paymentMethodId: $id}) { enabled } }`, map[string]any{"id": b.card}},
		"createSetupIntent":       {`mutation { createSetupIntent { clientSecret } }`, nil},
		"addPaymentMethod":        {`mutation($pm: String!) { addPaymentMethod(paymentMethodId: $pm) { id } }`, map[string]any{"pm": "pm_card_visa"}},
		"removePaymentMethod":     {`mutation($id: ID!) { removePaymentMethod(id: $id) }`, map[string]any{"id": b.card}},
		"setDefaultPaymentMethod": {`mutation($id: ID!) { setDefaultPaymentMethod(id: $id) { id } }`, map[string]any{"id": b.card}},
		"updateBillingProfile":    {`mutation($in: BillingProfileInput!) { updateBillingProfile(input: $in) { name } }`, map[string]any{"in": profile}},
		"balanceUpdated":          {`subscription { balanceUpdated { amount } }`, nil}, // covered over WebSocket below
		"notificationSettings":    {`{ notificationSettings { lowBalanceThreshold emails } }`, nil},
		"webhookEndpoints":        {`{ webhookEndpoints { id url } }`, nil},
		"webhookDeliveries":       {`{ webhookDeliveries(first: 100) { edges { node { id eventId url } } } }`, nil},
		"setNotificationSettings": {`mutation { setNotificationSettings(input: {lowBalanceThreshold: "1.00", emails: ["mallory@evil.example"]}) { emails } }`, nil},
		"createWebhookEndpoint":   {`mutation { createWebhookEndpoint(url: "https://evil.example/hook") { secret } }`, nil},
		"deleteWebhookEndpoint":   {`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, map[string]any{"id": b.endpoint}},
	}
}

type bObjects struct {
	ws                 uuid.UUID
	txn, invoice, card string
	intent             string
	creditNote         string
	endpoint           string
}

func TestIDOR_SweepEveryOperation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, aOwner := e.workspace("1")
	aMember := e.token(a, auth.RoleMember)
	bWS, bOwner := e.workspace("0")
	// B buys with a card needing 3-D Secure (an open intent) and with a visa (an invoice).
	data, codes := e.gql(bOwner, addCredits, purchase("77.00", "pm_card_visa", ""))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	b := bObjects{ws: bWS, txn: dig(data, "addCredits", "transaction", "id").(string), invoice: dig(data, "addCredits", "transaction", "invoice", "id").(string)}
	cards, _ := e.gql(bOwner, `{ paymentMethods { id } }`, nil)
	b.card = dig(cards["paymentMethods"].([]any)[0].(map[string]any), "id").(string)
	if _, codes := e.gql(bOwner, addCredits, purchase("12.00", "pm_card_authenticationRequired", "")); len(codes) != 0 {
		t.Fatal(codes)
	}
	if err := e.db.SQL.QueryRow(`SELECT payment_intent_id FROM purchases WHERE workspace_id = $1 AND status = 'requires_action'`, bWS).Scan(&b.intent); err != nil {
		t.Fatal(err)
	}
	// B's purchase is partly refunded: a credit note.
	refundAmount := money.Dollars(7)
	refunded, err := e.billing.RefundPurchase(ctx, billing.RefundRequest{PurchaseID: uuid.MustParse(strings.TrimPrefix(b.txn, "txn_")),
		Amount: &refundAmount, Reason: "Zofia asked"})
	if err != nil {
		t.Fatal(err)
	}
	b.creditNote = "cn_" + refunded.CreditNote.ID.String()
	// B's alerts: settings and a webhook endpoint (on loopback, refused at
	// connect time should the worker ever try it) with a delivery in its log.
	bEndpoint := uuid.New()
	b.endpoint = "whep_" + bEndpoint.String()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO notification_settings (workspace_id, low_balance_threshold, emails, updated_at)
			VALUES ($1, 4242420000000, '["b-secret@acme.example"]', now())`, []any{bWS}},
		{`INSERT INTO webhook_endpoints (id, workspace_id, url, secret, created_at)
			VALUES ($2, $1, 'https://127.0.0.1:9/b-secret-hook', 'whsec_YnNlY3JldA==', now())`, []any{bWS, bEndpoint}},
		{`INSERT INTO alert_deliveries (id, workspace_id, event_id, event_type, channel, endpoint_id, destination, target, state, attempts, next_attempt_at, created_at)
			VALUES (gen_random_uuid(), $1, gen_random_uuid(), 'balance.low', 'webhook', $2::uuid, $2::text, 'https://127.0.0.1:9/b-secret-hook', 'delivered', 1, now(), now())`,
			[]any{bWS, bEndpoint}},
	} {
		if _, err := e.db.SQL.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	revoked, revokedID, _ := e.tokens.Create(ctx, a, auth.RoleOwner, nil)
	if err := e.tokens.Revoke(ctx, revokedID); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	expired, _, _ := e.tokens.Create(ctx, a, auth.RoleOwner, &past)

	// The schema walk: every operation must be in the table.
	ops := idorOps(b)
	schema, _ := e.gql(aOwner, `{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }`, nil)
	var inSchema []string
	for _, root := range []string{"queryType", "mutationType", "subscriptionType"} {
		for _, f := range dig(schema, "__schema", root, "fields").([]any) {
			inSchema = append(inSchema, f.(map[string]any)["name"].(string))
		}
	}
	sort.Strings(inSchema)
	for _, name := range inSchema {
		if _, ok := ops[name]; !ok {
			t.Errorf("operation %s is not covered by the IDOR sweep; add it to idorOps", name)
		}
	}

	// B's secrets must never appear in A's answers.
	bSecrets := []string{b.txn, b.invoice, b.card, b.creditNote, refunded.CreditNote.Number, "77.00", "Zofia", bWS.String(), b.endpoint, "b-secret", "4242.42", "whsec_YnNlY3JldA"}
	bBefore := e.snapshot(bWS)
	attempts := 0
	for name, op := range ops {
		if name == "balanceUpdated" {
			continue
		}
		for who, token := range map[string]string{"A owner": aOwner, "A member": aMember, "service": e.service,
			"revoked": revoked, "expired": expired, "malformed": "Bearer-ish nonsense"} {
			attempts++
			_, out := e.post("/graphql", token, map[string]any{"query": op.doc, "variables": op.vars})
			raw, _ := json.Marshal(out)
			for _, secret := range bSecrets {
				if strings.Contains(string(raw), secret) {
					t.Errorf("%s as %s leaked %q: %s", name, who, secret, raw)
				}
			}
			_, codes := gqlResult(out)
			if who != "A owner" && who != "A member" {
				if len(codes) == 0 || !(slices.Contains(codes, "UNAUTHENTICATED") || slices.Contains(codes, "FORBIDDEN")) {
					t.Errorf("%s as %s: codes %v, want UNAUTHENTICATED or FORBIDDEN", name, who, codes)
				}
			}
		}
	}
	if after := e.snapshot(bWS); after != bBefore {
		t.Fatalf("workspace B changed under A's attempts:\n%s\n%s", bBefore, after)
	}

	// HTTP routes aimed at B.
	for who, token := range map[string]string{"A owner": aOwner, "A member": aMember, "service": e.service, "revoked": revoked, "expired": expired, "none": ""} {
		attempts += 2
		got := e.download(b.invoice, token)
		if got.status != http.StatusNotFound && got.status != http.StatusUnauthorized {
			t.Errorf("invoice PDF as %s: %d", who, got.status)
		}
		attempts++
		if got := e.creditNote(b.creditNote, token); got.status != http.StatusNotFound && got.status != http.StatusUnauthorized {
			t.Errorf("credit note PDF as %s: %d", who, got.status)
		}
		if code, _ := e.post("/sandbox/payment_intents/"+b.intent+"/authenticate", token, map[string]any{}); code != http.StatusNotFound && code != http.StatusUnauthorized {
			t.Errorf("sandbox authenticate of B's intent as %s: %d", who, code)
		}
	}
	for _, token := range []string{aOwner, aMember} {
		attempts += 2
		if code, _ := e.post("/v1/authorize", token, map[string]string{"workspace_id": bWS.String()}); code != http.StatusForbidden {
			t.Errorf("/v1/authorize with a workspace token: %d", code)
		}
		if code, _ := e.post("/v1/usage", token, map[string]any{"events": []any{usageEvent(bWS, "x", 1)}}); code != http.StatusForbidden {
			t.Errorf("/v1/usage with a workspace token: %d", code)
		}
	}
	// Subscriptions only ever carry the token's own workspace (see
	// TestBalanceUpdated_AcrossTwoInstancesAndOnlyForTheOwnWorkspace);
	// service, revoked and expired tokens cannot connect.
	for who, token := range map[string]string{"service": e.service, "revoked": revoked, "expired": expired} {
		attempts++
		if s, err := e.subscribe(ctx, token); err == nil {
			s.close()
			t.Errorf("subscription as %s was accepted", who)
		}
	}
	if after := e.snapshot(bWS); after != bBefore {
		t.Fatalf("workspace B changed under A's HTTP attempts")
	}
	t.Logf("IDOR sweep: %d operations in the schema, %d attempts, all refused or answered with A's own data", len(inSchema), attempts)
}

// snapshot summarises everything of a workspace an attacker could change.
func (e *env) snapshot(ws uuid.UUID) string {
	e.t.Helper()
	var s string
	err := e.db.SQL.QueryRow(`SELECT concat_ws('|',
		(SELECT balance FROM workspaces WHERE id = $1),
		(SELECT count(*) FROM purchases WHERE workspace_id = $1),
		(SELECT string_agg(processor_id || ':' || is_default, ',' ORDER BY processor_id) FROM payment_methods WHERE workspace_id = $1),
		(SELECT name FROM billing_profiles WHERE workspace_id = $1),
		(SELECT count(*) FROM auto_top_up_settings WHERE workspace_id = $1),
		(SELECT string_agg(status, ',' ORDER BY id) FROM purchases WHERE workspace_id = $1),
		(SELECT count(*) FROM refunds WHERE workspace_id = $1),
		(SELECT count(*) FROM credit_notes WHERE workspace_id = $1),
		(SELECT low_balance_threshold || ':' || emails::text FROM notification_settings WHERE workspace_id = $1),
		(SELECT string_agg(id::text || url, ',' ORDER BY id) FROM webhook_endpoints WHERE workspace_id = $1))`, ws).Scan(&s)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}
