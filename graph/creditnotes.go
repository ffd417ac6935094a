package graph

import (
	"errors"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph/model"
	"github.com/airouter/credits/links"
)

// cnPrefix marks credit note ids: "cn_<uuid>".
const cnPrefix = "cn_"

// errInvoiceGone: a credit note always has its invoice; not finding it is
// an internal error, never a client's.
var errInvoiceGone = errors.New("the invoice of a credit note is missing")

func (r *Resolver) creditNoteModel(cn billing.CreditNote) *model.CreditNote {
	return &model.CreditNote{ID: globalID(cnPrefix, cn.ID), Number: cn.Number, IssuedAt: cn.IssuedAt, Amount: cn.Amount,
		Currency: cn.Currency, Reason: cn.Reason, DownloadURL: r.Links.URL(links.CreditNote, cn.ID),
		SignedDownloadURL: r.Links.Signed(links.CreditNote, cn.WorkspaceID, cn.ID),
		WorkspaceID:       cn.WorkspaceID, InvoiceID: cn.InvoiceID}
}
