package pdf

import (
	"strings"

	"github.com/jung-kurt/gofpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// Page geometry in millimetres (A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	margin       = 18.0
	contentW     = pageW - 2*margin
	footerTop    = pageH - 20 // the footer rule
	bodyBottom   = footerTop - 6
	rightW       = 80.0 // the right-hand column: meta, payment, totals
	rightX       = margin + contentW - rightW
	leftW        = contentW - rightW - 10

	family     = "go"
	dateLayout = "2 January 2006"
	product    = "AI Router credits"
)

// Table columns: description takes what the numbers leave.
var cols = [4]float64{contentW - 22 - 36 - 36, 22, 36, 36}

type rgb [3]int

var (
	ink   = rgb{33, 37, 41}
	muted = rgb{108, 117, 125}
	rule  = rgb{206, 212, 218}
	green = rgb{25, 135, 84}
)

// page draws one invoice on a gofpdf document.
type page struct {
	doc   *gofpdf.Fpdf
	inv   Invoice
	pages int // total page count for the footer; 0 while counting
}

// layout builds the document; pages is the total page count to print in
// the footer, or 0 on the counting pass.
func layout(inv Invoice, pages int) (*gofpdf.Fpdf, error) {
	doc := gofpdf.New("P", "mm", "A4", "")
	// Compression, sorted catalogs and fixed dates make the bytes a
	// function of the invoice alone.
	doc.SetCompression(true)
	doc.SetCatalogSort(true)
	doc.SetCreationDate(inv.IssuedAt.UTC())
	doc.SetModificationDate(inv.IssuedAt.UTC())
	doc.SetTitle(clean(inv.Number), true)
	doc.SetAuthor(clean(inv.Seller.Name), true)
	doc.SetSubject("Invoice "+clean(inv.Number)+" for "+product, true)
	doc.SetCreator(product, true)
	doc.SetProducer("github.com/airouter/credits/pdf", true)
	doc.AddUTF8FontFromBytes(family, "", goregular.TTF)
	doc.AddUTF8FontFromBytes(family, "B", gobold.TTF)
	doc.SetMargins(margin, margin, margin)
	doc.SetCellMargin(0)
	doc.SetAutoPageBreak(true, pageH-bodyBottom)
	if err := doc.Error(); err != nil {
		return nil, err
	}

	p := &page{doc: doc, inv: inv, pages: pages}
	doc.SetHeaderFunc(p.continuation)
	doc.SetFooterFunc(p.footer)
	doc.AddPage()
	p.header()
	p.parties()
	p.table()
	p.totals()
	doc.Close()
	if err := doc.Error(); err != nil {
		return nil, err
	}
	return doc, nil
}

func (p *page) font(style string, size float64, c rgb) {
	p.doc.SetFont(family, style, size)
	p.doc.SetTextColor(c[0], c[1], c[2])
}

func (p *page) line(x1, y, x2 float64, c rgb, width float64) {
	p.doc.SetDrawColor(c[0], c[1], c[2])
	p.doc.SetLineWidth(width)
	p.doc.Line(x1, y, x2, y)
}

// text writes wrapped text at x in a column w wide and returns the y below it.
func (p *page) text(x, y, w, h float64, s string) float64 {
	p.doc.SetXY(x, y)
	p.doc.MultiCell(w, h, clean(s), "", "L", false)
	return p.doc.GetY()
}

// header: seller on the left; "INVOICE", number and dates on the right.
func (p *page) header() {
	inv, top := p.inv, margin

	p.font("B", 14, ink)
	y := p.text(margin, top+1, leftW, 6.5, inv.Seller.Name) + 1
	p.font("", 9, muted)
	for _, l := range partyLines(inv.Seller) {
		y = p.text(margin, y, leftW, 4.6, l)
	}
	left := y

	p.font("B", 24, ink)
	p.doc.SetXY(rightX, top)
	p.doc.CellFormat(rightW, 10, "INVOICE", "", 2, "R", false, 0, "")
	y = top + 13
	rows := [][2]string{
		{"Invoice number", inv.Number},
		{"Issue date", inv.IssuedAt.UTC().Format(dateLayout)},
		{"Payment date", inv.PaidAt.UTC().Format(dateLayout)},
	}
	if k := clean(inv.Kind); k != "" {
		rows = append(rows, [2]string{"Type", k})
	}
	for _, r := range rows {
		y = p.keyValue(rightX, y, r[0], r[1])
	}
	p.doc.SetY(max(left, y) + 7)
	p.line(margin, p.doc.GetY(), margin+contentW, rule, 0.3)
	p.doc.SetY(p.doc.GetY() + 7)
}

