package payments_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/airouter/credits/payments"
)

// These tests stand an httptest.Server in for Stripe, answering the
// Stripe-shaped bodies stripe-mock cannot produce (success, declines,
// 3-D Secure, outages), and check what the adapter sends.

const secretKey = "sk_test_do_not_leak_4eC39HqLyjWDarjtT1zdp7dc"

type reply struct {
	status int
	body   string
}

// sent is one request as the fake Stripe received it.
type sent struct {
	method, path   string
	form           url.Values // POST body or GET query
	idempotencyKey string
}

// fakeStripe answers each "METHOD /path" with its reply (404
// resource_missing when none) and records every request.
type fakeStripe struct {
	replies map[string]reply

	mu       sync.Mutex
	requests []sent
}

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm() //nolint:errcheck // a bad form shows up as a missing field
	f.mu.Lock()
	f.requests = append(f.requests, sent{r.Method, r.URL.Path, r.Form, r.Header.Get("Idempotency-Key")})
	f.mu.Unlock()
	rep, ok := f.replies[r.Method+" "+r.URL.Path]
	if !ok {
		rep = reply{404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such object"}}`}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	w.Write([]byte(rep.body)) //nolint:errcheck
}

func (f *fakeStripe) sent() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.requests...)
}

// lockedBuffer collects log output; slog handlers may write concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newFakeStripe returns the adapter talking to a fake Stripe with the
// given replies, without retries, and the log it writes (debug and up).
func newFakeStripe(t *testing.T, replies map[string]reply) (*fakeStripe, *payments.Stripe, *lockedBuffer) {
	t.Helper()
	f := &fakeStripe{replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	noRetries := int64(0)
	t.Cleanup(func() {
		if strings.Contains(logs.String(), secretKey) {
			t.Errorf("the secret key was logged: %s", logs)
		}
	})
	return f, payments.NewStripe(secretKey, payments.StripeOptions{APIBase: srv.URL, MaxNetworkRetries: &noRetries}, log), logs
}

func onlyRequest(t *testing.T, f *fakeStripe) sent {
	t.Helper()
	reqs := f.sent()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

var topUp = payments.ChargeRequest{CustomerID: "cus_1", PaymentMethodID: "pm_1", AmountCents: 20000, Currency: "usd",
	Description: "AI Router credits", OffSession: true, IdempotencyKey: "purchase-7f3a", Metadata: map[string]string{"purchase_id": "7f3a"}}

const succeededIntent = `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":20000,
	"metadata":{"purchase_id":"7f3a"},"payment_method":"pm_1",
	"latest_charge":{"id":"ch_1","object":"charge","payment_method_details":{"type":"card",
		"card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2034}}}}`

func TestStripeCharge_SucceededReadsTheChargedCard(t *testing.T) {
	f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {200, succeededIntent}})
	c, err := s.Charge(context.Background(), topUp)
	if err != nil {
		t.Fatal(err)
	}
	want := payments.Charge{IntentID: "pi_1", Status: payments.StatusSucceeded, AmountCents: 20000, Metadata: map[string]string{"purchase_id": "7f3a"},
		Card: payments.Card{PaymentMethodID: "pm_1", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034}}
	if c.IntentID != want.IntentID || c.Status != want.Status || c.AmountCents != want.AmountCents || c.Card != want.Card ||
		c.Metadata["purchase_id"] != "7f3a" || c.FailureCode != "" || c.ClientSecret != "" {
		t.Fatalf("Charge = %+v, want %+v", c, want)
	}

	r := onlyRequest(t, f)
	if r.idempotencyKey != topUp.IdempotencyKey {
		t.Errorf("Idempotency-Key = %q, want %q", r.idempotencyKey, topUp.IdempotencyKey)
	}
	for field, want := range map[string]string{
		"amount": "20000", "currency": "usd", "customer": "cus_1", "payment_method": "pm_1", "confirm": "true", "off_session": "true",
		"payment_method_types[0]": "card", "description": "AI Router credits", "metadata[purchase_id]": "7f3a", "expand[0]": "latest_charge",
	} {
		if got := r.form.Get(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if r.form.Has("return_url") || r.form.Has("automatic_payment_methods[enabled]") {
		t.Errorf("card-only charge sent %v", r.form)
	}
}

func TestStripeCharge_OnSessionDoesNotClaimOffSession(t *testing.T) {
	f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {200, succeededIntent}})
	onSession := topUp
	onSession.OffSession = false
	if _, err := s.Charge(context.Background(), onSession); err != nil {
		t.Fatal(err)
	}
	if r := onlyRequest(t, f); r.form.Has("off_session") || r.form.Get("confirm") != "true" || r.form.Has("return_url") {
		t.Fatalf("sent %v", r.form)
	}
}

