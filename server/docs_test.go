package server_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgtest"
)

// TestDocs_WritePicturesFromARealPurchaseAndRefund renders the pictures
// in docs/ from documents made the way customers get them: a reverse-
// charged EU B2B purchase through GraphQL, then a partial refund by the
// operator, both downloaded from their routes:
//
//	PDF_WRITE_DOCS=1 go test ./server -run TestDocs_WritePictures
//
// It needs pdftoppm (poppler-utils). Without PDF_WRITE_DOCS it skips.
func TestDocs_WritePicturesFromARealPurchaseAndRefund(t *testing.T) {
	if os.Getenv("PDF_WRITE_DOCS") != "1" {
		t.Skip("set PDF_WRITE_DOCS=1 to rewrite docs/invoice-reverse-charge.png and docs/credit-note-example.png")
	}
	e := newEnvWith(t, pgtest.New(t), withSeller(germanSeller))
	_, owner := e.workspace("0")
	data, codes := e.gql(owner, addCredits, polishCompany("500.00"))
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	invoice := e.download(dig(data, "addCredits", "transaction", "invoice", "id").(string), owner)
	amount := money.Dollars(120)
	purchaseID := uuid.MustParse(strings.TrimPrefix(dig(data, "addCredits", "transaction", "id").(string), "txn_"))
	res, err := e.billing.RefundPurchase(context.Background(), billing.RefundRequest{PurchaseID: purchaseID, Amount: &amount,
		Reason: "Unused credits: project cancelled"})
	if err != nil {
		t.Fatal(err)
	}
	creditNote := e.creditNote(res.CreditNote.ID.String(), owner)
	for name, doc := range map[string]download{"invoice-reverse-charge": invoice, "credit-note-example": creditNote} {
		if doc.status != 200 {
			t.Fatalf("%s: download %d", name, doc.status)
		}
		src := filepath.Join(t.TempDir(), name+".pdf")
		if err := os.WriteFile(src, doc.body, 0o644); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join("..", "docs", name) // pdftoppm adds .png
		if out, err := exec.Command("pdftoppm", "-png", "-r", "80", "-singlefile", src, dst).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm %s: %v: %s", name, err, out)
		}
		png, err := os.ReadFile(dst + ".png")
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%s.png is not a PNG: %v", dst, err)
		}
		t.Logf("wrote %s.png (%d bytes)", dst, len(png))
	}
}
