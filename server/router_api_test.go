package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
)

func usageEvent(ws uuid.UUID, id string, out int64) map[string]any {
	return map[string]any{"id": id, "workspace_id": ws.String(), "model": "gpt-4o", "input_tokens": 0,
		"output_tokens": out, "cached_input_tokens": 0, "traces": 0, "occurred_at": time.Now().Add(-time.Second).Format(time.RFC3339Nano)}
}

func TestAuthorize_AllowsUntilZeroThen402AndAGrantUnblocks(t *testing.T) {
	e := newEnv(t)
	ws, _ := e.workspace("0.01")
	code, body := e.post("/v1/authorize", e.service, map[string]string{"workspace_id": ws.String()})
	if code != http.StatusOK || body["allowed"] != true || body["balance"] != "0.01" {
		t.Fatalf("authorize: %d %v", code, body)
	}
	// 1,000 gpt-4o output tokens cost exactly $0.01.
	code, body = e.post("/v1/usage", e.service, map[string]any{"events": []any{usageEvent(ws, "e1", 1000)}})
	if code != http.StatusOK || body["accepted"] != float64(1) {
		t.Fatalf("usage: %d %v", code, body)
	}
	code, body = e.post("/v1/authorize", e.service, map[string]string{"workspace_id": ws.String()})
	if code != http.StatusPaymentRequired || body["allowed"] != false || body["reason"] != "insufficient_credits" {
		t.Fatalf("authorize at zero: %d %v", code, body)
	}
	if _, err := e.billing.Grant(t.Context(), ws, 5_000_000_000, "top up", ""); err != nil {
		t.Fatal(err)
	}
	code, body = e.post("/v1/authorize", e.service, map[string]string{"workspace_id": ws.String()})
	if code != http.StatusOK || body["allowed"] != true {
		t.Fatalf("authorize after grant: %d %v", code, body)
	}
}

func TestRouterSurface_OnlyServiceTokens(t *testing.T) {
	e := newEnv(t)
	ws, owner := e.workspace("1")
	member := e.token(ws, auth.RoleMember)
	body := map[string]string{"workspace_id": ws.String()}
	for name, tc := range map[string]struct {
		token string
		want  int
	}{
		"no token": {"", 401}, "malformed token": {"nope", 401}, "unknown token": {"cr_unknown", 401},
		"owner token": {owner, 403}, "member token": {member, 403},
	} {
		for _, path := range []string{"/v1/authorize", "/v1/usage"} {
			if code, _ := e.post(path, tc.token, body); code != tc.want {
				t.Errorf("%s %s: %d, want %d", name, path, code, tc.want)
			}
		}
	}
	if code, _ := e.post("/v1/authorize", e.service, map[string]string{"workspace_id": uuid.NewString()}); code != http.StatusNotFound {
		t.Errorf("unknown workspace: %d, want 404", code)
	}
}

func TestUsage_BadInputIsRejectedPerEventAndGoodEventsStillCount(t *testing.T) {
	e := newEnv(t)
	ws, _ := e.workspace("10")
	now := time.Now().Format(time.RFC3339)
	events := []any{
		usageEvent(ws, "good-1", 1000),
		map[string]any{"workspace_id": ws.String(), "model": "gpt-4o", "output_tokens": 1, "occurred_at": now},                       // missing id
		map[string]any{"id": "neg", "workspace_id": ws.String(), "model": "gpt-4o", "input_tokens": -5, "occurred_at": now},          // negative tokens
		map[string]any{"id": "ghost", "workspace_id": uuid.NewString(), "model": "gpt-4o", "output_tokens": 1, "occurred_at": now},   // unknown workspace
		map[string]any{"id": "gpt-99", "workspace_id": ws.String(), "model": "gpt-99", "output_tokens": 1, "occurred_at": now},       // unknown model
		map[string]any{"id": "types", "workspace_id": ws.String(), "model": "gpt-4o", "output_tokens": "many", "occurred_at": now},   // wrong type
		map[string]any{"id": "when", "workspace_id": ws.String(), "model": "gpt-4o", "output_tokens": 1, "occurred_at": "yesterday"}, // bad time
		usageEvent(ws, "good-2", 1000),
	}
	code, body := e.post("/v1/usage", e.service, map[string]any{"events": events})
	if code != http.StatusOK {
		t.Fatalf("usage: %d %v", code, body)
	}
	rejected, _ := body["rejected"].([]any)
	if body["accepted"] != float64(2) || len(rejected) != 6 {
		t.Fatalf("accepted %v, rejected %v; want 2 and 6", body["accepted"], rejected)
	}
	wantIDs := []string{"", "neg", "ghost", "gpt-99", "types", "when"}
	for i, r := range rejected {
		m := r.(map[string]any)
		if m["id"] != wantIDs[i] || m["error"] == "" {
			t.Errorf("rejection %d = %v, want id %q with an error", i, m, wantIDs[i])
		}
	}
	bal, _ := e.billing.GetBalance(t.Context(), ws)
	if bal.Amount.String() != "9.98" {
		t.Fatalf("balance %s, want 9.98 (two good events of $0.01)", bal.Amount)
	}

	// Whole-request problems are 4xx and change nothing.
	for name, tc := range map[string]struct {
		body any
		want int
	}{
		"malformed JSON":  {[]byte(`{"events": [`), 400},
		"not an object":   {[]byte(`[1,2]`), 400},
		"no events field": {map[string]any{}, 400},
		"oversized batch": {map[string]any{"events": make([]any, 101)}, 413},
		"huge body":       {[]byte(`{"events":["` + strings.Repeat("x", 5<<20) + `"]}`), 413},
	} {
		if code, body := e.post("/v1/usage", e.service, tc.body); code != tc.want {
			t.Errorf("%s: %d %v, want %d", name, code, body, tc.want)
		}
	}
	after, _ := e.billing.GetBalance(t.Context(), ws)
	if after.Amount != bal.Amount {
		t.Fatalf("a rejected request moved the balance to %s", after.Amount)
	}
	// Re-sending the good events is idempotent.
	code, body = e.post("/v1/usage", e.service, map[string]any{"events": []any{usageEvent(ws, "good-1", 1000), usageEvent(ws, "good-2", 1000)}})
	if code != 200 || body["accepted"] != float64(0) || body["duplicates"] != float64(2) {
		t.Fatalf("resend: %d %v", code, body)
	}
}

func TestHealthReadinessMetricsAndPlayground(t *testing.T) {
	e := newEnv(t)
	// In order: /metrics shows request durations once a request was served.
	for _, tc := range [][2]string{
		{"/healthz", `"ok"`}, {"/readyz", `"ready"`}, {"/", "graphiql"}, {"/playground", "graphiql"}, {"/metrics", "credits_http_request_duration_seconds"},
		{"/metrics", "credits_usage_redos_total 0"},
	} {
		path, want := tc[0], tc[1]
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
}
