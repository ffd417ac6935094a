package pdf

import (
	"bytes"
	"strings"

	"github.com/jung-kurt/gofpdf"
)

// Page geometry in millimetres (A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	margin       = 18.0
	contentW     = pageW - 2*margin
	footerTop    = pageH - 20 // the footer rule
	bodyBottom   = footerTop - 6
	rightW       = 80.0 // the right-hand column: facts, panel, totals
	rightX       = margin + contentW - rightW
	leftW        = contentW - rightW - 10

	family     = "DejaVuSansCondensed"
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

// page draws one document on a gofpdf document.
type page struct {
	pdf   *gofpdf.Fpdf
	d     document
	pages int // total page count for the footer; 0 while counting
}

// layout builds the PDF; pages is the total page count to print in the
// footer, or 0 on the counting pass.
func layout(d document, pages int) (*gofpdf.Fpdf, error) {
	pdf := gofpdf.New("P", "mm", "A4", "")
	// Compression, sorted catalogs and fixed dates make the bytes a
	// function of the document alone.
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(d.issuedAt.UTC())
	pdf.SetModificationDate(d.issuedAt.UTC())
	pdf.SetTitle(clean(d.number), true)
	pdf.SetAuthor(clean(d.seller.Name), true)
	pdf.SetSubject(d.kind+" "+clean(d.number)+" for "+product, true)
	pdf.SetCreator(product, true)
	pdf.SetProducer("github.com/airouter/credits/pdf", true)
	// Copies: gofpdf pads tables in place while it cuts the font subset,
	// writing into the bytes it was given, which concurrent renders share.
	pdf.AddUTF8FontFromBytes(family, "", bytes.Clone(regularTTF))
	pdf.AddUTF8FontFromBytes(family, "B", bytes.Clone(boldTTF))
	pdf.SetMargins(margin, margin, margin)
	pdf.SetCellMargin(0)
	pdf.SetAutoPageBreak(true, pageH-bodyBottom)
	if err := pdf.Error(); err != nil {
		return nil, err
	}

	p := &page{pdf: pdf, d: d, pages: pages}
	pdf.SetHeaderFunc(p.continuation)
	pdf.SetFooterFunc(p.footer)
	pdf.AddPage()
	p.header()
	p.parties()
	p.table()
	p.totals()
	p.note()
	// Not closed here: the counting pass needs only the page count, and
	// closing writes the embedded fonts, the dearest step; Output closes.
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	return pdf, nil
}

func (p *page) font(style string, size float64, c rgb) {
	p.pdf.SetFont(family, style, size)
	p.pdf.SetTextColor(c[0], c[1], c[2])
}

func (p *page) line(x1, y, x2 float64, c rgb, width float64) {
	p.pdf.SetDrawColor(c[0], c[1], c[2])
	p.pdf.SetLineWidth(width)
	p.pdf.Line(x1, y, x2, y)
}

// text writes wrapped text at x in a column w wide and returns the y below it.
func (p *page) text(x, y, w, h float64, s string) float64 {
	p.pdf.SetXY(x, y)
	p.pdf.MultiCell(w, h, clean(s), "", "L", false)
	return p.pdf.GetY()
}

// header: seller on the left; the title, number and dates on the right.
func (p *page) header() {
	d, top := p.d, margin

	p.font("B", 14, ink)
	y := p.text(margin, top+1, leftW, 6.5, d.seller.Name) + 1
	p.font("", 9, muted)
	for _, l := range partyLines(d.seller) {
		y = p.text(margin, y, leftW, 4.6, l)
	}
	left := y

	p.font("B", 24, ink)
	p.pdf.SetXY(rightX, top)
	p.pdf.CellFormat(rightW, 10, d.title, "", 2, "R", false, 0, "")
	y = top + 13
	for _, f := range d.facts {
		y = p.keyValue(rightX, y, f[0], f[1])
	}
	p.pdf.SetY(max(left, y) + 7)
	p.line(margin, p.pdf.GetY(), margin+contentW, rule, 0.3)
	p.pdf.SetY(p.pdf.GetY() + 7)
}

