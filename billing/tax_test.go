package billing

import (
	"strings"
	"testing"
)

func TestSellerTaxOf_ReverseChargesVATRegistrationsAbroadOnly(t *testing.T) {
	german := Seller{Name: "AI Router GmbH", Country: "DE", TaxMode: TaxReverseCharge}
	american := Seller{Name: "AI Router Inc.", Country: "US", TaxMode: TaxReverseCharge}
	cases := []struct {
		name    string
		seller  Seller
		buyer   *TaxID
		reverse bool
	}{
		{"EU VAT of another member state", german, &TaxID{Country: "PL", Type: "eu_vat", Value: "PL5261025421"}, true},
		{"EU VAT of the seller's own country", german, &TaxID{Country: "DE", Type: "eu_vat", Value: "DE136695976"}, false},
		{"Northern Ireland (eu_vat, GB) to Germany", german, &TaxID{Country: "GB", Type: "eu_vat", Value: "XI123456782"}, true},
		{"UK VAT", german, &TaxID{Country: "GB", Type: "gb_vat", Value: "GB980780684"}, true},
		{"Swiss VAT", german, &TaxID{Country: "CH", Type: "ch_vat", Value: "CHE-123.456.788 MWST"}, true},
		{"Saudi VAT to a US seller", american, &TaxID{Country: "SA", Type: "sa_vat", Value: "123456789012345"}, true},
		{"OSS number: a seller's, not a buyer's registration", german, &TaxID{Country: "PL", Type: "eu_oss_vat", Value: "EU372000041"}, false},
		{"GST is not VAT", german, &TaxID{Country: "CA", Type: "ca_gst_hst", Value: "123456789RT0002"}, false},
		{"a company number is no VAT registration", german, &TaxID{Country: "US", Type: "us_ein", Value: "12-3456789"}, false},
		{"no tax ID: a consumer", german, nil, false},
		{"TAX_MODE none", Seller{Name: "x", Country: "DE", TaxMode: TaxNone}, &TaxID{Country: "PL", Type: "eu_vat", Value: "PL5261025421"}, false},
		{"TAX_MODE unset", Seller{Name: "x", Country: "DE"}, &TaxID{Country: "PL", Type: "eu_vat", Value: "PL5261025421"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			taxes, note := tc.seller.taxOf(tc.buyer)
			if tc.reverse {
				if len(taxes) != 1 || taxes[0] != (TaxLine{Label: "VAT", Rate: "0", Amount: 0}) || note != ReverseChargeNote {
					t.Fatalf("taxes %+v, note %q: want VAT 0%% and the reverse-charge note", taxes, note)
				}
				return
			}
			if len(taxes) != 0 || note != "" {
				t.Fatalf("taxes %+v, note %q: want none", taxes, note)
			}
		})
	}
}

