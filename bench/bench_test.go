package main

import (
	"context"
	"os"
	"testing"
)

// TestHarnessSmoke runs the harness in its short mode and checks it
// produced every figure. It asserts no speed: benchmarks measure, tests
// check that the measuring works.
func TestHarnessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and pgbench")
	}
	cfg := shortConfig()
	cfg.AdminURL = os.Getenv("TEST_DATABASE_URL")
	if cfg.AdminURL == "" {
		cfg.AdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	res, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ingest) != 3 {
		t.Fatalf("%d ingestion scenarios, want 3", len(res.Ingest))
	}
	for _, in := range res.Ingest {
		if in.EventsAccepted == 0 || in.DeductionsPS <= 0 || in.Errors != 0 {
			t.Errorf("ingestion over %d workspaces: %+v", in.Workspaces, in)
		}
	}
	if res.Authorize.AchievedRPS <= 0 || res.Authorize.Errors != 0 || res.Balance.AchievedRPS <= 0 || res.Balance.Errors != 0 {
		t.Errorf("authorize %+v, balance %+v", res.Authorize, res.Balance)
	}
	if !res.InvariantOK {
		t.Errorf("ledger invariant: %d of %d workspaces failed", res.InvariantFailed, res.InvariantChecked)
	}
	if res.PgbenchSkipped == "" && (res.TPCBLikeTPS <= 0 || res.HotRowTPS <= 0) {
		t.Errorf("pgbench figures missing: %+v", res)
	}
	if res.PeakRSSMiB <= 0 {
		t.Error("no peak RSS")
	}
	if md := res.Markdown(); len(md) == 0 {
		t.Error("empty table")
	}
}
