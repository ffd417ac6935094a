package pdf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airouter/credits/money"
)

// go test ./pdf -update rewrites the golden files in testdata/; the
// pictures in docs/ come from TestDocs_WritePictures (PDF_WRITE_DOCS=1).
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// example is the plain invoice: a US seller, no tax collected.
func example() Invoice {
	issued := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	amount := money.Dollars(1234) + 50*money.Cent
	return Invoice{
		Number:         "CR-2026-000123",
		IssuedAt:       issued,
		PaidAt:         issued.Add(-2 * time.Minute),
		TransactionRef: "5d3c2b1a-0f9e-4d8c-b7a6-958473625140",
		Seller: Party{
			Name:       "AI Router Inc.",
			Address:    []string{"548 Market St", "San Francisco, CA 94104", "United States"},
			TaxID:      "12-3456789",
			TaxIDLabel: "US EIN",
			Email:      "billing@airouter.example",
		},
		Buyer: Party{
			Name:       "Zofia Müller-Łęcka",
			Address:    []string{"ul. Piotrkowska 12", "90-001 Łódź", "Poland"},
			TaxID:      "PL1234567890",
			TaxIDLabel: "EU VAT",
			Email:      "zofia@example.pl",
		},
		Lines:     oneLine("AI Router credits", amount),
		Subtotal:  amount,
		Total:     amount,
		Currency:  "USD",
		CardBrand: "visa",
		CardLast4: "4242",
		Kind:      "Purchase",
	}
}

// The reverse-charge parties: a German seller registered for VAT, a
// Polish company with an EU VAT number and a contact in Thessaloniki.
var (
	germanSeller = Party{
		Name:         "AI Router GmbH",
		Address:      []string{"Friedrichstraße 68", "10117 Berlin", "Germany"},
		TaxID:        "DE123456789",
		TaxIDLabel:   "VAT ID:",
		TaxIDCountry: "Germany",
		Email:        "billing@airouter.example",
	}
	polishBuyer = Party{
		Name:       "Zakład Usług Informatycznych Łódź Sp. z o.o.",
		Address:    []string{"ul. Piotrkowska 104", "90-926 Łódź", "Poland", "Attn: Γιώργος Παπαδόπουλος, Θεσσαλονίκη"},
		TaxID:      "PL7251801126",
		TaxIDLabel: "EU VAT",
		Email:      "faktury@zui-lodz.example.pl",
	}
)

const reverseChargeNote = "Reverse charge: VAT to be accounted for by the recipient"

func oneLine(description string, amount money.Amount) []Line {
	return []Line{{Description: description, Quantity: 1, UnitPrice: amount, Amount: amount}}
}

// zeroVAT is the tax row of a reverse-charge document.
func zeroVAT() []TaxLine { return []TaxLine{{Label: "VAT", Rate: "0", Amount: 0}} }

// reverseCharge is an EU B2B purchase: no VAT collected, the buyer
// accounts for it.
func reverseCharge() Invoice {
	issued := time.Date(2026, 11, 26, 14, 5, 0, 0, time.UTC)
	amount := money.Dollars(500)
	return Invoice{
		Number:         "CR-2026-000124",
		IssuedAt:       issued,
		PaidAt:         issued.Add(-time.Minute),
		TransactionRef: "0b8e6f52-3c1d-4a7e-9f20-6d5c4b3a2918",
		Seller:         germanSeller,
		Buyer:          polishBuyer,
		Lines:          oneLine("AI Router credits", amount),
		Subtotal:       amount,
		Taxes:          zeroVAT(),
		Total:          amount,
		Note:           reverseChargeNote,
		Currency:       "USD",
		CardBrand:      "mastercard",
		CardLast4:      "5454",
		Kind:           "Purchase",
	}
}

