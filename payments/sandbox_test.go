package payments_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/airouter/credits/payments"
)

func TestSandbox_FollowsStripeTestCards(t *testing.T) {
	tests := []struct {
		card       string
		offSession bool
		status     payments.Status
		code       string
	}{
		{"pm_card_visa", false, payments.StatusSucceeded, ""},
		{"pm_card_mastercard", true, payments.StatusSucceeded, ""},
		{"pm_card_chargeDeclined", false, "", "card_declined"},
		{"pm_card_insufficientFunds", true, "", "card_declined"},
		{"pm_card_authenticationRequired", false, payments.StatusRequiresAction, ""},
		{"pm_card_authenticationRequired", true, "", "authentication_required"},
	}
	for _, tt := range tests {
		t.Run(tt.card, func(t *testing.T) {
			s := payments.NewSandbox(quietLog())
			c, err := s.Charge(context.Background(), payments.ChargeRequest{PaymentMethodID: tt.card, AmountCents: 500, Currency: "usd", OffSession: tt.offSession, IdempotencyKey: "k"})
			var d *payments.DeclineError
			if tt.code != "" {
				if !errors.As(err, &d) || d.Code != tt.code || d.IntentID == "" {
					t.Fatalf("err = %v, want decline %s", err, tt.code)
				}
				return
			}
			if err != nil || c.Status != tt.status {
				t.Fatalf("Charge = %+v, %v", c, err)
			}
			if tt.status == payments.StatusRequiresAction && c.ClientSecret == "" {
				t.Fatal("no client secret")
			}
		})
	}
}

func TestSandbox_SameKeyNeverChargesTwiceEvenConcurrently(t *testing.T) {
	s := payments.NewSandbox(quietLog())
	var wg sync.WaitGroup
	ids := make(chan string, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Charge(context.Background(), payments.ChargeRequest{PaymentMethodID: "pm_card_visa", AmountCents: 500, IdempotencyKey: "same"})
			if err != nil {
				t.Error(err)
			}
			ids <- c.IntentID
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		}
		if id != first {
			t.Fatalf("two intents for one key: %s, %s", first, id)
		}
	}
	if s.Charges() != 1 {
		t.Fatalf("%d charges, want 1", s.Charges())
	}
}

func TestSandbox_CompletingAuthenticationMovesMoneyOnce(t *testing.T) {
	s := payments.NewSandbox(quietLog())
	c, _ := s.Charge(context.Background(), payments.ChargeRequest{PaymentMethodID: "pm_card_authenticationRequired", AmountCents: 500, IdempotencyKey: "k"})
	if s.Charges() != 0 {
		t.Fatal("charged before authentication")
	}
	done, err := s.CompleteAuthentication(c.IntentID)
	if err != nil || done.Status != payments.StatusSucceeded || s.Charges() != 1 {
		t.Fatalf("complete = %+v, %v (charges %d)", done, err, s.Charges())
	}
	if _, err := s.CompleteAuthentication(c.IntentID); err == nil || s.Charges() != 1 {
		t.Fatal("authenticating twice charged twice")
	}
	if _, err := s.AttachPaymentMethod(context.Background(), "cus", "pm_unknown"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("unknown card: %v", err)
	}
}
