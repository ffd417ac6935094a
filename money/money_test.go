package money

import (
	"errors"
	"math"
	"testing"
)

func TestParse_AcceptsExactDecimalsAndRejectsTheRest(t *testing.T) {
	tests := []struct {
		in   string
		want Amount
		err  error
	}{
		{"0", 0, nil},
		{"5", 5 * Dollar, nil},
		{"12.50", 12*Dollar + 50*Cent, nil},
		{"0.000000150", 150, nil},
		{"0.00000005", 50, nil},
		{"-3.25", -(3*Dollar + 25*Cent), nil},
		{"007.10", 7*Dollar + 10*Cent, nil},
		{"9223372036.854775807", math.MaxInt64, nil},
		{"9223372036.854775808", 0, ErrRange},
		{"99999999999", 0, ErrRange},
		{"0.0000000001", 0, ErrPrecision},
		{"1.0000000000", Dollar, nil}, // trailing zeros are not precision
		{"", 0, ErrSyntax},
		{"-", 0, ErrSyntax},
		{".5", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"+5", 0, ErrSyntax},
		{"1e3", 0, ErrSyntax},
		{"1,000", 0, ErrSyntax},
		{" 5", 0, ErrSyntax},
		{"NaN", 0, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Fatalf("Parse(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseScale_RejectsMoreDecimalsThanAllowed(t *testing.T) {
	if _, err := ParseScale("4.999", 2); !errors.Is(err, ErrPrecision) {
		t.Fatalf("4.999 at scale 2: err = %v, want ErrPrecision", err)
	}
	if got, err := ParseScale("4.990", 2); err != nil || got != 4*Dollar+99*Cent {
		t.Fatalf("4.990 at scale 2 = %v, %v", got, err)
	}
}

func TestString_TwoDecimalsAtLeastNoTrailingZerosBeyond(t *testing.T) {
	tests := map[Amount]string{
		0:                       "0.00",
		12*Dollar + 50*Cent:     "12.50",
		150:                     "0.00000015",
		-(3 * Dollar):           "-3.00",
		1:                       "0.000000001",
		math.MaxInt64:           "9223372036.854775807",
		math.MinInt64:           "-9223372036.854775808",
		Dollar + Cent + Cent/10: "1.011",
	}
	for a, want := range tests {
		if got := a.String(); got != want {
			t.Errorf("Amount(%d).String() = %q, want %q", int64(a), got, want)
		}
	}
}

func TestStringParse_RoundTrip(t *testing.T) {
	for _, a := range []Amount{0, 1, 49, 50 * Cent, -7, 123456789012345678, math.MaxInt64, math.MinInt64 + 1} {
		got, err := Parse(a.String())
		if err != nil || got != a {
			t.Errorf("Parse(%q) = %d, %v; want %d", a.String(), got, err, a)
		}
	}
}

func TestCentsExact(t *testing.T) {
	if c, ok := (25 * Dollar).CentsExact(); !ok || c != 2500 {
		t.Fatalf("$25 = %d cents, %v", c, ok)
	}
	if _, ok := Amount(1).CentsExact(); ok {
		t.Fatal("one nano-dollar is not a whole number of cents")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "12.50", "-0.000000001", "9223372036.854775807", "1e3", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(a.String())
		if err != nil || back != a {
			t.Fatalf("Parse(%q) = %d; String %q parses to %d, %v", s, a, a.String(), back, err)
		}
	})
}

func TestCheckedArithmetic_ReportsOverflowAtTheEdges(t *testing.T) {
	const max, min = Amount(math.MaxInt64), Amount(math.MinInt64)
	tests := []struct {
		name string
		got  func() (Amount, error)
		want Amount
		err  error
	}{
		{"add small", func() (Amount, error) { return Add(2, 3) }, 5, nil},
		{"add to max", func() (Amount, error) { return Add(max-1, 1) }, max, nil},
		{"add past max", func() (Amount, error) { return Add(max, 1) }, 0, ErrOverflow},
		{"add past min", func() (Amount, error) { return Add(min, -1) }, 0, ErrOverflow},
		{"add opposite signs never overflows", func() (Amount, error) { return Add(max, min) }, -1, nil},
		{"sub to min", func() (Amount, error) { return Sub(min+1, 1) }, min, nil},
		{"sub past min", func() (Amount, error) { return Sub(min, 1) }, 0, ErrOverflow},
		{"sub negative past max", func() (Amount, error) { return Sub(max, -1) }, 0, ErrOverflow},
		{"sub min from zero", func() (Amount, error) { return Sub(0, min) }, 0, ErrOverflow},
		{"sub min from -1", func() (Amount, error) { return Sub(-1, min) }, max, nil},
		{"mul", func() (Amount, error) { return Mul(500_000, 1_000) }, 500_000_000, nil},
		{"mul zero", func() (Amount, error) { return Mul(max, 0) }, 0, nil},
		{"mul negative", func() (Amount, error) { return Mul(-3, 4) }, -12, nil},
		{"mul to min", func() (Amount, error) { return Mul(min/2, 2) }, min, nil},
		{"mul past max", func() (Amount, error) { return Mul(max/2+1, 2) }, 0, ErrOverflow},
		{"mul 1e12 traces at $0.0005 fits", func() (Amount, error) { return Mul(500_000, 1_000_000_000_000) }, 500_000_000_000_000_000, nil},
		{"mul 1e14 traces at $0.0005", func() (Amount, error) { return Mul(500_000, 100_000_000_000_000) }, 0, ErrOverflow},
		{"mul min by -1", func() (Amount, error) { return Mul(min, -1) }, 0, ErrOverflow},
		{"sum", func() (Amount, error) { return Sum(1, 2, 3) }, 6, nil},
		{"sum past max", func() (Amount, error) { return Sum(max, 1, -1) }, 0, ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("got %d, %v; want %d, %v", got, err, tt.want, tt.err)
			}
		})
	}
}