// taxed is an invoice with tax collected, two rates on one subtotal.
func taxed() Invoice {
	inv := example()
	inv.Lines = []Line{
		{Description: "AI Router credits", Quantity: 4, UnitPrice: money.Dollars(25), Amount: money.Dollars(100)},
		{Description: "AI Router credits, priority", Quantity: 1, UnitPrice: money.Dollars(50), Amount: money.Dollars(50)},
	}
	inv.Subtotal = money.Dollars(150)
	inv.Taxes = []TaxLine{
		{Label: "GST", Rate: "5", Amount: money.Dollars(7) + 50*money.Cent},
		{Label: "PST", Rate: "8.875", Amount: money.Dollars(13) + 31*money.Cent},
	}
	inv.Total = money.Dollars(170) + 81*money.Cent
	return inv
}

// rendered is fn(s), failing the test on an error.
func rendered[S any](t *testing.T, fn func(S) ([]byte, error), s S) []byte {
	t.Helper()
	doc, err := fn(s)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func render(t *testing.T, inv Invoice) []byte {
	t.Helper()
	return rendered(t, Render, inv)
}

func renderCreditNote(t *testing.T, cn CreditNote) []byte {
	t.Helper()
	return rendered(t, RenderCreditNote, cn)
}

// The fixtures rendered once per test binary: many tests read them, and
// a render costs the better part of a second under the race detector.
var (
	exampleOnce       = sync.OnceValues(func() ([]byte, error) { return Render(example()) })
	reverseChargeOnce = sync.OnceValues(func() ([]byte, error) { return Render(reverseCharge()) })
	creditNoteOnce    = sync.OnceValues(func() ([]byte, error) { return RenderCreditNote(creditNote()) })
)

func exampleDoc(t *testing.T) []byte       { t.Helper(); return once(t, exampleOnce) }
func reverseChargeDoc(t *testing.T) []byte { t.Helper(); return once(t, reverseChargeOnce) }
func creditNoteDoc(t *testing.T) []byte    { t.Helper(); return once(t, creditNoteOnce) }

func once(t *testing.T, f func() ([]byte, error)) []byte {
	t.Helper()
	doc, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(doc) // a test may not change what the next one reads
}

func TestRender_SameInvoiceGivesIdenticalBytes(t *testing.T) {
	want := exampleDoc(t)
	for i := 0; i < 3; i++ { // map iteration order differs run to run
		if got := render(t, example()); !bytes.Equal(got, want) {
			t.Fatalf("render %d differs from the first", i+2)
		}
	}
	// The same instants seen from another zone are the same invoice.
	inv := example()
	warsaw := time.FixedZone("CET", 3600)
	inv.IssuedAt, inv.PaidAt = inv.IssuedAt.In(warsaw), inv.PaidAt.In(warsaw)
	if got := render(t, inv); !bytes.Equal(got, want) {
		t.Fatal("time zone of the dates changed the bytes")
	}
}

func TestRender_IsAPDFFile(t *testing.T) {
	doc := exampleDoc(t)
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("starts with %q", doc[:min(len(doc), 16)])
	}
	if !bytes.HasSuffix(bytes.TrimSpace(doc), []byte("%%EOF")) {
		t.Fatalf("does not end with %q after trimming whitespace", "%%EOF")
	}
}

// matchGolden compares doc with testdata/name, or rewrites it under -update.
func matchGolden(t *testing.T, name string, doc []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pdf -update to create it)", err)
	}
	if !bytes.Equal(doc, want) {
		t.Fatalf("rendering differs from %s (%d bytes, want %d); look at the new output and run go test ./pdf -update if the change is intended", path, len(doc), len(want))
	}
}

// The golden files last changed when invoices gained the tax section
// (subtotal, tax rows, note: TestRender_PrintsTheTaxSection), tax IDs
// printed with their labels (TestRender_PrintsTaxIDsWithTheirLabels) and
// the DejaVu Sans Condensed font replaced the Go fonts
// (TestRender_EmbedsTheDejaVuFontOnly).
func TestRender_MatchesTheGoldenFiles(t *testing.T) {
	matchGolden(t, "invoice.golden.pdf", exampleDoc(t))
	matchGolden(t, "invoice-reverse-charge.golden.pdf", reverseChargeDoc(t))
}

