package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

// PgbenchResult is the two baselines, run on the same Postgres with the
// same client count and duration as the ingestion scenarios.
type PgbenchResult struct {
	Scale       int     `json:"scale"`
	Clients     int     `json:"clients"`
	Seconds     int     `json:"seconds"`
	TPCBLikeTPS float64 `json:"tpcb_like_tps"`
	HotRowTPS   float64 `json:"hot_row_tps"`
}

// hotRowScript is the naive "one transaction per deduction" for one busy
// workspace: lock and update its single balance row, append a history row.
const hotRowScript = `BEGIN;
UPDATE hot SET balance = balance - 1 WHERE id = 1;
INSERT INTO hot_history (amount) VALUES (1);
END;
`

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)

// errNoPgbench marks a machine without pgbench (tolerated in -short).
var errNoPgbench = errors.New("pgbench is not installed")

// pgbench runs, in a scratch database: the standard tpcb-like mix over
// `-s scale` branches, then hotRowScript against a one-row table.
func (h *harness) pgbench(ctx context.Context) (PgbenchResult, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return PgbenchResult{}, errNoPgbench
	}
	res := PgbenchResult{Scale: h.cfg.PgbenchScale, Clients: h.cfg.Clients,
		Seconds: max(1, int(math.Ceil(h.cfg.Duration.Seconds())))} // -T takes whole seconds
	dsn, err := h.createDatabase(ctx, "credits_pgbench_")
	if err != nil {
		return res, err
	}
	if out, err := exec.CommandContext(ctx, bin, "-i", "-q", "-s", strconv.Itoa(res.Scale), dsn).CombinedOutput(); err != nil {
		return res, fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	// One pgbench thread per core of the 2-core reference machine, never
	// more threads than clients.
	common := []string{"-c", strconv.Itoa(res.Clients), "-j", strconv.Itoa(min(2, res.Clients)), "-T", strconv.Itoa(res.Seconds)}
	if res.TPCBLikeTPS, err = runPgbench(ctx, bin, append([]string{"-b", "tpcb-like"}, common...), dsn); err != nil {
		return res, err
	}
	if err := execOn(ctx, dsn, `CREATE TABLE hot (id int PRIMARY KEY, balance bigint NOT NULL);
		INSERT INTO hot VALUES (1, 0);
		CREATE TABLE hot_history (id bigserial PRIMARY KEY, amount bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return res, fmt.Errorf("hot-row tables: %w", err)
	}
	script := filepath.Join(h.tmp, "hot-row.sql")
	if err := os.WriteFile(script, []byte(hotRowScript), 0o644); err != nil {
		return res, err
	}
	// -n: without it pgbench would vacuum its own (here absent) tables first.
	res.HotRowTPS, err = runPgbench(ctx, bin, append([]string{"-n", "-f", script}, common...), dsn)
	return res, err
}

// runPgbench runs one benchmark and reads its "tps = …" line.
func runPgbench(ctx context.Context, bin string, args []string, dsn string) (float64, error) {
	out, err := exec.CommandContext(ctx, bin, append(args, dsn)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench %v: %v\n%s", args, err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench %v: no tps line in\n%s", args, out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
