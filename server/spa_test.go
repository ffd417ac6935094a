package server_test

// Issue 17: what a browser app on another origin needs.

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/pgtest"
)

// 17.1: graphql-js's getIntrospectionQuery() (15 levels of ofType, every
// option on, as GraphiQL and codegen send it) answers, with and without a
// token, while ordinary queries stay depth-limited.
func TestIssue17_1_TheStandardIntrospectionQueryWorks(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("0")
	query, err := os.ReadFile("testdata/introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"", owner} {
		data, codes := e.gql(token, string(query), nil)
		types, _ := dig(data, "__schema", "types").([]any)
		if len(codes) != 0 || len(types) < 30 {
			t.Fatalf("token %q: %d types, codes %v", token, len(types), codes)
		}
	}
	// Introspection is not a way around the depth limit for the rest.
	deep := `{ __typename node(id: "x") { ... on Transaction { invoice { transaction { invoice { transaction { invoice { transaction { invoice { transaction { invoice { id } } } } } } } } } } } }`
	if _, codes := e.gql(owner, deep, nil); len(codes) != 1 || codes[0] != "BAD_USER_INPUT" {
		t.Fatalf("a query 11 deep: %v", codes)
	}
}

// 17.3: the printed SDL at a stable address, only with introspection on.
func TestIssue17_3_SchemaFileIsServedWhenIntrospectionIsOn(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/graphql/schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: body})
	if gerr != nil {
		t.Fatalf("the served SDL does not load: %v", gerr)
	}
	for _, name := range []string{"Query", "Mutation", "Subscription", "Balance", "Invoice"} {
		if schema.Types[name] == nil {
			t.Errorf("the SDL has no %s", name)
		}
	}
	if schema.Subscription == nil || schema.Subscription.Fields.ForName("balanceUpdated") == nil {
		t.Error("the SDL has no balanceUpdated subscription")
	}

	off := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.Limits.Introspection = false })
	resp, err = http.Get(off.srv.URL + "/graphql/schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("with introspection off: %d", resp.StatusCode)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// 17.2: CORS for the configured origins only, on the GraphQL endpoint,
// the schema file and document downloads; bearer tokens, no credentials.
func TestIssue17_2_CORSAllowsOnlyTheConfiguredOrigins(t *testing.T) {
	const spa = "http://localhost:5173"
	e := newEnvWith(t, pgtest.New(t), func(d *app.Options) { d.CORSAllowedOrigins = []string{spa, "https://app.example"} })
	_, owner := e.workspace("1")
	do := func(method, path, origin string, headers map[string]string, body string) *http.Response {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		return resp
	}
	preflight := func(path, origin, method string) *http.Response {
		return do(http.MethodOptions, path, origin, map[string]string{
			"Access-Control-Request-Method":  method,
			"Access-Control-Request-Headers": "authorization, content-type",
		}, "")
	}
	for _, tc := range []struct{ path, method string }{
		{"/graphql", http.MethodPost},
		{"/graphql", http.MethodGet},
		{"/graphql/schema.graphql", http.MethodGet},
		{"/invoices/00000000-0000-0000-0000-000000000000.pdf", http.MethodGet},
		{"/credit-notes/00000000-0000-0000-0000-000000000000.pdf", http.MethodGet},
		{"/sandbox/payment_intents/pi_sbx_0/authenticate", http.MethodPost},
	} {
		t.Run("preflight "+tc.method+" "+tc.path, func(t *testing.T) {
			resp := preflight(tc.path, spa, tc.method)
			if resp.Header.Get("Access-Control-Allow-Origin") != spa {
				t.Fatalf("allowed origin: %d %v", resp.StatusCode, resp.Header)
			}
			allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
			if !strings.Contains(allowed, "authorization") || !strings.Contains(allowed, "content-type") {
				t.Fatalf("allowed headers %q", allowed)
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Fatal("credentials allowed")
			}
			if resp := preflight(tc.path, "http://evil.example", tc.method); hasCORS(resp) {
				t.Fatalf("unknown origin got CORS headers: %v", resp.Header)
			}
		})
	}
	// Simple requests: the answer carries the origin for an allowed one only.
	post := func(origin string) *http.Response {
		return do(http.MethodPost, "/graphql", origin, map[string]string{"Authorization": "Bearer " + owner, "Content-Type": "application/json"},
			`{"query":"{ balance { amount } }"}`)
	}
	if resp := post(spa); resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != spa {
		t.Fatalf("POST from the SPA: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := post("http://localhost:5174"); resp.StatusCode != http.StatusOK || hasCORS(resp) {
		t.Fatalf("POST from an unknown origin: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := do(http.MethodGet, "/graphql/schema.graphql", "https://app.example", nil, ""); resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("schema from an allowed origin: %v", resp.Header)
	}
	// Routes the browser has no business calling get no CORS headers.
	if resp := preflight("/v1/authorize", spa, http.MethodPost); hasCORS(resp) {
		t.Fatalf("/v1/authorize answered CORS: %v", resp.Header)
	}
	// With no origins configured (the default), nobody gets CORS headers.
	plain := newEnv(t)
	req, _ := http.NewRequest(http.MethodOptions, plain.srv.URL+"/graphql", nil)
	req.Header.Set("Origin", spa)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if hasCORS(resp) {
		t.Fatalf("CORS with no origins configured: %v", resp.Header)
	}
}

func hasCORS(resp *http.Response) bool {
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			return true
		}
	}
	return false
}

// 17.7: GraphQL over HTTP status codes (graphql-http's audit runs in the
// e2e test; these are the SHOULD items it warned about, in Go).
func TestIssue17_7_RequestErrorsFollowGraphQLOverHTTP(t *testing.T) {
	e := newEnv(t)
	_, owner := e.workspace("1")
	for _, tc := range []struct {
		name, accept, body string
		status             int
	}{
		{"parse failure, json", "application/json", `{"query":"{"}`, 200},
		{"validation failure, json", "application/json", `{"query":"{ nope }"}`, 200},
		{"variable coercion failure, json", "application/json", `{"query":"query ($id: ID!) { node(id: $id) { id } }","variables":{"id":[1]}}`, 200},
		{"parse failure, graphql-response", "application/graphql-response+json", `{"query":"{"}`, 400},
		{"validation failure, graphql-response", "application/graphql-response+json", `{"query":"{ nope }"}`, 400},
		{"variable coercion failure, graphql-response", "application/graphql-response+json", `{"query":"query ($id: ID!) { node(id: $id) { id } }","variables":{"id":[1]}}`, 400},
		{"too large, graphql-response", "application/graphql-response+json", `{"query":"` + repeated(4000) + `"}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawPost(t, e, owner, tc.accept, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, body)
			}
			if _, has := body["data"]; has {
				t.Fatalf("a request error carries a data key: %v", body)
			}
			if len(codesOf(body)) == 0 {
				t.Fatalf("no error: %v", body)
			}
		})
	}
	// Anonymous beyond introspection: 401 for graphql-response+json.
	if resp, body := rawPost(t, e, "", "application/graphql-response+json", `{"query":"{ balance { amount } }"}`); resp.StatusCode != http.StatusUnauthorized || body["data"] != nil {
		t.Fatalf("anonymous balance: %d %v", resp.StatusCode, body)
	}
	// A query that ran keeps its data and 200 on both.
	for _, accept := range []string{"application/json", "application/graphql-response+json"} {
		if resp, body := rawPost(t, e, owner, accept, `{"query":"{ balance { amount } }"}`); resp.StatusCode != 200 || dig(body, "data", "balance", "amount") != "1.00" {
			t.Fatalf("%s: %d %v", accept, resp.StatusCode, body)
		}
	}
}
