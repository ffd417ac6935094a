package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Results is one harness run.
type Results struct {
	At          time.Time      `json:"at"`
	Config      Config         `json:"config"`
	Ingest      []IngestResult `json:"ingest"`
	Authorize   OpenLoopResult `json:"authorize"`
	Balance     OpenLoopResult `json:"graphql_balance"`
	TPCBLikeTPS float64        `json:"pgbench_tpcb_like_tps"`
	HotRowTPS   float64        `json:"pgbench_hot_row_tps"`
	PeakRSSMiB  float64        `json:"server_peak_rss_mib"`
	// Ratios against the baselines of the same run.
	HotRatio         float64 `json:"ingest_1_workspace_over_hot_row"`
	ManyRatio        float64 `json:"ingest_many_workspaces_over_tpcb_like"`
	InvariantChecked int     `json:"invariant_workspaces_checked"`
	InvariantFailed  int     `json:"invariant_workspaces_failed"`
	InvariantOK      bool    `json:"invariant_ok"`
	PgbenchSkipped   string  `json:"pgbench_skipped,omitempty"`
}

// run is the whole harness: set up, measure, check, tear down.
func run(ctx context.Context, cfg Config) (Results, error) {
	res := Results{At: time.Now().UTC(), Config: cfg}
	h, err := setUp(ctx, cfg)
	if h != nil {
		defer h.tearDown()
	}
	if err != nil {
		return res, err
	}
	for _, ws := range [][]string{h.hot, h.hundred, h.many} {
		res.Ingest = append(res.Ingest, h.ingest(ctx, ws))
	}
	res.Authorize = h.authorize(ctx)
	res.Balance = h.balance(ctx)
	res.PeakRSSMiB = h.peakRSS()
	if res.InvariantChecked, res.InvariantFailed, err = h.checkInvariant(ctx); err != nil {
		return res, err
	}
	res.InvariantOK = res.InvariantFailed == 0 && res.InvariantChecked > 0
	tpcb, hot, err := h.pgbench(ctx)
	if err != nil {
		res.PgbenchSkipped = err.Error()
	} else {
		res.TPCBLikeTPS, res.HotRowTPS = tpcb, hot
		res.HotRatio = res.Ingest[0].DeductionsPS / hot
		res.ManyRatio = res.Ingest[2].DeductionsPS / tpcb
	}
	return res, nil
}

func (h *harness) adminOn(ctx context.Context, url, stmt string) error {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// Markdown is the results table.
func (r Results) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## credits bench — %s\n\n", r.At.Format(time.RFC3339))
	fmt.Fprintf(&b, "%d clients, batches of %d events, %s per measurement, same Postgres for all rows.\n\n", r.Config.Clients, r.Config.Batch, r.Config.Duration)
	b.WriteString("| measurement | figure | p50 ms | p99 ms | p999 ms | errors |\n|---|---:|---:|---:|---:|---:|\n")
	for _, in := range r.Ingest {
		fmt.Fprintf(&b, "| ingest, %d workspace(s): deductions/s | %.0f | %.1f | %.1f | | %d |\n", in.Workspaces, in.DeductionsPS, in.P50, in.P99, in.Errors)
	}
	fmt.Fprintf(&b, "| authorize at %d rps offered: achieved rps | %.0f | %.2f | %.2f | %.2f | %d |\n", r.Authorize.OfferedRPS, r.Authorize.AchievedRPS, r.Authorize.P50, r.Authorize.P99, r.Authorize.P999, r.Authorize.Errors)
	fmt.Fprintf(&b, "| GraphQL balance at %d rps offered: achieved rps | %.0f | %.2f | %.2f | %.2f | %d |\n", r.Balance.OfferedRPS, r.Balance.AchievedRPS, r.Balance.P50, r.Balance.P99, r.Balance.P999, r.Balance.Errors)
	if r.PgbenchSkipped == "" {
		fmt.Fprintf(&b, "| pgbench tpcb-like tps | %.0f | | | | |\n", r.TPCBLikeTPS)
		fmt.Fprintf(&b, "| pgbench hot-row (1 UPDATE + 1 INSERT per tx) tps | %.0f | | | | |\n", r.HotRowTPS)
		fmt.Fprintf(&b, "| **ratio** ingest 1 workspace ÷ hot-row | **%.1f×** | | | | |\n", r.HotRatio)
		fmt.Fprintf(&b, "| **ratio** ingest %d workspaces ÷ tpcb-like | **%.1f×** | | | | |\n", r.Ingest[2].Workspaces, r.ManyRatio)
	} else {
		fmt.Fprintf(&b, "| pgbench | skipped: %s | | | | |\n", r.PgbenchSkipped)
	}
	fmt.Fprintf(&b, "| server peak RSS, MiB | %.0f | | | | |\n", r.PeakRSSMiB)
	verdict := "PASS"
	if !r.InvariantOK {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "| ledger invariant (balance = Σ ledger = initial − Σ costs) | %s: %d workspaces, %d failed | | | | |\n", verdict, r.InvariantChecked, r.InvariantFailed)
	return b.String()
}

// Write saves the results as <timestamp>.json/.md and latest.json/.md.
func (r Results) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	stamp := r.At.Format("20060102T150405Z")
	for _, name := range []string{stamp, "latest"} {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), j, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".md"), []byte(r.Markdown()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