// keyValue prints a muted label and a bold right-aligned value across the
// right-hand column and returns the y below them.
func (p *page) keyValue(x, y float64, key, value string) float64 {
	const labelW = 30.0
	p.font("", 9, muted)
	p.doc.SetXY(x, y)
	p.doc.CellFormat(labelW, 5, key, "", 0, "L", false, 0, "")
	p.font("B", 9, ink)
	value = clean(value)
	if p.doc.GetStringWidth(value) <= rightW-labelW {
		p.doc.CellFormat(rightW-labelW, 5, value, "", 2, "R", false, 0, "")
		return y + 5
	}
	// Too long for one line: wrap under the label, right-aligned.
	p.doc.SetXY(x+labelW, y)
	p.doc.MultiCell(rightW-labelW, 5, value, "", "R", false)
	return p.doc.GetY()
}

// partyLines is the address, tax ID and email of a party.
func partyLines(pt Party) []string {
	var out []string
	for _, l := range pt.Address {
		if l = clean(l); l != "" {
			out = append(out, l)
		}
	}
	if t := clean(pt.TaxID); t != "" {
		out = append(out, "Tax ID: "+t)
	}
	if e := clean(pt.Email); e != "" {
		out = append(out, e)
	}
	return out
}

// parties: "Bill to" on the left, payment details on the right.
func (p *page) parties() {
	inv, top := p.inv, p.doc.GetY()

	p.font("B", 8, muted)
	p.doc.SetXY(margin, top)
	p.doc.CellFormat(leftW, 5, "BILL TO", "", 2, "L", false, 0, "")
	p.font("B", 10.5, ink)
	y := p.text(margin, top+6, leftW, 5.5, inv.Buyer.Name) + 0.5
	p.font("", 9.5, ink)
	for _, l := range partyLines(inv.Buyer) {
		y = p.text(margin, y, leftW, 5, l)
	}
	left := y

	p.font("B", 8, muted)
	p.doc.SetXY(rightX, top)
	p.doc.CellFormat(rightW, 5, "PAYMENT", "", 2, "L", false, 0, "")
	p.font("B", 10.5, ink)
	y = p.text(rightX, top+6, rightW, 5.5, cardText(inv.CardBrand, inv.CardLast4)) + 0.5
	p.font("", 9.5, ink)
	y = p.text(rightX, y, rightW, 5, "Paid on "+inv.PaidAt.UTC().Format(dateLayout))
	if ref := clean(inv.TransactionRef); ref != "" {
		p.font("", 9.5, muted)
		y = p.text(rightX, y, rightW, 5, "Transaction "+ref)
	}
	p.doc.SetY(max(left, y) + 10)
}

// tableHeader draws the ruled column headings.
func (p *page) tableHeader() {
	y := p.doc.GetY()
	cur := clean(p.inv.Currency)
	p.line(margin, y, margin+contentW, ink, 0.4)
	p.font("B", 8, muted)
	p.doc.SetXY(margin, y+1.5)
	heads := []string{"DESCRIPTION", "QTY", "UNIT PRICE (" + cur + ")", "AMOUNT (" + cur + ")"}
	for i, h := range heads {
		p.doc.CellFormat(cols[i], 6, h, "", 0, align(i), false, 0, "")
	}
	y += 9
	p.line(margin, y, margin+contentW, rule, 0.3)
	p.doc.SetY(y)
}

func align(col int) string {
	if col == 0 {
		return "L"
	}
	return "R"
}

// room starts a new page (with the table heading again when inTable)
// unless h millimetres fit below the current position.
func (p *page) room(h float64, inTable bool) {
	if p.doc.GetY()+h <= bodyBottom {
		return
	}
	p.doc.AddPage()
	if inTable {
		p.tableHeader()
	}
}

// table draws the line items; a long description wraps within its column
// and a row that does not fit continues on the next page.
func (p *page) table() {
	const lh, pad = 5.0, 2.5
	p.room(9+lh+2*pad, false)
	p.tableHeader()
	for _, l := range p.inv.Lines {
		p.font("", 10, ink)
		desc := p.doc.SplitText(clean(l.Description), cols[0]-4)
		if len(desc) == 0 {
			desc = []string{""}
		}
		// Keep a row on one page unless it is taller than a page.
		rowH := float64(len(desc))*lh + 2*pad
		if rowH > bodyBottom-margin-20 {
			rowH = lh + 2*pad
		}
		p.room(rowH, true)
		p.font("", 10, ink) // a new page's header changed it
		y := p.doc.GetY() + pad
		p.doc.SetXY(margin+cols[0], y)
		for i, v := range []string{formatQuantity(l.Quantity), formatAmount(l.UnitPrice), formatAmount(l.Amount)} {
			p.doc.CellFormat(cols[i+1], lh, v, "", 0, "R", false, 0, "")
		}
		for i, d := range desc {
			if i > 0 && y+lh > bodyBottom {
				p.doc.AddPage()
				p.tableHeader()
				y = p.doc.GetY() + pad
				p.font("", 10, ink)
			}
			p.doc.SetXY(margin, y)
			p.doc.CellFormat(cols[0]-4, lh, d, "", 0, "L", false, 0, "")
			y += lh
		}
		y += pad
		p.line(margin, y, margin+contentW, rule, 0.3)
		p.doc.SetY(y)
	}
}

