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
	"github.com/airouter/credits/taxid"
)

// Party is a seller or buyer as printed on an invoice or credit note.
type Party struct {
	Name    string
	Address []string
	// TaxID is the number as printed after its label ("PL5261025421").
	// Invoices of snapshot version 1 hold the older text, "PL… (eu_vat)".
	TaxID string
	// TaxIDType is the Stripe type of the number, when known ("eu_vat").
	TaxIDType string
	// TaxIDLabel is printed before the number ("EU VAT"); "" prints "Tax ID:".
	TaxIDLabel string
	// TaxIDCountry is the country's name printed after the number in
	// parentheses ("Germany"); "" for none (the label or number says it).
	TaxIDCountry string
}

// Seller is who issues invoices and the tax rule it issues them under
// (SELLER_NAME, SELLER_ADDRESS, SELLER_COUNTRY, SELLER_TAX_ID,
// SELLER_TAX_ID_TYPE, TAX_MODE).
type Seller struct {
	Name    string
	Address []string
	// Country is ISO 3166-1 alpha-2; the reverse charge needs it.
	Country string
	// TaxID is the seller's tax registration, printed on every invoice
	// when set; TaxIDType (a Stripe type, optional) gives its label.
	TaxID     string
	TaxIDType string
	TaxMode   TaxMode
}

