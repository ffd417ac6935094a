package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/creditnote"
	"github.com/airouter/credits/ent/dispute"
	"github.com/airouter/credits/ent/invoice"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
)

// CreditNote is an issued credit note: it cancels an invoice wholly or in
// part (a refund, a lost dispute) without editing it, and holds
// everything printed on it as it was issued.
type CreditNote struct {
	ID          uuid.UUID
	WorkspaceID uuid.UUID
	PurchaseID  uuid.UUID
	InvoiceID   uuid.UUID
	// SourceID is the refund or dispute it was issued for.
	SourceID        uuid.UUID
	Number          string
	IssuedAt        time.Time
	InvoiceNumber   string
	InvoiceIssuedAt time.Time
	// Reference is the processor's refund or dispute id.
	Reference string
	Reason    string
	// Seller and Buyer are the invoice's, as printed on it.
	Seller, Buyer Party
	Description   string
	Subtotal      money.Amount
	Taxes         []TaxLine
	// Amount is the total credited, Subtotal + Σ Taxes.
	Amount   money.Amount
	Currency string
	// Note and TaxRule are the invoice's (the reverse-charge statement).
	Note    string
	TaxRule TaxMode
}

// creditNoteNumber formats the credit notes' own service-wide sequence:
// CN-2026-000007, numbered like invoices (the sequence never restarts).
func creditNoteNumber(seq int64, issued time.Time) string {
	return fmt.Sprintf("CN-%d-%06d", issued.Year(), seq)
}

// issueCreditNotes issues the credit notes a credited purchase still
// lacks: one per succeeded refund and per lost dispute, in the order they
// were recorded. tx holds the workspace and purchase locks.
func (s *Service) issueCreditNotes(ctx context.Context, tx *ledger.Tx, p *ent.Purchase, refunds []*ent.Refund, disputes []*ent.Dispute) error {
	issued, err := tx.CreditNote.Query().Where(creditnote.WorkspaceID(p.WorkspaceID), creditnote.PurchaseID(p.ID)).
		Select(creditnote.FieldSourceID).Strings(ctx)
	if err != nil {
		return fmt.Errorf("read credit notes: %w", err)
	}
	done := map[string]bool{}
	for _, id := range issued {
		done[id] = true
	}
	type due struct {
		source            uuid.UUID
		reference, reason string
		amount            money.Amount
	}
	var todo []due
	for _, r := range refunds {
		todo = append(todo, due{r.ID, *r.ProcessorID, r.Reason, money.Amount(r.Amount)})
	}
	for _, d := range disputes {
		if d.Status == dispute.StatusLost {
			todo = append(todo, due{d.ID, d.ProcessorID, disputeReason(d.Reason), money.Amount(d.Amount)})
		}
	}
	var inv *Invoice
	for _, d := range todo {
		if done[d.source.String()] {
			continue
		}
		if inv == nil {
			row, err := tx.Invoice.Query().Where(invoice.WorkspaceID(p.WorkspaceID), invoice.PurchaseID(p.ID)).Only(ctx)
			if err != nil {
				return fmt.Errorf("read the invoice of purchase %s: %w", p.ID, err)
			}
			decoded, err := decodeInvoiceSnapshot(row.Snapshot)
			if err != nil {
				return err
			}
			inv = &decoded
		}
		if err := s.issueCreditNote(ctx, tx, *inv, d.source, d.reference, d.reason, d.amount); err != nil {
			return err
		}
	}
	return nil
}

