package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/airouter/credits/billing"
)

// maxWebhookBody is far above any Stripe event we handle.
const maxWebhookBody = 512 << 10

// stripeWebhook verifies and applies a Stripe event. Every effect is
// idempotent (a purchase is credited once by its ledger key), so replays
// and out-of-order deliveries change nothing; the event id is recorded only
// to count them. API version: events of any version are accepted, because
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
		err := s.deps.Billing.ApplyPaymentOutcome(ctx, pi.ID, pi.Metadata, outcome)
		if errors.Is(err, billing.ErrNotOurs) {
			// Another environment or integration on the same Stripe account:
			// acknowledged, so Stripe stops retrying it.
			s.deps.Log.Info("stripe webhook: not ours", "event", event.ID, "type", event.Type, "payment_intent", pi.ID)
			return nil
		}
		return err
	case "payment_method.detached":
		var pm stripe.PaymentMethod
		if err := json.Unmarshal(event.Data.Raw, &pm); err != nil {
			return err
		}
		return s.deps.Billing.PaymentMethodDetached(ctx, pm.ID)
	}
	return nil // other events are not ours to act on
}
