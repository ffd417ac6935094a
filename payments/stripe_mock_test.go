package payments_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/stripemock"
)

// TestMain stops the stripe-mock this test binary may have started.
func TestMain(m *testing.M) {
	code := m.Run()
	stripemock.Stop()
	os.Exit(code)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newMockedStripe is the adapter pointed at a real stripe-mock: the one at
// STRIPE_MOCK_URL, or one started from .tools/bin, GOPATH/bin or PATH. No
// binary fails the test (run scripts/stripe-mock.sh); SKIP_STRIPE_MOCK=1 skips.
func newMockedStripe(t *testing.T) *payments.Stripe {
	t.Helper()
	noRetries := int64(0)
	return payments.NewStripe("sk_test_123", payments.StripeOptions{APIBase: stripemock.URL(t), MaxNetworkRetries: &noRetries}, quietLog())
}

// stripe-mock validates every request against Stripe's OpenAPI spec and
// answers an invalid one with invalid_request_error, so a nil error proves
// the call is well formed. Its answers are stateless fixtures: it ignores
// Idempotency-Key, never declines, and answers every confirmed
// PaymentIntent as requires_payment_method with a last_payment_error.

var mockCustomer = payments.Customer{WorkspaceID: "ws-1", Name: "Zofia Müller", Email: "z@example.com",
	Address: payments.Address{Line1: "ul. Piotrkowska 12", City: "Łódź", PostalCode: "90-001", Country: "PL"},
	TaxID:   &payments.TaxID{Type: "eu_vat", Value: "PL1234567890"}}

func TestStripeMock_Customers(t *testing.T) {
	s, ctx := newMockedStripe(t), context.Background()
	if s.Name() != "stripe" {
		t.Fatalf("Name = %q", s.Name())
	}
	id, err := s.CreateCustomer(ctx, mockCustomer, "customer-ws-1")
	if err != nil || !strings.HasPrefix(id, "cus_") {
		t.Fatalf("CreateCustomer = %q, %v", id, err)
	}
	// The fixture's tax ID differs from ours, so this lists and creates.
	if err := s.UpdateCustomer(ctx, id, mockCustomer); err != nil {
		t.Fatalf("UpdateCustomer: %v", err)
	}
	noTaxID := mockCustomer
	noTaxID.TaxID, noTaxID.Email, noTaxID.Address.Line2 = nil, "", ""
	if _, err := s.CreateCustomer(ctx, noTaxID, ""); err != nil {
		t.Fatalf("CreateCustomer without tax ID or key: %v", err)
	}
	if err := s.UpdateCustomer(ctx, id, noTaxID); err != nil {
		t.Fatalf("UpdateCustomer without tax ID: %v", err)
	}
}

func TestStripeMock_Cards(t *testing.T) {
	s, ctx := newMockedStripe(t), context.Background()
	card, err := s.AttachPaymentMethod(ctx, "cus_123", "pm_card_visa")
	if err != nil || card.PaymentMethodID != "pm_card_visa" || card.Brand != "visa" || card.Last4 != "4242" || card.ExpMonth == 0 || card.ExpYear == 0 {
		t.Fatalf("AttachPaymentMethod = %+v, %v", card, err)
	}
	if err := s.DetachPaymentMethod(ctx, "pm_card_visa"); err != nil {
		t.Fatalf("DetachPaymentMethod: %v", err)
	}
	secret, err := s.CreateSetupIntent(ctx, "cus_123")
	if err != nil || !strings.HasPrefix(secret, "seti_") || !strings.Contains(secret, "_secret_") {
		t.Fatalf("CreateSetupIntent = %q, %v", secret, err)
	}
}

func TestStripeMock_Charges(t *testing.T) {
	s, ctx := newMockedStripe(t), context.Background()
	for _, offSession := range []bool{false, true} {
		name := "on-session"
		if offSession {
			name = "off-session"
		}
		t.Run(name, func(t *testing.T) {
			c, err := s.Charge(ctx, payments.ChargeRequest{CustomerID: "cus_123", PaymentMethodID: "pm_card_visa", AmountCents: 2500, Currency: "usd",
				Description: "AI Router credits", OffSession: offSession, IdempotencyKey: "purchase-" + name, Metadata: map[string]string{"purchase_id": "p1"}})
			if err != nil {
				t.Fatalf("Charge: %v", err)
			}
			// stripe-mock's requires_payment_method must read as failed, with
			// a reason; the expanded latest_charge gives the card.
			if !strings.HasPrefix(c.IntentID, "pi_") || c.Status != payments.StatusFailed || c.FailureCode != "requires_payment_method" ||
				c.FailureMessage == "" || c.AmountCents != 2500 || c.Card.Brand != "visa" || c.Card.Last4 != "4242" || c.ClientSecret != "" {
				t.Fatalf("Charge = %+v", c)
			}
		})
	}

	got, err := s.GetCharge(ctx, "pi_123")
	if err != nil || got.IntentID != "pi_123" || got.Status != payments.StatusFailed || got.Card.Last4 != "4242" {
		t.Fatalf("GetCharge = %+v, %v", got, err)
	}
	listed, err := s.ListCharges(ctx, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(listed) == 0 || !strings.HasPrefix(listed[0].IntentID, "pi_") {
		t.Fatalf("ListCharges = %+v, %v", listed, err)
	}
}

func TestStripeMock_Refunds(t *testing.T) {
	s, ctx := newMockedStripe(t), context.Background()
	r, err := s.Refund(ctx, payments.RefundRequest{IntentID: "pi_123", AmountCents: 1000, IdempotencyKey: "refund-r1",
		Metadata: map[string]string{"refund_id": "r1", "purchase_id": "p1", "reason": "Unused credits: Łódź office closed"}})
	if err != nil || !strings.HasPrefix(r.ID, "re_") || r.AmountCents == 0 {
		t.Fatalf("Refund = %+v, %v", r, err)
	}
	got, err := s.GetRefund(ctx, r.ID)
	if err != nil || got.ID != r.ID {
		t.Fatalf("GetRefund = %+v, %v", got, err)
	}
	listed, err := s.ListRefunds(ctx, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(listed) == 0 || !strings.HasPrefix(listed[0].ID, "re_") {
		t.Fatalf("ListRefunds = %+v, %v", listed, err)
	}
}
