package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"
)

// Config is one harness run.
type Config struct {
	Duration       time.Duration
	Clients        int
	Batch          int
	AuthorizeRPS   int
	BalanceRPS     int
	ManyWorkspaces int
	// AdminURL is a superuser connection to the Postgres to use; empty
	// asks scripts/postgres.sh (which finds or starts one).
	AdminURL string
}

func defaultConfig() Config {
	return Config{Duration: 15 * time.Second, Clients: 16, Batch: 100, AuthorizeRPS: 10000, BalanceRPS: 1000, ManyWorkspaces: 10000}
}

func shortConfig() Config {
	return Config{Duration: time.Second, Clients: 2, Batch: 20, AuthorizeRPS: 500, BalanceRPS: 100, ManyWorkspaces: 10}
}

// initialBalance is what every bench workspace starts with: $1,000,000.
const initialBalance = int64(1_000_000) * 1_000_000_000

// harness is the server under test and its database.
type harness struct {
	cfg      Config
	root     string // the repository
	bin      string
	adminURL string
	dbName   string
	dbURL    string
	db       *sql.DB
	server   *exec.Cmd
	base     string
	service  string // service token
	owner    string // owner token of the first workspace
	hot      []string
	hundred  []string
	many     []string
	client   *http.Client
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func randomSuffix() string {
	b := make([]byte, 5)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

// setUp builds the server, creates a fresh database with the workspaces,
// and starts the server on a free port.
func setUp(ctx context.Context, cfg Config) (*harness, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	h := &harness{cfg: cfg, root: root, adminURL: cfg.AdminURL,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}}
	if h.adminURL == "" {
		out, err := exec.CommandContext(ctx, filepath.Join(root, "scripts", "postgres.sh")).Output()
		if err != nil {
			return nil, fmt.Errorf("find Postgres: %w", err)
		}
		h.adminURL = strings.TrimSpace(string(out))
	}
	h.bin = filepath.Join(os.TempDir(), "credits-bench-"+randomSuffix())
	build := exec.CommandContext(ctx, "go", "build", "-o", h.bin, "./cmd/credits")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build: %v\n%s", err, out)
	}
	h.dbName = "credits_bench_" + randomSuffix()
	if err := h.admin(ctx, "CREATE DATABASE "+h.dbName); err != nil {
		return h, err
	}
	h.dbURL = withDatabase(h.adminURL, h.dbName)
	if out, err := h.cli(ctx, "migrate"); err != nil {
		return h, fmt.Errorf("migrate: %v\n%s", err, out)
	}
	if h.db, err = sql.Open("postgres", h.dbURL); err != nil {
		return h, err
	}
	if err := h.createWorkspaces(ctx); err != nil {
		return h, err
	}
	var tok struct{ Token string }
	out, err := h.cli(ctx, "token", "create", "--role", "service", "--json")
	if err != nil || json.Unmarshal(out, &tok) != nil {
		return h, fmt.Errorf("service token: %v %s", err, out)
	}
	h.service = tok.Token
	if out, err = h.cli(ctx, "token", "create", "--role", "owner", "--workspace", h.hot[0], "--json"); err != nil || json.Unmarshal(out, &tok) != nil {
		return h, fmt.Errorf("owner token: %v %s", err, out)
	}
	h.owner = tok.Token
	return h, h.startServer(ctx)
}

func (h *harness) admin(ctx context.Context, stmt string) error {
	db, err := sql.Open("postgres", h.adminURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

func (h *harness) cli(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+h.dbURL, "LOG_LEVEL=error", "STRIPE_SECRET_KEY=")
	return cmd.Output()
}

// createWorkspaces writes the scenarios' workspaces straight into the
// database (10,000 CLI calls would take minutes), each with its initial
// balance as a ledger entry, so balance == sum(ledger) from the start.
func (h *harness) createWorkspaces(ctx context.Context) error {
	total := 1 + 100 + h.cfg.ManyWorkspaces
	rows, err := h.db.QueryContext(ctx, `WITH ws AS (
			INSERT INTO workspaces (id, name, plan_id, balance, held, balance_version, balance_updated_at, stripe_customer_id, created_at)
			SELECT gen_random_uuid(), 'bench-' || g, 'enterprise', $1, 0, 1, now(), NULL, now() FROM generate_series(1, $2) AS g
			RETURNING id, name),
		ledger AS (
			INSERT INTO ledger_entries (workspace_id, kind, amount, balance_after, reference, description, created_at)
			SELECT id, 'adjustment', $1, $1, 'bench-initial', 'bench initial balance', now() FROM ws)
		SELECT id FROM ws ORDER BY name`, initialBalance, total)
	if err != nil {
		return fmt.Errorf("create workspaces: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if len(ids) != total {
		return fmt.Errorf("created %d workspaces, want %d", len(ids), total)
	}
	h.hot, h.hundred, h.many = ids[:1], ids[1:101], ids[101:]
	return rows.Err()
}

func (h *harness) startServer(ctx context.Context) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	h.server = exec.Command(h.bin, "serve")
	h.server.Env = append(os.Environ(), "DATABASE_URL="+h.dbURL, "ADDR="+addr, "LOG_LEVEL=error", "STRIPE_SECRET_KEY=",
		"GRAPHQL_MUTATIONS_PER_SECOND=-1")
	if err := h.server.Start(); err != nil {
		return err
	}
	h.base = "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if resp, err := http.Get(h.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("server did not become ready")
}

// peakRSS reads the server's high-water resident set size in MiB.
func (h *harness) peakRSS() float64 {
	if h.server == nil || h.server.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.server.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// tearDown stops the server (SIGTERM, then SIGKILL) and drops the database.
func (h *harness) tearDown() {
	if h.server != nil && h.server.Process != nil {
		h.server.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		done := make(chan struct{})
		go func() { h.server.Wait(); close(done) }() //nolint:errcheck
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			h.server.Process.Kill() //nolint:errcheck
		}
	}
	if h.db != nil {
		h.db.Close()
	}
	if h.dbName != "" {
		h.admin(context.Background(), "DROP DATABASE IF EXISTS "+h.dbName+" WITH (FORCE)") //nolint:errcheck
	}
	if h.bin != "" {
		os.Remove(h.bin)
	}
}

// checkInvariant verifies every workspace: balance == sum(ledger) and
// balance == initial − sum of its events' costs. It returns how many
// workspaces it checked and how many failed.
func (h *harness) checkInvariant(ctx context.Context) (checked, failed int, err error) {
	err = h.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE w.balance <> COALESCE(l.sum, 0) OR w.balance <> $1 - COALESCE(e.cost, 0))
		FROM workspaces w
		LEFT JOIN (SELECT workspace_id, sum(amount) AS sum FROM ledger_entries GROUP BY workspace_id) l ON l.workspace_id = w.id
		LEFT JOIN (SELECT workspace_id, sum(cost + trace_cost) AS cost FROM usage_events GROUP BY workspace_id) e ON e.workspace_id = w.id
		WHERE w.name LIKE 'bench-%'`, initialBalance).Scan(&checked, &failed)
	return checked, failed, err
}
