package payments_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airouter/credits/payments"
)

func sandboxCharge(pm string, offSession bool, key string) payments.ChargeRequest {
	return payments.ChargeRequest{CustomerID: "cus_sbx_1", PaymentMethodID: pm, AmountCents: 2500, Currency: "usd",
		Description: "AI Router credits", OffSession: offSession, IdempotencyKey: key, Metadata: map[string]string{"purchase_id": key}}
}

func TestSandbox_FollowsStripeTestCards(t *testing.T) {
	declined := &payments.DeclineError{Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}
	noFunds := &payments.DeclineError{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}
	needsAuth := &payments.DeclineError{Code: "authentication_required", Message: "Your card was declined. This transaction requires authentication."}
	tests := []struct {
		pm          string
		brand, last string
		offSession  bool
		status      payments.Status        // when the charge is not declined
		decline     *payments.DeclineError // IntentID aside
	}{
		{"pm_card_visa", "visa", "4242", false, payments.StatusSucceeded, nil},
		{"pm_card_visa", "visa", "4242", true, payments.StatusSucceeded, nil},
		{"pm_card_mastercard", "mastercard", "4444", false, payments.StatusSucceeded, nil},
		{"pm_card_mastercard", "mastercard", "4444", true, payments.StatusSucceeded, nil},
		{"pm_card_amex", "amex", "8431", false, payments.StatusSucceeded, nil},
		{"pm_card_amex", "amex", "8431", true, payments.StatusSucceeded, nil},
		{"pm_card_chargeDeclined", "visa", "0002", false, "", declined},
		{"pm_card_chargeDeclined", "visa", "0002", true, "", declined},
		{"pm_card_insufficientFunds", "visa", "9995", false, "", noFunds},
		{"pm_card_insufficientFunds", "visa", "9995", true, "", noFunds},
		{"pm_card_authenticationRequired", "visa", "3184", false, payments.StatusRequiresAction, nil},
		{"pm_card_authenticationRequired", "visa", "3184", true, "", needsAuth},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s off_session=%v", tt.pm, tt.offSession), func(t *testing.T) {
			s, ctx := payments.NewSandbox(quietLog()), context.Background()
			card, err := s.AttachPaymentMethod(ctx, "cus_sbx_1", tt.pm)
			if want := (payments.Card{PaymentMethodID: tt.pm, Brand: tt.brand, Last4: tt.last, ExpMonth: 12, ExpYear: 2034}); err != nil || card != want {
				t.Fatalf("Attach = %+v, %v; want %+v", card, err, want)
			}

			c, err := s.Charge(ctx, sandboxCharge(tt.pm, tt.offSession, "k"))
			if tt.decline != nil {
				var d *payments.DeclineError
				if !errors.As(err, &d) || !strings.HasPrefix(d.IntentID, "pi_sbx_") {
					t.Fatalf("Charge = %+v, %v; want %v", c, err, tt.decline)
				}
				got := *d
				got.IntentID = ""
				if got != *tt.decline {
					t.Fatalf("decline = %+v, want %+v", got, *tt.decline)
				}
				// The declined intent exists, failed, with Stripe's reason.
				read, err := s.GetCharge(ctx, d.IntentID)
				if err != nil || read.Status != payments.StatusFailed || read.FailureCode != tt.decline.Code || read.FailureMessage != tt.decline.Message {
					t.Fatalf("GetCharge = %+v, %v", read, err)
				}
			} else if err != nil || c.Status != tt.status || c.AmountCents != 2500 || c.Card != card || c.Metadata["purchase_id"] != "k" ||
				!strings.HasPrefix(c.IntentID, "pi_sbx_") {
				t.Fatalf("Charge = %+v, %v; want %s", c, err, tt.status)
			}

			wantSecret := tt.status == payments.StatusRequiresAction
			if hasSecret := strings.HasPrefix(c.ClientSecret, c.IntentID+"_secret_"); hasSecret != wantSecret {
				t.Fatalf("client secret %q for %s", c.ClientSecret, c.Status)
			}
			wantCharged := btoi(tt.status == payments.StatusSucceeded)
			if s.ChargeCount("k") != wantCharged || s.Charges() != wantCharged {
				t.Fatalf("ChargeCount %d, Charges %d, want %d", s.ChargeCount("k"), s.Charges(), wantCharged)
			}
		})
	}
}

func TestSandbox_UnknownPaymentMethodsAreNotFound(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	for _, pm := range []string{"pm_1NzQq2LkdIwHu7ix", "pm_card_unknownTestCard", "card_123", ""} {
		if _, err := s.AttachPaymentMethod(ctx, "cus_sbx_1", pm); !errors.Is(err, payments.ErrNotFound) {
			t.Errorf("attach %q: %v", pm, err)
		}
		if _, err := s.Charge(ctx, sandboxCharge(pm, false, "k-"+pm)); !errors.Is(err, payments.ErrNotFound) {
			t.Errorf("charge %q: %v", pm, err)
		}
	}
	if _, err := s.GetCharge(ctx, "pi_sbx_missing"); !errors.Is(err, payments.ErrNotFound) {
		t.Errorf("GetCharge missing: %v", err)
	}
	if s.Charges() != 0 {
		t.Fatalf("%d charges", s.Charges())
	}
}