// poppler runs a poppler-utils tool (pdftotext, pdfinfo, pdffonts) on
// doc. Without the tool the test fails, unless PDF_TEXT_OPTIONAL=1 makes
// it skip; make test installs poppler-utils first.
func poppler(t *testing.T, doc []byte, tool string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("PDF_TEXT_OPTIONAL") == "1" {
			t.Skipf("%s not on PATH (PDF_TEXT_OPTIONAL=1)", tool)
		}
		t.Fatalf("%s not on PATH: install poppler-utils (make test does), or set PDF_TEXT_OPTIONAL=1 to skip", tool)
	}
	cmd := exec.Command(tool, append(args, "-", "-")...)
	if tool == "pdfinfo" || tool == "pdffonts" {
		cmd = exec.Command(tool, "-")
	}
	cmd.Stdin = bytes.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", tool, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("%s complains: %s", tool, stderr.String())
	}
	return string(out)
}

// text is the PDF's text laid out as printed.
func text(t *testing.T, doc []byte) string {
	t.Helper()
	return poppler(t, doc, "pdftotext", "-layout", "-enc", "UTF-8")
}

// words is the PDF's text in reading order with every run of white space
// one space, so a name wrapped over two lines reads as entered.
func words(t *testing.T, doc []byte) string {
	t.Helper()
	return strings.Join(strings.Fields(poppler(t, doc, "pdftotext", "-enc", "UTF-8")), " ")
}

func containsAll(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("PDF text lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("extracted text:\n%s", text)
	}
}

func TestRender_TextHasEverythingAFinanceTeamNeeds(t *testing.T) {
	got := text(t, exampleDoc(t))
	containsAll(t, got,
		"INVOICE", "CR-2026-000123", "25 November 2026",
		"AI Router Inc.", "548 Market St", "San Francisco, CA 94104", "US EIN 12-3456789",
		"BILL TO", "Zofia Müller-Łęcka", "ul. Piotrkowska 12", "90-001 Łódź", "Poland", "EU VAT PL1234567890",
		"AI Router credits", "1,234.50", "USD", "Subtotal", "Tax", "Total", "Amount paid", "Balance due", "0.00",
		"PAID", "Visa •••• 4242", "Purchase",
		"5d3c2b1a-0f9e-4d8c-b7a6-958473625140", "Page 1 of 1",
	)
}

// rowsAre checks the totals rows in pdftotext -layout output: each label
// starts a row that ends with the amount given and a currency.
func rowsAre(t *testing.T, text string, rows map[string]string) {
	t.Helper()
	for label, want := range rows {
		re := regexp.MustCompile(`(?m)` + regexp.QuoteMeta(label) + `\s+(-?[0-9,]+\.[0-9]{2}) [A-Z]{3}\s*$`)
		m := re.FindStringSubmatch(text)
		if m == nil || m[1] != want {
			t.Errorf("row %q: got %q, want %q", label, m, want)
		}
	}
	if t.Failed() {
		t.Logf("extracted text:\n%s", text)
	}
}

func TestRender_PrintsTheTaxSection(t *testing.T) {
	t.Run("no tax collected prints Tax 0.00", func(t *testing.T) {
		got := text(t, exampleDoc(t))
		rowsAre(t, got, map[string]string{"Subtotal": "1,234.50", "Tax": "0.00", "Total": "1,234.50", "Balance due": "0.00"})
	})
	t.Run("reverse charge prints VAT 0% and the note", func(t *testing.T) {
		got := text(t, reverseChargeDoc(t))
		rowsAre(t, got, map[string]string{"Subtotal": "500.00", "VAT 0%": "0.00", "Total": "500.00", "Amount paid": "500.00"})
		containsAll(t, got, reverseChargeNote)
	})
	t.Run("each tax is a row with its exact rate", func(t *testing.T) {
		got := text(t, render(t, taxed()))
		rowsAre(t, got, map[string]string{"Subtotal": "150.00", "GST 5%": "7.50", "PST 8.875%": "13.31", "Total": "170.81", "Amount paid": "170.81"})
	})
	t.Run("a snapshot without subtotal or taxes still prints", func(t *testing.T) {
		inv := example()
		inv.Subtotal = 0 // as invoices issued before taxes were printed
		got := text(t, render(t, inv))
		rowsAre(t, got, map[string]string{"Subtotal": "1,234.50"})
	})
}

