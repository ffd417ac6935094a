package pdf

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
)

var update = flag.Bool("update", false, "rewrite testdata/invoice.golden.pdf")

func example() billing.Invoice {
	at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	amount := money.Dollars(1234) + 50*money.Cent
	return billing.Invoice{
		ID: uuid.MustParse("0b5f7c2e-8f41-4a57-9d0e-2f3c1a9e7b11"), PurchaseID: uuid.MustParse("5d3c2b1a-0f9e-4d8c-b7a6-958473625140"),
		Number: "CR-2026-000123", IssuedAt: at, PaidAt: at,
		Seller: billing.Party{Name: "AI Router Inc.", Address: []string{"548 Market St", "San Francisco, CA 94104", "United States"}, TaxID: "US 12-3456789"},
		Buyer: billing.Party{Name: "Zofia Müller-Łęcka", Address: []string{"ul. Piotrkowska 12", "90-001 Łódź", "Poland"},
			TaxID: "PL1234567890 (eu_vat)"},
		Description: "AI Router credits", Quantity: 1, UnitPrice: amount, Amount: amount, Currency: "USD",
		CardBrand: "visa", CardLast4: "4242", Kind: billing.PurchaseManual,
	}
}

func TestRender_IsDeterministic(t *testing.T) {
	a, err := Render(example())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(example())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same invoice differ")
	}
	if !bytes.HasPrefix(a, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(a), []byte("%%EOF")) {
		t.Fatal("output is not a PDF file")
	}
}

func TestRender_MatchesTheGoldenFile(t *testing.T) {
	got, err := Render(example())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "invoice.golden.pdf")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
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
		t.Fatal("rendering changed; inspect it and run go test ./pdf -update if intended")
	}
}

// Text extracts the text of a PDF with poppler's pdftotext.
func Text(t *testing.T, doc []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("PDF_TEXT_OPTIONAL") == "1" {
			t.Skip("pdftotext not installed (PDF_TEXT_OPTIONAL=1)")
		}
		t.Fatal("pdftotext not found: install poppler-utils (make test does)")
	}
	cmd := exec.Command("pdftotext", "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestRender_TextHasEverythingAFinanceTeamNeeds(t *testing.T) {
	doc, err := Render(example())
	if err != nil {
		t.Fatal(err)
	}
	text := Text(t, doc)
	for _, want := range []string{"INVOICE", "CR-2026-000123", "Zofia Müller-Łęcka", "90-001 Łódź", "PL1234567890 (eu_vat)",
		"AI Router credits", "1,234.50", "USD", "4242", "Visa", "PAID", "25 November 2026", "AI Router Inc.", "US 12-3456789"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
}

func TestRender_LongNamesAndAutoTopUpDoNotBreak(t *testing.T) {
	inv := example()
	inv.Buyer.Name = strings.Repeat("Ærøskøbing Handelsgesellschaft São Paulo ", 6)
	inv.Buyer.Address = []string{strings.Repeat("Bahnhofstrasse 1, Zürich ", 8), "8001 Zürich", "Switzerland"}
	inv.Kind = billing.PurchaseAuto
	doc, err := Render(inv)
	if err != nil {
		t.Fatal(err)
	}
	if text := Text(t, doc); !strings.Contains(text, "auto top-up") || !strings.Contains(text, "Zürich") {
		t.Fatalf("text: %s", text)
	}
}

func TestAmount_GroupsThousandsAndRoundsHalfUpToCents(t *testing.T) {
	for a, want := range map[money.Amount]string{
		0: "0.00", money.Dollars(5): "5.00", money.Dollars(1234567) + money.Cent: "1,234,567.01",
		money.Cent / 2: "0.01", money.Cent/2 - 1: "0.00", -money.Dollars(1000): "-1,000.00",
	} {
		if got := Amount(a); got != want {
			t.Errorf("Amount(%d) = %q, want %q", int64(a), got, want)
		}
	}
}
