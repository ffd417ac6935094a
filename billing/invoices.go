package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/invoice"
	"github.com/airouter/credits/ent/predicate"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
)

// Party is a seller or buyer as printed on an invoice.
type Party struct {
	Name    string
	Address []string
	TaxID   string
}

// Seller is who issues invoices (SELLER_NAME, SELLER_ADDRESS, SELLER_TAX_ID).
type Seller = Party

// Invoice is an issued invoice: everything printed on it, as it was issued.
type Invoice struct {
	ID          uuid.UUID
	WorkspaceID uuid.UUID
	PurchaseID  uuid.UUID
	Number      string
	IssuedAt    time.Time
	PaidAt      time.Time
	Seller      Party
	Buyer       Party
	Description string
	Quantity    int64
	UnitPrice   money.Amount
	Amount      money.Amount
	Currency    string
	CardBrand   string
	CardLast4   string
	Kind        PurchaseKind
}

// invoiceNumber formats the service-wide sequence number: CR-2026-000123.
// The year is the issue year; the sequence never restarts, so numbers stay
// unique and gapless across years.
func invoiceNumber(seq int64, issued time.Time) string {
	return fmt.Sprintf("CR-%d-%06d", issued.Year(), seq)
}

// issueInvoice issues the invoice of a purchase being settled in tx (which
// holds the purchase row lock, so it runs once per purchase). The counter
// row lock serialises issuers, and the number and the issue date come from
// one clock reading taken under that lock, so numbers and dates are in the
// same order (never CR-2027-000001 before CR-2026-000002); a rollback
// returns the number unused.
func (s *Service) issueInvoice(ctx context.Context, tx *ledger.Tx, p *ent.Purchase) error {
	exists, err := tx.Invoice.Query().Where(invoice.WorkspaceID(p.WorkspaceID), invoice.PurchaseID(p.ID)).Exist(ctx)
	if err != nil || exists {
		return err
	}
	counter, err := tx.InvoiceCounter.UpdateOneID(1).AddLast(1).Save(ctx)
	if err != nil {
		return fmt.Errorf("next invoice number: %w", err)
	}
	now := s.now()
	inv := Invoice{
		ID: uuid.New(), WorkspaceID: p.WorkspaceID, PurchaseID: p.ID, Number: invoiceNumber(counter.Last, now),
		IssuedAt: now, PaidAt: now, Seller: s.cfg.Seller, Buyer: buyerParty(p.Buyer),
		Description: "AI Router credits", Quantity: 1, UnitPrice: money.Amount(p.Amount), Amount: money.Amount(p.Amount), Currency: money.Currency,
		CardBrand: p.CardBrand, CardLast4: p.CardLast4, Kind: p.Kind,
	}
	snapshot, err := encodeInvoiceSnapshot(inv)
	if err != nil {
		return err
	}
	if err := tx.Invoice.Create().SetID(inv.ID).SetWorkspaceID(inv.WorkspaceID).SetPurchaseID(inv.PurchaseID).SetSeq(counter.Last).
		SetNumber(inv.Number).SetAmount(int64(inv.Amount)).SetIssuedAt(now).SetSnapshot(snapshot).Exec(ctx); err != nil {
		return fmt.Errorf("issue invoice: %w", err)
	}
	return nil
}

func buyerParty(b map[string]string) Party {
	p := Party{Name: b["name"], Address: FormatAddress(Address{Line1: b["line1"], Line2: b["line2"], City: b["city"],
		PostalCode: b["postal_code"], State: b["state"], Country: b["country"]})}
	if v := b["tax_value"]; v != "" {
		// EU VAT numbers carry their country already (PL1234567890).
		if !strings.HasPrefix(v, b["tax_country"]) {
			v = b["tax_country"] + " " + v
		}
		p.TaxID = fmt.Sprintf("%s (%s)", v, b["tax_type"])
	}
	return p
}

// FormatAddress prints an address as invoice lines, ending with the country's English name.
func FormatAddress(a Address) []string {
	var lines []string
	for _, l := range []string{a.Line1, a.Line2} {
		if l != "" {
			lines = append(lines, l)
		}
	}
	city := strings.TrimSpace(a.PostalCode + " " + a.City)
	if a.State != "" {
		city += ", " + a.State
	}
	if city != "" {
		lines = append(lines, city)
	}
	return append(lines, countryName(a.Country))
}

func countryName(code string) string {
	if r, err := language.ParseRegion(code); err == nil {
		if name := display.English.Regions().Name(r); name != "" {
			return name
		}
	}
	return code
}

