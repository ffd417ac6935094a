// Package pdf renders the documents of the AI Router credits service, an
// issued invoice (Render) or credit note (RenderCreditNote), as an A4 PDF,
// and says which text they can print (CheckPrintable).
//
// It owns the documents' layout: seller and title header, "Bill to" and a
// payment or reference panel, the line-item table, the totals (subtotal,
// one row per tax, total; paid and balance due on an invoice), an
// optional note such as a reverse-charge statement, the PAID mark, footer
// with the transaction reference and page numbers. It owns the display
// formatting of amounts ("1,234.50", exact integer arithmetic on
// money.Amount, never floats) and of tax IDs ("EU VAT PL1234567890",
// "VAT ID: DE123456789 (Germany)"); the embedded font, DejaVu Sans
// Condensed (fonts/README.md), and so the set of characters a document
// can print: Latin with Vietnamese and Turkish, Greek, Cyrillic, Armenian,
// Georgian; and byte-for-byte deterministic output: the same snapshot
// always renders to the same bytes.
//
// It does not own the data. Numbering, the seller and buyer snapshots,
// tax ID labels, tax rates and amounts, the tax rule (reverse charge or
// not) and its note, refunds and card details are decided and stored by
// billing. Render and RenderCreditNote only check that a snapshot is
// self-consistent (lines add up to the subtotal, subtotal and taxes to
// the total, without overflow) and print it; they compute no tax and
// apply no rounding. Billing calls CheckPrintable on what customers enter
// so that a document never prints a box, reversed Hebrew or an escape
// code; text stored before that check is printed with such characters
// replaced by U+FFFD. The package knows nothing of databases, HTTP,
// Stripe or storage, and keeps no state but the font's character set.
package pdf
