package pdf

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func nfc(s string) string { return norm.NFC.String(s) }

func TestCheckPrintable_AcceptsNamesTheFontPrints(t *testing.T) {
	for name, s := range map[string]string{
		"Polish":         "Zakład Usług Informatycznych Łódź Sp. z o.o.",
		"Greek":          "Γιώργος Παπαδόπουλος, Θεσσαλονίκη",
		"Cyrillic":       "ООО «Ромашка», Новосибирск, ул. Щорса 7/2",
		"Ukrainian":      "Київ, вулиця Хрещатик, ґанок, Їжак",
		"Vietnamese":     "Công ty TNHH Nguyễn Thị Hương, Đà Nẵng, phường Thạc Gián",
		"German":         "Müller & Söhne GmbH, Großbeerenstraße 5, Düsseldorf",
		"Turkish":        "İstanbul Şişli, Ağaoğlu Iğdır Çözüm A.Ş. ı",
		"Romanian":       "Societatea Științifică, Timișoara, Țară",
		"Nordic":         "Ærøskøbing Æbleø, Þórshöfn, Reykjavík",
		"Armenian":       "Երևան, Հայաստան",
		"Georgian":       "თბილისი, საქართველო",
		"punctuation":    "“Quotes” ‘single’ — dash – en – … € £ ¥ № § © ® ™ ½ ° ± ×",
		"email":          "billing+eu@example.co.uk",
		"symbols it has": "Café ☕ ✓ ★ ♥",
		"tax ID":         "EU VAT DE123456789",
		"combining":      "Cafe\u0301 Nguye\u0302\u0303n", // decomposed accents the font has
		"no-break space": "Société\u00a0Générale",
		"empty":          "",
	} {
		t.Run(name, func(t *testing.T) {
			if err := CheckPrintable(s); err != nil {
				t.Errorf("CheckPrintable(%q) = %v", s, err)
			}
		})
	}
}

func TestCheckPrintable_RefusesWhatWouldNotPrintAsEntered(t *testing.T) {
	for _, c := range []struct {
		name, s string
		char    int    // 1-based position of the refused character
		reason  string // part of the error message
	}{
		{"Hebrew", "שלום בע״מ", 1, "Hebrew, written right to left"},
		{"Arabic", "شركة الاتصالات", 1, "Arabic, written right to left"},
		{"Arabic after Latin", "ACME شركة", 6, "Arabic, written right to left"},
		{"Arabic-Indic digit", "Box ٣", 5, "Arabic, written right to left"},
		{"Hebrew point alone", "a\u05b0", 2, "Hebrew, written right to left"},
		{"Arabic question mark", "what\u061f", 5, "right-to-left character"},
		{"Syriac", "ܐܬܘܪ", 1, "Syriac, written right to left"},
		{"Thaana", "ދިވެހި", 1, "Thaana, written right to left"},
		{"N'Ko", "ߒߞߏ", 1, "Nko, written right to left"},
		{"emoji", "ACME 🙂", 6, "emoji or symbol"},
		{"emoji in the BMP", "Star ⭐", 6, "emoji or symbol"},
		{"flag", "🇵🇱 Polska", 1, "emoji or symbol"},
		{"emoji with variation selector", "❤\ufe0f", 2, "variation selector"},
		{"ZWJ family", "a\u200db", 2, "zero width joiner"},
		{"ZWNJ", "a\u200cb", 2, "zero width non-joiner"},
		{"zero width space", "a\u200bb", 2, "zero width space"},
		{"byte order mark", "\ufeffACME", 1, "byte order mark"},
		{"soft hyphen", "Donau\u00addampf", 6, "soft hyphen"},
		{"terminal escape", "\x1b[31mred", 1, "escape, which starts terminal escape codes"},
		{"C1 CSI", "a\u009b31m", 2, "control sequence introducer"},
		{"NUL", "ACME\x00", 5, "NUL"},
		{"DEL", "ACME\x7f", 5, "DEL"},
		{"tab", "a\tb", 2, "tab"},
		{"newline", "line\nbreak", 5, "line feed"},
		{"line separator", "a\u2028b", 2, "line break"},
		{"right-to-left override", "invoice\u202Egpj.exe", 8, "right-to-left override"},
		{"left-to-right isolate", "a\u2066b", 2, "left-to-right isolate"},
		{"right-to-left mark", "a\u200fb", 2, "right-to-left mark"},
		{"Han", "東京", 1, "Han character that the invoice font has no glyph for"},
		{"Thai", "กรุงเทพ", 1, "Thai, which needs text shaping"},
		{"Lao, though the font has it", "ລາວ", 1, "Lao, which needs text shaping"},
		{"Devanagari", "नमस्ते", 1, "Devanagari, which needs text shaping"},
		{"private use", "a\ue000", 2, "private-use"},
		{"unassigned", "a\u0378", 2, "not an assigned"},
		{"noncharacter", "a\ufdd0", 2, "not an assigned"},
		{"replacement character", "Caf\ufffd", 4, "replacement character"},
		{"combining mark first", "\u0301a", 1, "combining mark with no letter before it"},
		{"combining mark after a space", "a \u0301", 3, "combining mark with no letter before it"},
		{"outside the BMP", "𝐀BC", 1, "that the invoice font has no glyph for"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckPrintable(c.s)
			var ue *UnprintableError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnprintable) {
				t.Fatalf("CheckPrintable(%q) = %v; want an *UnprintableError", c.s, err)
			}
			if ue.Char != c.char || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("CheckPrintable(%q) = %q at character %d; want character %d and %q", c.s, err, ue.Char, c.char, c.reason)
			}
			if strings.ContainsAny(err.Error(), "\x00\x1b\x7f\u009b\u202e\u200d") {
				t.Errorf("the message carries the character raw: %q", err)
			}
		})
	}
}

