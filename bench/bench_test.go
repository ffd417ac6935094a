package main

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHarnessSmoke runs the harness in its short mode and checks it
// produced every figure. It asserts no speed: a benchmark measures, this
// test checks that the measuring works.
func TestHarnessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server, runs pgbench")
	}
	cfg := shortConfig()
	cfg.AdminURL = os.Getenv("TEST_DATABASE_URL")
	if cfg.AdminURL == "" {
		cfg.AdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	cfg.Progress = testWriter{t}
	cfg.Prefill = 20_000 // growth rounds of ingestion after loading them (shortConfig: 2)
	// Stop early enough before the test deadline for run to clean up.
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-20*time.Second))
		defer cancel()
	}
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.Markdown())

	for _, name := range []string{scIngest1, scIngest100, scIngestMany} {
		in := res.ingest(name)
		if in == nil {
			t.Errorf("%s: no result", name)
			continue
		}
		if in.EventsAccepted == 0 || in.DeductionsPS <= 0 || in.P99 <= 0 || in.Errors != 0 || in.EventsRejected != 0 {
			t.Errorf("%s: %+v", name, *in)
		}
		if b := in.Background; b == nil || b.Checkpoints < 0 || b.AutovacuumRuns < 0 || b.WALBytes <= 0 || b.BlocksRead < 0 || b.BackendWrites < 0 || b.WALFullPages < 0 {
			t.Errorf("%s: Postgres's background work %+v", name, b)
		}
		if in.DedupeIndexBytes <= 0 {
			t.Errorf("%s: no dedupe index size", name)
		}
	}
	if a := res.Authorize; a == nil || a.OK == 0 || a.AchievedRPS <= 0 || a.P999 <= 0 || a.Errors != 0 || a.ChurnEvents == 0 || a.ChurnErrors != 0 {
		t.Errorf("authorize: %+v", a)
	}
	if f := res.Floor; f == nil || f.OK == 0 || f.Errors != 0 || f.P99 <= 0 || res.FloorRatio <= 0 {
		t.Errorf("floor: %+v, ratio %v", f, res.FloorRatio)
	}
	if g := res.Balance; g == nil || g.OK == 0 || g.AchievedRPS <= 0 || g.P99 <= 0 || g.Errors != 0 {
		t.Errorf("GraphQL balance: %+v", g)
	}
	// pgbench may be absent in -short; when it ran, every figure it feeds must be there.
	switch p := res.Pgbench; {
	case p == nil && res.PgbenchSkipped == "":
		t.Error("pgbench neither ran nor was skipped")
	case p != nil && (p.TPCBLikeTPS <= 0 || p.HotRowTPS <= 0 || res.HotRatio <= 0 || res.ManyRatio <= 0):
		t.Errorf("pgbench %+v, ratios %v %v", *p, res.HotRatio, res.ManyRatio)
	case p != nil && (res.Limit == nil || res.Limit.EventsPS1 <= 0 || res.Limit.EventsPSMany <= 0 || res.Limit.EventsPSSpread <= 0 || res.LimitRatioSpread <= 0 || res.LimitRatio1 <= 0 || res.LimitRatioN <= 0):
		t.Errorf("limit %+v, ratios %v %v", res.Limit, res.LimitRatio1, res.LimitRatioN)
	}
	switch p := res.Prefill; {
	case p == nil:
		t.Error("no prefill result")
	case p.Events != cfg.Prefill || p.Storage.Events < cfg.Prefill || p.Storage.BytesPerEvent <= 0 || len(p.Ingest) != 3*cfg.GrowthRounds || len(p.Baseline) != 3*cfg.GrowthRounds:
		t.Errorf("prefill %+v", *p)
	case len(p.BaselineInvariants) != cfg.GrowthRounds || slices.ContainsFunc(p.BaselineInvariants, func(inv Invariant) bool { return !inv.OK || inv.Checked != 1+100+cfg.ManyWorkspaces }):
		t.Errorf("the baseline copies' ledgers: %+v", p.BaselineInvariants)
	case len(p.pairs(scIngest1)) != cfg.GrowthRounds || p.growth(res, scIngest1, true) != median(p.pairs(scIngest1)):
		t.Errorf("growth pairs %v, ratio %v", p.pairs(scIngest1), p.growth(res, scIngest1, true))
	case p.FirstPassInvariant == nil || !p.FirstPassInvariant.OK || p.FirstPassInvariant.Checked != 1+100+cfg.ManyWorkspaces:
		t.Errorf("the first passes' ledger: %+v", p.FirstPassInvariant)
	case math.Abs(float64(p.Week.Events)-float64(cfg.Prefill)*7*24/cfg.PrefillSpan.Hours()) > 1:
		// Evenly over a span that ends when this week ends: a full week's share.
		t.Errorf("prefilled events in the week being written: %d of %d over %s", p.Week.Events, cfg.Prefill, cfg.PrefillSpan)
	case res.Limit != nil && (p.Control == nil || p.Control.Empty1 <= 0 || p.Control.Grown1 <= 0 || p.Control.EmptySpread <= 0 || p.Control.GrownSpread <= 0):
		t.Errorf("growth control: %+v", p.Control)
	default:
		for _, in := range append(append([]IngestResult{}, p.Ingest...), p.Baseline...) {
			if in.EventsAccepted == 0 || in.Errors != 0 || in.EventsRejected != 0 {
				t.Errorf("%s around the prefill: %+v", in.Scenario, in)
			}
		}
	}
	if s := res.Storage; s == nil || s.Events <= cfg.Prefill || s.BytesPerEvent <= 0 {
		t.Errorf("usage_events storage %+v", s)
	} else if p, a := res.Prefill, res.Authorize; p != nil && a != nil {
		// The grown database holds the prefill and what was written to it
		// after, not the first passes' events (they went to another).
		want := p.Events + a.ChurnEvents
		for _, in := range p.Ingest {
			want += in.EventsAccepted
		}
		if s.Events != want {
			t.Errorf("the grown database holds %d events, want %d: the prefill and the passes after it", s.Events, want)
		}
	}
	if res.PeakRSSKiB <= 0 {
		t.Error("no peak RSS")
	}
	// 1 hot + 100 + 10 workspaces, every one checked.
	if inv := res.Invariant; inv == nil || !inv.OK || inv.Checked != 1+100+cfg.ManyWorkspaces {
		t.Errorf("ledger invariant: %+v", inv)
	}
	if md := res.Markdown(); !strings.Contains(md, "PASS") || !strings.Contains(md, "existing events ÷ on an empty table") ||
		!strings.Contains(md, "Postgres's own work that ended during the pass") {
		t.Errorf("table without the invariant verdict:\n%s", md)
	}
}

