package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Stripe is the Provider backed by Stripe (stripe-go v76, API 2023-10-16).
type Stripe struct {
	api *client.API
}

var _ Provider = (*Stripe)(nil)

// StripeOptions tune the adapter; the zero value suits production.
type StripeOptions struct {
	// APIBase points the adapter elsewhere (e.g. stripe-mock at
	// "http://127.0.0.1:12111"); "" is Stripe's own API.
	APIBase string
	// MaxNetworkRetries: nil keeps stripe-go's default of 2, which is what
	// production wants: it retries network errors, 409s and 5xx with the
	// same Idempotency-Key, so a retry can never charge twice. Tests set 0
	// so an outage is reported at once.
	MaxNetworkRetries *int64
	// Timeout bounds each HTTP request (default 30 s; stripe-go's is 80 s,
	// longer than a customer waits for the purchase to answer).
	Timeout time.Duration
}

// NewStripe returns the Stripe adapter for secretKey. The key lives only in
// the client (no global stripe.Key). stripe-go's own log lines go to log at
// warn and never contain the key or card numbers.
func NewStripe(secretKey string, opts StripeOptions, log *slog.Logger) *Stripe {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: timeout},
		LeveledLogger:     slogLogger{log},
		MaxNetworkRetries: opts.MaxNetworkRetries,
	}
	if opts.APIBase != "" {
		cfg.URL = stripe.String(opts.APIBase)
	}
	return &Stripe{api: client.New(secretKey, stripe.NewBackendsWithConfig(cfg))}
}

// Name is "stripe".
func (s *Stripe) Name() string { return "stripe" }

// CreateCustomer creates the customer (and its tax ID), keyed for retries.
func (s *Stripe) CreateCustomer(ctx context.Context, c Customer, idempotencyKey string) (string, error) {
	params := &stripe.CustomerParams{Name: stripe.String(c.Name)}
	params.Context = ctx
	if c.Email != "" {
		params.Email = stripe.String(c.Email)
	}
	if c.Address != (Address{}) {
		params.Address = addressParams(c.Address)
	}
	params.AddMetadata("workspace_id", c.WorkspaceID)
	if idempotencyKey != "" {
		params.SetIdempotencyKey(idempotencyKey)
	}
	cus, err := s.api.Customers.New(params)
	if err != nil {
		return "", mapError("create customer", err)
	}
	if c.TaxID != nil {
		// A retry with the same key gets the same customer back and adds
		// the tax ID then, so return the id with the error.
		if err := s.addTaxID(ctx, cus.ID, *c.TaxID); err != nil {
			return cus.ID, err
		}
	}
	return cus.ID, nil
}

// UpdateCustomer replaces name and address and adds the tax ID if missing.
func (s *Stripe) UpdateCustomer(ctx context.Context, customerID string, c Customer) error {
	params := &stripe.CustomerParams{Name: stripe.String(c.Name)}
	params.Context = ctx
	if c.Address != (Address{}) {
		params.Address = addressParams(c.Address)
	}
	if _, err := s.api.Customers.Update(customerID, params); err != nil {
		return mapError("update customer", err)
	}
	if c.TaxID == nil {
		return nil
	}
	list := &stripe.TaxIDListParams{Customer: stripe.String(customerID)}
	list.Context = ctx
	it := s.api.TaxIDs.List(list)
	for it.Next() {
		if t := it.TaxID(); string(t.Type) == c.TaxID.Type && t.Value == c.TaxID.Value {
			return nil
		}
	}
	if err := it.Err(); err != nil {
		return mapError("list tax ids", err)
	}
	return s.addTaxID(ctx, customerID, *c.TaxID)
}

func (s *Stripe) addTaxID(ctx context.Context, customerID string, t TaxID) error {
	params := &stripe.TaxIDParams{Customer: stripe.String(customerID), Type: stripe.String(t.Type), Value: stripe.String(t.Value)}
	params.Context = ctx
	if _, err := s.api.TaxIDs.New(params); err != nil {
		return mapError("add tax id", err)
	}
	return nil
}

