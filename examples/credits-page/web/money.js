// Money on the page: the API sends exact decimal strings ("25.00",
// "0.000000150"); the page never turns them into floats. Amounts are
// compared as BigInt cents (what a user may type) or nano-dollars (what
// the API may send).

const NANOS = 9;

// parseDecimal reads an API decimal string into BigInt nano-dollars, or
// null when it is not one.
export function parseDecimal(s) {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(String(s ?? ""));
  if (!m) return null;
  const nanos = BigInt(m[2]) * 10n ** BigInt(NANOS) + BigInt((m[3] ?? "").padEnd(NANOS, "0"));
  return m[1] === "-" ? -nanos : nanos;
}

// parseUserAmount reads what a user typed ("25", "25.5", "1,000.00") into
// BigInt cents, or null: dollars with at most 2 decimals, as the server
// accepts for purchases and auto top-up.
export function parseUserAmount(s) {
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(String(s ?? "").trim().replaceAll(",", ""));
  if (!m) return null;
  return BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0"));
}

// centsToDecimal writes BigInt cents as the API's decimal string: 2500n → "25.00".
export function centsToDecimal(cents) {
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
}

// decimalToCents reads an API decimal with at most 2 decimals (purchase
// limits, auto top-up settings) into BigInt cents, or null.
export function decimalToCents(s) {
  const nanos = parseDecimal(s);
  if (nanos === null || nanos % 10_000_000n !== 0n) return null;
  return nanos / 10_000_000n;
}

// formatUSD shows an API decimal as dollars and cents with thousands
// separators. Sub-cent remainders (usage is priced per token) are rounded
// down, so the page never shows more credit than there is; the exact
// amount goes in a tooltip (see exactUSD).
export function formatUSD(s) {
  const nanos = parseDecimal(s);
  if (nanos === null) return String(s ?? "");
  const unit = 10_000_000n; // nano-dollars per cent
  let cents = nanos / unit;
  if (nanos < 0n && nanos % unit !== 0n) cents -= 1n; // floor, not toward zero
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  const dollars = String(abs / 100n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}$${dollars}.${String(abs % 100n).padStart(2, "0")}`;
}

// exactUSD is the amount exactly as the API sent it, for a tooltip.
export function exactUSD(s, currency = "USD") {
  return `${s} ${currency}`;
}
