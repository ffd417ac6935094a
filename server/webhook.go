package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/payments"
)

// maxWebhookBody is far above any Stripe event we handle.
const maxWebhookBody = 512 << 10

// stripeWebhook verifies and applies a Stripe event: payment intents
// succeeded or failed, cards detached, charges refunded (cumulative
// amount_refunded, with the refund list when present) and disputes
// (created, updated, funds withdrawn, closed). Every effect is idempotent
// (a purchase is credited once by its ledger key, a refund or dispute
// recorded once by the processor's id), so replays and out-of-order
// deliveries change nothing; the event id is recorded only to count them. API version: events of any version are accepted, because
// only fields stable across versions are read (ids, metadata, status,
// last_payment_error.message); pin the endpoint to 2023-10-16 to be strict.
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	if s.deps.WebhookSecret == "" {
		writeError(w, codeNotConfigured, "STRIPE_WEBHOOK_SECRET is not set")
		return
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		writeError(w, codeBadUserInput, "unreadable body")
		return
	}
	event, err := webhook.ConstructEventWithOptions(payload, r.Header.Get("Stripe-Signature"), s.deps.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		s.metrics.webhooks.WithLabelValues("bad_signature").Inc()
		writeError(w, codeBadUserInput, "signature verification failed")
		return
	}
	if err := s.applyEvent(r.Context(), event); err != nil {
		s.deps.Log.Error("stripe webhook", "event", event.ID, "type", event.Type, "err", err)
		// 5xx: Stripe retries with backoff, and the effect is idempotent.
		writeError(w, codeInternal, "event not applied")
		return
	}
	first, err := s.deps.Billing.RecordProcessorEvent(r.Context(), event.ID, string(event.Type))
	if err != nil {
		s.deps.Log.Error("record stripe event", "event", event.ID, "err", err)
	}
	outcome := "applied"
	if !first {
		outcome = "replayed"
	}
	s.metrics.webhooks.WithLabelValues(outcome).Inc()
	writeJSON(w, http.StatusOK, map[string]bool{"received": true})
}

func (s *Server) applyEvent(ctx context.Context, event stripe.Event) error {
	if event.Data == nil || len(event.Data.Raw) == 0 {
		return nil // signed but carries no object (found by FuzzWebhook): nothing to apply
	}
	switch event.Type {
	case "payment_intent.succeeded", "payment_intent.payment_failed":
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(event.Data.Raw, &pi); err != nil {
			return err
		}
		outcome := billing.ChargeOutcome{Result: billing.ChargeSucceeded}
		if event.Type == "payment_intent.payment_failed" {
			outcome = billing.ChargeOutcome{Result: billing.ChargeDeclined, Reason: "payment failed"}
			if pi.LastPaymentError != nil && pi.LastPaymentError.Msg != "" {
				outcome.Reason = pi.LastPaymentError.Msg
			}
		}
		return s.notOurs(event, "payment_intent", pi.ID, s.deps.Billing.ApplyPaymentOutcome(ctx, pi.ID, pi.Metadata, outcome))
	case "charge.refunded":
		var ch stripe.Charge
		if err := json.Unmarshal(event.Data.Raw, &ch); err != nil {
			return err
		}
		return s.notOurs(event, "charge", ch.ID, s.deps.Billing.ApplyChargeRefunded(ctx, chargeRefunded(&ch)))
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.funds_withdrawn", "charge.dispute.closed":
		var d stripe.Dispute
		if err := json.Unmarshal(event.Data.Raw, &d); err != nil {
			return err
		}
		u := billing.DisputeUpdate{ID: d.ID, AmountCents: d.Amount, Status: string(d.Status), Reason: string(d.Reason)}
		if d.PaymentIntent != nil {
			u.IntentID = d.PaymentIntent.ID
		}
		return s.notOurs(event, "dispute", d.ID, s.deps.Billing.ApplyDispute(ctx, u))
	case "payment_method.detached":
		var pm stripe.PaymentMethod
		if err := json.Unmarshal(event.Data.Raw, &pm); err != nil {
			return err
		}
		return s.deps.Billing.PaymentMethodDetached(ctx, pm.ID)
	}
	return nil // other events are not ours to act on
}

// notOurs acknowledges an event about an object of another environment
// or integration on the same Stripe account (ErrNotOurs), so Stripe stops
// retrying it; any other error is returned.
func (s *Server) notOurs(event stripe.Event, kind, id string, err error) error {
	if errors.Is(err, billing.ErrNotOurs) {
		s.deps.Log.Info("stripe webhook: not ours", "event", event.ID, "type", event.Type, kind, id)
		return nil
	}
	return err
}

// chargeRefunded reads a charge.refunded event's charge: the cumulative
// refunded amount, and the refund list when the event carries it.
func chargeRefunded(ch *stripe.Charge) billing.ChargeRefunded {
	c := billing.ChargeRefunded{ChargeID: ch.ID, Metadata: ch.Metadata, AmountRefundedCents: ch.AmountRefunded}
	if ch.PaymentIntent != nil {
		c.IntentID = ch.PaymentIntent.ID
	}
	if ch.Refunds != nil {
		for _, r := range ch.Refunds.Data {
			if r == nil {
				continue
			}
			c.Refunds = append(c.Refunds, payments.Refund{ID: r.ID, AmountCents: r.Amount, Status: payments.RefundStatusOf(string(r.Status)),
				Created: time.Unix(r.Created, 0).UTC(), Reason: string(r.Reason), Metadata: r.Metadata, IntentID: c.IntentID})
		}
	}
	return c
}
