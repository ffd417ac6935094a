package taxid

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// validationCase is one entered ID and what Validate must make of it:
// the normal value, or the field of the *Error.
type validationCase struct {
	in        ID
	want      string // normal value; "" when invalid
	wantField string // "country", "type" or "value" when invalid
}

func valid(country, typ, value, want string) validationCase {
	return validationCase{in: ID{country, typ, value}, want: want}
}

func invalid(country, typ, value, field string) validationCase {
	return validationCase{in: ID{country, typ, value}, wantField: field}
}

// validationCases are the rules that cut across types (prefixes, the
// country of a type, Northern Ireland); typeCases (types_test.go) has the
// numbers of each type.
var validationCases = []validationCase{
	// eu_vat prefixes: added, replaced (GR → EL), never assumed for XI.
	valid("DE", "eu_vat", "DE136695976", "DE136695976"),
	valid("DE", "eu_vat", "136695976", "DE136695976"),
	valid("GR", "eu_vat", "EL094259216", "EL094259216"),
	valid("GR", "eu_vat", "GR094259216", "EL094259216"), // the ISO code typed as prefix
	valid("GR", "eu_vat", "094259216", "EL094259216"),
	valid("GR", "eu_vat", "gr 94259216", "EL094259216"), // and the old 8-digit form
	valid("PL", "eu_vat", "5261025421", "PL5261025421"),
	valid("BE", "eu_vat", "0428759497", "BE0428759497"),
	valid("BE", "eu_vat", "428759497", "BE0428759497"), // old 9-digit form
	valid("AT", "eu_vat", "atu\t1358\u00a05627", "ATU13585627"),
	valid("NL", "eu_vat", "nl.0094.10.806.b.01", "NL009410806B01"),
	valid("GB", "eu_vat", "XI980780684", "XI980780684"),
	invalid("GB", "eu_vat", "980780684", "value"),     // XI is never assumed: see canonicalVAT
	invalid("GB", "eu_vat", "GB980780684", "type"),    // a GB number belongs under gb_vat
	invalid("GB", "gb_vat", "XI980780684", "type"),    // Northern Ireland belongs under eu_vat
	invalid("DE", "eu_vat", "FR40303265045", "value"), // another state's prefix
	invalid("DE", "eu_vat", "", "value"),
	invalid("DE", "eu_vat", "DE136695978", "value"), // check digit

	// The country of a type.
	invalid("US", "eu_vat", "123456789", "country"),
	invalid("CH", "eu_vat", "CHE100155212", "country"),
	invalid("", "eu_vat", "DE136695976", "country"),
	invalid("EL", "eu_vat", "EL094259216", "country"), // ISO code is GR
	invalid("US", "eu_oss_vat", "EU372022452", "country"),
	invalid("DE", "eu_oss_vat", "EU372022452", "value"), // issued by Ireland
	invalid("FR", "gb_vat", "GB980780684", "country"),
	invalid("CA", "us_ein", "12-3456789", "country"),
	invalid("", "us_ein", "12-3456789", "country"),
	invalid("NZ", "au_abn", "51824753556", "country"),
	invalid("PT", "br_cpf", "111.444.777-35", "country"),
	invalid("LI", "ch_vat", "CHE-107.787.577 IVA", "country"),

	// Types.
	invalid("XX", "xx_foo", "1", "type"),
	invalid("DE", "", "DE136695976", "type"),
	invalid("NZ", "au_acn", "004085616", "type"), // a Stripe type stripe-mock v0.203.0 refuses
	invalid("DE", "unknown", "DE136695976", "type"),
}

