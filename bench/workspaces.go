package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// initialUSD is every bench workspace's starting balance, in whole
// dollars for the CLI; initialBalance is the same in nano-dollars.
const (
	initialUSD     = 1_000_000
	initialBalance = int64(initialUSD) * 1_000_000_000
)

// cliParallel bounds concurrent CLI processes: each is a process start
// plus a database connection, so a few at once hide the latency without
// swamping two cores.
const cliParallel = 4

// createWorkspaces makes the scenarios' workspaces: the hot one and the
// hundred through the CLI, as an operator would; the many straight in SQL
// (10,000 CLI calls would take minutes). Then it records every balance as
// the initial one the invariant check compares against.
func (h *harness) createWorkspaces(ctx context.Context) error {
	cfg := h.cfg
	var err error
	if cfg.has(scIngest1) || cfg.has(scGraphQL) {
		var owners []string
		if h.hot, owners, err = h.cliWorkspaces(ctx, "bench-hot", 1); err != nil {
			return err
		}
		h.owner = owners[0]
	}
	if cfg.has(scIngest100) || cfg.has(scAuth) {
		if h.hundred, _, err = h.cliWorkspaces(ctx, "bench-100", 100); err != nil {
			return err
		}
	}
	if cfg.has(scIngestMany) {
		if h.many, err = h.sqlWorkspaces(ctx, "bench-many", cfg.ManyWorkspaces); err != nil {
			return err
		}
	}
	var tok struct{ Token string }
	out, err := h.cli(ctx, "token", "create", "--role", "service", "--json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, &tok); err != nil || tok.Token == "" {
		return fmt.Errorf("token create: unexpected output %q", out)
	}
	h.service = tok.Token
	return h.snapshotBalances(ctx)
}

