package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Sandbox is a Provider that moves no money. It follows Stripe's test-mode
// semantics for Stripe's documented test PaymentMethods, so the whole
// purchase flow (success, declines, 3-D Secure) runs without a Stripe key.
type Sandbox struct {
	// BeforeCharge, when set, runs before each charge; an error it returns
	// is returned without charging (tests use it to simulate outages).
	BeforeCharge func(req ChargeRequest) error

	mu        sync.Mutex
	customers map[string]Customer
	attached  map[string]string  // payment method → customer
	byKey     map[string]*intent // idempotency key → intent
	byID      map[string]*intent
	charges   int // successful, money-moving charges
}

type intent struct {
	charge  Charge
	key     string
	created time.Time
}

// sandboxCard is one of Stripe's test PaymentMethods and how it behaves.
type sandboxCard struct {
	card Card
	// decline, when set, is returned by every charge.
	decline *DeclineError
	// needsAuth: on-session charges need 3-D Secure; off-session ones fail.
	needsAuth bool
}

var sandboxCards = map[string]sandboxCard{
	"pm_card_visa":       {card: Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034}},
	"pm_card_mastercard": {card: Card{Brand: "mastercard", Last4: "4444", ExpMonth: 12, ExpYear: 2034}},
	"pm_card_amex":       {card: Card{Brand: "amex", Last4: "8431", ExpMonth: 12, ExpYear: 2034}},
	"pm_card_chargeDeclined": {card: Card{Brand: "visa", Last4: "0002", ExpMonth: 12, ExpYear: 2034},
		decline: &DeclineError{Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}},
	"pm_card_insufficientFunds": {card: Card{Brand: "visa", Last4: "9995", ExpMonth: 12, ExpYear: 2034},
		decline: &DeclineError{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}},
	"pm_card_authenticationRequired": {card: Card{Brand: "visa", Last4: "3184", ExpMonth: 12, ExpYear: 2034}, needsAuth: true},
}

// NewSandbox returns a sandbox provider and says loudly that no money moves.
func NewSandbox(log *slog.Logger) *Sandbox {
	log.Warn("SANDBOX PAYMENT PROVIDER: no real money moves; set STRIPE_SECRET_KEY to charge cards",
		"test_cards", "pm_card_visa, pm_card_mastercard, pm_card_chargeDeclined, pm_card_insufficientFunds, pm_card_authenticationRequired")
	return &Sandbox{customers: map[string]Customer{}, attached: map[string]string{}, byKey: map[string]*intent{}, byID: map[string]*intent{}}
}

// Name is "sandbox".
func (s *Sandbox) Name() string { return "sandbox" }

func sandboxID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return prefix + "_sbx_" + hex.EncodeToString(b)
}

// CreateCustomer creates a customer; the same idempotency key returns the same one.
func (s *Sandbox) CreateCustomer(_ context.Context, c Customer, idempotencyKey string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "cus_sbx_" + strings.TrimPrefix(idempotencyKey, "customer-")
	if idempotencyKey == "" {
		id = sandboxID("cus")
	}
	if _, ok := s.customers[id]; !ok {
		s.customers[id] = c
	}
	return id, nil
}

// UpdateCustomer replaces the customer's details.
func (s *Sandbox) UpdateCustomer(_ context.Context, customerID string, c Customer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[customerID]; !ok {
		return fmt.Errorf("sandbox: customer %s: %w", customerID, ErrNotFound)
	}
	s.customers[customerID] = c
	return nil
}

// Customer returns what the sandbox holds for a customer (tests).
func (s *Sandbox) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	return c, ok
}

