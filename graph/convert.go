package graph

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph/model"
	"github.com/airouter/credits/links"
	"github.com/airouter/credits/money"
)

// reader returns the caller if it may read its workspace's data.
func reader(ctx context.Context) (auth.Caller, error) {
	c, ok := auth.CallerFrom(ctx)
	if !ok {
		return auth.Caller{}, auth.ErrUnauthenticated
	}
	if !c.CanRead() {
		return auth.Caller{}, auth.ErrForbidden
	}
	return c, nil
}

// writer returns the caller if it may change its workspace's data.
func writer(ctx context.Context) (auth.Caller, error) {
	c, err := reader(ctx)
	if err != nil {
		return c, err
	}
	if !c.CanWrite() {
		return auth.Caller{}, auth.ErrForbidden
	}
	return c, nil
}

// balance reads a workspace's balance for the balance query: from memory
// when there is a gate. Every change of the balance or of held (holds
// placed, settled or expired) commits a new version with a NOTIFY, which
// keeps the gate as fresh as the subscription.
func (r *Resolver) balance(ctx context.Context, workspaceID uuid.UUID) (billing.Balance, error) {
	if r.Balances == nil {
		return r.Billing.GetBalance(ctx, workspaceID)
	}
	return r.Balances.Check(ctx, workspaceID)
}

func balanceModel(b billing.Balance) *model.Balance {
	return &model.Balance{Amount: b.Amount, Currency: money.Currency, Blocked: b.Blocked(), UpdatedAt: b.UpdatedAt,
		Held: b.Held, Available: b.Available()}
}

// node resolves a global id within the caller's workspace; ids of other
// workspaces resolve to null exactly like ids that do not exist.
func (r *Resolver) node(ctx context.Context, c auth.Caller, id string) (model.Node, error) {
	if pid, ok := parseID(txnPrefix, id); ok {
		p, err := r.Billing.GetPurchase(ctx, c.WorkspaceID, pid)
		if errors.Is(err, billing.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return transactionModel(p), nil
	}
	if iid, ok := parseID(invPrefix, id); ok {
		inv, err := r.invoice(r.Billing.GetInvoice(ctx, c.WorkspaceID, iid))
		if inv == nil {
			return nil, err
		}
		return inv, err
	}
	if nid, ok := parseID(cnPrefix, id); ok {
		cn, err := r.Billing.GetCreditNote(ctx, c.WorkspaceID, nid)
		if errors.Is(err, billing.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return r.creditNoteModel(cn), nil
	}
	if cid, ok := parseID(cardPrefix, id); ok {
		card, err := r.Billing.Card(ctx, c.WorkspaceID, cid)
		if errors.Is(err, billing.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return cardModel(card), nil
	}
	return nil, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// optional turns "" into null.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func transactionModel(p billing.Purchase) *model.Transaction {
	t := &model.Transaction{
		ID: globalID(txnPrefix, p.ID), Type: model.TransactionTypePurchase, Amount: p.Amount, Currency: money.Currency,
		CreatedAt: p.CreatedAt, FailureReason: optional(p.FailureReason), CardBrand: optional(p.CardBrand), CardLast4: optional(p.CardLast4),
		WorkspaceID: p.WorkspaceID, PurchaseID: p.ID, InvoiceID: p.InvoiceID, RefundedAmount: p.Refunded,
	}
	if p.Kind == billing.PurchaseAuto {
		t.Type = model.TransactionTypeAutoTopUp
	}
	switch {
	case p.Status == billing.StatusSucceeded && p.FullyRefunded():
		t.Status = model.TransactionStatusRefunded
	case p.Status == billing.StatusSucceeded && p.PartiallyRefunded():
		t.Status = model.TransactionStatusPartiallyRefunded
	case p.Status == billing.StatusSucceeded:
		t.Status = model.TransactionStatusSucceeded
	case p.Status == billing.StatusFailed:
		t.Status = model.TransactionStatusFailed
	case p.Status == billing.StatusRequiresAction:
		t.Status = model.TransactionStatusRequiresAction
	default:
		t.Status = model.TransactionStatusPending
	}
	return t
}

func purchaseKind(t model.TransactionType) billing.PurchaseKind {
	if t == model.TransactionTypeAutoTopUp {
		return billing.PurchaseAuto
	}
	return billing.PurchaseManual
}

func cardModel(c billing.Card) *model.PaymentMethod {
	return &model.PaymentMethod{ID: globalID(cardPrefix, c.ID), Brand: c.Brand, Last4: c.Last4, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, IsDefault: c.IsDefault}
}

func profileInput(in *model.BillingProfileInput) billing.BillingProfile {
	if in == nil {
		return billing.BillingProfile{}
	}
	p := billing.BillingProfile{Name: in.Name}
	if a := in.Address; a != nil {
		p.Address = billing.Address{Line1: a.Line1, Line2: deref(a.Line2), City: a.City, PostalCode: deref(a.PostalCode), State: deref(a.State), Country: a.Country}
	}
	if t := in.TaxID; t != nil {
		p.TaxID = &billing.TaxID{Country: t.Country, Type: t.Type, Value: t.Value}
	}
	return p
}

func profileModel(p billing.BillingProfile) *model.BillingProfile {
	m := &model.BillingProfile{Name: p.Name, Address: &model.Address{Line1: p.Address.Line1, Line2: optional(p.Address.Line2),
		City: p.Address.City, PostalCode: optional(p.Address.PostalCode), State: optional(p.Address.State), Country: p.Address.Country}}
	if p.TaxID != nil {
		m.TaxID = &model.TaxID{Country: p.TaxID.Country, Type: p.TaxID.Type, Value: p.TaxID.Value}
	}
	return m
}

// invoice encodes an invoice, turning NOT_FOUND into null.
func (r *Resolver) invoice(inv billing.Invoice, err error) (*model.Invoice, error) {
	if errors.Is(err, billing.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &model.Invoice{ID: globalID(invPrefix, inv.ID), Number: inv.Number, IssuedAt: inv.IssuedAt, Amount: inv.Amount,
		Currency: inv.Currency, DownloadURL: r.Links.URL(links.Invoice, inv.ID), SignedDownloadURL: r.Links.Signed(links.Invoice, inv.WorkspaceID, inv.ID),
		WorkspaceID: inv.WorkspaceID, PurchaseID: inv.PurchaseID}, nil
}

func (r *Resolver) autoTopUpModel(ctx context.Context, workspaceID uuid.UUID, a billing.AutoTopUp) (*model.AutoTopUp, error) {
	m := &model.AutoTopUp{Enabled: a.Enabled, LastError: optional(a.LastError)}
	if a.Enabled || a.Amount != 0 {
		m.Threshold, m.Amount = &a.Threshold, &a.Amount
	}
	switch a.Status {
	case billing.AutoTopUpActive:
		m.Status = model.AutoTopUpStatusActive
	case billing.AutoTopUpProcessing:
		m.Status = model.AutoTopUpStatusProcessing
	case billing.AutoTopUpPaused:
		m.Status = model.AutoTopUpStatusPaused
	default:
		m.Status = model.AutoTopUpStatusDisabled
	}
	if a.CardID != nil {
		card, err := r.Billing.Card(ctx, workspaceID, *a.CardID)
		if err != nil && !errors.Is(err, billing.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			m.PaymentMethod = cardModel(card)
		}
	}
	return m, nil
}
