// Package money holds exact USD amounts.
//
// An Amount is a signed count of nano-dollars ($0.000000001) in an int64,
// enough for per-token prices ($0.00000005 is 50) and for balances up to
// about $9.2 billion. Floats never appear: amounts are parsed from and
// printed as decimal strings, and card charges convert to whole cents.
//
// It owns parsing, formatting and the usage rounding rule (Ceil); it knows
// nothing of balances, ledgers or prices.
package money
