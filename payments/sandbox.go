package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sandbox is a Provider that moves no money. It follows Stripe's test-mode
// semantics for Stripe's documented test PaymentMethods, so the whole
// purchase flow (success, declines, 3-D Secure) runs without a Stripe key.
// Its state is in memory only.
type Sandbox struct {
	// BeforeCharge, when set, runs before each Charge; an error it returns
	// is returned as is and nothing is charged or recorded (tests use it to
	// simulate outages). Set it before the sandbox is shared.
	BeforeCharge func(req ChargeRequest) error
	// BeforeRefund is BeforeCharge for Refund.
	BeforeRefund func(req RefundRequest) error

	mu            sync.Mutex
	customers     map[string]Customer       // customer id → details
	customerByKey map[string]string         // idempotency key → customer id
	attachedTo    map[string]string         // payment method id → customer id
	intents       map[string]*sandboxIntent // intent id → intent
	intentByKey   map[string]*sandboxIntent // idempotency key → intent
	moneyMoved    int                       // intents that succeeded
	refunds       map[string]*sandboxRefund // refund id → refund
	refundByKey   map[string]*sandboxRefund // idempotency key → refund
	refundedCents map[string]int64          // intent id → cents refunded
}

// sandboxRefund is one refund and the request that made it.
type sandboxRefund struct {
	req    RefundRequest
	refund Refund
}

var _ Provider = (*Sandbox)(nil)

// sandboxIntent is one PaymentIntent. Like Stripe, a replayed idempotency
// key answers with the first response, not the intent's current state.
type sandboxIntent struct {
	req          ChargeRequest
	created      time.Time
	current      Charge        // what GetCharge reads
	firstCharge  Charge        // what a replay returns...
	firstDecline *DeclineError // ...with this error, when the first was declined
	charged      bool          // money moved
}

// sandboxCard is one of Stripe's test PaymentMethods and how it behaves.
type sandboxCard struct {
	card Card
	// decline, when set, is what every charge returns.
	decline *DeclineError
	// needsAuth: on-session charges need 3-D Secure; off-session ones are
	// declined with authentication_required.
	needsAuth bool
}

// sandboxCards are the test PaymentMethods of https://docs.stripe.com/testing.
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
	if log == nil {
		log = slog.Default()
	}
	log.Warn("SANDBOX PAYMENT PROVIDER: no real money moves; set STRIPE_SECRET_KEY to charge cards",
		"test_payment_methods", strings.Join(slices.Sorted(maps.Keys(sandboxCards)), ", "))
	return &Sandbox{
		customers:     map[string]Customer{},
		customerByKey: map[string]string{},
		attachedTo:    map[string]string{},
		intents:       map[string]*sandboxIntent{},
		intentByKey:   map[string]*sandboxIntent{},
		refunds:       map[string]*sandboxRefund{},
		refundByKey:   map[string]*sandboxRefund{},
		refundedCents: map[string]int64{},
	}
}

// Name is "sandbox".
func (s *Sandbox) Name() string { return "sandbox" }

// sandboxID looks like a Stripe id: "pi_sbx_3f9c…".
func sandboxID(prefix string) string { return prefix + "_sbx_" + randomHex() }

