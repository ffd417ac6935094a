package pdf

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"

	"github.com/airouter/credits/money"
)

// document is what the layout prints. An invoice and a credit note are
// the same page with other words: each converts itself to a document, so
// the layout is written once.
type document struct {
	title    string      // "INVOICE", top right
	kind     string      // "Invoice": footer, continuation heading, metadata
	number   string      // "CR-2026-000123"
	issuedAt time.Time   // also the PDF's creation date, for deterministic bytes
	facts    [][2]string // label and value rows under the title
	seller   Party
	buyer    Party
	panel    panel // beside "Bill to"
	lines    []Line
	currency string
	totals   []total
	stamp    *stamp // left of the totals; nil for none
	note     string // under the totals
	ref      string // transaction reference, in the footer
}

// panel is the block right of "Bill to": a heading, a bold first line,
// then plain and muted lines.
type panel struct {
	heading string
	title   string
	lines   []string
	muted   []string
}

// stamp is the framed mark left of the totals: "PAID", card, date.
type stamp struct {
	word  string
	lines []string
}

// total is one row of the totals block.
type total struct {
	label  string
	amount money.Amount
	strong bool // bold: the figure that matters
	ruled  bool // a rule above it
}

// snapshot is an Invoice or a CreditNote.
type snapshot interface {
	validate() error
	document() document
}

// renderSnapshot checks s and renders it; what and number name it in errors.
func renderSnapshot(what, number string, s snapshot) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("pdf: %s %q: %w", what, number, err)
	}
	doc, err := s.document().render()
	if err != nil {
		return nil, fmt.Errorf("pdf: render %s %s: %w", what, number, err)
	}
	return doc, nil
}

// field is a required field of a snapshot: its name and whether it is
// missing.
type field struct {
	name    string
	missing bool
}

// required refuses the first missing field.
func required(fields ...field) error {
	for _, f := range fields {
		if f.missing {
			return fmt.Errorf("%w: no %s", ErrInvalid, f.name)
		}
	}
	return nil
}

// render lays the document out once to count the pages, then again to
// print "Page n of N", and returns the bytes.
func (d document) render() ([]byte, error) {
	first, err := layout(d, 0)
	if err != nil {
		return nil, err
	}
	doc, err := layout(d, first.PageCount())
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// amounts are the figures of an invoice or credit note that must add up:
// lines to the subtotal, subtotal and taxes to the total.
type amounts struct {
	lines    []Line
	subtotal money.Amount
	taxes    []TaxLine
	total    money.Amount
}

// newAmounts takes a zero subtotal without taxes to be the total, as
// snapshots made before taxes were printed have it.
func newAmounts(lines []Line, subtotal money.Amount, taxes []TaxLine, total money.Amount) amounts {
	if subtotal == 0 && len(taxes) == 0 {
		subtotal = total
	}
	return amounts{lines: lines, subtotal: subtotal, taxes: taxes, total: total}
}

// check adds up in exact integer arithmetic and refuses any overflow.
func (a amounts) check() error {
	if len(a.lines) == 0 {
		return fmt.Errorf("%w: no line items", ErrInvalid)
	}
	var sum money.Amount
	for i, l := range a.lines {
		want, ok := mul(l.UnitPrice, l.Quantity)
		if !ok || want != l.Amount {
			return fmt.Errorf("%w: line %d: %s × %d is not %s", ErrInvalid, i+1, l.UnitPrice, l.Quantity, l.Amount)
		}
		if sum, ok = add(sum, l.Amount); !ok {
			return fmt.Errorf("%w: line amounts overflow", ErrInvalid)
		}
	}
	if sum != a.subtotal {
		return fmt.Errorf("%w: lines add up to %s, subtotal is %s", ErrInvalid, sum, a.subtotal)
	}
	for i, t := range a.taxes {
		if clean(t.Label) == "" {
			return fmt.Errorf("%w: tax %d has no label", ErrInvalid, i+1)
		}
		if t.Rate != "" && !validRate(t.Rate) {
			return fmt.Errorf("%w: tax %d: rate %q is not a percentage from 0 to 100 with at most 4 decimals", ErrInvalid, i+1, t.Rate)
		}
		var ok bool
		if sum, ok = add(sum, t.Amount); !ok {
			return fmt.Errorf("%w: subtotal and taxes overflow", ErrInvalid)
		}
	}
	if sum != a.total {
		return fmt.Errorf("%w: subtotal and taxes add up to %s, total is %s", ErrInvalid, sum, a.total)
	}
	return nil
}

// rows are the subtotal, one row per tax ("Tax 0.00" without any) and
// the total under the given label.
func (a amounts) rows(totalLabel string) []total {
	out := []total{{label: "Subtotal", amount: a.subtotal}}
	for _, t := range a.taxes {
		out = append(out, total{label: taxLabel(t), amount: t.Amount})
	}
	if len(a.taxes) == 0 {
		out = append(out, total{label: "Tax", amount: 0})
	}
	return append(out, total{label: totalLabel, amount: a.total, strong: true, ruled: true})
}

// taxLabel is "VAT 23%", or the label alone without a rate.
func taxLabel(t TaxLine) string {
	if t.Rate == "" {
		return clean(t.Label)
	}
	return clean(t.Label) + " " + t.Rate + "%"
}

// validRate accepts "0", "23", "8.875", "100": at most three integer
// digits without a leading zero, at most four decimals, not above 100.
func validRate(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 3 || (len(whole) > 1 && whole[0] == '0') || !digits(whole) {
		return false
	}
	if dot && (frac == "" || len(frac) > 4 || !digits(frac)) {
		return false
	}
	if len(whole) == 3 {
		return whole == "100" && strings.Trim(frac, "0") == ""
	}
	return true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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