func TestStripeCharge_CardErrorsAreDeclineErrors(t *testing.T) {
	tests := map[string]struct {
		body string
		want payments.DeclineError
	}{
		"insufficient funds": {
			`{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.",
				"payment_intent":{"id":"pi_123","object":"payment_intent","status":"requires_payment_method"}}}`,
			payments.DeclineError{IntentID: "pi_123", Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."},
		},
		"off-session authentication required": {
			`{"error":{"type":"card_error","code":"authentication_required","message":"Your card was declined. This transaction requires authentication.",
				"payment_intent":{"id":"pi_124","object":"payment_intent","status":"requires_payment_method"}}}`,
			payments.DeclineError{IntentID: "pi_124", Code: "authentication_required", Message: "Your card was declined. This transaction requires authentication."},
		},
		"expired card, no intent": {
			`{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}`,
			payments.DeclineError{Code: "expired_card", Message: "Your card has expired."},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {402, tt.body}})
			_, err := s.Charge(context.Background(), topUp)
			var d *payments.DeclineError
			if !errors.As(err, &d) || *d != tt.want {
				t.Fatalf("err = %#v, want %#v", err, &tt.want)
			}
		})
	}
}

func TestStripeCharge_IntentStatusesAreMapped(t *testing.T) {
	tests := map[string]struct {
		intent string
		want   payments.Charge
	}{
		"3-D Secure": {
			`{"id":"pi_2","object":"payment_intent","status":"requires_action","client_secret":"pi_2_secret_abc","amount":500}`,
			payments.Charge{IntentID: "pi_2", Status: payments.StatusRequiresAction, ClientSecret: "pi_2_secret_abc", AmountCents: 500},
		},
		"processing": {
			`{"id":"pi_3","object":"payment_intent","status":"processing","client_secret":"pi_3_secret_abc","amount":500}`,
			payments.Charge{IntentID: "pi_3", Status: payments.StatusProcessing, AmountCents: 500},
		},
		"declined after 3-D Secure": {
			`{"id":"pi_4","object":"payment_intent","status":"requires_payment_method","amount":500,"payment_method":"pm_1",
				"last_payment_error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
			payments.Charge{IntentID: "pi_4", Status: payments.StatusFailed, AmountCents: 500, Card: payments.Card{PaymentMethodID: "pm_1"},
				FailureCode: "card_declined", FailureMessage: "Your card has insufficient funds."},
		},
		"canceled": {
			`{"id":"pi_5","object":"payment_intent","status":"canceled","amount":500}`,
			payments.Charge{IntentID: "pi_5", Status: payments.StatusFailed, AmountCents: 500, FailureCode: "canceled", FailureMessage: "The payment was not completed."},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			id := tt.want.IntentID
			f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {200, tt.intent}, "GET /v1/payment_intents/" + id: {200, tt.intent}})
			created, err := s.Charge(context.Background(), topUp)
			if err != nil || !sameCharge(created, tt.want) {
				t.Fatalf("Charge = %+v, %v; want %+v", created, err, tt.want)
			}
			read, err := s.GetCharge(context.Background(), id)
			if err != nil || !sameCharge(read, tt.want) {
				t.Fatalf("GetCharge = %+v, %v; want %+v", read, err, tt.want)
			}
			if get := f.sent()[1]; get.method != "GET" || get.form.Get("expand[0]") != "latest_charge" {
				t.Fatalf("GetCharge sent %+v", get)
			}
		})
	}
}

// sameCharge compares all but Metadata (nil and empty are both fine).
func sameCharge(a, b payments.Charge) bool {
	a.Metadata, b.Metadata = nil, nil
	return a.IntentID == b.IntentID && a.Status == b.Status && a.AmountCents == b.AmountCents && a.ClientSecret == b.ClientSecret &&
		a.Card == b.Card && a.FailureCode == b.FailureCode && a.FailureMessage == b.FailureMessage
}

func TestStripeCharge_WithoutIdempotencyKeyIsNotSent(t *testing.T) {
	f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {200, succeededIntent}})
	unkeyed := topUp
	unkeyed.IdempotencyKey = ""
	_, err := s.Charge(context.Background(), unkeyed)
	if err == nil || len(f.sent()) != 0 {
		t.Fatalf("Charge without a key = %v after %d requests", err, len(f.sent()))
	}
}

func TestStripe_OutagesArePlainErrorsWithoutTheKey(t *testing.T) {
	f, s, logs := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {500, `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`}})
	_, err := s.Charge(context.Background(), topUp)
	var d *payments.DeclineError
	if err == nil || errors.As(err, &d) || errors.Is(err, payments.ErrNotFound) || strings.Contains(err.Error(), secretKey) {
		t.Fatalf("500: %v", err)
	}
	if n := len(f.sent()); n != 1 {
		t.Fatalf("%d requests with MaxNetworkRetries 0", n)
	}
	if !strings.Contains(logs.String(), "stripe-go") {
		t.Fatalf("stripe-go's error line was not logged at warn: %q", logs)
	}

	// Nothing listens on port 1: the error names the URL, never the key.
	noRetries := int64(0)
	unreachable := payments.NewStripe(secretKey, payments.StripeOptions{APIBase: "http://127.0.0.1:1", MaxNetworkRetries: &noRetries}, quietLog())
	_, err = unreachable.GetCharge(context.Background(), "pi_1")
	if err == nil || errors.As(err, &d) || strings.Contains(err.Error(), secretKey) {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestStripeAttach(t *testing.T) {
	t.Run("reads the card", func(t *testing.T) {
		f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_methods/pm_9/attach": {200,
			`{"id":"pm_9","object":"payment_method","type":"card","customer":"cus_1","card":{"brand":"mastercard","last4":"4444","exp_month":3,"exp_year":2031}}`}})
		card, err := s.AttachPaymentMethod(context.Background(), "cus_1", "pm_9")
		if want := (payments.Card{PaymentMethodID: "pm_9", Brand: "mastercard", Last4: "4444", ExpMonth: 3, ExpYear: 2031}); err != nil || card != want {
			t.Fatalf("Attach = %+v, %v", card, err)
		}
		if r := onlyRequest(t, f); r.form.Get("customer") != "cus_1" {
			t.Fatalf("sent %v", r.form)
		}
	})
	t.Run("missing is ErrNotFound", func(t *testing.T) {
		_, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_methods/pm_x/attach": {404,
			`{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_x'"}}`}})
		if _, err := s.AttachPaymentMethod(context.Background(), "cus_1", "pm_x"); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("attach missing: %v", err)
		}
	})
	t.Run("card error is a decline", func(t *testing.T) {
		_, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_methods/pm_cvc/attach": {402,
			`{"error":{"type":"card_error","code":"incorrect_cvc","message":"Your card's security code is incorrect."}}`}})
		_, err := s.AttachPaymentMethod(context.Background(), "cus_1", "pm_cvc")
		var d *payments.DeclineError
		if !errors.As(err, &d) || d.Code != "incorrect_cvc" || d.Message != "Your card's security code is incorrect." {
			t.Fatalf("attach declined: %#v", err)
		}
	})
}

