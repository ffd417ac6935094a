package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"

	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/ent/dispute"
	"github.com/airouter/credits/ent/purchase"
	"github.com/airouter/credits/ent/refund"
	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
)

// Refunds and disputes take money of a purchase back. Each is first
// recorded as a row keyed by the processor's id (unique per workspace:
// a Stripe refund or dispute is recorded once, whatever delivers it and
// how often). Once the purchase is credited, settle moves the balance
// through the ledger (kinds refund, dispute, dispute_won, reference = the
// processor's id, so each at most once) and issues a credit note for each
// refund and lost dispute, in the same transaction. Every path that
// records one runs settle; so does paymentSucceeded, so a refund reported
// before the purchase was credited lands with the credit, and the refunded
// part is never credited on its own.

// RefundStatus is where a refund stands (ent's enum: one Go type).
type RefundStatus = refund.Status

const (
	// RefundPending: an operator's refund waiting for the processor's answer.
	RefundPending = refund.StatusPending
	// RefundSucceeded: the processor took it; the ledger and the credit
	// note follow once the purchase is credited.
	RefundSucceeded = refund.StatusSucceeded
	// RefundFailed: the processor refused it; nothing moved.
	RefundFailed = refund.StatusFailed
)

// refundTransitions is the refund's state machine: for each state, the
// states it may come from. Only a pending (operator) refund moves.
var refundTransitions = map[refund.Status][]refund.Status{
	refund.StatusSucceeded: {refund.StatusPending},
	refund.StatusFailed:    {refund.StatusPending},
}

// moveRefund is the one function that changes a refund's state.
func moveRefund(ctx context.Context, client *ent.Client, id uuid.UUID, to refund.Status, now time.Time, set func(*ent.RefundUpdate)) (bool, error) {
	u := client.Refund.Update().Where(refund.ID(id), refund.StatusIn(refundTransitions[to]...)).SetStatus(to).SetUpdatedAt(now)
	if set != nil {
		set(u)
	}
	n, err := u.Save(ctx)
	if err != nil {
		return false, fmt.Errorf("refund %s to %s: %w", id, to, err)
	}
	return n == 1, nil
}

// disputeTransitions is the dispute's state machine: it opens (or arrives
// closed, when the events come out of order) and closes once.
var disputeTransitions = map[dispute.Status][]dispute.Status{
	dispute.StatusWon:  {dispute.StatusOpen},
	dispute.StatusLost: {dispute.StatusOpen},
}

// moveDispute is the one function that changes a dispute's state.
func moveDispute(ctx context.Context, client *ent.Client, id uuid.UUID, to dispute.Status, now time.Time) (bool, error) {
	n, err := client.Dispute.Update().Where(dispute.ID(id), dispute.StatusIn(disputeTransitions[to]...)).
		SetStatus(to).SetUpdatedAt(now).Save(ctx)
	if err != nil {
		return false, fmt.Errorf("dispute %s to %s: %w", id, to, err)
	}
	return n == 1, nil
}

// Refund is money of a purchase sent back to the card.
type Refund struct {
	ID          uuid.UUID
	WorkspaceID uuid.UUID
	PurchaseID  uuid.UUID
	// ProcessorID is the Stripe refund id ("" while pending).
	ProcessorID string
	Status      RefundStatus
	Amount      money.Amount
	Reason      string
	CreatedAt   time.Time
}

func refundOf(r *ent.Refund) Refund {
	out := Refund{ID: r.ID, WorkspaceID: r.WorkspaceID, PurchaseID: r.PurchaseID, Status: r.Status, Amount: money.Amount(r.Amount),
		Reason: r.Reason, CreatedAt: r.CreatedAt.UTC()}
	if r.ProcessorID != nil {
		out.ProcessorID = *r.ProcessorID
	}
	return out
}

