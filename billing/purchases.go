package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/invoice"
	"github.com/airouter/credits/ent/purchase"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
)

// PurchaseStatus is where a purchase stands (ent's enum: one Go type).
type PurchaseStatus = purchase.Status

const (
	StatusPending        = purchase.StatusPending
	StatusRequiresAction = purchase.StatusRequiresAction
	StatusSucceeded      = purchase.StatusSucceeded
	StatusFailed         = purchase.StatusFailed
)

// PurchaseKind tells a manual purchase from an auto top-up.
type PurchaseKind = purchase.Kind

const (
	PurchaseManual = purchase.KindPurchase
	PurchaseAuto   = purchase.KindAutoTopUp
)

// purchaseTransitions is the purchase's state machine: for each state, the
// states it may come from. movePurchase is the one function that changes a
// purchase's state. A succeeded purchase never moves again (a late failure
// event for a retried intent changes nothing); a failed one may still
// succeed (Stripe retried the same intent, or the webhook of a 3-D Secure
// confirmation arrives after a timeout was recorded as a failure).
var purchaseTransitions = map[purchase.Status][]purchase.Status{
	purchase.StatusRequiresAction: {purchase.StatusPending, purchase.StatusRequiresAction},
	purchase.StatusSucceeded:      {purchase.StatusPending, purchase.StatusRequiresAction, purchase.StatusFailed},
	purchase.StatusFailed:         {purchase.StatusPending, purchase.StatusRequiresAction},
}

// movePurchase moves purchase id to state to (with the fields set sets) if
// its state may move there; moved is false, and nothing changes, otherwise.
func movePurchase(ctx context.Context, client *ent.Client, id uuid.UUID, to purchase.Status, now time.Time, set func(*ent.PurchaseUpdate)) (moved bool, err error) {
	u := client.Purchase.Update().Where(purchase.ID(id), purchase.StatusIn(purchaseTransitions[to]...)).SetStatus(to).SetUpdatedAt(now)
	if set != nil {
		set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return false, fmt.Errorf("purchase %s to %s: %w", id, to, err)
	}
	return n == 1, nil
}

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
	// Refunded is what has been given back of it: refunds and lost
	// disputes, the sum of its credit notes.
	Refunded money.Amount
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
// is written. On success the balance is credited and the invoice issued
// (made out to the billing details given with this purchase), in the
// transaction that marks the purchase succeeded; that transaction also
// saves those billing details as the workspace's profile and, for a new
// card, saves the card. A decline records a FAILED purchase, leaves the
// profile and the saved cards as they were, and returns PAYMENT_FAILED with
// the issuer's reason; a card needing authentication returns
// REQUIRES_ACTION with a client secret.
func (s *Service) AddCredits(ctx context.Context, workspaceID uuid.UUID, req PurchaseRequest) (PurchaseResult, error) {
	if err := s.CheckPurchaseAmount("amount", req.Amount); err != nil {
		return PurchaseResult{}, err
	}
	profile, err := normalizeProfile(req.Billing)
	if err != nil {
		return PurchaseResult{}, err
	}
	req.IdempotencyKey = strings.TrimSpace(req.IdempotencyKey)
	if err := checkText("idempotencyKey", req.IdempotencyKey, maxIdempotencyKey); err != nil {
		return PurchaseResult{}, err
	}
	if req.CardID != nil && req.NewPaymentMethod != "" {
		return PurchaseResult{}, badInput("paymentMethodId", "give paymentMethodId or newPaymentMethod, not both")
	}
	req.NewPaymentMethod = strings.TrimSpace(req.NewPaymentMethod)
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
	if req.NewPaymentMethod != "" {
		// Attached to the customer (Stripe needs that to charge it), saved
		// here only when the purchase succeeds.
		if card, err = s.attachCard(ctx, customer, req.NewPaymentMethod); err != nil {
			return PurchaseResult{}, err
		}
		card.saveOnSuccess = true
	}
	p, err := s.openPurchase(ctx, workspaceID, PurchaseManual, req.Amount, req.IdempotencyKey, card, profile, nil)
	if err != nil {
		return PurchaseResult{}, err
	}
	if p.Status != StatusPending { // a concurrent request with the same key finished first
		return s.replay(ctx, p, req.Amount)
	}
	outcome, err := s.charge(ctx, p, customer, card, false)
	if err != nil {
		return PurchaseResult{Purchase: p}, err
	}
	if outcome.Result == ChargeSucceeded {
		if err := s.payments.UpdateCustomer(ctx, customer, s.customerOf(workspaceID, profile)); err != nil {
			// The purchase stands; the processor's copy of the address is
			// only for its receipts. Our invoice has the right one.
			s.log.Warn("update processor customer after purchase", "workspace", workspaceID, "err", err)
		}
	}
	if outcome.Result == ChargeDeclined && card.saveOnSuccess {
		if err := s.payments.DetachPaymentMethod(ctx, card.ProcessorID); err != nil {
			s.log.Warn("detach a declined new card", "workspace", workspaceID, "err", err)
		}
	}
	return s.purchaseResult(ctx, p, outcome)
}

