package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbench runs the two baselines in a scratch database of the same
// Postgres with the same client count and duration: the standard
// tpcb-like mix (many accounts) and a custom script that, per transaction,
// updates ONE row and inserts one history row: the naive "one transaction
// per deduction" rate for a single busy workspace.
func (h *harness) pgbench(ctx context.Context) (tpcb, hotRow float64, err error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return 0, 0, fmt.Errorf("pgbench not installed: %w", err)
	}
	name := "credits_pgbench_" + randomSuffix()
	if err := h.admin(ctx, "CREATE DATABASE "+name); err != nil {
		return 0, 0, err
	}
	defer h.admin(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
	url := withDatabase(h.adminURL, name)
	if out, err := exec.CommandContext(ctx, bin, "-i", "-q", "-s", "10", url).CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("pgbench -i: %v\n%s", err, out)
	}
	secs := strconv.Itoa(int(h.cfg.Duration.Seconds()))
	clients := strconv.Itoa(h.cfg.Clients)
	run := func(args ...string) (float64, error) {
		out, err := exec.CommandContext(ctx, bin, append(args, "-n", "-c", clients, "-j", "2", "-T", secs, url)...).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("pgbench %v: %v\n%s", args, err, out)
		}
		m := tpsLine.FindSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("pgbench: no tps in\n%s", out)
		}
		return strconv.ParseFloat(string(m[1]), 64)
	}
	if tpcb, err = run("-b", "tpcb-like"); err != nil {
		return 0, 0, err
	}
	if err := h.adminOn(ctx, url, `CREATE TABLE hot (id int PRIMARY KEY, balance bigint NOT NULL);
		INSERT INTO hot VALUES (1, 0);
		CREATE TABLE hot_history (id bigserial PRIMARY KEY, amount bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, 0, err
	}
	script := filepath.Join(os.TempDir(), "hot-row-"+randomSuffix()+".sql")
	if err := os.WriteFile(script, []byte("BEGIN;\nUPDATE hot SET balance = balance - 1 WHERE id = 1;\nINSERT INTO hot_history (amount) VALUES (1);\nEND;\n"), 0o644); err != nil {
		return 0, 0, err
	}
	defer os.Remove(script)
	hotRow, err = run("-f", script)
	return tpcb, hotRow, err
}