// FullyRefunded and PartiallyRefunded are the one rule for a purchase's
// refund state: Refunded (its credit notes: refunds and lost disputes)
// against its amount.
func (p Purchase) FullyRefunded() bool     { return p.Refunded > 0 && p.Refunded >= p.Amount }
func (p Purchase) PartiallyRefunded() bool { return p.Refunded > 0 && p.Refunded < p.Amount }

// RefundRequest is an operator's refund of a purchase.
type RefundRequest struct {
	PurchaseID uuid.UUID
	// Amount to refund; nil refunds everything not yet refunded.
	Amount *money.Amount
	// Reason is printed on the credit note.
	Reason string
	// AllowNegative lets the refund take the balance below zero (the
	// workspace is then blocked, as at zero).
	AllowNegative bool
	// Resume finishes a refund of this purchase whose outcome was unknown
	// (the provider did not answer): it is sent again under the same
	// idempotency key, so it cannot refund twice. A refund finished
	// meanwhile (by its webhook) is returned as it is. Amount and Reason
	// are the refund's own then.
	Resume *uuid.UUID
}

// RefundResult is what RefundPurchase did.
type RefundResult struct {
	Refund     Refund
	CreditNote CreditNote
	Balance    Balance
}

// maxReason bounds a refund's reason (one line of a credit note).
const maxReason = 200

// RefundPurchase refunds a succeeded purchase, of any workspace (an
// operator's command), through the payment provider. It refuses, before
// anything is sent, an amount above what is left unrefunded (refunds and
// disputes already taken) and, unless AllowNegative, above the
// workspace's balance. The refund is recorded pending first and sent under
// the idempotency key "refund-<its id>"; then the ledger entry and the
// credit note are written in one transaction. If the provider's answer is
// lost, the refund stays pending and blocks other refunds of the purchase
// until Resume finishes it (or its webhook does).
func (s *Service) RefundPurchase(ctx context.Context, req RefundRequest) (RefundResult, error) {
	reason := norm.NFC.String(strings.TrimSpace(req.Reason))
	if req.Resume == nil {
		if reason == "" {
			return RefundResult{}, badInput("reason", "a reason is required: it is printed on the credit note")
		}
		if err := checkText("reason", reason, maxReason); err != nil {
			return RefundResult{}, err
		}
		if err := checkPrintable("reason", reason); err != nil {
			return RefundResult{}, err
		}
	}
	ws, err := s.purchaseWorkspace(ctx, req.PurchaseID)
	if err != nil {
		return RefundResult{}, err
	}
	var r *ent.Refund
	var intentID string
	err = s.inTx(ctx, func(tx *ledger.Tx) error {
		accounts, err := ledger.Lock(ctx, tx, []uuid.UUID{ws})
		if err != nil {
			return err
		}
		p, err := lockPurchase(ctx, tx, req.PurchaseID)
		if err != nil {
			return err
		}
		if p.Status != StatusSucceeded || p.PaymentIntentID == nil {
			return badInput("transaction", "only a succeeded purchase can be refunded; this one is %s", p.Status)
		}
		intentID = *p.PaymentIntentID
		taken, err := takenBack(ctx, tx, p)
		if err != nil {
			return err
		}
		if req.Resume != nil {
			r = taken.refund(*req.Resume)
			if r == nil {
				return notFound("refund")
			}
			return nil
		}
		if pending := taken.pendingOperatorRefund(); pending != nil {
			return badInput("transaction", "refund %s of %s USD of this purchase is still waiting for the payment provider: finish it first (credits refund --resume %s)",
				pending.ID, money.Amount(pending.Amount), pending.ID)
		}
		left := taken.unrefunded(p)
		amount := left
		if req.Amount != nil {
			amount = *req.Amount
		}
		if err := checkRefundAmount(amount, left, accounts[ws].Amount, req.AllowNegative); err != nil {
			return err
		}
		now := s.now()
		r, err = tx.Refund.Create().SetWorkspaceID(ws).SetPurchaseID(p.ID).SetSource(refund.SourceOperator).SetStatus(RefundPending).
			SetAmount(int64(amount)).SetReason(reason).SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
		if err != nil {
			return fmt.Errorf("record refund: %w", err)
		}
		return nil
	})
	if err != nil {
		return RefundResult{}, err
	}
	switch r.Status {
	case RefundSucceeded:
		return s.refundResult(ctx, r.ID) // finished meanwhile (its webhook)
	case RefundFailed:
		return RefundResult{Refund: refundOf(r)}, &Error{Code: CodePaymentFailed, Message: fmt.Sprintf("refund %s failed: the payment provider refused it", r.ID)}
	}

	cents, _ := money.Amount(r.Amount).CentsExact()
	out, err := s.payments.Refund(ctx, payments.RefundRequest{IntentID: intentID, AmountCents: cents, IdempotencyKey: "refund-" + r.ID.String(),
		// The row's reason, not this request's: a resumed refund must
		// send what the first attempt sent, or the key is refused.
		Metadata: map[string]string{"refund_id": r.ID.String(), "purchase_id": r.PurchaseID.String(), "workspace_id": ws.String(), "reason": r.Reason}})
	if err == nil && out.Status == payments.RefundFailed {
		err = fmt.Errorf("refund %s failed at the payment provider: %w", out.ID, payments.ErrRefused)
	}
	switch {
	case errors.Is(err, payments.ErrRefused) || errors.Is(err, payments.ErrNotFound):
		if _, merr := moveRefund(ctx, s.ent, r.ID, RefundFailed, s.now(), nil); merr != nil {
			return RefundResult{}, merr
		}
		r.Status = RefundFailed
		return RefundResult{Refund: refundOf(r)}, &Error{Code: CodePaymentFailed, Message: "the payment provider refused the refund: " + err.Error()}
	case err != nil:
		s.log.Error("refund outcome unknown", "refund", r.ID, "purchase", r.PurchaseID, "err", err)
		return RefundResult{Refund: refundOf(r)}, &Error{Code: CodePaymentFailed, Message: fmt.Sprintf(
			"the payment provider could not be reached; refund %s stays pending: finish it with credits refund --transaction txn_%s --resume %s (it cannot refund twice)",
			r.ID, r.PurchaseID, r.ID)}
	}
	if err := s.completeOperatorRefund(ctx, r, out.ID); err != nil {
		return RefundResult{}, err
	}
	return s.refundResult(ctx, r.ID)
}

