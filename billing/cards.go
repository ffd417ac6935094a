package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/airouter/credits/payments"
)

// Card is a saved payment method: ids and display data, never a number.
type Card struct {
	ID          uuid.UUID
	ProcessorID string
	Brand       string
	Last4       string
	ExpMonth    int
	ExpYear     int
	IsDefault   bool
}

const cardColumns = `id, processor_id, brand, last4, exp_month, exp_year, is_default`

func scanCard(row interface{ Scan(...any) error }) (Card, error) {
	var c Card
	err := row.Scan(&c.ID, &c.ProcessorID, &c.Brand, &c.Last4, &c.ExpMonth, &c.ExpYear, &c.IsDefault)
	return c, err
}

// PaymentMethods lists the workspace's saved cards, default first.
func (s *Service) PaymentMethods(ctx context.Context, workspaceID uuid.UUID) ([]Card, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE workspace_id = $1
		ORDER BY is_default DESC, created_at, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list cards: %w", err)
	}
	defer rows.Close()
	cards := []Card{}
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, fmt.Errorf("list cards: %w", err)
		}
		cards = append(cards, c)
	}
	return cards, rows.Err()
}

// Card returns one saved card of the workspace (NOT_FOUND for any other).
func (s *Service) Card(ctx context.Context, workspaceID, id uuid.UUID) (Card, error) {
	c, err := scanCard(s.db.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	if err == sql.ErrNoRows {
		return Card{}, notFound("payment method")
	}
	if err != nil {
		return Card{}, fmt.Errorf("read card: %w", err)
	}
	return c, nil
}

func (s *Service) defaultCard(ctx context.Context, workspaceID uuid.UUID) (Card, error) {
	c, err := scanCard(s.db.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE workspace_id = $1
		ORDER BY is_default DESC, created_at LIMIT 1`, workspaceID))
	if err == sql.ErrNoRows {
		return Card{}, &Error{Code: CodePaymentMethodRequired, Message: "add a payment method first"}
	}
	if err != nil {
		return Card{}, fmt.Errorf("read default card: %w", err)
	}
	return c, nil
}

// CreateSetupIntent returns the client secret the SPA's Stripe Elements
// use to collect a card for later off-session charges.
func (s *Service) CreateSetupIntent(ctx context.Context, workspaceID uuid.UUID) (string, error) {
	customer, err := s.ensureCustomer(ctx, workspaceID, nil)
	if err != nil {
		return "", err
	}
	secret, err := s.payments.CreateSetupIntent(ctx, customer)
	if err != nil {
		return "", fmt.Errorf("create setup intent: %w", err)
	}
	return secret, nil
}

// AddPaymentMethod attaches a processor PaymentMethod (from Stripe
// Elements) to the workspace's customer and saves the card. The first card
// is the default; makeDefault makes any card the default.
func (s *Service) AddPaymentMethod(ctx context.Context, workspaceID uuid.UUID, processorID string, makeDefault bool) (Card, error) {
	processorID = strings.TrimSpace(processorID)
	if !isProcessorPaymentMethod(processorID) {
		return Card{}, badInput("paymentMethodId", "paymentMethodId must be a Stripe PaymentMethod id (pm_…)")
	}
	profile, err := s.GetBillingProfile(ctx, workspaceID)
	if err != nil {
		return Card{}, err
	}
	customer, err := s.ensureCustomer(ctx, workspaceID, profile)
	if err != nil {
		return Card{}, err
	}
	pc, err := s.payments.AttachPaymentMethod(ctx, customer, processorID)
	var decline *payments.DeclineError
	switch {
	case errors.Is(err, payments.ErrNotFound):
		return Card{}, badInput("paymentMethodId", "no such payment method %q", processorID)
	case errors.As(err, &decline):
		return Card{}, &Error{Code: CodePaymentFailed, Message: "the card was refused: " + decline.Message}
	case err != nil:
		return Card{}, s.processorUnavailable(fmt.Errorf("attach payment method: %w", err))
	}
	var card Card
	err = s.cardTx(ctx, func(tx *sql.Tx) error {
		var count int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payment_methods WHERE workspace_id = $1`, workspaceID).Scan(&count); err != nil {
			return err
		}
		isDefault := makeDefault || count == 0
		if isDefault {
			if _, err := tx.ExecContext(ctx, `UPDATE payment_methods SET is_default = false WHERE workspace_id = $1`, workspaceID); err != nil {
				return err
			}
		}
		card, err = scanCard(tx.QueryRowContext(ctx, `INSERT INTO payment_methods (id, workspace_id, processor_id, brand, last4, exp_month, exp_year, is_default, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (workspace_id, processor_id) DO UPDATE SET brand = EXCLUDED.brand, last4 = EXCLUDED.last4,
				exp_month = EXCLUDED.exp_month, exp_year = EXCLUDED.exp_year, is_default = payment_methods.is_default OR EXCLUDED.is_default
			RETURNING `+cardColumns, uuid.New(), workspaceID, pc.PaymentMethodID, pc.Brand, pc.Last4, pc.ExpMonth, pc.ExpYear, isDefault, s.now().UTC()))
		return err
	})
	if err != nil {
		return Card{}, fmt.Errorf("save card: %w", err)
	}
	return card, nil
}

