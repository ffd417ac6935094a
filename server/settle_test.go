package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/airouter/credits/app"
	"github.com/airouter/credits/pgtest"
)

// A report spread over more workspaces than UsageDeferWorkspaces reaches
// balances at the next settlement, not in its own transaction: the
// subscription pushes the settled balance, the gate then blocks the
// workspace it emptied, and /metrics counts the settlement.
func TestUsage_SpreadReportBlocksAtTheNextSettlement(t *testing.T) {
	e := newEnvWith(t, pgtest.New(t), func(o *app.Options) {
		o.Billing.UsageDeferWorkspaces = 2
		o.SettleInterval = 50 * time.Millisecond
	})
	ws, owner := e.workspace("0.01")
	other1, _ := e.workspace("1")
	other2, _ := e.workspace("1")
	sub, err := e.subscribe(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.close()
	// 1,000 gpt-4o output tokens cost exactly $0.01.
	code, body := e.post("/v1/usage", e.service, map[string]any{"events": []any{usageEvent(ws, "e1", 1000), usageEvent(other1, "e1", 10),
		usageEvent(other2, "e1", 10)}})
	if code != http.StatusOK || body["accepted"] != float64(3) {
		t.Fatalf("usage: %d %v", code, body)
	}
	if m := sub.waitFor(t, "0.00"); m["blocked"] != true {
		t.Fatalf("pushed %v, want blocked", m)
	}
	code, body = e.post("/v1/authorize", e.service, map[string]string{"workspace_id": ws.String()})
	if code != http.StatusPaymentRequired {
		t.Fatalf("authorize after settlement: %d %v", code, body)
	}
	if e.balance(ws) != "0.00" || e.balance(other1) != "0.9999" {
		t.Fatalf("balances %s, %s", e.balance(ws), e.balance(other1))
	}
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "credits_usage_settled_batches_total 1\n") || !strings.Contains(string(b), "credits_usage_settle_lag_seconds ") {
		t.Fatalf("metrics lack the settlement:\n%s", b)
	}
}
