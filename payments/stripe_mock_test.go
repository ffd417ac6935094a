package payments_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/stripemock"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stripemock.Stop()
	os.Exit(code)
}

func stripeMock(t *testing.T) string { return stripemock.URL(t) }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Every call the adapter makes must be one stripe-mock (which validates
// requests against Stripe's OpenAPI spec) accepts.
func TestStripeAdapter_EveryCallIsAcceptedByStripeMock(t *testing.T) {
	zero := int64(0)
	s := payments.NewStripe("sk_test_123", payments.StripeOptions{APIBase: stripeMock(t), MaxNetworkRetries: &zero}, quietLog())
	ctx := context.Background()
	customer := payments.Customer{WorkspaceID: "ws-1", Name: "Zofia Müller", Email: "z@example.com",
		Address: payments.Address{Line1: "ul. Piotrkowska 12", City: "Łódź", PostalCode: "90-001", Country: "PL"},
		TaxID:   &payments.TaxID{Type: "eu_vat", Value: "PL1234567890"}}

	id, err := s.CreateCustomer(ctx, customer, "customer-ws-1")
	if err != nil || !strings.HasPrefix(id, "cus_") {
		t.Fatalf("CreateCustomer = %q, %v", id, err)
	}
	if err := s.UpdateCustomer(ctx, id, customer); err != nil {
		t.Fatalf("UpdateCustomer: %v", err)
	}
	card, err := s.AttachPaymentMethod(ctx, id, "pm_card_visa")
	if err != nil || card.PaymentMethodID == "" || card.Last4 == "" || card.Brand == "" || card.ExpYear == 0 {
		t.Fatalf("AttachPaymentMethod = %+v, %v", card, err)
	}
	if err := s.DetachPaymentMethod(ctx, "pm_card_visa"); err != nil {
		t.Fatalf("DetachPaymentMethod: %v", err)
	}
	secret, err := s.CreateSetupIntent(ctx, id)
	if err != nil || !strings.Contains(secret, "_secret_") {
		t.Fatalf("CreateSetupIntent = %q, %v", secret, err)
	}
	charges, err := s.ListCharges(ctx, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(charges) == 0 {
		t.Fatalf("ListCharges = %d charges, %v", len(charges), err)
	}
	for _, offSession := range []bool{false, true} {
		t.Run(fmt.Sprintf("charge off_session=%v", offSession), func(t *testing.T) {
			c, err := s.Charge(ctx, payments.ChargeRequest{CustomerID: id, PaymentMethodID: "pm_card_visa", AmountCents: 2500, Currency: "usd",
				Description: "AI Router credits", OffSession: offSession, IdempotencyKey: "purchase-1", Metadata: map[string]string{"purchase_id": "p1"}})
			// stripe-mock answers every confirmed intent as requires_payment_method
			// with a last_payment_error: the adapter must report that as failed.
			if err != nil || c.IntentID == "" || c.Status != payments.StatusFailed || c.FailureCode == "" {
				t.Fatalf("Charge = %+v, %v", c, err)
			}
			got, err := s.GetCharge(ctx, c.IntentID)
			if err != nil || got.IntentID == "" {
				t.Fatalf("GetCharge = %+v, %v", got, err)
			}
		})
	}
}
