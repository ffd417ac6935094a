// Package taxid checks tax IDs before they are sent to Stripe, and lists
// the tax ID types a customer can choose.
//
// A customer enters a tax ID for their invoices as a country, one of
// Stripe's tax ID types (eu_vat, gb_vat, us_ein, sa_vat, ...) and a number.
// [Validate] turns what they typed into the normal form Stripe prints
// (case, separators, the EU country prefix) and, when it cannot be a
// number of that type, returns an [*Error] that names the field at fault
// and the format expected, in words fit to show the customer. [TypesFor]
// lists the types of a country (or of all) with Stripe's label and
// example, for the Add Credits dialog; [ShortLabel] is what an invoice
// prints before the number ("EU VAT DE136695976").
//
// What the package owns:
//   - the table of supported types (table.go, and vat.go for eu_vat and
//     eu_oss_vat, one entry per member state and GB for Northern
//     Ireland): every value of stripe-go v76's TaxIDType enum but
//     unknown, and the later types of Stripe's "Customer tax IDs" list
//     that stripe-mock v0.203.0 accepts — 117 types in 115 countries.
//     Stripe's newest types (au_acn, nz_bn, pt_nif, fr_siren, ... from API
//     version 2026-10-28) are not offered: stripe-mock refuses them, so
//     the adapter could not be tested with them (TestTypes_OmitTypesStripeMockRefuses);
//   - each type's format, and its check digits wherever python-stdnum
//     has the algorithm (checkdigits.go: 48 types, among them every EU
//     VAT number), so that a number stdnum calls valid passes and one it
//     rejects for a check digit fails. Where stdnum has no module, the
//     format is the shape of Stripe's example;
//   - the normal form of each type's value ([Normalize]).
//
// Deliberate gaps, each explained where the type is listed:
//   - do_rcn: the Dominican DGII has issued many numbers that fail their
//     check digit (stdnum keeps long lists of exceptions), so only the
//     format is checked;
//   - mx_rfc: only the embedded date, as stdnum does by default; many
//     issued RFCs fail the check digit;
//   - eu_oss_vat: its check digit algorithm is not public; the number's
//     member state code must match the country;
//   - Stripe's examples are shapes, not always real numbers: most fail
//     their check digit. They are listed as Stripe shows them (for
//     eu_oss_vat with the member state's code put in), and the table test
//     notes each one that fails and why.
//
// What it does not do:
//   - no network: it never calls Stripe, VIES, HMRC or any other registry,
//     so a well-formed number may still not exist or not be registered;
//     Stripe's own verification of the tax ID is the place to learn that;
//   - no storage, customers or invoices: callers keep the result.
//
// It uses only the standard library and keeps no state beyond its
// compiled tables, so it is safe for concurrent use.
package taxid