// addressParams sends every field, empty ones too: the address is replaced
// as a whole, so a line2 the customer removed is cleared at Stripe.
func addressParams(a Address) *stripe.AddressParams {
	return &stripe.AddressParams{
		Line1: stripe.String(a.Line1), Line2: stripe.String(a.Line2), City: stripe.String(a.City),
		PostalCode: stripe.String(a.PostalCode), State: stripe.String(a.State), Country: stripe.String(a.Country),
	}
}

// AttachPaymentMethod attaches the PaymentMethod and reads its card back.
func (s *Stripe) AttachPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (Card, error) {
	params := &stripe.PaymentMethodAttachParams{Customer: stripe.String(customerID)}
	params.Context = ctx
	pm, err := s.api.PaymentMethods.Attach(paymentMethodID, params)
	if err != nil {
		return Card{}, mapError("attach payment method", err)
	}
	return cardOf(pm), nil
}

func cardOf(pm *stripe.PaymentMethod) Card {
	c := Card{PaymentMethodID: pm.ID}
	if pm.Card != nil {
		c.Brand, c.Last4, c.ExpMonth, c.ExpYear = string(pm.Card.Brand), pm.Card.Last4, int(pm.Card.ExpMonth), int(pm.Card.ExpYear)
	}
	return c
}

// DetachPaymentMethod detaches it; one already detached or gone is not an error.
func (s *Stripe) DetachPaymentMethod(ctx context.Context, paymentMethodID string) error {
	params := &stripe.PaymentMethodDetachParams{}
	params.Context = ctx
	_, err := s.api.PaymentMethods.Detach(paymentMethodID, params)
	if err == nil || alreadyDetached(err) {
		return nil
	}
	return mapError("detach payment method", err)
}

// alreadyDetached recognises Stripe's answers for a PaymentMethod that is
// not attached: resource_missing, or an invalid_request_error without a
// code saying "...is not attached to a customer so detachment is impossible."
func alreadyDetached(err error) bool {
	var serr *stripe.Error
	if !errors.As(err, &serr) {
		return false
	}
	return serr.Code == stripe.ErrorCodeResourceMissing ||
		serr.Type == stripe.ErrorTypeInvalidRequest && strings.Contains(serr.Msg, "not attached")
}

// CreateSetupIntent creates a card SetupIntent for later off-session use.
func (s *Stripe) CreateSetupIntent(ctx context.Context, customerID string) (string, error) {
	params := &stripe.SetupIntentParams{
		Customer:           stripe.String(customerID),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Usage:              stripe.String(string(stripe.SetupIntentUsageOffSession)),
	}
	params.Context = ctx
	si, err := s.api.SetupIntents.New(params)
	if err != nil {
		return "", mapError("create setup intent", err)
	}
	return si.ClientSecret, nil
}

// Charge creates and confirms a card PaymentIntent under the request's
// idempotency key. payment_method_types=["card"] (not automatic payment
// methods) means no return_url is needed: 3-D Secure comes back as
// requires_action for the SPA to finish with the client secret.
func (s *Stripe) Charge(ctx context.Context, req ChargeRequest) (Charge, error) {
	if req.IdempotencyKey == "" {
		// Without our own key a retry after a crash could charge twice.
		return Charge{}, errors.New("stripe charge: ChargeRequest.IdempotencyKey is required")
	}
	params := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(req.AmountCents),
		Currency:           stripe.String(req.Currency),
		Customer:           stripe.String(req.CustomerID),
		PaymentMethod:      stripe.String(req.PaymentMethodID),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Confirm:            stripe.Bool(true),
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	if req.OffSession {
		params.OffSession = stripe.Bool(true)
	}
	for k, v := range req.Metadata {
		params.AddMetadata(k, v)
	}
	params.AddExpand("latest_charge") // the card actually charged
	params.Context = ctx
	params.SetIdempotencyKey(req.IdempotencyKey)
	pi, err := s.api.PaymentIntents.New(params)
	if err != nil {
		return Charge{}, mapError("charge", err)
	}
	return chargeOf(pi), nil
}