// checkRefundAmount is the one rule for what an operator may refund.
func checkRefundAmount(amount, left, balance money.Amount, allowNegative bool) error {
	switch {
	case left <= 0:
		return badInput("amount", "nothing is left to refund of this purchase")
	case amount <= 0:
		return badInput("amount", "amount must be more than zero")
	case amount%money.Cent != 0:
		return badInput("amount", "amount must have at most 2 decimal places")
	case amount > left:
		return badInput("amount", "%s USD is more than the %s USD of this purchase not yet refunded", amount, left)
	case !allowNegative && amount > balance:
		return &Error{Code: CodeInsufficientCredits, Field: "amount", Message: fmt.Sprintf(
			"refunding %s USD would take the balance of %s USD below zero (the workspace would be blocked); allow a negative balance to refund anyway",
			amount, balance)}
	}
	return nil
}

// completeOperatorRefund records the processor's id of an operator's
// refund, moves it to succeeded and settles the purchase. A webhook that
// carried the refund (matched by our refund_id metadata) may have done it
// first: then it only settles again, which changes nothing.
func (s *Service) completeOperatorRefund(ctx context.Context, r *ent.Refund, processorID string) error {
	return s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := ledger.Lock(ctx, tx, []uuid.UUID{r.WorkspaceID}); err != nil {
			return err
		}
		p, err := lockPurchase(ctx, tx, r.PurchaseID)
		if err != nil {
			return err
		}
		if _, err := moveRefund(ctx, tx.Client(), r.ID, RefundSucceeded, s.now(), func(u *ent.RefundUpdate) { u.SetProcessorID(processorID) }); err != nil {
			return err
		}
		return s.settle(ctx, tx, p)
	})
}

