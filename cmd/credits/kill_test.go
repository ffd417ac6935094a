package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/money"
	"github.com/airouter/credits/pgtest"
)

// TestServe_KillNineLosesNoAcknowledgedEvent runs the real binary under a
// usage load, kills it with SIGKILL mid-load, and checks that every event
// acknowledged with a 200 is in the ledger exactly once, that the ledger
// invariant holds, and that after a restart the router's retries of every
// event (acknowledged or not) settle to exactly one charge each.
func TestServe_KillNineLosesNoAcknowledgedEvent(t *testing.T) {
	killNineUnderLoad(t, 1)
}

// TestServe_KillNineLosesNoDeferredUsage is the same with each report
// spread over 100 workspaces, so that most group transactions defer their
// balance moves to the settler (over 64 workspaces): at the kill, what the
// balances lack must be exactly what the pending accruals hold, and the
// restarted server settles it.
func TestServe_KillNineLosesNoDeferredUsage(t *testing.T) {
	killNineUnderLoad(t, 100)
}

func killNineUnderLoad(t *testing.T, workspaces int) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	db := pgtest.New(t)
	bin := filepath.Join(t.TempDir(), "credits")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx := context.Background()
	svc := billing.New(db.SQL, nil, billing.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ws := make([]uuid.UUID, workspaces)
	for i := range ws {
		var err error
		if ws[i], err = svc.CreateWorkspace(ctx, "load", "enterprise"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Grant(ctx, ws[i], money.Dollars(1000), "load test", ""); err != nil {
			t.Fatal(err)
		}
	}
	token, _, err := auth.NewTokens(db.Ent).Create(ctx, uuid.Nil, auth.RoleService, nil)
	if err != nil {
		t.Fatal(err)
	}

	var serverLog syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", serverLog.String())
		}
	})
	start := func() (*exec.Cmd, string) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+db.URL, "ADDR="+addr, "LOG_LEVEL=error", "STRIPE_SECRET_KEY=")
		cmd.Stderr = &serverLog // the errors behind a 503, should a step fail
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		base := "http://" + addr
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if resp, err := http.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd, base
				}
			}
		}
		t.Fatal("server did not become ready")
		return nil, ""
	}
	post := func(base string, events []map[string]any) (int, error) {
		body, _ := json.Marshal(map[string]any{"events": events})
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/usage", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var res struct{ Accepted, Duplicates int }
		json.NewDecoder(resp.Body).Decode(&res) //nolint:errcheck // status says enough
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return res.Accepted + res.Duplicates, nil
	}
	batch := func(worker, n int) []map[string]any {
		events := make([]map[string]any, 50)
		for i := range events {
			events[i] = map[string]any{"id": fmt.Sprintf("w%d-b%d-e%d", worker, n, i), "workspace_id": ws[(worker*13+n*7+i)%len(ws)].String(), "model": "gpt-4o-mini",
				"input_tokens": 1000 + i, "output_tokens": 100, "occurred_at": time.Now().UTC().Format(time.RFC3339Nano)}
		}
		return events
	}

	server, base := start()
	var mu sync.Mutex
	acked := map[string]bool{}
	var sent [][]map[string]any
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				events := batch(w, n)
				mu.Lock()
				sent = append(sent, events)
				mu.Unlock()
				if _, err := post(base, events); err != nil {
					return // the server is gone
				}
				mu.Lock()
				for _, ev := range events {
					acked[ev["id"].(string)] = true
				}
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	server.Wait() //nolint:errcheck // killed
	close(stop)
	wg.Wait()

	found := map[string]bool{}
	rows, err := db.SQL.Query(`SELECT event_id FROM usage_events WHERE workspace_id = ANY($1)`, pq.Array(ws))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id) //nolint:errcheck
		found[id] = true
	}
	rows.Close()
	missing := 0
	for id := range acked {
		if !found[id] {
			missing++
		}
	}
	pending := checkInvariant(t, db, ws)
	t.Logf("kill -9 under load (%d workspaces, %d accruals pending):", len(ws), pending)
	t.Logf("kill -9 under load: %d events acknowledged, %d found in the ledger, %d acknowledged but missing",
		len(acked), len(found), missing)
	if len(acked) == 0 || missing != 0 {
		t.Fatalf("%d of %d acknowledged events lost", missing, len(acked))
	}

	// Restart; the router retries everything it sent: each event is charged once.
	server, base = start()
	defer func() { server.Process.Signal(syscall.SIGTERM); server.Wait() }() //nolint:errcheck
	total, unavailable := 0, 0
	for _, events := range sent {
		// As the router does: a 503 ("not recorded, retry the batch") is
		// retried; the batch is charged once whichever attempt lands.
		n, err := post(base, events)
		for attempt := 0; err != nil && strings.Contains(err.Error(), "503") && attempt < 5; attempt++ {
			unavailable++
			time.Sleep(200 * time.Millisecond)
			n, err = post(base, events)
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if unavailable > 0 {
		t.Logf("%d retries after a 503 while the restarted server settled; server log:\n%s", unavailable, serverLog.String())
	}
	var count int
	if err := db.SQL.QueryRow(`SELECT count(*) FROM usage_events WHERE workspace_id = ANY($1)`, pq.Array(ws)).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != len(sent)*50 || total != count {
		t.Fatalf("after retries: %d events recorded, %d answered, want %d", count, total, len(sent)*50)
	}
	// The restarted server settles what the killed one left, within a
	// settle interval (1 s) of starting.
	for deadline := time.Now().Add(15 * time.Second); checkInvariant(t, db, ws) > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("accruals still pending 15 s after the restart")
		}
	}
}

// checkInvariant checks, for each workspace, balance == sum(ledger) ==
// initial − sum(event costs) + what its pending accruals have yet to
// deduct (all of it in one snapshot), and returns how many accruals are
// pending.
func checkInvariant(t *testing.T, db *pgtest.DB, ws []uuid.UUID) (pending int) {
	t.Helper()
	rows, err := db.SQL.Query(`SELECT w.id, w.balance, (SELECT sum(amount) FROM ledger_entries WHERE workspace_id = w.id),
		(SELECT COALESCE(sum(cost + trace_cost), 0) FROM usage_events WHERE workspace_id = w.id),
		(SELECT COALESCE(sum(x.u + x.t), 0) FROM usage_accruals a, unnest(a.workspaces, a.usage, a.tracing) AS x(w, u, t) WHERE x.w = w.id),
		(SELECT count(*) FROM usage_accruals)
		FROM workspaces w WHERE w.id = ANY($1)`, pq.Array(ws))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var id uuid.UUID
		var balance, ledger, costs, unsettled int64
		if err := rows.Scan(&id, &balance, &ledger, &costs, &unsettled, &pending); err != nil {
			t.Fatal(err)
		}
		if balance != ledger || balance != int64(money.Dollars(1000))-costs+unsettled {
			t.Fatalf("workspace %s: balance %d, ledger %d, 1000 USD − costs + unsettled %d", id, balance, ledger,
				int64(money.Dollars(1000))-costs+unsettled)
		}
		checked++
	}
	if err := rows.Err(); err != nil || checked != len(ws) {
		t.Fatalf("checked %d of %d workspaces: %v", checked, len(ws), err)
	}
	return pending
}

// syncBuffer is a bytes.Buffer safe for a child process's output and the test.
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
