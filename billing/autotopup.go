package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/money"
)

// AutoTopUpStatus is what the Credits page shows.
type AutoTopUpStatus string

const (
	AutoTopUpDisabled   AutoTopUpStatus = "disabled"
	AutoTopUpActive     AutoTopUpStatus = "active"
	AutoTopUpProcessing AutoTopUpStatus = "processing" // a top-up is scheduled, charging or retrying
	AutoTopUpPaused     AutoTopUpStatus = "paused"     // stopped after failures; saving the settings resumes
)

// AutoTopUp is a workspace's auto top-up settings and state.
type AutoTopUp struct {
	Enabled   bool
	Threshold money.Amount
	Amount    money.Amount
	// CardID is the card to charge; nil charges the default card.
	CardID    *uuid.UUID
	Status    AutoTopUpStatus
	LastError string
}

// AutoTopUpSettings is what setAutoTopUp saves.
type AutoTopUpSettings struct {
	Enabled   bool
	Threshold money.Amount
	Amount    money.Amount
	CardID    *uuid.UUID
}

// TopUpPolicy bounds retries and runaway top-ups.
type TopUpPolicy struct {
	// MaxDeclines: after this many declined attempts of one top-up, auto
	// top-up pauses until the settings are saved again (default 3).
	MaxDeclines int
	// Backoff is the wait after the first decline, doubled after each
	// further one (default 1 h: card issuers block merchants that retry
	// declines in a loop).
	Backoff time.Duration
	// MaxPerHour pauses auto top-up when this many succeeded within an hour
	// (default 5): a guard against a runaway loop.
	MaxPerHour int
	// Lease is how long a claimed top-up may stay "charging" before another
	// worker may take it over (a crashed worker; default 2 min).
	Lease time.Duration
	// Poll is how often workers look for due top-ups (default 1 s).
	Poll time.Duration
}

func (p TopUpPolicy) withDefaults() TopUpPolicy {
	if p.MaxDeclines == 0 {
		p.MaxDeclines = 3
	}
	if p.Backoff == 0 {
		p.Backoff = time.Hour
	}
	if p.MaxPerHour == 0 {
		p.MaxPerHour = 5
	}
	if p.Lease == 0 {
		p.Lease = 2 * time.Minute
	}
	if p.Poll == 0 {
		p.Poll = time.Second
	}
	return p
}

// belowThreshold is the one threshold comparison: a balance strictly below
// the threshold triggers a top-up.
const belowThresholdSQL = `b.bal < s.threshold`

