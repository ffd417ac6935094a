package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Stripe is the Provider backed by Stripe (stripe-go v76, API 2023-10-16).
type Stripe struct {
	api *client.API
}

// StripeOptions tune the adapter; the zero value suits production.
type StripeOptions struct {
	// APIBase points the adapter elsewhere (e.g. stripe-mock); "" is Stripe.
	APIBase string
	// MaxNetworkRetries: stripe-go retries network errors and 5xx with the
	// same idempotency key, which is safe; nil keeps its default of 2.
	MaxNetworkRetries *int64
	// Timeout bounds each HTTP request (default 30 s).
	Timeout time.Duration
}

// NewStripe returns the Stripe adapter for secretKey. Logs from stripe-go
// go to log at warn and above only; they never contain the key.
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
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	}
	return &Stripe{api: client.New(secretKey, backends)}
}

// Name is "stripe".
func (s *Stripe) Name() string { return "stripe" }

func addressParams(a Address) *stripe.AddressParams {
	p := &stripe.AddressParams{Line1: stripe.String(a.Line1), City: stripe.String(a.City), Country: stripe.String(a.Country)}
	if a.Line2 != "" {
		p.Line2 = stripe.String(a.Line2)
	}
	if a.PostalCode != "" {
		p.PostalCode = stripe.String(a.PostalCode)
	}
	if a.State != "" {
		p.State = stripe.String(a.State)
	}
	return p
}

// CreateCustomer creates the customer (and its tax ID), keyed for retries.
func (s *Stripe) CreateCustomer(ctx context.Context, c Customer, idempotencyKey string) (string, error) {
	params := &stripe.CustomerParams{Name: stripe.String(c.Name)}
	params.Context = ctx
	if c.Email != "" {
		params.Email = stripe.String(c.Email)
	}
	if c.Address.Line1 != "" {
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
	if c.Address.Line1 != "" {
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

// DetachPaymentMethod detaches it; one already gone is not an error.
func (s *Stripe) DetachPaymentMethod(ctx context.Context, paymentMethodID string) error {
	params := &stripe.PaymentMethodDetachParams{}
	params.Context = ctx
	_, err := s.api.PaymentMethods.Detach(paymentMethodID, params)
	var serr *stripe.Error
	if errors.As(err, &serr) && (serr.Code == stripe.ErrorCodeResourceMissing || serr.Code == stripe.ErrorCodePaymentMethodUnexpectedState) {
		return nil
	}
	if err != nil {
		return mapError("detach payment method", err)
	}
	return nil
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

// Charge creates and confirms a card PaymentIntent with the request's
// idempotency key. Card-only payment_method_types means no return_url is
// needed; 3-D Secure comes back as requires_action for the SPA.
func (s *Stripe) Charge(ctx context.Context, req ChargeRequest) (Charge, error) {
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
	params.AddExpand("latest_charge")
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

func chargeOf(pi *stripe.PaymentIntent) Charge {
	c := Charge{IntentID: pi.ID, AmountCents: pi.Amount, Metadata: pi.Metadata}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		c.Status = StatusSucceeded
	case stripe.PaymentIntentStatusRequiresAction:
		c.Status, c.ClientSecret = StatusRequiresAction, pi.ClientSecret
	case stripe.PaymentIntentStatusProcessing:
		c.Status = StatusProcessing
	default: // requires_payment_method, canceled, requires_confirmation, ...
		c.Status = StatusFailed
	}
	if e := pi.LastPaymentError; e != nil && c.Status == StatusFailed {
		c.FailureCode, c.FailureMessage = string(e.Code), e.Msg
		if e.DeclineCode != "" {
			c.FailureCode += "/" + string(e.DeclineCode)
		}
	}
	if c.Status == StatusFailed && c.FailureCode == "" {
		c.FailureCode = string(pi.Status)
	}
	if c.Status == StatusFailed && c.FailureMessage == "" {
		c.FailureMessage = "The payment was not completed."
	}
	if pi.PaymentMethod != nil {
		c.Card.PaymentMethodID = pi.PaymentMethod.ID
		if pi.PaymentMethod.Card != nil {
			c.Card = cardOf(pi.PaymentMethod)
		}
	}
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil {
		d := ch.PaymentMethodDetails.Card
		c.Card.Brand, c.Card.Last4, c.Card.ExpMonth, c.Card.ExpYear = string(d.Brand), d.Last4, int(d.ExpMonth), int(d.ExpYear)
	}
	return c
}

// mapError turns a Stripe card error into *DeclineError, a missing object
// into ErrNotFound, and anything else into a plain error without secrets.
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
	return fmt.Errorf("stripe %s: %s (%s, HTTP %d, request %s)", op, serr.Msg, serr.Type, serr.HTTPStatusCode, serr.RequestID)
}

// slogLogger adapts stripe-go's leveled logger to slog, warn and above.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Debugf(string, ...any) {}
func (l slogLogger) Infof(string, ...any)  {}
func (l slogLogger) Warnf(format string, v ...any) {
	l.log.Warn("stripe: " + fmt.Sprintf(format, v...))
}
func (l slogLogger) Errorf(format string, v ...any) {
	l.log.Error("stripe: " + fmt.Sprintf(format, v...))
}
