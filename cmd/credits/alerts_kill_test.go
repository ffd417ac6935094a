package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/airouter/credits/alerts"
	"github.com/airouter/credits/alerts/alertstest"
	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgtest"
)

// TestServe_KillNineBetweenCommitAndDeliveryStillDeliversOnce commits a
// balance.low alert through the real binary's usage endpoint, kills the
// process with SIGKILL while its webhook is on the wire (the receiver holds
// the request unanswered), restarts it, and checks that the alert is
// delivered, acknowledged exactly once, with the same webhook-id and body.
func TestServe_KillNineBetweenCommitAndDeliveryStillDeliversOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	db := pgtest.New(t)
	bin := filepath.Join(t.TempDir(), "credits")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := billing.New(db.SQL, nil, billing.Config{}, log)
	ws, err := svc.CreateWorkspace(ctx, "Acme", "pro")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Grant(ctx, ws, money.Dollars(10), "opening", ""); err != nil {
		t.Fatal(err)
	}
	token, _, err := auth.NewTokens(db.Ent).Create(ctx, uuid.Nil, auth.RoleService, nil)
	if err != nil {
		t.Fatal(err)
	}
	settings, err := alerts.New(svc.Ledger().Ent(), alerts.Config{AllowPrivate: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	threshold := money.Dollars(5)
	if _, err := settings.SetNotificationSettings(ctx, ws, alerts.NotificationSettings{LowBalanceThreshold: &threshold}); err != nil {
		t.Fatal(err)
	}
	recv := alertstest.NewReceiver(t)
	_, secret, err := settings.CreateWebhookEndpoint(ctx, ws, recv.URL+"/credits")
	if err != nil {
		t.Fatal(err)
	}
	recv.SetSecret(secret)
	onTheWire, killed := make(chan struct{}), make(chan struct{})
	recv.Respond = func(_ string, attempt int) int {
		if attempt == 1 {
			close(onTheWire)
			<-killed // never answered: the sender is dead by then
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}

	start := func() (*exec.Cmd, string) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "serve")
		// A 1 s send timeout makes the lease of a dead worker's attempt 8 s.
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db.URL, "ADDR="+addr, "LOG_LEVEL=error", "STRIPE_SECRET_KEY=", "SMTP_URL=",
			"WEBHOOK_ALLOW_PRIVATE=true", "ALERTS_SEND_TIMEOUT=1s")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd, "http://" + addr
				}
			}
		}
		t.Fatal("server did not become ready")
		return nil, ""
	}

	server, base := start()
	body, _ := json.Marshal(map[string]any{"events": []any{map[string]any{"id": "big-call", "workspace_id": ws.String(), "model": "gpt-4o",
		"output_tokens": 600_000, "occurred_at": time.Now().UTC().Format(time.RFC3339Nano)}}}) // $6.00: 10.00 → 4.00
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/usage", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("usage: %v %v", resp, err)
	}
	resp.Body.Close()

	select {
	case <-onTheWire:
	case <-time.After(15 * time.Second):
		t.Fatal("the alert never left the first process")
	}
	if err := server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	server.Wait() //nolint:errcheck // killed
	close(killed)
	if acked := recv.Acked(); len(acked) != 0 {
		t.Fatalf("acknowledged before the restart: %v", acked)
	}

	server, _ = start()
	defer func() { server.Process.Signal(syscall.SIGTERM); server.Wait() }() //nolint:errcheck
	acked := recv.WaitAcked(t, 1, 30*time.Second)
	reqs := recv.Requests()
	if len(reqs) != 2 || reqs[0].ID != reqs[1].ID || !bytes.Equal(reqs[0].Body, reqs[1].Body) || !reqs[1].Verified || acked[reqs[1].ID] != 1 {
		t.Fatalf("requests %+v, acked %v", reqs, acked)
	}
	var events, delivered, attempts int
	// The receiver answered; the worker records the outcome right after.
	for deadline := time.Now().Add(10 * time.Second); delivered == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := db.SQL.QueryRow(`SELECT count(*) FROM alert_deliveries WHERE workspace_id = $1 AND state = 'delivered'`, ws).Scan(&delivered); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SQL.QueryRow(`SELECT (SELECT count(*) FROM alert_events WHERE workspace_id = $1),
		(SELECT count(*) FROM alert_deliveries WHERE workspace_id = $1 AND state = 'delivered'),
		(SELECT COALESCE(max(attempts), 0) FROM alert_deliveries WHERE workspace_id = $1)`, ws).Scan(&events, &delivered, &attempts); err != nil {
		t.Fatal(err)
	}
	if events != 1 || delivered != 1 || attempts != 2 {
		t.Fatalf("%d events, %d delivered, %d attempts; want 1, 1, 2", events, delivered, attempts)
	}
	t.Logf("kill -9 with the webhook on the wire: delivered after restart, webhook-id %s acknowledged once (attempt %d)", reqs[1].ID, reqs[1].Attempt)
}
