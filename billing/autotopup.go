package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/autotopupsetting"
	"github.com/airouter/credits/ent/paymentmethod"
	"github.com/airouter/credits/ent/purchase"
	"github.com/airouter/credits/ent/topup"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgarray"
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

// belowThresholdSQL is the one threshold comparison: a balance strictly
// below the threshold triggers a top-up (b.bal is the balance, s.threshold
// the setting, in the statements that schedule and cancel in bulk).
const belowThresholdSQL = `b.bal < s.threshold`

// topUpTransitions is the top-up's state machine: for each state, the
// states it may come from. moveTopUp is the one function that changes a
// top-up's state, and only along these edges.
var topUpTransitions = map[topup.Status][]topup.Status{
	// Claimed by a worker; or taken over from a worker whose lease expired.
	topup.StatusCharging: {topup.StatusPending, topup.StatusCharging},
	// Back in the queue: a decline waiting for its backoff, or an outcome unknown.
	topup.StatusPending: {topup.StatusCharging},
	// Credited: by the worker's charge, or by a webhook for an earlier
	// attempt that landed late (even after the top-up was paused).
	topup.StatusSucceeded: {topup.StatusPending, topup.StatusCharging, topup.StatusFailed},
	// Paused after too many declines, or nothing to charge.
	topup.StatusFailed: {topup.StatusCharging},
	// No longer needed: covered by other credits, disabled, rescheduled.
	topup.StatusCanceled: {topup.StatusPending, topup.StatusCharging},
}

// moveTopUp moves top-up id to state to, with the other fields set by set,
// if its current state may move there; moved is false (and nothing
// changes) otherwise.
func moveTopUp(ctx context.Context, client *ent.Client, id uuid.UUID, to topup.Status, now time.Time, set func(*ent.TopUpUpdate)) (moved bool, err error) {
	u := client.TopUp.Update().Where(topup.ID(id), topup.StatusIn(topUpTransitions[to]...)).SetStatus(to).SetUpdatedAt(now)
	if set != nil {
		set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return false, fmt.Errorf("top-up %s to %s: %w", id, to, err)
	}
	return n == 1, nil
}

// GetAutoTopUp returns the workspace's auto top-up settings and state.
func (s *Service) GetAutoTopUp(ctx context.Context, workspaceID uuid.UUID) (AutoTopUp, error) {
	return s.autoTopUp(ctx, s.ent, workspaceID)
}

func (s *Service) autoTopUp(ctx context.Context, client *ent.Client, workspaceID uuid.UUID) (AutoTopUp, error) {
	set, err := client.AutoTopUpSetting.Query().Where(autotopupsetting.WorkspaceID(workspaceID)).Only(ctx)
	if ent.IsNotFound(err) {
		return AutoTopUp{Status: AutoTopUpDisabled}, nil
	}
	if err != nil {
		return AutoTopUp{}, fmt.Errorf("read auto top-up: %w", err)
	}
	a := AutoTopUp{Enabled: set.Enabled, Threshold: money.Amount(set.Threshold), Amount: money.Amount(set.Amount), CardID: set.CardID, LastError: set.LastError}
	open, err := client.TopUp.Query().Where(topup.WorkspaceID(workspaceID), topup.StatusIn(topup.StatusPending, topup.StatusCharging)).Exist(ctx)
	if err != nil {
		return AutoTopUp{}, fmt.Errorf("read auto top-up: %w", err)
	}
	switch {
	case !a.Enabled:
		a.Status = AutoTopUpDisabled
	case set.Paused:
		a.Status = AutoTopUpPaused
	case open:
		a.Status = AutoTopUpProcessing
	default:
		a.Status = AutoTopUpActive
	}
	return a, nil
}