func TestSandbox_ReplayedKeyReturnsTheFirstResultAndChargesOnce(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	first, err := s.Charge(ctx, sandboxCharge("pm_card_visa", false, "purchase-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Charge(ctx, sandboxCharge("pm_card_visa", false, "purchase-1"))
	if err != nil || again.IntentID != first.IntentID || again.Status != payments.StatusSucceeded {
		t.Fatalf("replay = %+v, %v; first %+v", again, err, first)
	}
	if s.ChargeCount("purchase-1") != 1 || s.Charges() != 1 {
		t.Fatalf("ChargeCount %d, Charges %d", s.ChargeCount("purchase-1"), s.Charges())
	}

	// A declined first attempt replays as the same decline.
	_, err1 := s.Charge(ctx, sandboxCharge("pm_card_insufficientFunds", false, "purchase-2"))
	_, err2 := s.Charge(ctx, sandboxCharge("pm_card_insufficientFunds", false, "purchase-2"))
	var d1, d2 *payments.DeclineError
	if !errors.As(err1, &d1) || !errors.As(err2, &d2) || *d1 != *d2 {
		t.Fatalf("decline replay: %v / %v", err1, err2)
	}

	// Same key, other amount: refused as Stripe does, nothing charged.
	other := sandboxCharge("pm_card_visa", false, "purchase-1")
	other.AmountCents = 9900
	var d *payments.DeclineError
	if _, err := s.Charge(ctx, other); err == nil || errors.As(err, &d) {
		t.Fatalf("key reused with another amount: %v", err)
	}
	if s.Charges() != 1 {
		t.Fatalf("%d charges", s.Charges())
	}
}

func TestSandbox_SameKeyNeverChargesTwiceConcurrently(t *testing.T) {
	s := payments.NewSandbox(quietLog())
	const callers = 50
	intentIDs := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.Charge(context.Background(), sandboxCharge("pm_card_visa", true, "topup-same"))
			intentIDs[i], errs[i] = c.IntentID, err
		}()
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || intentIDs[i] == "" || intentIDs[i] != intentIDs[0] {
			t.Fatalf("caller %d: intent %q, %v (first %q)", i, intentIDs[i], errs[i], intentIDs[0])
		}
	}
	if s.ChargeCount("topup-same") != 1 || s.Charges() != 1 {
		t.Fatalf("ChargeCount %d, Charges %d, want 1", s.ChargeCount("topup-same"), s.Charges())
	}
}

func TestSandbox_ThreeDSecure(t *testing.T) {
	ctx := context.Background()
	t.Run("completed", func(t *testing.T) {
		s := payments.NewSandbox(quietLog())
		c, err := s.Charge(ctx, sandboxCharge("pm_card_authenticationRequired", false, "k"))
		if err != nil || c.Status != payments.StatusRequiresAction || s.Charges() != 0 {
			t.Fatalf("Charge = %+v, %v (charges %d)", c, err, s.Charges())
		}
		done, err := s.CompleteAuthentication(c.IntentID)
		if err != nil || done.Status != payments.StatusSucceeded || done.IntentID != c.IntentID || done.ClientSecret != "" || s.ChargeCount("k") != 1 {
			t.Fatalf("CompleteAuthentication = %+v, %v (charges %d)", done, err, s.ChargeCount("k"))
		}
		if read, err := s.GetCharge(ctx, c.IntentID); err != nil || read.Status != payments.StatusSucceeded {
			t.Fatalf("GetCharge = %+v, %v", read, err)
		}
		if _, err := s.CompleteAuthentication(c.IntentID); err == nil || s.Charges() != 1 {
			t.Fatalf("second completion: %v, charges %d", err, s.Charges())
		}
		// Like Stripe, a replay answers with the first response.
		if again, err := s.Charge(ctx, sandboxCharge("pm_card_authenticationRequired", false, "k")); err != nil ||
			again.Status != payments.StatusRequiresAction || again.IntentID != c.IntentID || s.Charges() != 1 {
			t.Fatalf("replay = %+v, %v", again, err)
		}
	})
	t.Run("failed", func(t *testing.T) {
		s := payments.NewSandbox(quietLog())
		c, _ := s.Charge(ctx, sandboxCharge("pm_card_authenticationRequired", false, "k"))
		failed, err := s.FailAuthentication(c.IntentID)
		if err != nil || failed.Status != payments.StatusFailed || failed.FailureCode != "payment_intent_authentication_failure" || failed.FailureMessage == "" {
			t.Fatalf("FailAuthentication = %+v, %v", failed, err)
		}
		if read, err := s.GetCharge(ctx, c.IntentID); err != nil || read.Status != payments.StatusFailed || s.Charges() != 0 {
			t.Fatalf("GetCharge = %+v, %v (charges %d)", read, err, s.Charges())
		}
		if _, err := s.CompleteAuthentication(c.IntentID); err == nil || s.Charges() != 0 {
			t.Fatal("a failed authentication was completed")
		}
	})
	t.Run("unknown intent", func(t *testing.T) {
		s := payments.NewSandbox(quietLog())
		if _, err := s.CompleteAuthentication("pi_sbx_nope"); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("CompleteAuthentication unknown: %v", err)
		}
	})
}