// cliWorkspaces creates n enterprise workspaces with `credits workspace
// create` and funds each with `credits credits grant`; it returns their
// ids and owner tokens in name order.
func (h *harness) cliWorkspaces(ctx context.Context, prefix string, n int) (ids, owners []string, err error) {
	ids, owners = make([]string, n), make([]string, n)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, cliParallel)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	for i := range n {
		if failed() {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, owner, err := h.cliWorkspace(ctx, fmt.Sprintf("%s-%03d", prefix, i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			ids[i], owners[i] = id, owner
		}()
	}
	wg.Wait()
	return ids, owners, first
}

func (h *harness) cliWorkspace(ctx context.Context, name string) (id, owner string, err error) {
	out, err := h.cli(ctx, "workspace", "create", "--name", name, "--plan", "enterprise", "--json")
	if err != nil {
		return "", "", err
	}
	var ws struct {
		WorkspaceID string `json:"workspace_id"`
		Token       string `json:"token"`
	}
	if err := json.Unmarshal(out, &ws); err != nil || ws.WorkspaceID == "" || ws.Token == "" {
		return "", "", fmt.Errorf("workspace create: unexpected output %q", out)
	}
	if _, err := h.cli(ctx, "credits", "grant", "--workspace", ws.WorkspaceID, "--amount", fmt.Sprint(initialUSD), "--reason", "bench", "--confirm-large"); err != nil {
		return "", "", err
	}
	return ws.WorkspaceID, ws.Token, nil
}

// sqlWorkspaces inserts n enterprise workspaces in one statement, each
// with its initial balance AND the matching adjustment ledger entry (what
// `credits grant` writes), so balance == sum(ledger) holds from the start.
func (h *harness) sqlWorkspaces(ctx context.Context, prefix string, n int) ([]string, error) {
	rows, err := h.db.QueryContext(ctx, `WITH ws AS (
			INSERT INTO workspaces (id, name, plan_id, balance, balance_version, balance_updated_at, created_at)
			SELECT gen_random_uuid(), $3 || '-' || lpad(g::text, 5, '0'), 'enterprise', $1, 1, now(), now()
			FROM generate_series(1, $2) AS g
			RETURNING id, name),
		ledger AS (
			INSERT INTO ledger_entries (workspace_id, kind, amount, balance_after, reference, description, created_at)
			SELECT id, 'adjustment', $1, $1, 'bench-initial', 'bench', now() FROM ws)
		SELECT id FROM ws ORDER BY name`, initialBalance, n, prefix)
	if err != nil {
		return nil, fmt.Errorf("insert workspaces: %w", err)
	}
	defer rows.Close()
	ids := make([]string, 0, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("inserted %d workspaces, want %d", len(ids), n)
	}
	return ids, nil
}

// snapshotBalances records every workspace's balance before any load and
// checks each starts funded as intended.
func (h *harness) snapshotBalances(ctx context.Context) error {
	rows, err := h.db.QueryContext(ctx, `SELECT id::text, balance FROM workspaces`)
	if err != nil {
		return err
	}
	defer rows.Close()
	h.initial = map[string]int64{}
	for rows.Next() {
		var id string
		var balance int64
		if err := rows.Scan(&id, &balance); err != nil {
			return err
		}
		if balance != initialBalance {
			return fmt.Errorf("workspace %s starts with %d nano-dollars, want %d", id, balance, initialBalance)
		}
		h.initial[id] = balance
	}
	return rows.Err()
}

// Invariant is the ledger check over every workspace of the bench database.
type Invariant struct {
	Checked  int      `json:"workspaces_checked"`
	Failed   int      `json:"workspaces_failed"`
	OK       bool     `json:"ok"`
	Examples []string `json:"failures,omitempty"` // the first few failures
}

// waitSettled waits until the server has settled every deferred usage
// batch (billing/settle.go), which it does every second.
func (h *harness) waitSettled(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		var pending int
		if err := h.db.QueryRowContext(ctx, `SELECT count(*) FROM usage_accruals`).Scan(&pending); err != nil {
			return fmt.Errorf("pending accruals: %w", err)
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d usage accruals still unsettled after a minute", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkInvariant verifies, for every workspace, balance == sum(ledger)
// and balance == initial − sum(cost + trace_cost of its usage events),
// leaving out the prefilled events (never charged).
// One statement, so one snapshot: a commit landing meanwhile is either
// wholly in it or wholly out.
func (h *harness) checkInvariant(ctx context.Context) (Invariant, error) {
	rows, err := h.db.QueryContext(ctx, `SELECT w.id::text, w.balance, COALESCE(l.total, 0), COALESCE(e.total, 0)
		FROM workspaces w
		LEFT JOIN (SELECT workspace_id, sum(amount)::bigint AS total FROM ledger_entries GROUP BY workspace_id) l ON l.workspace_id = w.id
		LEFT JOIN (SELECT workspace_id, sum(cost + trace_cost)::bigint AS total FROM usage_events WHERE batch <> $1 GROUP BY workspace_id) e
			ON e.workspace_id = w.id`, prefillBatch)
	if err != nil {
		return Invariant{}, fmt.Errorf("invariant query: %w", err)
	}
	defer rows.Close()
	var inv Invariant
	for rows.Next() {
		var id string
		var balance, ledger, charged int64
		if err := rows.Scan(&id, &balance, &ledger, &charged); err != nil {
			return Invariant{}, err
		}
		inv.Checked++
		initial, known := h.initial[id]
		if !known || balance != ledger || balance != initial-charged {
			inv.Failed++
			inv.Examples = append(inv.Examples, fmt.Sprintf("%s: balance %d, ledger sum %d, initial %d (known %v) − charged %d",
				id, balance, ledger, initial, known, charged))
		}
	}
	if err := rows.Err(); err != nil {
		return Invariant{}, err
	}
	sort.Strings(inv.Examples)
	if len(inv.Examples) > 5 {
		inv.Examples = inv.Examples[:5]
	}
	inv.OK = inv.Failed == 0 && inv.Checked == len(h.initial) && inv.Checked > 0
	return inv, nil
}
