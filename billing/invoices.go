package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/airouter/credits/money"
)

// Party is a seller or buyer as printed on an invoice.
type Party struct {
	Name    string   `json:"name"`
	Address []string `json:"address"`
	TaxID   string   `json:"tax_id,omitempty"`
}

// Seller is who issues invoices (SELLER_NAME, SELLER_ADDRESS, SELLER_TAX_ID).
type Seller = Party

// Invoice is an issued invoice: a frozen copy of everything printed on it.
type Invoice struct {
	ID          uuid.UUID    `json:"id"`
	WorkspaceID uuid.UUID    `json:"workspace_id"`
	PurchaseID  uuid.UUID    `json:"purchase_id"`
	Number      string       `json:"number"`
	IssuedAt    time.Time    `json:"issued_at"`
	PaidAt      time.Time    `json:"paid_at"`
	Seller      Party        `json:"seller"`
	Buyer       Party        `json:"buyer"`
	Description string       `json:"description"`
	Quantity    int64        `json:"quantity"`
	UnitPrice   money.Amount `json:"unit_price"`
	Amount      money.Amount `json:"amount"`
	Currency    string       `json:"currency"`
	CardBrand   string       `json:"card_brand"`
	CardLast4   string       `json:"card_last4"`
	Kind        PurchaseKind `json:"kind"`
}

// invoiceNumber formats the service-wide sequence number: CR-2026-000123.
// The year is the issue year; the sequence never restarts, so numbers stay
// unique and gapless across years.
func invoiceNumber(seq int64, issued time.Time) string {
	return fmt.Sprintf("CR-%d-%06d", issued.Year(), seq)
}

// issueInvoice issues the invoice of a purchase being settled in tx (which
// holds the purchase row lock, so it runs once per purchase). The counter
// row lock serialises issuers; a rollback returns the number unused.
func (s *Service) issueInvoice(ctx context.Context, tx *sql.Tx, p Purchase, now time.Time) error {
	if p.InvoiceID != nil {
		return nil
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `UPDATE invoice_counters SET last = last + 1 WHERE id = 1 RETURNING last`).Scan(&seq); err != nil {
		return fmt.Errorf("next invoice number: %w", err)
	}
	var buyerJSON []byte
	var brand, last4 string
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(buyer, '{}'), card_brand, card_last4 FROM purchases WHERE id = $1`, p.ID).Scan(&buyerJSON, &brand, &last4); err != nil {
		return fmt.Errorf("read purchase buyer: %w", err)
	}
	var buyer map[string]string
	if err := json.Unmarshal(buyerJSON, &buyer); err != nil {
		return fmt.Errorf("decode purchase buyer: %w", err)
	}
	inv := Invoice{
		ID: uuid.New(), WorkspaceID: p.WorkspaceID, PurchaseID: p.ID, Number: invoiceNumber(seq, now),
		IssuedAt: now, PaidAt: now, Seller: s.cfg.Seller, Buyer: buyerParty(buyer),
		Description: "AI Router credits", Quantity: 1, UnitPrice: p.Amount, Amount: p.Amount, Currency: money.Currency,
		CardBrand: brand, CardLast4: last4, Kind: p.Kind,
	}
	snapshot, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO invoices (id, workspace_id, purchase_id, seq, number, amount, issued_at, snapshot)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, inv.ID, inv.WorkspaceID, inv.PurchaseID, seq, inv.Number, int64(inv.Amount), now, snapshot); err != nil {
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
	return s.readInvoice(ctx, `SELECT snapshot FROM invoices WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
}

// InvoiceOfPurchase returns the invoice of a purchase of the workspace.
func (s *Service) InvoiceOfPurchase(ctx context.Context, workspaceID, purchaseID uuid.UUID) (Invoice, error) {
	return s.readInvoice(ctx, `SELECT snapshot FROM invoices WHERE workspace_id = $1 AND purchase_id = $2`, workspaceID, purchaseID)
}

func (s *Service) readInvoice(ctx context.Context, query string, args ...any) (Invoice, error) {
	var snapshot []byte
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&snapshot)
	if err == sql.ErrNoRows {
		return Invoice{}, notFound("invoice")
	}
	if err != nil {
		return Invoice{}, fmt.Errorf("read invoice: %w", err)
	}
	var inv Invoice
	if err := json.Unmarshal(snapshot, &inv); err != nil {
		return Invoice{}, fmt.Errorf("decode invoice: %w", err)
	}
	return inv, nil
}
