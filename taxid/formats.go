package taxid

import (
	"regexp"
	"strings"
	"time"
)

// format is how one single-country Stripe type is written.
type format struct {
	country  string         // the only country the type is for
	pattern  *regexp.Regexp // the canonical value with separators removed
	expected string         // the reason shown when the value does not match

	// tidy fixes a prefix the user added or left out, on the compacted value.
	tidy func(string) string
	// shape lays out a matching compacted value the way Stripe prints it:
	// each '#' takes the next character and '*' the rest; it may only add
	// characters that compact removes, so that normalizing stays idempotent.
	shape string

	valid   func(string) bool // check digits or an embedded date, on the compacted value
	invalid string            // the reason shown when valid says no
}

// ukVAT is the part after GB (gb_vat) or XI (Northern Ireland, eu_vat):
// standard (9 digits), branch traders (12), government departments (GD)
// and health authorities (HA).
const ukVAT = `\d{9}|\d{12}|GD\d{3}|HA\d{3}`

// mexicanRFC captures the date between the name letters and the homoclave.
var mexicanRFC = exact(`[A-ZÑ&]{3,4}(\d{6})[A-Z0-9]{3}`)

// formats holds every supported type except eu_vat, which spans many
// countries and has its own table (see vat.go).
var formats = map[string]format{
	"gb_vat": {country: "GB", pattern: exact(`GB(?:` + ukVAT + `)`), tidy: withPrefix("GB", ukVAT),
		expected: "UK VAT numbers are GB followed by 9 or 12 digits, or GBGD or GBHA followed by 3 digits"},
	"us_ein": {country: "US", pattern: exact(`\d{9}`), shape: "##-#######",
		expected: "US EINs are 9 digits, written 12-3456789"},
	"ca_bn": {country: "CA", pattern: exact(`\d{9}`),
		expected: "Canadian business numbers are 9 digits, e.g. 123456789"},
	"ca_gst_hst": {country: "CA", pattern: exact(`\d{9}RT\d{4}`),
		expected: "Canadian GST/HST numbers are 9 digits, RT and 4 digits, e.g. 123456789RT0002"},
	"ca_qst": {country: "CA", pattern: exact(`\d{10}TQ\d{4}`),
		expected: "Quebec QST numbers are 10 digits, TQ and 4 digits, e.g. 1234567890TQ1234"},
	"au_abn": {country: "AU", pattern: exact(`\d{11}`), valid: validABN,
		expected: "Australian ABNs are 11 digits, e.g. 51 824 753 556",
		invalid:  "this ABN's check digits do not match: please check it for a typo"},
	"au_arn": {country: "AU", pattern: exact(`\d{12}`),
		expected: "Australian ARNs are 12 digits, e.g. 123456789012"},
	"in_gst": {country: "IN", pattern: exact(`\d{2}[A-Z]{5}\d{4}[A-Z][0-9A-Z]Z[0-9A-Z]`),
		expected: "Indian GSTINs are 15 characters: a 2-digit state code, a 10-character PAN (5 letters, 4 digits, a letter), an entity character, Z and a check character, e.g. 22AAAAA0000A1Z5"},
	"ch_vat": {country: "CH", pattern: exact(`CHE\d{9}(?:MWST|TVA|IVA)`), tidy: withPrefix("CHE", `\d{9}(?:MWST|TVA|IVA)`), shape: "###-###.###.### *",
		expected: "Swiss VAT numbers are CHE, 9 digits and MWST, TVA or IVA, e.g. CHE-123.456.789 MWST"},
	// People often write the EU-style "NO" before a Norwegian number; Stripe's form has none.
	"no_vat": {country: "NO", pattern: exact(`\d{9}MVA`), tidy: withoutPrefix("NO", `\d{9}MVA`),
		expected: "Norwegian VAT numbers are 9 digits followed by MVA, e.g. 123456789MVA"},
	"jp_cn": {country: "JP", pattern: exact(`\d{13}`),
		expected: "Japanese corporate numbers are 13 digits, e.g. 1234567891234"},
	// Since July 2026 Brazil also issues CNPJs whose first 12 characters
	// may be letters; the check digits stay numeric.
	"br_cnpj": {country: "BR", pattern: exact(`[0-9A-Z]{12}\d{2}`), shape: "##.###.###/####-##", valid: validCNPJ,
		expected: "Brazilian CNPJs are 14 digits (new ones may have letters in the first 12), e.g. 11.222.333/0001-81",
		invalid:  "this CNPJ's check digits do not match: please check it for a typo"},
	"br_cpf": {country: "BR", pattern: exact(`\d{11}`), shape: "###.###.###-##", valid: validCPF,
		expected: "Brazilian CPFs are 11 digits, e.g. 111.444.777-35",
		invalid:  "this CPF's check digits do not match: please check it for a typo"},
	"mx_rfc": {country: "MX", pattern: mexicanRFC, valid: rfcDateValid,
		expected: "Mexican RFCs are 3 or 4 letters, a date as YYMMDD and 3 letters or digits, e.g. ABC010203AB9",
		invalid:  "the 6 digits after an RFC's letters are a date as YYMMDD, e.g. 010203 for 3 February 2001"},
	"za_vat": {country: "ZA", pattern: exact(`4\d{9}`),
		expected: "South African VAT numbers are 10 digits starting with 4, e.g. 4123456789"},

	"ae_trn": {country: "AE", pattern: exact(`\d{15}`),
		expected: "UAE tax registration numbers are 15 digits, e.g. 123456789012345"},
	"hk_br": {country: "HK", pattern: exact(`\d{8}`),
		expected: "Hong Kong business registration numbers are 8 digits, e.g. 12345678"},
	"kr_brn": {country: "KR", pattern: exact(`\d{10}`), shape: "###-##-#####",
		expected: "Korean business registration numbers are 10 digits, written 123-45-67890"},
	"nz_gst": {country: "NZ", pattern: exact(`\d{8,9}`),
		expected: "New Zealand GST numbers are 8 or 9 digits, e.g. 123456789"},
	// UENs: businesses (8 digits), local companies (9 digits), other
	// entities (T/S/R, year, 2-character entity type, 4 digits); each ends in a check letter.
	"sg_uen": {country: "SG", pattern: exact(`\d{8}[A-Z]|\d{9}[A-Z]|[TSR]\d{2}[A-Z0-9]{2}\d{4}[A-Z]`),
		expected: "Singapore UENs are 9 or 10 characters ending in a letter, e.g. 123456789F"},
	"th_vat": {country: "TH", pattern: exact(`\d{13}`),
		expected: "Thai VAT numbers are 13 digits, e.g. 1234567891234"},
	"tw_vat": {country: "TW", pattern: exact(`\d{8}`),
		expected: "Taiwanese VAT numbers are 8 digits, e.g. 12345678"},
}

