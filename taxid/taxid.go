// Package taxid validates tax IDs locally, by format (and checksum where one
// is well defined), using Stripe's tax ID type names, before any call to
// Stripe. It does not look numbers up in any registry (no VIES) and knows
// nothing of customers or invoices.
package taxid

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ID is a tax ID as entered: country ISO 3166-1 alpha-2 (e.g. "DE"),
// Stripe type (e.g. "eu_vat"), value.
type ID struct{ Country, Type, Value string }

// Error says which field is wrong and why, in a sentence fit to show a user.
type Error struct {
	Field  string // "country", "type" or "value"
	Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// rule is one type's format: the countries it belongs to, a pattern over
// the canonical value, an optional checksum, and how to canonicalise.
type rule struct {
	countries []string // empty: any country
	pattern   *regexp.Regexp
	format    string // for the error message
	check     func(string) bool
	canon     func(string) string // from the compact (no separators) value
}

// euStates maps each EU member state's country code to its VAT prefix and format.
var euStates = map[string]struct {
	prefix, pattern, format string
}{
	"AT": {"AT", `U\d{8}`, "ATU followed by 8 digits"},
	"BE": {"BE", `[01]\d{9}`, "BE followed by 10 digits starting with 0 or 1"},
	"BG": {"BG", `\d{9,10}`, "BG followed by 9 or 10 digits"},
	"CY": {"CY", `\d{8}[A-Z]`, "CY followed by 8 digits and a letter"},
	"CZ": {"CZ", `\d{8,10}`, "CZ followed by 8 to 10 digits"},
	"DE": {"DE", `\d{9}`, "DE followed by 9 digits"},
	"DK": {"DK", `\d{8}`, "DK followed by 8 digits"},
	"EE": {"EE", `\d{9}`, "EE followed by 9 digits"},
	"GR": {"EL", `\d{9}`, "EL followed by 9 digits"},
	"ES": {"ES", `[A-Z0-9]\d{7}[A-Z0-9]`, "ES followed by a letter or digit, 7 digits and a letter or digit"},
	"FI": {"FI", `\d{8}`, "FI followed by 8 digits"},
	"FR": {"FR", `[0-9A-HJ-NP-Z]{2}\d{9}`, "FR followed by 2 characters and 9 digits"},
	"HR": {"HR", `\d{11}`, "HR followed by 11 digits"},
	"HU": {"HU", `\d{8}`, "HU followed by 8 digits"},
	"IE": {"IE", `\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W]`, "IE followed by 7 digits and 1 or 2 letters"},
	"IT": {"IT", `\d{11}`, "IT followed by 11 digits"},
	"LT": {"LT", `\d{9}|\d{12}`, "LT followed by 9 or 12 digits"},
	"LU": {"LU", `\d{8}`, "LU followed by 8 digits"},
	"LV": {"LV", `\d{11}`, "LV followed by 11 digits"},
	"MT": {"MT", `\d{8}`, "MT followed by 8 digits"},
	"NL": {"NL", `\d{9}B\d{2}`, "NL followed by 9 digits, B and 2 digits"},
	"PL": {"PL", `\d{10}`, "PL followed by 10 digits"},
	"PT": {"PT", `\d{9}`, "PT followed by 9 digits"},
	"RO": {"RO", `\d{2,10}`, "RO followed by 2 to 10 digits"},
	"SE": {"SE", `\d{10}01`, "SE followed by 12 digits ending in 01"},
	"SI": {"SI", `\d{8}`, "SI followed by 8 digits"},
	"SK": {"SK", `\d{10}`, "SK followed by 10 digits"},
}

// euPatterns and the others are compiled once: Validate runs per request.
var (
	euPatterns = func() map[string]*regexp.Regexp {
		m := map[string]*regexp.Regexp{}
		for c, st := range euStates {
			m[c] = re(st.pattern)
		}
		return m
	}()
	northernIreland = re(`XI(\d{9}|\d{12}|GD\d{3}|HA\d{3})`)
	swissCompact    = regexp.MustCompile(`^CHE(\d{9})(MWST|TVA|IVA)$`)
)

func compact(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '/', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

func re(p string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + p + `)$`) }

var rules = map[string]rule{
	"gb_vat":     {countries: []string{"GB"}, pattern: re(`GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})`), format: "GB followed by 9 or 12 digits"},
	"us_ein":     {countries: []string{"US"}, pattern: re(`\d{2}-\d{7}`), format: "9 digits as NN-NNNNNNN", canon: func(v string) string { return v[:2] + "-" + v[2:] }},
	"ca_bn":      {countries: []string{"CA"}, pattern: re(`\d{9}`), format: "9 digits"},
	"ca_gst_hst": {countries: []string{"CA"}, pattern: re(`\d{9}RT\d{4}`), format: "9 digits, RT and 4 digits (123456789RT0002)"},
	"ca_qst":     {countries: []string{"CA"}, pattern: re(`\d{10}TQ\d{4}`), format: "10 digits, TQ and 4 digits (1234567890TQ1234)"},
	"au_abn":     {countries: []string{"AU"}, pattern: re(`\d{11}`), format: "11 digits with a valid ABN checksum", check: validABN},
	"au_arn":     {countries: []string{"AU"}, pattern: re(`\d{12}`), format: "12 digits"},
	"in_gst":     {countries: []string{"IN"}, pattern: re(`\d{2}[A-Z]{5}\d{4}[A-Z][0-9A-Z]Z[0-9A-Z]`), format: "15 characters such as 22AAAAA0000A1Z5"},
	"ch_vat": {countries: []string{"CH"}, pattern: re(`CHE-\d{3}\.\d{3}\.\d{3} (MWST|TVA|IVA)`), format: "CHE-123.456.789 MWST (or TVA, IVA)",
		canon: func(v string) string {
			if m := swissCompact.FindStringSubmatch(v); m != nil {
				return "CHE-" + m[1][:3] + "." + m[1][3:6] + "." + m[1][6:] + " " + m[2]
			}
			return v
		}},
	"no_vat":  {countries: []string{"NO"}, pattern: re(`\d{9}MVA`), format: "9 digits followed by MVA"},
	"jp_cn":   {countries: []string{"JP"}, pattern: re(`\d{13}`), format: "13 digits"},
	"br_cnpj": {countries: []string{"BR"}, pattern: re(`\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}`), format: "14 digits with valid check digits (11.222.333/0001-81)", check: validCNPJ, canon: func(v string) string { return v[:2] + "." + v[2:5] + "." + v[5:8] + "/" + v[8:12] + "-" + v[12:] }},
	"br_cpf":  {countries: []string{"BR"}, pattern: re(`\d{3}\.\d{3}\.\d{3}-\d{2}`), format: "11 digits with valid check digits (111.444.777-35)", check: validCPF, canon: func(v string) string { return v[:3] + "." + v[3:6] + "." + v[6:9] + "-" + v[9:] }},
	"mx_rfc":  {countries: []string{"MX"}, pattern: re(`[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}`), format: "3 or 4 letters, 6 digits and 3 characters (ABC010203AB9)"},
	"za_vat":  {countries: []string{"ZA"}, pattern: re(`4\d{9}`), format: "10 digits starting with 4"},
	"nz_gst":  {countries: []string{"NZ"}, pattern: re(`\d{8,9}`), format: "8 or 9 digits"},
	"sg_uen":  {countries: []string{"SG"}, pattern: re(`\d{8}[A-Z]|\d{9}[A-Z]|[TSR]\d{2}[A-Z]{2}\d{4}[A-Z]`), format: "a Unique Entity Number such as 123456789F"},
	"kr_brn":  {countries: []string{"KR"}, pattern: re(`\d{3}-\d{2}-\d{5}`), format: "10 digits as 123-45-67890", canon: func(v string) string { return v[:3] + "-" + v[3:5] + "-" + v[5:] }},
}

// Types lists the supported Stripe types, sorted.
func Types() []string {
	out := []string{"eu_vat"}
	for t := range rules {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Normalize returns the ID with country upper-cased, type lower-cased and
// the value in its type's canonical form (separators removed or put where
// the type prints them; for eu_vat the country prefix added when missing).
func Normalize(id ID) ID {
	id.Country = strings.ToUpper(strings.TrimSpace(id.Country))
	id.Type = strings.ToLower(strings.TrimSpace(id.Type))
	v := compact(id.Value)
	switch id.Type {
	case "eu_vat":
		if st, ok := euStates[id.Country]; ok && !strings.HasPrefix(v, st.prefix) && !strings.HasPrefix(v, "XI") {
			v = st.prefix + v
		}
		if id.Country == "GB" && !strings.HasPrefix(v, "XI") && !strings.HasPrefix(v, "GB") {
			v = "XI" + v
		}
	default:
		if r, ok := rules[id.Type]; ok && r.canon != nil {
			v = safeCanon(r, v)
		}
	}
	id.Value = v
	return id
}

// safeCanon applies a canonicaliser only to values of the right length,
// so a malformed value cannot make it panic.
func safeCanon(r rule, v string) (out string) {
	defer func() {
		if recover() != nil {
			out = v
		}
	}()
	return r.canon(v)
}

// Validate normalizes the ID and checks it; it returns the normalized ID
// or an *Error.
func Validate(id ID) (ID, error) {
	n := Normalize(id)
	if n.Type == "" {
		return n, &Error{Field: "type", Reason: "a tax ID type is required (e.g. eu_vat, gb_vat, us_ein)"}
	}
	if n.Type == "eu_vat" {
		return n, validateEU(n)
	}
	r, ok := rules[n.Type]
	if !ok {
		return n, &Error{Field: "type", Reason: fmt.Sprintf("unknown tax ID type %q", n.Type)}
	}
	if len(r.countries) > 0 && !contains(r.countries, n.Country) {
		return n, &Error{Field: "country", Reason: fmt.Sprintf("%s tax IDs belong to %s, not %q", n.Type, strings.Join(r.countries, ", "), n.Country)}
	}
	if n.Value == "" {
		return n, &Error{Field: "value", Reason: "a tax ID value is required"}
	}
	if !r.pattern.MatchString(n.Value) || (r.check != nil && !r.check(digits(n.Value))) {
		return n, &Error{Field: "value", Reason: fmt.Sprintf("%s numbers are %s", n.Type, r.format)}
	}
	return n, nil
}

func validateEU(n ID) error {
	if n.Country == "GB" && strings.HasPrefix(n.Value, "XI") { // Northern Ireland
		if !northernIreland.MatchString(n.Value) {
			return &Error{Field: "value", Reason: "Northern Ireland VAT numbers are XI followed by 9 or 12 digits"}
		}
		return nil
	}
	st, ok := euStates[n.Country]
	if !ok {
		return &Error{Field: "country", Reason: fmt.Sprintf("eu_vat is for EU member states; %q is not one", n.Country)}
	}
	if n.Value == "" || n.Value == st.prefix {
		return &Error{Field: "value", Reason: "a tax ID value is required"}
	}
	if !strings.HasPrefix(n.Value, st.prefix) || !euPatterns[n.Country].MatchString(n.Value[len(st.prefix):]) {
		return &Error{Field: "value", Reason: fmt.Sprintf("%s VAT numbers are %s", n.Country, st.format)}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// validABN checks the Australian Business Number's modulus-89 checksum.
func validABN(d string) bool {
	if len(d) != 11 {
		return false
	}
	weights := []int{10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19}
	sum := 0
	for i, w := range weights {
		v := int(d[i] - '0')
		if i == 0 {
			v--
		}
		sum += v * w
	}
	return sum%89 == 0
}

// validCNPJ checks both CNPJ check digits.
func validCNPJ(d string) bool {
	if len(d) != 14 || strings.Count(d, d[:1]) == 14 {
		return false
	}
	check := func(n int) byte {
		weights := []int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}[13-n:]
		sum := 0
		for i, w := range weights {
			sum += int(d[i]-'0') * w
		}
		r := sum % 11
		if r < 2 {
			return '0'
		}
		return byte('0' + 11 - r)
	}
	return check(12) == d[12] && check(13) == d[13]
}

// validCPF checks both CPF check digits.
func validCPF(d string) bool {
	if len(d) != 11 || strings.Count(d, d[:1]) == 11 {
		return false
	}
	check := func(n int) byte {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(d[i]-'0') * (n + 1 - i)
		}
		r := sum * 10 % 11
		if r == 10 {
			r = 0
		}
		return byte('0' + r)
	}
	return check(9) == d[9] && check(10) == d[10]
}
