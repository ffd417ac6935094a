package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/paymentmethod"
	"github.com/airouter/credits/ledger"
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

	// saveOnSuccess marks a card given fresh with a purchase: it is saved
	// to the workspace only if the purchase succeeds.
	saveOnSuccess bool
}

func cardOf(pm *ent.PaymentMethod) Card {
	return Card{ID: pm.ID, ProcessorID: pm.ProcessorID, Brand: pm.Brand, Last4: pm.Last4, ExpMonth: pm.ExpMonth, ExpYear: pm.ExpYear, IsDefault: pm.IsDefault}
}

// PaymentMethods lists the workspace's saved cards, default first.
func (s *Service) PaymentMethods(ctx context.Context, workspaceID uuid.UUID) ([]Card, error) {
	rows, err := s.ent.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID)).
		Order(paymentmethod.ByIsDefault(entDesc()), paymentmethod.ByCreatedAt(), paymentmethod.ByID()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("list cards: %w", err)
	}
	cards := make([]Card, len(rows))
	for i, pm := range rows {
		cards[i] = cardOf(pm)
	}
	return cards, nil
}

// Card returns one saved card of the workspace (NOT_FOUND for any other).
func (s *Service) Card(ctx context.Context, workspaceID, id uuid.UUID) (Card, error) {
	pm, err := s.ent.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.ID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return Card{}, notFound("payment method")
	}
	if err != nil {
		return Card{}, fmt.Errorf("read card: %w", err)
	}
	return cardOf(pm), nil
}

func (s *Service) defaultCard(ctx context.Context, workspaceID uuid.UUID) (Card, error) {
	pm, err := s.ent.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID)).
		Order(paymentmethod.ByIsDefault(entDesc()), paymentmethod.ByCreatedAt()).First(ctx)
	if ent.IsNotFound(err) {
		return Card{}, &Error{Code: CodePaymentMethodRequired, Message: "add a payment method first"}
	}
	if err != nil {
		return Card{}, fmt.Errorf("read default card: %w", err)
	}
	return cardOf(pm), nil
}

// CreateSetupIntent returns the client secret the SPA's Stripe Elements
// use to collect a card for later off-session charges.
func (s *Service) CreateSetupIntent(ctx context.Context, workspaceID uuid.UUID) (string, error) {
	customer, err := s.ensureCustomer(ctx, workspaceID, nil)
	if err != nil {
		return "", s.processorUnavailable(err)
	}
	secret, err := s.payments.CreateSetupIntent(ctx, customer)
	if err != nil {
		return "", s.processorUnavailable(fmt.Errorf("create setup intent: %w", err))
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
		return Card{}, s.processorUnavailable(err)
	}
	card, err := s.attachCard(ctx, customer, processorID)
	if err != nil {
		return Card{}, err
	}
	err = s.inTx(ctx, func(tx *ledger.Tx) error {
		return saveCard(ctx, tx, workspaceID, card, makeDefault, s.now())
	})
	if err != nil {
		return Card{}, err
	}
	return s.cardByProcessorID(ctx, workspaceID, card.ProcessorID)
}

// attachCard attaches a processor PaymentMethod to the customer and reads
// its display data back; nothing is saved here.
func (s *Service) attachCard(ctx context.Context, customer, processorID string) (Card, error) {
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
	return Card{ProcessorID: pc.PaymentMethodID, Brand: pc.Brand, Last4: pc.Last4, ExpMonth: pc.ExpMonth, ExpYear: pc.ExpYear}, nil
}

