package taxid

import (
	"fmt"
	"regexp"
	"strings"
)

// euVATType is Stripe's type for VAT numbers of EU member states, and of
// Northern Ireland traders (XI prefix, country GB); euOSSType is for the
// numbers the One Stop Shop's non-Union scheme gives businesses from
// outside the EU, issued by one member state: EU, that state's ISO 3166-1
// numeric code and 6 digits.
const (
	euVATType = "eu_vat"
	euOSSType = "eu_oss_vat"
)

// vatArea names the countries eu_vat and eu_oss_vat are for, in errors.
const vatArea = "EU member states (and GB for Northern Ireland)"

// memberState is one country's VAT number under eu_vat.
type memberState struct {
	country string
	prefix  string // what the number starts with: the country code, but EL for Greece and XI for Northern Ireland
	body    string // what follows the prefix, as a pattern
	shape   string // the whole number, as the reason for a bad value shows it
	example string // Stripe's
	numeric string // ISO 3166-1 numeric code, in OSS numbers (stdnum.eu.oss; 900 is Northern Ireland)
	// check is the national check digit (the stdnum module named), on the whole value, prefix included.
	check func(string) bool
	// tidy restores the leading zeros of an old-style body (stdnum compacts them the same way).
	tidy func(string) string
}

// memberStates: formats and check digits as python-stdnum's eu.vat
// validates them, country by country.
var memberStates = []memberState{
	{country: "AT", prefix: "AT", body: `U\d{8}`, example: "ATU12345678", numeric: "040", check: afterPrefix(validATU),
		shape: "ATU followed by 8 digits"},
	{country: "BE", prefix: "BE", body: `[01]\d{9}`, example: "BE0123456789", numeric: "056", check: afterPrefix(validBEVAT), tidy: padTo(10, 9),
		shape: "BE followed by 10 digits starting with 0 or 1"},
	{country: "BG", prefix: "BG", body: `\d{9,10}`, example: "BG0123456789", numeric: "100", check: afterPrefix(validBGVAT),
		shape: "BG followed by 9 or 10 digits"},
	{country: "CY", prefix: "CY", body: `(?:[02-9]\d|1[013-9])\d{6}[A-Z]`, example: "CY12345678Z", numeric: "196", check: afterPrefix(validCYVAT),
		shape: "CY followed by 8 digits and a letter"},
	{country: "CZ", prefix: "CZ", body: `[0-8]\d{7}|\d{9,10}`, example: "CZ1234567890", numeric: "203", check: afterPrefix(validCZDIC),
		shape: "CZ followed by 8, 9 or 10 digits"},
	{country: "DE", prefix: "DE", body: `[1-9]\d{8}`, example: "DE123456789", numeric: "276", check: afterPrefix(validMod11_10),
		shape: "DE followed by 9 digits"},
	{country: "DK", prefix: "DK", body: `[1-9]\d{7}`, example: "DK12345678", numeric: "208", check: afterPrefix(validDKCVR),
		shape: "DK followed by 8 digits"},
	{country: "EE", prefix: "EE", body: `\d{9}`, example: "EE123456789", numeric: "233", check: afterPrefix(validEEKMKR),
		shape: "EE followed by 9 digits"},
	{country: "GR", prefix: "EL", body: `\d{9}`, example: "EL123456789", numeric: "300", check: afterPrefix(validGRVAT), tidy: padTo(9, 8),
		shape: "EL followed by 9 digits"},
	{country: "ES", prefix: "ES", body: spanishNIF, example: "ESA1234567Z", numeric: "724", check: afterPrefix(validNIF),
		shape: "ES followed by " + spanishNIFShape},
	{country: "FI", prefix: "FI", body: `\d{8}`, example: "FI12345678", numeric: "246", check: afterPrefix(validFIALV),
		shape: "FI followed by 8 digits"},
	{country: "FR", prefix: "FR", body: `[0-9A-HJ-NP-Z]{2}\d{9}`, example: "FRAB123456789", numeric: "250", check: afterPrefix(validFRTVA),
		shape: "FR followed by a 2-character key (digits, or letters other than O and I) and 9 digits"},
	{country: "HR", prefix: "HR", body: `\d{11}`, example: "HR12345678912", numeric: "191", check: afterPrefix(validMod11_10),
		shape: "HR followed by 11 digits"},
	{country: "HU", prefix: "HU", body: `\d{8}`, example: "HU12345678", numeric: "348", check: afterPrefix(validHUANUM),
		shape: "HU followed by 8 digits"},
	// Current numbers: 7 digits and 1 or 2 letters; older ones: a digit,
	// a letter, + or *, 5 digits and a letter.
	{country: "IE", prefix: "IE", body: `\d{7}[A-W]{1,2}|\d[A-Z+*]\d{5}[A-W]`, example: "IE1234567AB", numeric: "372", check: afterPrefix(validIEVAT),
		shape: "IE followed by 7 digits and 1 or 2 letters (older numbers: 8 characters with a letter second)"},
	{country: "IT", prefix: "IT", body: `\d{11}`, example: "IT12345678912", numeric: "380", check: afterPrefix(validITIVA),
		shape: "IT followed by 11 digits"},
	{country: "LT", prefix: "LT", body: `\d{7}1\d|\d{10}1\d`, example: "LT123456789123", numeric: "440", check: afterPrefix(validLTPVM),
		shape: "LT followed by 9 or 12 digits, the second to last being 1"},
	{country: "LU", prefix: "LU", body: `\d{8}`, example: "LU12345678", numeric: "442", check: afterPrefix(validLUTVA),
		shape: "LU followed by 8 digits"},
	{country: "LV", prefix: "LV", body: `\d{11}`, example: "LV12345678912", numeric: "428", check: afterPrefix(validLVPVN),
		shape: "LV followed by 11 digits"},
	{country: "MT", prefix: "MT", body: `[1-9]\d{7}`, example: "MT12345678", numeric: "470", check: afterPrefix(validMTVAT),
		shape: "MT followed by 8 digits"},
	{country: "NL", prefix: "NL", body: `\d{9}B(?:0[1-9]|[1-9]\d)`, example: "NL123456789B12", numeric: "528", check: validNLBTW, tidy: dutchBTW,
		shape: "NL followed by 9 digits, B and 2 digits"},
	{country: "PL", prefix: "PL", body: `\d{10}`, example: "PL1234567890", numeric: "616", check: afterPrefix(validPLNIP),
		shape: "PL followed by 10 digits"},
	{country: "PT", prefix: "PT", body: `[1-9]\d{8}`, example: "PT123456789", numeric: "620", check: afterPrefix(validPTNIF),
		shape: "PT followed by 9 digits"},
	{country: "RO", prefix: "RO", body: romanianCF, example: "RO1234567891", numeric: "642", check: afterPrefix(validROCF),
		shape: "RO followed by 2 to 10 digits (or a 13-digit CNP)"},
	{country: "SE", prefix: "SE", body: `\d{10}01`, example: "SE123456789123", numeric: "752", check: afterPrefix(validSEVAT),
		shape: "SE followed by 12 digits ending in 01"},
	{country: "SI", prefix: "SI", body: `[1-9]\d{7}`, example: "SI12345678", numeric: "705", check: afterPrefix(validSIDDV),
		shape: "SI followed by 8 digits"},
	{country: "SK", prefix: "SK", body: `\d{10}`, example: "SK1234567891", numeric: "703", check: afterPrefix(validSKDPH),
		shape: "SK followed by 10 digits"},
	// Northern Ireland: under the Windsor Framework its traders keep EU
	// VAT numbers for goods, written XI and the rest of their UK VAT number.
	{country: "GB", prefix: "XI", body: ukVAT, example: "XI123456789", numeric: "900", check: validGBVAT,
		shape: "XI followed by 9 or 12 digits, or XIGD or XIHA followed by 3 digits"},
}

