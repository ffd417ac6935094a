package billing

import (
	"context"
	"database/sql"

	"github.com/google/uuid"
)

// afterCredit runs in the transaction that credits a purchase.
func (s *Service) afterCredit(ctx context.Context, tx *sql.Tx, p Purchase, b Balance) error {
	return nil
}

// afterFailure runs after a purchase is marked failed.
func (s *Service) afterFailure(ctx context.Context, purchaseID uuid.UUID, reason string) error {
	return nil
}

// checkCardRemovable refuses to remove the card auto top-up charges.
func (s *Service) checkCardRemovable(ctx context.Context, workspaceID uuid.UUID, c Card) error {
	return nil
}