func TestRender_PrintsTaxIDsWithTheirLabels(t *testing.T) {
	got := words(t, reverseChargeDoc(t))
	containsAll(t, got, "VAT ID: DE123456789 (Germany)", "EU VAT PL7251801126")
	inv := example()
	inv.Buyer.TaxIDLabel = "" // no label: the generic one
	containsAll(t, words(t, render(t, inv)), "Tax ID: PL1234567890")
	inv.Buyer.TaxID = "" // no number: no line, whatever the label
	if got := words(t, render(t, inv)); strings.Contains(got, "Tax ID") || strings.Contains(got, "EU VAT") {
		t.Errorf("a buyer without a tax ID shows one:\n%s", got)
	}
}

// stripeCode matches a Stripe tax ID type code such as eu_vat or br_cnpj,
// which billing must turn into a label before it reaches a document.
var stripeCode = regexp.MustCompile(`\b[a-z]{2}_[a-z_]+\b`)

// The examples are what the golden files and docs/ pictures hold.
func TestExamples_PrintNoStripeTaxIDCode(t *testing.T) {
	for name, doc := range map[string][]byte{
		"example":        exampleDoc(t),
		"reverse charge": reverseChargeDoc(t),
		"taxed":          render(t, taxed()),
		"credit note":    creditNoteDoc(t),
	} {
		if m := stripeCode.FindString(words(t, doc)); m != "" {
			t.Errorf("%s prints the raw code %q", name, m)
		}
	}
}

func TestRender_TextGivesBackWhatWasEnteredExactly(t *testing.T) {
	inv := reverseCharge()
	got := words(t, render(t, inv))
	containsAll(t, got,
		inv.Buyer.Name, // "Zakład Usług Informatycznych Łódź Sp. z o.o."
		"Attn: Γιώργος Παπαδόπουλος, Θεσσαλονίκη",
		"EU VAT "+inv.Buyer.TaxID,
		inv.Number, "500.00 USD", reverseChargeNote,
	)
	for _, name := range []string{
		"Nguyễn Thị Minh Khai Trading Co.", // Vietnamese: the Go fonts had no ư, ễ, ị
		"Şişli İnşaat Ltd. Şti., Ağaoğlu",  // Turkish dotted and dotless i
		"Ελληνική Εταιρεία Λογισμικού Α.Ε.",
		"ООО «Рога и Копыта», Санкт-Петербург",
		"Grüße aus Düsseldorf, Straße 5 — “quoted” ‘too’ € 1½",
		"Հայկական ընկերություն · ქართული კომპანია", // Armenian, Georgian
	} {
		if err := CheckPrintable(name); err != nil {
			t.Errorf("CheckPrintable(%q) = %v", name, err)
			continue
		}
		inv.Buyer.Name = name
		containsAll(t, words(t, render(t, inv)), name)
	}
}

func TestRender_EmbedsTheDejaVuFontOnly(t *testing.T) {
	fonts := poppler(t, reverseChargeDoc(t), "pdffonts")
	lines := strings.Split(strings.TrimSpace(fonts), "\n")[2:] // after the two heading lines
	if len(lines) != 2 {
		t.Fatalf("want the two weights, got:\n%s", fonts)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		// name type encoding emb sub uni object ID
		if !strings.HasPrefix(f[0], "utf8dejavusanscondensed") || f[len(f)-5] != "yes" || f[len(f)-3] != "yes" {
			t.Errorf("font not DejaVu Sans Condensed, embedded, with a ToUnicode map: %s", l)
		}
	}
}