// GetAutoTopUp returns the workspace's auto top-up settings and state.
func (s *Service) GetAutoTopUp(ctx context.Context, workspaceID uuid.UUID) (AutoTopUp, error) {
	var a AutoTopUp
	var paused bool
	var card uuid.NullUUID
	var open sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT s.enabled, s.threshold, s.amount, s.card_id, s.paused, s.last_error,
		(SELECT status FROM top_ups t WHERE t.workspace_id = s.workspace_id AND t.status IN ('pending', 'charging') LIMIT 1)
		FROM auto_top_up_settings s WHERE s.workspace_id = $1`, workspaceID).Scan(&a.Enabled, &a.Threshold, &a.Amount, &card, &paused, &a.LastError, &open)
	if err == sql.ErrNoRows {
		return AutoTopUp{Status: AutoTopUpDisabled}, nil
	}
	if err != nil {
		return AutoTopUp{}, fmt.Errorf("read auto top-up: %w", err)
	}
	if card.Valid {
		a.CardID = &card.UUID
	}
	switch {
	case !a.Enabled:
		a.Status = AutoTopUpDisabled
	case paused:
		a.Status = AutoTopUpPaused
	case open.Valid:
		a.Status = AutoTopUpProcessing
	default:
		a.Status = AutoTopUpActive
	}
	return a, nil
}

// SetAutoTopUp validates and saves the settings. Saving clears a pause and
// its error; enabling with the balance already below the threshold
// schedules a top-up at once; disabling cancels one not yet charging.
func (s *Service) SetAutoTopUp(ctx context.Context, workspaceID uuid.UUID, in AutoTopUpSettings) (AutoTopUp, error) {
	if err := s.CheckPurchaseAmount("amount", in.Amount); err != nil {
		return AutoTopUp{}, err
	}
	if _, whole := in.Threshold.CentsExact(); !whole || in.Threshold < 0 {
		return AutoTopUp{}, badInput("threshold", "threshold must be zero or more with at most 2 decimal places")
	}
	if in.CardID != nil {
		if _, err := s.Card(ctx, workspaceID, *in.CardID); err != nil {
			return AutoTopUp{}, err
		}
	} else if in.Enabled {
		if _, err := s.defaultCard(ctx, workspaceID); err != nil {
			return AutoTopUp{}, err
		}
	}
	var card uuid.NullUUID
	if in.CardID != nil {
		card = uuid.NullUUID{UUID: *in.CardID, Valid: true}
	}
	scheduled := false
	err := s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
		var bal int64
		if err := tx.QueryRowContext(ctx, `SELECT balance FROM workspaces WHERE id = $1 FOR UPDATE`, workspaceID).Scan(&bal); err != nil {
			return nil, fmt.Errorf("lock workspace: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO auto_top_up_settings (workspace_id, enabled, threshold, amount, card_id, paused, last_error, updated_at)
			VALUES ($1, $2, $3, $4, $5, false, '', now())
			ON CONFLICT (workspace_id) DO UPDATE SET enabled = EXCLUDED.enabled, threshold = EXCLUDED.threshold, amount = EXCLUDED.amount,
				card_id = EXCLUDED.card_id, paused = false, last_error = '', updated_at = now()`,
			workspaceID, in.Enabled, int64(in.Threshold), int64(in.Amount), card); err != nil {
			return nil, fmt.Errorf("save auto top-up: %w", err)
		}
		if !in.Enabled {
			_, err := tx.ExecContext(ctx, `UPDATE top_ups SET status = 'canceled', updated_at = now() WHERE workspace_id = $1 AND status = 'pending'`, workspaceID)
			return nil, err
		}
		ids, err := scheduleTopUps(ctx, tx, []Balance{{WorkspaceID: workspaceID, Amount: money.Amount(bal)}})
		scheduled = len(ids) > 0
		return nil, err
	})
	if err != nil {
		return AutoTopUp{}, err
	}
	if scheduled {
		s.wakeTopUps()
	}
	return s.GetAutoTopUp(ctx, workspaceID)
}