// GetCharge reads a PaymentIntent back.
func (s *Stripe) GetCharge(ctx context.Context, intentID string) (Charge, error) {
	params := &stripe.PaymentIntentParams{}
	params.AddExpand("latest_charge")
	params.Context = ctx
	pi, err := s.api.PaymentIntents.Get(intentID, params)
	if err != nil {
		return Charge{}, mapError("get payment intent", err)
	}
	return chargeOf(pi), nil
}

// ListCharges pages through the PaymentIntents created in [since, until).
func (s *Stripe) ListCharges(ctx context.Context, since, until time.Time) ([]Charge, error) {
	params := &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: since.Unix(), LesserThan: until.Unix()}}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := s.api.PaymentIntents.List(params)
	var out []Charge
	for it.Next() {
		out = append(out, chargeOf(it.PaymentIntent()))
	}
	if err := it.Err(); err != nil {
		return nil, mapError("list payment intents", err)
	}
	return out, nil
}

// Refund refunds part or all of a PaymentIntent under the request's
// idempotency key. Our reason is free text, kept in the metadata: Stripe's
// own reason field takes only its three codes.
func (s *Stripe) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	if req.IdempotencyKey == "" {
		// Without our own key a retry after a timeout could refund twice.
		return Refund{}, errors.New("stripe refund: RefundRequest.IdempotencyKey is required")
	}
	params := &stripe.RefundParams{PaymentIntent: stripe.String(req.IntentID), Amount: stripe.Int64(req.AmountCents)}
	for k, v := range req.Metadata {
		params.AddMetadata(k, v)
	}
	params.Context = ctx
	params.SetIdempotencyKey(req.IdempotencyKey)
	r, err := s.api.Refunds.New(params)
	if err != nil {
		return Refund{}, refundError("refund", err)
	}
	return refundOf(r), nil
}

// GetRefund reads a refund back.
func (s *Stripe) GetRefund(ctx context.Context, refundID string) (Refund, error) {
	params := &stripe.RefundParams{}
	params.Context = ctx
	r, err := s.api.Refunds.Get(refundID, params)
	if err != nil {
		return Refund{}, mapError("get refund", err)
	}
	return refundOf(r), nil
}

// ListRefunds pages through the refunds created in [since, until).
func (s *Stripe) ListRefunds(ctx context.Context, since, until time.Time) ([]Refund, error) {
	params := &stripe.RefundListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: since.Unix(), LesserThan: until.Unix()}}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := s.api.Refunds.List(params)
	var out []Refund
	for it.Next() {
		out = append(out, refundOf(it.Refund()))
	}
	if err := it.Err(); err != nil {
		return nil, mapError("list refunds", err)
	}
	return out, nil
}

// refundOf reduces a Stripe refund to what billing acts on.
func refundOf(r *stripe.Refund) Refund {
	out := Refund{ID: r.ID, AmountCents: r.Amount, Reason: string(r.Reason), Metadata: r.Metadata, Created: time.Unix(r.Created, 0).UTC()}
	if r.PaymentIntent != nil {
		out.IntentID = r.PaymentIntent.ID
	}
	out.Status = RefundStatusOf(string(r.Status))
	return out
}

// RefundStatusOf reads Stripe's refund status: succeeded; failed and
// canceled are failed; pending, requires_action (and anything newer) are
// pending.
func RefundStatusOf(status string) RefundStatus {
	switch stripe.RefundStatus(status) {
	case stripe.RefundStatusSucceeded:
		return RefundSucceeded
	case stripe.RefundStatusFailed, stripe.RefundStatusCanceled:
		return RefundFailed
	}
	return RefundPending
}

