package pdf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airouter/credits/money"
)

// creditNote is a partial refund of the reverse-charge invoice.
func creditNote() CreditNote {
	inv := reverseCharge()
	amount := money.Dollars(200)
	return CreditNote{
		Number:          "CN-2026-000007",
		IssuedAt:        time.Date(2026, 12, 3, 10, 15, 0, 0, time.UTC),
		InvoiceNumber:   inv.Number,
		InvoiceIssuedAt: inv.IssuedAt,
		TransactionRef:  "9a41c7e2-5b3d-4f18-8c06-2e7d9b4a1f53",
		Seller:          inv.Seller,
		Buyer:           inv.Buyer,
		Reason:          "Partial refund: unused credits returned at the customer's request",
		Lines:           oneLine("AI Router credits, partial refund", amount),
		Subtotal:        amount,
		Taxes:           zeroVAT(),
		Total:           amount,
		Note:            reverseChargeNote,
		Currency:        "USD",
	}
}

func TestRenderCreditNote_MatchesTheGoldenFile(t *testing.T) {
	matchGolden(t, "credit-note.golden.pdf", creditNoteDoc(t))
}

func TestRenderCreditNote_SameCreditNoteGivesIdenticalBytes(t *testing.T) {
	want := creditNoteDoc(t)
	for i := 0; i < 5; i++ {
		if got := renderCreditNote(t, creditNote()); !bytes.Equal(got, want) {
			t.Fatalf("render %d differs from the first", i+2)
		}
	}
	cn := creditNote()
	tokyo := time.FixedZone("JST", 9*3600)
	cn.IssuedAt, cn.InvoiceIssuedAt = cn.IssuedAt.In(tokyo), cn.InvoiceIssuedAt.In(tokyo)
	if got := renderCreditNote(t, cn); !bytes.Equal(got, want) {
		t.Fatal("time zone of the dates changed the bytes")
	}
	if bytes.Equal(want, reverseChargeDoc(t)) {
		t.Fatal("the credit note is the invoice")
	}
}

func TestRenderCreditNote_TextNamesTheInvoiceItCredits(t *testing.T) {
	cn := creditNote()
	doc := renderCreditNote(t, cn)
	got := words(t, doc)
	containsAll(t, got,
		"CREDIT NOTE", "CN-2026-000007", "3 December 2026",
		"Credit note for invoice CR-2026-000124", "26 November 2026",
		"AI Router GmbH", "VAT ID: DE123456789 (Germany)",
		"BILL TO", cn.Buyer.Name, "Attn: Γιώργος Παπαδόπουλος, Θεσσαλονίκη", "EU VAT PL7251801126",
		"Reason: "+cn.Reason, "AI Router credits, partial refund",
		"Subtotal", "VAT 0%", "Total credited", "200.00 USD", reverseChargeNote,
		"Transaction 9a41c7e2-5b3d-4f18-8c06-2e7d9b4a1f53", "Credit note CN-2026-000007", "Page 1 of 1",
	)
	layout := text(t, doc)
	rowsAre(t, layout, map[string]string{"Subtotal": "200.00", "VAT 0%": "0.00", "Total credited": "200.00"})
	for _, never := range []string{"PAID", "Amount paid", "Balance due", "INVOICE\n"} {
		if strings.Contains(layout, never) {
			t.Errorf("a credit note says %q", never)
		}
	}
}

func TestRenderCreditNote_WithoutTaxesPrintsTaxZero(t *testing.T) {
	cn := creditNote()
	cn.Subtotal, cn.Taxes, cn.Note = 0, nil, ""
	got := text(t, renderCreditNote(t, cn))
	rowsAre(t, got, map[string]string{"Subtotal": "200.00", "Tax": "0.00", "Total credited": "200.00"})
}