// SetAutoTopUp validates and saves the settings. Saving clears a pause and
// its error, and reschedules a top-up waiting for a retry (its declines and
// backoff start over: the customer acted), so the next charge uses the
// settings just saved; with the balance below the threshold a top-up is
// scheduled at once. A top-up being charged right now is left to finish.
func (s *Service) SetAutoTopUp(ctx context.Context, workspaceID uuid.UUID, in AutoTopUpSettings) (AutoTopUp, error) {
	if err := s.CheckPurchaseAmount("amount", in.Amount); err != nil {
		return AutoTopUp{}, err
	}
	if _, whole := in.Threshold.CentsExact(); !whole || in.Threshold < 0 || in.Threshold > s.cfg.MaxPurchase {
		return AutoTopUp{}, badInput("threshold", "threshold must be between 0 and %s USD with at most 2 decimal places", s.cfg.MaxPurchase)
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
	if in.Enabled {
		profile, err := s.GetBillingProfile(ctx, workspaceID)
		if err != nil {
			return AutoTopUp{}, err
		}
		if profile == nil {
			return AutoTopUp{}, badInput("billingProfile", "save a billing profile (name and billing address) before enabling auto top-up: every top-up issues an invoice made out to it")
		}
	}
	now := s.now()
	err := s.inTx(ctx, func(tx *ledger.Tx) error {
		accounts, err := ledger.Lock(ctx, tx, []uuid.UUID{workspaceID})
		if err != nil {
			return err
		}
		acct, ok := accounts[workspaceID]
		if !ok {
			return notFound("workspace")
		}
		if err := tx.AutoTopUpSetting.Create().SetWorkspaceID(workspaceID).SetEnabled(in.Enabled).SetThreshold(int64(in.Threshold)).
			SetAmount(int64(in.Amount)).SetNillableCardID(in.CardID).SetPaused(false).SetLastError("").SetUpdatedAt(now).
			OnConflictColumns(autotopupsetting.FieldWorkspaceID).UpdateNewValues().Exec(ctx); err != nil {
			return fmt.Errorf("save auto top-up: %w", err)
		}
		if in.CardID == nil {
			if err := tx.AutoTopUpSetting.Update().Where(autotopupsetting.WorkspaceID(workspaceID)).ClearCardID().Exec(ctx); err != nil {
				return fmt.Errorf("save auto top-up: %w", err)
			}
		}
		if err := tx.TopUp.Update().Where(topup.WorkspaceID(workspaceID), topup.StatusEQ(topup.StatusPending)).
			SetStatus(topup.StatusCanceled).SetUpdatedAt(now).Exec(ctx); err != nil {
			return fmt.Errorf("reschedule top-up: %w", err)
		}
		if !in.Enabled {
			return nil
		}
		return s.scheduleTopUps(ctx, tx, now, []Balance{acct.Balance})
	})
	if err != nil {
		return AutoTopUp{}, err
	}
	return s.GetAutoTopUp(ctx, workspaceID)
}

// autoTopUpOnChange is auto top-up's ledger hook, run in every transaction
// that moves a balance: a deduction that leaves the balance below the
// threshold schedules a top-up; a credit that lifts it back cancels one
// not yet charging; an auto top-up's credit closes its top-up; a manual
// purchase resumes a paused auto top-up.
func (s *Service) autoTopUpOnChange(ctx context.Context, tx *ledger.Tx, now time.Time, moves []ledger.Move) error {
	var dipped, lifted []Balance
	for _, m := range moves {
		switch {
		case m.After.Amount < m.Before.Amount:
			dipped = append(dipped, m.After)
		case m.After.Amount > m.Before.Amount:
			lifted = append(lifted, m.After)
		}
		for _, c := range m.Changes {
			switch c.Kind {
			case KindAutoTopUp:
				if err := s.closeTopUp(ctx, tx, now, c); err != nil {
					return err
				}
			case KindPurchase:
				if err := tx.AutoTopUpSetting.Update().Where(autotopupsetting.WorkspaceID(c.WorkspaceID), autotopupsetting.Paused(true)).
					SetPaused(false).SetLastError("").SetUpdatedAt(now).Exec(ctx); err != nil {
					return fmt.Errorf("resume auto top-up: %w", err)
				}
			}
		}
	}
	if err := s.scheduleTopUps(ctx, tx, now, dipped); err != nil {
		return err
	}
	return cancelCoveredTopUps(ctx, tx, now, lifted)
}

// scheduleTopUps writes, in the deduction's transaction, a pending top-up
// for each enabled, unpaused workspace whose new balance is below its
// threshold. The partial unique index allows one open top-up per
// workspace, so however many deductions cross the threshold at once, one
// top-up is scheduled: a pending top-up counts as if it had landed. Raw
// SQL: it runs in every usage transaction.
func (s *Service) scheduleTopUps(ctx context.Context, tx *ledger.Tx, now time.Time, changed []Balance) error {
	if len(changed) == 0 {
		return nil
	}
	ids, bals := make([]uuid.UUID, len(changed)), make([]int64, len(changed))
	for i, b := range changed {
		ids[i], bals[i] = b.WorkspaceID, int64(b.Amount)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO top_ups (id, workspace_id, status, amount, declines, next_attempt_at, last_error, created_at, updated_at)
		SELECT gen_random_uuid(), s.workspace_id, 'pending', s.amount, 0, $3, '', $3, $3
		FROM auto_top_up_settings s JOIN unnest($1::uuid[], $2::bigint[]) AS b(id, bal) ON s.workspace_id = b.id
		WHERE s.enabled AND NOT s.paused AND `+belowThresholdSQL+`
		ON CONFLICT (workspace_id) WHERE status IN ('pending', 'charging') DO NOTHING`, pgarray.UUIDs(ids), pq.Array(bals), now)
	if err != nil {
		return fmt.Errorf("schedule top-ups: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		tx.AfterCommit(s.wakeTopUps) // best effort: the workers also poll
	}
	return nil
}

// cancelCoveredTopUps cancels pending (not yet charging) top-ups of
// workspaces whose balance is no longer below the threshold.
func cancelCoveredTopUps(ctx context.Context, tx *ledger.Tx, now time.Time, lifted []Balance) error {
	if len(lifted) == 0 {
		return nil
	}
	ids, bals := make([]uuid.UUID, len(lifted)), make([]int64, len(lifted))
	for i, b := range lifted {
		ids[i], bals[i] = b.WorkspaceID, int64(b.Amount)
	}
	_, err := tx.ExecContext(ctx, `UPDATE top_ups t SET status = 'canceled', updated_at = $3
		FROM auto_top_up_settings s, unnest($1::uuid[], $2::bigint[]) AS b(id, bal)
		WHERE t.workspace_id = b.id AND t.status = 'pending' AND s.workspace_id = t.workspace_id AND NOT (`+belowThresholdSQL+`)`,
		pgarray.UUIDs(ids), pq.Array(bals), now)
	if err != nil {
		return fmt.Errorf("cancel covered top-ups: %w", err)
	}
	return nil
}

// closeTopUp marks the top-up an auto top-up credit (reference: its
// purchase id) was an attempt of as succeeded, and clears the error shown.
func (s *Service) closeTopUp(ctx context.Context, tx *ledger.Tx, now time.Time, c ledger.Change) error {
	purchaseID, err := uuid.Parse(c.Reference)
	if err != nil {
		return fmt.Errorf("auto top-up credit %q: %w", c.Reference, err)
	}
	p, err := tx.Purchase.Query().Where(purchase.ID(purchaseID), purchase.WorkspaceID(c.WorkspaceID)).Only(ctx)
	if err != nil {
		return fmt.Errorf("find auto top-up purchase: %w", err)
	}
	if p.TopUpID != nil {
		if _, err := moveTopUp(ctx, tx.Client(), *p.TopUpID, topup.StatusSucceeded, now, func(u *ent.TopUpUpdate) {
			u.SetPurchaseID(p.ID).SetLastError("")
		}); err != nil {
			return err
		}
	}
	return tx.AutoTopUpSetting.Update().Where(autotopupsetting.WorkspaceID(c.WorkspaceID)).SetLastError("").Exec(ctx)
}

// cardRemoved runs in the transaction that forgets a card (removed by the
// customer, or detached at the processor). Auto top-up never shows a card
// choice it will not charge: when the removed card was the one chosen, it
// falls back to the default card and says so; with no card left it pauses.
func (s *Service) cardRemoved(ctx context.Context, tx *ledger.Tx, workspaceID, cardID uuid.UUID) error {
	set, err := tx.AutoTopUpSetting.Query().Where(autotopupsetting.WorkspaceID(workspaceID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read auto top-up: %w", err)
	}
	left, err := tx.PaymentMethod.Query().Where(paymentmethod.WorkspaceID(workspaceID)).Exist(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	u := tx.AutoTopUpSetting.UpdateOne(set)
	switch {
	case set.Enabled && !left:
		const reason = "the card auto top-up charged was removed and no card is left: add a card and save the auto top-up settings"
		u.SetPaused(true).SetLastError(reason)
		if !set.Paused { // alerts: auto_top_up.paused, once per pause (billing/alerts.go)
			if err := s.alertCardRemovedPause(ctx, tx, now, workspaceID, cardID, reason); err != nil {
				return err
			}
		}
	case set.CardID != nil && *set.CardID == cardID:
		u.ClearCardID()
		if set.Enabled {
			u.SetLastError("the card chosen for auto top-up was removed; auto top-up now charges the default card")
		}
	default:
		return nil
	}
	return u.SetUpdatedAt(now).Exec(ctx)
}

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

// ProcessTopUp claims and charges one due top-up; did is false when none
// was due (by the service clock).
func (s *Service) ProcessTopUp(ctx context.Context) (did bool, err error) {
	now := s.now()
	var claimed *ent.TopUp
	err = s.inTx(ctx, func(tx *ledger.Tx) error {
		t, err := tx.TopUp.Query().Where(topup.Or(
			topup.And(topup.StatusEQ(topup.StatusPending), topup.NextAttemptAtLTE(now)),
			topup.And(topup.StatusEQ(topup.StatusCharging), topup.UpdatedAtLT(now.Add(-s.policy.Lease))),
		)).Order(topup.ByNextAttemptAt()).Limit(1).ForUpdate(entsql.WithLockAction(entsql.SkipLocked)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim top-up: %w", err)
		}
		if _, err := moveTopUp(ctx, tx.Client(), t.ID, topup.StatusCharging, now, nil); err != nil {
			return err
		}
		claimed = t
		return nil
	})
	if err != nil || claimed == nil {
		return false, err
	}
	return true, s.chargeTopUp(ctx, claimed)
}

// chargeTopUp charges a claimed top-up with the settings in force now (the
// amount and card the customer last saved, not those when it was scheduled).
func (s *Service) chargeTopUp(ctx context.Context, t *ent.TopUp) error {
	now := s.now()
	settings, err := s.GetAutoTopUp(ctx, t.WorkspaceID)
	if err != nil {
		return err
	}
	if !settings.Enabled || settings.Status == AutoTopUpPaused {
		_, err := moveTopUp(ctx, s.ent, t.ID, topup.StatusCanceled, now, nil)
		return err
	}
	recent, err := s.ent.TopUp.Query().Where(topup.WorkspaceID(t.WorkspaceID), topup.StatusEQ(topup.StatusSucceeded),
		topup.UpdatedAtGT(now.Add(-time.Hour))).Count(ctx)
	if err != nil {
		return err
	}
	if recent >= s.policy.MaxPerHour {
		return s.pauseTopUp(ctx, t, fmt.Sprintf("paused: %d auto top-ups within an hour", recent))
	}
	card, err := s.topUpCard(ctx, t.WorkspaceID, settings)
	if CodeOf(err) != "" {
		return s.pauseTopUp(ctx, t, "no payment method to charge: add a card and save the auto top-up settings")
	}
	if err != nil {
		return err
	}
	profile, err := s.GetBillingProfile(ctx, t.WorkspaceID)
	if err != nil {
		return err
	}
	if profile == nil {
		return s.pauseTopUp(ctx, t, "no billing profile to invoice: save one and the auto top-up settings")
	}
	customer, err := s.ensureCustomer(ctx, t.WorkspaceID, profile)
	if err != nil {
		return s.retryTopUp(ctx, t, err)
	}
	// One purchase per attempt: a retry after a decline is a new
	// PaymentIntent; a retry of the same attempt (crash, timeout) is not.
	p, err := s.openPurchase(ctx, t.WorkspaceID, PurchaseAuto, settings.Amount, fmt.Sprintf("topup-%s-%d", t.ID, t.Declines), card, *profile, &t.ID)
	if err != nil {
		return err
	}
	if p.Status == StatusSucceeded { // credited before a crash: the credit closed the top-up
		return nil
	}
	outcome, err := s.charge(ctx, p, customer, card, true)
	if err != nil {
		return s.retryTopUp(ctx, t, err)
	}
	switch outcome.Result {
	case ChargeDeclined:
		return s.declineTopUp(ctx, t, outcome.Reason)
	case ChargeUnknown:
		return s.retryTopUp(ctx, t, errors.New(outcome.Reason))
	}
	return nil // succeeded: credited, invoiced and closed; requires action: the webhook settles it
}

// topUpCard is the card a top-up charges: the one chosen, or the default.
func (s *Service) topUpCard(ctx context.Context, workspaceID uuid.UUID, a AutoTopUp) (Card, error) {
	if a.CardID != nil {
		return s.Card(ctx, workspaceID, *a.CardID)
	}
	return s.defaultCard(ctx, workspaceID)
}

// declineTopUp records a declined attempt: retry after a growing backoff,
// or pause after MaxDeclines.
func (s *Service) declineTopUp(ctx context.Context, t *ent.TopUp, reason string) error {
	declines := t.Declines + 1
	if declines >= s.policy.MaxDeclines {
		return s.pauseTopUp(ctx, t, fmt.Sprintf("paused after %d declined attempts: %s", declines, reason))
	}
	now := s.now()
	wait := s.policy.Backoff << (declines - 1)
	return s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := moveTopUp(ctx, tx.Client(), t.ID, topup.StatusPending, now, func(u *ent.TopUpUpdate) {
			u.SetDeclines(declines).SetLastError(reason).SetNextAttemptAt(now.Add(wait))
		}); err != nil {
			return err
		}
		if err := s.alertTopUpDeclined(ctx, tx, now, t, declines, reason, now.Add(wait)); err != nil { // alerts: auto_top_up.failed (billing/alerts.go)
			return err
		}
		return tx.AutoTopUpSetting.Update().Where(autotopupsetting.WorkspaceID(t.WorkspaceID)).
			SetLastError(fmt.Sprintf("attempt %d declined: %s; retrying", declines, reason)).Exec(ctx)
	})
}

func (s *Service) pauseTopUp(ctx context.Context, t *ent.TopUp, reason string) error {
	now := s.now()
	return s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := moveTopUp(ctx, tx.Client(), t.ID, topup.StatusFailed, now, func(u *ent.TopUpUpdate) { u.SetLastError(reason) }); err != nil {
			return err
		}
		if err := s.alertTopUpPaused(ctx, tx, now, t, reason); err != nil { // alerts: auto_top_up.paused (billing/alerts.go)
			return err
		}
		return tx.AutoTopUpSetting.Update().Where(autotopupsetting.WorkspaceID(t.WorkspaceID)).
			SetPaused(true).SetLastError(reason).SetUpdatedAt(now).Exec(ctx)
	})
}

// retryTopUp puts a top-up whose charge outcome is unknown back in the
// queue for the same attempt, so its retry reuses the idempotency key.
func (s *Service) retryTopUp(ctx context.Context, t *ent.TopUp, cause error) error {
	s.log.Warn("auto top-up will be retried", "top_up", t.ID, "err", cause)
	now := s.now()
	_, err := moveTopUp(ctx, s.ent, t.ID, topup.StatusPending, now, func(u *ent.TopUpUpdate) { u.SetNextAttemptAt(now.Add(time.Minute)) })
	return err
}