func isProcessorPaymentMethod(id string) bool {
	return strings.HasPrefix(id, "pm_") && len(id) <= 255
}

// cardTx serialises card changes of a workspace on its row lock, so the
// "exactly one default" rule holds under concurrent edits.
func (s *Service) cardTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// SetDefaultPaymentMethod makes a saved card the default.
func (s *Service) SetDefaultPaymentMethod(ctx context.Context, workspaceID, id uuid.UUID) (Card, error) {
	var card Card
	err := s.cardTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE`, workspaceID); err != nil {
			return err
		}
		var err error
		card, err = scanCard(tx.QueryRowContext(ctx, `SELECT `+cardColumns+` FROM payment_methods WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
		if err == sql.ErrNoRows {
			return notFound("payment method")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment_methods SET is_default = (id = $2) WHERE workspace_id = $1`, workspaceID, id); err != nil {
			return err
		}
		card.IsDefault = true
		return nil
	})
	return card, err
}

// RemovePaymentMethod detaches a saved card at the processor and forgets
// it. The card auto top-up charges cannot be removed while auto top-up is
// enabled. Removing the default card makes the oldest remaining one default.
func (s *Service) RemovePaymentMethod(ctx context.Context, workspaceID, id uuid.UUID) error {
	card, err := s.Card(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	if err := s.checkCardRemovable(ctx, workspaceID, card); err != nil {
		return err
	}
	if err := s.payments.DetachPaymentMethod(ctx, card.ProcessorID); err != nil {
		return fmt.Errorf("detach payment method: %w", err)
	}
	return s.forgetCard(ctx, workspaceID, card.ProcessorID)
}

// forgetCard deletes a card and keeps one default among the rest.
func (s *Service) forgetCard(ctx context.Context, workspaceID uuid.UUID, processorID string) error {
	return s.cardTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM workspaces WHERE id = $1 FOR UPDATE`, workspaceID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM payment_methods WHERE workspace_id = $1 AND processor_id = $2`, workspaceID, processorID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE payment_methods SET is_default = true WHERE id = (
			SELECT id FROM payment_methods WHERE workspace_id = $1 ORDER BY created_at, id LIMIT 1)
			AND NOT EXISTS (SELECT 1 FROM payment_methods WHERE workspace_id = $1 AND is_default)`, workspaceID)
		return err
	})
}

// PaymentMethodDetached forgets a card detached at the processor (Stripe's
// payment_method.detached webhook), in whichever workspace saved it.
func (s *Service) PaymentMethodDetached(ctx context.Context, processorID string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT workspace_id FROM payment_methods WHERE processor_id = $1`, processorID)
	if err != nil {
		return fmt.Errorf("find detached card: %w", err)
	}
	var workspaces []uuid.UUID
	for rows.Next() {
		var ws uuid.UUID
		if err := rows.Scan(&ws); err != nil {
			rows.Close()
			return err
		}
		workspaces = append(workspaces, ws)
	}
	rows.Close()
	for _, ws := range workspaces {
		if err := s.forgetCard(ctx, ws, processorID); err != nil {
			return fmt.Errorf("forget detached card: %w", err)
		}
	}
	return nil
}
