package server

import (
	"errors"
	"net/http"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/payments"
)

// sandboxAuthenticate plays the customer completing (or, with ?result=fail,
// failing) 3-D Secure for a sandbox PaymentIntent, then applies the outcome
// exactly as the Stripe webhook would. It exists only with the sandbox
// provider; the caller must own the purchase.
func (s *Server) sandboxAuthenticate(w http.ResponseWriter, r *http.Request) {
	c, ok := auth.CallerFrom(r.Context())
	if !ok || !c.CanWrite() {
		writeError(w, codeUnauthenticated, "an owner token is required")
		return
	}
	intentID := r.PathValue("id")
	purchaseID, err := s.deps.Billing.PurchaseIDForIntent(r.Context(), intentID, nil)
	if err == nil {
		_, err = s.deps.Billing.GetPurchase(r.Context(), c.WorkspaceID, purchaseID)
	}
	if errors.Is(err, billing.ErrNotFound) || errors.Is(err, billing.ErrNotOurs) {
		writeError(w, codeNotFound, "no such payment intent")
		return
	}
	if err != nil {
		writeError(w, codeUnavailable, "try again")
		return
	}
	var charge payments.Charge
	if r.URL.Query().Get("result") == "fail" {
		charge, err = s.deps.Sandbox.FailAuthentication(intentID)
	} else {
		charge, err = s.deps.Sandbox.CompleteAuthentication(intentID)
	}
	if err != nil {
		writeError(w, codeConflict, err.Error())
		return
	}
	outcome := billing.ChargeOutcome{Result: billing.ChargeSucceeded}
	if charge.Status != payments.StatusSucceeded {
		outcome = billing.ChargeOutcome{Result: billing.ChargeDeclined, Reason: charge.FailureMessage}
	}
	err = s.deps.Billing.ApplyPaymentOutcome(r.Context(), intentID, nil, outcome)
	if err != nil {
		s.deps.Log.Error("sandbox authenticate", "err", err)
		writeError(w, codeUnavailable, "try again")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": string(charge.Status)})
}