// scheduleTopUps writes, in the deduction's transaction, a pending top-up
// for each enabled, unpaused workspace whose new balance is below its
// threshold. The partial unique index allows one open top-up per
// workspace, so however many deductions cross the threshold at once, one
// top-up is scheduled: a pending top-up counts as if it had landed.
func scheduleTopUps(ctx context.Context, tx querier, changed []Balance) ([]uuid.UUID, error) {
	if len(changed) == 0 {
		return nil, nil
	}
	ids, bals := make([]string, len(changed)), make([]int64, len(changed))
	for i, b := range changed {
		ids[i], bals[i] = b.WorkspaceID.String(), int64(b.Amount)
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO top_ups (id, workspace_id, status, amount, declines, next_attempt_at, last_error, created_at, updated_at)
		SELECT gen_random_uuid(), s.workspace_id, 'pending', s.amount, 0, now(), '', now(), now()
		FROM auto_top_up_settings s JOIN unnest($1::uuid[], $2::bigint[]) AS b(id, bal) ON s.workspace_id = b.id
		WHERE s.enabled AND NOT s.paused AND `+belowThresholdSQL+`
		ON CONFLICT (workspace_id) WHERE status IN ('pending', 'charging') DO NOTHING
		RETURNING workspace_id`, pq.Array(ids), pq.Array(bals))
	if err != nil {
		return nil, fmt.Errorf("schedule top-ups: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// afterCredit runs in the transaction that credits a purchase: an auto
// top-up's purchase closes its top-up; a manual purchase resumes a paused
// auto top-up; and a credit that lifts the balance back to the threshold
// cancels a top-up not yet charging.
func (s *Service) afterCredit(ctx context.Context, tx *sql.Tx, p Purchase, b Balance) error {
	if p.Kind == PurchaseAuto {
		if _, err := tx.ExecContext(ctx, `UPDATE top_ups SET status = 'succeeded', purchase_id = $2, last_error = '', updated_at = now()
			WHERE workspace_id = $1 AND id = (SELECT top_up_id FROM purchases WHERE id = $2) AND status IN ('pending', 'charging', 'failed')`, p.WorkspaceID, p.ID); err != nil {
			return fmt.Errorf("close top-up: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE auto_top_up_settings SET last_error = '' WHERE workspace_id = $1`, p.WorkspaceID)
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE auto_top_up_settings SET paused = false, last_error = '' WHERE workspace_id = $1 AND paused`, p.WorkspaceID); err != nil {
		return fmt.Errorf("resume auto top-up: %w", err)
	}
	return cancelTopUpIfCovered(ctx, tx, b)
}

// cancelTopUpIfCovered cancels a pending (not yet charging) top-up when the
// balance is no longer below the threshold.
func cancelTopUpIfCovered(ctx context.Context, tx *sql.Tx, b Balance) error {
	_, err := tx.ExecContext(ctx, `UPDATE top_ups t SET status = 'canceled', updated_at = now()
		FROM auto_top_up_settings s, (SELECT $2::bigint AS bal) b
		WHERE t.workspace_id = $1 AND t.status = 'pending' AND s.workspace_id = t.workspace_id AND NOT (`+belowThresholdSQL+`)`,
		b.WorkspaceID, int64(b.Amount))
	if err != nil {
		return fmt.Errorf("cancel covered top-up: %w", err)
	}
	return nil
}

// afterFailure runs after a purchase is marked failed; an auto top-up's
// failures are handled by the worker, which knows the attempt.
func (s *Service) afterFailure(context.Context, uuid.UUID, string) error { return nil }

// checkCardRemovable refuses to remove the card auto top-up charges while
// it is enabled: the chosen card, or the last card when it uses the default.
func (s *Service) checkCardRemovable(ctx context.Context, workspaceID uuid.UUID, c Card) error {
	a, err := s.GetAutoTopUp(ctx, workspaceID)
	if err != nil || !a.Enabled {
		return err
	}
	cards, err := s.PaymentMethods(ctx, workspaceID)
	if err != nil {
		return err
	}
	if (a.CardID != nil && *a.CardID == c.ID) || (a.CardID == nil && len(cards) == 1) {
		return badInput("id", "auto top-up charges this card; disable auto top-up or choose another card first")
	}
	return nil
}

// wakeTopUps nudges this process's worker; other processes find the
// top-up on their next poll.
func (s *Service) wakeTopUps() {
	select {
	case s.topUpWake <- struct{}{}:
	default:
	}
}

// RunTopUps charges due top-ups until ctx ends. Any number of workers, in
// any number of processes, may run: each claims a top-up with FOR UPDATE
// SKIP LOCKED, so one top-up is charged by one worker at a time, and every
// charge is keyed so that a crashed worker's retry cannot charge twice.
func (s *Service) RunTopUps(ctx context.Context) {
	t := time.NewTicker(s.policy.Poll)
	defer t.Stop()
	for {
		for {
			did, err := s.ProcessTopUp(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("auto top-up", "err", err)
			}
			if !did || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.topUpWake:
		}
	}
}

type claimedTopUp struct {
	id, workspace uuid.UUID
	amount        money.Amount
	declines      int
}

// ProcessTopUp claims and charges one due top-up; did is false when none
// was due.
func (s *Service) ProcessTopUp(ctx context.Context) (did bool, err error) {
	var t claimedTopUp
	err = s.db.QueryRowContext(ctx, `UPDATE top_ups SET status = 'charging', updated_at = now() WHERE id = (
			SELECT id FROM top_ups WHERE (status = 'pending' AND next_attempt_at <= now())
				OR (status = 'charging' AND updated_at < now() - $1::interval)
			ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT 1)
		RETURNING id, workspace_id, amount, declines`, fmt.Sprintf("%d milliseconds", s.policy.Lease.Milliseconds())).
		Scan(&t.id, &t.workspace, &t.amount, &t.declines)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim top-up: %w", err)
	}
	return true, s.chargeTopUp(ctx, t)
}

func (s *Service) chargeTopUp(ctx context.Context, t claimedTopUp) error {
	settings, err := s.GetAutoTopUp(ctx, t.workspace)
	if err != nil {
		return err
	}
	if !settings.Enabled || settings.Status == AutoTopUpPaused {
		_, err := s.db.ExecContext(ctx, `UPDATE top_ups SET status = 'canceled', updated_at = now() WHERE id = $1`, t.id)
		return err
	}
	var recent int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM top_ups WHERE workspace_id = $1 AND status = 'succeeded'
		AND updated_at > now() - interval '1 hour'`, t.workspace).Scan(&recent); err != nil {
		return err
	}
	if recent >= s.policy.MaxPerHour {
		return s.pauseTopUp(ctx, t, fmt.Sprintf("paused: %d auto top-ups within an hour", recent))
	}
	var card Card
	if settings.CardID != nil {
		card, err = s.Card(ctx, t.workspace, *settings.CardID)
	} else {
		card, err = s.defaultCard(ctx, t.workspace)
	}
	if CodeOf(err) != "" {
		return s.pauseTopUp(ctx, t, "no payment method to charge")
	}
	if err != nil {
		return err
	}
	profile, err := s.GetBillingProfile(ctx, t.workspace)
	if err != nil {
		return err
	}
	buyer := BillingProfile{}
	if profile != nil {
		buyer = *profile
	}
	customer, err := s.ensureCustomer(ctx, t.workspace, profile)
	if err != nil {
		return s.retryTopUp(ctx, t, err)
	}
	// One purchase per attempt: a retry after a decline is a new
	// PaymentIntent; a retry of the same attempt (crash, timeout) is not.
	p, err := s.openPurchase(ctx, t.workspace, PurchaseAuto, t.amount, fmt.Sprintf("topup-%s-%d", t.id, t.declines), card, buyer, &t.id)
	if err != nil {
		return err
	}
	if p.Status == StatusSucceeded { // credited before a crash; close it
		return s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) { return nil, s.afterCredit(ctx, tx, p, Balance{}) })
	}
	_, err = s.charge(ctx, p, customer, card, true)
	var berr *Error
	switch {
	case err == nil:
		return nil // credited, invoiced and closed by PaymentSucceeded
	case errors.As(err, &berr) && berr.Code == CodePaymentFailed:
		if got, gerr := s.GetPurchase(ctx, t.workspace, p.ID); gerr == nil && got.Status == StatusFailed {
			return s.declineTopUp(ctx, t, got.FailureReason)
		}
		return s.retryTopUp(ctx, t, err) // outcome unknown: same attempt again
	default:
		return s.retryTopUp(ctx, t, err)
	}
}

