package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/links"
	"github.com/airouter/credits/pdf"
)

// invoicePDF serves GET /invoices/{id}.pdf to the owner and members of the
// invoice's workspace. Every other caller with a token gets 404, whether
// the invoice exists or not, so ids cannot be probed.
//
// A signed link (links.Signer.Signed) needs no token: its signature binds
// it to one invoice of one workspace until it expires; a tampered or
// expired one is a 404 like any other.
func (s *Server) invoicePDF(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	id, err := uuid.Parse(strings.TrimSuffix(file, ".pdf"))
	if err != nil || !strings.HasSuffix(file, ".pdf") {
		http.NotFound(w, r)
		return
	}
	workspaceID, ok := s.downloader(w, r, links.Invoice, id)
	if !ok {
		return
	}
	inv, err := s.deps.Billing.GetInvoice(r.Context(), workspaceID, id)
	if errors.Is(err, billing.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.deps.Log.Error("read invoice", "invoice", id, "err", err)
		writeError(w, codeUnavailable, "try again")
		return
	}
	doc, err := pdf.Render(printable(inv))
	if err != nil {
		s.deps.Log.Error("render invoice", "invoice", id, "err", err)
		writeError(w, codeInternal, "could not render the invoice")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.pdf"`, inv.Number))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(doc) //nolint:errcheck // the client went away
}

// downloader decides whose document a download may read: the signed
// link's workspace, or the caller's. ok is false when it has answered
// (401 without a token, 404 for a bad link or a caller who cannot read).
func (s *Server) downloader(w http.ResponseWriter, r *http.Request, kind links.Kind, id uuid.UUID) (uuid.UUID, bool) {
	if links.IsSigned(r.URL.Query()) {
		ws, err := s.deps.Links.Verify(kind, id, r.URL.Query())
		if err != nil {
			http.NotFound(w, r)
			return uuid.Nil, false
		}
		return ws, true
	}
	c, ok := auth.CallerFrom(r.Context())
	if !ok {
		writeError(w, codeUnauthenticated, auth.ErrUnauthenticated.Error())
		return uuid.Nil, false
	}
	if !c.CanRead() {
		http.NotFound(w, r)
		return uuid.Nil, false
	}
	return c.WorkspaceID, true
}

// printable is the issued invoice as the PDF renderer takes it.
func printable(inv billing.Invoice) pdf.Invoice {
	kind := "Purchase"
	if inv.Kind == billing.PurchaseAuto {
		kind = "Auto top-up"
	}
	party := func(p billing.Party) pdf.Party { return pdf.Party{Name: p.Name, Address: p.Address, TaxID: p.TaxID} }
	return pdf.Invoice{
		Number: inv.Number, IssuedAt: inv.IssuedAt, PaidAt: inv.PaidAt, TransactionRef: inv.PurchaseID.String(),
		Seller: party(inv.Seller), Buyer: party(inv.Buyer),
		Lines: []pdf.Line{{Description: inv.Description, Quantity: inv.Quantity, UnitPrice: inv.UnitPrice, Amount: inv.Amount}},
		Total: inv.Amount, Currency: inv.Currency, CardBrand: inv.CardBrand, CardLast4: inv.CardLast4, Kind: kind,
	}
}
