package payments_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airouter/credits/payments"
)

// chargedIntent charges 25.00 on the sandbox and returns the intent id.
func chargedIntent(t *testing.T, s *payments.Sandbox, key string) string {
	t.Helper()
	c, err := s.Charge(context.Background(), sandboxCharge("pm_card_visa", false, key))
	if err != nil || c.Status != payments.StatusSucceeded {
		t.Fatalf("charge: %+v %v", c, err)
	}
	return c.IntentID
}

func refundOf(intent string, cents int64, key string) payments.RefundRequest {
	return payments.RefundRequest{IntentID: intent, AmountCents: cents, IdempotencyKey: key, Metadata: map[string]string{"refund_id": key}}
}

func TestSandboxRefund_PartialThenTheRestThenNothingMore(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	intent := chargedIntent(t, s, "p1")
	first, err := s.Refund(ctx, refundOf(intent, 1000, "r1"))
	if err != nil || !strings.HasPrefix(first.ID, "re_sbx_") || first.Status != payments.RefundSucceeded || first.AmountCents != 1000 ||
		first.IntentID != intent || first.Metadata["refund_id"] != "r1" {
		t.Fatalf("first refund: %+v %v", first, err)
	}
	if _, err := s.Refund(ctx, refundOf(intent, 1501, "r2")); !errors.Is(err, payments.ErrRefused) {
		t.Fatalf("refund above what is left: %v, want ErrRefused", err)
	}
	if _, err := s.Refund(ctx, refundOf(intent, 1500, "r3")); err != nil {
		t.Fatalf("refund of the rest: %v", err)
	}
	if _, err := s.Refund(ctx, refundOf(intent, 1, "r4")); !errors.Is(err, payments.ErrRefused) {
		t.Fatalf("refund of a fully refunded intent: %v", err)
	}
	if s.Refunded(intent) != 2500 || s.RefundCount() != 2 {
		t.Fatalf("refunded %d cents in %d refunds", s.Refunded(intent), s.RefundCount())
	}
	got, err := s.GetRefund(ctx, first.ID)
	if err != nil || got.ID != first.ID || got.AmountCents != 1000 {
		t.Fatalf("GetRefund = %+v %v", got, err)
	}
	listed, err := s.ListRefunds(ctx, time.Now().Add(-time.Minute), time.Now().Add(time.Minute))
	if err != nil || len(listed) != 2 || listed[0].ID != first.ID {
		t.Fatalf("ListRefunds = %+v %v", listed, err)
	}
	if none, _ := s.ListRefunds(ctx, time.Now().Add(time.Minute), time.Now().Add(2*time.Minute)); len(none) != 0 {
		t.Fatalf("ListRefunds outside the window = %+v", none)
	}
}

func TestSandboxRefund_SameKeyRefundsOnceEvenConcurrently(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	intent := chargedIntent(t, s, "p1")
	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := s.Refund(ctx, refundOf(intent, 2500, "refund-1"))
			if err != nil {
				t.Errorf("refund %d: %v", i, err)
			}
			ids[i] = r.ID
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("replays answered different refunds: %v", ids)
		}
	}
	if s.Refunded(intent) != 2500 || s.RefundCount() != 1 {
		t.Fatalf("refunded %d cents in %d refunds", s.Refunded(intent), s.RefundCount())
	}
	if _, err := s.Refund(ctx, refundOf(intent, 2400, "refund-1")); err == nil || errors.Is(err, payments.ErrRefused) {
		t.Fatalf("the same key with another amount: %v", err)
	}
}