// purchaseResult reads the purchase and balance back after a charge and
// turns the charge's outcome into the API's answer: the one place a
// ChargeOutcome becomes a coded error.
func (s *Service) purchaseResult(ctx context.Context, p Purchase, outcome ChargeOutcome) (PurchaseResult, error) {
	p, err := s.GetPurchase(ctx, p.WorkspaceID, p.ID)
	if err != nil {
		return PurchaseResult{}, err
	}
	b, err := s.GetBalance(ctx, p.WorkspaceID)
	if err != nil {
		return PurchaseResult{}, err
	}
	res := PurchaseResult{Purchase: p, Balance: b}
	switch outcome.Result {
	case ChargeRequiresAction:
		res.ClientSecret = outcome.ClientSecret
	case ChargeDeclined:
		return res, &Error{Code: CodePaymentFailed, Message: "payment failed: " + outcome.Reason}
	case ChargeUnknown:
		return res, &Error{Code: CodePaymentFailed, Message: "the payment provider could not be reached; nothing was charged yet, try again with the same idempotencyKey"}
	}
	return res, nil
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
	outcome := ChargeOutcome{Result: ChargeSucceeded}
	switch p.Status {
	case StatusFailed:
		outcome = ChargeOutcome{Result: ChargeDeclined, Reason: p.FailureReason}
	case StatusRequiresAction:
		outcome.Result = ChargeRequiresAction
		if c, err := s.payments.GetCharge(ctx, p.PaymentIntentID); err == nil {
			outcome.ClientSecret = c.ClientSecret
		}
	}
	return s.purchaseResult(ctx, p, outcome)
}

