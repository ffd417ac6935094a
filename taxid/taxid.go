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

// Types lists the supported Stripe types, sorted.
func Types() []string {
	types := []string{euVATType}
	for t := range formats {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// Normalize returns the ID with country upper-cased, type lower-cased and
// the value in its type's canonical form: spaces, dots, dashes and slashes
// removed, letters upper-cased, then the separators put back where Stripe
// prints them (us_ein, ch_vat, br_cnpj, br_cpf, kr_brn), and the prefix
// added where the user left it out: the member state's for eu_vat (EL for
// Greece, also replacing a typed GR), GB for gb_vat, CHE for ch_vat; for
// no_vat a typed NO is dropped, as Stripe writes none. XI (Northern Ireland,
// eu_vat with country GB) is never added: only the user can claim it.
// A value that does not fit its type is left compacted, for Validate to
// report; the value of an unknown type is only trimmed.
func Normalize(id ID) ID {
	id.Country = strings.ToUpper(strings.TrimSpace(id.Country))
	id.Type = strings.ToLower(strings.TrimSpace(id.Type))
	value := compact(id.Value)
	switch f, known := formats[id.Type]; {
	case value == "":
	case id.Type == euVATType:
		value = canonicalVAT(id.Country, value)
	case known:
		value = f.canonical(value)
	default:
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
	if id.Type == euVATType {
		return checkVAT(id)
	}
	f, ok := formats[id.Type]
	if !ok {
		return &Error{"type", fmt.Sprintf("unknown tax ID type %q", id.Type)}
	}
	if id.Country != f.country {
		return countryMismatch(id, f.country)
	}
	if id.Value == "" {
		return &Error{"value", "a tax ID number is required: " + f.expected}
	}
	compacted := compact(id.Value)
	if !f.pattern.MatchString(compacted) {
		if id.Type == "gb_vat" && strings.HasPrefix(compacted, northernIreland.prefix) {
			return &Error{"type", "Northern Ireland VAT numbers (XI) use the type eu_vat with country GB"}
		}
		return &Error{"value", f.expected}
	}
	if f.valid != nil && !f.valid(compacted) {
		return &Error{"value", f.invalid}
	}
	return nil
}

func countryMismatch(id ID, want string) *Error {
	if id.Country == "" {
		return &Error{"country", fmt.Sprintf("a country is required: %s tax IDs are for %s", id.Type, want)}
	}
	return &Error{"country", fmt.Sprintf("%s tax IDs are for %s, not %s", id.Type, want, id.Country)}
}

// compact upper-cases the value and drops the separators people type
// (spaces of any kind, dots, dashes, slashes), so that each format only
// has to describe its characters; canonical forms with separators
// rebuild them.
func compact(value string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '.' || r == '-' || r == '/' {
			return -1
		}
		return unicode.ToUpper(r)
	}, value)
}
