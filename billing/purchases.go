package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
)

// PurchaseStatus is where a purchase stands.
type PurchaseStatus string

const (
	StatusPending        PurchaseStatus = "pending"
	StatusRequiresAction PurchaseStatus = "requires_action"
	StatusSucceeded      PurchaseStatus = "succeeded"
	StatusFailed         PurchaseStatus = "failed"
)

// PurchaseKind tells a manual purchase from an auto top-up.
type PurchaseKind string

const (
	PurchaseManual PurchaseKind = "purchase"
	PurchaseAuto   PurchaseKind = "auto_top_up"
)

// Purchase is one card purchase of credits (the API's Transaction).
type Purchase struct {
	ID              uuid.UUID
	WorkspaceID     uuid.UUID
	Kind            PurchaseKind
	Status          PurchaseStatus
	Amount          money.Amount
	PaymentIntentID string
	CardBrand       string
	CardLast4       string
	FailureReason   string
	CreatedAt       time.Time
	SucceededAt     *time.Time
	InvoiceID       *uuid.UUID
}

// PurchaseRequest is AddCredits' input. Card: a saved card (CardID), or a
// fresh processor PaymentMethod (NewPaymentMethod), or else the default card.
type PurchaseRequest struct {
	Amount           money.Amount
	CardID           *uuid.UUID
	NewPaymentMethod string
	Billing          BillingProfile
	// IdempotencyKey: the same key never charges twice (empty: a new purchase).
	IdempotencyKey string
}

// PurchaseResult is what AddCredits did.
type PurchaseResult struct {
	Purchase Purchase
	Balance  Balance
	// ClientSecret is set when the card needs 3-D Secure: the SPA finishes
	// it with Stripe.js, and the credit lands when Stripe confirms.
	ClientSecret string
}

// CheckPurchaseAmount is the one rule for what a person may buy: whole
// cents, at least MinPurchase, at most MaxPurchase.
func (s *Service) CheckPurchaseAmount(field string, a money.Amount) error {
	if _, whole := a.CentsExact(); !whole {
		return badInput(field, "%s must have at most 2 decimal places", field)
	}
	if a < s.cfg.MinPurchase {
		return badInput(field, "%s must be at least %s USD", field, s.cfg.MinPurchase)
	}
	if a > s.cfg.MaxPurchase {
		return badInput(field, "%s must be at most %s USD", field, s.cfg.MaxPurchase)
	}
	return nil
}

const maxIdempotencyKey = 255

// AddCredits buys credits by card. Everything is validated before anything
// is written. On success the balance is credited, and the invoice issued, in
// the transaction that marks the purchase succeeded. A decline records a
// FAILED purchase and returns PAYMENT_FAILED with the issuer's reason; a card
// needing authentication returns REQUIRES_ACTION with a client secret.
func (s *Service) AddCredits(ctx context.Context, workspaceID uuid.UUID, req PurchaseRequest) (PurchaseResult, error) {
	if err := s.CheckPurchaseAmount("amount", req.Amount); err != nil {
		return PurchaseResult{}, err
	}
	profile, err := normalizeProfile(req.Billing)
	if err != nil {
		return PurchaseResult{}, err
	}
	req.IdempotencyKey = strings.TrimSpace(req.IdempotencyKey)
	if len(req.IdempotencyKey) > maxIdempotencyKey {
		return PurchaseResult{}, badInput("idempotencyKey", "idempotencyKey is longer than %d characters", maxIdempotencyKey)
	}
	if req.CardID != nil && req.NewPaymentMethod != "" {
		return PurchaseResult{}, badInput("paymentMethodId", "give paymentMethodId or newPaymentMethod, not both")
	}
	if req.NewPaymentMethod != "" && !isProcessorPaymentMethod(req.NewPaymentMethod) {
		return PurchaseResult{}, badInput("newPaymentMethod", "newPaymentMethod must be a Stripe PaymentMethod id (pm_…)")
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = uuid.NewString()
	} else if p, found, err := s.purchaseByKey(ctx, workspaceID, req.IdempotencyKey); err != nil {
		return PurchaseResult{}, err
	} else if found && p.Status != StatusPending {
		return s.replay(ctx, p, req.Amount)
	}

	// Resolve a saved card before writing anything, so a wrong card id or
	// a workspace without cards changes nothing.
	var card Card
	switch {
	case req.CardID != nil:
		card, err = s.Card(ctx, workspaceID, *req.CardID)
	case req.NewPaymentMethod == "":
		card, err = s.defaultCard(ctx, workspaceID)
	}
	if err != nil {
		return PurchaseResult{}, err
	}
	customer, err := s.ensureCustomer(ctx, workspaceID, &profile)
	if err != nil {
		return PurchaseResult{}, s.processorUnavailable(err)
	}
	if err := s.payments.UpdateCustomer(ctx, customer, s.customerOf(workspaceID, profile)); err != nil {
		return PurchaseResult{}, s.processorUnavailable(fmt.Errorf("update processor customer: %w", err))
	}
	if req.NewPaymentMethod != "" {
		if card, err = s.AddPaymentMethod(ctx, workspaceID, req.NewPaymentMethod, false); err != nil {
			return PurchaseResult{}, err
		}
	}
	if err := s.saveProfile(ctx, workspaceID, profile); err != nil {
		return PurchaseResult{}, err
	}
	p, err := s.openPurchase(ctx, workspaceID, PurchaseManual, req.Amount, req.IdempotencyKey, card, profile, nil)
	if err != nil {
		return PurchaseResult{}, err
	}
	if p.Status != StatusPending { // a concurrent request with the same key finished first
		return s.replay(ctx, p, req.Amount)
	}
	return s.charge(ctx, p, customer, card, false)
}