// memberBodies are the compiled bodies, by country.
var memberBodies = func() map[string]*regexp.Regexp {
	bodies := map[string]*regexp.Regexp{}
	for _, m := range memberStates {
		bodies[m.country] = exact(m.body)
	}
	return bodies
}()

// afterPrefix applies a national check to the number without its 2-letter prefix.
func afterPrefix(check func(string) bool) func(string) bool {
	return func(value string) bool { return check(value[2:]) }
}

// dutchBTW restores the leading zeros of an RSIN written short (stdnum.nl.btw).
func dutchBTW(body string) string {
	if i := strings.IndexByte(body, 'B'); i >= 7 && i < 9 && isDigits(body[:i]) {
		return strings.Repeat("0", 9-i) + body
	}
	return body
}

// euTypes builds the eu_vat and eu_oss_vat entries of the table, one per country.
func euTypes() []taxType {
	var types []taxType
	for _, m := range memberStates {
		label := "European VAT number"
		expected := fmt.Sprintf("%s VAT numbers are %s", m.country, m.shape)
		if m.country == "GB" {
			label = "Northern Ireland VAT number"
			expected = "Northern Ireland VAT numbers are " + m.shape + "; other UK VAT numbers use the type gb_vat"
		}
		types = append(types, taxType{typ: euVATType, country: m.country, label: label, example: m.example,
			short: "EU VAT", pattern: exact(m.prefix + `(?:` + m.body + `)`), prefix: m.prefix, check: m.check,
			expected: expected})
		// Stripe's example, EU123456789, names no member state: the one shown
		// puts the state's code in place of 123.
		types = append(types, taxType{typ: euOSSType, country: m.country,
			label: "European One Stop Shop VAT number for non-Union scheme", example: "EU" + m.numeric + "456789",
			short: "EU OSS VAT", pattern: exact(`EU` + m.numeric + `\d{6}`), prefix: "EU",
			expected: fmt.Sprintf("One Stop Shop VAT numbers issued by %s are EU%s followed by 6 digits", m.country, m.numeric)})
	}
	return types
}