// refundResult reads a refund back with its credit note and the balance.
func (s *Service) refundResult(ctx context.Context, id uuid.UUID) (RefundResult, error) {
	r, err := s.ent.Refund.Get(ctx, id)
	if err != nil {
		return RefundResult{}, fmt.Errorf("read refund: %w", err)
	}
	res := RefundResult{Refund: refundOf(r)}
	if res.CreditNote, err = s.creditNoteOf(ctx, r.WorkspaceID, r.ID); err != nil {
		return res, err
	}
	res.Balance, err = s.GetBalance(ctx, r.WorkspaceID)
	return res, err
}

// ChargeRefunded is what a charge.refunded webhook says about a charge.
type ChargeRefunded struct {
	ChargeID string
	IntentID string
	Metadata map[string]string
	// AmountRefundedCents is the charge's cumulative refunded amount.
	AmountRefundedCents int64
	// Refunds is the charge's refund list when the event carries it (API
	// versions before 2022-11-15 did; 2023-10-16 only if expanded); nil
	// otherwise. It may be a first page only.
	Refunds []payments.Refund
}

// ApplyChargeRefunded records what a charge.refunded event says: each
// listed refund by its own id, and whatever of the cumulative refunded
// amount the recorded refunds do not cover under the id
// "<charge>:refunded:<cumulative cents>". Duplicates and older events
// (a smaller cumulative amount) record nothing. ErrNotOurs for a charge
// of no purchase here.
func (s *Service) ApplyChargeRefunded(ctx context.Context, c ChargeRefunded) error {
	purchaseID, err := s.PurchaseIDForIntent(ctx, c.IntentID, c.Metadata)
	if err != nil {
		return err
	}
	if c.AmountRefundedCents < 0 {
		return fmt.Errorf("charge %s: amount_refunded %d is negative", c.ChargeID, c.AmountRefundedCents)
	}
	ref := c.ChargeID
	if ref == "" {
		ref = c.IntentID
	}
	return s.recordProcessorRefunds(ctx, purchaseID, c.Refunds, c.AmountRefundedCents, fmt.Sprintf("%s:refunded:%d", ref, c.AmountRefundedCents))
}