func TestCheckPrintable_RefusesInvalidUTF8(t *testing.T) {
	for name, s := range map[string]string{
		"a stray byte":                "ACME \xff",
		"a truncated sequence":        "Łód\xc5",
		"an unpaired surrogate":       "a\xed\xa0\x80b", // U+D800 as CESU-8
		"an overlong encoding":        "\xc0\xaf",
		"a code point above U+10FFFF": "\xf4\x90\x80\x80",
	} {
		t.Run(name, func(t *testing.T) {
			var ue *UnprintableError
			if err := CheckPrintable(s); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not valid UTF-8") {
				t.Fatalf("CheckPrintable(%q) = %v; want not valid UTF-8", s, err)
			}
			if ue.Offset < 0 || ue.Offset >= len(s) || s[ue.Offset] != ue.Byte || utf8.ValidString(s[ue.Offset:ue.Offset+1]) {
				t.Errorf("offset %d, byte %#x do not point at the bad byte of %q", ue.Offset, ue.Byte, s)
			}
		})
	}
}

// Invoices print NFC. A letter and an accent the font has each must not
// compose to a character it lacks, or CheckPrintable must refuse them.
func TestCheckPrintable_AcceptsNoPairWhoseComposedFormHasNoGlyph(t *testing.T) {
	for base := rune('A'); base <= 0x24F; base++ {
		for mark := rune(0x300); mark <= 0x36F; mark++ {
			s := string([]rune{base, mark})
			composed := []rune(nfc(s))
			if len(composed) == 1 && !fontCoverage().has(composed[0]) && CheckPrintable(s) == nil {
				t.Errorf("CheckPrintable(%q) passes, but its NFC form %q has no glyph", s, string(composed))
			}
		}
	}
}

func TestFontCoverage_HasWhatInvoicesUse(t *testing.T) {
	// The renderer's own marks must print.
	for _, r := range "•…·—–“”‘’€\ufffd" {
		if !fontCoverage().has(r) {
			t.Errorf("the font has no %U %q", r, r)
		}
	}
}

// Every character CheckPrintable accepts comes back out of pdftotext as
// entered: letters of every script the font covers, in runs.
func TestRender_EveryAcceptedLetterComesBackFromTheText(t *testing.T) {
	var letters []rune
	for r := rune(0xA0); r <= 0xFFFF; r++ {
		if unicode.IsLetter(r) && unprintable(r) == "" && nfc(string(r)) == string(r) {
			letters = append(letters, r)
		}
	}
	if len(letters) < 1500 {
		t.Fatalf("only %d letters pass; the font covers more", len(letters))
	}
	inv := example()
	inv.Buyer.Address = nil
	for len(letters) > 0 {
		n := min(len(letters), 900)
		var b strings.Builder
		for i, r := range letters[:n] {
			if i > 0 && i%12 == 0 { // words short enough not to wrap inside
				b.WriteByte(' ')
			}
			b.WriteRune(r)
		}
		want := b.String()
		letters = letters[n:]
		if err := CheckPrintable(want); err != nil {
			t.Fatal(err)
		}
		inv.Buyer.Name = want
		got := words(t, render(t, inv))
		for _, word := range strings.Fields(want) {
			if !strings.Contains(got, word) {
				t.Errorf("pdftotext lost %q", word)
			}
		}
	}
}

// FuzzCheckPrintable: whatever CheckPrintable accepts is valid UTF-8 with
// nothing invisible or unprintable in it, and clean prints it unchanged
// but for spaces and NFC; whatever it refuses, clean still makes
// printable.
func FuzzCheckPrintable(f *testing.F) {
	for _, s := range []string{"Łódź", "Θεσσαλονίκη", "שלום", "🙂", "\x1b[31m", "\x00", "\xff", "a\u202eb", "e\u0301", " a  b ", "ລາວ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckPrintable(s)
		out := clean(s)
		for _, r := range out {
			if r != ' ' && r != unicode.ReplacementChar && unprintable(r) != "" {
				t.Fatalf("clean(%q) = %q keeps %U", s, out, r)
			}
		}
		if err != nil {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		// clean changes spaces only, so the words stay as entered.
		if got, want := strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(nfc(s)), " "); got != want {
			t.Fatalf("clean(%q) = %q, want the words of %q", s, out, want)
		}
	})
}
