// node --test: the page's money rules (run by page_test.go's TestPage_MoneyRules).
import { test } from "node:test";
import assert from "node:assert/strict";
import { centsToDecimal, decimalToCents, formatUSD, parseDecimal, parseUserAmount } from "./web/money.js";

test("formatUSD shows dollars and cents, rounding sub-cents down", () => {
  for (const [api, shown] of [
    ["0.00", "$0.00"], ["25.00", "$25.00"], ["0.05", "$0.05"], ["1234567.891", "$1,234,567.89"],
    ["24.999999999", "$24.99"], ["-0.000000001", "-$0.01"], ["-12.50", "-$12.50"],
    // the largest and smallest balances int64 nano-dollars hold
    ["9223372036.854775807", "$9,223,372,036.85"], ["-9223372036.854775808", "-$9,223,372,036.86"],
    ["not a number", "not a number"],
  ]) assert.equal(formatUSD(api), shown, api);
});

test("parseDecimal is exact, in nano-dollars", () => {
  assert.equal(parseDecimal("0.000000150"), 150n);
  assert.equal(parseDecimal("9223372036.854775807"), 9223372036854775807n);
  for (const bad of ["", "1.", ".5", "1e3", "0.0000000001", "25\u0000", " 25", "NaN", null, undefined]) {
    assert.equal(parseDecimal(bad), null, String(bad));
  }
});

test("parseUserAmount takes what a user types, at most 2 decimals", () => {
  for (const [typed, cents] of [
    ["25", 2500n], ["25.5", 2550n], ["25.05", 2505n], [" 1,000.00 ", 100000n], ["0", 0n], ["999999999999.99", 99999999999999n],
  ]) assert.equal(parseUserAmount(typed), cents, typed);
  for (const bad of ["", "25.", "4.999", "-5", "1e3", "25\u0000", "٢٥", "1000000000000", "$25", "0x10"]) {
    assert.equal(parseUserAmount(bad), null, bad);
  }
});

test("cents and the API's decimals round-trip", () => {
  for (const s of ["0.00", "5.00", "10000.00", "0.01", "-3.10"]) assert.equal(centsToDecimal(decimalToCents(s)), s);
  assert.equal(decimalToCents("5.001"), null); // not whole cents
});
