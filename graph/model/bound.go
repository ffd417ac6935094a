package model

import (
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/money"
)

// Transaction is a purchase; WorkspaceID and PurchaseID let the invoice
// resolver stay inside the caller's workspace.
type Transaction struct {
	ID            string            `json:"id"`
	Type          TransactionType   `json:"type"`
	Status        TransactionStatus `json:"status"`
	Amount        money.Amount      `json:"amount"`
	Currency      string            `json:"currency"`
	CreatedAt     time.Time         `json:"createdAt"`
	FailureReason *string           `json:"failureReason,omitempty"`
	CardBrand     *string           `json:"cardBrand,omitempty"`
	CardLast4     *string           `json:"cardLast4,omitempty"`
	// RefundedAmount is what has been given back (refunds, lost disputes).
	RefundedAmount money.Amount `json:"refundedAmount"`

	WorkspaceID uuid.UUID  `json:"-"`
	PurchaseID  uuid.UUID  `json:"-"`
	InvoiceID   *uuid.UUID `json:"-"`
}

func (Transaction) IsNode()         {}
func (t Transaction) GetID() string { return t.ID }

// Invoice is an issued invoice; PurchaseID resolves its transaction.
type Invoice struct {
	ID          string       `json:"id"`
	Number      string       `json:"number"`
	IssuedAt    time.Time    `json:"issuedAt"`
	Amount      money.Amount `json:"amount"`
	Currency    string       `json:"currency"`
	DownloadURL string       `json:"downloadUrl"`
	// SignedDownloadURL works without a header for links.TTL.
	SignedDownloadURL string `json:"signedDownloadUrl"`

	WorkspaceID uuid.UUID `json:"-"`
	PurchaseID  uuid.UUID `json:"-"`
}

func (Invoice) IsNode()         {}
func (i Invoice) GetID() string { return i.ID }
