package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgtest"
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
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.Limits.MaxDepth = 3 })
	_, token := e.workspace("0")
	deep := `{ node(id: "x") { ... on Transaction { invoice { id } } } }` // 3 fields deep
	if _, codes := e.gql(token, deep, nil); len(codes) != 0 {
		t.Errorf("a query 3 deep was refused with the limit at 3: %v", codes)
	}
	deeper := `{ node(id: "x") { ... on Transaction { invoice { transaction { id } } } } }`
	if _, codes := e.gql(token, deeper, nil); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
		t.Errorf("a query 4 deep with the limit at 3: %v", codes)
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

// The balance query is answered from memory, kept fresh by NOTIFY: a
// change committed by another instance, a grant or a hold, shows within
// the notification delay.
func TestGraphQLBalance_FromMemoryFollowsOtherInstancesGrantsAndHolds(t *testing.T) {
	a := newEnv(t)
	b := newEnvOn(t, a.db)
	ws, owner := a.workspace("10")
	if data, codes := b.gql(owner, balanceQuery, nil); len(codes) != 0 || dig(data, "balance", "amount") != "10.00" {
		t.Fatalf("balance on b: %v %v", data, codes)
	}
	if _, err := a.billing.Grant(context.Background(), ws, money.Dollars(5), "test", ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, codes := b.gql(owner, balanceQuery, nil)
		if len(codes) != 0 {
			t.Fatal(codes)
		}
		if dig(data, "balance", "amount") == "15.00" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance b still answers %v 5 s after a grant on instance a", dig(data, "balance", "amount"))
		}
		time.Sleep(10 * time.Millisecond)
	}

	code, held := a.post("/v1/authorize", a.service, map[string]any{"workspace_id": ws.String(), "model": "gpt-4o",
		"max_input_tokens": 100000, "max_output_tokens": 100000, "request_id": "r1"})
	if code != 200 || held["allowed"] != true {
		t.Fatalf("authorize with estimate: %d %v", code, held)
	}
	want := mustMoney(t, held["available"])
	deadline = time.Now().Add(5 * time.Second)
	for {
		data, codes := b.gql(owner, `{ balance { amount held available } }`, nil)
		if len(codes) != 0 {
			t.Fatal(codes)
		}
		amount := mustMoney(t, dig(data, "balance", "amount"))
		available := mustMoney(t, dig(data, "balance", "available"))
		h := mustMoney(t, dig(data, "balance", "held"))
		if amount-h != available {
			t.Fatalf("b answers amount %v held %v available %v", amount, h, available)
		}
		if available == want && h > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance b still answers held %v available %v 5 s after a hold on a (available %v there)", h, available, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustMoney(t *testing.T, v any) money.Amount {
	t.Helper()
	s, _ := v.(string)
	a, err := money.Parse(s)
	if err != nil {
		t.Fatalf("%v is not an amount: %v", v, err)
	}
	return a
}
