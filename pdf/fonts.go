package pdf

import (
	_ "embed"
	"sync"

	"golang.org/x/image/font/sfnt"
)

// The one typeface of every document, embedded so that rendering reads no
// file and gives the same bytes everywhere. See fonts/README.md for where
// the files come from and why these.
var (
	//go:embed fonts/DejaVuSansCondensed.ttf
	regularTTF []byte
	//go:embed fonts/DejaVuSansCondensed-Bold.ttf
	boldTTF []byte
)

// coverage is the set of runes both weights have a glyph for: text is
// printed in either, so a rune counts only when both can draw it. gofpdf
// addresses fonts by 16-bit code, so only the Basic Multilingual Plane
// counts at all.
type coverage [0x10000 / 64]uint64

func (c *coverage) has(r rune) bool {
	return r >= 0 && r <= 0xFFFF && c[r/64]&(1<<(r%64)) != 0
}

// fontCoverage reads the cmaps once (a few milliseconds), on first use.
var fontCoverage = sync.OnceValue(func() *coverage {
	var c coverage
	var fonts []*sfnt.Font
	for _, ttf := range [][]byte{regularTTF, boldTTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			panic("pdf: embedded font: " + err.Error()) // a broken build, not an input
		}
		fonts = append(fonts, f)
	}
	var buf sfnt.Buffer
	for r := rune(0); r <= 0xFFFF; r++ {
		in := true
		for _, f := range fonts {
			if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
				in = false
				break
			}
		}
		if in {
			c[r/64] |= 1 << (r % 64)
		}
	}
	return &c
})