// issueCreditNote issues one credit note against inv. As for invoices, the
// counter row lock serialises issuers and the number and the issue date
// come from one clock reading taken under it, so numbers and dates are in
// the same order; a rollback returns the number unused.
func (s *Service) issueCreditNote(ctx context.Context, tx *ledger.Tx, inv Invoice, source uuid.UUID, reference, reason string, amount money.Amount) error {
	taxes := make([]TaxLine, len(inv.Taxes))
	for i, t := range inv.Taxes {
		if t.Amount != 0 {
			// No tax rule collects tax; crediting collected tax back would
			// need its share of the amount, which no rule defines yet.
			return fmt.Errorf("credit note for invoice %s: it collected %s %s of tax", inv.Number, t.Amount, t.Label)
		}
		taxes[i] = TaxLine{Label: t.Label, Rate: t.Rate}
	}
	counter, err := tx.CreditNoteCounter.UpdateOneID(1).AddLast(1).Save(ctx)
	if err != nil {
		return fmt.Errorf("next credit note number: %w", err)
	}
	now := s.now()
	cn := CreditNote{ID: uuid.New(), WorkspaceID: inv.WorkspaceID, PurchaseID: inv.PurchaseID, InvoiceID: inv.ID, SourceID: source,
		Number: creditNoteNumber(counter.Last, now), IssuedAt: now, InvoiceNumber: inv.Number, InvoiceIssuedAt: inv.IssuedAt,
		Reference: reference, Reason: reason, Seller: inv.Seller, Buyer: inv.Buyer, Description: inv.Description,
		Subtotal: amount, Taxes: taxes, Amount: amount, Currency: inv.Currency, Note: inv.Note, TaxRule: inv.TaxRule}
	snapshot, err := encodeCreditNoteSnapshot(cn)
	if err != nil {
		return err
	}
	if err := tx.CreditNote.Create().SetID(cn.ID).SetWorkspaceID(cn.WorkspaceID).SetInvoiceID(cn.InvoiceID).SetPurchaseID(cn.PurchaseID).
		SetSourceID(source).SetSeq(counter.Last).SetNumber(cn.Number).SetAmount(int64(amount)).SetIssuedAt(now).SetSnapshot(snapshot).
		Exec(ctx); err != nil {
		return fmt.Errorf("issue credit note: %w", err)
	}
	return nil
}

// GetCreditNote returns one credit note of the workspace (NOT_FOUND for any other).
func (s *Service) GetCreditNote(ctx context.Context, workspaceID, id uuid.UUID) (CreditNote, error) {
	row, err := s.ent.CreditNote.Query().Where(creditnote.WorkspaceID(workspaceID), creditnote.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return CreditNote{}, notFound("credit note")
	}
	if err != nil {
		return CreditNote{}, fmt.Errorf("read credit note: %w", err)
	}
	return decodeCreditNoteSnapshot(row.Snapshot)
}

