package pdf

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/airouter/credits/money"
)

// formatAmount prints an amount for people: thousands separators and two
// decimals, "1,234.50". It is exact integer arithmetic on nano-dollars; an
// amount with sub-cent digits is rounded half away from zero to the cent
// for display only (invoice amounts are whole cents already).
func formatAmount(a money.Amount) string {
	u := uint64(a)
	neg := a < 0
	if neg {
		u = -u // two's complement, also right for math.MinInt64
	}
	cent := uint64(money.Cent)
	cents := u / cent
	if u%cent >= cent/2 {
		cents++
	}
	s := group(strconv.FormatUint(cents/100, 10)) + "." + twoDigits(cents%100)
	if neg && cents != 0 {
		s = "-" + s
	}
	return s
}

// formatQuantity prints a count with thousands separators: "1,000".
func formatQuantity(n int64) string {
	u := uint64(n)
	sign := ""
	if n < 0 {
		sign, u = "-", -u
	}
	return sign + group(strconv.FormatUint(u, 10))
}

func twoDigits(n uint64) string {
	if n < 10 {
		return "0" + strconv.FormatUint(n, 10)
	}
	return strconv.FormatUint(n, 10)
}

// group inserts a comma every three digits from the right.
func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// brandName turns a card network id as Stripe spells it into its name.
func brandName(brand string) string {
	switch strings.ToLower(strings.TrimSpace(brand)) {
	case "":
		return "Card"
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex", "american_express":
		return "American Express"
	case "discover":
		return "Discover"
	case "diners":
		return "Diners Club"
	case "jcb":
		return "JCB"
	case "unionpay":
		return "UnionPay"
	case "cartes_bancaires":
		return "Cartes Bancaires"
	case "eftpos_au":
		return "eftpos Australia"
	case "interac":
		return "Interac"
	}
	words := strings.Fields(strings.ReplaceAll(brand, "_", " "))
	for i, w := range words {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " ")
}

// cardText is "Visa •••• 4242", or just the brand when the last four
// digits are unknown.
func cardText(brand, last4 string) string {
	name := brandName(brand)
	if last4 = strings.TrimSpace(last4); last4 == "" {
		return name
	}
	return name + " •••• " + last4
}
