// Package pdf renders an issued invoice as an A4 PDF with gofpdf. It takes
// billing's invoice snapshot and returns bytes; it knows nothing of the
// database or HTTP. Text is set in the Go fonts (embedded TrueType, UTF-8),
// so names like "Łódź" or "São Paulo" print as entered, and the output is
// deterministic: the same invoice always renders to the same bytes.
package pdf

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/jung-kurt/gofpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
)

const (
	pageW, margin = 210.0, 18.0
	contentW      = pageW - 2*margin
	dateLayout    = "2 January 2006"
)

var (
	ink   = [3]int{33, 37, 41}
	muted = [3]int{108, 117, 125}
	rule  = [3]int{206, 212, 218}
	paid  = [3]int{25, 135, 84}
)

// Render returns the invoice as PDF bytes.
func Render(inv billing.Invoice) ([]byte, error) {
	doc := gofpdf.New("P", "mm", "A4", "")
	doc.SetCompression(true)
	doc.SetCatalogSort(true)
	// Fixed dates make the bytes a function of the invoice alone.
	doc.SetCreationDate(inv.IssuedAt.UTC())
	doc.SetModificationDate(inv.IssuedAt.UTC())
	doc.SetTitle("Invoice "+inv.Number, true)
	doc.SetAuthor(inv.Seller.Name, true)
	doc.SetSubject("AI Router credits", true)
	doc.SetCreator("credits", true)
	doc.AddUTF8FontFromBytes("go", "", goregular.TTF)
	doc.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	doc.SetMargins(margin, margin, margin)
	doc.SetAutoPageBreak(true, 25)
	doc.SetFooterFunc(func() { footer(doc, inv) })
	doc.AddPage()

	header(doc, inv)
	parties(doc, inv)
	lineItems(doc, inv)
	totals(doc, inv)

	if err := doc.Error(); err != nil {
		return nil, fmt.Errorf("render invoice %s: %w", inv.Number, err)
	}
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		return nil, fmt.Errorf("render invoice %s: %w", inv.Number, err)
	}
	return buf.Bytes(), nil
}

func color(doc *gofpdf.Fpdf, c [3]int) { doc.SetTextColor(c[0], c[1], c[2]) }

func header(doc *gofpdf.Fpdf, inv billing.Invoice) {
	top := doc.GetY()
	// Seller, left.
	color(doc, ink)
	doc.SetFont("go", "B", 14)
	doc.MultiCell(contentW/2, 7, inv.Seller.Name, "", "L", false)
	doc.SetFont("go", "", 9)
	color(doc, muted)
	for _, l := range inv.Seller.Address {
		doc.MultiCell(contentW/2, 4.5, l, "", "L", false)
	}
	if inv.Seller.TaxID != "" {
		doc.MultiCell(contentW/2, 4.5, "Tax ID: "+inv.Seller.TaxID, "", "L", false)
	}
	leftBottom := doc.GetY()

	// Title and numbers, right.
	x := margin + contentW/2
	doc.SetXY(x, top)
	color(doc, ink)
	doc.SetFont("go", "B", 22)
	doc.CellFormat(contentW/2, 10, "INVOICE", "", 2, "R", false, 0, "")
	doc.SetFont("go", "", 9)
	for _, kv := range [][2]string{
		{"Invoice number", inv.Number},
		{"Issue date", inv.IssuedAt.UTC().Format(dateLayout)},
		{"Payment date", inv.PaidAt.UTC().Format(dateLayout)},
	} {
		doc.SetX(x)
		color(doc, muted)
		doc.CellFormat(contentW/4, 5, kv[0], "", 0, "R", false, 0, "")
		color(doc, ink)
		doc.SetFont("go", "B", 9)
		doc.CellFormat(contentW/4, 5, kv[1], "", 2, "R", false, 0, "")
		doc.SetFont("go", "", 9)
	}
	doc.SetY(max(leftBottom, doc.GetY()) + 8)
	hr(doc)
}

func hr(doc *gofpdf.Fpdf) {
	doc.SetDrawColor(rule[0], rule[1], rule[2])
	doc.SetLineWidth(0.3)
	y := doc.GetY()
	doc.Line(margin, y, pageW-margin, y)
	doc.SetY(y + 6)
}