// testWriter sends the harness's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestHarnessPrivateCluster: -shared-buffers runs the harness against a
// Postgres of its own with that setting, says so in the results, and
// leaves nothing running or on disk afterwards.
func TestHarnessPrivateCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("initialises and starts a Postgres cluster, builds and starts the server")
	}
	if os.Getenv("PG_ADMIN_URL") != "" {
		t.Skip("PG_ADMIN_URL is set: the harness refuses -shared-buffers with it")
	}
	if !haveInitdb() {
		t.Skip("no local Postgres binaries (initdb) to start a private cluster with")
	}
	cfg := shortConfig()
	cfg.SharedBuffers = "160MB" // not the default 128MB, so the figure shows whose setting it is
	cfg.Scenarios = []string{scIngest1}
	cfg.Progress = testWriter{t}
	var h *harness
	testHookCluster = func(hh *harness) { h = hh }
	defer func() { testHookCluster = nil }()
	res, err := run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Settings; s.SharedBuffers != "160MB" || !s.PrivatePostgres || !strings.Contains(res.Markdown(), "shared_buffers 160MB (a private cluster") {
		t.Errorf("settings %+v", s)
	}
	if in := res.ingest(scIngest1); in == nil || in.EventsAccepted == 0 || in.Errors != 0 {
		t.Errorf("ingest1 on the private cluster: %+v", in)
	}
	if h == nil || h.cluster == "" {
		t.Fatal("no private cluster was started")
	}
	if _, err := os.Stat(h.cluster); !os.IsNotExist(err) {
		t.Errorf("the cluster's directory %s is still there: %v", h.cluster, err)
	}
	if err := execOn(t.Context(), h.adminURL, "SELECT 1"); err == nil {
		t.Errorf("the private Postgres at %s still answers", h.adminURL)
	}
}

// haveInitdb says whether scripts/postgres.sh can start a private cluster:
// initdb on PATH or in Debian's folders, as the script looks for it.
func haveInitdb() bool {
	if _, err := exec.LookPath("initdb"); err == nil {
		return true
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	return len(m) > 0
}
