package graph

import (
	"errors"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/graph/model"
)

// cnPrefix marks credit note ids: "cn_<uuid>".
const cnPrefix = "cn_"

// errInvoiceGone: a credit note always has its invoice; not finding it is
// an internal error, never a client's.
var errInvoiceGone = errors.New("the invoice of a credit note is missing")

func (r *Resolver) creditNoteModel(cn billing.CreditNote) *model.CreditNote {
	url := r.PublicURL + "/credit-notes/" + cn.ID.String() + ".pdf"
	return &model.CreditNote{ID: globalID(cnPrefix, cn.ID), Number: cn.Number, IssuedAt: cn.IssuedAt, Amount: cn.Amount,
		Currency: cn.Currency, Reason: cn.Reason, DownloadURL: url,
		// TODO(issue 17): a signed link that works without the header for
		// 15 minutes; until signed links are on main, the authorized one.
		SignedDownloadURL: url,
		WorkspaceID:       cn.WorkspaceID, InvoiceID: cn.InvoiceID}
}
