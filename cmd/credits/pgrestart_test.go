package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/airouter/credits/auth"
	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/ent"
	"github.com/airouter/credits/migrations"
	"github.com/airouter/credits/money"
)

// privatePostgres runs a Postgres server of this test's own (initdb into a
// temp dir), so it can be stopped and started without disturbing others.
type privatePostgres struct {
	t          *testing.T
	dir, port  string
	pgCtl      string
	runAsOther bool
}

func findPostgresBin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1]
	}
	return ""
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	initdb, pgCtl := findPostgresBin("initdb"), findPostgresBin("pg_ctl")
	if initdb == "" || pgCtl == "" {
		t.Skip("initdb/pg_ctl not installed: the Postgres restart test needs the server binaries")
	}
	dir, err := os.MkdirTemp("", "credits-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{t: t, dir: dir, pgCtl: pgCtl, runAsOther: os.Geteuid() == 0}
	if p.runAsOther { // initdb refuses root
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(dir, uid, gid) //nolint:errcheck // initdb reports it
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	p.run(initdb, "-D", dir+"/data", "-U", "postgres", "--auth=trust", "-E", "UTF8")
	p.start()
	t.Cleanup(func() {
		p.run(pgCtl, "-D", dir+"/data", "-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	return p
}

func (p *privatePostgres) run(bin string, args ...string) {
	p.t.Helper()
	cmd := exec.Command(bin, args...)
	if p.runAsOther {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil && args[len(args)-1] != "stop" {
		p.t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
}

func (p *privatePostgres) start() {
	p.run(p.pgCtl, "-D", p.dir+"/data", "-l", p.dir+"/log", "-w", "-o", "-p "+p.port+" -k "+p.dir+" -c listen_addresses=127.0.0.1", "start")
}

func (p *privatePostgres) stop() { p.run(p.pgCtl, "-D", p.dir+"/data", "-m", "fast", "-w", "stop") }

func (p *privatePostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + p.port + "/postgres?sslmode=disable"
}

// TestServe_PostgresRestartDuringIngestion: while the database is down,
// usage reports fail with 503 (never a false 200); afterwards they succeed
// again, and every acknowledged event is in the ledger once.
func TestServe_PostgresRestartDuringIngestion(t *testing.T) {
	if testing.Short() {
		t.Skip("runs its own Postgres")
	}
	pg := startPrivatePostgres(t)
	db, err := sql.Open("postgres", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := migrations.Apply(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := billing.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", db)))
	svc := billing.New(db, nil, billing.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ws, err := svc.CreateWorkspace(ctx, "restart", "enterprise")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Grant(ctx, ws, money.Dollars(100), "test", ""); err != nil {
		t.Fatal(err)
	}
	token, _, err := auth.NewTokens(client).Create(ctx, uuid.Nil, auth.RoleService, nil)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "credits")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	server := exec.Command(bin, "serve")
	server.Env = append(os.Environ(), "DATABASE_URL="+pg.url(), "ADDR="+addr, "LOG_LEVEL=error", "STRIPE_SECRET_KEY=")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { server.Process.Signal(syscall.SIGTERM); server.Wait() }() //nolint:errcheck
	base := "http://" + addr
	post := func(id string) int {
		body, _ := json.Marshal(map[string]any{"events": []map[string]any{{"id": id, "workspace_id": ws.String(), "model": "gpt-4o",
			"output_tokens": 1000, "occurred_at": time.Now().UTC().Format(time.RFC3339Nano)}}})
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/usage", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(20 * time.Second); post("warmup") != 200; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("server did not come up")
		}
	}
	acked := []string{"warmup"}
	pg.stop()
	down := map[int]int{}
	for i := 0; i < 5; i++ {
		down[post(fmt.Sprint("down-", i))]++
	}
	if down[200] != 0 || down[503] == 0 {
		t.Fatalf("while Postgres was down: %v (want only 503s, or 401/connection errors)", down)
	}
	pg.start()
	ok := 0
	for deadline := time.Now().Add(30 * time.Second); ok < 5 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		id := fmt.Sprint("up-", ok)
		if post(id) == 200 {
			acked = append(acked, id)
			ok++
		}
	}
	if ok < 5 {
		t.Fatal("ingestion did not resume after Postgres came back")
	}
	for _, id := range acked {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM usage_events WHERE workspace_id = $1 AND event_id = $2`, ws, id).Scan(&n); err != nil || n != 1 {
			t.Fatalf("acknowledged event %s recorded %d times (%v)", id, n, err)
		}
	}
	var balance, ledger int64
	if err := db.QueryRow(`SELECT balance, (SELECT sum(amount) FROM ledger_entries WHERE workspace_id = $1) FROM workspaces WHERE id = $1`, ws).Scan(&balance, &ledger); err != nil || balance != ledger {
		t.Fatalf("balance %d, ledger %d (%v)", balance, ledger, err)
	}
	t.Logf("Postgres down: answers %v; after restart %d reports acknowledged, all recorded once", down, ok)
}
