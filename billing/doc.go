// Package billing owns the money rules of the credits service: pricing usage,
// the ledger and the balance it sums to, blocking at zero, trace overage,
// purchases, auto top-up, invoices issued and the tax rule they are issued
// under, refunds, disputes and the credit notes that cancel invoices.
//
// Every balance change goes through one function (post) that, in one
// database transaction, row-locks the workspace, appends a ledger entry keyed
// by (workspace, kind, reference) so it can never apply twice, updates the
// balance and queues a NOTIFY that fans the new balance out after commit.
//
// Errors callers may show are *Error values with a stable Code
// (BAD_USER_INPUT, NOT_FOUND, PAYMENT_FAILED, PAYMENT_METHOD_REQUIRED,
// INSUFFICIENT_CREDITS); every other error is internal.
//
// It does not own HTTP, GraphQL, tokens or the card processor's API
// (payments), and it never formats money for people (pdf, graph).
package billing