func TestRenders_SetMetadata(t *testing.T) {
	for name, c := range map[string]struct {
		doc  []byte
		want []string
	}{
		"invoice": {exampleDoc(t), []string{
			"Title:           CR-2026-000123", "Author:          AI Router Inc.",
			"Subject:         Invoice CR-2026-000123 for AI Router credits",
			"CreationDate:    Wed Nov 25 09:30:00 2026"}},
		"credit note": {creditNoteDoc(t), []string{
			"Title:           CN-2026-000007", "Author:          AI Router GmbH",
			"Subject:         Credit note CN-2026-000007 for AI Router credits",
			"CreationDate:    Thu Dec  3 10:15:00 2026"}},
	} {
		t.Run(name, func(t *testing.T) {
			containsAll(t, poppler(t, c.doc, "pdfinfo"),
				append(c.want, "Pages:           1", "Page size:       595.28 x 841.89 pts (A4)")...)
		})
	}
}

func TestRender_PrintsNamesFromAnywhere(t *testing.T) {
	inv := example()
	inv.Buyer = Party{
		Name:       "Jürgen Müller",
		Address:    []string{"Rua Augusta 1500", "01304-001 São Paulo", "Brasil"},
		TaxID:      "12.345.678/0001-95",
		TaxIDLabel: "Brazilian CNPJ",
	}
	inv.Seller.Address = []string{"Vestergade 5", "5970 Ærøskøbing", "Danmark", "c/o Bahnhofstrasse 1, 8001 Zürich"}
	containsAll(t, text(t, render(t, inv)),
		"Jürgen Müller", "São Paulo", "Ærøskøbing", "Zürich", "Brazilian CNPJ 12.345.678/0001-95")
}

func TestRender_ManyLinesAndLongTextWrapAcrossPages(t *testing.T) {
	inv := example()
	inv.Kind = "Auto top-up"
	inv.Buyer.Name = strings.Repeat("Ærøskøbing Handelsgesellschaft São Paulo ", 6) + "Zürich"
	inv.Buyer.Address = []string{strings.Repeat("Bahnhofstrasse 1, Zürich ", 8), "8001 Zürich", "Switzerland"}
	inv.Buyer.TaxID = "CHE" + strings.Repeat("1234567890", 10) // no spaces to break at
	inv.Seller.Name = strings.Repeat("AI Router Incorporated Worldwide ", 4)
	inv.TransactionRef = strings.Repeat("tx-0123456789abcdef-", 6)
	inv.Note = strings.Repeat("A long note that wraps over several lines of the page. ", 12)
	inv.Lines = nil
	inv.Subtotal = 0
	for i := 1; i <= 40; i++ {
		desc := fmt.Sprintf("AI Router credits, batch %d", i)
		if i%7 == 0 {
			desc += strings.Repeat(" — prepaid usage for Łódź and São Paulo teams", 4)
		}
		if i == 40 {
			desc = "Last" + strings.Repeat(" very long description line", 200) // taller than a page
		}
		unit := money.Cents(int64(i) * 1001)
		l := Line{Description: desc, Quantity: int64(i * 250), UnitPrice: unit}
		l.Amount = unit * money.Amount(l.Quantity)
		inv.Lines = append(inv.Lines, l)
		inv.Subtotal += l.Amount
	}
	inv.Taxes = []TaxLine{{Label: "VAT", Rate: "0", Amount: 0}, {Label: "Levy", Amount: money.Cent}}
	inv.Total = inv.Subtotal + money.Cent
	doc := render(t, inv)
	if !bytes.Equal(doc, render(t, inv)) {
		t.Error("a long invoice renders differently twice")
	}
	got := text(t, doc)
	containsAll(t, got, "Auto top-up", "batch 1", "batch 39", "Last very long", "8001 Zürich",
		formatAmount(inv.Total), "Levy", "Page 1 of ", "(continued)", "PAID", "A long note that wraps")
	info := poppler(t, doc, "pdfinfo")
	if strings.Contains(info, "Pages:           1\n") {
		t.Errorf("40 lines fit on one page?\n%s", info)
	}
}