// processorUnavailable turns a failed call to the card processor made
// before any charge into PAYMENT_FAILED (nothing was charged), logging the
// cause, which is not for the client.
func (s *Service) processorUnavailable(err error) error {
	if CodeOf(err) != "" {
		return err
	}
	s.log.Error("payment provider call failed", "err", err)
	return &Error{Code: CodePaymentFailed, Message: "the payment provider could not be reached; nothing was charged, try again"}
}

// replay answers a repeated idempotency key with the first outcome.
func (s *Service) replay(ctx context.Context, p Purchase, amount money.Amount) (PurchaseResult, error) {
	if p.Amount != amount {
		return PurchaseResult{}, badInput("idempotencyKey", "idempotencyKey was used for a purchase of %s USD", p.Amount)
	}
	b, err := s.GetBalance(ctx, p.WorkspaceID)
	if err != nil {
		return PurchaseResult{}, err
	}
	res := PurchaseResult{Purchase: p, Balance: b}
	switch p.Status {
	case StatusFailed:
		return res, &Error{Code: CodePaymentFailed, Message: "payment failed: " + p.FailureReason}
	case StatusRequiresAction:
		if c, err := s.payments.GetCharge(ctx, p.PaymentIntentID); err == nil {
			res.ClientSecret = c.ClientSecret
		}
	}
	return res, nil
}