// memberStateFor returns the eu_vat format of a country (GB for Northern Ireland).
func memberStateFor(country string) (memberState, bool) {
	for _, m := range memberStates {
		if m.country == country {
			return m, true
		}
	}
	return memberState{}, false
}

// vatPrefixes are the prefixes that show a value already names a country,
// so a mismatch is reported instead of hidden behind a second prefix.
var vatPrefixes = func() map[string]bool {
	prefixes := map[string]bool{"GR": true, "GB": true}
	for _, m := range memberStates {
		prefixes[m.prefix] = true
	}
	return prefixes
}()

// countryOfPrefix answers people who enter a VAT prefix as the country.
var countryOfPrefix = map[string]string{"EL": "GR for Greece", "XI": "GB for Northern Ireland"}

// canonicalVAT makes sure a compacted eu_vat value starts with its
// member state's prefix: GR becomes EL, and a missing prefix is added; an
// old-style body gets back its leading zeros. A value that starts with
// another country's prefix is left for checkVAT to report.
func canonicalVAT(country, value string) string {
	m, ok := memberStateFor(country)
	if !ok {
		return value
	}
	tidy := func(body string) string {
		if m.tidy != nil {
			return m.tidy(body)
		}
		return body
	}
	switch {
	case strings.HasPrefix(value, m.prefix):
		value = m.prefix + tidy(value[len(m.prefix):])
	// Northern Ireland status is a claim the user makes by typing XI; a
	// bare UK number more likely belongs under gb_vat, so none is added.
	case country == "GB":
	case country == "GR" && strings.HasPrefix(value, "GR"):
		value = m.prefix + tidy(value[len("GR"):])
	// The body test comes first because a French key may itself be two
	// letters that look like a prefix, as in FR + AT123456789.
	case memberBodies[country].MatchString(tidy(value)) || len(value) < 2 || !vatPrefixes[value[:2]]:
		value = m.prefix + tidy(value)
	}
	return value
}

// checkVATCountry explains why an eu_vat or eu_oss_vat ID's country has no format.
func checkVATCountry(id ID) *Error {
	if id.Country == "" {
		return &Error{"country", fmt.Sprintf("a country is required: %s tax IDs are for %s", id.Type, vatArea)}
	}
	reason := fmt.Sprintf("%s tax IDs are for %s, not %s", id.Type, vatArea, id.Country)
	if hint, ok := countryOfPrefix[id.Country]; ok {
		reason += ": use " + hint
	}
	return &Error{"country", reason}
}

// checkVATValue gives the eu_vat reasons more precise than the format:
// a GB number under eu_vat, or another member state's prefix.
func checkVATValue(id ID, t *taxType) *Error {
	expected := t.expected
	switch {
	case id.Country == "GB" && strings.HasPrefix(id.Value, "GB"):
		return &Error{"type", "GB VAT numbers use the type gb_vat; eu_vat with country GB is only for Northern Ireland numbers starting with XI"}
	case !strings.HasPrefix(id.Value, t.prefix) && len(id.Value) >= 2 && vatPrefixes[id.Value[:2]]:
		return &Error{"value", fmt.Sprintf("the number starts with %s, which does not match the country %s: %s", id.Value[:2], id.Country, expected)}
	}
	return &Error{"value", expected}
}
