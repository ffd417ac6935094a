package pdf

import (
	"errors"
	"time"

	"github.com/airouter/credits/money"
)

// Invoice is an issued invoice's immutable snapshot.
type Invoice struct {
	Number         string // "CR-2026-000123"
	IssuedAt       time.Time
	PaidAt         time.Time
	TransactionRef string // our transaction id
	Seller         Party
	Buyer          Party
	Lines          []Line
	// Subtotal is the sum of the lines before tax. It may be left zero
	// when there are no Taxes: it is then the Total.
	Subtotal money.Amount
	// Taxes are the taxes charged on the subtotal, printed one row each
	// between Subtotal and Total. None prints one "Tax 0.00" row.
	Taxes     []TaxLine
	Total     money.Amount // Subtotal + Σ Taxes, the amount paid
	Note      string       // optional, printed under the totals: "Reverse charge: VAT to be accounted for by the recipient"
	Currency  string       // "USD"
	CardBrand string       // "visa"
	CardLast4 string       // "4242"
	Kind      string       // "Purchase" or "Auto top-up"
}

// Party is the seller or the buyer as printed on an invoice or credit note.
type Party struct {
	Name    string
	Address []string // already formatted lines, e.g. "ul. Piotrkowska 12", "90-001 Łódź", "Poland"
	// TaxID is the party's tax number, printed as given after its label:
	// "PL1234567890". Empty when it has none.
	TaxID string
	// TaxIDLabel names the kind of number in front of it, as taxid labels
	// it for people: "EU VAT" prints "EU VAT PL1234567890", "VAT ID:"
	// prints "VAT ID: DE123456789". Empty prints "Tax ID:". Never the
	// Stripe code ("eu_vat"): that is for machines.
	TaxIDLabel string
	// TaxIDCountry is the country that issued the number, printed after
	// it in parentheses: "VAT ID: DE123456789 (Germany)". Optional.
	TaxIDCountry string
	Email        string // optional
}

// Line is one line item.
type Line struct {
	Description string // "AI Router credits"
	Quantity    int64
	UnitPrice   money.Amount
	Amount      money.Amount
}

// TaxLine is one tax on the subtotal, as billing computed it: pdf checks
// that the amounts add up but computes no tax and applies no rounding.
type TaxLine struct {
	Label string // "VAT", "GST", "Sales tax"
	// Rate is the percentage as an exact decimal, printed as given after
	// the label: "23" prints "VAT 23%", "8.875" prints "Sales tax
	// 8.875%". Digits with at most four decimals, 0 to 100, no sign and
	// no leading zero ("0.5", not ".5" or "00.5"). Empty prints the label
	// alone (a tax with no single rate).
	Rate   string
	Amount money.Amount // "0.00" for a tax not collected (reverse charge, zero rate)
}

// ErrInvalid means a snapshot cannot be printed as it is: a required field
// is missing or its amounts do not add up.
var ErrInvalid = errors.New("invalid invoice")

// Render returns the PDF bytes; the same Invoice always gives identical
// bytes (dates are printed and stamped in UTC, so the same instants in
// another time zone give the same bytes too).
//
// It refuses, with an error wrapping ErrInvalid, an invoice without a
// number, issue or payment date, currency or lines; one whose line
// amounts are not quantity × unit price, or do not add up to Subtotal;
// one whose Subtotal and Taxes do not add up to Total, or with a tax
// without a label or with a malformed rate; and amounts whose sums
// overflow. Errors from gofpdf are returned wrapped.
func Render(inv Invoice) ([]byte, error) {
	return renderSnapshot("invoice", inv.Number, inv)
}

func (inv Invoice) validate() error {
	if err := required(
		field{"number", clean(inv.Number) == ""},
		field{"issue date", inv.IssuedAt.IsZero()}, // gofpdf would stamp a zero creation date with the clock
		field{"payment date", inv.PaidAt.IsZero()},
		field{"currency", clean(inv.Currency) == ""},
	); err != nil {
		return err
	}
	return inv.amounts().check()
}

func (inv Invoice) amounts() amounts {
	return newAmounts(inv.Lines, inv.Subtotal, inv.Taxes, inv.Total)
}

// document is the invoice in the layout's terms.
func (inv Invoice) document() document {
	paid := inv.PaidAt.UTC().Format(dateLayout)
	facts := [][2]string{
		{"Invoice number", inv.Number},
		{"Issue date", inv.IssuedAt.UTC().Format(dateLayout)},
		{"Payment date", paid},
	}
	if k := clean(inv.Kind); k != "" {
		facts = append(facts, [2]string{"Type", k})
	}
	card := cardText(inv.CardBrand, inv.CardLast4)
	a := inv.amounts()
	totals := append(a.rows("Total"),
		total{label: "Amount paid", amount: inv.Total},
		total{label: "Balance due", amount: 0, strong: true, ruled: true},
	)
	return document{
		title: "INVOICE", kind: "Invoice", number: inv.Number, issuedAt: inv.IssuedAt,
		facts:  facts,
		seller: inv.Seller, buyer: inv.Buyer,
		panel: panel{
			heading: "PAYMENT", title: card,
			lines: []string{"Paid on " + paid}, muted: transaction(inv.TransactionRef),
		},
		lines: inv.Lines, currency: inv.Currency, totals: totals,
		stamp: &stamp{word: "PAID", lines: []string{card, paid}},
		note:  inv.Note, ref: inv.TransactionRef,
	}
}

// transaction is the "Transaction …" line, or none without a reference.
func transaction(ref string) []string {
	if ref = clean(ref); ref == "" {
		return nil
	}
	return []string{"Transaction " + ref}
}