// recordProcessorRefunds records the processor's refunds of a purchase up
// to targetCents, what the processor says it has refunded in all. A listed
// refund already recorded is skipped; one that is an operator refund
// still waiting for its answer (our refund_id in its metadata) completes
// it; any other is recorded, as far as the target leaves room. What the
// target still exceeds the recorded refunds by (pending operator refunds
// count: their money is on its way) is recorded under remainderID.
func (s *Service) recordProcessorRefunds(ctx context.Context, purchaseID uuid.UUID, listed []payments.Refund, targetCents int64, remainderID string) error {
	ws, err := s.purchaseWorkspace(ctx, purchaseID)
	if err != nil {
		return err
	}
	listed = slices.Clone(listed)
	slices.SortStableFunc(listed, func(a, b payments.Refund) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := ledger.Lock(ctx, tx, []uuid.UUID{ws}); err != nil {
			return err
		}
		p, err := lockPurchase(ctx, tx, purchaseID)
		if err != nil {
			return err
		}
		t, err := takenBack(ctx, tx, p)
		if err != nil {
			return err
		}
		byProcessor, byID := map[string]bool{}, map[uuid.UUID]*ent.Refund{}
		var recorded money.Amount
		for _, r := range t.refunds {
			byID[r.ID] = r
			if r.ProcessorID != nil {
				byProcessor[*r.ProcessorID] = true
			}
			if r.Status != RefundFailed {
				recorded += money.Amount(r.Amount)
			}
		}
		// Stripe never refunds more than was charged, nor a disputed
		// charge: a larger figure is not believed beyond what the purchase
		// has left once disputes are taken, so no purchase ever gives back
		// more than it took.
		purchaseCents, _ := money.Amount(p.Amount).CentsExact()
		limitCents, _ := (money.Amount(p.Amount) - t.disputed()).CentsExact()
		if targetCents > limitCents {
			s.log.Warn("refunded amount above what the purchase has left", "purchase", p.ID, "refunded_cents", targetCents, "left_cents", limitCents)
			targetCents = limitCents
		}
		target := money.Cents(targetCents)
		now := s.now()
		record := func(processorID string, amount money.Amount, reason string) error {
			err := tx.Refund.Create().SetWorkspaceID(ws).SetPurchaseID(p.ID).SetProcessorID(processorID).SetSource(refund.SourceProcessor).
				SetStatus(RefundSucceeded).SetAmount(int64(amount)).SetReason(reason).SetCreatedAt(now).SetUpdatedAt(now).Exec(ctx)
			if err != nil {
				return fmt.Errorf("record refund %s: %w", processorID, err)
			}
			byProcessor[processorID] = true
			recorded += amount
			return nil
		}
		for _, lr := range listed {
			if lr.ID == "" || lr.Status == payments.RefundFailed || lr.AmountCents <= 0 || byProcessor[lr.ID] {
				continue
			}
			if id, err := uuid.Parse(lr.Metadata["refund_id"]); err == nil && byID[id] != nil && byID[id].Status == RefundPending {
				// Our operator refund; its answer has not been recorded yet.
				if _, err := moveRefund(ctx, tx.Client(), id, RefundSucceeded, now, func(u *ent.RefundUpdate) { u.SetProcessorID(lr.ID) }); err != nil {
					return err
				}
				byProcessor[lr.ID] = true
				continue
			}
			room := target - recorded
			amount := min(money.Cents(min(lr.AmountCents, purchaseCents)), room)
			if amount <= 0 {
				continue
			}
			if err := record(lr.ID, amount, processorRefundReason(lr.Reason)); err != nil {
				return err
			}
		}
		if recorded < target && !byProcessor[remainderID] {
			if err := record(remainderID, target-recorded, processorRefundReason("")); err != nil {
				return err
			}
		}
		if p.Status != StatusSucceeded {
			return nil // recorded; paymentSucceeded settles it with the credit
		}
		return s.settle(ctx, tx, p)
	})
}

// processorRefundReason is the credit note's reason for a refund made at
// the processor (the dashboard, Stripe's own): "Refund (requested by customer)".
func processorRefundReason(code string) string {
	if code == "" {
		return "Refund"
	}
	return "Refund (" + strings.ReplaceAll(code, "_", " ") + ")"
}

// DisputeUpdate is what a charge.dispute.* webhook says about a dispute.
type DisputeUpdate struct {
	ID          string // dp_…
	IntentID    string
	AmountCents int64
	// Status is Stripe's: needs_response, under_review, won, lost, or an
	// inquiry's warning_* (inquiries withdraw nothing and are ignored).
	Status string
	Reason string // fraudulent, product_not_received, …
}

