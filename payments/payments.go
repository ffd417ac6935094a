package payments

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Provider is the card processor as billing needs it. Every method is safe
// for concurrent use. Amounts are whole cents of Currency ("usd").
//
// Errors: a card the issuer refuses (decline, insufficient funds, off-session
// authentication required) is a *DeclineError; anything else (network,
// invalid request, provider outage) is a plain wrapped error and means the
// outcome is unknown or the request was not made.
type Provider interface {
	// Name is "stripe" or "sandbox", for logs and metrics.
	Name() string
	// CreateCustomer creates the processor's customer for a workspace.
	// idempotencyKey makes a retry return the same customer.
	CreateCustomer(ctx context.Context, c Customer, idempotencyKey string) (customerID string, err error)
	// UpdateCustomer replaces name and address, and adds the tax ID when
	// it is not already on the customer.
	UpdateCustomer(ctx context.Context, customerID string, c Customer) error
	// AttachPaymentMethod attaches a PaymentMethod (e.g. from Stripe
	// Elements) to the customer and reads its card back.
	AttachPaymentMethod(ctx context.Context, customerID, paymentMethodID string) (Card, error)
	// DetachPaymentMethod detaches it; detaching one already detached is not an error.
	DetachPaymentMethod(ctx context.Context, paymentMethodID string) error
	// CreateSetupIntent returns the client secret the SPA uses to collect a card.
	CreateSetupIntent(ctx context.Context, customerID string) (clientSecret string, err error)
	// Charge creates and confirms a PaymentIntent. The same IdempotencyKey
	// never charges twice: a replay returns the first result.
	Charge(ctx context.Context, req ChargeRequest) (Charge, error)
	// GetCharge reads a PaymentIntent back (reconciliation, crash recovery).
	GetCharge(ctx context.Context, intentID string) (Charge, error)
	// ListCharges lists the PaymentIntents created in [since, until) with
	// their metadata (reconciliation).
	ListCharges(ctx context.Context, since, until time.Time) ([]Charge, error)
	// Refund sends AmountCents of a succeeded PaymentIntent back to the
	// card. The same IdempotencyKey never refunds twice: a replay returns
	// the first refund. A request the processor refuses for good (more
	// than is left to refund, a charge that is not refundable, an unknown
	// intent) is an error wrapping ErrRefused; any other error means the
	// outcome is unknown and a retry with the same key settles it.
	Refund(ctx context.Context, req RefundRequest) (Refund, error)
	// GetRefund reads a refund back by the processor's id (reconciliation).
	GetRefund(ctx context.Context, refundID string) (Refund, error)
	// ListRefunds lists the refunds created in [since, until), with their
	// intent and metadata (reconciliation).
	ListRefunds(ctx context.Context, since, until time.Time) ([]Refund, error)
}

// Customer is what the processor keeps about the buyer.
type Customer struct {
	WorkspaceID string // stored as metadata
	Name        string
	Email       string // optional
	Address     Address
	TaxID       *TaxID // optional
}

// Address is a postal address; Country is ISO 3166-1 alpha-2.
type Address struct {
	Line1, Line2, City, PostalCode, State, Country string
}

// TaxID uses Stripe's tax ID types ("eu_vat", "gb_vat", "us_ein", ...).
type TaxID struct {
	Type, Value string
}

// Card is everything about a card we may store: ids and display data only.
type Card struct {
	PaymentMethodID string
	Brand           string // "visa", "mastercard", ...
	Last4           string
	ExpMonth        int
	ExpYear         int
}

// ChargeRequest is one PaymentIntent, created and confirmed at once.
type ChargeRequest struct {
	CustomerID      string
	PaymentMethodID string
	AmountCents     int64
	Currency        string // "usd"
	Description     string
	// OffSession is set for auto top-up: the customer is not present.
	OffSession bool
	// IdempotencyKey is derived from our own id (e.g. "purchase-<uuid>").
	IdempotencyKey string
	Metadata       map[string]string
}

// Status is a PaymentIntent's state, reduced to what billing acts on.
type Status string

const (
	StatusSucceeded      Status = "succeeded"
	StatusRequiresAction Status = "requires_action" // 3-D Secure: the SPA finishes with ClientSecret
	StatusProcessing     Status = "processing"      // outcome arrives by webhook
	StatusFailed         Status = "failed"          // requires_payment_method or canceled
)

// Charge is a PaymentIntent as billing sees it.
type Charge struct {
	IntentID     string
	Status       Status
	AmountCents  int64
	ClientSecret string // set when Status is StatusRequiresAction
	Card         Card   // the card charged (brand and last4 at least)
	// FailureCode and FailureMessage carry Stripe's reason when Status is
	// StatusFailed (e.g. "card_declined", "Your card has insufficient funds.").
	FailureCode    string
	FailureMessage string
	// Metadata is what the charge was created with (purchase_id, ...).
	Metadata map[string]string
}

// DeclineError is a charge the card issuer or Stripe refused.
type DeclineError struct {
	IntentID    string // the PaymentIntent, when one was created
	Code        string // Stripe error code: "card_declined", "authentication_required", ...
	DeclineCode string // issuer's reason: "insufficient_funds", "generic_decline", ...
	Message     string // safe to show to the customer
}

func (e *DeclineError) Error() string {
	reason := e.Code
	if e.DeclineCode != "" {
		reason += "/" + e.DeclineCode
	}
	return fmt.Sprintf("payment declined (%s): %s", reason, e.Message)
}

// ErrNotFound means the processor has no such object (e.g. an unknown PaymentMethod id).
var ErrNotFound = errors.New("payments: no such object")

// ErrRefused means the processor answered a request with a definite no
// (an invalid request: nothing happened, and the same request would be
// refused again), as opposed to an outage, whose outcome is unknown.
var ErrRefused = errors.New("payments: refused by the processor")

// RefundRequest sends money of a succeeded PaymentIntent back.
type RefundRequest struct {
	IntentID    string
	AmountCents int64
	// IdempotencyKey is derived from our own refund id ("refund-<uuid>").
	IdempotencyKey string
	// Metadata is kept with the refund (refund_id, purchase_id, reason),
	// so webhooks and reconciliation can match it to ours.
	Metadata map[string]string
}

// RefundStatus is a refund's state, reduced to what billing acts on.
type RefundStatus string

const (
	// RefundSucceeded: the money is back on the card.
	RefundSucceeded RefundStatus = "succeeded"
	// RefundPending: accepted and on its way (Stripe's pending and
	// requires_action); card refunds all get there.
	RefundPending RefundStatus = "pending"
	// RefundFailed: failed or canceled; nothing went back.
	RefundFailed RefundStatus = "failed"
)

// Refund is a processor refund as billing sees it.
type Refund struct {
	ID          string // "re_…"
	IntentID    string // the PaymentIntent refunded
	AmountCents int64
	Status      RefundStatus
	Created     time.Time
	// Reason is the processor's reason code (Stripe: duplicate,
	// fraudulent, requested_by_customer), when it has one.
	Reason   string
	Metadata map[string]string
}