func TestStripeDetach_AlreadyDetachedIsDone(t *testing.T) {
	for name, rep := range map[string]reply{
		"detached": {200, `{"id":"pm_1","object":"payment_method","customer":null}`},
		"not attached": {400, `{"error":{"type":"invalid_request_error",
			"message":"The payment method you provided is not attached to a customer so detachment is impossible."}}`},
		"gone": {404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such PaymentMethod: 'pm_1'"}}`},
	} {
		t.Run(name, func(t *testing.T) {
			f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_methods/pm_1/detach": rep})
			if err := s.DetachPaymentMethod(context.Background(), "pm_1"); err != nil || len(f.sent()) != 1 {
				t.Fatalf("Detach = %v", err)
			}
		})
	}
	_, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_methods/pm_1/detach": {500, `{"error":{"type":"api_error","message":"boom"}}`}})
	if err := s.DetachPaymentMethod(context.Background(), "pm_1"); err == nil {
		t.Fatal("a failed detach was reported done")
	}
}

func TestStripeCustomer_CreateSendsKeyMetadataAndTaxID(t *testing.T) {
	f, s, _ := newFakeStripe(t, map[string]reply{
		"POST /v1/customers":               {200, `{"id":"cus_9","object":"customer"}`},
		"POST /v1/customers/cus_9/tax_ids": {200, `{"id":"txi_1","object":"tax_id","type":"eu_vat","value":"DE123456789"}`},
	})
	id, err := s.CreateCustomer(context.Background(), payments.Customer{WorkspaceID: "ws-9", Name: "Acme GmbH", Email: "billing@acme.test",
		Address: payments.Address{Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		TaxID:   &payments.TaxID{Type: "eu_vat", Value: "DE123456789"}}, "customer-ws-9")
	if err != nil || id != "cus_9" {
		t.Fatalf("CreateCustomer = %q, %v", id, err)
	}
	reqs := f.sent()
	if len(reqs) != 2 {
		t.Fatalf("requests: %+v", reqs)
	}
	create, tax := reqs[0], reqs[1]
	if create.idempotencyKey != "customer-ws-9" || create.form.Get("metadata[workspace_id]") != "ws-9" || create.form.Get("name") != "Acme GmbH" ||
		create.form.Get("email") != "billing@acme.test" || create.form.Get("address[line1]") != "Hauptstr. 1" || create.form.Get("address[country]") != "DE" {
		t.Fatalf("create sent key %q form %v", create.idempotencyKey, create.form)
	}
	if tax.path != "/v1/customers/cus_9/tax_ids" || tax.form.Get("type") != "eu_vat" || tax.form.Get("value") != "DE123456789" {
		t.Fatalf("tax ID sent %+v", tax)
	}
}

func TestStripeCustomer_UpdateAddsOnlyAMissingTaxID(t *testing.T) {
	customer := payments.Customer{Name: "Acme Ltd", Address: payments.Address{Line1: "1 High St", City: "London", Country: "GB"},
		TaxID: &payments.TaxID{Type: "gb_vat", Value: "GB123456789"}}
	for _, tt := range []struct {
		name       string
		existing   string
		wantCreate bool
	}{
		{"present", `{"id":"txi_1","object":"tax_id","type":"gb_vat","value":"GB123456789"}`, false},
		{"same value, other type", `{"id":"txi_1","object":"tax_id","type":"eu_vat","value":"GB123456789"}`, true},
		{"none", ``, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, s, _ := newFakeStripe(t, map[string]reply{
				"POST /v1/customers/cus_9":         {200, `{"id":"cus_9","object":"customer"}`},
				"GET /v1/customers/cus_9/tax_ids":  {200, `{"object":"list","has_more":false,"url":"/v1/customers/cus_9/tax_ids","data":[` + tt.existing + `]}`},
				"POST /v1/customers/cus_9/tax_ids": {200, `{"id":"txi_2","object":"tax_id","type":"gb_vat","value":"GB123456789"}`},
			})
			if err := s.UpdateCustomer(context.Background(), "cus_9", customer); err != nil {
				t.Fatal(err)
			}
			reqs := f.sent()
			if update := reqs[0]; update.form.Get("name") != "Acme Ltd" || update.form.Get("address[city]") != "London" || !update.form.Has("address[line2]") {
				t.Fatalf("update sent %v (an empty line2 must be sent to clear it)", update.form)
			}
			created := reqs[len(reqs)-1].method == "POST" && reqs[len(reqs)-1].path == "/v1/customers/cus_9/tax_ids"
			if created != tt.wantCreate || len(reqs) != 2+btoi(tt.wantCreate) {
				t.Fatalf("requests %+v, want tax ID created: %v", reqs, tt.wantCreate)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestStripeSetupIntent_IsCardForOffSession(t *testing.T) {
	f, s, _ := newFakeStripe(t, map[string]reply{"POST /v1/setup_intents": {200, `{"id":"seti_1","object":"setup_intent","client_secret":"seti_1_secret_xyz"}`}})
	secret, err := s.CreateSetupIntent(context.Background(), "cus_1")
	if err != nil || secret != "seti_1_secret_xyz" {
		t.Fatalf("CreateSetupIntent = %q, %v", secret, err)
	}
	if r := onlyRequest(t, f); r.form.Get("customer") != "cus_1" || r.form.Get("payment_method_types[0]") != "card" || r.form.Get("usage") != "off_session" {
		t.Fatalf("sent %v", r.form)
	}
}
