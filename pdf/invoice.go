package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
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
	Total          money.Amount
	Currency       string // "USD"
	CardBrand      string // "visa"
	CardLast4      string // "4242"
	Kind           string // "Purchase" or "Auto top-up"
}

// Party is the seller or the buyer as printed on the invoice.
type Party struct {
	Name    string
	Address []string // already formatted lines, e.g. "ul. Piotrkowska 12", "90-001 Łódź", "Poland"
	TaxID   string   // e.g. "PL 1234567890 (eu_vat)", empty when none
	Email   string   // optional
}

// Line is one line item.
type Line struct {
	Description string // "AI Router credits"
	Quantity    int64
	UnitPrice   money.Amount
	Amount      money.Amount
}

// ErrInvalid means the invoice snapshot cannot be printed as it is: a
// required field is missing or its amounts do not add up.
var ErrInvalid = errors.New("invalid invoice")

// Render returns the PDF bytes; the same Invoice always gives identical
// bytes (dates are printed and stamped in UTC, so the same instants in
// another time zone give the same bytes too).
//
// It refuses, with an error wrapping ErrInvalid, an invoice without a
// number, issue or payment date, currency or lines, or one whose line
// amounts are not quantity × unit price or do not add up to Total.
// Errors from gofpdf are returned wrapped.
func Render(inv Invoice) ([]byte, error) {
	if err := inv.validate(); err != nil {
		return nil, fmt.Errorf("pdf: invoice %q: %w", inv.Number, err)
	}
	// Lay out once to count the pages, then again to print "Page n of N".
	first, err := layout(inv, 0)
	if err != nil {
		return nil, fmt.Errorf("pdf: render invoice %s: %w", inv.Number, err)
	}
	doc, err := layout(inv, first.PageCount())
	if err != nil {
		return nil, fmt.Errorf("pdf: render invoice %s: %w", inv.Number, err)
	}
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: render invoice %s: %w", inv.Number, err)
	}
	return buf.Bytes(), nil
}

func (inv Invoice) validate() error {
	switch {
	case clean(inv.Number) == "":
		return fmt.Errorf("%w: no number", ErrInvalid)
	case inv.IssuedAt.IsZero():
		// gofpdf would stamp a zero creation date with the clock.
		return fmt.Errorf("%w: no issue date", ErrInvalid)
	case inv.PaidAt.IsZero():
		return fmt.Errorf("%w: no payment date", ErrInvalid)
	case clean(inv.Currency) == "":
		return fmt.Errorf("%w: no currency", ErrInvalid)
	case len(inv.Lines) == 0:
		return fmt.Errorf("%w: no line items", ErrInvalid)
	}
	var sum money.Amount
	for i, l := range inv.Lines {
		want, ok := mul(l.UnitPrice, l.Quantity)
		if !ok || want != l.Amount {
			return fmt.Errorf("%w: line %d: %s × %d is not %s", ErrInvalid, i+1, l.UnitPrice, l.Quantity, l.Amount)
		}
		if sum, ok = add(sum, l.Amount); !ok {
			return fmt.Errorf("%w: line amounts overflow", ErrInvalid)
		}
	}
	if sum != inv.Total {
		return fmt.Errorf("%w: lines add up to %s, total is %s", ErrInvalid, sum, inv.Total)
	}
	return nil
}

// mul returns a × n, or false if it does not fit.
func mul(a money.Amount, n int64) (money.Amount, bool) {
	if a == 0 || n == 0 {
		return 0, true
	}
	neg := (a < 0) != (n < 0)
	ua, un := abs(int64(a)), abs(n)
	hi, lo := bits.Mul64(ua, un)
	if hi != 0 || lo > math.MaxInt64+1 || (lo == math.MaxInt64+1 && !neg) {
		return 0, false
	}
	if neg {
		return money.Amount(-lo), true
	}
	return money.Amount(lo), true
}

func abs(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

// add returns a + b, or false if it overflows.
func add(a, b money.Amount) (money.Amount, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}