// totals: the PAID mark on the left, total and amount paid on the right.
func (p *page) totals() {
	inv := p.inv
	cur := clean(inv.Currency)
	p.room(40, false)
	top := p.doc.GetY() + 6

	y := top
	row := func(label, value string, bold bool, size float64) {
		style := ""
		if bold {
			style = "B"
		}
		p.font(style, size, ink)
		if !bold {
			p.font(style, size, muted)
		}
		p.doc.SetXY(rightX, y)
		p.doc.CellFormat(rightW/2, 7, label, "", 0, "L", false, 0, "")
		p.font(style, size, ink)
		p.doc.CellFormat(rightW/2, 7, value+" "+cur, "", 0, "R", false, 0, "")
		y += 7
	}
	row("Total", formatAmount(inv.Total), true, 11)
	row("Amount paid", formatAmount(inv.Total), false, 10)
	y += 1.5
	p.line(rightX, y, margin+contentW, rule, 0.3)
	y += 1.5
	row("Balance due", formatAmount(0), true, 10)

	// The PAID mark: a green stamp with the card and the payment date.
	const w, h = 72.0, 22.0
	p.doc.SetDrawColor(green[0], green[1], green[2])
	p.doc.SetLineWidth(0.7)
	p.doc.RoundedRect(margin, top, w, h, 2, "1234", "D")
	p.font("B", 18, green)
	p.doc.SetXY(margin, top+2.5)
	p.doc.CellFormat(w, 9, "PAID", "", 2, "C", false, 0, "")
	p.font("", 9, green)
	p.doc.SetX(margin)
	card := cardText(inv.CardBrand, inv.CardLast4)
	p.doc.CellFormat(w, 4.5, p.fit(card, w-4), "", 2, "C", false, 0, "")
	p.doc.SetX(margin)
	p.doc.CellFormat(w, 4.5, inv.PaidAt.UTC().Format(dateLayout), "", 2, "C", false, 0, "")
	p.doc.SetY(max(y, top+h) + 6)
}

// fit shortens s with an ellipsis until it is at most w wide in the
// current font.
func (p *page) fit(s string, w float64) string {
	s = clean(s)
	if p.doc.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && p.doc.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r)) + "…"
}

// continuation heads every page after the first.
func (p *page) continuation() {
	if p.doc.PageNo() == 1 {
		return
	}
	p.font("B", 9, ink)
	p.doc.SetXY(margin, margin-6)
	p.doc.CellFormat(contentW/2, 5, p.fit(p.inv.Seller.Name, contentW/2-4), "", 0, "L", false, 0, "")
	p.font("", 9, muted)
	p.doc.CellFormat(contentW/2, 5, p.fit("Invoice "+p.inv.Number+" (continued)", contentW/2), "", 0, "R", false, 0, "")
	p.line(margin, margin+1, margin+contentW, rule, 0.3)
	p.doc.SetY(margin + 7)
}

// footer: seller, invoice number and transaction reference; page number.
func (p *page) footer() {
	inv := p.inv
	p.line(margin, footerTop, margin+contentW, rule, 0.3)
	p.font("", 8, muted)
	num := "Page " + formatQuantity(int64(p.doc.PageNo()))
	if p.pages > 0 {
		num += " of " + formatQuantity(int64(p.pages))
	}
	const numW = 25.0
	parts := []string{clean(inv.Seller.Name), "Invoice " + clean(inv.Number)}
	if ref := clean(inv.TransactionRef); ref != "" {
		parts = append(parts, "Transaction "+ref)
	}
	left := strings.Join(nonEmpty(parts), "  ·  ")
	p.doc.SetXY(margin, footerTop+2)
	p.doc.CellFormat(contentW-numW, 4, p.fit(left, contentW-numW-4), "", 0, "L", false, 0, "")
	p.doc.CellFormat(numW, 4, num, "", 0, "R", false, 0, "")
}

func nonEmpty(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
