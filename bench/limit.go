package main

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/airouter/credits/billing"
	"github.com/airouter/credits/migrations"
	"github.com/airouter/credits/partitions"
)

// limitScript is the service's ideal usage transaction (see the file).
//
//go:embed limit.sql
var limitScript string

// limitSpreadScript is the same for events spread over many workspaces,
// one ledger row and one balance update per workspace (see the file).
//
//go:embed limit_spread.sql
var limitSpreadScript string

// limitEventsPerTx is how many events limitScript inserts per transaction.
const limitEventsPerTx = 1000

// LimitResult is the physical limit: limitScript run by pgbench on a
// scratch database built by the service's own migrations, with one client
// (the service commits usage through one committer too), for one workspace
// and for ManyWorkspaces (a random one per transaction).
type LimitResult struct {
	Seconds      int     `json:"seconds"`
	Workspaces   int     `json:"many_workspaces"`
	EventsPS1    float64 `json:"events_per_s_1_workspace"`
	EventsPSMany float64 `json:"events_per_s_many_workspaces"`
	// EventsPSSpread is the many-workspace load as the service gets it:
	// each transaction's events over 1,000 workspaces (limit_spread.sql).
	EventsPSSpread float64 `json:"events_per_s_spread"`
}

// limit measures LimitResult on a scratch database.
func (h *harness) limit(ctx context.Context) (LimitResult, error) {
	dsn, err := h.createDatabase(ctx, "credits_limit_")
	if err != nil {
		return LimitResult{}, err
	}
	if err := prepareLimitDatabase(ctx, dsn, h.cfg.ManyWorkspaces, time.Now()); err != nil {
		return LimitResult{}, err
	}
	return h.runLimit(ctx, dsn)
}

// limitAfterPrefill measures LimitResult on the bench's own database after
// the prefill, with the limit's workspaces added to it: the same scripts
// against the grown table, the control for the service's growth ratio.
func (h *harness) limitAfterPrefill(ctx context.Context) (LimitResult, error) {
	if err := addLimitWorkspaces(ctx, h.db, h.cfg.ManyWorkspaces); err != nil {
		return LimitResult{}, err
	}
	if _, err := h.db.ExecContext(ctx, `ANALYZE workspaces`); err != nil {
		return LimitResult{}, err
	}
	res, err := h.runLimit(ctx, h.dbURL)
	if err != nil {
		return res, err
	}
	return res, removeLimitWorkspaces(ctx, h.db)
}

// removeLimitWorkspaces deletes the limit's workspaces and what the
// scripts wrote for them: hand-written transactions, not the service's,
// so the ledger invariant and the storage figures cover the service's
// workspaces only.
func removeLimitWorkspaces(ctx context.Context, db *sql.DB) error {
	const ids = `SELECT id FROM workspaces WHERE name LIKE 'limit-%' AND id::text LIKE '00000000-0000-4000-8000-%'`
	for _, table := range []string{"usage_events", "ledger_entries"} {
		if _, err := db.ExecContext(ctx, `DELETE FROM `+table+` WHERE workspace_id IN (`+ids+`)`); err != nil {
			return fmt.Errorf("remove the limit's %s: %w", table, err)
		}
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM workspaces WHERE id IN (`+ids+`)`); err != nil {
		return fmt.Errorf("remove the limit's workspaces: %w", err)
	}
	return nil
}

// runLimit runs the limit scripts by pgbench against the database at dsn,
// which has the limit's workspaces.
func (h *harness) runLimit(ctx context.Context, dsn string) (LimitResult, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return LimitResult{}, errNoPgbench
	}
	res := LimitResult{Seconds: max(1, int(h.cfg.Duration.Seconds())), Workspaces: h.cfg.ManyWorkspaces}
	script, spread := filepath.Join(h.tmp, "limit.sql"), filepath.Join(h.tmp, "limit_spread.sql")
	if err := os.WriteFile(script, []byte(limitScript), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(spread, []byte(limitSpreadScript), 0o644); err != nil {
		return res, err
	}
	for _, run := range []struct {
		script     string
		workspaces int
		into       *float64
	}{{script, 1, &res.EventsPS1}, {script, res.Workspaces, &res.EventsPSMany}, {spread, res.Workspaces, &res.EventsPSSpread}} {
		tps, err := runPgbench(ctx, bin, []string{"-n", "-f", run.script, "-D", "workspaces=" + strconv.Itoa(run.workspaces),
			"-c", "1", "-j", "1", "-T", strconv.Itoa(res.Seconds)}, dsn)
		if err != nil {
			return res, err
		}
		*run.into = tps * limitEventsPerTx
	}
	return res, nil
}

// prepareLimitDatabase migrates and seeds the scratch database as the
// service does and adds n funded workspaces with the ids limitScript uses.
func prepareLimitDatabase(ctx context.Context, dsn string, n int, now time.Time) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Apply(ctx, db); err != nil {
		return err
	}
	if err := partitions.Maintain(ctx, db, now, retention); err != nil {
		return err
	}
	if err := billing.Seed(ctx, db); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := addLimitWorkspaces(ctx, db, n); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `ANALYZE`)
	return err
}

// addLimitWorkspaces adds n funded workspaces with the ids the limit
// scripts use.
func addLimitWorkspaces(ctx context.Context, db *sql.DB, n int) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO workspaces (id, name, plan_id, balance, balance_version, balance_updated_at, created_at)
		SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'limit-' || g, 'enterprise', $2, 1, now(), now()
		FROM generate_series(1, $1) AS g`, n, initialBalance); err != nil {
		return fmt.Errorf("limit workspaces: %w", err)
	}
	return nil
}
