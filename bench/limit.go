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

	"github.com/lib/pq"

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

// limitGrowthScript is limitSpreadScript over a listed set of workspaces,
// the growth control's (see the file).
//
//go:embed limit_growth.sql
var limitGrowthScript string

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

// limit measures LimitResult on a scratch database, dropped after it so
// that no vacuum of what pgbench wrote runs inside a later measurement.
func (h *harness) limit(ctx context.Context) (LimitResult, error) {
	dsn, err := h.createDatabase(ctx, "credits_limit_")
	if err != nil {
		return LimitResult{}, err
	}
	if err := prepareLimitDatabase(ctx, dsn, h.cfg.ManyWorkspaces, time.Now()); err != nil {
		return LimitResult{}, err
	}
	lim, err := h.runLimit(ctx, dsn)
	if err != nil {
		return lim, err
	}
	return lim, h.dropDatabase(ctx, dsn)
}

// GrowthControl is how much Postgres itself slows at N events for the
// writes the service makes: limit_growth.sql by pgbench, for one workspace
// and spread over many, on a fresh database (its own workspaces) and on the
// grown one (the service's own workspaces, whose keys hold the prefilled
// history), each pair run back to back so that the machine's drift
// between them is small.
type GrowthControl struct {
	Seconds     int     `json:"seconds"`
	Workspaces  int     `json:"workspaces"`
	Empty1      float64 `json:"empty_events_per_s_1_workspace"`
	Grown1      float64 `json:"grown_events_per_s_1_workspace"`
	EmptySpread float64 `json:"empty_events_per_s_spread"`
	GrownSpread float64 `json:"grown_events_per_s_spread"`
}

// growthControl measures GrowthControl after the growth passes. It
// charges the service's workspaces outside the service, so it runs after
// the ledger check.
func (h *harness) growthControl(ctx context.Context) (GrowthControl, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return GrowthControl{}, errNoPgbench
	}
	c := GrowthControl{Seconds: max(1, int(h.cfg.Duration.Seconds())), Workspaces: len(h.many)}
	if c.Workspaces == 0 {
		return c, fmt.Errorf("the growth control needs the %s scenario's workspaces", scIngestMany)
	}
	empty, err := h.createDatabase(ctx, "credits_control_")
	if err != nil {
		return c, err
	}
	if err := prepareLimitDatabase(ctx, empty, c.Workspaces, time.Now()); err != nil {
		return c, err
	}
	limitIDs := make([]string, c.Workspaces)
	for i := range limitIDs {
		limitIDs[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1) // the limit workspaces' ids (addLimitWorkspaces)
	}
	if err := listControlWorkspaces(ctx, empty, limitIDs); err != nil {
		return c, err
	}
	if err := listControlWorkspaces(ctx, h.dbURL, h.many); err != nil {
		return c, err
	}
	script := filepath.Join(h.tmp, "limit_growth.sql")
	if err := os.WriteFile(script, []byte(limitGrowthScript), 0o644); err != nil {
		return c, err
	}
	for _, run := range []struct {
		dsn        string
		workspaces int
		into       *float64
	}{{empty, 1, &c.Empty1}, {h.dbURL, 1, &c.Grown1}, {empty, c.Workspaces, &c.EmptySpread}, {h.dbURL, c.Workspaces, &c.GrownSpread}} {
		rate, err := limitRate(ctx, bin, script, run.dsn, run.workspaces, c.Seconds)
		if err != nil {
			return c, err
		}
		*run.into = rate
	}
	return c, nil
}

// listControlWorkspaces writes bench_control_workspaces, the list
// limit_growth.sql goes through, into the database at dsn: ids numbered
// from 1 in the order given.
func listControlWorkspaces(ctx context.Context, dsn string, ids []string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_control_workspaces AS
		SELECT n::int, id::uuid FROM unnest($1::text[]) WITH ORDINALITY AS w(id, n)`, pq.Array(ids)); err != nil {
		return fmt.Errorf("control workspaces: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE bench_control_workspaces ADD PRIMARY KEY (n); ANALYZE bench_control_workspaces`); err != nil {
		return fmt.Errorf("control workspaces: %w", err)
	}
	return nil
}

// limitRate runs a limit script by pgbench with one client for seconds
// against dsn, :workspaces set, and returns its events a second.
func limitRate(ctx context.Context, bin, script, dsn string, workspaces, seconds int) (float64, error) {
	tps, err := runPgbench(ctx, bin, []string{"-n", "-f", script, "-D", "workspaces=" + strconv.Itoa(workspaces),
		"-c", "1", "-j", "1", "-T", strconv.Itoa(seconds)}, dsn)
	return tps * limitEventsPerTx, err
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
		rate, err := limitRate(ctx, bin, run.script, dsn, run.workspaces, res.Seconds)
		if err != nil {
			return res, err
		}
		*run.into = rate
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
