package billing

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/money"
)

// An invoice issued before snapshots were versioned (the fixture was
// written by that code) must decode to the same invoice forever.
func TestInvoiceSnapshot_DecodesTheStoredV1Fixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/invoice_snapshot_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := decodeInvoiceSnapshot(raw)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Date(2026, 11, 28, 17, 13, 7, 738975242, time.UTC)
	switch {
	case inv.ID != uuid.MustParse("48416c69-e439-4a0e-ab55-22483a866b98"), inv.Number != "CR-2026-000001",
		!inv.IssuedAt.Equal(issued), !inv.PaidAt.Equal(issued):
		t.Fatalf("identity: %+v", inv)
	case inv.Buyer.Name != "Zakład Łódź Sp. z o.o." || len(inv.Buyer.Address) != 3 || inv.Buyer.Address[1] != "90-001 Łódź" ||
		inv.Buyer.TaxID != "PL5260001246 (eu_vat)":
		t.Fatalf("buyer: %+v", inv.Buyer)
	case inv.Seller.Name != "AI Router Inc." || len(inv.Seller.Address) != 3:
		t.Fatalf("seller: %+v", inv.Seller)
	case inv.Amount.String() != "25.00" || inv.UnitPrice.String() != "25.00" || inv.Quantity != 1 || inv.Currency != "USD":
		t.Fatalf("amounts: %+v", inv)
	case inv.CardBrand != "visa" || inv.CardLast4 != "4242" || inv.Kind != PurchaseManual || inv.Description != "AI Router credits":
		t.Fatalf("payment: %+v", inv)
	}
	// What is written now decodes to the same invoice.
	again, err := encodeInvoiceSnapshot(inv)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeInvoiceSnapshot(again)
	if err != nil || back.Number != inv.Number || back.Buyer.TaxID != inv.Buyer.TaxID || !back.IssuedAt.Equal(inv.IssuedAt) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if _, err := decodeInvoiceSnapshot([]byte(`{"v": 99}`)); err == nil {
		t.Fatal("an unknown snapshot version decoded")
	}
}

// An invoice of snapshot version 2 (taxes, labelled tax IDs, the rule in
// force) must decode to the same invoice forever, whatever TAX_MODE and
// the tax ID labels say by then.
func TestInvoiceSnapshot_DecodesTheStoredV2Fixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/invoice_snapshot_v2.json")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := decodeInvoiceSnapshot(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Invoice{ID: uuid.MustParse("0b8e6f52-3c1d-4a7e-9f20-6d5c4b3a2918"), WorkspaceID: uuid.MustParse("bd3db738-4517-4fe5-b7cb-199e3cb24d62"),
		PurchaseID: uuid.MustParse("6e77fa1e-06fa-4671-9ccb-3d1673d5cedc"), Number: "CR-2026-000124",
		IssuedAt: time.Date(2026, 11, 28, 18, 5, 0, 123456000, time.UTC), PaidAt: time.Date(2026, 11, 28, 18, 5, 0, 123456000, time.UTC),
		Seller: Party{Name: "AI Router GmbH", Address: []string{"Friedrichstraße 68", "10117 Berlin", "Germany"}, TaxID: "DE136695976",
			TaxIDType: "eu_vat", TaxIDLabel: "EU VAT", TaxIDCountry: "Germany"},
		Buyer: Party{Name: "Zakład Usług Informatycznych Łódź Sp. z o.o.", Address: []string{"ul. Piotrkowska 104", "90-926 Łódź", "Poland"},
			TaxID: "PL5261025421", TaxIDType: "eu_vat", TaxIDLabel: "EU VAT"},
		Description: "AI Router credits", Quantity: 1, UnitPrice: money.Dollars(500), Subtotal: money.Dollars(500),
		Taxes: []TaxLine{{Label: "VAT", Rate: "0", Amount: 0}}, Amount: money.Dollars(500), Currency: "USD", CardBrand: "mastercard",
		CardLast4: "4444", Kind: PurchaseManual, Note: ReverseChargeNote, TaxRule: TaxReverseCharge}
	if !reflect.DeepEqual(inv, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", inv, want)
	}
	again, err := encodeInvoiceSnapshot(inv)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := decodeInvoiceSnapshot(again); err != nil || !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

// Version 1 invoices printed no tax section: decoded, the subtotal is
// the total and no tax row or rule is invented for them.
func TestInvoiceSnapshot_V1HasNoTaxRowsAndItsTotalAsSubtotal(t *testing.T) {
	raw, err := os.ReadFile("testdata/invoice_snapshot_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := decodeInvoiceSnapshot(raw)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Subtotal != inv.Amount || len(inv.Taxes) != 0 || inv.Note != "" || inv.TaxRule != "" || inv.Buyer.TaxIDLabel != "" {
		t.Fatalf("v1 invoice: %+v", inv)
	}
}

func TestCreditNoteSnapshot_RoundTripsAndRefusesUnknownVersions(t *testing.T) {
	cn := CreditNote{ID: uuid.New(), WorkspaceID: uuid.New(), PurchaseID: uuid.New(), InvoiceID: uuid.New(), SourceID: uuid.New(),
		Number: "CN-2026-000007", IssuedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), InvoiceNumber: "CR-2026-000124",
		InvoiceIssuedAt: time.Date(2026, 11, 28, 18, 5, 0, 0, time.UTC), Reference: "re_123", Reason: "Unused credits",
		Seller: Party{Name: "AI Router GmbH", TaxID: "DE136695976", TaxIDLabel: "EU VAT"}, Buyer: Party{Name: "Γιώργος Παπαδόπουλος"},
		Description: "AI Router credits", Subtotal: money.Dollars(10), Taxes: []TaxLine{{Label: "VAT", Rate: "0"}}, Amount: money.Dollars(10),
		Currency: "USD", Note: ReverseChargeNote, TaxRule: TaxReverseCharge}
	raw, err := encodeCreditNoteSnapshot(cn)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeCreditNoteSnapshot(raw)
	if err != nil || !reflect.DeepEqual(back, cn) {
		t.Fatalf("round trip:\n%+v\n%+v %v", back, cn, err)
	}
	for _, bad := range []string{`{"v": 2}`, `{}`, `not json`} {
		if _, err := decodeCreditNoteSnapshot([]byte(bad)); err == nil {
			t.Fatalf("%s decoded", bad)
		}
	}
}
