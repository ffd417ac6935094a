package billing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/airouter/credits/billing"
)

// Issue 18: what an invoice cannot print as entered is refused at input,
// naming the field, never printed as boxes, reversed text or escape codes.
func TestBillingProfile_TextAnInvoiceCannotPrintIsRefusedNamingTheField(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	base := billing.BillingProfile{Name: "Zakład Łódź Sp. z o.o.", Address: billing.Address{Line1: "ul. Piotrkowska 12", City: "Łódź", PostalCode: "90-001", Country: "PL"},
		TaxID: &billing.TaxID{Country: "PL", Type: "eu_vat", Value: "5261025421"}}
	cases := []struct {
		name, field string
		change      func(*billing.BillingProfile)
	}{
		{"Hebrew name", "billing.name", func(p *billing.BillingProfile) { p.Name = "חברת אבג בע״מ" }},
		{"Arabic city", "billing.address.city", func(p *billing.BillingProfile) { p.Address.City = "الرياض" }},
		{"emoji in line 1", "billing.address.line1", func(p *billing.BillingProfile) { p.Address.Line1 = "Rocket St 1 🚀" }},
		{"terminal escape code in the name", "billing.name", func(p *billing.BillingProfile) { p.Name = "\x1b[31mEvil Corp\x1b[0m" }},
		{"C1 control sequence introducer", "billing.address.line2", func(p *billing.BillingProfile) { p.Address.Line2 = "Floor 2\u009b31m" }},
		{"right-to-left override", "billing.name", func(p *billing.BillingProfile) { p.Name = "Invoice\u202eGmbH" }},
		{"zero-width joiner", "billing.address.state", func(p *billing.BillingProfile) { p.Address.State = "Ma\u200dzowieckie" }},
		{"NUL", "billing.address.postalCode", func(p *billing.BillingProfile) { p.Address.PostalCode = "90\x00001" }},
		{"invalid UTF-8", "billing.name", func(p *billing.BillingProfile) { p.Name = "Zak\xc5ad" }},
		{"Thai (needs shaping)", "billing.address.city", func(p *billing.BillingProfile) { p.Address.City = "กรุงเทพมหานคร" }},
		{"a combining mark alone", "billing.name", func(p *billing.BillingProfile) { p.Name = "\u0301Acme" }},
		{"Han the font has no glyph for", "billing.name", func(p *billing.BillingProfile) { p.Name = "株式会社" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			tc.change(&p)
			_, err := f.svc.UpdateBillingProfile(ctx, ws, p)
			var berr *billing.Error
			if !errors.As(err, &berr) || berr.Code != billing.CodeBadUserInput || berr.Field != tc.field || !strings.Contains(berr.Message, tc.field) {
				t.Fatalf("UpdateBillingProfile = %v (%+v), want BAD_USER_INPUT naming %s", err, berr, tc.field)
			}
			// A purchase with it is refused before anything is charged.
			_, err = f.svc.AddCredits(ctx, ws, billing.PurchaseRequest{Amount: usd(t, "10"), NewPaymentMethod: "pm_card_visa", Billing: p})
			if billing.CodeOf(err) != billing.CodeBadUserInput {
				t.Fatalf("AddCredits = %v, want BAD_USER_INPUT", err)
			}
		})
	}
	if f.sandbox.Charges() != 0 {
		t.Fatalf("%d charges for refused profiles", f.sandbox.Charges())
	}
	if p, err := f.svc.GetBillingProfile(ctx, ws); err != nil || p != nil {
		t.Fatalf("a refused profile was saved: %+v %v", p, err)
	}
}

func TestBillingProfile_PolishGreekCyrillicVietnamesePrintAndAreStoredComposed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "0")
	decomposed := norm.NFD.String("Zofia Müller-Łęcka")
	for _, p := range []billing.BillingProfile{
		{Name: decomposed, Address: billing.Address{Line1: "ul. Piotrkowska 12", City: "Łódź", Country: "PL"}},
		{Name: "Γιώργος Παπαδόπουλος Α.Ε.", Address: billing.Address{Line1: "Οδός Τσιμισκή 43", City: "Θεσσαλονίκη", Country: "GR"}},
		{Name: "ООО «Ромашка»", Address: billing.Address{Line1: "ул. Тверская, 7", City: "Москва", Country: "RU"}},
		{Name: "Công ty Trách nhiệm Hữu hạn Đông Á", Address: billing.Address{Line1: "12 Nguyễn Huệ", City: "Thành phố Hồ Chí Minh", Country: "VN"}},
	} {
		got, err := f.svc.UpdateBillingProfile(ctx, ws, p)
		if err != nil {
			t.Fatalf("%q: %v", p.Name, err)
		}
		if !norm.NFC.IsNormalString(got.Name) || got.Name != norm.NFC.String(p.Name) {
			t.Fatalf("stored %q, want the NFC form of %q", got.Name, p.Name)
		}
	}
}
