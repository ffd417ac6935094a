package billing

import (
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
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
