package billing_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/airouter/credits/billing"
)

func TestHolds_ExpireWithoutChargingAndSurviveARestart(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ws := f.workspace(t, "free", "1")
	clock := newTestClock()
	short := billing.New(f.db.SQL, f.sandbox, billing.Config{HoldTTL: 50 * time.Millisecond, Clock: clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := short.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Placing and expiring holds commits a new version, so the in-memory
	// gate (and, by NOTIFY, other instances and subscribers) see held.
	gate := billing.NewGate(short, time.Hour)
	gate.SetLive(true)
	if b, err := gate.Check(ctx, ws); err != nil || b.Held != 0 {
		t.Fatalf("gate before: %+v %v", b, err)
	}
	// gpt-4o, 100,001 output tokens: $1.00001 worst case > $1 balance: refused.
	if _, _, ok, err := short.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: ws, Model: "gpt-4o", MaxOutputTokens: 100_001, RequestID: "big"}); err != nil || ok {
		t.Fatalf("a hold above the balance: allowed=%v err=%v", ok, err)
	}
	h, b, ok, err := short.PlaceHold(ctx, billing.HoldRequest{WorkspaceID: ws, Model: "gpt-4o", MaxOutputTokens: 50_000, RequestID: "r1"})
	if err != nil || !ok || h.Amount.String() != "0.50" || b.Held.String() != "0.50" {
		t.Fatalf("hold: %+v %+v %v %v", h, b, ok, err)
	}
	if g, _ := gate.Check(ctx, ws); g.Held.String() != "0.50" || g.Version != b.Version {
		t.Fatalf("gate after the hold: held %s version %d, want 0.50 version %d", g.Held, g.Version, b.Version)
	}
	// A restarted process sees the hold: it lives in Postgres.
	restarted := billing.New(f.db.SQL, f.sandbox, billing.Config{Clock: clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	restartedGate := billing.NewGate(restarted, time.Hour)
	restartedGate.SetLive(true)
	if g, _ := restartedGate.Check(ctx, ws); g.Held.String() != "0.50" {
		t.Fatalf("a new gate reads held %s", g.Held)
	}
	if b, _ := restarted.GetBalance(ctx, ws); b.Held.String() != "0.50" || b.Available().String() != "0.50" {
		t.Fatalf("after restart: held %s available %s", b.Held, b.Available())
	}
	if n, err := restarted.ExpireHolds(ctx); err != nil || n != 0 {
		t.Fatalf("expired %d holds before their time: %v", n, err)
	}
	clock.Advance(50 * time.Millisecond) // exactly at expires_at: expired
	n, err := restarted.ExpireHolds(ctx)
	if err != nil || n != 1 {
		t.Fatalf("expired %d holds: %v", n, err)
	}
	b, _ = restarted.GetBalance(ctx, ws)
	if b.Held != 0 || f.assertInvariant(t, ws).String() != "1.00" {
		t.Fatalf("after expiry: held %s balance %s", b.Held, b.Amount)
	}
	if g, _ := restartedGate.Check(ctx, ws); g.Held != 0 || g.Version != b.Version {
		t.Fatalf("gate after expiry: held %s version %d, want 0 version %d", g.Held, g.Version, b.Version)
	}
	// The late usage event of an expired hold is charged as usage, once; nothing else.
	ev := event(ws, "late", "gpt-4o", 0, 1000)
	ev.RequestID = "r1"
	if res, err := restarted.IngestUsage(ctx, []billing.UsageEvent{ev}); err != nil || res.Accepted != 1 {
		t.Fatalf("late event: %+v %v", res, err)
	}
	if b, _ := restarted.GetBalance(ctx, ws); b.Held != 0 || f.assertInvariant(t, ws).String() != "0.99" {
		t.Fatalf("late event: held %s balance %s", b.Held, b.Amount)
	}
}
