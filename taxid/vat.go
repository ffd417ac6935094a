package taxid

import (
	"fmt"
	"regexp"
	"strings"
)

// euVATType is Stripe's type for VAT numbers of EU member states, and of
// Northern Ireland traders (XI prefix, country GB).
const euVATType = "eu_vat"

// vatFormat is one country's VAT number under eu_vat.
type vatFormat struct {
	prefix string         // what the number starts with: the country code, but EL for Greece and XI for Northern Ireland
	body   *regexp.Regexp // what follows the prefix
	shape  string         // the whole number, as the reason for a bad value shows it
}

func vat(prefix, body, shape string) vatFormat {
	return vatFormat{prefix, exact(body), shape}
}

// memberStateVAT is keyed by ISO country code: formats only, as the
// European Commission's VIES documents them, without check digits (see doc.go).
var memberStateVAT = map[string]vatFormat{
	"AT": vat("AT", `U\d{8}`, "ATU followed by 8 digits"),
	"BE": vat("BE", `[01]\d{9}`, "BE followed by 10 digits starting with 0 or 1"),
	"BG": vat("BG", `\d{9,10}`, "BG followed by 9 or 10 digits"),
	"CY": vat("CY", `\d{8}[A-Z]`, "CY followed by 8 digits and a letter"),
	"CZ": vat("CZ", `\d{8,10}`, "CZ followed by 8, 9 or 10 digits"),
	"DE": vat("DE", `\d{9}`, "DE followed by 9 digits"),
	"DK": vat("DK", `\d{8}`, "DK followed by 8 digits"),
	"EE": vat("EE", `\d{9}`, "EE followed by 9 digits"),
	"GR": vat("EL", `\d{9}`, "EL followed by 9 digits"),
	// NIF, NIE and CIF: the first and last characters may each be a letter
	// or a digit, but not both digits.
	"ES": vat("ES", `[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z]`, "ES followed by 9 characters: a letter or digit, 7 digits, and a letter or digit (not both digits)"),
	"FI": vat("FI", `\d{8}`, "FI followed by 8 digits"),
	// The 2-character key avoids O and I, which read as 0 and 1.
	"FR": vat("FR", `[0-9A-HJ-NP-Z]{2}\d{9}`, "FR followed by a 2-character key (digits, or letters other than O and I) and 9 digits"),
	"HR": vat("HR", `\d{11}`, "HR followed by 11 digits"),
	"HU": vat("HU", `\d{8}`, "HU followed by 8 digits"),
	// Current numbers: 7 digits and 1 or 2 letters; older ones: a digit,
	// a letter, + or *, 5 digits and a letter.
	"IE": vat("IE", `\d{7}[A-W]{1,2}|\d[A-Z+*]\d{5}[A-W]`, "IE followed by 7 digits and 1 or 2 letters (older numbers: 8 characters with a letter second)"),
	"IT": vat("IT", `\d{11}`, "IT followed by 11 digits"),
	"LT": vat("LT", `\d{9}|\d{12}`, "LT followed by 9 or 12 digits"),
	"LU": vat("LU", `\d{8}`, "LU followed by 8 digits"),
	"LV": vat("LV", `\d{11}`, "LV followed by 11 digits"),
	"MT": vat("MT", `\d{8}`, "MT followed by 8 digits"),
	"NL": vat("NL", `\d{9}B\d{2}`, "NL followed by 9 digits, B and 2 digits"),
	"PL": vat("PL", `\d{10}`, "PL followed by 10 digits"),
	"PT": vat("PT", `\d{9}`, "PT followed by 9 digits"),
	"RO": vat("RO", `\d{2,10}`, "RO followed by 2 to 10 digits"),
	"SE": vat("SE", `\d{10}01`, "SE followed by 12 digits ending in 01"),
	"SI": vat("SI", `\d{8}`, "SI followed by 8 digits"),
	"SK": vat("SK", `\d{10}`, "SK followed by 10 digits"),
}

// northernIreland is eu_vat for country GB: under the Windsor Framework
// Northern Ireland traders keep EU VAT numbers for goods, written XI and
// the rest of their UK VAT number.
var northernIreland = vat("XI", ukVAT, "XI followed by 9 or 12 digits, or XIGD or XIHA followed by 3 digits")

// vatPrefixes are the prefixes that show a value already names a country,
// so a mismatch is reported instead of hidden behind a second prefix.
var vatPrefixes = func() map[string]bool {
	prefixes := map[string]bool{"GR": true, "GB": true, northernIreland.prefix: true}
	for _, f := range memberStateVAT {
		prefixes[f.prefix] = true
	}
	return prefixes
}()

// countryOfPrefix answers people who enter a VAT prefix as the country.
var countryOfPrefix = map[string]string{"EL": "GR for Greece", "XI": "GB for Northern Ireland"}

func vatFormatFor(country string) (vatFormat, bool) {
	if country == "GB" {
		return northernIreland, true
	}
	f, ok := memberStateVAT[country]
	return f, ok
}

// canonicalVAT makes sure a compacted eu_vat value starts with its
// member state's prefix: GR becomes EL, and a missing prefix is added. A
// value that starts with another country's prefix is left for checkVAT to
// report.
func canonicalVAT(country, value string) string {
	f, ok := vatFormatFor(country)
	switch {
	case !ok || strings.HasPrefix(value, f.prefix):
	// Northern Ireland status is a claim the user makes by typing XI; a
	// bare UK number more likely belongs under gb_vat, so none is added.
	case country == "GB":
	case country == "GR" && strings.HasPrefix(value, "GR"):
		value = f.prefix + value[len("GR"):]
	// The body test comes first because a French key may itself be two
	// letters that look like a prefix, as in FR + AT123456789.
	case f.body.MatchString(value) || len(value) < 2 || !vatPrefixes[value[:2]]:
		value = f.prefix + value
	}
	return value
}

// checkVAT checks a normalized eu_vat ID against its country's format.
func checkVAT(id ID) *Error {
	f, ok := vatFormatFor(id.Country)
	switch {
	case !ok && id.Country == "":
		return &Error{"country", "a country is required: eu_vat tax IDs are for EU member states"}
	case !ok:
		reason := fmt.Sprintf("eu_vat tax IDs are for EU member states (and GB for Northern Ireland), not %s", id.Country)
		if hint, ok := countryOfPrefix[id.Country]; ok {
			reason += ": use " + hint
		}
		return &Error{"country", reason}
	}
	expected := fmt.Sprintf("%s VAT numbers are %s", id.Country, f.shape)
	if id.Country == "GB" {
		expected = "Northern Ireland VAT numbers are " + f.shape + "; other UK VAT numbers use the type gb_vat"
	}
	rest, hasPrefix := strings.CutPrefix(id.Value, f.prefix)
	switch {
	case id.Value == "":
		return &Error{"value", "a tax ID number is required: " + expected}
	case hasPrefix && f.body.MatchString(rest):
		return nil
	case id.Country == "GB" && strings.HasPrefix(id.Value, "GB"):
		return &Error{"type", "GB VAT numbers use the type gb_vat; eu_vat with country GB is only for Northern Ireland numbers starting with XI"}
	case !hasPrefix && len(id.Value) >= 2 && vatPrefixes[id.Value[:2]]:
		return &Error{"value", fmt.Sprintf("the number starts with %s, which does not match the country %s: %s", id.Value[:2], id.Country, expected)}
	}
	return &Error{"value", expected}
}
