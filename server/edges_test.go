package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/pgtest"
)

// Issue 14.8: a signed payment_intent.succeeded whose metadata names a
// purchase of another environment answered 500, so Stripe retried it for days.
func TestWebhook_AnIntentOfAnotherEnvironmentIsAcknowledged(t *testing.T) {
	e := newEnv(t)
	for i, object := range []map[string]any{
		{"id": "pi_elsewhere_1", "object": "payment_intent", "status": "succeeded", "metadata": map[string]any{"purchase_id": uuid.NewString()}},
		{"id": "pi_elsewhere_2", "object": "payment_intent", "status": "succeeded", "metadata": map[string]any{}},
		{"id": "pi_elsewhere_3", "object": "payment_intent", "status": "requires_payment_method", "metadata": map[string]any{"purchase_id": "not-a-uuid"}},
	} {
		typ := "payment_intent.succeeded"
		if i == 2 {
			typ = "payment_intent.payment_failed"
		}
		payload, sig := signedEvent(t, "evt_elsewhere_"+uuid.NewString(), typ, object)
		if code := e.webhook(payload, sig); code != http.StatusOK {
			t.Fatalf("%s for a purchase not ours: %d", object["id"], code)
		}
	}
}

// Issue 14.7: 20 concurrent authorizes with one request id got 503s.
func TestAuthorize_ConcurrentCallsWithOneRequestIDAllGetItsHold(t *testing.T) {
	e := newEnv(t)
	ws, _ := e.workspace("10")
	var wg sync.WaitGroup
	var mu sync.Mutex
	holds := map[string]int{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := e.post("/v1/authorize", e.service, map[string]any{"workspace_id": ws.String(), "model": "gpt-4o",
				"max_output_tokens": 10000, "request_id": "same-call"})
			mu.Lock()
			defer mu.Unlock()
			if code != http.StatusOK {
				t.Errorf("status %d: %v", code, body)
				return
			}
			holds[body["hold_id"].(string)]++
		}()
	}
	wg.Wait()
	if len(holds) != 1 {
		t.Fatalf("holds %v, want one hold for the one request id", holds)
	}
	// Issue 15.7: once settled, the same request id is a conflict with its
	// own reason, never a false "insufficient credits".
	if code, body := e.post("/v1/usage", e.service, map[string]any{"events": []map[string]any{{"id": "ev", "workspace_id": ws.String(),
		"model": "gpt-4o", "output_tokens": 100, "occurred_at": time.Now().UTC().Format(time.RFC3339Nano), "request_id": "same-call"}}}); code != http.StatusOK {
		t.Fatalf("usage: %d %v", code, body)
	}
	code, body := e.post("/v1/authorize", e.service, map[string]any{"workspace_id": ws.String(), "model": "gpt-4o",
		"max_output_tokens": 10000, "request_id": "same-call"})
	if code != http.StatusConflict || body["code"] != "request_id_finished" {
		t.Fatalf("a settled request id: %d %v", code, body)
	}
}

// Issue 15.2: a running server priced events with the old version for up
// to a minute after `price set`. The version is announced by NOTIFY: every
// instance has it before it is in force.
func TestPrices_EveryInstanceLearnsOfANewVersionBeforeItIsInForce(t *testing.T) {
	db := pgtest.New(t)
	a, b := newEnvOn(t, db), newEnvOn(t, db)
	ctx := context.Background()
	if err := a.billing.SetPrice(ctx, billing.PriceEdit{Price: billing.Price{Model: "brand-new-model", InputPerMillion: mustMoney(t, "1"),
		OutputPerMillion: mustMoney(t, "2")}, CachedSet: true}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(billing.PricePropagation)
	deadline := time.Now().Add(billing.PricePropagation)
	for {
		if _, ok := b.billing.Prices().PriceAt("brand-new-model", at); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other instance did not learn of the version within the propagation bound")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
