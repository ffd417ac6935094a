package pdf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/money"
)

// go test ./pdf -update rewrites testdata/invoice.golden.pdf. To refresh
// the picture in the docs afterwards:
//
//	pdftoppm -png -r 80 -singlefile pdf/testdata/invoice.golden.pdf docs/invoice-example
var update = flag.Bool("update", false, "rewrite testdata/invoice.golden.pdf")

const golden = "testdata/invoice.golden.pdf"

func example() Invoice {
	issued := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	amount := money.Dollars(1234) + 50*money.Cent
	return Invoice{
		Number:         "CR-2026-000123",
		IssuedAt:       issued,
		PaidAt:         issued.Add(-2 * time.Minute),
		TransactionRef: "5d3c2b1a-0f9e-4d8c-b7a6-958473625140",
		Seller: Party{
			Name:    "AI Router Inc.",
			Address: []string{"548 Market St", "San Francisco, CA 94104", "United States"},
			TaxID:   "US 12-3456789",
			Email:   "billing@airouter.example",
		},
		Buyer: Party{
			Name:    "Zofia Müller-Łęcka",
			Address: []string{"ul. Piotrkowska 12", "90-001 Łódź", "Poland"},
			TaxID:   "PL 1234567890 (eu_vat)",
			Email:   "zofia@example.pl",
		},
		Lines:     []Line{{Description: "AI Router credits", Quantity: 1, UnitPrice: amount, Amount: amount}},
		Total:     amount,
		Currency:  "USD",
		CardBrand: "visa",
		CardLast4: "4242",
		Kind:      "Purchase",
	}
}

func render(t *testing.T, inv Invoice) []byte {
	t.Helper()
	doc, err := Render(inv)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return doc
}

func TestRender_SameInvoiceGivesIdenticalBytes(t *testing.T) {
	want := render(t, example())
	for i := 0; i < 5; i++ { // map iteration order differs run to run
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
	doc := render(t, example())
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("starts with %q", doc[:min(len(doc), 16)])
	}
	if !bytes.HasSuffix(bytes.TrimSpace(doc), []byte("%%EOF")) {
		t.Fatalf("does not end with %q after trimming whitespace", "%%EOF")
	}
}

func TestRender_MatchesTheGoldenFile(t *testing.T) {
	got := render(t, example())
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./pdf -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("rendering differs from %s (%d bytes, want %d); look at the new output and run go test ./pdf -update if the change is intended", golden, len(got), len(want))
	}
}

// poppler runs a poppler-utils tool (pdftotext, pdfinfo) on doc. Without
// the tool the test fails, unless PDF_TEXT_OPTIONAL=1 makes it skip;
// make test installs poppler-utils first.
func poppler(t *testing.T, doc []byte, tool string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("PDF_TEXT_OPTIONAL") == "1" {
			t.Skipf("%s not on PATH (PDF_TEXT_OPTIONAL=1)", tool)
		}
		t.Fatalf("%s not on PATH: install poppler-utils (make test does), or set PDF_TEXT_OPTIONAL=1 to skip", tool)
	}
	cmd := exec.Command(tool, append(args, "-", "-")...)
	if tool == "pdfinfo" {
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

func text(t *testing.T, doc []byte) string {
	t.Helper()
	return poppler(t, doc, "pdftotext", "-layout", "-enc", "UTF-8")
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
	got := text(t, render(t, example()))
	containsAll(t, got,
		"INVOICE", "CR-2026-000123", "25 November 2026",
		"AI Router Inc.", "548 Market St", "San Francisco, CA 94104", "US 12-3456789",
		"BILL TO", "Zofia Müller-Łęcka", "ul. Piotrkowska 12", "90-001 Łódź", "Poland", "PL 1234567890 (eu_vat)",
		"AI Router credits", "1,234.50", "USD", "Total", "Amount paid", "Balance due", "0.00",
		"PAID", "Visa •••• 4242", "Purchase",
		"5d3c2b1a-0f9e-4d8c-b7a6-958473625140", "Page 1 of 1",
	)
	if strings.Contains(strings.ToLower(got), "tax:") || strings.Contains(got, "VAT ") {
		t.Error("the invoice shows a tax line; the service charges none")
	}
}

func TestRender_SetsMetadata(t *testing.T) {
	info := poppler(t, render(t, example()), "pdfinfo")
	for _, want := range []string{
		"Title:           CR-2026-000123",
		"Author:          AI Router Inc.",
		"Subject:         Invoice CR-2026-000123 for AI Router credits",
		"Pages:           1",
		"Page size:       595.28 x 841.89 pts (A4)",
		"CreationDate:    Wed Nov 25 09:30:00 2026",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, info)
		}
	}
}