// declineTopUp records a declined attempt: retry after a growing backoff,
// or pause after MaxDeclines.
func (s *Service) declineTopUp(ctx context.Context, t claimedTopUp, reason string) error {
	declines := t.declines + 1
	if declines >= s.policy.MaxDeclines {
		return s.pauseTopUp(ctx, t, fmt.Sprintf("paused after %d declined attempts: %s", declines, reason))
	}
	wait := s.policy.Backoff << (declines - 1)
	return s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE top_ups SET status = 'pending', declines = $2, last_error = $3,
			next_attempt_at = now() + $4::interval, updated_at = now() WHERE id = $1 AND status = 'charging'`,
			t.id, declines, reason, fmt.Sprintf("%d milliseconds", wait.Milliseconds())); err != nil {
			return nil, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE auto_top_up_settings SET last_error = $2 WHERE workspace_id = $1`, t.workspace,
			fmt.Sprintf("attempt %d declined: %s; retrying", declines, reason))
		return nil, err
	})
}

func (s *Service) pauseTopUp(ctx context.Context, t claimedTopUp, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) ([]Balance, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE top_ups SET status = 'failed', last_error = $2, updated_at = now() WHERE id = $1`, t.id, reason); err != nil {
			return nil, err
		}
		_, err := tx.ExecContext(ctx, `UPDATE auto_top_up_settings SET paused = true, last_error = $2, updated_at = now() WHERE workspace_id = $1`, t.workspace, reason)
		return nil, err
	})
}

// retryTopUp puts a top-up whose charge outcome is unknown back in the
// queue for the same attempt, so its retry reuses the idempotency key.
func (s *Service) retryTopUp(ctx context.Context, t claimedTopUp, cause error) error {
	s.log.Warn("auto top-up will be retried", "top_up", t.id, "err", cause)
	_, err := s.db.ExecContext(ctx, `UPDATE top_ups SET status = 'pending', next_attempt_at = now() + interval '1 minute',
		updated_at = now() WHERE id = $1 AND status = 'charging'`, t.id)
	return err
}
