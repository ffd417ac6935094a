package billing

import (
	"errors"
	"fmt"

	"github.com/airouter/credits/ledger"
	"github.com/airouter/credits/money"
)

// Code is a stable, machine-readable error code; the GraphQL API returns it
// as extensions.code and the HTTP surface as the error's "code".
type Code string

const (
	CodeBadUserInput          Code = "BAD_USER_INPUT"
	CodeNotFound              Code = "NOT_FOUND"
	CodePaymentFailed         Code = "PAYMENT_FAILED"
	CodePaymentMethodRequired Code = "PAYMENT_METHOD_REQUIRED"
	CodeInsufficientCredits   Code = "INSUFFICIENT_CREDITS"
	// CodeRequestIDFinished: an authorize reused the request id of a hold
	// already settled or expired (a new call needs a new request id).
	CodeRequestIDFinished Code = "REQUEST_ID_FINISHED"
)

// Error is an error billing means the caller to see: a code and a sentence.
// Every other error billing returns is internal and must not reach a client.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field, when there is one.
	Field string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, ErrNotFound) match any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels to compare with errors.Is; they match any *Error of their code.
var (
	ErrBadInput            = &Error{Code: CodeBadUserInput}
	ErrNotFound            = &Error{Code: CodeNotFound}
	ErrPaymentFailed       = &Error{Code: CodePaymentFailed}
	ErrPaymentMethodNeeded = &Error{Code: CodePaymentMethodRequired}
)

func badInput(field, format string, args ...any) *Error {
	return &Error{Code: CodeBadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + " not found"}
}

// CodeOf returns the code of a billing error, or "" for an internal one.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func isUnknownWorkspace(err error) bool { return errors.Is(err, ledger.ErrUnknownWorkspace) }

func isOverflow(err error) bool { return errors.Is(err, money.ErrOverflow) }
