package pdf

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// ErrUnprintable means a text has a character that invoices cannot print
// as entered. CheckPrintable's errors wrap it.
var ErrUnprintable = errors.New("cannot be printed on an invoice")

// UnprintableError names the first character of a text that cannot be
// printed, where it stands and why.
type UnprintableError struct {
	Offset int    // byte offset in the text
	Char   int    // position in the text, counting characters from 1
	Rune   rune   // the character; utf8.RuneError when the text is not UTF-8 there
	Byte   byte   // the first byte at Offset, which tells an invalid byte
	Reason string // for people: "is Hebrew, written right to left, which …"
}

func (e *UnprintableError) Error() string {
	if e.Reason == reasonInvalidUTF8 {
		return fmt.Sprintf("byte %d (0x%02X) %s", e.Offset+1, e.Byte, e.Reason)
	}
	return fmt.Sprintf("character %d (%U %q) %s", e.Char, e.Rune, e.Rune, e.Reason)
}

func (e *UnprintableError) Unwrap() error { return ErrUnprintable }

const reasonInvalidUTF8 = "is not valid UTF-8"

// CheckPrintable returns nil when every character of s prints on an
// invoice or credit note as entered, and otherwise an *UnprintableError
// (wrapping ErrUnprintable) naming the first character that would not and
// why. Billing calls it on each text a customer enters that an invoice
// prints (name, address lines, email, tax ID) and answers BAD_USER_INPUT
// naming the field; the renderer never has to print a box.
//
// It refuses bytes that are not UTF-8 (unpaired surrogates included);
// control characters (C0 and C1: NUL, ESC and so terminal escape codes,
// DEL, tabs and line breaks); line and paragraph separators; invisible
// formatting characters (bidirectional marks, overrides and isolates,
// zero-width spaces and joiners, soft hyphens, byte order marks) and
// variation selectors; private-use, unassigned and noncharacter code
// points and U+FFFD; right-to-left scripts (Hebrew, Arabic, Syriac, Thaana,
// N'Ko …), which gofpdf neither reorders nor joins even where the font has
// glyphs; scripts that need shaping (Lao, Thai, the Indic scripts …); any
// character the embedded font has no glyph for in both weights, emoji and
// most symbols among them; and a combining mark with no letter before it.
// Latin (Vietnamese and Turkish included), Greek, Cyrillic, Armenian and
// Georgian names pass, with combining accents the font has.
//
// Invoices print text in NFC; s is checked both as given and composed.
func CheckPrintable(s string) error {
	if err := checkPrintable(s); err != nil {
		return err
	}
	if composed := norm.NFC.String(s); composed != s {
		return checkPrintable(composed)
	}
	return nil
}

func checkPrintable(s string) error {
	base := false // a letter or the like stands before, for a combining mark
	char := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		char++
		reason := ""
		switch {
		case r == utf8.RuneError && size == 1:
			reason = reasonInvalidUTF8
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) && !base && unprintable(r) == "":
			reason = "is a combining mark with no letter before it"
		default:
			reason = unprintable(r)
		}
		if reason != "" {
			return &UnprintableError{Offset: i, Char: char, Rune: r, Byte: s[i], Reason: reason}
		}
		base = !unicode.Is(unicode.Zs, r)
		i += size
	}
	return nil
}

// unprintable says why r cannot be printed, or "" when it can.
func unprintable(r rune) string {
	if (r >= 0x20 && r < 0x7F) || printableRunes().has(r) {
		return ""
	}
	return whyUnprintable(r)
}

// printableRunes are the runes whyUnprintable passes, found once among
// those the font covers (a few milliseconds) so that a check is a lookup.
var printableRunes = sync.OnceValue(func() *coverage {
	var ok coverage
	font := fontCoverage()
	for r := rune(0); r <= 0xFFFF; r++ {
		if font.has(r) && whyUnprintable(r) == "" {
			ok[r/64] |= 1 << (r % 64)
		}
	}
	return &ok
})

// whyUnprintable is the rule behind unprintable, rune by rune.
func whyUnprintable(r rune) string {
	switch {
	case unicode.IsControl(r):
		return "is a control character (" + controlName(r) + "): control characters, tabs and line breaks cannot be printed"
	case r == '\u2028' || r == '\u2029':
		return "is a line break: line breaks cannot be printed"
	case unicode.Is(unicode.Bidi_Control, r):
		return "is an invisible bidirectional control (" + invisibleName(r) + "), which could reorder the printed text"
	case unicode.Is(unicode.Variation_Selector, r):
		return "is a variation selector (it asks for emoji or glyph variants), which the invoice font does not support"
	case unicode.Is(unicode.Cf, r):
		return "is an invisible formatting character (" + invisibleName(r) + "), which would print as a box or not at all"
	case unicode.Is(unicode.Co, r):
		return "is a private-use character, which has no agreed meaning"
	case unicode.Is(unicode.Noncharacter_Code_Point, r) || !assigned(r):
		return "is not an assigned Unicode character"
	case r == utf8.RuneError:
		return "is the replacement character, a sign that the text was damaged before it arrived"
	}
	if name, ok := rightToLeft(r); ok {
		return "is " + name + ", written right to left, which invoices cannot print (try a Latin transliteration)"
	}
	if name, ok := needsShaping(r); ok {
		return "is " + name + ", which needs text shaping that invoices cannot do (try a Latin transliteration)"
	}
	if !fontCoverage().has(r) {
		if unicode.In(r, unicode.So, unicode.Sk, unicode.Sm, unicode.Sc) {
			return "is an emoji or symbol that the invoice font has no glyph for"
		}
		return "is " + scriptName(r) + " that the invoice font has no glyph for"
	}
	return ""
}