func parties(doc *gofpdf.Fpdf, inv billing.Invoice) {
	top := doc.GetY()
	block := func(x float64, title string, lines []string) float64 {
		doc.SetXY(x, top)
		color(doc, muted)
		doc.SetFont("go", "B", 8)
		doc.CellFormat(contentW/2, 5, strings.ToUpper(title), "", 2, "L", false, 0, "")
		for i, l := range lines {
			doc.SetX(x)
			if i == 0 {
				color(doc, ink)
				doc.SetFont("go", "B", 10)
			} else {
				doc.SetFont("go", "", 9)
			}
			doc.MultiCell(contentW/2-6, 5, l, "", "L", false)
		}
		return doc.GetY()
	}
	buyer := append([]string{inv.Buyer.Name}, inv.Buyer.Address...)
	if inv.Buyer.TaxID != "" {
		buyer = append(buyer, "Tax ID: "+inv.Buyer.TaxID)
	}
	leftBottom := block(margin, "Bill to", buyer)
	payment := []string{
		"Paid",
		fmt.Sprintf("%s •••• %s", brandName(inv.CardBrand), inv.CardLast4),
		"on " + inv.PaidAt.UTC().Format(dateLayout),
		"Reference " + inv.PurchaseID.String(),
	}
	rightBottom := block(margin+contentW/2, "Payment", payment)
	doc.SetY(max(leftBottom, rightBottom) + 10)
}

func lineItems(doc *gofpdf.Fpdf, inv billing.Invoice) {
	cols := []float64{contentW - 75, 20, 27.5, 27.5}
	doc.SetFillColor(241, 243, 245)
	color(doc, muted)
	doc.SetFont("go", "B", 8)
	for i, h := range []string{"DESCRIPTION", "QTY", "UNIT PRICE", "AMOUNT"} {
		align := "R"
		if i == 0 {
			align = "L"
		}
		doc.CellFormat(cols[i], 8, h, "", 0, align, true, 0, "")
	}
	doc.Ln(8)
	color(doc, ink)
	doc.SetFont("go", "", 10)
	desc := inv.Description
	if inv.Kind == billing.PurchaseAuto {
		desc += " (auto top-up)"
	}
	doc.CellFormat(cols[0], 9, desc, "B", 0, "L", false, 0, "")
	doc.CellFormat(cols[1], 9, fmt.Sprint(inv.Quantity), "B", 0, "R", false, 0, "")
	doc.CellFormat(cols[2], 9, Amount(inv.UnitPrice), "B", 0, "R", false, 0, "")
	doc.CellFormat(cols[3], 9, Amount(inv.Amount), "B", 1, "R", false, 0, "")
	doc.Ln(4)
}

func totals(doc *gofpdf.Fpdf, inv billing.Invoice) {
	x := margin + contentW - 80
	row := func(label, value string, bold bool) {
		doc.SetX(x)
		style := ""
		if bold {
			style = "B"
		}
		doc.SetFont("go", style, 10)
		color(doc, muted)
		doc.CellFormat(40, 7, label, "", 0, "L", false, 0, "")
		color(doc, ink)
		doc.CellFormat(40, 7, value, "", 1, "R", false, 0, "")
	}
	row("Subtotal", Amount(inv.Amount)+" "+inv.Currency, false)
	row("Total", Amount(inv.Amount)+" "+inv.Currency, true)
	row("Amount paid", Amount(inv.Amount)+" "+inv.Currency, false)
	row("Amount due", Amount(0)+" "+inv.Currency, true)

	doc.Ln(6)
	doc.SetX(x + 40)
	doc.SetDrawColor(paid[0], paid[1], paid[2])
	doc.SetLineWidth(0.6)
	color(doc, paid)
	doc.SetFont("go", "B", 14)
	doc.CellFormat(40, 10, "PAID", "1", 1, "C", false, 0, "")
}

func footer(doc *gofpdf.Fpdf, inv billing.Invoice) {
	doc.SetY(-18)
	doc.SetDrawColor(rule[0], rule[1], rule[2])
	doc.SetLineWidth(0.3)
	color(doc, muted)
	doc.SetFont("go", "", 8)
	doc.CellFormat(contentW*0.75, 5, fmt.Sprintf("%s · %s · Transaction %s", inv.Seller.Name, inv.Number, inv.PurchaseID), "T", 0, "L", false, 0, "")
	doc.CellFormat(contentW*0.25, 5, fmt.Sprintf("Page %d", doc.PageNo()), "T", 0, "R", false, 0, "")
}

func brandName(b string) string {
	switch strings.ToLower(b) {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "American Express"
	case "":
		return "Card"
	}
	return strings.ToUpper(b[:1]) + b[1:]
}

// Amount prints an amount for people: thousands separators, two decimals,
// rounded half up to the cent (invoice amounts are whole cents already).
func Amount(a money.Amount) string {
	neg := a < 0
	if neg {
		a = -a
	}
	cents := int64((a + money.Cent/2) / money.Cent)
	whole := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	s := fmt.Sprintf("%s.%02d", b.String(), cents%100)
	if neg {
		s = "-" + s
	}
	return s
}