// saveCard saves (or refreshes) a card of the workspace in tx. The first
// card becomes the default, as does one saved with makeDefault. It holds
// the workspace's row lock, so concurrent card changes of one workspace
// take turns and "exactly one default" holds (the partial unique index on
// the default card enforces it as well).
func saveCard(ctx context.Context, tx *ledger.Tx, workspaceID uuid.UUID, c Card, makeDefault bool, now time.Time) error {
	if _, err := ledger.Lock(ctx, tx, []uuid.UUID{workspaceID}); err != nil {
		return err
	}
	count, err := tx.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID)).Count(ctx)
	if err != nil {
		return fmt.Errorf("save card: %w", err)
	}
	isDefault := makeDefault || count == 0
	if isDefault {
		if err := tx.PaymentMethod.Update().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.IsDefault(true)).
			SetIsDefault(false).Exec(ctx); err != nil {
			return fmt.Errorf("save card: %w", err)
		}
	}
	existing, err := tx.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.ProcessorID(c.ProcessorID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		err = tx.PaymentMethod.Create().SetWorkspaceID(workspaceID).SetProcessorID(c.ProcessorID).SetBrand(c.Brand).SetLast4(c.Last4).
			SetExpMonth(c.ExpMonth).SetExpYear(c.ExpYear).SetIsDefault(isDefault).SetCreatedAt(now).Exec(ctx)
	case err == nil:
		err = existing.Update().SetBrand(c.Brand).SetLast4(c.Last4).SetExpMonth(c.ExpMonth).SetExpYear(c.ExpYear).
			SetIsDefault(existing.IsDefault || isDefault).Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("save card: %w", err)
	}
	return nil
}

func (s *Service) cardByProcessorID(ctx context.Context, workspaceID uuid.UUID, processorID string) (Card, error) {
	pm, err := s.ent.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.ProcessorID(processorID)).Only(ctx)
	if err != nil {
		return Card{}, fmt.Errorf("read card: %w", err)
	}
	return cardOf(pm), nil
}

func isProcessorPaymentMethod(id string) bool {
	return strings.HasPrefix(id, "pm_") && len(id) <= 255 && checkText("paymentMethodId", id, 255) == nil
}

// SetDefaultPaymentMethod makes a saved card the default.
func (s *Service) SetDefaultPaymentMethod(ctx context.Context, workspaceID, id uuid.UUID) (Card, error) {
	var card Card
	err := s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := ledger.Lock(ctx, tx, []uuid.UUID{workspaceID}); err != nil {
			return err
		}
		pm, err := tx.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.ID(id)).Only(ctx)
		if ent.IsNotFound(err) {
			return notFound("payment method")
		}
		if err != nil {
			return err
		}
		if err := tx.PaymentMethod.Update().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.IsDefault(true), paymentmethod.IDNEQ(id)).
			SetIsDefault(false).Exec(ctx); err != nil {
			return err
		}
		if err := pm.Update().SetIsDefault(true).Exec(ctx); err != nil {
			return err
		}
		card = cardOf(pm)
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
		return s.processorUnavailable(fmt.Errorf("detach payment method: %w", err))
	}
	return s.forgetCard(ctx, workspaceID, card.ProcessorID)
}

// forgetCard deletes a card and keeps one default among the rest. When the
// card was the one auto top-up was set to charge, auto top-up falls back to
// the default card, and says so in its last error.
func (s *Service) forgetCard(ctx context.Context, workspaceID uuid.UUID, processorID string) error {
	return s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := ledger.Lock(ctx, tx, []uuid.UUID{workspaceID}); err != nil {
			return err
		}
		gone, err := tx.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.ProcessorID(processorID)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.PaymentMethod.DeleteOne(gone).Exec(ctx); err != nil {
			return err
		}
		if err := s.cardRemoved(ctx, tx, workspaceID, gone.ID); err != nil {
			return err
		}
		hasDefault, err := tx.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID), paymentmethod.IsDefault(true)).Exist(ctx)
		if err != nil || hasDefault {
			return err
		}
		oldest, err := tx.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID)).
			Order(paymentmethod.ByCreatedAt(), paymentmethod.ByID()).First(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return oldest.Update().SetIsDefault(true).Exec(ctx)
	})
}

// PaymentMethodDetached forgets a card detached at the processor (Stripe's
// payment_method.detached webhook), in whichever workspace saved it.
func (s *Service) PaymentMethodDetached(ctx context.Context, processorID string) error {
	rows, err := s.ent.PaymentMethod.Query().Where(paymentmethod.ProcessorID(processorID)).All(ctx)
	if err != nil {
		return fmt.Errorf("find detached card: %w", err)
	}
	for _, pm := range rows {
		if err := s.forgetCard(ctx, pm.WorkspaceID, processorID); err != nil {
			return fmt.Errorf("forget detached card: %w", err)
		}
	}
	return nil
}
