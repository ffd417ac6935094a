package taxid

import (
	"regexp"
	"strings"
	"time"
)

// taxType is one Stripe tax ID type as used in one country: eu_vat and
// eu_oss_vat have one per member state, every other type exactly one.
type taxType struct {
	typ, country string
	label        string // Stripe's description of the type
	short        string // printable label before a number on invoices; "" derives it from typ
	example      string // Stripe's example, for display (it may fail a check digit: see the table test)

	pattern  *regexp.Regexp // the normal value with its separators removed
	prefix   string         // letters the normal value starts with, added when the user leaves them out
	expected string         // the reason shown when the value does not match pattern

	tidy       func(string) string // fixes the compacted value before matching (padding, look-alike letters)
	layout     func(string) string // puts back the separators Stripe prints; nil keeps the value compact
	check      func(string) bool   // the check digits, on a value that matched pattern
	rule       func(string) bool   // another embedded rule (a date), explained by ruleReason
	ruleReason string
}

// shortLabel is the type's label for printing before the number, e.g.
// "EU VAT" or "US EIN": the type in capitals unless the table says better.
func (t *taxType) shortLabel() string {
	if t.short != "" {
		return t.short
	}
	return derivedShortLabel(t.typ)
}

func derivedShortLabel(typ string) string {
	return strings.ToUpper(strings.ReplaceAll(typ, "_", " "))
}

// normalize turns a compacted value into the type's normal form: the
// prefix added or the country code dropped where that makes it match,
// then the separators Stripe prints. A value that cannot match is
// returned compacted (and tidied) for check to report.
func (t *taxType) normalize(value string) string {
	if t.tidy != nil {
		value = t.tidy(value)
	}
	if !t.pattern.MatchString(value) {
		for _, v := range t.alternatives(value) {
			if t.pattern.MatchString(v) {
				value = v
				break
			}
		}
	}
	if t.layout != nil && t.pattern.MatchString(value) {
		value = t.layout(value)
	}
	return value
}

// alternatives are the readings of a value that does not match as typed:
// with the prefix the user left out, or without the country code people
// write before a number that has none (NO 123456789 MVA, CL 12.345.678-5).
func (t *taxType) alternatives(value string) []string {
	var alts []string
	if t.prefix != "" && !strings.HasPrefix(value, t.prefix) {
		alts = append(alts, t.prefix+value)
	}
	if rest, ok := strings.CutPrefix(value, t.country); ok && !strings.HasPrefix(t.prefix, t.country) {
		alts = append(alts, rest)
		if t.tidy != nil {
			alts = append(alts, t.tidy(rest))
		}
	}
	return alts
}

// exact compiles a pattern that must match the whole value.
func exact(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + pattern + `)$`)
}

// layout returns a function that lays out a value the way Stripe prints
// it, with the shape whose '#' count equals the value's length: each '#'
// takes the next character, anything else is a separator that compact
// removes again, so that normalizing stays idempotent. A value of another
// length is left as it is.
func layout(shapes ...string) func(string) string {
	return func(value string) string {
		for _, shape := range shapes {
			if strings.Count(shape, "#") != len(value) {
				continue
			}
			var out strings.Builder
			rest := value
			for i := 0; i < len(shape); i++ {
				if shape[i] == '#' {
					out.WriteByte(rest[0])
					rest = rest[1:]
				} else {
					out.WriteByte(shape[i])
				}
			}
			return out.String()
		}
		return value
	}
}

// padTo returns a tidy function that left-pads with zeros a value of digits
// shorter than n but at least min long, for numbers whose leading zeros
// people drop (Greek and Belgian VAT numbers, old style).
func padTo(n, min int) func(string) string {
	return func(value string) string {
		if len(value) >= min && len(value) < n && isDigits(value) {
			return strings.Repeat("0", n-len(value)) + value
		}
		return value
	}
}

// rfcDateValid checks the date of birth or incorporation inside a Mexican
// RFC. Go reads YY 69–99 as 19YY and 00–68 as 20YY; either reading gives
// the same leap years except for 00, where 29 February only exists as
// 2000, so no real date is rejected.
func rfcDateValid(value string) bool {
	m := mexicanRFC.FindStringSubmatch(value)
	if m == nil {
		return false
	}
	_, err := time.Parse("060102", m[1])
	return err == nil
}
