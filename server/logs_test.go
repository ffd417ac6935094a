package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer collects log lines from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogs_NeverContainTokensOrCardData(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	envLog = log
	defer func() { envLog = slog.New(slog.NewTextHandler(io.Discard, nil)) }()
	e := newEnv(t)
	ws, owner := e.workspace("1")
	// Exercise what logs: auth failures, declines, 3-D Secure, bad webhooks, usage, errors.
	e.gql(owner, addCredits, purchase("10.00", "pm_card_visa", ""))
	e.gql(owner, addCredits, purchase("10.00", "pm_card_chargeDeclined", ""))
	e.gql(owner, addCredits, purchase("10.00", "pm_card_authenticationRequired", ""))
	e.gql(owner+"x", balanceQuery, nil)
	e.post("/v1/usage", e.service, map[string]any{"events": []any{usageEvent(ws, "e", 10)}})
	e.post("/v1/authorize", owner, map[string]string{"workspace_id": ws.String()})
	e.webhook([]byte(`{"id":"evt"}`), "t=1,v1=bad")
	e.gql(owner, `{ nope }`, nil)
	out := logs.String()
	if !strings.Contains(out, "SANDBOX PAYMENT PROVIDER") {
		t.Fatalf("logs were not captured: %q", out)
	}
	for _, secret := range []string{owner, e.service, strings.TrimPrefix(owner, "cr_"), "4242424242424242", "whsec_"} {
		if strings.Contains(out, secret) {
			t.Fatalf("logs contain a secret (%.12s…):\n%s", secret, out)
		}
	}
}
