// Package scalar marshals the API's custom scalars. Decimal is money as an
// exact decimal string ("12.50"); a JSON number is refused, because a float
// cannot carry money exactly.
package scalar

import (
	"fmt"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/airouter/credits/money"
)

// InputError is a scalar value the client sent that does not decode; the
// API answers it as BAD_USER_INPUT.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// MarshalDecimal writes an amount as a JSON string.
func MarshalDecimal(a money.Amount) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(a.String())) //nolint:errcheck // the writer reports nothing useful
	})
}

// UnmarshalDecimal reads an amount from a string such as "25.00".
func UnmarshalDecimal(v any) (money.Amount, error) {
	s, ok := v.(string)
	if !ok {
		return 0, &InputError{fmt.Sprintf("Decimal must be a string such as \"25.00\", not %T", v)}
	}
	a, err := money.Parse(s)
	if err != nil {
		return 0, &InputError{fmt.Sprintf("Decimal %q: %v", s, err)}
	}
	return a, nil
}
