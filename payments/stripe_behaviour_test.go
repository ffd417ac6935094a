package payments_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/airouter/credits/payments"
)

// fakeStripe answers Stripe-shaped bodies and records what it was sent.
type fakeStripe struct {
	mu       sync.Mutex
	status   int
	body     string
	lastForm url.Values
	lastKey  string
}

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	f.mu.Lock()
	f.lastForm, f.lastKey = form, r.Header.Get("Idempotency-Key")
	status, body := f.status, f.body
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body) //nolint:errcheck
}

func newFake(t *testing.T, status int, body string) (*fakeStripe, *payments.Stripe) {
	f := &fakeStripe{status: status, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	zero := int64(0)
	return f, payments.NewStripe("sk_test_secret_value", payments.StripeOptions{APIBase: srv.URL, MaxNetworkRetries: &zero}, quietLog())
}

var charge = payments.ChargeRequest{CustomerID: "cus_1", PaymentMethodID: "pm_1", AmountCents: 20000, Currency: "usd", IdempotencyKey: "topup-abc", OffSession: true}

func TestStripeCharge_SuccessReadsTheCard(t *testing.T) {
	f, s := newFake(t, 200, `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":20000,
		"latest_charge":{"id":"ch_1","object":"charge","payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2034}}}}`)
	c, err := s.Charge(context.Background(), charge)
	if err != nil || c.Status != payments.StatusSucceeded || c.Card.Last4 != "4242" || c.Card.Brand != "visa" || c.AmountCents != 20000 {
		t.Fatalf("Charge = %+v, %v", c, err)
	}
	if f.lastKey != "topup-abc" || f.lastForm.Get("off_session") != "true" || f.lastForm.Get("confirm") != "true" ||
		f.lastForm.Get("amount") != "20000" || f.lastForm.Get("payment_method_types[0]") != "card" {
		t.Fatalf("sent key %q form %v", f.lastKey, f.lastForm)
	}
}

func TestStripeCharge_CardErrorsBecomeDeclineErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		body              string
		code, declineCode string
	}{
		"insufficient funds": {`{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_intent":{"id":"pi_9","object":"payment_intent","status":"requires_payment_method"}}}`, "card_declined", "insufficient_funds"},
		"off-session SCA":    {`{"error":{"type":"card_error","code":"authentication_required","message":"Your card was declined. This transaction requires authentication.","payment_intent":{"id":"pi_9","object":"payment_intent"}}}`, "authentication_required", ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, s := newFake(t, 402, tc.body)
			_, err := s.Charge(context.Background(), charge)
			var d *payments.DeclineError
			if !errors.As(err, &d) || d.Code != tc.code || d.DeclineCode != tc.declineCode || d.IntentID != "pi_9" || d.Message == "" {
				t.Fatalf("err = %#v", err)
			}
		})
	}
}

func TestStripeCharge_RequiresActionCarriesTheClientSecret(t *testing.T) {
	_, s := newFake(t, 200, `{"id":"pi_2","object":"payment_intent","status":"requires_action","client_secret":"pi_2_secret_x","amount":500}`)
	c, err := s.Charge(context.Background(), charge)
	if err != nil || c.Status != payments.StatusRequiresAction || c.ClientSecret != "pi_2_secret_x" {
		t.Fatalf("Charge = %+v, %v", c, err)
	}
}

func TestStripe_MissingObjectsAndOutagesAreTold(t *testing.T) {
	_, s := newFake(t, 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such PaymentMethod: 'pm_x'"}}`)
	if _, err := s.AttachPaymentMethod(context.Background(), "cus_1", "pm_x"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("attach missing: %v", err)
	}
	_, s = newFake(t, 500, `{"error":{"type":"api_error","message":"Something went wrong"}}`)
	_, err := s.Charge(context.Background(), charge)
	var d *payments.DeclineError
	if err == nil || errors.As(err, &d) || strings.Contains(err.Error(), "sk_test_secret_value") {
		t.Fatalf("outage: %v", err)
	}
}
