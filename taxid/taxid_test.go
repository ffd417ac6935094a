package taxid

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// validationCase is one entered ID and what Validate must make of it:
// the canonical value, or the field of the *Error.
type validationCase struct {
	in        ID
	want      string // canonical value; "" when invalid
	wantField string // "country", "type" or "value" when invalid
}

func valid(country, typ, value, want string) validationCase {
	return validationCase{in: ID{country, typ, value}, want: want}
}

func invalid(country, typ, value, field string) validationCase {
	return validationCase{in: ID{country, typ, value}, wantField: field}
}

// validationCases has, for every supported type and every EU member
// state, at least one valid and one invalid value (TestValidationCasesCoverEverything
// keeps it so). Values are Stripe's documentation examples, real public
// numbers where noted, or made-up numbers of the right format.
var validationCases = []validationCase{
	// eu_vat, one block per member state.
	valid("AT", "eu_vat", "ATU12345678", "ATU12345678"),
	valid("AT", "eu_vat", "U12345678", "ATU12345678"),
	invalid("AT", "eu_vat", "AT12345678", "value"), // the U is part of the number
	invalid("AT", "eu_vat", "ATU1234567", "value"),

	valid("BE", "eu_vat", "BE0123456789", "BE0123456789"),
	valid("BE", "eu_vat", "BE1234567890", "BE1234567890"), // numbers starting with 1 exist since 2023
	invalid("BE", "eu_vat", "BE2123456789", "value"),
	invalid("BE", "eu_vat", "BE012345678", "value"),

	valid("BG", "eu_vat", "BG123456789", "BG123456789"),
	valid("BG", "eu_vat", "BG1234567890", "BG1234567890"),
	invalid("BG", "eu_vat", "BG12345678", "value"),
	invalid("BG", "eu_vat", "BG12345678901", "value"),

	valid("CY", "eu_vat", "CY12345678X", "CY12345678X"),
	invalid("CY", "eu_vat", "CY123456789", "value"),
	invalid("CY", "eu_vat", "CY1234567X", "value"),

	valid("CZ", "eu_vat", "CZ12345678", "CZ12345678"),
	valid("CZ", "eu_vat", "CZ123456789", "CZ123456789"),
	valid("CZ", "eu_vat", "CZ1234567890", "CZ1234567890"),
	invalid("CZ", "eu_vat", "CZ1234567", "value"),
	invalid("CZ", "eu_vat", "CZ12345678901", "value"),

	valid("DE", "eu_vat", "DE123456789", "DE123456789"), // Stripe's example
	invalid("DE", "eu_vat", "DE12345678", "value"),
	invalid("DE", "eu_vat", "DE12", "value"),
	invalid("DE", "eu_vat", "DE12345678A", "value"),

	valid("DK", "eu_vat", "DK12345678", "DK12345678"),
	invalid("DK", "eu_vat", "DK123456789", "value"),

	valid("EE", "eu_vat", "EE123456789", "EE123456789"),
	invalid("EE", "eu_vat", "EE12345678", "value"),

	valid("GR", "eu_vat", "EL123456789", "EL123456789"),
	valid("GR", "eu_vat", "GR123456789", "EL123456789"), // the ISO code typed as prefix
	valid("GR", "eu_vat", "123456789", "EL123456789"),
	invalid("GR", "eu_vat", "EL12345678", "value"),

	valid("ES", "eu_vat", "ESA12345674", "ESA12345674"), // CIF: letter first
	valid("ES", "eu_vat", "ES12345678Z", "ES12345678Z"), // NIF: letter last
	valid("ES", "eu_vat", "ESX1234567L", "ESX1234567L"), // NIE: letters both ends
	invalid("ES", "eu_vat", "ES123456789", "value"),     // both ends digits
	invalid("ES", "eu_vat", "ESA1234567", "value"),

	valid("FI", "eu_vat", "FI12345678", "FI12345678"),
	invalid("FI", "eu_vat", "FI123456789", "value"),

	valid("FR", "eu_vat", "FR40303265045", "FR40303265045"),
	valid("FR", "eu_vat", "FRAB123456789", "FRAB123456789"),
	valid("FR", "eu_vat", "FRHJ123456789", "FRHJ123456789"),
	invalid("FR", "eu_vat", "FR123456789", "value"), // the key is missing
	invalid("FR", "eu_vat", "FROI123456789", "value"),

	valid("HR", "eu_vat", "HR12345678901", "HR12345678901"),
	invalid("HR", "eu_vat", "HR1234567890", "value"),

	valid("HU", "eu_vat", "HU12345678", "HU12345678"),
	invalid("HU", "eu_vat", "HU123456789", "value"),

	valid("IE", "eu_vat", "IE6388047V", "IE6388047V"), // Google Ireland, public
	valid("IE", "eu_vat", "IE1234567FA", "IE1234567FA"),
	valid("IE", "eu_vat", "IE1A23456T", "IE1A23456T"), // older form, letter second
	valid("IE", "eu_vat", "IE1+23456T", "IE1+23456T"),
	invalid("IE", "eu_vat", "IE1234567", "value"),
	invalid("IE", "eu_vat", "IE1234567X", "value"), // X is no check letter
	invalid("IE", "eu_vat", "IE12345678X", "value"),

	valid("IT", "eu_vat", "IT12345678901", "IT12345678901"),
	invalid("IT", "eu_vat", "IT1234567890", "value"),

	valid("LT", "eu_vat", "LT123456789", "LT123456789"),
	valid("LT", "eu_vat", "LT123456789012", "LT123456789012"),
	invalid("LT", "eu_vat", "LT1234567890", "value"),

	valid("LU", "eu_vat", "LU26375245", "LU26375245"), // Amazon EU, public
	invalid("LU", "eu_vat", "LU123456789", "value"),

	valid("LV", "eu_vat", "LV12345678901", "LV12345678901"),
	invalid("LV", "eu_vat", "LV1234567890", "value"),

	valid("MT", "eu_vat", "MT12345678", "MT12345678"),
	invalid("MT", "eu_vat", "MT1234567", "value"),

	valid("NL", "eu_vat", "NL123456789B01", "NL123456789B01"),
	invalid("NL", "eu_vat", "NL123456789012", "value"),
	invalid("NL", "eu_vat", "NL123456789B1", "value"),

	valid("PL", "eu_vat", "PL1234567890", "PL1234567890"),
	valid("PL", "eu_vat", "1234567890", "PL1234567890"),
	invalid("PL", "eu_vat", "PL123456789", "value"),

	valid("PT", "eu_vat", "PT123456789", "PT123456789"),
	invalid("PT", "eu_vat", "PT12345678", "value"),

	valid("RO", "eu_vat", "RO12", "RO12"),
	valid("RO", "eu_vat", "RO1234567890", "RO1234567890"),
	invalid("RO", "eu_vat", "RO1", "value"),
	invalid("RO", "eu_vat", "RO12345678901", "value"),

	valid("SE", "eu_vat", "SE123456789701", "SE123456789701"),
	invalid("SE", "eu_vat", "SE123456789702", "value"),
	invalid("SE", "eu_vat", "SE1234567801", "value"),

	valid("SI", "eu_vat", "SI12345678", "SI12345678"),
	invalid("SI", "eu_vat", "SI1234567", "value"),

	valid("SK", "eu_vat", "SK1234567890", "SK1234567890"),
	invalid("SK", "eu_vat", "SK123456789", "value"),

	// eu_vat for Northern Ireland: country GB, prefix XI.
	valid("GB", "eu_vat", "XI123456789", "XI123456789"),
	valid("GB", "eu_vat", "XI123456789012", "XI123456789012"),
	valid("GB", "eu_vat", "XIGD123", "XIGD123"),
	valid("GB", "eu_vat", "xi 123 456 789", "XI123456789"),
	invalid("GB", "eu_vat", "123456789", "value"), // XI is never assumed: see canonicalVAT
	invalid("GB", "eu_vat", "XI12345678", "value"),
	invalid("GB", "eu_vat", "GB123456789", "type"), // a GB number belongs under gb_vat

	// eu_vat, wrong country or a prefix that contradicts it.
	invalid("US", "eu_vat", "123456789", "country"),
	invalid("CH", "eu_vat", "CHE123456789", "country"),
	invalid("", "eu_vat", "DE123456789", "country"),
	invalid("EL", "eu_vat", "EL123456789", "country"), // ISO code is GR
	invalid("DE", "eu_vat", "FR40303265045", "value"),
	invalid("DE", "eu_vat", "", "value"),

	valid("GB", "gb_vat", "GB123456789", "GB123456789"), // Stripe's example
	valid("GB", "gb_vat", "GB123456789012", "GB123456789012"),
	valid("GB", "gb_vat", "GBGD001", "GBGD001"),
	valid("GB", "gb_vat", "GBHA599", "GBHA599"),
	valid("GB", "gb_vat", "123 4567 89", "GB123456789"),
	invalid("GB", "gb_vat", "GB12345678", "value"),
	invalid("GB", "gb_vat", "GBXX123", "value"),
	invalid("GB", "gb_vat", "", "value"),
	invalid("GB", "gb_vat", "XI123456789", "type"), // Northern Ireland belongs under eu_vat
	invalid("FR", "gb_vat", "GB123456789", "country"),

	valid("US", "us_ein", "12-3456789", "12-3456789"), // Stripe's example
	valid("US", "us_ein", "123456789", "12-3456789"),
	invalid("US", "us_ein", "1234567", "value"),
	invalid("US", "us_ein", "12-345678A", "value"),
	invalid("CA", "us_ein", "12-3456789", "country"),
	invalid("", "us_ein", "12-3456789", "country"),

	valid("CA", "ca_bn", "123456789", "123456789"),
	invalid("CA", "ca_bn", "12345678", "value"),

	valid("CA", "ca_gst_hst", "123456789RT0002", "123456789RT0002"), // Stripe's example
	valid("CA", "ca_gst_hst", "123456789 rt 0002", "123456789RT0002"),
	invalid("CA", "ca_gst_hst", "123456789RC0002", "value"),
	invalid("CA", "ca_gst_hst", "123456789RT002", "value"),

	valid("CA", "ca_qst", "1234567890TQ1234", "1234567890TQ1234"), // Stripe's example
	valid("CA", "ca_qst", "1234567890 tq 1234", "1234567890TQ1234"),
	invalid("CA", "ca_qst", "1234567890TA1234", "value"),
	invalid("CA", "ca_qst", "123456789TQ1234", "value"),

	valid("AU", "au_abn", "51 824 753 556", "51824753556"), // the ATO's own ABN
	invalid("AU", "au_abn", "51 824 753 557", "value"),     // check digits
	invalid("AU", "au_abn", "12345678912", "value"),        // Stripe's example fails the checksum
	invalid("AU", "au_abn", "5182475355", "value"),
	invalid("NZ", "au_abn", "51824753556", "country"),

	valid("AU", "au_arn", "123456789123", "123456789123"), // Stripe's example
	invalid("AU", "au_arn", "12345678912", "value"),

	valid("IN", "in_gst", "22AAAAA0000A1Z5", "22AAAAA0000A1Z5"), // Stripe's example
	valid("IN", "in_gst", "22aaaaa0000a1z5", "22AAAAA0000A1Z5"),
	invalid("IN", "in_gst", "22AAAAA0000A1X5", "value"), // 14th character must be Z
	invalid("IN", "in_gst", "2AAAAA0000A1Z5", "value"),
	invalid("IN", "in_gst", "22AAAA00000A1Z5", "value"), // PAN with 4 letters

	valid("CH", "ch_vat", "CHE-123.456.789 MWST", "CHE-123.456.789 MWST"), // Stripe's example
	valid("CH", "ch_vat", "che123456789tva", "CHE-123.456.789 TVA"),
	valid("CH", "ch_vat", "CHE 123 456 789 IVA", "CHE-123.456.789 IVA"),
	valid("CH", "ch_vat", "123.456.789 MWST", "CHE-123.456.789 MWST"),
	invalid("CH", "ch_vat", "CHE-123.456.78 MWST", "value"),
	invalid("CH", "ch_vat", "CHE-123.456.789", "value"), // no language suffix
	invalid("CH", "ch_vat", "CHE-123.456.789 VAT", "value"),
	invalid("LI", "ch_vat", "CHE-123.456.789 MWST", "country"),

	valid("NO", "no_vat", "123456789MVA", "123456789MVA"), // Stripe's example
	valid("NO", "no_vat", "NO 123 456 789 MVA", "123456789MVA"),
	invalid("NO", "no_vat", "123456789", "value"), // without MVA it is not a VAT number
	invalid("NO", "no_vat", "12345678MVA", "value"),

	valid("JP", "jp_cn", "1234567891234", "1234567891234"), // Stripe's example
	invalid("JP", "jp_cn", "123456789123", "value"),

	valid("BR", "br_cnpj", "11.222.333/0001-81", "11.222.333/0001-81"),
	valid("BR", "br_cnpj", "11222333000181", "11.222.333/0001-81"),
	valid("BR", "br_cnpj", "12.ABC.345/01DE-35", "12.ABC.345/01DE-35"), // Receita Federal's alphanumeric example
	valid("BR", "br_cnpj", "12abc34501de35", "12.ABC.345/01DE-35"),
	invalid("BR", "br_cnpj", "11.222.333/0001-82", "value"),
	invalid("BR", "br_cnpj", "01.234.456/5432-10", "value"), // Stripe's example fails the check digits
	invalid("BR", "br_cnpj", "11.111.111/1111-11", "value"),
	invalid("BR", "br_cnpj", "11.222.333/0001-8", "value"),
	invalid("BR", "br_cnpj", "12.ABC.345/01DE-3A", "value"), // check digits are numeric

	valid("BR", "br_cpf", "111.444.777-35", "111.444.777-35"),
	valid("BR", "br_cpf", "11144477735", "111.444.777-35"),
	valid("BR", "br_cpf", "123.456.789-09", "123.456.789-09"),
	invalid("BR", "br_cpf", "111.444.777-36", "value"),
	invalid("BR", "br_cpf", "123.456.789-87", "value"), // Stripe's example fails the check digits
	invalid("BR", "br_cpf", "111.111.111-11", "value"),
	invalid("PT", "br_cpf", "111.444.777-35", "country"),

	valid("MX", "mx_rfc", "ABC010203AB9", "ABC010203AB9"),   // Stripe's example
	valid("MX", "mx_rfc", "GODE561231GR8", "GODE561231GR8"), // a person: 4 letters
	valid("MX", "mx_rfc", "abc-010203-ab9", "ABC010203AB9"),
	valid("MX", "mx_rfc", "ñab000229ab9", "ÑAB000229AB9"), // 29 February 2000
	valid("MX", "mx_rfc", "A&B010203AB9", "A&B010203AB9"),
	invalid("MX", "mx_rfc", "AB010203AB9", "value"),
	invalid("MX", "mx_rfc", "ABC011303AB9", "value"), // month 13
	invalid("MX", "mx_rfc", "ABC010230AB9", "value"), // 30 February
	invalid("MX", "mx_rfc", "ABC010203AB", "value"),

	valid("ZA", "za_vat", "4123456789", "4123456789"), // Stripe's example
	invalid("ZA", "za_vat", "5123456789", "value"),
	invalid("ZA", "za_vat", "412345678", "value"),

	valid("AE", "ae_trn", "123456789012345", "123456789012345"),
	invalid("AE", "ae_trn", "12345678901234", "value"),

	valid("HK", "hk_br", "12345678", "12345678"),
	invalid("HK", "hk_br", "1234567", "value"),

	valid("KR", "kr_brn", "123-45-67890", "123-45-67890"),
	valid("KR", "kr_brn", "1234567890", "123-45-67890"),
	invalid("KR", "kr_brn", "123-45-6789", "value"),

	valid("NZ", "nz_gst", "123456789", "123456789"),
	valid("NZ", "nz_gst", "49-091-850", "49091850"),
	invalid("NZ", "nz_gst", "1234567", "value"),

	valid("SG", "sg_uen", "123456789F", "123456789F"),
	valid("SG", "sg_uen", "53012345D", "53012345D"),
	valid("SG", "sg_uen", "T08LL0001A", "T08LL0001A"),
	invalid("SG", "sg_uen", "123456789", "value"),

	valid("TH", "th_vat", "1234567891234", "1234567891234"),
	invalid("TH", "th_vat", "123456789123", "value"),

	valid("TW", "tw_vat", "12345678", "12345678"),
	invalid("TW", "tw_vat", "1234567", "value"),

	// Type errors.
	invalid("XX", "xx_foo", "1", "type"),
	invalid("DE", "", "DE123456789", "type"),
	invalid("ES", "es_cif", "A12345674", "type"), // a Stripe type this package does not support
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

// TestValidationCasesCoverEverything keeps validationCases honest: every
// type and every one of the 27 EU member states has a valid and an
// invalid value case.
func TestValidationCasesCoverEverything(t *testing.T) {
	memberStates := strings.Fields("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK")
	if got := len(memberStateVAT); got != len(memberStates) {
		t.Errorf("memberStateVAT has %d countries, want the %d member states", got, len(memberStates))
	}
	validSeen, invalidSeen := map[string]bool{}, map[string]bool{}
	for _, tc := range validationCases {
		key := tc.in.Type
		if tc.in.Type == "eu_vat" {
			key += "/" + tc.in.Country
		}
		if tc.want != "" {
			validSeen[key] = true
		} else if tc.wantField == "value" {
			invalidSeen[key] = true
		}
	}
	// eu_vat is covered per country below.
	keys := slices.DeleteFunc(Types(), func(typ string) bool { return typ == "eu_vat" })
	for _, state := range memberStates {
		if _, ok := memberStateVAT[state]; !ok {
			t.Errorf("member state %s has no eu_vat format", state)
		}
		keys = append(keys, "eu_vat/"+state)
	}
	keys = append(keys, "eu_vat/GB") // Northern Ireland
	for _, key := range keys {
		if !validSeen[key] || !invalidSeen[key] {
			t.Errorf("%s: valid case %v, invalid value case %v; want both", key, validSeen[key], invalidSeen[key])
		}
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
		{"dots and dashes", ID{"NL", "eu_vat", "nl.1234.56789.b01"}, ID{"NL", "eu_vat", "NL123456789B01"}},
		{"tabs and no-break spaces", ID{"AT", "eu_vat", "atu\t1234\u00a05678"}, ID{"AT", "eu_vat", "ATU12345678"}},
		{"ein dash added", ID{"US", "us_ein", " 12 3456789 "}, ID{"US", "us_ein", "12-3456789"}},
		{"ein dash moved", ID{"US", "us_ein", "123-45-6789"}, ID{"US", "us_ein", "12-3456789"}},
		{"gb prefix added", ID{"gb", "GB_VAT", "123456789"}, ID{"GB", "gb_vat", "GB123456789"}},
		{"swiss layout", ID{"ch", "ch_vat", "che123456789mwst"}, ID{"CH", "ch_vat", "CHE-123.456.789 MWST"}},
		{"norwegian prefix dropped", ID{"NO", "no_vat", "NO123456789mva"}, ID{"NO", "no_vat", "123456789MVA"}},
		{"cnpj layout", ID{"BR", "br_cnpj", "11 222 333 0001 81"}, ID{"BR", "br_cnpj", "11.222.333/0001-81"}},
		{"cpf layout", ID{"BR", "br_cpf", "11144477735"}, ID{"BR", "br_cpf", "111.444.777-35"}},
		{"bad value only compacted", ID{"BR", "br_cpf", "111.444.777"}, ID{"BR", "br_cpf", "111444777"}},
		{"unknown type value only trimmed", ID{"XX", "XX_FOO", " a-b "}, ID{"XX", "xx_foo", "a-b"}},
		{"empty value", ID{"DE", "eu_vat", "  "}, ID{"DE", "eu_vat", ""}},
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
		{ID{"DE", "eu_vat", "FR40303265045"}, "the number starts with FR, which does not match the country DE: DE VAT numbers are DE followed by 9 digits"},
		{ID{"GR", "eu_vat", "1234"}, "GR VAT numbers are EL followed by 9 digits"},
		{ID{"DE", "eu_vat", ""}, "a tax ID number is required: DE VAT numbers are DE followed by 9 digits"},
		{ID{"EL", "eu_vat", "EL123456789"}, "eu_vat tax IDs are for EU member states (and GB for Northern Ireland), not EL: use GR for Greece"},
		{ID{"GB", "eu_vat", "123456789"}, "Northern Ireland VAT numbers are XI followed by 9 or 12 digits, or XIGD or XIHA followed by 3 digits; other UK VAT numbers use the type gb_vat"},
		{ID{"AU", "au_abn", "51824753557"}, "this ABN's check digits do not match: please check it for a typo"},
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

func TestTypes(t *testing.T) {
	types := Types()
	if !sort.StringsAreSorted(types) {
		t.Errorf("Types() is not sorted: %v", types)
	}
	required := strings.Fields("eu_vat gb_vat us_ein ca_bn ca_gst_hst ca_qst au_abn au_arn in_gst ch_vat no_vat jp_cn br_cnpj br_cpf mx_rfc za_vat")
	for _, typ := range required {
		if !slices.Contains(types, typ) {
			t.Errorf("Types() lacks %s", typ)
		}
	}
	if len(slices.Compact(slices.Clone(types))) != len(types) {
		t.Errorf("Types() has duplicates: %v", types)
	}
	types[0] = "changed"
	if Types()[0] == "changed" {
		t.Error("Types() shares its slice with the caller")
	}
}

func ExampleValidate() {
	id, err := Validate(ID{Country: "gr", Type: "eu_vat", Value: "123 456 789"})
	fmt.Println(id.Value, err)

	_, err = Validate(ID{Country: "DE", Type: "eu_vat", Value: "DE12345678"})
	var e *Error
	if errors.As(err, &e) {
		fmt.Println(e.Field+":", e.Reason)
	}
	// Output:
	// EL123456789 <nil>
	// value: DE VAT numbers are DE followed by 9 digits
}
