package taxid

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

func FuzzValidate(f *testing.F) {
	for _, tc := range validationCases {
		f.Add(tc.in.Country, tc.in.Type, tc.in.Value)
	}
	for _, tc := range allTypeCases() {
		for _, n := range tc.valid {
			f.Add(tc.country, tc.typ, n.in)
		}
		for _, in := range append(tc.invalid, tc.badCheck...) {
			f.Add(tc.country, tc.typ, in)
		}
	}
	f.Add("DE", "eu_vat", "DE136695976\x00")
	f.Add("GB", "gb_vat", "GB\xff980780684")
	types := Types()
	f.Fuzz(func(t *testing.T, country, typ, value string) {
		in := ID{country, typ, value}
		got, err := Validate(in)
		if once := Normalize(in); Normalize(once) != once {
			t.Fatalf("Normalize is not idempotent: %+v → %+v → %+v", in, once, Normalize(once))
		}
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e == nil {
				t.Fatalf("Validate(%+v) error %T %v is not an *Error", in, err, err)
			}
			if e.Reason == "" || !slices.Contains([]string{"country", "type", "value"}, e.Field) {
				t.Fatalf("Validate(%+v) = incomplete *Error %+v", in, *e)
			}
			return
		}
		again, err := Validate(got)
		if err != nil || again != got {
			t.Fatalf("Validate is not idempotent: %+v → %+v → %+v, %v", in, got, again, err)
		}
		// Every supported type's canonical form is upper-case.
		if strings.IndexFunc(got.Value, unicode.IsLower) >= 0 {
			t.Fatalf("Validate(%+v) value %q has lower-case letters", in, got.Value)
		}
		if got.Value == "" || !slices.Contains(types, got.Type) {
			t.Fatalf("Validate(%+v) accepted %+v", in, got)
		}
	})
}
