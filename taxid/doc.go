// Package taxid checks the format of tax IDs before they are sent to Stripe.
//
// A customer enters a tax ID for their invoices as a country, one of
// Stripe's tax ID types (eu_vat, gb_vat, us_ein, ...) and a number.
// [Validate] turns what they typed into the canonical form Stripe expects
// (case, spacing, separators, the EU country prefix) and, when it cannot
// be a number of that type, returns an [*Error] that names the field at
// fault and the format expected, in words fit to show the customer.
//
// What the package owns:
//   - the list of supported Stripe types ([Types]) and which country each
//     belongs to;
//   - each type's format, and its check digits where the algorithm is
//     public and certain (Australian ABN, Brazilian CNPJ and CPF), and the
//     date inside a Mexican RFC;
//   - the canonical spelling of each type's value ([Normalize]).
//
// What it does not do:
//   - no network: it never calls Stripe, VIES, HMRC or any other registry,
//     so a well-formed number may still not exist or not be registered;
//     Stripe's own verification of the tax ID is the place to learn that;
//   - no check digits for EU VAT numbers or the other types, only their
//     formats, so that no real number of a valid format is turned away;
//   - no storage, customers or invoices: callers keep the result.
//
// It uses only the standard library and keeps no state beyond its
// compiled format tables, so it is safe for concurrent use.
package taxid
