package taxid

// The functions here take a compacted value that already matched its
// type's pattern, so lengths and character classes are known.

// validABN checks an Australian Business Number as the ABR publishes it:
// subtract 1 from the first digit, weight the digits 10, 1, 3, 5, ..., 19,
// and the sum must divide by 89.
func validABN(abn string) bool {
	weights := [11]int{10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19}
	sum := -weights[0] // the 1 subtracted from the first digit
	for i, w := range weights {
		sum += int(abn[i]-'0') * w
	}
	return sum%89 == 0
}

// validCNPJ checks both CNPJ check digits (mod 11, weights 2–9 from the
// right). Each character counts as its ASCII code minus 48, which gives
// digits their value and letters 17 (A) to 42 (Z), as the Receita
// Federal defines it for alphanumeric CNPJs. Numbers of one repeated
// digit pass the arithmetic but are not issued.
func validCNPJ(cnpj string) bool {
	if isRepeated(cnpj) {
		return false
	}
	checkDigit := func(n int) byte { // over the first n characters
		sum, weight := 0, 2
		for i := n - 1; i >= 0; i-- {
			sum += int(cnpj[i]-'0') * weight
			if weight++; weight > 9 {
				weight = 2
			}
		}
		return mod11CheckDigit(sum)
	}
	return checkDigit(12) == cnpj[12] && checkDigit(13) == cnpj[13]
}

// validCPF checks both CPF check digits (mod 11, weights 2, 3, ... from
// the right); repeated-digit numbers are not issued.
func validCPF(cpf string) bool {
	if isRepeated(cpf) {
		return false
	}
	checkDigit := func(n int) byte {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(cpf[i]-'0') * (n + 1 - i)
		}
		return mod11CheckDigit(sum)
	}
	return checkDigit(9) == cpf[9] && checkDigit(10) == cpf[10]
}

// mod11CheckDigit is Brazil's rule: 11 minus the remainder, with 10 and 11 as 0.
func mod11CheckDigit(sum int) byte {
	if r := sum % 11; r >= 2 {
		return byte('0' + 11 - r)
	}
	return '0'
}

func isRepeated(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			return false
		}
	}
	return true
}