// ApplyDispute records a dispute of one of our purchases: its amount is
// withdrawn when it is first seen (whatever its status: a closed event may
// come before the created one), given back when it is won, and kept with
// a credit note when it is lost. Repeats and stale statuses change
// nothing. ErrNotOurs for a dispute of no purchase here.
func (s *Service) ApplyDispute(ctx context.Context, d DisputeUpdate) error {
	if strings.HasPrefix(d.Status, "warning_") {
		return nil // an inquiry: Stripe withdraws nothing
	}
	if d.ID == "" {
		return errors.New("dispute without an id")
	}
	status := dispute.StatusOpen
	switch d.Status {
	case "won":
		status = dispute.StatusWon
	case "lost":
		status = dispute.StatusLost
	}
	purchaseID, err := s.PurchaseIDForIntent(ctx, d.IntentID, nil)
	if err != nil {
		return err
	}
	ws, err := s.purchaseWorkspace(ctx, purchaseID)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *ledger.Tx) error {
		if _, err := ledger.Lock(ctx, tx, []uuid.UUID{ws}); err != nil {
			return err
		}
		p, err := lockPurchase(ctx, tx, purchaseID)
		if err != nil {
			return err
		}
		now := s.now()
		t, err := takenBack(ctx, tx, p)
		if err != nil {
			return err
		}
		row, err := tx.Dispute.Query().Where(dispute.WorkspaceID(ws), dispute.ProcessorID(d.ID)).ForUpdate().Only(ctx)
		switch {
		case ent.IsNotFound(err):
			// A dispute withdraws at most what the purchase has left after
			// refunds and other disputes: a buyer disputing a refunded
			// charge is answered with the refund's evidence, not with a
			// second withdrawal of the same credits.
			leftCents, _ := t.unrefunded(p).CentsExact()
			cents := min(d.AmountCents, leftCents)
			if cents <= 0 {
				s.log.Warn("dispute of a purchase with nothing left to withdraw", "dispute", d.ID, "purchase", p.ID, "status", d.Status)
				return nil
			}
			if err := tx.Dispute.Create().SetWorkspaceID(ws).SetPurchaseID(p.ID).SetProcessorID(d.ID).SetStatus(status).
				SetAmount(int64(money.Cents(cents))).SetReason(d.Reason).SetCreatedAt(now).SetUpdatedAt(now).Exec(ctx); err != nil {
				return fmt.Errorf("record dispute %s: %w", d.ID, err)
			}
		case err != nil:
			return fmt.Errorf("read dispute %s: %w", d.ID, err)
		case status != dispute.StatusOpen:
			if _, err := moveDispute(ctx, tx.Client(), row.ID, status, now); err != nil {
				return err
			}
		}
		if p.Status != StatusSucceeded {
			return nil // recorded; paymentSucceeded settles it with the credit
		}
		return s.settle(ctx, tx, p)
	})
}

// disputeReason is a lost dispute's credit note reason: "Chargeback lost (fraudulent)".
func disputeReason(code string) string {
	if code == "" {
		return "Chargeback lost"
	}
	return "Chargeback lost (" + strings.ReplaceAll(code, "_", " ") + ")"
}

// settle brings a credited purchase's ledger entries and credit notes up
// to its recorded refunds and disputes, in tx, which holds the workspace
// and purchase locks: each succeeded refund withdraws its amount (kind
// refund), each dispute withdraws its amount (dispute) and a won one gives
// it back (dispute_won), each keyed by the processor's id so it lands
// once; each refund and lost dispute without a credit note gets one. It
// may run any number of times.
func (s *Service) settle(ctx context.Context, tx *ledger.Tx, p *ent.Purchase) error {
	refunds, err := tx.Refund.Query().Where(refund.WorkspaceID(p.WorkspaceID), refund.PurchaseID(p.ID), refund.StatusEQ(RefundSucceeded)).
		Order(refund.ByCreatedAt(), refund.ByID()).All(ctx)
	if err != nil {
		return fmt.Errorf("read refunds: %w", err)
	}
	disputes, err := tx.Dispute.Query().Where(dispute.WorkspaceID(p.WorkspaceID), dispute.PurchaseID(p.ID)).
		Order(dispute.ByCreatedAt(), dispute.ByID()).All(ctx)
	if err != nil {
		return fmt.Errorf("read disputes: %w", err)
	}
	if len(refunds)+len(disputes) == 0 {
		return nil
	}
	var changes []ledger.Change
	for _, r := range refunds {
		changes = append(changes, ledger.Change{WorkspaceID: p.WorkspaceID, Kind: KindRefund, Amount: -money.Amount(r.Amount),
			Reference: *r.ProcessorID, Description: r.Reason})
	}
	for _, d := range disputes {
		changes = append(changes, ledger.Change{WorkspaceID: p.WorkspaceID, Kind: ledger.KindDispute, Amount: -money.Amount(d.Amount),
			Reference: d.ProcessorID, Description: "dispute opened: " + d.Reason})
		if d.Status == dispute.StatusWon {
			changes = append(changes, ledger.Change{WorkspaceID: p.WorkspaceID, Kind: ledger.KindDisputeWon, Amount: money.Amount(d.Amount),
				Reference: d.ProcessorID, Description: "dispute won"})
		}
	}
	if _, _, err := ledger.Apply(ctx, tx, s.now(), changes); err != nil {
		return s.ledgerError(err)
	}
	return s.issueCreditNotes(ctx, tx, p, refunds, disputes)
}

