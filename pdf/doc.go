// Package pdf renders one issued invoice of the AI Router credits service
// as an A4 PDF.
//
// It owns the invoice document only: the layout (seller and "INVOICE"
// header, "Bill to" block, line-item table, totals with a PAID mark, footer
// with the transaction reference and page numbers), the display formatting
// of amounts ("1,234.50", exact integer arithmetic on money.Amount, never
// floats), the embedded Go fonts that make any Latin, Greek or Cyrillic name
// ("Łódź", "São Paulo", "Ærøskøbing") print as entered, and byte-for-byte
// deterministic output: the same Invoice always renders to the same bytes.
//
// It does not own the invoice's data. Numbering, the seller and buyer
// snapshots, tax IDs, amounts and card details are decided and stored by
// billing; Render only checks that the snapshot is self-consistent (lines
// add up to the total) and prints it. It computes no tax, knows nothing of
// databases, HTTP, Stripe or storage, and keeps no state: callers fetch the
// snapshot, convert it to an Invoice and serve or store the bytes.
package pdf
