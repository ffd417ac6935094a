package billing

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/airouter/credits/money"
	"github.com/airouter/credits/taxid"
)

// TaxMode is the tax rule invoices are issued under (TAX_MODE). Neither
// rule collects tax: the credits are sold at their face value and every
// invoice prints a tax row of 0.00. What differs is what the invoice says
// about the tax a buyer may owe.
type TaxMode string

const (
	// TaxNone (the default): "Tax 0.00", nothing more.
	TaxNone TaxMode = "none"
	// TaxReverseCharge: an invoice to a buyer whose tax ID is a VAT
	// registration (isVATRegistration) of another country than the
	// seller's prints "VAT 0%" and ReverseChargeNote: the buyer accounts
	// for the VAT in its own country. Any other buyer gets "Tax 0.00".
	TaxReverseCharge TaxMode = "reverse_charge"
)

// ReverseChargeNote is printed under the totals of a reverse-charged invoice.
const ReverseChargeNote = "Reverse charge: VAT to be accounted for by the recipient"

// ParseTaxMode reads TAX_MODE; "" is TaxNone.
func ParseTaxMode(s string) (TaxMode, error) {
	switch m := TaxMode(strings.ToLower(strings.TrimSpace(s))); m {
	case "", TaxNone:
		return TaxNone, nil
	case TaxReverseCharge:
		return m, nil
	}
	return "", fmt.Errorf("tax mode %q: want %q or %q", s, TaxNone, TaxReverseCharge)
}

// TaxLine is one tax row of an invoice or credit note. Rate is an exact
// decimal percentage ("0", "23", "8.875"), never a float.
type TaxLine struct {
	Label  string
	Rate   string
	Amount money.Amount
}

// taxOf is the one rule for the tax on an invoice: the rows and the note
// the seller's TaxMode gives a buyer with the given tax ID (nil: none).
// No rule collects tax, so the total is always the subtotal.
func (s Seller) taxOf(buyer *TaxID) (taxes []TaxLine, note string) {
	if s.TaxMode == TaxReverseCharge && buyer != nil && isVATRegistration(buyer.Type) && buyer.Country != s.Country {
		return []TaxLine{{Label: "VAT", Rate: "0", Amount: 0}}, ReverseChargeNote
	}
	return nil, ""
}

// isVATRegistration reports whether a Stripe tax ID type is a VAT
// registration, the kind a cross-border business supply is reverse-charged
// to: every *_vat type (eu_vat, gb_vat, ch_vat, no_vat, sa_vat, …) but
// eu_oss_vat, which the One Stop Shop issues to sellers outside the EU for
// their own sales and is no buyer's registration. GST numbers (ca_gst_hst,
// in_gst, au_abn, …) are not VAT here: a reverse-charge statement about
// VAT would be wrong on them.
func isVATRegistration(typ string) bool {
	return strings.HasSuffix(typ, "_vat") && typ != "eu_oss_vat"
}

// CountryCode reads a country given as an ISO 3166-1 alpha-2 code ("DE")
// or its English name ("Germany", "United States", also "USA" and "UK"),
// as the last line of SELLER_ADDRESS has it.
func CountryCode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if up := strings.ToUpper(s); isCountryCode(up) {
		if r, err := language.ParseRegion(up); err == nil && r.IsCountry() {
			return r.Canonicalize().String(), true // UK is GB
		}
		return "", false
	}
	code, ok := countryNames()[strings.ToLower(s)]
	return code, ok
}

// countryNames maps every country's English name (lower case) to its code.
var countryNames = sync.OnceValue(func() map[string]string {
	names := map[string]string{"usa": "US", "u.s.a.": "US", "united states of america": "US", "uk": "GB", "great britain": "GB"}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || !r.IsCountry() || r.Canonicalize().String() != code {
				continue
			}
			if name := display.English.Regions().Name(r); name != "" {
				names[strings.ToLower(name)] = code
			}
		}
	}
	return names
})

// CheckSeller checks the seller's invoice details at start-up: text an
// invoice can print, a country when the tax rule needs one, and a tax ID
// that fits its type and country when a type is given.
func CheckSeller(s Seller) error {
	if _, err := ParseTaxMode(string(s.TaxMode)); err != nil {
		return err
	}
	if err := checkPrintable("SELLER_NAME", s.Name); err != nil {
		return err
	}
	for _, l := range s.Address {
		if err := checkPrintable("SELLER_ADDRESS", l); err != nil {
			return err
		}
	}
	if err := checkPrintable("SELLER_TAX_ID", s.TaxID); err != nil {
		return err
	}
	if s.Country != "" && !isCountryCode(s.Country) {
		return fmt.Errorf("SELLER_COUNTRY %q is not a two-letter ISO 3166-1 code", s.Country)
	}
	if s.TaxMode == TaxReverseCharge && s.Country == "" {
		return fmt.Errorf("TAX_MODE=%s needs the seller's country: set SELLER_COUNTRY (e.g. DE), or end SELLER_ADDRESS with the country's name", TaxReverseCharge)
	}
	if s.TaxIDType != "" {
		if s.TaxID == "" {
			return fmt.Errorf("SELLER_TAX_ID_TYPE %q is set without SELLER_TAX_ID", s.TaxIDType)
		}
		if _, err := taxid.Validate(taxid.ID{Country: s.Country, Type: s.TaxIDType, Value: s.TaxID}); err != nil {
			return fmt.Errorf("SELLER_TAX_ID: %w", err)
		}
	}
	return nil
}
