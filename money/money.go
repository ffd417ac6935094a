package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Amount is an exact USD amount in nano-dollars.
type Amount int64

// Currency is the one currency the service bills in.
const Currency = "USD"

const (
	// Nano is the number of decimal places an Amount carries.
	Nano = 9
	// Dollar is one dollar.
	Dollar Amount = 1_000_000_000
	// Cent is one cent, the smallest unit a card is charged in.
	Cent Amount = 10_000_000
)

var (
	// ErrSyntax means the text is not a plain decimal number.
	ErrSyntax = errors.New("not a decimal number")
	// ErrPrecision means the text has more decimal places than allowed.
	ErrPrecision = errors.New("too many decimal places")
	// ErrRange means the amount does not fit.
	ErrRange = errors.New("amount out of range")
)

// Dollars returns d whole dollars.
func Dollars(d int64) Amount { return Amount(d) * Dollar }

// Cents returns c cents.
func Cents(c int64) Amount { return Amount(c) * Cent }

// Parse reads a decimal string such as "12.50", "-3", "0.000000150".
// It accepts an optional leading minus, digits, and at most Nano decimals;
// no exponent, no thousands separators, no plus sign, no spaces.
func Parse(s string) (Amount, error) {
	return ParseScale(s, Nano)
}

// ParseScale is Parse that also rejects more than maxDecimals decimal places
// (e.g. 2 for amounts a person types in dollars and cents).
func ParseScale(s string, maxDecimals int) (Amount, error) {
	if maxDecimals < 0 || maxDecimals > Nano {
		return 0, fmt.Errorf("money: scale %d out of range", maxDecimals)
	}
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	intPart, fracPart, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && fracPart == "") {
		return 0, ErrSyntax
	}
	if !allDigits(intPart) || !allDigits(fracPart) {
		return 0, ErrSyntax
	}
	fracPart = strings.TrimRight(fracPart, "0")
	if len(fracPart) > maxDecimals {
		return 0, ErrPrecision
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > 10 { // > 9,999,999,999 dollars cannot fit
		return 0, ErrRange
	}
	var whole uint64
	for _, c := range intPart {
		whole = whole*10 + uint64(c-'0')
	}
	var frac uint64
	for i := 0; i < Nano; i++ {
		frac *= 10
		if i < len(fracPart) {
			frac += uint64(fracPart[i] - '0')
		}
	}
	hi, lo := bits.Mul64(whole, uint64(Dollar))
	lo, carry := bits.Add64(lo, frac, 0)
	if hi != 0 || carry != 0 || lo > math.MaxInt64 {
		return 0, ErrRange
	}
	a := Amount(lo)
	if neg {
		a = -a
	}
	return a, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String prints the amount with at least two decimals and no trailing zeros
// beyond them: "12.50", "0.00000015", "-3.00".
func (a Amount) String() string {
	u := uint64(a)
	sign := ""
	if a < 0 {
		sign = "-"
		u = -u // two's complement also handles math.MinInt64
	}
	whole := u / uint64(Dollar)
	frac := fmt.Sprintf("%09d", u%uint64(Dollar))
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return fmt.Sprintf("%s%d.%s", sign, whole, frac)
}

// CentsExact returns the amount in whole cents, or false when it has a
// sub-cent remainder (card charges are whole cents).
func (a Amount) CentsExact() (int64, bool) {
	return int64(a / Cent), a%Cent == 0
}

// MarshalText makes an Amount encode as its decimal string.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses a decimal string.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ErrOverflow means a sum or product of amounts does not fit in an Amount.
// Every balance, ledger and usage sum goes through Add, Sub or Mul, so an
// overflow fails the change instead of wrapping into a huge credit.
var ErrOverflow = errors.New("money: amount overflows")

// Add returns a + b, or ErrOverflow.
func Add(a, b Amount) (Amount, error) {
	s := a + b
	// Overflow iff both operands have the same sign and the sum's differs.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// Sub returns a - b, or ErrOverflow.
func Sub(a, b Amount) (Amount, error) {
	d := a - b
	if (a >= 0) != (b >= 0) && (d >= 0) != (a >= 0) {
		return 0, ErrOverflow
	}
	return d, nil
}

// Mul returns a × n, or ErrOverflow (e.g. a per-trace price times a count).
func Mul(a Amount, n int64) (Amount, error) {
	if a == 0 || n == 0 {
		return 0, nil
	}
	hi, lo := bits.Mul64(absU(int64(a)), absU(n))
	neg := (a < 0) != (n < 0)
	switch {
	case hi != 0, !neg && lo > math.MaxInt64, neg && lo > 1<<63:
		return 0, ErrOverflow
	}
	if neg {
		return Amount(-lo), nil // -(1<<63) wraps to MinInt64, which is exact
	}
	return Amount(lo), nil
}

// Sum adds amounts, or returns ErrOverflow.
func Sum(amounts ...Amount) (Amount, error) {
	var total Amount
	var err error
	for _, a := range amounts {
		if total, err = Add(total, a); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func absU(v int64) uint64 {
	if v < 0 {
		return -uint64(v) // two's complement; correct for MinInt64 too
	}
	return uint64(v)
}