// taken is what has been taken back of a purchase, or is being.
type taken struct {
	refunds  []*ent.Refund
	disputes []*ent.Dispute
}

// takenBack reads (and locks) a purchase's refunds and disputes in tx.
func takenBack(ctx context.Context, tx *ledger.Tx, p *ent.Purchase) (taken, error) {
	var t taken
	var err error
	if t.refunds, err = tx.Refund.Query().Where(refund.WorkspaceID(p.WorkspaceID), refund.PurchaseID(p.ID)).ForUpdate().All(ctx); err != nil {
		return t, fmt.Errorf("read refunds: %w", err)
	}
	if t.disputes, err = tx.Dispute.Query().Where(dispute.WorkspaceID(p.WorkspaceID), dispute.PurchaseID(p.ID)).ForUpdate().All(ctx); err != nil {
		return t, fmt.Errorf("read disputes: %w", err)
	}
	return t, nil
}

// unrefunded is what an operator may still refund of p: its amount less
// refunds made or on their way, and disputes open or lost (the processor
// refuses to refund a disputed charge; a won one is the buyer's again).
func (t taken) unrefunded(p *ent.Purchase) money.Amount {
	left := money.Amount(p.Amount)
	for _, r := range t.refunds {
		if r.Status != RefundFailed {
			left -= money.Amount(r.Amount)
		}
	}
	for _, d := range t.disputes {
		if d.Status != dispute.StatusWon {
			left -= money.Amount(d.Amount)
		}
	}
	return max(left, 0)
}

// disputed is what open and lost disputes have withdrawn.
func (t taken) disputed() money.Amount {
	var sum money.Amount
	for _, d := range t.disputes {
		if d.Status != dispute.StatusWon {
			sum += money.Amount(d.Amount)
		}
	}
	return sum
}

func (t taken) refund(id uuid.UUID) *ent.Refund {
	for _, r := range t.refunds {
		if r.ID == id && r.Source == refund.SourceOperator {
			return r
		}
	}
	return nil
}

func (t taken) pendingOperatorRefund() *ent.Refund {
	for _, r := range t.refunds {
		if r.Status == RefundPending {
			return r
		}
	}
	return nil
}

// purchaseWorkspace is the workspace of a purchase of any workspace.
func (s *Service) purchaseWorkspace(ctx context.Context, purchaseID uuid.UUID) (uuid.UUID, error) {
	p, err := s.ent.Purchase.Query().Where(purchase.ID(purchaseID)).Select(purchase.FieldWorkspaceID).Only(ctx)
	if ent.IsNotFound(err) {
		return uuid.Nil, notFound("transaction")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find purchase: %w", err)
	}
	return p.WorkspaceID, nil
}

// lockPurchase row-locks a purchase in tx (after its workspace: the one lock order).
func lockPurchase(ctx context.Context, tx *ledger.Tx, id uuid.UUID) (*ent.Purchase, error) {
	p, err := tx.Purchase.Query().Where(purchase.ID(id)).ForUpdate().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, notFound("transaction")
	}
	if err != nil {
		return nil, fmt.Errorf("lock purchase: %w", err)
	}
	return p, nil
}