// AttachPaymentMethod attaches one of Stripe's test PaymentMethods.
func (s *Sandbox) AttachPaymentMethod(_ context.Context, customerID, paymentMethodID string) (Card, error) {
	tc, ok := sandboxCards[paymentMethodID]
	if !ok {
		return Card{}, fmt.Errorf("sandbox: payment method %q: %w", paymentMethodID, ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attached[paymentMethodID+"/"+customerID] = customerID
	c := tc.card
	c.PaymentMethodID = paymentMethodID
	return c, nil
}

// DetachPaymentMethod detaches a card (a no-op when it is not attached).
func (s *Sandbox) DetachPaymentMethod(_ context.Context, paymentMethodID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.attached {
		if strings.HasPrefix(k, paymentMethodID+"/") {
			delete(s.attached, k)
		}
	}
	return nil
}

// CreateSetupIntent returns a Stripe-shaped client secret.
func (s *Sandbox) CreateSetupIntent(_ context.Context, customerID string) (string, error) {
	id := sandboxID("seti")
	return id + "_secret_" + sandboxID("s")[6:], nil
}

// Charge follows the test card's behaviour. A replayed idempotency key
// returns the first result and never charges again.
func (s *Sandbox) Charge(_ context.Context, req ChargeRequest) (Charge, error) {
	if s.BeforeCharge != nil {
		if err := s.BeforeCharge(req); err != nil {
			return Charge{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		if in.charge.Status == StatusFailed {
			return in.charge, &DeclineError{IntentID: in.charge.IntentID, Code: in.charge.FailureCode, Message: in.charge.FailureMessage}
		}
		return in.charge, nil
	}
	tc, ok := sandboxCards[req.PaymentMethodID]
	if !ok {
		return Charge{}, fmt.Errorf("sandbox: payment method %q: %w", req.PaymentMethodID, ErrNotFound)
	}
	if req.AmountCents <= 0 {
		return Charge{}, fmt.Errorf("sandbox: amount must be positive")
	}
	c := tc.card
	c.PaymentMethodID = req.PaymentMethodID
	in := &intent{key: req.IdempotencyKey, created: time.Now(), charge: Charge{IntentID: sandboxID("pi"), AmountCents: req.AmountCents, Card: c, Metadata: req.Metadata}}
	s.byKey[req.IdempotencyKey] = in
	s.byID[in.charge.IntentID] = in
	var err error
	switch {
	case tc.decline != nil:
		d := *tc.decline
		d.IntentID = in.charge.IntentID
		in.charge.Status, in.charge.FailureCode, in.charge.FailureMessage = StatusFailed, d.Code, d.Message
		err = &d
	case tc.needsAuth && req.OffSession:
		d := DeclineError{IntentID: in.charge.IntentID, Code: "authentication_required", Message: "Your card was declined. This transaction requires authentication."}
		in.charge.Status, in.charge.FailureCode, in.charge.FailureMessage = StatusFailed, d.Code, d.Message
		err = &d
	case tc.needsAuth:
		in.charge.Status = StatusRequiresAction
		in.charge.ClientSecret = in.charge.IntentID + "_secret_" + sandboxID("s")[6:]
	default:
		in.charge.Status = StatusSucceeded
		s.charges++
	}
	return in.charge, err
}

// GetCharge reads an intent back.
func (s *Sandbox) GetCharge(_ context.Context, intentID string) (Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.byID[intentID]
	if !ok {
		return Charge{}, fmt.Errorf("sandbox: payment intent %s: %w", intentID, ErrNotFound)
	}
	return in.charge, nil
}

// ListCharges lists the intents created in [since, until).
func (s *Sandbox) ListCharges(_ context.Context, since, until time.Time) ([]Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Charge
	for _, in := range s.byID {
		if !in.created.Before(since) && in.created.Before(until) {
			out = append(out, in.charge)
		}
	}
	return out, nil
}

// CompleteAuthentication is what the customer finishing 3-D Secure does:
// the intent succeeds and the money moves.
func (s *Sandbox) CompleteAuthentication(intentID string) (Charge, error) {
	return s.finishAuthentication(intentID, true)
}

// FailAuthentication is the customer failing or abandoning 3-D Secure.
func (s *Sandbox) FailAuthentication(intentID string) (Charge, error) {
	return s.finishAuthentication(intentID, false)
}

func (s *Sandbox) finishAuthentication(intentID string, ok bool) (Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, found := s.byID[intentID]
	if !found {
		return Charge{}, fmt.Errorf("sandbox: payment intent %s: %w", intentID, ErrNotFound)
	}
	if in.charge.Status != StatusRequiresAction {
		return in.charge, fmt.Errorf("sandbox: payment intent %s is %s, not requires_action", intentID, in.charge.Status)
	}
	in.charge.ClientSecret = ""
	if ok {
		in.charge.Status = StatusSucceeded
		s.charges++
	} else {
		in.charge.Status, in.charge.FailureCode, in.charge.FailureMessage = StatusFailed, "payment_intent_authentication_failure",
			"The provided PaymentMethod has failed authentication."
	}
	return in.charge, nil
}

// Charges counts the charges that moved money (tests assert "charged once").
func (s *Sandbox) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.charges
}
