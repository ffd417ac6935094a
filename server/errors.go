package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
)

// Error codes: the same words GraphQL puts in extensions.code. HTTP bodies
// carry them lower-cased: {"code": "bad_user_input", "error": "…"}.
const (
	codeBadUserInput    = "BAD_USER_INPUT"
	codeUnauthenticated = "UNAUTHENTICATED"
	codeForbidden       = "FORBIDDEN"
	codeNotFound        = "NOT_FOUND"
	codeTooLarge        = "TOO_LARGE"
	codeRateLimited     = "RATE_LIMITED"
	codeConflict        = "CONFLICT"
	codeUnavailable     = "UNAVAILABLE"
	codeNotConfigured   = "NOT_CONFIGURED"
	codeInternal        = "INTERNAL"
)

// statusOf is the one table from an error code to its HTTP status, for
// every handler of this package (GraphQL answers these codes in its body).
var statusOf = map[string]int{
	codeBadUserInput:                  http.StatusBadRequest,
	codeUnauthenticated:               http.StatusUnauthorized,
	codeForbidden:                     http.StatusForbidden,
	codeNotFound:                      http.StatusNotFound,
	codeTooLarge:                      http.StatusRequestEntityTooLarge,
	codeRateLimited:                   http.StatusTooManyRequests,
	codeConflict:                      http.StatusConflict,
	codeUnavailable:                   http.StatusServiceUnavailable,
	codeNotConfigured:                 http.StatusServiceUnavailable,
	codeInternal:                      http.StatusInternalServerError,
	string(billing.CodePaymentFailed): http.StatusPaymentRequired,
	string(billing.CodePaymentMethodRequired): http.StatusPaymentRequired,
	string(billing.CodeInsufficientCredits):   http.StatusPaymentRequired,
	string(billing.CodeRequestIDFinished):     http.StatusConflict,
}

// writeError answers {"code": code, "error": message} with code's status.
func writeError(w http.ResponseWriter, code, message string) {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]string{"code": strings.ToLower(code), "error": message})
}

// writeFailure answers an error from billing or auth: their coded errors
// with their own message; anything else is logged with what failed and
// answered 503 "try again" (a retry is safe: every effect is idempotent),
// so database and processor details never reach a client.
func (s *Server) writeFailure(w http.ResponseWriter, what string, err error) {
	var berr *billing.Error
	switch {
	case errors.As(err, &berr):
		writeError(w, string(berr.Code), berr.Message)
	case errors.Is(err, auth.ErrUnauthenticated):
		writeError(w, codeUnauthenticated, auth.ErrUnauthenticated.Error())
	case errors.Is(err, auth.ErrForbidden):
		writeError(w, codeForbidden, auth.ErrForbidden.Error())
	default:
		s.deps.Log.Error(what, "err", err)
		writeError(w, codeUnavailable, "try again")
	}
}
