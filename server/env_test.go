package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/feed"
	"github.com/airouter/credits/graph"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/payments"
	"github.com/airouter/credits/pgtest"
	"github.com/airouter/credits/server"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.DropTemplates()
	os.Exit(code)
}

// env is one server over a fresh database.
type env struct {
	t       testing.TB
	db      *pgtest.DB
	billing *billing.Service
	tokens  *auth.Tokens
	srv     *httptest.Server
	handler http.Handler // srv's handler, for in-process benchmarks
	server  *server.Server
	service string // a service token
	sandbox *payments.Sandbox
	hub     *feed.Hub
}

const webhookSecret = "whsec_test_secret"

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, pgtest.New(t))
}

// newEnvOn starts one server instance over db: several instances over one
// database behave like several processes (own pools, own listeners).
func newEnvOn(t testing.TB, db *pgtest.DB) *env {
	t.Helper()
	return newEnvWith(t, db, nil)
}

// newEnvWith lets a test adjust the server's dependencies (limits) first.
// envLog is where every env's components log (tests swap it to read logs).
var envLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnvWith(t testing.TB, db *pgtest.DB, adjust func(*app.Options)) *env {
	t.Helper()
	opts := app.Options{
		DatabaseURL: db.URL, DB: db.SQL, Processor: payments.NewSandbox(envLog), Log: envLog,
		Billing: billing.Config{MaxBatch: 100}, Limits: graph.DefaultLimits, PublicURL: "https://credits.example",
		WebhookSecret: webhookSecret, AuthorizeMaxStale: time.Second, BalanceInterval: 100 * time.Millisecond,
		MutationsPerSecond: -1, // tests mutate fast on purpose; TestMutations_AreRateLimitedPerToken covers the limit
	}
	if adjust != nil {
		adjust(&opts)
	}
	a, err := app.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	live, err := a.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); a.Wait() })
	select {
	case <-live:
	case <-time.After(5 * time.Second):
		t.Fatal("balance listener did not connect")
	}
	ts := httptest.NewServer(a.Server.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, db: db, billing: a.Billing, tokens: a.Tokens, srv: ts, handler: a.Server.Handler(), server: a.Server, sandbox: a.Sandbox, hub: a.Hub}
	e.service = e.token(uuid.Nil, auth.RoleService)
	return e
}

func (e *env) token(ws uuid.UUID, role auth.Role) string {
	e.t.Helper()
	raw, _, err := e.tokens.Create(context.Background(), ws, role, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// workspace creates a workspace with balance and returns it with an owner token.
func (e *env) workspace(balance string) (uuid.UUID, string) {
	e.t.Helper()
	ws, err := e.billing.CreateWorkspace(context.Background(), "ws", "free")
	if err != nil {
		e.t.Fatal(err)
	}
	if balance != "0" {
		a, _ := money.Parse(balance)
		if _, err := e.billing.Grant(context.Background(), ws, a, "test", ""); err != nil {
			e.t.Fatal(err)
		}
	}
	return ws, e.token(ws, auth.RoleOwner)
}

// post sends body (JSON-encoded unless it is []byte) and returns status and decoded JSON.
func (e *env) post(path, token string, body any) (int, map[string]any) {
	e.t.Helper()
	raw, ok := body.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 && json.Unmarshal(b, &out) != nil {
		out = map[string]any{"_raw": string(b)}
	}
	return resp.StatusCode, out
}

// gql runs a GraphQL operation and returns data and the errors' codes.
func (e *env) gql(token, query string, vars map[string]any) (map[string]any, []string) {
	e.t.Helper()
	_, out := e.post("/graphql", token, map[string]any{"query": query, "variables": vars})
	return gqlResult(out)
}

func gqlResult(out map[string]any) (map[string]any, []string) {
	data, _ := out["data"].(map[string]any)
	var codes []string
	errs, _ := out["errors"].([]any)
	for _, x := range errs {
		m, _ := x.(map[string]any)
		ext, _ := m["extensions"].(map[string]any)
		code, _ := ext["code"].(string)
		codes = append(codes, code)
	}
	return data, codes
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func moneyString(nanos int64) string { return money.Amount(nanos).String() }

// testClock is a service clock tests move by hand instead of sleeping.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now().UTC().Truncate(time.Microsecond)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