func randomHex() string {
	b := make([]byte, 12)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// CreateCustomer creates a customer; the same idempotency key returns the same one.
func (s *Sandbox) CreateCustomer(ctx context.Context, c Customer, idempotencyKey string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.customerByKey[idempotencyKey]; ok && idempotencyKey != "" {
		return id, nil
	}
	id := sandboxID("cus")
	s.customers[id] = c
	if idempotencyKey != "" {
		s.customerByKey[idempotencyKey] = id
	}
	return id, nil
}

// UpdateCustomer replaces the customer's details. A sandbox customer the
// sandbox does not remember (created before a restart: the database keeps
// the id, memory does not) is taken as known rather than failing purchases.
func (s *Sandbox) UpdateCustomer(ctx context.Context, customerID string, c Customer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[customerID]; !ok && !strings.HasPrefix(customerID, "cus_sbx_") {
		return fmt.Errorf("sandbox: customer %q: %w", customerID, ErrNotFound)
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

// AttachPaymentMethod attaches one of Stripe's test PaymentMethods; any
// other id is ErrNotFound, as Stripe answers resource_missing.
func (s *Sandbox) AttachPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (Card, error) {
	if err := ctx.Err(); err != nil {
		return Card{}, err
	}
	tc, ok := sandboxCards[paymentMethodID]
	if !ok {
		return Card{}, fmt.Errorf("sandbox: payment method %q: %w", paymentMethodID, ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attachedTo[paymentMethodID] = customerID
	c := tc.card
	c.PaymentMethodID = paymentMethodID
	return c, nil
}

// DetachPaymentMethod detaches a card (a no-op when it is not attached).
func (s *Sandbox) DetachPaymentMethod(ctx context.Context, paymentMethodID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.attachedTo, paymentMethodID)
	return nil
}

// AttachedTo returns the customer a payment method is attached to (tests).
func (s *Sandbox) AttachedTo(paymentMethodID string) (customerID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	customerID, ok = s.attachedTo[paymentMethodID]
	return customerID, ok
}

// CreateSetupIntent returns a Stripe-shaped client secret.
func (s *Sandbox) CreateSetupIntent(ctx context.Context, customerID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return sandboxID("seti") + "_secret_" + randomHex(), nil
}

// Charge follows the test card's behaviour. A replayed idempotency key
// returns the first response and never charges again; reusing a key with
// other parameters is an error, as at Stripe.
func (s *Sandbox) Charge(ctx context.Context, req ChargeRequest) (Charge, error) {
	if s.BeforeCharge != nil {
		if err := s.BeforeCharge(req); err != nil {
			return Charge{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Charge{}, err
	}
	if err := validCharge(req); err != nil {
		return Charge{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.intentByKey[req.IdempotencyKey]; ok {
		if !sameCharge(in.req, req) {
			return Charge{}, fmt.Errorf("sandbox: idempotency key %q was used with other parameters", req.IdempotencyKey)
		}
		if in.firstDecline != nil {
			d := *in.firstDecline
			return Charge{}, &d
		}
		return in.firstCharge.clone(), nil
	}
	tc, ok := sandboxCards[req.PaymentMethodID]
	if !ok {
		return Charge{}, fmt.Errorf("sandbox: payment method %q: %w", req.PaymentMethodID, ErrNotFound)
	}

	card := tc.card
	card.PaymentMethodID = req.PaymentMethodID
	in := &sandboxIntent{req: req, created: time.Now()}
	in.req.Metadata = maps.Clone(req.Metadata)
	in.current = Charge{IntentID: sandboxID("pi"), AmountCents: req.AmountCents, Card: card, Metadata: maps.Clone(req.Metadata)}
	var decline *DeclineError
	switch {
	case tc.decline != nil:
		d := *tc.decline
		decline = &d
	case tc.needsAuth && req.OffSession:
		decline = &DeclineError{Code: "authentication_required", Message: "Your card was declined. This transaction requires authentication."}
	case tc.needsAuth:
		in.current.Status = StatusRequiresAction
		in.current.ClientSecret = in.current.IntentID + "_secret_" + randomHex()
	default:
		in.current.Status = StatusSucceeded
		in.charged = true
		s.moneyMoved++
	}
	if decline != nil {
		// Stripe leaves a declined intent in requires_payment_method.
		decline.IntentID = in.current.IntentID
		in.current.Status, in.current.FailureCode, in.current.FailureMessage = StatusFailed, decline.Code, decline.Message
		in.firstDecline = decline
	}
	in.firstCharge = in.current
	s.intents[in.current.IntentID] = in
	s.intentByKey[req.IdempotencyKey] = in
	if decline != nil {
		d := *decline
		return Charge{}, &d
	}
	return in.current.clone(), nil
}

// clone copies the metadata map, so callers never share the sandbox's.
func (c Charge) clone() Charge {
	c.Metadata = maps.Clone(c.Metadata)
	return c
}

// validCharge rejects what Stripe would reject as invalid_request_error
// (and a missing idempotency key, which billing must always send).
func validCharge(req ChargeRequest) error {
	switch {
	case req.IdempotencyKey == "":
		return errors.New("sandbox: ChargeRequest.IdempotencyKey is required")
	case req.AmountCents < 50:
		return fmt.Errorf("sandbox: amount %d cents is below Stripe's minimum of 50", req.AmountCents)
	case req.Currency == "":
		return errors.New("sandbox: currency is required")
	}
	return nil
}

func sameCharge(a, b ChargeRequest) bool {
	return a.CustomerID == b.CustomerID && a.PaymentMethodID == b.PaymentMethodID && a.AmountCents == b.AmountCents &&
		a.Currency == b.Currency && a.Description == b.Description && a.OffSession == b.OffSession && maps.Equal(a.Metadata, b.Metadata)
}

// GetCharge reads an intent's current state.
func (s *Sandbox) GetCharge(ctx context.Context, intentID string) (Charge, error) {
	if err := ctx.Err(); err != nil {
		return Charge{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.intents[intentID]
	if !ok {
		return Charge{}, fmt.Errorf("sandbox: payment intent %q: %w", intentID, ErrNotFound)
	}
	return in.current.clone(), nil
}

// ListCharges lists the intents created in [since, until), oldest first.
func (s *Sandbox) ListCharges(ctx context.Context, since, until time.Time) ([]Charge, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*sandboxIntent
	for _, in := range s.intents {
		if !in.created.Before(since) && in.created.Before(until) {
			found = append(found, in)
		}
	}
	slices.SortFunc(found, func(a, b *sandboxIntent) int { return a.created.Compare(b.created) })
	out := make([]Charge, len(found))
	for i, in := range found {
		out[i] = in.current.clone()
	}
	return out, nil
}

// CompleteAuthentication is what the customer finishing 3-D Secure in the
// SPA does: the requires_action intent succeeds and the money moves.
func (s *Sandbox) CompleteAuthentication(intentID string) (Charge, error) {
	return s.finishAuthentication(intentID, true)
}

// FailAuthentication is the customer failing or abandoning 3-D Secure: the
// intent fails as Stripe's does (requires_payment_method).
func (s *Sandbox) FailAuthentication(intentID string) (Charge, error) {
	return s.finishAuthentication(intentID, false)
}

func (s *Sandbox) finishAuthentication(intentID string, passed bool) (Charge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.intents[intentID]
	if !ok {
		return Charge{}, fmt.Errorf("sandbox: payment intent %q: %w", intentID, ErrNotFound)
	}
	if in.current.Status != StatusRequiresAction {
		return in.current.clone(), fmt.Errorf("sandbox: payment intent %s is %s, not requires_action", intentID, in.current.Status)
	}
	in.current.ClientSecret = ""
	if passed {
		in.current.Status = StatusSucceeded
		in.charged = true
		s.moneyMoved++
	} else {
		in.current.Status = StatusFailed
		in.current.FailureCode = "payment_intent_authentication_failure"
		in.current.FailureMessage = "The provided PaymentMethod has failed authentication."
	}
	return in.current.clone(), nil
}

// Charges counts the charges that moved money, over all keys (tests
// assert "charged once").
func (s *Sandbox) Charges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.moneyMoved
}

// ChargeCount counts the charges that moved money under one idempotency
// key: 0 or 1, whatever was replayed.
func (s *Sandbox) ChargeCount(idempotencyKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.intentByKey[idempotencyKey]; ok && in.charged {
		return 1
	}
	return 0
}

// Refund refunds a succeeded intent, at most what is left of it, as
// Stripe does; a replayed idempotency key returns the first refund, and
// reusing a key with other parameters is an error. An intent the sandbox
// does not remember but that has the sandbox's id shape (charged before a
// restart, or by another process: the sandbox lives in one process's
// memory) is refunded as asked, billing having checked the amount.
func (s *Sandbox) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	if s.BeforeRefund != nil {
		if err := s.BeforeRefund(req); err != nil {
			return Refund{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Refund{}, err
	}
	switch {
	case req.IdempotencyKey == "":
		return Refund{}, errors.New("sandbox: RefundRequest.IdempotencyKey is required")
	case req.AmountCents < 1:
		return Refund{}, fmt.Errorf("sandbox: refund amount %d cents: %w", req.AmountCents, ErrRefused)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.refundByKey[req.IdempotencyKey]; ok {
		if r.req.IntentID != req.IntentID || r.req.AmountCents != req.AmountCents || !maps.Equal(r.req.Metadata, req.Metadata) {
			return Refund{}, fmt.Errorf("sandbox: idempotency key %q was used with other parameters", req.IdempotencyKey)
		}
		return r.refund.clone(), nil
	}
	in, known := s.intents[req.IntentID]
	switch {
	case !known && !strings.HasPrefix(req.IntentID, "pi_sbx_"):
		return Refund{}, fmt.Errorf("sandbox: payment intent %q: %w", req.IntentID, ErrNotFound)
	case known && !in.charged:
		return Refund{}, fmt.Errorf("sandbox: payment intent %s has no succeeded charge to refund: %w", req.IntentID, ErrRefused)
	case known && s.refundedCents[req.IntentID]+req.AmountCents > in.current.AmountCents:
		return Refund{}, fmt.Errorf("sandbox: refund of %d cents is more than the %d cents left of %s: %w",
			req.AmountCents, in.current.AmountCents-s.refundedCents[req.IntentID], req.IntentID, ErrRefused)
	}
	r := &sandboxRefund{req: req, refund: Refund{ID: sandboxID("re"), IntentID: req.IntentID, AmountCents: req.AmountCents,
		Status: RefundSucceeded, Created: time.Now().UTC(), Metadata: maps.Clone(req.Metadata)}}
	r.req.Metadata = maps.Clone(req.Metadata)
	s.refunds[r.refund.ID] = r
	s.refundByKey[req.IdempotencyKey] = r
	s.refundedCents[req.IntentID] += req.AmountCents
	return r.refund.clone(), nil
}

func (r Refund) clone() Refund {
	r.Metadata = maps.Clone(r.Metadata)
	return r
}

// GetRefund reads a refund back.
func (s *Sandbox) GetRefund(ctx context.Context, refundID string) (Refund, error) {
	if err := ctx.Err(); err != nil {
		return Refund{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refunds[refundID]
	if !ok {
		return Refund{}, fmt.Errorf("sandbox: refund %q: %w", refundID, ErrNotFound)
	}
	return r.refund.clone(), nil
}

// ListRefunds lists the refunds created in [since, until), oldest first.
func (s *Sandbox) ListRefunds(ctx context.Context, since, until time.Time) ([]Refund, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Refund
	for _, r := range s.refunds {
		if !r.refund.Created.Before(since) && r.refund.Created.Before(until) {
			out = append(out, r.refund.clone())
		}
	}
	slices.SortFunc(out, func(a, b Refund) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Refunded is how many cents of an intent the sandbox has refunded (tests).
func (s *Sandbox) Refunded(intentID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refundedCents[intentID]
}

// RefundCount is how many refunds the sandbox has made, over all keys (tests
// assert "refunded once").
func (s *Sandbox) RefundCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.refunds)
}