func TestRender_PrintsNamesFromAnywhere(t *testing.T) {
	inv := example()
	inv.Buyer = Party{
		Name:    "Jürgen Müller",
		Address: []string{"Rua Augusta 1500", "01304-001 São Paulo", "Brasil"},
		TaxID:   "BR 12.345.678/0001-95 (br_cnpj)",
	}
	inv.Seller.Address = []string{"Vestergade 5", "5970 Ærøskøbing", "Danmark", "c/o Bahnhofstrasse 1, 8001 Zürich"}
	containsAll(t, text(t, render(t, inv)),
		"Jürgen Müller", "São Paulo", "Ærøskøbing", "Zürich", "BR 12.345.678/0001-95 (br_cnpj)")
}

func TestRender_ManyLinesAndLongTextWrapAcrossPages(t *testing.T) {
	inv := example()
	inv.Kind = "Auto top-up"
	inv.Buyer.Name = strings.Repeat("Ærøskøbing Handelsgesellschaft São Paulo ", 6) + "Zürich"
	inv.Buyer.Address = []string{strings.Repeat("Bahnhofstrasse 1, Zürich ", 8), "8001 Zürich", "Switzerland"}
	inv.Buyer.TaxID = "CH " + strings.Repeat("1234567890", 10) // no spaces to break at
	inv.Seller.Name = strings.Repeat("AI Router Incorporated Worldwide ", 4)
	inv.TransactionRef = strings.Repeat("tx-0123456789abcdef-", 6)
	inv.Lines = nil
	inv.Total = 0
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
		inv.Total += l.Amount
	}
	doc := render(t, inv)
	if !bytes.Equal(doc, render(t, inv)) {
		t.Error("a long invoice renders differently twice")
	}
	got := text(t, doc)
	containsAll(t, got, "Auto top-up", "batch 1", "batch 39", "Last very long", "8001 Zürich",
		formatAmount(inv.Total), "Page 1 of ", "(continued)", "PAID")
	info := poppler(t, doc, "pdfinfo")
	if strings.Contains(info, "Pages:           1\n") {
		t.Errorf("40 lines fit on one page?\n%s", info)
	}
}

func TestRender_SurvivesAwkwardText(t *testing.T) {
	inv := example()
	inv.Buyer.Name = "Tab\tand\nnewline\r\nname 🙂 東京 \u0000 Ελλάδα Москва"
	inv.Buyer.Address = []string{"", "  ", "line with trailing spaces   "}
	inv.Seller = Party{Name: ""}
	inv.CardBrand, inv.CardLast4 = "", ""
	inv.Kind, inv.TransactionRef = "", ""
	inv.Lines[0].Description = ""
	got := text(t, render(t, inv))
	containsAll(t, got, "Tab and newline name", "Ελλάδα Москва", "line with trailing spaces", "Card", "1,234.50")
}

func TestRender_RefusesInconsistentInvoices(t *testing.T) {
	for name, change := range map[string]func(*Invoice){
		"no number":       func(i *Invoice) { i.Number = " " },
		"no issue date":   func(i *Invoice) { i.IssuedAt = time.Time{} },
		"no payment date": func(i *Invoice) { i.PaidAt = time.Time{} },
		"no currency":     func(i *Invoice) { i.Currency = "" },
		"no lines":        func(i *Invoice) { i.Lines = nil },
		"total differs":   func(i *Invoice) { i.Total += money.Cent },
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
	} {
		t.Run(name, func(t *testing.T) {
			inv := example()
			inv.Lines = append([]Line(nil), inv.Lines...)
			change(&inv)
			doc, err := Render(inv)
			if !errors.Is(err, ErrInvalid) || doc != nil {
				t.Fatalf("Render = %d bytes, %v; want ErrInvalid", len(doc), err)
			}
		})
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
