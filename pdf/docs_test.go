package pdf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDocs_WritePictures renders the example invoice to docs/:
//
//	PDF_WRITE_DOCS=1 go test ./pdf -run TestDocs_WritePictures
//
// It needs pdftoppm (poppler-utils). Without PDF_WRITE_DOCS it skips, so
// the pictures change only when someone means them to. The reverse-charge
// invoice and the credit note pictures come from a real purchase and
// refund instead (server's TestDocs_WritePicturesFromARealPurchaseAndRefund).
func TestDocs_WritePictures(t *testing.T) {
	if os.Getenv("PDF_WRITE_DOCS") != "1" {
		t.Skip("set PDF_WRITE_DOCS=1 to rewrite the pictures in docs/")
	}
	for name, doc := range map[string][]byte{
		"invoice-example": exampleDoc(t),
	} {
		src := filepath.Join(t.TempDir(), name+".pdf")
		if err := os.WriteFile(src, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join("..", "docs", name) // pdftoppm adds .png
		out, err := exec.Command("pdftoppm", "-png", "-r", "80", "-singlefile", src, dst).CombinedOutput()
		if err != nil {
			t.Fatalf("pdftoppm %s: %v: %s", name, err, out)
		}
		png, err := os.ReadFile(dst + ".png")
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%s.png is not a PNG: %v", dst, err)
		}
		t.Logf("wrote %s.png (%d bytes)", dst, len(png))
	}
}
