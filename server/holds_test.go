package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestAuthorizeWithEstimates_ConcurrentCallsNeverOverspend(t *testing.T) {
	e := newEnv(t)
	// Each estimate: 10,000 input + 1,000 output tokens of gpt-4o = $0.035.
	// $0.351 covers exactly 10 (the 11th would leave nothing).
	ws, owner := e.workspace("0.351")
	var mu sync.Mutex
	var allowed []map[string]any
	denied := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := 0; i < 500; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			code, body := e.post("/v1/authorize", e.service, map[string]any{"workspace_id": ws.String(), "model": "gpt-4o",
				"max_input_tokens": 10000, "max_output_tokens": 1000, "request_id": fmt.Sprint("req-", i)})
			mu.Lock()
			defer mu.Unlock()
			switch code {
			case http.StatusOK:
				if body["hold_id"] == nil || body["expires_at"] == nil {
					t.Errorf("allowed without a hold: %v", body)
				}
				body["request_id"] = fmt.Sprint("req-", i)
				allowed = append(allowed, body)
			case http.StatusPaymentRequired:
				if body["reason"] != "insufficient_credits" {
					t.Errorf("402 body %v", body)
				}
				denied++
			default:
				t.Errorf("authorize: %d %v", code, body)
			}
		}(i)
	}
	wg.Wait()
	if len(allowed) != 10 || denied != 490 {
		t.Fatalf("%d allowed, %d denied; want 10 and 490", len(allowed), denied)
	}
	data, _ := e.gql(owner, `{ balance { amount held available } }`, nil)
	if dig(data, "balance", "held") != "0.35" || dig(data, "balance", "available") != "0.001" || dig(data, "balance", "amount") != "0.351" {
		t.Fatalf("balance while held: %v", data)
	}
	// Settle: each call really used 1,000 output tokens ($0.01); the holds go.
	var events []any
	for i, a := range allowed {
		ev := usageEvent(ws, fmt.Sprint("settle-", i), 1000)
		if i%2 == 0 {
			ev["request_id"] = a["request_id"]
		} else {
			ev["hold_id"] = a["hold_id"]
		}
		events = append(events, ev)
	}
	if code, body := e.post("/v1/usage", e.service, map[string]any{"events": events}); code != 200 || body["accepted"] != float64(10) {
		t.Fatalf("settle: %d %v", code, body)
	}
	data, _ = e.gql(owner, `{ balance { amount held available } }`, nil)
	if dig(data, "balance", "held") != "0.00" || dig(data, "balance", "amount") != "0.251" || e.balance(ws) != "0.251" {
		t.Fatalf("after settlement: %v", data)
	}
	// A settled request id is not authorized again, and says why (409
	// request_id_finished), not "insufficient credits".
	if code, _ := e.post("/v1/authorize", e.service, map[string]any{"workspace_id": ws.String(), "model": "gpt-4o",
		"max_input_tokens": 10000, "max_output_tokens": 1000, "request_id": allowed[0]["request_id"]}); code != http.StatusConflict {
		t.Fatalf("reused request id: %d", code)
	}
	for name, body := range map[string]map[string]any{
		"no request id": {"workspace_id": ws.String(), "model": "gpt-4o", "max_input_tokens": 1},
		"unknown model": {"workspace_id": ws.String(), "model": "gpt-99", "max_input_tokens": 1, "request_id": "x"},
		"negative":      {"workspace_id": ws.String(), "model": "gpt-4o", "max_input_tokens": -1, "request_id": "y"},
	} {
		if code, _ := e.post("/v1/authorize", e.service, body); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, code)
		}
	}
}

const usageQuery = `query($from: Time!, $to: Time!, $by: [UsageGroupBy!]!) { usage(from: $from, to: $to, groupBy: $by) {
	day model requests inputTokens outputTokens cachedInputTokens traces cost } }`

func TestUsage_SummaryMatchesTheLedgerAndStaysInTheWorkspace(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("100")
	other, otherOwner := e.workspace("100")
	now := time.Now().UTC()
	yesterday := now.Add(-24 * time.Hour)
	var events []any
	for i := 0; i < 30; i++ {
		ev := usageEvent(ws, fmt.Sprint("u", i), int64(1000+i))
		ev["input_tokens"], ev["cached_input_tokens"], ev["traces"] = 500, 100, 1
		if i%3 == 0 {
			ev["model"] = "claude-sonnet-4-5"
		}
		if i%2 == 0 {
			ev["occurred_at"] = yesterday.Format(time.RFC3339)
		}
		events = append(events, ev)
	}
	if code, body := e.post("/v1/usage", e.service, map[string]any{"events": events}); code != 200 || body["accepted"] != float64(30) {
		t.Fatalf("usage: %d %v", code, body)
	}
	if code, _ := e.post("/v1/usage", e.service, map[string]any{"events": []any{usageEvent(other, "o1", 5000)}}); code != 200 {
		t.Fatal(code)
	}
	vars := func(by ...string) map[string]any {
		if by == nil {
			by = []string{}
		}
		return map[string]any{"from": yesterday.Format(time.RFC3339), "to": now.Format(time.RFC3339), "by": by}
	}
	data, codes := e.gql(owner, usageQuery, vars())
	if len(codes) != 0 {
		t.Fatal(codes)
	}
	total := data["usage"].([]any)
	var ledger string
	if err := e.db.SQL.QueryRow(`SELECT (-sum(amount))::text FROM ledger_entries WHERE workspace_id = $1 AND kind IN ('usage', 'tracing')`, ws).Scan(&ledger); err != nil {
		t.Fatal(err)
	}
	row := total[0].(map[string]any)
	if len(total) != 1 || row["requests"] != float64(30) || row["traces"] != float64(30) || row["inputTokens"] != float64(15000) {
		t.Fatalf("total: %v", total)
	}
	ledgerCost := e.amount(ledger)
	if row["cost"] != ledgerCost {
		t.Fatalf("usage cost %v != ledger usage deductions %s", row["cost"], ledgerCost)
	}
	byBoth, _ := e.gql(owner, usageQuery, vars("DAY", "MODEL"))
	if rows := byBoth["usage"].([]any); len(rows) != 4 {
		t.Fatalf("by day and model: %v", rows)
	}
	byModel, _ := e.gql(owner, usageQuery, vars("MODEL"))
	for _, r := range byModel["usage"].([]any) {
		if m := r.(map[string]any); m["day"] != nil || (m["model"] != "gpt-4o" && m["model"] != "claude-sonnet-4-5") {
			t.Fatalf("by model row %v", m)
		}
	}
	// The other workspace sees only its own event.
	data, _ = e.gql(otherOwner, usageQuery, vars())
	if rows := data["usage"].([]any); len(rows) != 1 || rows[0].(map[string]any)["requests"] != float64(1) {
		t.Fatalf("other workspace: %v", rows)
	}
	for name, v := range map[string]map[string]any{
		"to before from": {"from": now.Format(time.RFC3339), "to": yesterday.Format(time.RFC3339), "by": []string{}},
		"over 400 days":  {"from": now.AddDate(-2, 0, 0).Format(time.RFC3339), "to": now.Format(time.RFC3339), "by": []string{"DAY"}},
	} {
		if _, codes := e.gql(owner, usageQuery, v); !slices.Equal(codes, []string{"BAD_USER_INPUT"}) {
			t.Errorf("%s: %v", name, codes)
		}
	}
}

// amount formats a decimal from Postgres (nano-dollars as text) like the API.
func (e *env) amount(nanos string) string {
	var n int64
	fmt.Sscan(nanos, &n)
	return fmt.Sprint(moneyString(n))
}
