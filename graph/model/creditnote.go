package model

import (
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/money"
)

// CreditNote is an issued credit note; WorkspaceID and InvoiceID let the
// invoice resolver stay inside the caller's workspace.
type CreditNote struct {
	ID                string       `json:"id"`
	Number            string       `json:"number"`
	IssuedAt          time.Time    `json:"issuedAt"`
	Amount            money.Amount `json:"amount"`
	Currency          string       `json:"currency"`
	Reason            string       `json:"reason"`
	DownloadURL       string       `json:"downloadUrl"`
	SignedDownloadURL string       `json:"signedDownloadUrl"`

	WorkspaceID uuid.UUID `json:"-"`
	InvoiceID   uuid.UUID `json:"-"`
}

func (CreditNote) IsNode()         {}
func (c CreditNote) GetID() string { return c.ID }
