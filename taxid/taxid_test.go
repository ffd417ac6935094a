package taxid

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate_EveryTypeAcceptsItsFormatAndRejectsOthers(t *testing.T) {
	tests := []struct {
		country, typ, value string
		want                string // canonical value; "" = invalid
	}{
		{"AT", "eu_vat", "ATU12345678", "ATU12345678"}, {"AT", "eu_vat", "AT12345678", ""},
		{"BE", "eu_vat", "BE0123456789", "BE0123456789"}, {"BE", "eu_vat", "BE2123456789", ""},
		{"BG", "eu_vat", "BG123456789", "BG123456789"}, {"BG", "eu_vat", "BG12345678", ""},
		{"CY", "eu_vat", "CY12345678X", "CY12345678X"}, {"CY", "eu_vat", "CY123456789", ""},
		{"CZ", "eu_vat", "CZ12345678", "CZ12345678"}, {"CZ", "eu_vat", "CZ1234567", ""},
		{"DE", "eu_vat", "DE123456789", "DE123456789"}, {"DE", "eu_vat", "DE12345678", ""},
		{"DK", "eu_vat", "DK12345678", "DK12345678"}, {"DK", "eu_vat", "DK1234567", ""},
		{"EE", "eu_vat", "EE123456789", "EE123456789"}, {"EE", "eu_vat", "EE12345678", ""},
		{"GR", "eu_vat", "EL123456789", "EL123456789"}, {"GR", "eu_vat", "GR123456789", ""},
		{"ES", "eu_vat", "ESA1234567Z", "ESA1234567Z"}, {"ES", "eu_vat", "ES12345678", ""},
		{"FI", "eu_vat", "FI12345678", "FI12345678"}, {"FI", "eu_vat", "FI123456789", ""},
		{"FR", "eu_vat", "FRAB123456789", "FRAB123456789"}, {"FR", "eu_vat", "FR123456789", ""},
		{"HR", "eu_vat", "HR12345678912", "HR12345678912"}, {"HR", "eu_vat", "HR1234567891", ""},
		{"HU", "eu_vat", "HU12345678", "HU12345678"}, {"HU", "eu_vat", "HU123456789", ""},
		{"IE", "eu_vat", "IE1234567WA", "IE1234567WA"}, {"IE", "eu_vat", "IE1234567", ""},
		{"IT", "eu_vat", "IT12345678912", "IT12345678912"}, {"IT", "eu_vat", "IT1234567891", ""},
		{"LT", "eu_vat", "LT123456789123", "LT123456789123"}, {"LT", "eu_vat", "LT1234567891", ""},
		{"LU", "eu_vat", "LU12345678", "LU12345678"}, {"LU", "eu_vat", "LU123456789", ""},
		{"LV", "eu_vat", "LV12345678912", "LV12345678912"}, {"LV", "eu_vat", "LV1234567891", ""},
		{"MT", "eu_vat", "MT12345678", "MT12345678"}, {"MT", "eu_vat", "MT1234567", ""},
		{"NL", "eu_vat", "NL123456789B12", "NL123456789B12"}, {"NL", "eu_vat", "NL123456789012", ""},
		{"PL", "eu_vat", "PL1234567890", "PL1234567890"}, {"PL", "eu_vat", "PL123456789", ""},
		{"PT", "eu_vat", "PT123456789", "PT123456789"}, {"PT", "eu_vat", "PT12345678", ""},
		{"RO", "eu_vat", "RO1234567891", "RO1234567891"}, {"RO", "eu_vat", "RO1", ""},
		{"SE", "eu_vat", "SE123456789701", "SE123456789701"}, {"SE", "eu_vat", "SE123456789702", ""},
		{"SI", "eu_vat", "SI12345678", "SI12345678"}, {"SI", "eu_vat", "SI1234567", ""},
		{"SK", "eu_vat", "SK1234567891", "SK1234567891"}, {"SK", "eu_vat", "SK123456789", ""},
		{"GB", "eu_vat", "XI123456789", "XI123456789"},
		{"GB", "gb_vat", "GB123456789", "GB123456789"}, {"GB", "gb_vat", "GB12345678", ""},
		{"US", "us_ein", "12-3456789", "12-3456789"}, {"US", "us_ein", "123456789", "12-3456789"}, {"US", "us_ein", "1234567", ""},
		{"CA", "ca_bn", "123456789", "123456789"}, {"CA", "ca_bn", "12345678", ""},
		{"CA", "ca_gst_hst", "123456789RT0002", "123456789RT0002"}, {"CA", "ca_gst_hst", "123456789RC0002", ""},
		{"CA", "ca_qst", "1234567890TQ1234", "1234567890TQ1234"}, {"CA", "ca_qst", "1234567890TA1234", ""},
		{"AU", "au_abn", "51 824 753 556", "51824753556"}, {"AU", "au_abn", "51824753557", ""},
		{"AU", "au_arn", "123456789123", "123456789123"}, {"AU", "au_arn", "12345678912", ""},
		{"IN", "in_gst", "22AAAAA0000A1Z5", "22AAAAA0000A1Z5"}, {"IN", "in_gst", "22AAAAA0000A1X5", ""},
		{"CH", "ch_vat", "CHE-123.456.789 MWST", "CHE-123.456.789 MWST"}, {"CH", "ch_vat", "che123456789tva", "CHE-123.456.789 TVA"}, {"CH", "ch_vat", "CHE-123.456.78 MWST", ""},
		{"NO", "no_vat", "123456789MVA", "123456789MVA"}, {"NO", "no_vat", "123456789", ""},
		{"JP", "jp_cn", "1234567891234", "1234567891234"}, {"JP", "jp_cn", "123456789123", ""},
		{"BR", "br_cnpj", "11.222.333/0001-81", "11.222.333/0001-81"}, {"BR", "br_cnpj", "11222333000181", "11.222.333/0001-81"}, {"BR", "br_cnpj", "11.222.333/0001-82", ""},
		{"BR", "br_cpf", "111.444.777-35", "111.444.777-35"}, {"BR", "br_cpf", "11144477735", "111.444.777-35"}, {"BR", "br_cpf", "111.444.777-36", ""}, {"BR", "br_cpf", "111.111.111-11", ""},
		{"MX", "mx_rfc", "ABC010203AB9", "ABC010203AB9"}, {"MX", "mx_rfc", "AB010203AB9", ""},
		{"ZA", "za_vat", "4123456789", "4123456789"}, {"ZA", "za_vat", "5123456789", ""},
		{"NZ", "nz_gst", "123456789", "123456789"}, {"KR", "kr_brn", "1234567890", "123-45-67890"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.country+"/"+tt.value, func(t *testing.T) {
			got, err := Validate(ID{Country: tt.country, Type: tt.typ, Value: tt.value})
			if tt.want == "" {
				var e *Error
				if !errors.As(err, &e) || e.Field != "value" || e.Reason == "" {
					t.Fatalf("Validate accepted %q (err %v), want a value error", tt.value, err)
				}
				return
			}
			if err != nil || got.Value != tt.want {
				t.Fatalf("Validate = %q, %v; want %q", got.Value, err, tt.want)
			}
		})
	}
}