func assigned(r rune) bool {
	// Not unicode.C: Go's Other table takes in the unassigned code points.
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z,
		unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// rightToLeft reports whether r belongs to a right-to-left script, naming it.
func rightToLeft(r rune) (string, bool) {
	for name, t := range rtlScripts() {
		if unicode.Is(t, r) {
			return strings.ReplaceAll(name, "_", " "), true
		}
	}
	if p, _ := bidi.LookupRune(r); p.Class() == bidi.R || p.Class() == bidi.AL {
		return "a right-to-left character", true
	}
	return "", false
}

// rtlScripts are the scripts with any right-to-left letter, found from
// the bidi classes once rather than listed by hand, so the list is as new
// as the Unicode tables. Their marks and digits are refused with them.
var rtlScripts = sync.OnceValue(func() map[string]*unicode.RangeTable {
	out := map[string]*unicode.RangeTable{}
	for name, t := range unicode.Scripts {
		// Common and Inherited hold a few right-to-left punctuation marks
		// (U+061F) among the shared ones; the bidi class judges those.
		if name != "Common" && name != "Inherited" && hasRTL(t) {
			out[name] = t
		}
	}
	return out
})

func hasRTL(t *unicode.RangeTable) bool {
	rtl := func(lo, hi, stride rune) bool {
		for r := lo; r <= hi; r += stride {
			if p, _ := bidi.LookupRune(r); p.Class() == bidi.R || p.Class() == bidi.AL {
				return true
			}
		}
		return false
	}
	for _, rg := range t.R16 {
		if rtl(rune(rg.Lo), rune(rg.Hi), rune(rg.Stride)) {
			return true
		}
	}
	for _, rg := range t.R32 {
		if rtl(rune(rg.Lo), rune(rg.Hi), rune(rg.Stride)) {
			return true
		}
	}
	return false
}

// shapedScripts join, reorder or stack their letters, which gofpdf does
// not do: printed one glyph after another they are wrong even where the
// font has the glyphs (it has Lao's).
var shapedScripts = map[string]*unicode.RangeTable{
	"Lao": unicode.Lao, "Thai": unicode.Thai, "Khmer": unicode.Khmer, "Myanmar": unicode.Myanmar,
	"Tibetan": unicode.Tibetan, "Mongolian": unicode.Mongolian, "Devanagari": unicode.Devanagari,
	"Bengali": unicode.Bengali, "Gurmukhi": unicode.Gurmukhi, "Gujarati": unicode.Gujarati,
	"Oriya": unicode.Oriya, "Tamil": unicode.Tamil, "Telugu": unicode.Telugu, "Kannada": unicode.Kannada,
	"Malayalam": unicode.Malayalam, "Sinhala": unicode.Sinhala, "Balinese": unicode.Balinese,
	"Javanese": unicode.Javanese, "Tai Tham": unicode.Tai_Tham,
}

func needsShaping(r rune) (string, bool) {
	for name, t := range shapedScripts {
		if unicode.Is(t, r) {
			return name, true
		}
	}
	return "", false
}

// scriptName is "a Han character", "a Latin character", or "a character".
func scriptName(r rune) string {
	for name, t := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(t, r) {
			return "a " + strings.ReplaceAll(name, "_", " ") + " character"
		}
	}
	return "a character"
}

func controlName(r rune) string {
	switch r {
	case 0:
		return "NUL"
	case '\a':
		return "bell"
	case '\b':
		return "backspace"
	case '\t':
		return "tab"
	case '\n':
		return "line feed"
	case '\v':
		return "vertical tab"
	case '\f':
		return "form feed"
	case '\r':
		return "carriage return"
	case 0x1B:
		return "escape, which starts terminal escape codes"
	case 0x7F:
		return "DEL"
	case 0x85:
		return "next line"
	case 0x9B:
		return "control sequence introducer, which starts terminal escape codes"
	}
	if r < 0x20 {
		return "C0 control"
	}
	return "C1 control"
}

func invisibleName(r rune) string {
	if n, ok := invisibleNames[r]; ok {
		return n
	}
	return "format character"
}

var invisibleNames = map[rune]string{
	0x00AD: "soft hyphen",
	0x061C: "Arabic letter mark",
	0x180E: "Mongolian vowel separator",
	0x200B: "zero width space",
	0x200C: "zero width non-joiner",
	0x200D: "zero width joiner",
	0x200E: "left-to-right mark",
	0x200F: "right-to-left mark",
	0x202A: "left-to-right embedding",
	0x202B: "right-to-left embedding",
	0x202C: "pop directional formatting",
	0x202D: "left-to-right override",
	0x202E: "right-to-left override",
	0x2060: "word joiner",
	0x2066: "left-to-right isolate",
	0x2067: "right-to-left isolate",
	0x2068: "first strong isolate",
	0x2069: "pop directional isolate",
	0xFEFF: "zero width no-break space (byte order mark)",
}

// clean makes any text safe to print, whatever CheckPrintable would say
// of it (old snapshots predate the check): it composes to NFC; control
// characters, line breaks and spaces the font lacks become one space, and
// runs of them collapse; invisible formatting characters go; any other
// character that cannot be printed becomes U+FFFD, one visible mark
// rather than a box, an escape code or reversed Hebrew.
func clean(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFC.String(strings.TrimSpace(s)) {
		switch {
		case r == ' ' || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
			(unicode.Is(unicode.Zs, r) && !fontCoverage().has(r)):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r):
			continue
		case unprintable(r) != "":
			r = unicode.ReplacementChar
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
