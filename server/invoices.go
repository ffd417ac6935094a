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
// invoice's workspace, or to a signed link of that invoice.
func (s *Server) invoicePDF(w http.ResponseWriter, r *http.Request) {
	s.documentPDF(w, r, links.Invoice, "invoice", func(workspaceID, id uuid.UUID) (string, []byte, error) {
		inv, err := s.deps.Billing.GetInvoice(r.Context(), workspaceID, id)
		if err != nil {
			return "", nil, err
		}
		doc, err := pdf.Render(printable(inv))
		return inv.Number, doc, renderFailed(err)
	})
}

// creditNotePDF serves GET /credit-notes/{id}.pdf, authorized as invoices are.
func (s *Server) creditNotePDF(w http.ResponseWriter, r *http.Request) {
	s.documentPDF(w, r, links.CreditNote, "credit note", func(workspaceID, id uuid.UUID) (string, []byte, error) {
		cn, err := s.deps.Billing.GetCreditNote(r.Context(), workspaceID, id)
		if err != nil {
			return "", nil, err
		}
		doc, err := pdf.RenderCreditNote(printableCreditNote(cn))
		return cn.Number, doc, renderFailed(err)
	})
}

// documentPDF answers a PDF download: 401 without a valid token, 404 for a
// malformed id, a service token, a tampered or expired signed link, or a
// document of any other workspace (existing or not), so ids cannot be
// probed. render reads the document of the workspace (billing.ErrNotFound:
// 404) and renders it (renderFailed: 500).
func (s *Server) documentPDF(w http.ResponseWriter, r *http.Request, kind links.Kind, what string, render func(workspaceID, id uuid.UUID) (number string, doc []byte, err error)) {
	file := r.PathValue("file")
	id, err := uuid.Parse(strings.TrimSuffix(file, ".pdf"))
	if err != nil || !strings.HasSuffix(file, ".pdf") {
		http.NotFound(w, r)
		return
	}
	workspaceID, ok := s.downloader(w, r, kind, id)
	if !ok {
		return
	}
	number, doc, err := render(workspaceID, id)
	switch {
	case errors.Is(err, billing.ErrNotFound):
		http.NotFound(w, r)
		return
	case errors.Is(err, errRender):
		s.deps.Log.Error("render "+what, "id", id, "err", err)
		writeError(w, codeInternal, "could not render the "+what)
		return
	case err != nil:
		s.deps.Log.Error("read "+what, "id", id, "err", err)
		writeError(w, codeUnavailable, "try again")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.pdf"`, number))
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Write(doc) //nolint:errcheck // the client went away
}

// downloader decides whose document a download may read: a signed link's
// workspace (its signature binds it to one document of one workspace until
// it expires), or the caller's. ok is false when it has answered (401
// without a token, 404 for a bad link or a caller who cannot read).
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

// errRender marks a document that was read but could not be rendered (an
// internal error, not an unavailable database).
var errRender = errors.New("render")

func renderFailed(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %w", errRender, err)
	}
	return nil
}

// printableParty is a party as the PDF renderer takes it.
func printableParty(p billing.Party) pdf.Party {
	return pdf.Party{Name: p.Name, Address: p.Address, TaxID: p.TaxID, TaxIDLabel: p.TaxIDLabel, TaxIDCountry: p.TaxIDCountry}
}

func printableTaxes(taxes []billing.TaxLine) []pdf.TaxLine {
	var out []pdf.TaxLine
	for _, t := range taxes {
		out = append(out, pdf.TaxLine{Label: t.Label, Rate: t.Rate, Amount: t.Amount})
	}
	return out
}

// printable is the issued invoice as the PDF renderer takes it.
func printable(inv billing.Invoice) pdf.Invoice {
	kind := "Purchase"
	if inv.Kind == billing.PurchaseAuto {
		kind = "Auto top-up"
	}
	return pdf.Invoice{
		Number: inv.Number, IssuedAt: inv.IssuedAt, PaidAt: inv.PaidAt, TransactionRef: inv.PurchaseID.String(),
		Seller: printableParty(inv.Seller), Buyer: printableParty(inv.Buyer),
		Lines:    []pdf.Line{{Description: inv.Description, Quantity: inv.Quantity, UnitPrice: inv.UnitPrice, Amount: inv.Subtotal}},
		Subtotal: inv.Subtotal, Taxes: printableTaxes(inv.Taxes), Total: inv.Amount, Note: inv.Note,
		Currency: inv.Currency, CardBrand: inv.CardBrand, CardLast4: inv.CardLast4, Kind: kind,
	}
}

// printableCreditNote is the issued credit note as the PDF renderer takes it.
func printableCreditNote(cn billing.CreditNote) pdf.CreditNote {
	return pdf.CreditNote{
		Number: cn.Number, IssuedAt: cn.IssuedAt, InvoiceNumber: cn.InvoiceNumber, InvoiceIssuedAt: cn.InvoiceIssuedAt,
		TransactionRef: cn.Reference, Seller: printableParty(cn.Seller), Buyer: printableParty(cn.Buyer), Reason: cn.Reason,
		Lines:    []pdf.Line{{Description: cn.Description, Quantity: 1, UnitPrice: cn.Subtotal, Amount: cn.Subtotal}},
		Subtotal: cn.Subtotal, Taxes: printableTaxes(cn.Taxes), Total: cn.Amount, Note: cn.Note, Currency: cn.Currency,
	}
}