// refundError tells a refusal (Stripe answered 4xx: an invalid request,
// e.g. more than is left to refund, a disputed or unknown charge) from an
// unknown outcome (network, 409 idempotency conflict, 429, 5xx).
func refundError(op string, err error) error {
	var serr *stripe.Error
	if errors.As(err, &serr) && serr.HTTPStatusCode >= 400 && serr.HTTPStatusCode < 500 &&
		serr.HTTPStatusCode != http.StatusConflict && serr.HTTPStatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("stripe %s: %s (%s %s, HTTP %d): %w", op, serr.Msg, serr.Type, serr.Code, serr.HTTPStatusCode, ErrRefused)
	}
	return mapError(op, err)
}

// chargeOf reduces a PaymentIntent to what billing acts on.
func chargeOf(pi *stripe.PaymentIntent) Charge {
	c := Charge{IntentID: pi.ID, AmountCents: pi.Amount, Metadata: pi.Metadata}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		c.Status = StatusSucceeded
	case stripe.PaymentIntentStatusRequiresAction:
		c.Status, c.ClientSecret = StatusRequiresAction, pi.ClientSecret
	case stripe.PaymentIntentStatusProcessing:
		c.Status = StatusProcessing
	default: // requires_payment_method, canceled; others never follow confirm=true
		c.Status = StatusFailed
		c.FailureCode, c.FailureMessage = failureOf(pi)
	}
	if pi.PaymentMethod != nil { // unexpanded: the id only
		c.Card = cardOf(pi.PaymentMethod)
	}
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil {
		d := ch.PaymentMethodDetails.Card
		c.Card.Brand, c.Card.Last4, c.Card.ExpMonth, c.Card.ExpYear = string(d.Brand), d.Last4, int(d.ExpMonth), int(d.ExpYear)
	}
	return c
}

// failureOf is Stripe's reason for a failed intent, never empty so billing
// always has something to record.
func failureOf(pi *stripe.PaymentIntent) (code, message string) {
	if e := pi.LastPaymentError; e != nil {
		code, message = string(e.Code), e.Msg
		if code == "" {
			code = string(e.DeclineCode)
		}
	}
	if code == "" {
		code = string(pi.Status)
	}
	if message == "" {
		message = "The payment was not completed."
	}
	return code, message
}

// mapError turns a Stripe card error into *DeclineError, a missing object
// into ErrNotFound, and anything else into a plain error. None of them can
// carry the key: stripe-go sends it only in the Authorization header.
func mapError(op string, err error) error {
	var serr *stripe.Error
	if !errors.As(err, &serr) {
		return fmt.Errorf("stripe %s: %w", op, err)
	}
	if serr.Type == stripe.ErrorTypeCard {
		d := &DeclineError{Code: string(serr.Code), DeclineCode: string(serr.DeclineCode), Message: serr.Msg}
		if serr.PaymentIntent != nil {
			d.IntentID = serr.PaymentIntent.ID
		}
		return d
	}
	if serr.Code == stripe.ErrorCodeResourceMissing {
		return fmt.Errorf("stripe %s: %s: %w", op, serr.Msg, ErrNotFound)
	}
	return fmt.Errorf("stripe %s: %s (%s %s, HTTP %d, request %s)", op, serr.Msg, serr.Type, serr.Code, serr.HTTPStatusCode, serr.RequestID)
}

// slogLogger adapts stripe-go's leveled logger to slog. Its debug and info
// lines (every request, response bodies) are dropped; its warnings and
// errors go out at warn, because the caller also gets the error and logs
// it at the level it deserves (a detach of a detached card is no error).
// stripe-go redacts client secrets in what it logs.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Debugf(string, ...any) {}
func (l slogLogger) Infof(string, ...any)  {}
func (l slogLogger) Warnf(format string, v ...any) {
	l.log.Warn("stripe-go: " + fmt.Sprintf(format, v...))
}
func (l slogLogger) Errorf(format string, v ...any) {
	l.log.Warn("stripe-go: " + fmt.Sprintf(format, v...))
}
