package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/alerts/alertstest"
	"github.com/airouter/credits/app"
	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/pgtest"
)

const (
	setNotifications = `mutation($in: NotificationSettingsInput!) { setNotificationSettings(input: $in) { lowBalanceThreshold emails } }`
	createEndpoint   = `mutation($url: String!) { createWebhookEndpoint(url: $url) { secret endpoint { id url failing } } }`
	deleteEndpoint   = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`
	alertsQuery      = `{ notificationSettings { lowBalanceThreshold emails } webhookEndpoints { id url createdAt failing failingSince }
		webhookDeliveries(first: 10) { edges { cursor node { id eventId eventType endpointId url status attempts lastStatusCode lastError deliveredAt } }
		pageInfo { hasNextPage } } }`
)

func TestAlerts_OwnerConfiguresAlertsOverGraphQLAndASignedWebhookArrives(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(o *app.Options) { o.Alerts.AllowPrivate = true })
	recv := alertstest.NewReceiver(t)
	ws, owner := e.workspace("10")
	member := e.token(ws, auth.RoleMember)

	// Members read; only owners change anything.
	for name, op := range map[string]struct {
		doc  string
		vars map[string]any
	}{
		"setNotificationSettings": {setNotifications, map[string]any{"in": map[string]any{"lowBalanceThreshold": "5.00", "emails": []string{}}}},
		"createWebhookEndpoint":   {createEndpoint, map[string]any{"url": recv.URL}},
		"deleteWebhookEndpoint":   {deleteEndpoint, map[string]any{"id": "whep_00000000-0000-0000-0000-000000000000"}},
	} {
		if _, codes := e.gql(member, op.doc, op.vars); !slices.Equal(codes, []string{"FORBIDDEN"}) {
			t.Errorf("%s as member: %v, want FORBIDDEN", name, codes)
		}
	}
	if data, codes := e.gql(member, alertsQuery, nil); len(codes) != 0 || dig(data, "notificationSettings", "lowBalanceThreshold") != nil {
		t.Fatalf("member reads: %v %v", data, codes)
	}

	data, codes := e.gql(owner, setNotifications, map[string]any{"in": map[string]any{"lowBalanceThreshold": "5.00", "emails": []string{"finance@acme.example"}}})
	if len(codes) != 0 || dig(data, "setNotificationSettings", "lowBalanceThreshold") != "5.00" {
		t.Fatalf("setNotificationSettings: %v %v", data, codes)
	}
	for _, bad := range []map[string]any{
		{"lowBalanceThreshold": "-1", "emails": []string{}},
		{"lowBalanceThreshold": "5.001", "emails": []string{}},
		{"emails": []string{"x@acme.example\r\nBcc: y@else.example"}},
	} {
		if _, codes := e.gql(owner, setNotifications, map[string]any{"in": bad}); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
			t.Errorf("setNotificationSettings(%v): %v", bad, codes)
		}
	}
	// (This instance allows loopback for the receiver; the private ranges are
	// refused in alerts' tests, where nothing is ever sent to them.)
	for _, bad := range []string{"http://hooks.acme.example/", "https://169.254.169.254/", "https://user:pw@hooks.acme.example/", "not a url"} {
		if _, codes := e.gql(owner, createEndpoint, map[string]any{"url": bad}); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
			t.Errorf("createWebhookEndpoint(%s): %v", bad, codes)
		}
	}
	data, codes = e.gql(owner, createEndpoint, map[string]any{"url": recv.URL + "/credits"})
	secret, _ := dig(data, "createWebhookEndpoint", "secret").(string)
	endpointID, _ := dig(data, "createWebhookEndpoint", "endpoint", "id").(string)
	if len(codes) != 0 || !strings.HasPrefix(secret, "whsec_") || !strings.HasPrefix(endpointID, "whep_") {
		t.Fatalf("createWebhookEndpoint: %v %v", data, codes)
	}
	recv.SetSecret(secret)
	// The secret is shown once: no query returns it.
	if data, _ := e.gql(owner, alertsQuery, nil); strings.Contains(toJSON(data), secret) || strings.Contains(toJSON(data), secret[len("whsec_"):]) {
		t.Fatal("the secret is readable after creation")
	}

	// A usage report takes the balance from 10.00 to 4.00: balance.low.
	if code, body := e.post("/v1/usage", e.service, map[string]any{"events": []any{usageEvent(ws, "big-call", 600_000)}}); code != 200 || body["accepted"] != float64(1) {
		t.Fatalf("usage: %d %v", code, body)
	}
	acked := recv.WaitAcked(t, 1, 10*time.Second)
	r := recv.Requests()[0]
	if !r.Verified || acked[r.ID] != 1 || !strings.Contains(string(r.Body), `"type":"balance.low"`) {
		t.Fatalf("webhook %+v", r)
	}

	var delivery map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, codes = e.gql(member, alertsQuery, nil)
		edges, _ := dig(data, "webhookDeliveries", "edges").([]any)
		if len(codes) == 0 && len(edges) == 1 {
			if delivery = edges[0].(map[string]any)["node"].(map[string]any); delivery["status"] == "DELIVERED" {
				break
			}
		}
	}
	if delivery["status"] != "DELIVERED" || delivery["eventId"] != r.ID || delivery["eventType"] != "balance.low" ||
		delivery["endpointId"] != endpointID || delivery["lastStatusCode"] != float64(200) || delivery["attempts"] != float64(1) {
		t.Fatalf("delivery log: %v", delivery)
	}

	if data, codes := e.gql(owner, deleteEndpoint, map[string]any{"id": endpointID}); len(codes) != 0 || data["deleteWebhookEndpoint"] != true {
		t.Fatalf("deleteWebhookEndpoint: %v %v", data, codes)
	}
	if _, codes := e.gql(owner, deleteEndpoint, map[string]any{"id": endpointID}); !slices.Equal(codes, []string{"NOT_FOUND"}) {
		t.Fatalf("deleting twice: %v", codes)
	}
	for _, bad := range []string{"nonsense", "txn_" + ws.String(), "whep_not-a-uuid"} {
		if _, codes := e.gql(owner, deleteEndpoint, map[string]any{"id": bad}); !slices.Equal(codes, []string{"NOT_FOUND"}) {
			t.Fatalf("deleteWebhookEndpoint(%s): %v", bad, codes)
		}
	}
	if _, codes := e.gql(owner, `{ webhookDeliveries(first: 5, after: "forged") { pageInfo { hasNextPage } } }`, nil); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
		t.Fatalf("forged cursor: %v", codes)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