func TestRender_SurvivesAwkwardText(t *testing.T) {
	inv := example()
	// Snapshots from before CheckPrintable may hold anything: it prints
	// as a space or one U+FFFD, never a box, an escape code or reversed
	// Hebrew.
	inv.Buyer.Name = "Tab\tand\nnewline\r\nname 🙂 東京 \u0000 Ελλάδα Москва \x1b[31mred\x1b[0m \u202Eevil\u202C שלום \xff"
	inv.Buyer.Address = []string{"", "  ", "line with trailing spaces   ", "zero\u200dwidth\u200bjoined"}
	inv.Seller = Party{Name: ""}
	inv.CardBrand, inv.CardLast4 = "", ""
	inv.Kind, inv.TransactionRef = "", ""
	inv.Lines[0].Description = ""
	got := words(t, render(t, inv))
	containsAll(t, got, "Tab and newline name � �� Ελλάδα Москва [31mred [0m evil ���� �", "line with trailing spaces",
		"zerowidthjoined", "Card", "1,234.50")
	if strings.ContainsAny(got, "\x1b\u202e\u200d") {
		t.Errorf("escape or invisible characters reached the PDF text:\n%q", got)
	}
}

func TestRender_RefusesInconsistentInvoices(t *testing.T) {
	for name, change := range map[string]func(*Invoice){
		"no number":       func(i *Invoice) { i.Number = " " },
		"no issue date":   func(i *Invoice) { i.IssuedAt = time.Time{} },
		"no payment date": func(i *Invoice) { i.PaidAt = time.Time{} },
		"no currency":     func(i *Invoice) { i.Currency = "" },
		"no lines":        func(i *Invoice) { i.Lines = nil },
		"total differs":   func(i *Invoice) { i.Total += money.Cent },
		"subtotal differs from lines": func(i *Invoice) {
			i.Subtotal += money.Cent
			i.Total += money.Cent
		},
		"subtotal and tax differ from total": func(i *Invoice) {
			i.Taxes = []TaxLine{{Label: "VAT", Rate: "23", Amount: money.Cent}}
		},
		"tax without subtotal": func(i *Invoice) {
			i.Subtotal = 0
			i.Taxes = []TaxLine{{Label: "VAT", Rate: "0"}}
		},
		"tax without label":  func(i *Invoice) { i.Taxes = []TaxLine{{Label: " ", Rate: "0"}} },
		"rate with a comma":  func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "7,5"}} },
		"rate above 100":     func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "100.5"}} },
		"rate in basis pts":  func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "2300"}} },
		"negative rate":      func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "-5"}} },
		"rate with percent":  func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "5%"}} },
		"rate as a float":    func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "1e1"}} },
		"rate, 5 decimals":   func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "8.87500"}} },
		"rate, leading zero": func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "05"}} },
		"rate, bare dot":     func(i *Invoice) { i.Taxes = []TaxLine{{Label: "VAT", Rate: "5."}} },
		"line amount is not qty × unit": func(i *Invoice) {
			i.Lines[0].Quantity = 2
		},
		"line overflows": func(i *Invoice) {
			i.Lines[0].Quantity = 1 << 40
		},
		"lines overflow": func(i *Invoice) {
			big := Line{Description: "x", Quantity: 1, UnitPrice: 1 << 62, Amount: 1 << 62}
			i.Lines = []Line{big, big}
		},
		"taxes overflow": func(i *Invoice) {
			i.Taxes = []TaxLine{{Label: "A", Amount: money.Amount(1<<63 - 1)}, {Label: "B", Amount: money.Amount(1<<63 - 1)}}
		},
		"negative taxes overflow": func(i *Invoice) {
			i.Taxes = []TaxLine{{Label: "A", Amount: money.Amount(-1 << 63)}, {Label: "B", Amount: money.Amount(-1 << 63)}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			inv := example()
			inv.Lines = append([]Line(nil), inv.Lines...)
			change(&inv)
			refused(t, Render, inv)
		})
	}
}

