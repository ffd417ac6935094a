package taxid

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// ID is a tax ID as entered: country ISO 3166-1 alpha-2 (e.g. "DE"),
// Stripe type (e.g. "eu_vat"), value.
type ID struct{ Country, Type, Value string }

// Error says which field is wrong and why, in a sentence fit to show a user.
type Error struct {
	Field  string // "country", "type" or "value"
	Reason string // e.g. "DE VAT numbers are DE followed by 9 digits"
}

// Error returns the field and the reason, for logs; show users Reason.
func (e *Error) Error() string { return "invalid tax ID " + e.Field + ": " + e.Reason }

// TypeInfo describes a supported type in one country, for the select
// where a customer picks their tax ID type.
type TypeInfo struct {
	Country string // ISO 3166-1 alpha-2
	Type    string // Stripe's type, e.g. "eu_vat"
	Label   string // Stripe's description, e.g. "European VAT number"
	Example string // Stripe's example, e.g. "DE123456789"
}

// maxValueLen bounds what is worth reading: the longest normal form is 21
// characters (id_npwp with its separators); anything much longer is not a
// tax ID, and refusing it early keeps the work per request small.
const maxValueLen = 100

// registry is the table, indexed: type → country → entry.
var (
	registry = map[string]map[string]*taxType{}
	listing  []TypeInfo // every entry, sorted by country then label
)

func init() {
	for _, types := range [][]taxType{singleCountryTypes, euTypes()} {
		for i := range types {
			t := &types[i]
			if registry[t.typ] == nil {
				registry[t.typ] = map[string]*taxType{}
			}
			if registry[t.typ][t.country] != nil {
				panic("taxid: " + t.typ + " listed twice for " + t.country)
			}
			registry[t.typ][t.country] = t
			listing = append(listing, TypeInfo{Country: t.country, Type: t.typ, Label: t.label, Example: t.example})
		}
	}
	sort.Slice(listing, func(i, j int) bool {
		a, b := listing[i], listing[j]
		if a.Country != b.Country {
			return a.Country < b.Country
		}
		if a.Label != b.Label {
			return a.Label < b.Label
		}
		return a.Type < b.Type
	})
}