// CreditNotesOfInvoice lists the credit notes of an invoice of the
// workspace, in the order issued (none for any other workspace's).
func (s *Service) CreditNotesOfInvoice(ctx context.Context, workspaceID, invoiceID uuid.UUID) ([]CreditNote, error) {
	rows, err := s.ent.CreditNote.Query().Where(creditnote.WorkspaceID(workspaceID), creditnote.InvoiceID(invoiceID)).
		Order(creditnote.BySeq()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read credit notes: %w", err)
	}
	out := make([]CreditNote, len(rows))
	for i, row := range rows {
		if out[i], err = decodeCreditNoteSnapshot(row.Snapshot); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// creditNoteOf is the credit note issued for a refund or dispute (the zero
// CreditNote when none is, yet).
func (s *Service) creditNoteOf(ctx context.Context, workspaceID, sourceID uuid.UUID) (CreditNote, error) {
	row, err := s.ent.CreditNote.Query().Where(creditnote.WorkspaceID(workspaceID), creditnote.SourceID(sourceID)).Only(ctx)
	if ent.IsNotFound(err) {
		return CreditNote{}, nil
	}
	if err != nil {
		return CreditNote{}, fmt.Errorf("read credit note: %w", err)
	}
	return decodeCreditNoteSnapshot(row.Snapshot)
}

// refundedOf sums the credit notes of each of the workspace's purchases
// given: what has been given back of each (refunds and lost disputes).
func (s *Service) refundedOf(ctx context.Context, workspaceID uuid.UUID, purchaseIDs []uuid.UUID) (map[uuid.UUID]money.Amount, error) {
	var sums []struct {
		PurchaseID uuid.UUID     `json:"purchase_id"`
		Sum        sql.NullInt64 `json:"sum"`
	}
	err := s.ent.CreditNote.Query().Where(creditnote.WorkspaceID(workspaceID), creditnote.PurchaseIDIn(purchaseIDs...)).
		GroupBy(creditnote.FieldPurchaseID).Aggregate(ent.As(ent.Sum(creditnote.FieldAmount), "sum")).Scan(ctx, &sums)
	if err != nil {
		return nil, fmt.Errorf("sum credit notes: %w", err)
	}
	out := make(map[uuid.UUID]money.Amount, len(sums))
	for _, s := range sums {
		out[s.PurchaseID] = money.Amount(s.Sum.Int64)
	}
	return out, nil
}

// creditNoteSnapshotV1 is how an issued credit note is stored: written
// once and never re-encoded; JSON names frozen (a change to what credit
// notes carry is a new version, as for invoices).
type creditNoteSnapshotV1 struct {
	Version         int               `json:"v"`
	ID              uuid.UUID         `json:"id"`
	WorkspaceID     uuid.UUID         `json:"workspace_id"`
	PurchaseID      uuid.UUID         `json:"purchase_id"`
	InvoiceID       uuid.UUID         `json:"invoice_id"`
	SourceID        uuid.UUID         `json:"source_id"`
	Number          string            `json:"number"`
	IssuedAt        time.Time         `json:"issued_at"`
	InvoiceNumber   string            `json:"invoice_number"`
	InvoiceIssuedAt time.Time         `json:"invoice_issued_at"`
	Reference       string            `json:"reference"`
	Reason          string            `json:"reason"`
	Seller          partySnapshotV2   `json:"seller"`
	Buyer           partySnapshotV2   `json:"buyer"`
	Description     string            `json:"description"`
	Subtotal        money.Amount      `json:"subtotal"`
	Taxes           []taxLineSnapshot `json:"taxes"`
	Amount          money.Amount      `json:"amount"`
	Currency        string            `json:"currency"`
	Note            string            `json:"note,omitempty"`
	TaxRule         string            `json:"tax_rule"`
}

func encodeCreditNoteSnapshot(cn CreditNote) ([]byte, error) {
	return json.Marshal(creditNoteSnapshotV1{Version: 1, ID: cn.ID, WorkspaceID: cn.WorkspaceID, PurchaseID: cn.PurchaseID,
		InvoiceID: cn.InvoiceID, SourceID: cn.SourceID, Number: cn.Number, IssuedAt: cn.IssuedAt, InvoiceNumber: cn.InvoiceNumber,
		InvoiceIssuedAt: cn.InvoiceIssuedAt, Reference: cn.Reference, Reason: cn.Reason, Seller: partySnapshotV2(cn.Seller),
		Buyer: partySnapshotV2(cn.Buyer), Description: cn.Description, Subtotal: cn.Subtotal, Taxes: taxSnapshots(cn.Taxes),
		Amount: cn.Amount, Currency: cn.Currency, Note: cn.Note, TaxRule: string(cn.TaxRule)})
}

func decodeCreditNoteSnapshot(b []byte) (CreditNote, error) {
	var v struct {
		Version int `json:"v"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return CreditNote{}, fmt.Errorf("decode credit note: %w", err)
	}
	if v.Version != 1 {
		return CreditNote{}, fmt.Errorf("decode credit note: unknown snapshot version %d", v.Version)
	}
	var s creditNoteSnapshotV1
	if err := json.Unmarshal(b, &s); err != nil {
		return CreditNote{}, fmt.Errorf("decode credit note: %w", err)
	}
	return CreditNote{ID: s.ID, WorkspaceID: s.WorkspaceID, PurchaseID: s.PurchaseID, InvoiceID: s.InvoiceID, SourceID: s.SourceID,
		Number: s.Number, IssuedAt: s.IssuedAt.UTC(), InvoiceNumber: s.InvoiceNumber, InvoiceIssuedAt: s.InvoiceIssuedAt.UTC(),
		Reference: s.Reference, Reason: s.Reason, Seller: Party(s.Seller), Buyer: Party(s.Buyer), Description: s.Description,
		Subtotal: s.Subtotal, Taxes: taxLines(s.Taxes), Amount: s.Amount, Currency: s.Currency, Note: s.Note, TaxRule: TaxMode(s.TaxRule)}, nil
}
