package payments_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airouter/credits/payments"
)

var (
	mockOnce sync.Once
	mockURL  string
	mockErr  error
	mockCmd  *exec.Cmd
)

func TestMain(m *testing.M) {
	code := m.Run()
	if mockCmd != nil {
		mockCmd.Process.Kill() //nolint:errcheck // best effort at exit
	}
	os.Exit(code)
}

// stripeMock returns the URL of a running stripe-mock: STRIPE_MOCK_URL, or
// one this test binary starts from .tools/bin, GOPATH/bin or PATH.
func stripeMock(t *testing.T) string {
	t.Helper()
	if os.Getenv("SKIP_STRIPE_MOCK") == "1" {
		t.Skip("SKIP_STRIPE_MOCK=1")
	}
	mockOnce.Do(func() {
		if u := os.Getenv("STRIPE_MOCK_URL"); u != "" {
			mockURL = u
			return
		}
		bin := findStripeMock()
		if bin == "" {
			mockErr = errors.New("stripe-mock not installed: run scripts/stripe-mock.sh (make test does)")
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			mockErr = err
			return
		}
		addr := l.Addr().String()
		l.Close()
		mockCmd = exec.Command(bin, "-http-addr", addr)
		if mockErr = mockCmd.Start(); mockErr != nil {
			return
		}
		for i := 0; i < 100; i++ {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				mockURL = "http://" + addr
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		mockErr = errors.New("stripe-mock did not start")
	})
	if mockErr != nil {
		t.Fatal(mockErr)
	}
	return mockURL
}

func findStripeMock() string {
	wd, _ := os.Getwd()
	candidates := []string{filepath.Join(wd, "..", ".tools", "bin", "stripe-mock")}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(gopath)), "bin", "stripe-mock"))
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c
		}
	}
	return ""
}

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
