package pdf

import (
	"fmt"
	"time"

	"github.com/airouter/credits/money"
)

// CreditNote is an issued credit note's immutable snapshot: it cancels an
// invoice wholly or in part (a refund, a lost dispute) without editing it.
type CreditNote struct {
	Number          string    // "CN-2026-000007"
	IssuedAt        time.Time // when the credit note was issued
	InvoiceNumber   string    // the invoice it credits: "CR-2026-000123"
	InvoiceIssuedAt time.Time // that invoice's issue date
	TransactionRef  string    // our refund or dispute id, or the purchase's: billing decides
	Seller          Party     // as on the invoice
	Buyer           Party     // as on the invoice
	Reason          string    // "Partial refund: unused credits"
	// Lines say what is credited, as an invoice's lines do: one
	// {"AI Router credits", 1, amount, amount} is enough.
	Lines    []Line
	Subtotal money.Amount // may be left zero when there are no Taxes: it is then the Total
	Taxes    []TaxLine    // the tax credited back, one row each; none prints "Tax 0.00"
	Total    money.Amount // the amount credited, Subtotal + Σ Taxes; more than zero
	Note     string       // optional, printed under the totals
	Currency string       // "USD"
}

// RenderCreditNote returns the credit note's PDF bytes, in the invoice's
// layout and as deterministic: the same CreditNote always gives identical
// bytes.
//
// It refuses, with an error wrapping ErrInvalid, a credit note without a
// number, issue date, invoice number or date, reason, currency or lines;
// one whose amounts do not add up as Render requires of an invoice; and
// one that credits nothing or less (Total ≤ 0). Errors from gofpdf are
// returned wrapped.
func RenderCreditNote(cn CreditNote) ([]byte, error) {
	return renderSnapshot("credit note", cn.Number, cn)
}

func (cn CreditNote) validate() error {
	if err := required(
		field{"number", clean(cn.Number) == ""},
		field{"issue date", cn.IssuedAt.IsZero()},
		field{"invoice number", clean(cn.InvoiceNumber) == ""},
		field{"invoice date", cn.InvoiceIssuedAt.IsZero()},
		field{"reason", clean(cn.Reason) == ""},
		field{"currency", clean(cn.Currency) == ""},
	); err != nil {
		return err
	}
	if cn.Total <= 0 {
		return fmt.Errorf("%w: credits %s", ErrInvalid, cn.Total)
	}
	return cn.amounts().check()
}

func (cn CreditNote) amounts() amounts {
	return newAmounts(cn.Lines, cn.Subtotal, cn.Taxes, cn.Total)
}

// document is the credit note in the layout's terms.
func (cn CreditNote) document() document {
	invoiceDate := cn.InvoiceIssuedAt.UTC().Format(dateLayout)
	return document{
		title: "CREDIT NOTE", kind: "Credit note", number: cn.Number, issuedAt: cn.IssuedAt,
		facts: [][2]string{
			{"Credit note number", cn.Number},
			{"Issue date", cn.IssuedAt.UTC().Format(dateLayout)},
			{"Invoice number", cn.InvoiceNumber},
			{"Invoice date", invoiceDate},
		},
		seller: cn.Seller, buyer: cn.Buyer,
		panel: panel{
			heading: "REFERENCE", title: "Credit note for invoice " + clean(cn.InvoiceNumber),
			lines: []string{"Invoice issued " + invoiceDate, "Reason: " + clean(cn.Reason)},
			muted: transaction(cn.TransactionRef),
		},
		lines: cn.Lines, currency: cn.Currency, totals: cn.amounts().rows("Total credited"),
		note: cn.Note, ref: cn.TransactionRef,
	}
}