// Types lists the supported Stripe types, sorted.
func Types() []string {
	types := make([]string, 0, len(registry))
	for t := range registry {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// TypesFor lists the types a customer in country can choose, sorted by
// label; all countries' when country is "", sorted by country, then label.
// An unknown country gets an empty (non-nil) slice. The caller owns it.
func TypesFor(country string) []TypeInfo {
	country = strings.ToUpper(strings.TrimSpace(country))
	if country == "" {
		return append([]TypeInfo(nil), listing...)
	}
	types := []TypeInfo{}
	for _, t := range listing {
		if t.Country == country {
			types = append(types, t)
		}
	}
	return types
}

// Label is Stripe's description of a type ("European VAT number",
// "Canadian GST/HST number"), or "" for a type this package does not know.
func Label(typ string) string {
	t := anyEntry(strings.ToLower(strings.TrimSpace(typ)))
	if t == nil {
		return ""
	}
	return t.label
}

// ShortLabel is a type's label to print before the number on an invoice,
// e.g. "EU VAT" for "EU VAT DE123456789", "CA GST/HST", "US EIN". A type
// this package does not know is printed in capitals ("XX_FOO" → "XX FOO")
// so that an old invoice never loses its tax ID's name.
func ShortLabel(typ string) string {
	typ = strings.ToLower(strings.TrimSpace(typ))
	if t := anyEntry(typ); t != nil {
		return t.shortLabel()
	}
	return derivedShortLabel(typ)
}

// anyEntry returns one entry of a type: the labels that matter here are
// the same in every country (eu_vat's Northern Ireland label aside).
func anyEntry(typ string) *taxType {
	countries := registry[typ]
	if len(countries) == 1 {
		for _, t := range countries {
			return t
		}
	}
	return countries["DE"] // eu_vat, eu_oss_vat; nil for an unknown type
}

// entryFor returns the entry for the ID's type in its country, or, for a
// single-country type entered with another country, that type's entry (to
// normalize the value while the country is reported wrong).
func entryFor(typ, country string) (t *taxType, countryOK bool) {
	countries := registry[typ]
	if t := countries[country]; t != nil {
		return t, true
	}
	if len(countries) == 1 {
		for _, t := range countries {
			return t, false
		}
	}
	return nil, false
}

// Normalize returns the ID with country upper-cased, type lower-cased and
// the value in its type's normal form: spaces, dots, dashes, slashes,
// colons and commas removed, letters upper-cased, Arabic-Indic digits written 0–9, then the
// separators put back where Stripe prints them (us_ein, ch_vat, br_cnpj,
// ...), and the prefix added where the user left it out: the member state's
// for eu_vat (EL for Greece, also replacing a typed GR), GB for gb_vat,
// CHE for ch_vat; a country code typed before a number that has none (NO
// for no_vat) is dropped. XI (Northern Ireland, eu_vat with country GB) is
// never added: only the user can claim it. A value that does not fit its
// type is left compacted, for Validate to report; the value of an unknown
// type is only trimmed.
func Normalize(id ID) ID {
	id.Country = strings.ToUpper(strings.TrimSpace(id.Country))
	id.Type = strings.ToLower(strings.TrimSpace(id.Type))
	if trimmed := strings.TrimSpace(id.Value); len(trimmed) > maxValueLen {
		id.Value = trimmed
		return id
	}
	value := compact(id.Value)
	t, _ := entryFor(id.Type, id.Country)
	switch {
	case value == "":
	case id.Type == euVATType:
		value = canonicalVAT(id.Country, value)
	case t != nil:
		value = t.normalize(value)
	case registry[id.Type] == nil:
		value = strings.TrimSpace(id.Value)
	}
	id.Value = value
	return id
}

// Validate normalizes and checks the ID; it returns the normalized ID or an
// *Error. On error the normalized ID is returned too, to show back to the user.
func Validate(id ID) (ID, error) {
	id = Normalize(id)
	if err := check(id); err != nil {
		return id, err
	}
	return id, nil
}

// check returns *Error rather than error so that a nil result can never
// become a non-nil error interface holding a nil pointer.
func check(id ID) *Error {
	if id.Type == "" {
		return &Error{"type", "a tax ID type is required, e.g. eu_vat"}
	}
	countries := registry[id.Type]
	if countries == nil {
		return &Error{"type", fmt.Sprintf("unknown tax ID type %q", id.Type)}
	}
	t, countryOK := entryFor(id.Type, id.Country)
	switch {
	case !countryOK && (id.Type == euVATType || id.Type == euOSSType):
		return checkVATCountry(id)
	case !countryOK:
		return countryMismatch(id, t.country)
	case len(id.Value) > maxValueLen:
		return &Error{"value", fmt.Sprintf("a tax ID number is at most %d characters: %s", maxValueLen, t.expected)}
	}
	compacted := compact(id.Value)
	switch {
	case id.Value == "":
		return &Error{"value", "a tax ID number is required: " + t.expected}
	case !t.pattern.MatchString(compacted) && id.Type == euVATType:
		return checkVATValue(id, t)
	case !t.pattern.MatchString(compacted):
		if id.Type == "gb_vat" && strings.HasPrefix(compacted, "XI") {
			return &Error{"type", "Northern Ireland VAT numbers (XI) use the type eu_vat with country GB"}
		}
		return &Error{"value", t.expected}
	case t.check != nil && !t.check(compacted):
		return &Error{"value", fmt.Sprintf("the check digits of %s do not match: please check the number for a typo", id.Value)}
	case t.rule != nil && !t.rule(compacted):
		return &Error{"value", t.ruleReason}
	}
	return nil
}

func countryMismatch(id ID, want string) *Error {
	if id.Country == "" {
		return &Error{"country", fmt.Sprintf("a country is required: %s tax IDs are for %s", id.Type, want)}
	}
	return &Error{"country", fmt.Sprintf("%s tax IDs are for %s, not %s", id.Type, want, id.Country)}
}

// compact upper-cases the value, writes Arabic-Indic digits as 0–9 and
// drops the separators people type (spaces of any kind, dots, dashes,
// slashes, colons, commas), so that each format only has to describe its characters;
// normal forms with separators rebuild them.
func compact(value string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r) || strings.ContainsRune(".-/:,", r):
			return -1
		case r >= '٠' && r <= '٩': // Arabic-Indic digits
			return '0' + r - '٠'
		case r >= '۰' && r <= '۹': // extended (Persian, Urdu)
			return '0' + r - '۰'
		}
		return unicode.ToUpper(r)
	}, value)
}