func TestSandbox_BeforeChargeFailsWithoutCharging(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	outage := errors.New("stripe unreachable")
	s.BeforeCharge = func(req payments.ChargeRequest) error {
		if req.IdempotencyKey == "down" {
			return outage
		}
		return nil
	}
	if _, err := s.Charge(ctx, sandboxCharge("pm_card_visa", true, "down")); !errors.Is(err, outage) {
		t.Fatalf("Charge during outage: %v", err)
	}
	if s.ChargeCount("down") != 0 || s.Charges() != 0 {
		t.Fatal("charged during an outage")
	}
	if c, err := s.Charge(ctx, sandboxCharge("pm_card_visa", true, "up")); err != nil || c.Status != payments.StatusSucceeded || s.Charges() != 1 {
		t.Fatalf("Charge after: %+v, %v", c, err)
	}
	if got, _ := s.ListCharges(ctx, time.Now().Add(-time.Minute), time.Now().Add(time.Minute)); len(got) != 1 || got[0].Status != payments.StatusSucceeded {
		t.Fatalf("ListCharges = %+v", got)
	}
}

func TestSandbox_InvalidRequestsAreRefused(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	noKey := sandboxCharge("pm_card_visa", false, "")
	tiny := sandboxCharge("pm_card_visa", false, "tiny")
	tiny.AmountCents = 49
	for name, req := range map[string]payments.ChargeRequest{"no idempotency key": noKey, "below 50 cents": tiny} {
		if _, err := s.Charge(ctx, req); err == nil {
			t.Errorf("%s: charged", name)
		}
	}
	if s.Charges() != 0 {
		t.Fatalf("%d charges", s.Charges())
	}
}

func TestSandbox_CustomersAndSetupIntents(t *testing.T) {
	s, ctx := payments.NewSandbox(quietLog()), context.Background()
	customer := payments.Customer{WorkspaceID: "ws-1", Name: "Acme", Address: payments.Address{Line1: "1 Main St", Country: "US"}}
	id, err := s.CreateCustomer(ctx, customer, "customer-ws-1")
	again, err2 := s.CreateCustomer(ctx, customer, "customer-ws-1")
	other, err3 := s.CreateCustomer(ctx, customer, "customer-ws-2")
	if err != nil || err2 != nil || err3 != nil || !strings.HasPrefix(id, "cus_sbx_") || again != id || other == id {
		t.Fatalf("CreateCustomer = %q, %q, %q (%v %v %v)", id, again, other, err, err2, err3)
	}
	customer.Name = "Acme Inc."
	if err := s.UpdateCustomer(ctx, id, customer); err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Customer(id); !ok || got.Name != "Acme Inc." {
		t.Fatalf("Customer = %+v, %v", got, ok)
	}
	if err := s.UpdateCustomer(ctx, "cus_RealStripeCustomer", customer); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("UpdateCustomer of a non-sandbox customer: %v", err)
	}

	if _, err := s.AttachPaymentMethod(ctx, id, "pm_card_visa"); err != nil {
		t.Fatal(err)
	}
	if err := s.DetachPaymentMethod(ctx, "pm_card_visa"); err != nil {
		t.Fatal(err)
	}
	if _, attached := s.AttachedTo("pm_card_visa"); attached {
		t.Fatal("still attached after detach")
	}
	if err := s.DetachPaymentMethod(ctx, "pm_card_visa"); err != nil {
		t.Fatalf("detaching twice: %v", err)
	}

	secret, err := s.CreateSetupIntent(ctx, id)
	if err != nil || !strings.HasPrefix(secret, "seti_sbx_") || !strings.Contains(secret, "_secret_") {
		t.Fatalf("CreateSetupIntent = %q, %v", secret, err)
	}
	if s.Name() != "sandbox" {
		t.Fatalf("Name = %q", s.Name())
	}
}

func TestSandbox_SaysLoudlyThatNoMoneyMoves(t *testing.T) {
	logs := &lockedBuffer{}
	payments.NewSandbox(slog.New(slog.NewTextHandler(logs, nil)))
	out := logs.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "level=WARN") ||
		!strings.Contains(out, "SANDBOX PAYMENT PROVIDER: no real money moves; set STRIPE_SECRET_KEY to charge cards") {
		t.Fatalf("construction logged %q", out)
	}
}