func TestRenderCreditNote_LongCreditNoteContinuesOnMorePages(t *testing.T) {
	cn := creditNote()
	cn.Reason = strings.Repeat("The customer disputed the charge with their bank and the dispute was lost. ", 5)
	cn.Lines = nil
	cn.Subtotal = 0
	for i := 0; i < 45; i++ {
		cn.Lines = append(cn.Lines, Line{Description: "Refunded credits", Quantity: 1, UnitPrice: money.Dollars(2), Amount: money.Dollars(2)})
		cn.Subtotal += money.Dollars(2)
	}
	cn.Total = cn.Subtotal
	doc := renderCreditNote(t, cn)
	got := text(t, doc)
	containsAll(t, got, "Credit note CN-2026-000007 (continued)", "Page 2 of ", "90.00 USD")
}

func TestRenderCreditNote_RefusesInconsistentCreditNotes(t *testing.T) {
	for name, change := range map[string]func(*CreditNote){
		"no number":         func(c *CreditNote) { c.Number = "" },
		"no issue date":     func(c *CreditNote) { c.IssuedAt = time.Time{} },
		"no invoice number": func(c *CreditNote) { c.InvoiceNumber = "\t" },
		"no invoice date":   func(c *CreditNote) { c.InvoiceIssuedAt = time.Time{} },
		"no reason":         func(c *CreditNote) { c.Reason = " \n" },
		"no currency":       func(c *CreditNote) { c.Currency = "" },
		"no lines":          func(c *CreditNote) { c.Lines = nil },
		"credits nothing": func(c *CreditNote) {
			c.Lines[0].UnitPrice, c.Lines[0].Amount, c.Subtotal, c.Total = 0, 0, 0, 0
		},
		"credits a negative amount": func(c *CreditNote) {
			m := -money.Dollars(200)
			c.Lines[0].UnitPrice, c.Lines[0].Amount, c.Subtotal, c.Total = m, m, m, m
		},
		"total differs":    func(c *CreditNote) { c.Total += money.Cent },
		"subtotal differs": func(c *CreditNote) { c.Subtotal -= money.Cent },
		"bad rate":         func(c *CreditNote) { c.Taxes[0].Rate = "zero" },
		"lines overflow": func(c *CreditNote) {
			big := Line{Description: "x", Quantity: 2, UnitPrice: 1 << 62, Amount: 0}
			c.Lines = []Line{big}
		},
	} {
		t.Run(name, func(t *testing.T) {
			cn := creditNote()
			cn.Lines = append([]Line(nil), cn.Lines...)
			cn.Taxes = append([]TaxLine(nil), cn.Taxes...)
			change(&cn)
			refused(t, RenderCreditNote, cn)
		})
	}
}

func TestRender_ConcurrentRendersGiveIdenticalBytes(t *testing.T) {
	want := reverseChargeDoc(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := CheckPrintable(polishBuyer.Name + polishBuyer.Address[3]); err != nil {
				errs <- err
				return
			}
			if doc, err := Render(reverseCharge()); err != nil || !bytes.Equal(doc, want) {
				errs <- fmt.Errorf("a concurrent render gave other bytes (%d, want %d) or %v", len(doc), len(want), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRenderCreditNote_PrintsDatesInUTCAcrossTheYearBoundary(t *testing.T) {
	cn := creditNote()
	cn.IssuedAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	cn.InvoiceIssuedAt = time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	want := renderCreditNote(t, cn)
	containsAll(t, words(t, want), "Issue date 1 January 2027", "Invoice issued 31 December 2026")
	for _, zone := range []*time.Location{time.FixedZone("UTC-12", -12*3600), time.FixedZone("UTC+14", 14*3600)} {
		cn.IssuedAt, cn.InvoiceIssuedAt = cn.IssuedAt.In(zone), cn.InvoiceIssuedAt.In(zone)
		if !bytes.Equal(renderCreditNote(t, cn), want) {
			t.Errorf("dates seen from %s change the credit note", zone)
		}
	}
}