// GetInvoice returns one invoice of the workspace (NOT_FOUND for any other).
func (s *Service) GetInvoice(ctx context.Context, workspaceID, id uuid.UUID) (Invoice, error) {
	return s.readInvoice(ctx, invoice.WorkspaceID(workspaceID), invoice.ID(id))
}

// InvoiceOfPurchase returns the invoice of a purchase of the workspace.
func (s *Service) InvoiceOfPurchase(ctx context.Context, workspaceID, purchaseID uuid.UUID) (Invoice, error) {
	return s.readInvoice(ctx, invoice.WorkspaceID(workspaceID), invoice.PurchaseID(purchaseID))
}

func (s *Service) readInvoice(ctx context.Context, where ...predicate.Invoice) (Invoice, error) {
	row, err := s.ent.Invoice.Query().Where(where...).Only(ctx)
	if ent.IsNotFound(err) {
		return Invoice{}, notFound("invoice")
	}
	if err != nil {
		return Invoice{}, fmt.Errorf("read invoice: %w", err)
	}
	return decodeInvoiceSnapshot(row.Snapshot)
}

// invoiceSnapshotV1 is how an issued invoice is stored: written once when
// the invoice is issued and never re-encoded. Its JSON names are frozen (the
// invoices issued before versioning carry no "v" and are this version): a
// change to what invoices carry is a new version with a struct of its own,
// and decodeInvoiceSnapshot learns to read it; the domain Invoice may be
// renamed freely.
type invoiceSnapshotV1 struct {
	Version     int             `json:"v,omitempty"`
	ID          uuid.UUID       `json:"id"`
	WorkspaceID uuid.UUID       `json:"workspace_id"`
	PurchaseID  uuid.UUID       `json:"purchase_id"`
	Number      string          `json:"number"`
	IssuedAt    time.Time       `json:"issued_at"`
	PaidAt      time.Time       `json:"paid_at"`
	Seller      partySnapshotV1 `json:"seller"`
	Buyer       partySnapshotV1 `json:"buyer"`
	Description string          `json:"description"`
	Quantity    int64           `json:"quantity"`
	UnitPrice   money.Amount    `json:"unit_price"`
	Amount      money.Amount    `json:"amount"`
	Currency    string          `json:"currency"`
	CardBrand   string          `json:"card_brand"`
	CardLast4   string          `json:"card_last4"`
	Kind        string          `json:"kind"`
}

type partySnapshotV1 struct {
	Name    string   `json:"name"`
	Address []string `json:"address"`
	TaxID   string   `json:"tax_id,omitempty"`
}

func encodeInvoiceSnapshot(inv Invoice) ([]byte, error) {
	return json.Marshal(invoiceSnapshotV1{Version: 1, ID: inv.ID, WorkspaceID: inv.WorkspaceID, PurchaseID: inv.PurchaseID,
		Number: inv.Number, IssuedAt: inv.IssuedAt, PaidAt: inv.PaidAt, Seller: partySnapshotV1(inv.Seller), Buyer: partySnapshotV1(inv.Buyer),
		Description: inv.Description, Quantity: inv.Quantity, UnitPrice: inv.UnitPrice, Amount: inv.Amount, Currency: inv.Currency,
		CardBrand: inv.CardBrand, CardLast4: inv.CardLast4, Kind: string(inv.Kind)})
}

func decodeInvoiceSnapshot(b []byte) (Invoice, error) {
	var v struct {
		Version int `json:"v"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Invoice{}, fmt.Errorf("decode invoice: %w", err)
	}
	switch v.Version {
	case 0, 1:
		var s invoiceSnapshotV1
		if err := json.Unmarshal(b, &s); err != nil {
			return Invoice{}, fmt.Errorf("decode invoice: %w", err)
		}
		return Invoice{ID: s.ID, WorkspaceID: s.WorkspaceID, PurchaseID: s.PurchaseID, Number: s.Number, IssuedAt: s.IssuedAt.UTC(),
			PaidAt: s.PaidAt.UTC(), Seller: Party(s.Seller), Buyer: Party(s.Buyer), Description: s.Description, Quantity: s.Quantity,
			UnitPrice: s.UnitPrice, Amount: s.Amount, Currency: s.Currency, CardBrand: s.CardBrand, CardLast4: s.CardLast4,
			Kind: PurchaseKind(s.Kind)}, nil
	}
	return Invoice{}, fmt.Errorf("decode invoice: unknown snapshot version %d", v.Version)
}