// openPurchase records a pending purchase under its idempotency key, or
// returns the one already recorded under it. buyer is printed on its
// invoice, whatever the profile says by then.
func (s *Service) openPurchase(ctx context.Context, workspaceID uuid.UUID, kind PurchaseKind, amount money.Amount, key string, card Card, buyer BillingProfile, topUp *uuid.UUID) (Purchase, error) {
	now := s.now()
	err := s.ent.Purchase.Create().SetWorkspaceID(workspaceID).SetKind(kind).SetStatus(StatusPending).SetAmount(int64(amount)).
		SetIdempotencyKey(key).SetPaymentMethodID(card.ProcessorID).SetCardBrand(card.Brand).SetCardLast4(card.Last4).
		SetCardExpMonth(card.ExpMonth).SetCardExpYear(card.ExpYear).SetSaveCard(card.saveOnSuccess).
		SetBuyer(buyerSnapshot(buyer)).SetNillableTopUpID(topUp).SetCreatedAt(now).SetUpdatedAt(now).
		OnConflictColumns(purchase.FieldWorkspaceID, purchase.FieldIdempotencyKey).DoNothing().Exec(ctx)
	if err != nil && !isNoRows(err) {
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

// ChargeResult is what a charge did, as billing acts on it.
type ChargeResult int

const (
	// ChargeSucceeded: the money moved; the purchase is credited.
	ChargeSucceeded ChargeResult = iota
	// ChargeDeclined: the issuer refused (Reason says why); nothing moved.
	ChargeDeclined
	// ChargeRequiresAction: 3-D Secure; the webhook settles it later.
	ChargeRequiresAction
	// ChargeUnknown: the processor did not answer; the purchase stays
	// pending and a retry with the same key (or the webhook) settles it.
	ChargeUnknown
)

// ChargeOutcome is a charge's result with what the caller needs of it.
type ChargeOutcome struct {
	Result       ChargeResult
	Reason       string // declined: the issuer's reason; unknown: what failed
	ClientSecret string // requires action
}

// charge creates and confirms the PaymentIntent for a pending purchase and
// records the outcome. Its idempotency key is the purchase id, so a retry
// after a crash or timeout can never charge twice. err is only for failing
// to record an outcome; every answer of the processor is an outcome.
func (s *Service) charge(ctx context.Context, p Purchase, customer string, card Card, offSession bool) (ChargeOutcome, error) {
	cents, _ := p.Amount.CentsExact()
	c, err := s.payments.Charge(ctx, payments.ChargeRequest{
		CustomerID: customer, PaymentMethodID: card.ProcessorID, AmountCents: cents, Currency: "usd",
		Description: "AI Router credits", OffSession: offSession, IdempotencyKey: "purchase-" + p.ID.String(),
		Metadata: map[string]string{"purchase_id": p.ID.String(), "workspace_id": p.WorkspaceID.String(), "kind": string(p.Kind)},
	})
	if s.hookAfterCharge != nil {
		if herr := s.hookAfterCharge(p); herr != nil {
			return ChargeOutcome{}, herr
		}
	}
	outcome, intentID := chargeOutcome(c, err)
	if outcome.Result == ChargeUnknown {
		s.log.Error("charge outcome unknown", "purchase", p.ID, "err", err)
	}
	return outcome, s.recordOutcome(ctx, p.ID, intentID, outcome)
}

// chargeOutcome reads the processor's answer to a charge.
func chargeOutcome(c payments.Charge, err error) (ChargeOutcome, string) {
	var decline *payments.DeclineError
	switch {
	case errors.As(err, &decline):
		return ChargeOutcome{Result: ChargeDeclined, Reason: declineReason(decline)}, decline.IntentID
	case err != nil:
		return ChargeOutcome{Result: ChargeUnknown, Reason: "the payment provider could not be reached"}, ""
	}
	switch c.Status {
	case payments.StatusSucceeded:
		return ChargeOutcome{Result: ChargeSucceeded}, c.IntentID
	case payments.StatusFailed:
		reason := c.FailureMessage
		if reason == "" {
			reason = c.FailureCode
		}
		return ChargeOutcome{Result: ChargeDeclined, Reason: reason}, c.IntentID
	case payments.StatusRequiresAction:
		return ChargeOutcome{Result: ChargeRequiresAction, ClientSecret: c.ClientSecret}, c.IntentID
	}
	// processing: the webhook settles it.
	return ChargeOutcome{Result: ChargeUnknown, Reason: "the payment is processing"}, c.IntentID
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

// ApplyPaymentOutcome records what the processor said about a
// PaymentIntent outside a charge call (the Stripe webhook, the sandbox's
// 3-D Secure step, reconciliation): it finds the purchase (ErrNotOurs when
// there is none here) and records the outcome as the charge would have.
func (s *Service) ApplyPaymentOutcome(ctx context.Context, intentID string, metadata map[string]string, outcome ChargeOutcome) error {
	purchaseID, err := s.PurchaseIDForIntent(ctx, intentID, metadata)
	if err != nil {
		return err
	}
	return s.recordOutcome(ctx, purchaseID, intentID, outcome)
}

// recordOutcome records a charge's outcome on its purchase: succeeded
// credits it (once), declined fails it (unless it succeeded already),
// requires action records the intent, unknown changes nothing.
func (s *Service) recordOutcome(ctx context.Context, purchaseID uuid.UUID, intentID string, outcome ChargeOutcome) error {
	now := s.now()
	setIntent := func(u *ent.PurchaseUpdate) {
		if intentID != "" {
			u.SetPaymentIntentID(intentID)
		}
	}
	switch outcome.Result {
	case ChargeSucceeded:
		return s.paymentSucceeded(ctx, purchaseID, intentID)
	case ChargeDeclined:
		_, err := movePurchase(ctx, s.ent, purchaseID, StatusFailed, now, func(u *ent.PurchaseUpdate) {
			setIntent(u)
			u.SetFailureReason(outcome.Reason)
		})
		return err
	case ChargeRequiresAction:
		_, err := movePurchase(ctx, s.ent, purchaseID, StatusRequiresAction, now, setIntent)
		return err
	}
	if intentID != "" {
		return s.ent.Purchase.Update().Where(purchase.ID(purchaseID), purchase.StatusEQ(StatusPending)).SetPaymentIntentID(intentID).
			SetUpdatedAt(now).Exec(ctx)
	}
	return nil
}

// paymentSucceeded settles a purchase whose PaymentIntent succeeded, in
// one transaction: it marks the purchase succeeded, credits the balance
// (ledger reference = purchase id, so at most once), issues the invoice,
// and for a manual purchase saves its billing details as the profile and
// its new card, if it was one. A second call changes nothing.
func (s *Service) paymentSucceeded(ctx context.Context, purchaseID uuid.UUID, intentID string) error {
	found, err := s.ent.Purchase.Query().Where(purchase.ID(purchaseID)).Select(purchase.FieldWorkspaceID).Only(ctx)
	if ent.IsNotFound(err) {
		return notFound("purchase")
	}
	if err != nil {
		return fmt.Errorf("find purchase: %w", err)
	}
	return s.inTx(ctx, func(tx *ledger.Tx) error {
		// Workspace first, then the purchase: the one lock order.
		if _, err := ledger.Lock(ctx, tx, []uuid.UUID{found.WorkspaceID}); err != nil {
			return err
		}
		p, err := tx.Purchase.Query().Where(purchase.ID(purchaseID)).ForUpdate().Only(ctx)
		if err != nil {
			return fmt.Errorf("lock purchase: %w", err)
		}
		if p.Status == StatusSucceeded {
			return nil
		}
		now := s.now()
		if _, err := movePurchase(ctx, tx.Client(), p.ID, StatusSucceeded, now, func(u *ent.PurchaseUpdate) {
			u.SetFailureReason("").SetSucceededAt(now)
			if intentID != "" {
				u.SetPaymentIntentID(intentID)
			}
		}); err != nil {
			return err
		}
		kind, desc := KindPurchase, "credit purchase"
		if p.Kind == PurchaseAuto {
			kind, desc = KindAutoTopUp, "auto top-up"
		}
		if _, _, err := ledger.Apply(ctx, tx, now, []ledger.Change{{WorkspaceID: p.WorkspaceID, Kind: kind, Amount: money.Amount(p.Amount),
			Reference: p.ID.String(), Description: desc}}); err != nil {
			return s.ledgerError(err)
		}
		if err := s.issueInvoice(ctx, tx, p); err != nil {
			return err
		}
		// Refunds and disputes the processor reported before this success
		// land with it: the refunded part is never credited on its own.
		if err := s.settle(ctx, tx, p); err != nil {
			return err
		}
		if p.Kind != PurchaseManual {
			return nil
		}
		if err := saveProfile(ctx, tx.Client(), p.WorkspaceID, buyerProfile(p.Buyer), now); err != nil {
			return err
		}
		if p.SaveCard {
			return saveCard(ctx, tx, p.WorkspaceID, Card{ProcessorID: p.PaymentMethodID, Brand: p.CardBrand, Last4: p.CardLast4,
				ExpMonth: p.CardExpMonth, ExpYear: p.CardExpYear}, false, now)
		}
		return nil
	})
}

// purchaseOf is the domain view of a purchase row; invoiceID is its
// invoice's, when it has one.
func purchaseOf(p *ent.Purchase, invoiceID *uuid.UUID) Purchase {
	out := Purchase{ID: p.ID, WorkspaceID: p.WorkspaceID, Kind: p.Kind, Status: p.Status, Amount: money.Amount(p.Amount),
		CardBrand: p.CardBrand, CardLast4: p.CardLast4, FailureReason: p.FailureReason, CreatedAt: p.CreatedAt.UTC(), InvoiceID: invoiceID}
	if p.PaymentIntentID != nil {
		out.PaymentIntentID = *p.PaymentIntentID
	}
	if p.SucceededAt != nil {
		t := p.SucceededAt.UTC()
		out.SucceededAt = &t
	}
	return out
}

// purchasesOf converts rows, attaching their invoices' ids (one query).
func (s *Service) purchasesOf(ctx context.Context, rows []*ent.Purchase) ([]Purchase, error) {
	out := make([]Purchase, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, p := range rows {
		ids[i] = p.ID
	}
	invs, err := s.ent.Invoice.Query().Where(invoice.WorkspaceID(rows[0].WorkspaceID), invoice.PurchaseIDIn(ids...)).
		Select(invoice.FieldID, invoice.FieldPurchaseID).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read invoices: %w", err)
	}
	byPurchase := make(map[uuid.UUID]uuid.UUID, len(invs))
	for _, inv := range invs {
		byPurchase[inv.PurchaseID] = inv.ID
	}
	var refunded map[uuid.UUID]money.Amount
	if len(invs) > 0 { // only an invoiced purchase can have credit notes
		if refunded, err = s.refundedOf(ctx, rows[0].WorkspaceID, ids); err != nil {
			return nil, err
		}
	}
	for i, p := range rows {
		var inv *uuid.UUID
		if id, ok := byPurchase[p.ID]; ok {
			inv = &id
		}
		out[i] = purchaseOf(p, inv)
		out[i].Refunded = refunded[p.ID]
	}
	return out, nil
}

// GetPurchase returns one purchase of the workspace (NOT_FOUND for any other).
func (s *Service) GetPurchase(ctx context.Context, workspaceID, id uuid.UUID) (Purchase, error) {
	row, err := s.ent.Purchase.Query().Where(purchase.WorkspaceID(workspaceID), purchase.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return Purchase{}, notFound("transaction")
	}
	if err != nil {
		return Purchase{}, fmt.Errorf("read purchase: %w", err)
	}
	ps, err := s.purchasesOf(ctx, []*ent.Purchase{row})
	if err != nil {
		return Purchase{}, err
	}
	return ps[0], nil
}

func (s *Service) purchaseByKey(ctx context.Context, workspaceID uuid.UUID, key string) (Purchase, bool, error) {
	row, err := s.ent.Purchase.Query().Where(purchase.WorkspaceID(workspaceID), purchase.IdempotencyKey(key)).Only(ctx)
	if ent.IsNotFound(err) {
		return Purchase{}, false, nil
	}
	if err != nil {
		return Purchase{}, false, fmt.Errorf("read purchase: %w", err)
	}
	ps, err := s.purchasesOf(ctx, []*ent.Purchase{row})
	if err != nil {
		return Purchase{}, false, err
	}
	return ps[0], true, nil
}

// ErrNotOurs means a processor object (a PaymentIntent, a charge) belongs
// to no purchase in this database: another environment or integration on
// the same Stripe account. Webhooks acknowledge it and change nothing.
var ErrNotOurs = errors.New("not one of our purchases")

// PurchaseIDForIntent finds the purchase a PaymentIntent belongs to: the
// purchase_id metadata we set, when that purchase exists here, or else the
// purchase that recorded the intent id. ErrNotOurs when neither.
func (s *Service) PurchaseIDForIntent(ctx context.Context, intentID string, metadata map[string]string) (uuid.UUID, error) {
	if id, err := uuid.Parse(metadata["purchase_id"]); err == nil {
		exists, err := s.ent.Purchase.Query().Where(purchase.ID(id)).Exist(ctx)
		if err != nil {
			return uuid.Nil, fmt.Errorf("find purchase: %w", err)
		}
		if exists {
			return id, nil
		}
	}
	if intentID == "" {
		return uuid.Nil, ErrNotOurs
	}
	p, err := s.ent.Purchase.Query().Where(purchase.PaymentIntentID(intentID)).Select(purchase.FieldID).Only(ctx)
	if ent.IsNotFound(err) {
		return uuid.Nil, ErrNotOurs
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find purchase: %w", err)
	}
	return p.ID, nil
}

// RecordProcessorEvent notes a processed Stripe event; first is false for
// a replay.
func (s *Service) RecordProcessorEvent(ctx context.Context, eventID, typ string) (first bool, err error) {
	n, err := s.ent.ProcessorEvent.Create().SetID(eventID).SetType(typ).SetReceivedAt(s.now()).
		OnConflictColumns("id").DoNothing().ID(ctx)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record processor event: %w", err)
	}
	return n == eventID, nil
}
