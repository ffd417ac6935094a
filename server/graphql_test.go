package server_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/airouter/credits/auth"
)

const balanceQuery = `{ balance { amount currency blocked updatedAt } }`

func TestGraphQLBalance_ScopedToTheTokensWorkspace(t *testing.T) {
	e := newEnv(t)
	a, tokenA := e.workspace("12.5")
	_, tokenB := e.workspace("3")
	memberA := e.token(a, auth.RoleMember)
	for token, want := range map[string]string{tokenA: "12.50", memberA: "12.50", tokenB: "3.00"} {
		data, codes := e.gql(token, balanceQuery, nil)
		if len(codes) != 0 || dig(data, "balance", "amount") != want || dig(data, "balance", "currency") != "USD" || dig(data, "balance", "blocked") != false {
			t.Fatalf("balance = %v %v, want %s", data, codes, want)
		}
	}
}

func TestGraphQLAuth_RefusesMissingAndWrongTokens(t *testing.T) {
	e := newEnv(t)
	for name, tc := range map[string]struct{ token, code string }{
		"no token":      {"", "UNAUTHENTICATED"},
		"unknown token": {"cr_nope", "UNAUTHENTICATED"},
		"service token": {e.service, "FORBIDDEN"},
	} {
		data, codes := e.gql(tc.token, balanceQuery, nil)
		if data != nil && data["balance"] != nil || !slices.Equal(codes, []string{tc.code}) {
			t.Errorf("%s: data %v codes %v, want %s", name, data, codes, tc.code)
		}
	}
}

func TestGraphQLModelPrices_ListsTheSeededCatalogAsDecimalStrings(t *testing.T) {
	e := newEnv(t)
	_, token := e.workspace("0")
	data, codes := e.gql(token, `{ modelPrices { model inputPerMillion outputPerMillion cachedInputPerMillion effectiveFrom } }`, nil)
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	prices, _ := data["modelPrices"].([]any)
	if len(prices) < 15 {
		t.Fatalf("%d prices, want the seeded catalog", len(prices))
	}
	for _, p := range prices {
		m := p.(map[string]any)
		if m["model"] == "gpt-5-nano" && (m["inputPerMillion"] != "0.05" || m["cachedInputPerMillion"] != "0.005") {
			t.Fatalf("gpt-5-nano = %v", m)
		}
	}
}

func TestGraphQLLimits_DepthComplexityAndBodySize(t *testing.T) {
	e := newEnv(t)
	_, token := e.workspace("0")
	deep := "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }"
	if _, codes := e.gql(token, deep, nil); len(codes) == 0 {
		t.Error("a query nested 11 deep was accepted")
	}
	aliases := "{" + strings.Repeat("a: balance { amount } ", 1) + "}"
	var flood strings.Builder
	flood.WriteString("{")
	for i := 0; i < 600; i++ {
		flood.WriteString(" b" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + "_" + itoa(i) + ": balance { amount }")
	}
	flood.WriteString("}")
	if _, codes := e.gql(token, aliases, nil); len(codes) != 0 {
		t.Errorf("a small query was refused: %v", codes)
	}
	if _, codes := e.gql(token, flood.String(), nil); !slices.Contains(codes, "COMPLEXITY_LIMIT_EXCEEDED") && len(codes) == 0 {
		t.Error("600 aliased balance queries were accepted")
	}
	code, _ := e.post("/graphql", token, []byte(`{"query":"`+strings.Repeat(" ", 2<<20)+`{ balance { amount } }"}`))
	if code < 400 {
		t.Errorf("a 2 MiB body answered %d", code)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