// keyValue prints a muted label and a bold right-aligned value across the
// right-hand column and returns the y below them.
func (p *page) keyValue(x, y float64, key, value string) float64 {
	const labelW = 32.0
	p.font("", 9, muted)
	p.pdf.SetXY(x, y)
	p.pdf.CellFormat(labelW, 5, key, "", 0, "L", false, 0, "")
	p.font("B", 9, ink)
	value = clean(value)
	if p.pdf.GetStringWidth(value) <= rightW-labelW {
		p.pdf.CellFormat(rightW-labelW, 5, value, "", 2, "R", false, 0, "")
		return y + 5
	}
	// Too long for one line: wrap under the label, right-aligned.
	p.pdf.SetXY(x+labelW, y)
	p.pdf.MultiCell(rightW-labelW, 5, value, "", "R", false)
	return p.pdf.GetY()
}

// partyLines is the address, tax ID and email of a party.
func partyLines(pt Party) []string {
	var out []string
	for _, l := range pt.Address {
		if l = clean(l); l != "" {
			out = append(out, l)
		}
	}
	if t := taxIDText(pt); t != "" {
		out = append(out, t)
	}
	if e := clean(pt.Email); e != "" {
		out = append(out, e)
	}
	return out
}

// taxIDText is "EU VAT PL1234567890", "VAT ID: DE123456789 (Germany)", or
// "Tax ID: …" without a label; "" without a number.
func taxIDText(pt Party) string {
	id := clean(pt.TaxID)
	if id == "" {
		return ""
	}
	label := clean(pt.TaxIDLabel)
	if label == "" {
		label = "Tax ID:"
	}
	s := label + " " + id
	if c := clean(pt.TaxIDCountry); c != "" {
		s += " (" + c + ")"
	}
	return s
}

// parties: "Bill to" on the left, the document's panel on the right.
func (p *page) parties() {
	d, top := p.d, p.pdf.GetY()
	left := p.block(margin, top, leftW, "BILL TO", d.buyer.Name, partyLines(d.buyer), nil)
	right := p.block(rightX, top, rightW, d.panel.heading, d.panel.title, d.panel.lines, d.panel.muted)
	p.pdf.SetY(max(left, right) + 10)
}

// block prints a small heading, a bold first line, then plain and muted
// lines, in a column w wide; it returns the y below them.
func (p *page) block(x, top, w float64, heading, title string, lines, mutedLines []string) float64 {
	p.font("B", 8, muted)
	p.pdf.SetXY(x, top)
	p.pdf.CellFormat(w, 5, heading, "", 2, "L", false, 0, "")
	p.font("B", 10.5, ink)
	y := p.text(x, top+6, w, 5.5, title) + 0.5
	p.font("", 9.5, ink)
	for _, l := range lines {
		y = p.text(x, y, w, 5, l)
	}
	p.font("", 9.5, muted)
	for _, l := range mutedLines {
		y = p.text(x, y, w, 5, l)
	}
	return y
}

// tableHeader draws the ruled column headings.
func (p *page) tableHeader() {
	y := p.pdf.GetY()
	cur := clean(p.d.currency)
	p.line(margin, y, margin+contentW, ink, 0.4)
	p.font("B", 8, muted)
	p.pdf.SetXY(margin, y+1.5)
	heads := []string{"DESCRIPTION", "QTY", "UNIT PRICE (" + cur + ")", "AMOUNT (" + cur + ")"}
	for i, h := range heads {
		p.pdf.CellFormat(cols[i], 6, h, "", 0, align(i), false, 0, "")
	}
	y += 9
	p.line(margin, y, margin+contentW, rule, 0.3)
	p.pdf.SetY(y)
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
	if p.pdf.GetY()+h <= bodyBottom {
		return
	}
	p.pdf.AddPage()
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
	for _, l := range p.d.lines {
		p.font("", 10, ink)
		desc := p.pdf.SplitText(clean(l.Description), cols[0]-4)
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
		y := p.pdf.GetY() + pad
		p.pdf.SetXY(margin+cols[0], y)
		for i, v := range []string{formatQuantity(l.Quantity), formatAmount(l.UnitPrice), formatAmount(l.Amount)} {
			p.pdf.CellFormat(cols[i+1], lh, v, "", 0, "R", false, 0, "")
		}
		for i, d := range desc {
			if i > 0 && y+lh > bodyBottom {
				p.pdf.AddPage()
				p.tableHeader()
				y = p.pdf.GetY() + pad
				p.font("", 10, ink)
			}
			p.pdf.SetXY(margin, y)
			p.pdf.CellFormat(cols[0]-4, lh, d, "", 0, "L", false, 0, "")
			y += lh
		}
		y += pad
		p.line(margin, y, margin+contentW, rule, 0.3)
		p.pdf.SetY(y)
	}
}