// canonical returns a compacted value in the type's canonical form, or
// unchanged where it does not fit the type.
func (f format) canonical(value string) string {
	if f.tidy != nil {
		value = f.tidy(value)
	}
	if f.shape == "" || !f.pattern.MatchString(value) {
		return value
	}
	var out strings.Builder
	rest := value // the pattern guarantees one ASCII character per '#'
	for _, c := range f.shape {
		switch c {
		case '#':
			out.WriteByte(rest[0])
			rest = rest[1:]
		case '*':
			out.WriteString(rest)
			rest = ""
		default:
			out.WriteRune(c)
		}
	}
	return out.String()
}

// exact compiles a pattern that must match the whole value.
func exact(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + pattern + `)$`)
}

// withPrefix adds prefix to a value that is exactly what follows it.
func withPrefix(prefix, rest string) func(string) string {
	bare := exact(rest)
	return func(value string) string {
		if bare.MatchString(value) {
			return prefix + value
		}
		return value
	}
}

// withoutPrefix drops prefix from a value that is prefix followed by rest.
func withoutPrefix(prefix, rest string) func(string) string {
	prefixed := exact(prefix + `(?:` + rest + `)`)
	return func(value string) string {
		if prefixed.MatchString(value) {
			return value[len(prefix):]
		}
		return value
	}
}

// rfcDateValid checks the RFC's date of birth or incorporation. Go reads
// YY 69–99 as 19YY and 00–68 as 20YY; either reading gives the same leap
// years except for 00, where 29 February only exists as 2000, so no real
// date is rejected.
func rfcDateValid(value string) bool {
	m := mexicanRFC.FindStringSubmatch(value)
	if m == nil {
		return false
	}
	_, err := time.Parse("060102", m[1])
	return err == nil
}
