package pdf

import "testing"

func BenchmarkRender(b *testing.B) {
	inv := reverseCharge()
	for b.Loop() {
		if _, err := Render(inv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderCreditNote(b *testing.B) {
	cn := creditNote()
	for b.Loop() {
		if _, err := RenderCreditNote(cn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckPrintable(b *testing.B) {
	name := polishBuyer.Name + " " + polishBuyer.Address[3]
	fontCoverage()
	for b.Loop() {
		if err := CheckPrintable(name); err != nil {
			b.Fatal(err)
		}
	}
}