func TestValidate(t *testing.T) {
	for _, tc := range validationCases {
		t.Run(tc.in.Type+"/"+tc.in.Country+"/"+tc.in.Value, func(t *testing.T) {
			got, err := Validate(tc.in)
			if tc.want == "" {
				var e *Error
				if !errors.As(err, &e) || e.Field != tc.wantField || e.Reason == "" {
					t.Fatalf("Validate(%+v) = %+v, %v; want a %q *Error", tc.in, got, err, tc.wantField)
				}
				return
			}
			if err != nil || got.Value != tc.want {
				t.Fatalf("Validate(%+v) = %q, %v; want %q", tc.in, got.Value, err, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   ID
		want ID
	}{
		{"spaces and case", ID{" de ", " EU_VAT ", " de 123 456 789 "}, ID{"DE", "eu_vat", "DE123456789"}},
		{"missing eu prefix", ID{"DE", "eu_vat", "123456789"}, ID{"DE", "eu_vat", "DE123456789"}},
		{"Greece prefix EL", ID{"gr", "eu_vat", "123456789"}, ID{"GR", "eu_vat", "EL123456789"}},
		{"Greece ISO code as prefix", ID{"GR", "eu_vat", "gr 123456789"}, ID{"GR", "eu_vat", "EL123456789"}},
		{"Northern Ireland prefix not assumed", ID{"GB", "eu_vat", "123 4567 89"}, ID{"GB", "eu_vat", "123456789"}},
		{"French key that looks like a prefix", ID{"FR", "eu_vat", "AT123456789"}, ID{"FR", "eu_vat", "FRAT123456789"}},
		{"other state's prefix kept", ID{"DE", "eu_vat", "fr40303265045"}, ID{"DE", "eu_vat", "FR40303265045"}},
		{"prefix added to a bad value", ID{"DE", "eu_vat", "12345678"}, ID{"DE", "eu_vat", "DE12345678"}},
		{"colons and commas", ID{"DK", "eu_vat", "DK: 21,599,336"}, ID{"DK", "eu_vat", "DK21599336"}},
		{"ein dash added", ID{"US", "us_ein", " 12 3456789 "}, ID{"US", "us_ein", "12-3456789"}},
		{"ein dash moved", ID{"US", "us_ein", "123-45-6789"}, ID{"US", "us_ein", "12-3456789"}},
		{"gb prefix added", ID{"gb", "GB_VAT", "123456789"}, ID{"GB", "gb_vat", "GB123456789"}},
		{"swiss layout", ID{"ch", "ch_vat", "che123456789mwst"}, ID{"CH", "ch_vat", "CHE-123.456.789 MWST"}},
		{"norwegian prefix dropped", ID{"NO", "no_vat", "NO123456789mva"}, ID{"NO", "no_vat", "123456789MVA"}},
		{"country code dropped", ID{"CL", "cl_tin", "CL 12531909-2"}, ID{"CL", "cl_tin", "12.531.909-2"}},
		{"arabic-indic digits", ID{"EG", "eg_tin", "١٠٠-٥٣١-٣٨٥"}, ID{"EG", "eg_tin", "100531385"}},
		{"cnpj layout", ID{"BR", "br_cnpj", "11 222 333 0001 81"}, ID{"BR", "br_cnpj", "11.222.333/0001-81"}},
		{"bad value only compacted", ID{"BR", "br_cpf", "111.444.777"}, ID{"BR", "br_cpf", "111444777"}},
		{"wrong country still normalized", ID{"FR", "us_ein", "123456789"}, ID{"FR", "us_ein", "12-3456789"}},
		{"unknown type value only trimmed", ID{"XX", "XX_FOO", " a-b "}, ID{"XX", "xx_foo", "a-b"}},
		{"eu_vat of an unknown country only compacted", ID{"US", "eu_vat", "de 1"}, ID{"US", "eu_vat", "DE1"}},
		{"empty value", ID{"DE", "eu_vat", "  "}, ID{"DE", "eu_vat", ""}},
		{"huge value only trimmed", ID{"DE", "eu_vat", " " + strings.Repeat("1 ", 100)}, ID{"DE", "eu_vat", strings.TrimSpace(strings.Repeat("1 ", 100))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidate_Reasons(t *testing.T) {
	tests := []struct {
		in         ID
		wantReason string
	}{
		{ID{"DE", "eu_vat", "DE12"}, "DE VAT numbers are DE followed by 9 digits"},
		{ID{"XX", "xx_foo", "1"}, `unknown tax ID type "xx_foo"`},
		{ID{"FR", "gb_vat", "GB123456789"}, "gb_vat tax IDs are for GB, not FR"},
		{ID{"US", "eu_vat", "123456789"}, "eu_vat tax IDs are for EU member states (and GB for Northern Ireland), not US"},
		{ID{"US", "eu_oss_vat", "EU372022452"}, "eu_oss_vat tax IDs are for EU member states (and GB for Northern Ireland), not US"},
		{ID{"DE", "eu_vat", "FR40303265045"}, "the number starts with FR, which does not match the country DE: DE VAT numbers are DE followed by 9 digits"},
		{ID{"GR", "eu_vat", "1234"}, "GR VAT numbers are EL followed by 9 digits"},
		{ID{"DE", "eu_vat", ""}, "a tax ID number is required: DE VAT numbers are DE followed by 9 digits"},
		{ID{"EL", "eu_vat", "EL123456789"}, "eu_vat tax IDs are for EU member states (and GB for Northern Ireland), not EL: use GR for Greece"},
		{ID{"GB", "eu_vat", "123456789"}, "Northern Ireland VAT numbers are XI followed by 9 or 12 digits, or XIGD or XIHA followed by 3 digits; other UK VAT numbers use the type gb_vat"},
		{ID{"AU", "au_abn", "51824753557"}, "the check digits of 51824753557 do not match: please check the number for a typo"},
		{ID{"CH", "ch_vat", "CHE-107.787.578 IVA"}, "the check digits of CHE-107.787.578 IVA do not match: please check the number for a typo"},
		{ID{"SA", "sa_vat", "3000000000000"}, "Saudi VAT numbers are 15 digits, e.g. 300000000000003"},
		{ID{"MX", "mx_rfc", "ABC011303AB9"}, "the 6 digits after an RFC's letters are a date as YYMMDD, e.g. 010203 for 3 February 2001"},
		{ID{"DE", "eu_vat", strings.Repeat("1", 101)}, "a tax ID number is at most 100 characters: DE VAT numbers are DE followed by 9 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.wantReason, func(t *testing.T) {
			_, err := Validate(tt.in)
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.wantReason {
				t.Fatalf("Validate(%+v) = %v, want reason %q", tt.in, err, tt.wantReason)
			}
			if want := "invalid tax ID " + e.Field + ": " + tt.wantReason; e.Error() != want {
				t.Errorf("Error() = %q, want %q", e.Error(), want)
			}
		})
	}
}

// TestValidate_RefusesHostileInputWithAnError: NUL bytes, invalid UTF-8,
// control characters and huge inputs are value errors, never a panic or
// a value that passes.
func TestValidate_RefusesHostileInputWithAnError(t *testing.T) {
	hostile := []string{
		"DE136695976\x00", "\x00DE136695976", "DE1366\x0095976", "DE\xff136695976", "\xc3\x28",
		"DE136695976\u202e", "DE136695976\x1b[31m", "ＤＥ１３６６９５９７６", // full-width letters and digits
		strings.Repeat("9", 1<<20), strings.Repeat("DE136695976 ", 1<<16), strings.Repeat("\xff", 4096),
	}
	for _, typ := range Types() {
		for _, country := range []string{"DE", "US", "GB"} {
			for _, value := range hostile {
				got, err := Validate(ID{country, typ, value})
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Validate(%s, %s, %.20q) = %.40q, %v; want an *Error", country, typ, value, got.Value, err)
				}
			}
		}
	}
}

// TestValidate_SafeForConcurrentUse runs the same validations from 20
// goroutines; with -race this shows the package holds no mutable state.
func TestValidate_SafeForConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range typeCases {
				for _, n := range tc.valid {
					if got, err := Validate(ID{tc.country, tc.typ, n.in}); err != nil || got.Value != n.want {
						t.Errorf("Validate(%q) = %q, %v", n.in, got.Value, err)
					}
				}
			}
			_ = TypesFor("")
		}()
	}
	wg.Wait()
}

func TestTypes_IsSortedUniqueAndACopy(t *testing.T) {
	types := Types()
	if !sort.StringsAreSorted(types) {
		t.Errorf("Types() is not sorted: %v", types)
	}
	if len(slices.Compact(slices.Clone(types))) != len(types) {
		t.Errorf("Types() has duplicates: %v", types)
	}
	types[0] = "changed"
	if Types()[0] == "changed" {
		t.Error("Types() shares its slice with the caller")
	}
}

func TestTypesFor_ListsACountrysTypesSortedByLabel(t *testing.T) {
	got := TypesFor(" ca ")
	want := []TypeInfo{
		{"CA", "ca_bn", "Canadian BN", "123456789"},
		{"CA", "ca_gst_hst", "Canadian GST/HST number", "123456789RT0002"},
		{"CA", "ca_pst_bc", "Canadian PST number (British Columbia)", "PST-1234-5678"},
		{"CA", "ca_pst_mb", "Canadian PST number (Manitoba)", "123456-7"},
		{"CA", "ca_pst_sk", "Canadian PST number (Saskatchewan)", "1234567"},
		{"CA", "ca_qst", "Canadian QST number (Québec)", "1234567890TQ1234"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("TypesFor(CA) = %v\nwant %v", got, want)
	}
	de := TypesFor("DE")
	var types []string
	for _, ti := range de {
		types = append(types, ti.Type)
	}
	if want := []string{"eu_oss_vat", "eu_vat", "de_stn"}; !slices.Equal(types, want) {
		t.Errorf("TypesFor(DE) types = %v, want %v (by label: European One Stop Shop…, European VAT…, German Tax…)", types, want)
	}
	if gb := TypesFor("GB"); len(gb) != 3 || gb[1].Label != "Northern Ireland VAT number" || gb[1].Example != "XI123456789" {
		t.Errorf("TypesFor(GB) = %v; want eu_oss_vat, Northern Ireland's eu_vat and gb_vat", gb)
	}
}

func TestTypesFor_UnknownCountryIsEmptyNotNil(t *testing.T) {
	for _, country := range []string{"XX", "ZZZ", "E", "EU", "\x00", "€€"} {
		if got := TypesFor(country); got == nil || len(got) != 0 {
			t.Errorf("TypesFor(%q) = %#v, want an empty non-nil slice", country, got)
		}
	}
}

func TestTypesFor_AllCountriesSortedByCountryThenLabel(t *testing.T) {
	all := TypesFor("")
	if !sort.SliceIsSorted(all, func(i, j int) bool {
		if all[i].Country != all[j].Country {
			return all[i].Country < all[j].Country
		}
		return all[i].Label < all[j].Label
	}) {
		t.Error("TypesFor(\"\") is not sorted by country, then label")
	}
	n := 0
	for _, countries := range registry {
		n += len(countries)
	}
	if len(all) != n {
		t.Errorf("TypesFor(\"\") has %d entries, want one per type and country (%d)", len(all), n)
	}
	for _, ti := range all {
		if len(ti.Country) != 2 || strings.ToUpper(ti.Country) != ti.Country || ti.Label == "" || ti.Example == "" {
			t.Errorf("incomplete entry %+v", ti)
		}
		// Every listed type validates for its own country with its own
		// example's shape: the type and country fit together.
		if _, err := Validate(ID{ti.Country, ti.Type, ti.Example}); err != nil {
			var e *Error
			if errors.As(err, &e) && e.Field != "value" {
				t.Errorf("%+v: %v", ti, err)
			}
		}
	}
	all[0].Label = "changed"
	if TypesFor("")[0].Label == "changed" {
		t.Error("TypesFor shares its slice with the caller")
	}
}

func TestLabel_AndShortLabel(t *testing.T) {
	tests := []struct{ typ, label, short string }{
		{"eu_vat", "European VAT number", "EU VAT"},
		{" EU_VAT ", "European VAT number", "EU VAT"},
		{"eu_oss_vat", "European One Stop Shop VAT number for non-Union scheme", "EU OSS VAT"},
		{"gb_vat", "United Kingdom VAT number", "GB VAT"},
		{"ca_gst_hst", "Canadian GST/HST number", "CA GST/HST"},
		{"us_ein", "United States EIN", "US EIN"},
		{"sa_vat", "Saudi Arabia VAT", "SA VAT"},
		{"es_cif", "Spanish NIF number (previously Spanish CIF number)", "ES NIF"},
		{"xx_foo", "", "XX FOO"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := Label(tt.typ); got != tt.label {
			t.Errorf("Label(%q) = %q, want %q", tt.typ, got, tt.label)
		}
		if got := ShortLabel(tt.typ); got != tt.short {
			t.Errorf("ShortLabel(%q) = %q, want %q", tt.typ, got, tt.short)
		}
	}
	for _, typ := range Types() {
		if Label(typ) == "" || ShortLabel(typ) == "" || strings.ContainsAny(ShortLabel(typ), "_\n") {
			t.Errorf("%s: label %q, short label %q", typ, Label(typ), ShortLabel(typ))
		}
	}
}

// TestVATCountries: eu_vat and eu_oss_vat cover the 27 member states and
// Northern Ireland (GB), each once.
func TestVATCountries_AreTheMemberStatesAndNorthernIreland(t *testing.T) {
	want := strings.Fields("AT BE BG CY CZ DE DK EE ES FI FR GB GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK")
	for _, typ := range []string{euVATType, euOSSType} {
		var got []string
		for country := range registry[typ] {
			got = append(got, country)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s countries = %v, want %v", typ, got, want)
		}
	}
}

func ExampleValidate() {
	id, err := Validate(ID{Country: "gr", Type: "eu_vat", Value: "094 259 216"})
	fmt.Println(id.Value, err)

	_, err = Validate(ID{Country: "DE", Type: "eu_vat", Value: "DE12345678"})
	var e *Error
	if errors.As(err, &e) {
		fmt.Println(e.Field+":", e.Reason)
	}
	// Output:
	// EL094259216 <nil>
	// value: DE VAT numbers are DE followed by 9 digits
}

func ExampleTypesFor() {
	for _, t := range TypesFor("SA") {
		fmt.Printf("%s %s: %s, e.g. %s\n", t.Country, t.Type, t.Label, t.Example)
	}
	fmt.Println(ShortLabel("eu_vat"), "DE136695976")
	// Output:
	// SA sa_vat: Saudi Arabia VAT, e.g. 123456789012345
	// EU VAT DE136695976
}