func TestValidate_CoversEveryEUMemberState(t *testing.T) {
	if len(euStates) != 27 {
		t.Fatalf("%d EU states, want 27", len(euStates))
	}
}

func TestNormalize_SpacesCaseAndMissingPrefix(t *testing.T) {
	tests := []struct{ in, want ID }{
		{ID{" de ", " EU_VAT ", "de 123 456 789"}, ID{"DE", "eu_vat", "DE123456789"}},
		{ID{"DE", "eu_vat", "123456789"}, ID{"DE", "eu_vat", "DE123456789"}},
		{ID{"gr", "eu_vat", "123456789"}, ID{"GR", "eu_vat", "EL123456789"}},
		{ID{"US", "us_ein", " 12 3456789 "}, ID{"US", "us_ein", "12-3456789"}},
		{ID{"NL", "eu_vat", "nl.1234.56789.b01"}, ID{"NL", "eu_vat", "NL123456789B01"}},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestValidate_UnknownTypeAndCountryMismatch(t *testing.T) {
	for _, tt := range []struct {
		id    ID
		field string
	}{
		{ID{"XX", "xx_foo", "1"}, "type"},
		{ID{"DE", "", "DE123456789"}, "type"},
		{ID{"FR", "gb_vat", "GB123456789"}, "country"},
		{ID{"US", "eu_vat", "123"}, "country"},
		{ID{"DE", "eu_vat", ""}, "value"},
	} {
		_, err := Validate(tt.id)
		var e *Error
		if !errors.As(err, &e) || e.Field != tt.field {
			t.Errorf("Validate(%+v) = %v, want a %s error", tt.id, err, tt.field)
		}
		if tt.field == "type" && tt.id.Type != "" && !strings.Contains(e.Reason, tt.id.Type) {
			t.Errorf("unknown type error %q does not name the type", e.Reason)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []ID{{"DE", "eu_vat", "DE123456789"}, {"BR", "br_cnpj", "11.222.333/0001-81"}, {"US", "us_ein", "12-3456789"},
		{"CH", "ch_vat", "CHE-123.456.789 MWST"}, {"AU", "au_abn", "51824753556"}, {"MX", "mx_rfc", "ABC010203AB9"}, {"GB", "eu_vat", "XI123456789"}} {
		f.Add(s.Country, s.Type, s.Value)
	}
	f.Fuzz(func(t *testing.T, country, typ, value string) {
		got, err := Validate(ID{country, typ, value})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Field == "" || e.Reason == "" {
				t.Fatalf("error %v is not a complete *Error", err)
			}
			return
		}
		again, err := Validate(got)
		if err != nil || again != got {
			t.Fatalf("Validate is not idempotent: %+v → %+v, %v", got, again, err)
		}
	})
}