// openPurchase records a pending purchase under its idempotency key, or
// returns the one already recorded under it.
func (s *Service) openPurchase(ctx context.Context, workspaceID uuid.UUID, kind PurchaseKind, amount money.Amount, key string, card Card, buyer BillingProfile, topUp *uuid.UUID) (Purchase, error) {
	snapshot, err := json.Marshal(buyerSnapshot(buyer))
	if err != nil {
		return Purchase{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	_, err = s.db.ExecContext(ctx, `INSERT INTO purchases (id, workspace_id, kind, status, amount, idempotency_key,
		payment_method_id, card_brand, card_last4, failure_reason, buyer, top_up_id, created_at, updated_at)
		VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, '', $9, $10, $11, $11)
		ON CONFLICT (workspace_id, idempotency_key) DO NOTHING`,
		uuid.New(), workspaceID, string(kind), int64(amount), key, card.ProcessorID, card.Brand, card.Last4, snapshot, topUp, now)
	if err != nil {
		return Purchase{}, fmt.Errorf("record purchase: %w", err)
	}
	p, found, err := s.purchaseByKey(ctx, workspaceID, key)
	if err != nil {
		return Purchase{}, err
	}
	if !found {
		return Purchase{}, errors.New("record purchase: row vanished")
	}
	if p.Amount != amount {
		return Purchase{}, badInput("idempotencyKey", "idempotencyKey was used for a purchase of %s USD", p.Amount)
	}
	return p, nil
}

// charge creates and confirms the PaymentIntent for a pending purchase and
// records the outcome. Its idempotency key is the purchase id, so a retry
// after a crash or timeout can never charge twice.
func (s *Service) charge(ctx context.Context, p Purchase, customer string, card Card, offSession bool) (PurchaseResult, error) {
	cents, _ := p.Amount.CentsExact()
	c, err := s.payments.Charge(ctx, payments.ChargeRequest{
		CustomerID: customer, PaymentMethodID: card.ProcessorID, AmountCents: cents, Currency: "usd",
		Description: "AI Router credits", OffSession: offSession, IdempotencyKey: "purchase-" + p.ID.String(),
		Metadata: map[string]string{"purchase_id": p.ID.String(), "workspace_id": p.WorkspaceID.String(), "kind": string(p.Kind)},
	})
	if s.hookAfterCharge != nil {
		if herr := s.hookAfterCharge(p); herr != nil {
			return PurchaseResult{Purchase: p}, herr
		}
	}
	var decline *payments.DeclineError
	switch {
	case errors.As(err, &decline):
		reason := declineReason(decline)
		if err := s.PaymentFailed(ctx, p.ID, decline.IntentID, reason); err != nil {
			return PurchaseResult{}, err
		}
		p.Status, p.FailureReason = StatusFailed, reason
		return PurchaseResult{Purchase: p}, &Error{Code: CodePaymentFailed, Message: "payment failed: " + reason}
	case err != nil:
		// The outcome is unknown: the purchase stays PENDING; retrying with
		// the same idempotency key (or the webhook) settles it.
		s.log.Error("charge failed", "purchase", p.ID, "err", err)
		return PurchaseResult{Purchase: p}, &Error{Code: CodePaymentFailed, Message: "the payment provider could not be reached; nothing was charged yet, try again"}
	}
	switch c.Status {
	case payments.StatusSucceeded:
		if err := s.PaymentSucceeded(ctx, p.ID, c.IntentID); err != nil {
			return PurchaseResult{}, err
		}
	case payments.StatusFailed:
		reason := c.FailureMessage
		if reason == "" {
			reason = c.FailureCode
		}
		if err := s.PaymentFailed(ctx, p.ID, c.IntentID, reason); err != nil {
			return PurchaseResult{}, err
		}
	default: // requires_action, processing: the webhook settles it
		status := StatusPending
		if c.Status == payments.StatusRequiresAction {
			status = StatusRequiresAction
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE purchases SET status = $2, payment_intent_id = $3, updated_at = now()
			WHERE id = $1 AND status IN ('pending', 'requires_action')`, p.ID, string(status), c.IntentID); err != nil {
			return PurchaseResult{}, fmt.Errorf("record payment intent: %w", err)
		}
	}
	p, err = s.GetPurchase(ctx, p.WorkspaceID, p.ID)
	if err != nil {
		return PurchaseResult{}, err
	}
	b, err := s.GetBalance(ctx, p.WorkspaceID)
	if err != nil {
		return PurchaseResult{}, err
	}
	res := PurchaseResult{Purchase: p, Balance: b}
	if p.Status == StatusRequiresAction {
		res.ClientSecret = c.ClientSecret
	}
	if p.Status == StatusFailed {
		return res, &Error{Code: CodePaymentFailed, Message: "payment failed: " + p.FailureReason}
	}
	return res, nil
}

func declineReason(d *payments.DeclineError) string {
	reason := d.Message
	if reason == "" {
		reason = d.Code
	}
	if d.DeclineCode != "" {
		reason += " (" + d.DeclineCode + ")"
	}
	return reason
}

// PaymentSucceeded settles a purchase whose PaymentIntent succeeded, from
// the synchronous confirm or from the webhook, whichever comes first: in one
// transaction it marks the purchase succeeded, credits the balance (ledger
// reference = purchase id, so at most once) and issues the invoice. A second
// call changes nothing.
func (s *Service) PaymentSucceeded(ctx context.Context, purchaseID uuid.UUID, intentID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
		p, err := lockPurchase(ctx, tx, purchaseID)
		if err != nil || p.Status == StatusSucceeded {
			return nil, err
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE purchases SET status = 'succeeded', failure_reason = '',
			payment_intent_id = COALESCE(NULLIF($2, ''), payment_intent_id), succeeded_at = $3, updated_at = $3 WHERE id = $1`,
			p.ID, intentID, now); err != nil {
			return nil, fmt.Errorf("mark purchase succeeded: %w", err)
		}
		kind, desc := KindPurchase, "credit purchase"
		if p.Kind == PurchaseAuto {
			kind, desc = KindAutoTopUp, "auto top-up"
		}
		b, applied, err := s.post(ctx, tx, Entry{WorkspaceID: p.WorkspaceID, Kind: kind, Amount: p.Amount, Reference: p.ID.String(), Description: desc})
		if err != nil {
			return nil, err
		}
		if err := s.issueInvoice(ctx, tx, p, now); err != nil {
			return nil, err
		}
		if err := s.afterCredit(ctx, tx, p, b); err != nil {
			return nil, err
		}
		if !applied {
			return nil, nil
		}
		return []Balance{b}, nil
	})
}

// PaymentFailed records a failed payment unless the purchase already
// succeeded (a late failure event for a retried intent changes nothing).
func (s *Service) PaymentFailed(ctx context.Context, purchaseID uuid.UUID, intentID, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE purchases SET status = 'failed', failure_reason = $3,
		payment_intent_id = COALESCE(NULLIF($2, ''), payment_intent_id), updated_at = now()
		WHERE id = $1 AND status <> 'succeeded'`, purchaseID, intentID, reason)
	if err != nil {
		return fmt.Errorf("mark purchase failed: %w", err)
	}
	return s.afterFailure(ctx, purchaseID, reason)
}

const purchaseColumns = `p.id, p.workspace_id, p.kind, p.status, p.amount, COALESCE(p.payment_intent_id, ''), p.card_brand,
	p.card_last4, p.failure_reason, p.created_at, p.succeeded_at, i.id`

func scanPurchase(row interface{ Scan(...any) error }) (Purchase, error) {
	var p Purchase
	var kind, status string
	var invoice uuid.NullUUID
	err := row.Scan(&p.ID, &p.WorkspaceID, &kind, &status, &p.Amount, &p.PaymentIntentID, &p.CardBrand, &p.CardLast4,
		&p.FailureReason, &p.CreatedAt, &p.SucceededAt, &invoice)
	p.Kind, p.Status = PurchaseKind(kind), PurchaseStatus(status)
	if invoice.Valid {
		p.InvoiceID = &invoice.UUID
	}
	return p, err
}

func lockPurchase(ctx context.Context, tx *sql.Tx, id uuid.UUID) (Purchase, error) {
	p, err := scanPurchase(tx.QueryRowContext(ctx, `SELECT `+purchaseColumns+` FROM purchases p
		LEFT JOIN invoices i ON i.workspace_id = p.workspace_id AND i.purchase_id = p.id WHERE p.id = $1 FOR UPDATE OF p`, id))
	if err == sql.ErrNoRows {
		return Purchase{}, notFound("purchase")
	}
	if err != nil {
		return Purchase{}, fmt.Errorf("lock purchase %s: %w", id, err)
	}
	return p, nil
}

// GetPurchase returns one purchase of the workspace (NOT_FOUND for any other).
func (s *Service) GetPurchase(ctx context.Context, workspaceID, id uuid.UUID) (Purchase, error) {
	p, err := scanPurchase(s.db.QueryRowContext(ctx, `SELECT `+purchaseColumns+` FROM purchases p
		LEFT JOIN invoices i ON i.workspace_id = p.workspace_id AND i.purchase_id = p.id
		WHERE p.workspace_id = $1 AND p.id = $2`, workspaceID, id))
	if err == sql.ErrNoRows {
		return Purchase{}, notFound("transaction")
	}
	if err != nil {
		return Purchase{}, fmt.Errorf("read purchase: %w", err)
	}
	return p, nil
}

func (s *Service) purchaseByKey(ctx context.Context, workspaceID uuid.UUID, key string) (Purchase, bool, error) {
	p, err := scanPurchase(s.db.QueryRowContext(ctx, `SELECT `+purchaseColumns+` FROM purchases p
		LEFT JOIN invoices i ON i.workspace_id = p.workspace_id AND i.purchase_id = p.id
		WHERE p.workspace_id = $1 AND p.idempotency_key = $2`, workspaceID, key))
	if err == sql.ErrNoRows {
		return Purchase{}, false, nil
	}
	if err != nil {
		return Purchase{}, false, fmt.Errorf("read purchase: %w", err)
	}
	return p, true, nil
}

// PurchaseIDForIntent finds the purchase a PaymentIntent belongs to, by the
// purchase_id metadata we set or, failing that, by the intent id recorded.
func (s *Service) PurchaseIDForIntent(ctx context.Context, intentID string, metadata map[string]string) (uuid.UUID, error) {
	if id, err := uuid.Parse(metadata["purchase_id"]); err == nil {
		return id, nil
	}
	var id uuid.UUID
	err := s.db.QueryRowContext(ctx, `SELECT id FROM purchases WHERE payment_intent_id = $1`, intentID).Scan(&id)
	if err == sql.ErrNoRows {
		return uuid.Nil, notFound("purchase for payment intent")
	}
	return id, err
}

func buyerSnapshot(p BillingProfile) map[string]string {
	m := map[string]string{"name": p.Name, "line1": p.Address.Line1, "line2": p.Address.Line2, "city": p.Address.City,
		"postal_code": p.Address.PostalCode, "state": p.Address.State, "country": p.Address.Country}
	if p.TaxID != nil {
		m["tax_country"], m["tax_type"], m["tax_value"] = p.TaxID.Country, p.TaxID.Type, p.TaxID.Value
	}
	return m
}

// RecordProcessorEvent notes a processed Stripe event; first is false for
// a replay.
func (s *Service) RecordProcessorEvent(ctx context.Context, eventID, typ string) (first bool, err error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO processor_events (id, type, received_at) VALUES ($1, $2, now())
		ON CONFLICT (id) DO NOTHING`, eventID, typ)
	if err != nil {
		return false, fmt.Errorf("record processor event: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