func TestParseTaxMode_AcceptsNoneAndReverseChargeOnly(t *testing.T) {
	for in, want := range map[string]TaxMode{"": TaxNone, "none": TaxNone, " NONE ": TaxNone, "reverse_charge": TaxReverseCharge, "Reverse_Charge": TaxReverseCharge} {
		if got, err := ParseTaxMode(in); err != nil || got != want {
			t.Errorf("ParseTaxMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"vat", "reverse-charge", "none\x00", "0"} {
		if _, err := ParseTaxMode(bad); err == nil {
			t.Errorf("ParseTaxMode(%q) accepted", bad)
		}
	}
}

func TestCountryCode_ReadsCodesAndEnglishNames(t *testing.T) {
	for in, want := range map[string]string{"DE": "DE", "de": "DE", " Germany ": "DE", "germany": "DE", "United States": "US", "USA": "US",
		"United Kingdom": "GB", "UK": "GB", "Poland": "PL", "Greece": "GR", "Switzerland": "CH", "Japan": "JP"} {
		if got, ok := CountryCode(in); !ok || got != want {
			t.Errorf("CountryCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "XX", "ZZ", "Atlantis", "San Francisco, CA 94104", "EU", "D"} {
		if got, ok := CountryCode(bad); ok {
			t.Errorf("CountryCode(%q) = %q", bad, got)
		}
	}
}

func TestCheckSeller_RefusesDetailsAnInvoiceCannotCarry(t *testing.T) {
	ok := Seller{Name: "AI Router GmbH", Address: []string{"Friedrichstraße 68", "10117 Berlin", "Germany"}, Country: "DE",
		TaxID: "DE136695976", TaxIDType: "eu_vat", TaxMode: TaxReverseCharge}
	if err := CheckSeller(ok); err != nil {
		t.Fatalf("a good seller: %v", err)
	}
	if err := CheckSeller(Seller{Name: "AI Router Inc.", Address: []string{"548 Market St"}}); err != nil {
		t.Fatalf("the default seller: %v", err)
	}
	for name, tc := range map[string]struct {
		change func(*Seller)
		want   string
	}{
		"reverse charge without a country": {func(s *Seller) { s.Country = "" }, "SELLER_COUNTRY"},
		"a country that is no code":        {func(s *Seller) { s.Country = "Germany" }, "SELLER_COUNTRY"},
		"a tax ID failing its check digit": {func(s *Seller) { s.TaxID = "DE136695977" }, "SELLER_TAX_ID"},
		"a tax ID type without a number":   {func(s *Seller) { s.TaxID = "" }, "SELLER_TAX_ID"},
		"a tax ID type of another country": {func(s *Seller) { s.TaxIDType = "gb_vat" }, "SELLER_TAX_ID"},
		"an unknown tax mode":              {func(s *Seller) { s.TaxMode = "vat" }, "tax mode"},
		"a name invoices cannot print":     {func(s *Seller) { s.Name = "שלום בע\"מ" }, "SELLER_NAME"},
		"an escape code in the address":    {func(s *Seller) { s.Address = []string{"\x1b[31mred"} }, "SELLER_ADDRESS"},
	} {
		t.Run(name, func(t *testing.T) {
			s := ok
			tc.change(&s)
			if err := CheckSeller(s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckSeller = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestSellerParty_PrintsTheRegistrationWithItsLabelAndCountry(t *testing.T) {
	p := Seller{Name: "AI Router GmbH", Country: "DE", TaxID: "DE136695976", TaxIDType: "eu_vat"}.party()
	if p.TaxID != "DE136695976" || p.TaxIDLabel != "EU VAT" || p.TaxIDCountry != "Germany" {
		t.Fatalf("party %+v", p)
	}
	// Without a type: "Tax ID: … (United States)".
	p = Seller{Name: "AI Router Inc.", Country: "US", TaxID: "12-3456789"}.party()
	if p.TaxIDLabel != "" || p.TaxIDCountry != "United States" {
		t.Fatalf("party %+v", p)
	}
	// Without a registration: nothing about tax IDs.
	if p := (Seller{Name: "AI Router Inc.", Country: "US"}).party(); p.TaxIDCountry != "" || p.TaxIDLabel != "" {
		t.Fatalf("party %+v", p)
	}
}

func TestBuyerParty_PrintsTheTaxIDWithItsLabelNeverTheCode(t *testing.T) {
	for typ, label := range map[string]string{"eu_vat": "EU VAT", "us_ein": "US EIN", "ca_gst_hst": "CA GST/HST", "sa_vat": "SA VAT", "no_such_type": "NO SUCH TYPE"} {
		p := buyerParty(BillingProfile{Name: "B", Address: Address{Line1: "x", City: "y", Country: "PL"}, TaxID: &TaxID{Country: "PL", Type: typ, Value: "V1"}})
		if p.TaxIDLabel != label || p.TaxID != "V1" || strings.Contains(p.TaxIDLabel+p.TaxID, "(") || strings.Contains(p.TaxIDLabel+p.TaxID, typ) && typ != "no_such_type" {
			t.Errorf("%s: %+v", typ, p)
		}
	}
}