// totals: the stamp on the left, the totals rows on the right.
func (p *page) totals() {
	d := p.d
	cur := clean(d.currency)
	const rowH = 6.5
	h := float64(len(d.totals))*(rowH+3) + 6
	p.room(max(h, 30), false)
	top := p.pdf.GetY() + 6

	y := top
	for _, t := range d.totals {
		if t.ruled {
			y += 1.5
			p.line(rightX, y, margin+contentW, rule, 0.3)
			y += 1.5
		}
		style, labelColour := "", muted
		if t.strong {
			style, labelColour = "B", ink
		}
		p.font(style, 10, labelColour)
		p.pdf.SetXY(rightX, y)
		p.pdf.CellFormat(rightW/2, rowH, clean(t.label), "", 0, "L", false, 0, "")
		p.font(style, 10, ink)
		p.pdf.CellFormat(rightW/2, rowH, formatAmount(t.amount)+" "+cur, "", 0, "R", false, 0, "")
		y += rowH
	}

	bottom := y
	if s := d.stamp; s != nil {
		const w = 72.0
		sh := 13 + 4.5*float64(len(s.lines))
		p.pdf.SetDrawColor(green[0], green[1], green[2])
		p.pdf.SetLineWidth(0.7)
		p.pdf.RoundedRect(margin, top, w, sh, 2, "1234", "D")
		p.font("B", 18, green)
		p.pdf.SetXY(margin, top+2.5)
		p.pdf.CellFormat(w, 9, s.word, "", 2, "C", false, 0, "")
		p.font("", 9, green)
		for _, l := range s.lines {
			p.pdf.SetX(margin)
			p.pdf.CellFormat(w, 4.5, p.fit(l, w-4), "", 2, "C", false, 0, "")
		}
		bottom = max(bottom, top+sh)
	}
	p.pdf.SetY(bottom + 6)
}

// note prints the document's note, if any, under the totals.
func (p *page) note() {
	note := clean(p.d.note)
	if note == "" {
		return
	}
	p.font("", 9.5, ink)
	lines := p.pdf.SplitText(note, contentW)
	p.room(5*float64(len(lines))+2, false)
	p.line(margin, p.pdf.GetY(), margin+contentW, rule, 0.3)
	p.text(margin, p.pdf.GetY()+3, contentW, 5, note)
}

// fit shortens s with an ellipsis until it is at most w wide in the
// current font.
func (p *page) fit(s string, w float64) string {
	s = clean(s)
	if p.pdf.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && p.pdf.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return strings.TrimSpace(string(r)) + "…"
}

// continuation heads every page after the first.
func (p *page) continuation() {
	if p.pdf.PageNo() == 1 {
		return
	}
	p.font("B", 9, ink)
	p.pdf.SetXY(margin, margin-6)
	p.pdf.CellFormat(contentW/2, 5, p.fit(p.d.seller.Name, contentW/2-4), "", 0, "L", false, 0, "")
	p.font("", 9, muted)
	p.pdf.CellFormat(contentW/2, 5, p.fit(p.d.kind+" "+p.d.number+" (continued)", contentW/2), "", 0, "R", false, 0, "")
	p.line(margin, margin+1, margin+contentW, rule, 0.3)
	p.pdf.SetY(margin + 7)
}

// footer: seller, document number and transaction reference; page number.
func (p *page) footer() {
	d := p.d
	p.line(margin, footerTop, margin+contentW, rule, 0.3)
	p.font("", 8, muted)
	num := "Page " + formatQuantity(int64(p.pdf.PageNo()))
	if p.pages > 0 {
		num += " of " + formatQuantity(int64(p.pages))
	}
	const numW = 25.0
	parts := []string{clean(d.seller.Name), d.kind + " " + clean(d.number)}
	if ref := clean(d.ref); ref != "" {
		parts = append(parts, "Transaction "+ref)
	}
	left := strings.Join(nonEmpty(parts), "  ·  ")
	p.pdf.SetXY(margin, footerTop+2)
	p.pdf.CellFormat(contentW-numW, 4, p.fit(left, contentW-numW-4), "", 0, "L", false, 0, "")
	p.pdf.CellFormat(numW, 4, num, "", 0, "R", false, 0, "")
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