func TestSandboxRefund_RefusesWhatStripeWould(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	declined, err := s.Charge(ctx, sandboxCharge("pm_card_authenticationRequired", false, "p3ds"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		req  payments.RefundRequest
		want error
	}{
		"not yet charged (3-D Secure)": {refundOf(declined.IntentID, 100, "a"), payments.ErrRefused},
		"zero":                         {refundOf(chargedIntent(t, s, "p0"), 0, "b"), payments.ErrRefused},
		"negative":                     {refundOf(chargedIntent(t, s, "pn"), -5, "c"), payments.ErrRefused},
		"not a sandbox intent":         {refundOf("pi_live_123", 100, "d"), payments.ErrNotFound},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Refund(ctx, tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := s.Refund(ctx, payments.RefundRequest{IntentID: "pi_sbx_x", AmountCents: 100}); err == nil {
		t.Fatal("a refund without an idempotency key was made")
	}
	// An intent of another process (or from before a restart) is refunded as asked.
	if r, err := s.Refund(ctx, refundOf("pi_sbx_from_another_process", 700, "e")); err != nil || r.Status != payments.RefundSucceeded {
		t.Fatalf("unknown sandbox intent: %+v %v", r, err)
	}
	s.BeforeRefund = func(payments.RefundRequest) error { return errors.New("network down") }
	if _, err := s.Refund(ctx, refundOf(chargedIntent(t, s, "p5"), 100, "f")); err == nil || errors.Is(err, payments.ErrRefused) {
		t.Fatalf("an outage must be an unknown outcome: %v", err)
	}
}

const stripeRefund = `{"id":"re_1","object":"refund","amount":1000,"status":"succeeded","payment_intent":"pi_1","charge":"ch_1",
	"created":1764000000,"reason":"requested_by_customer","metadata":{"refund_id":"7f3a"}}`

func TestStripeRefund_SendsTheKeyAndMetadataAndReadsTheRefund(t *testing.T) {
	f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/refunds": {200, stripeRefund}})
	r, err := s.Refund(context.Background(), payments.RefundRequest{IntentID: "pi_1", AmountCents: 1000, IdempotencyKey: "refund-7f3a",
		Metadata: map[string]string{"refund_id": "7f3a", "reason": "unused credits"}})
	if err != nil || r.ID != "re_1" || r.IntentID != "pi_1" || r.AmountCents != 1000 || r.Status != payments.RefundSucceeded ||
		r.Reason != "requested_by_customer" || r.Metadata["refund_id"] != "7f3a" || !r.Created.Equal(time.Unix(1764000000, 0)) {
		t.Fatalf("Refund = %+v %v", r, err)
	}
	req := onlyRequest(t, f)
	if req.idempotencyKey != "refund-7f3a" {
		t.Errorf("Idempotency-Key = %q", req.idempotencyKey)
	}
	for field, want := range map[string]string{"payment_intent": "pi_1", "amount": "1000", "metadata[refund_id]": "7f3a", "metadata[reason]": "unused credits"} {
		if got := req.form.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if req.form.Has("reason") {
		t.Errorf("our free-text reason went into Stripe's reason code: %v", req.form)
	}
	if _, err := s.Refund(context.Background(), payments.RefundRequest{IntentID: "pi_1", AmountCents: 1}); err == nil || len(f.sent()) != 1 {
		t.Fatalf("a refund without an idempotency key was sent: %v", err)
	}
}

func TestStripeRefund_RefusalsAreErrRefusedAndOutagesAreNot(t *testing.T) {
	for name, tc := range map[string]struct {
		rep     reply
		refused bool
	}{
		"more than is left": {reply{400, `{"error":{"type":"invalid_request_error","code":"amount_too_large","message":"Refund amount ($30.00) is greater than unrefunded amount on charge ($25.00)"}}`}, true},
		"already refunded":  {reply{400, `{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"Charge ch_1 has already been refunded."}}`}, true},
		"disputed":          {reply{400, `{"error":{"type":"invalid_request_error","code":"charge_disputed","message":"Charge ch_1 has been charged back; cannot issue a refund."}}`}, true},
		"unknown intent":    {reply{404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_intent: 'pi_x'"}}`}, true},
		"idempotency clash": {reply{409, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`}, false},
		"rate limited":      {reply{429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`}, false},
		"outage":            {reply{500, `{"error":{"type":"api_error","message":"Something went wrong"}}`}, false},
	} {
		t.Run(name, func(t *testing.T) {
			_, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/refunds": tc.rep})
			_, err := s.Refund(context.Background(), refundOf("pi_1", 3000, "refund-1"))
			if err == nil || errors.Is(err, payments.ErrRefused) != tc.refused {
				t.Fatalf("err = %v, refused = %v, want %v", err, errors.Is(err, payments.ErrRefused), tc.refused)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Fatal("the key is in the error")
			}
		})
	}
}

func TestStripeRefund_StatusesAreMapped(t *testing.T) {
	for stripeStatus, want := range map[string]payments.RefundStatus{"succeeded": payments.RefundSucceeded, "pending": payments.RefundPending,
		"requires_action": payments.RefundPending, "failed": payments.RefundFailed, "canceled": payments.RefundFailed, "something_new": payments.RefundPending} {
		if got := payments.RefundStatusOf(stripeStatus); got != want {
			t.Errorf("%s → %s, want %s", stripeStatus, got, want)
		}
	}
	_, s, _ := newFakeStripe(t, map[string]reply{"GET /v1/refunds/re_1": {200, strings.Replace(stripeRefund, `"succeeded"`, `"failed"`, 1)}})
	if r, err := s.GetRefund(context.Background(), "re_1"); err != nil || r.Status != payments.RefundFailed {
		t.Fatalf("GetRefund = %+v %v", r, err)
	}
	if _, err := s.GetRefund(context.Background(), "re_missing"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("missing refund: %v", err)
	}
}