// refused checks that render refuses s with ErrInvalid and no bytes.
func refused[S any](t *testing.T, render func(S) ([]byte, error), s S) {
	t.Helper()
	doc, err := render(s)
	if !errors.Is(err, ErrInvalid) || doc != nil {
		t.Fatalf("render = %d bytes, %v; want ErrInvalid", len(doc), err)
	}
}

func TestRender_AcceptsTheLargestAmountsThatAddUp(t *testing.T) {
	inv := example()
	const most = money.Amount(1<<63 - 1)
	inv.Lines = []Line{{Description: "x", Quantity: 1, UnitPrice: most - money.Cent, Amount: most - money.Cent}}
	inv.Subtotal = most - money.Cent
	inv.Taxes = []TaxLine{{Label: "VAT", Rate: "100", Amount: money.Cent}}
	inv.Total = most
	containsAll(t, text(t, render(t, inv)), "9,223,372,036.85", "VAT 100%")
}

func TestValidRate(t *testing.T) {
	for rate, want := range map[string]bool{
		"0": true, "5": true, "23": true, "7.5": true, "8.875": true, "0.0001": true, "99.9999": true,
		"100": true, "100.0": true, "100.0000": true,
		"": false, ".5": false, "5.": false, "05": false, "00": false, "100.0001": false, "101": false,
		"1000": false, "-1": false, "+1": false, "1e2": false, "7,5": false, "5 ": false, " 5": false,
		"1.23456": false, "NaN": false, "٥": false, "５": false,
	} {
		if got := validRate(rate); got != want {
			t.Errorf("validRate(%q) = %v, want %v", rate, got, want)
		}
	}
}

func TestFormatAmount_IsExactWithTwoDecimals(t *testing.T) {
	for _, c := range []struct {
		a    money.Amount
		want string
	}{
		{0, "0.00"},
		{money.Cent, "0.01"},
		{money.Dollars(5), "5.00"},
		{money.Dollars(999) + 99*money.Cent, "999.99"},
		{money.Dollars(1000), "1,000.00"},
		{money.Dollars(1234) + 50*money.Cent, "1,234.50"},
		{money.Dollars(1234567) + money.Cent, "1,234,567.01"},
		{money.Cent / 2, "0.01"},      // half a cent rounds up
		{money.Cent/2 - 1, "0.00"},    // just under half rounds down
		{-money.Cent / 2, "-0.01"},    // half away from zero
		{-(money.Cent/2 - 1), "0.00"}, // no "-0.00"
		{-money.Dollars(1000), "-1,000.00"},
		{money.Amount(9_223_372_036_854_775_807), "9,223,372,036.85"},
		{money.Amount(-9_223_372_036_854_775_808), "-9,223,372,036.85"},
	} {
		if got := formatAmount(c.a); got != c.want {
			t.Errorf("formatAmount(%d) = %q, want %q", int64(c.a), got, c.want)
		}
	}
}

func TestFormatQuantity_GroupsThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 250000: "250,000", -1234567: "-1,234,567"} {
		if got := formatQuantity(n); got != want {
			t.Errorf("formatQuantity(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCardText(t *testing.T) {
	for _, c := range [][3]string{
		{"visa", "4242", "Visa •••• 4242"},
		{"amex", "0005", "American Express •••• 0005"},
		{"cartes_bancaires", "1001", "Cartes Bancaires •••• 1001"},
		{"new_brand", "1111", "New Brand •••• 1111"},
		{"", "", "Card"},
	} {
		if got := cardText(c[0], c[1]); got != c[2] {
			t.Errorf("cardText(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestMul_ReportsOverflow(t *testing.T) {
	if v, ok := mul(money.Dollars(3), -4); !ok || v != -money.Dollars(12) {
		t.Errorf("3 × -4 = %v, %v", v, ok)
	}
	if v, ok := mul(-1<<62, 2); !ok || v != -1<<63 {
		t.Errorf("-2^62 × 2 = %v, %v", v, ok)
	}
	if _, ok := mul(1<<62, 2); ok {
		t.Error("2^62 × 2 fits?")
	}
}