// party is the seller as printed: the registration with its label (or
// "Tax ID:") and its country.
func (s Seller) party() Party {
	p := Party{Name: s.Name, Address: s.Address, TaxID: s.TaxID}
	if s.TaxID != "" {
		p.TaxIDType = s.TaxIDType
		if s.TaxIDType != "" {
			p.TaxIDLabel = taxid.ShortLabel(s.TaxIDType)
		}
		if s.Country != "" {
			p.TaxIDCountry = countryName(s.Country)
		}
	}
	return p
}

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
	// Subtotal is the line before tax; Taxes the tax rows on it (none
	// prints "Tax 0.00"); Amount the total paid, Subtotal + Σ Taxes.
	Subtotal  money.Amount
	Taxes     []TaxLine
	Amount    money.Amount
	Currency  string
	CardBrand string
	CardLast4 string
	Kind      PurchaseKind
	// Note is printed under the totals (the reverse-charge statement).
	Note string
	// TaxRule is the seller's TaxMode when the invoice was issued ("" for
	// invoices issued before tax rules existed, snapshot version 1).
	TaxRule TaxMode
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
	buyer := buyerProfile(p.Buyer)
	taxes, note := s.cfg.Seller.taxOf(buyer.TaxID)
	inv := Invoice{
		ID: uuid.New(), WorkspaceID: p.WorkspaceID, PurchaseID: p.ID, Number: invoiceNumber(counter.Last, now),
		IssuedAt: now, PaidAt: now, Seller: s.cfg.Seller.party(), Buyer: buyerParty(buyer),
		Description: "AI Router credits", Quantity: 1, UnitPrice: money.Amount(p.Amount), Subtotal: money.Amount(p.Amount),
		Taxes: taxes, Amount: money.Amount(p.Amount), Currency: money.Currency,
		CardBrand: p.CardBrand, CardLast4: p.CardLast4, Kind: p.Kind, Note: note, TaxRule: s.cfg.Seller.TaxMode,
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

// buyerParty is the buyer as printed: the tax ID as entered (normalized)
// after its label, "EU VAT PL5261025421", "US EIN 12-3456789": the label
// names the country where the number does not.
func buyerParty(b BillingProfile) Party {
	p := Party{Name: b.Name, Address: FormatAddress(b.Address)}
	if t := b.TaxID; t != nil && t.Value != "" {
		p.TaxID, p.TaxIDType, p.TaxIDLabel = t.Value, t.Type, taxid.ShortLabel(t.Type)
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

func partyV1(p partySnapshotV1) Party { return Party{Name: p.Name, Address: p.Address, TaxID: p.TaxID} }

// invoiceSnapshotV2 adds what a finance team files an invoice by: each
// party's tax ID with its type, printed label and country, the tax rows
// on the subtotal, the note under the totals (reverse charge) and the tax
// rule in force when the invoice was issued, so re-rendering it later,
// under another TAX_MODE or a newer label table, prints the same invoice.
// JSON names frozen, as for v1.
type invoiceSnapshotV2 struct {
	Version     int               `json:"v"`
	ID          uuid.UUID         `json:"id"`
	WorkspaceID uuid.UUID         `json:"workspace_id"`
	PurchaseID  uuid.UUID         `json:"purchase_id"`
	Number      string            `json:"number"`
	IssuedAt    time.Time         `json:"issued_at"`
	PaidAt      time.Time         `json:"paid_at"`
	Seller      partySnapshotV2   `json:"seller"`
	Buyer       partySnapshotV2   `json:"buyer"`
	Description string            `json:"description"`
	Quantity    int64             `json:"quantity"`
	UnitPrice   money.Amount      `json:"unit_price"`
	Subtotal    money.Amount      `json:"subtotal"`
	Taxes       []taxLineSnapshot `json:"taxes"`
	Amount      money.Amount      `json:"amount"`
	Currency    string            `json:"currency"`
	CardBrand   string            `json:"card_brand"`
	CardLast4   string            `json:"card_last4"`
	Kind        string            `json:"kind"`
	Note        string            `json:"note,omitempty"`
	TaxRule     string            `json:"tax_rule"`
}

// partySnapshotV2 is a party with its tax ID's type, label and country
// (credit note snapshots use it too).
type partySnapshotV2 struct {
	Name         string   `json:"name"`
	Address      []string `json:"address"`
	TaxID        string   `json:"tax_id,omitempty"`
	TaxIDType    string   `json:"tax_id_type,omitempty"`
	TaxIDLabel   string   `json:"tax_id_label,omitempty"`
	TaxIDCountry string   `json:"tax_id_country,omitempty"`
}

// taxLineSnapshot is a tax row as invoice v2 and credit note v1 store it.
type taxLineSnapshot struct {
	Label  string       `json:"label"`
	Rate   string       `json:"rate"`
	Amount money.Amount `json:"amount"`
}

func taxSnapshots(taxes []TaxLine) []taxLineSnapshot {
	out := make([]taxLineSnapshot, len(taxes))
	for i, t := range taxes {
		out[i] = taxLineSnapshot(t)
	}
	return out
}

func taxLines(taxes []taxLineSnapshot) []TaxLine {
	var out []TaxLine
	for _, t := range taxes {
		out = append(out, TaxLine(t))
	}
	return out
}

// encodeInvoiceSnapshot writes the current version, v2.
func encodeInvoiceSnapshot(inv Invoice) ([]byte, error) {
	return json.Marshal(invoiceSnapshotV2{Version: 2, ID: inv.ID, WorkspaceID: inv.WorkspaceID, PurchaseID: inv.PurchaseID,
		Number: inv.Number, IssuedAt: inv.IssuedAt, PaidAt: inv.PaidAt, Seller: partySnapshotV2(inv.Seller), Buyer: partySnapshotV2(inv.Buyer),
		Description: inv.Description, Quantity: inv.Quantity, UnitPrice: inv.UnitPrice, Subtotal: inv.Subtotal, Taxes: taxSnapshots(inv.Taxes),
		Amount: inv.Amount, Currency: inv.Currency, CardBrand: inv.CardBrand, CardLast4: inv.CardLast4, Kind: string(inv.Kind),
		Note: inv.Note, TaxRule: string(inv.TaxRule)})
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
		// Version 1 printed no tax section: its subtotal is its total.
		return Invoice{ID: s.ID, WorkspaceID: s.WorkspaceID, PurchaseID: s.PurchaseID, Number: s.Number, IssuedAt: s.IssuedAt.UTC(),
			PaidAt: s.PaidAt.UTC(), Seller: partyV1(s.Seller), Buyer: partyV1(s.Buyer), Description: s.Description, Quantity: s.Quantity,
			UnitPrice: s.UnitPrice, Subtotal: s.Amount, Amount: s.Amount, Currency: s.Currency, CardBrand: s.CardBrand, CardLast4: s.CardLast4,
			Kind: PurchaseKind(s.Kind)}, nil
	case 2:
		var s invoiceSnapshotV2
		if err := json.Unmarshal(b, &s); err != nil {
			return Invoice{}, fmt.Errorf("decode invoice: %w", err)
		}
		return Invoice{ID: s.ID, WorkspaceID: s.WorkspaceID, PurchaseID: s.PurchaseID, Number: s.Number, IssuedAt: s.IssuedAt.UTC(),
			PaidAt: s.PaidAt.UTC(), Seller: Party(s.Seller), Buyer: Party(s.Buyer), Description: s.Description, Quantity: s.Quantity,
			UnitPrice: s.UnitPrice, Subtotal: s.Subtotal, Taxes: taxLines(s.Taxes), Amount: s.Amount, Currency: s.Currency,
			CardBrand: s.CardBrand, CardLast4: s.CardLast4, Kind: PurchaseKind(s.Kind), Note: s.Note, TaxRule: TaxMode(s.TaxRule)}, nil
	}
	return Invoice{}, fmt.Errorf("decode invoice: unknown snapshot version %d", v.Version)
}
