package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/pgtest"
)

func TestMutations_AreRateLimitedPerToken(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.MutationsPerSecond, d.MutationBurst = 0.5, 3 })
	_, owner := e.workspace("0")
	_, other := e.workspace("0")
	profile := map[string]any{"query": `mutation { updateBillingProfile(input: {name: "A", address: {line1: "x", city: "y", country: "DE"}}) { name } }`}
	for i := 0; i < 3; i++ {
		if code, body := e.post("/graphql", owner, profile); code != http.StatusOK {
			t.Fatalf("mutation %d within the burst: %d %v", i, code, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", strings.NewReader(`{"query":"mutation { createSetupIntent { clientSecret } }"}`))
	req.Header.Set("Authorization", "Bearer "+owner)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("4th mutation: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Queries are not limited, and another token has its own budget.
	if code, _ := e.post("/graphql", owner, map[string]any{"query": "{ balance { amount } }"}); code != http.StatusOK {
		t.Fatalf("query after the limit: %d", code)
	}
	if code, _ := e.post("/graphql", other, profile); code != http.StatusOK {
		t.Fatalf("another token: %d", code)
	}
}

func TestGraphQL_RefusesBatchedRequests(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	code, body := e.post("/graphql", owner, []byte(`[{"query":"{ balance { amount } }"},{"query":"{ balance { amount } }"}]`))
	if code == http.StatusOK && body["data"] != nil {
		t.Fatalf("a batched request was executed: %d %v", code, body)
	}
}

func TestIntrospection_CanBeTurnedOffForProduction(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.Limits.Introspection = false })
	_, owner := e.workspace("0")
	if data, codes := e.gql(owner, `{ __schema { types { name } } }`, nil); len(codes) == 0 || data["__schema"] != nil {
		t.Fatalf("introspection answered with GRAPHQL_INTROSPECTION=false: %v", data)
	}
	if data, codes := e.gql(owner, `{ balance { amount } }`, nil); len(codes) != 0 || dig(data, "balance", "amount") != "0.00" {
		t.Fatalf("queries must still work: %v %v", data, codes)
	}
}

// Issue 14.9: a batched JSON array body was answered INTERNAL.
func TestGraphQL_ABatchedBodyIsBadUserInputNotInternal(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	for _, body := range []string{`[{"query":"{ balance { amount } }"},{"query":"{ balance { amount } }"}]`, `{"query": 5}`, `{"query":"{ balance { amount } }"`, "\x00"} {
		code, out := e.post("/graphql", owner, []byte(body))
		_, codes := gqlResult(out)
		if code != http.StatusBadRequest || len(codes) != 1 || codes[0] != "BAD_USER_INPUT" {
			t.Fatalf("%q: %d %v", body, code, out)
		}
	}
}
