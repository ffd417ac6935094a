// Command bench is the load harness: it starts the server on a fresh
// database and measures, in one run against the same Postgres, usage
// ingestion (1, 100 and 10,000 workspaces), authorize (side by side with
// its floor, a do-nothing server) and the GraphQL balance query at fixed
// offered loads (open loop), and the pgbench baselines (tpcb-like, and a
// one-row "hot" update per transaction); it reads the server's peak RSS,
// checks the ledger of every workspace, prints one table with the ratios
// and writes it to bench/results/.
//
//	go run ./bench [-duration 15s] [-clients 16] [-batch 100] [-authorize-rps 10000]
//	               [-scenarios ingest1,ingest100,ingest10k,floor,auth,graphql,pgbench,limit] [-prefill N] [-short]
//	               [-shared-buffers 6GB]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	def := defaultConfig()
	duration := flag.Duration("duration", def.Duration, "how long each measurement runs")
	warmup := flag.Duration("warmup", def.Warmup, "unrecorded load before each open-loop measurement (authorize, GraphQL)")
	clients := flag.Int("clients", def.Clients, "concurrent ingestion clients, and pgbench -c")
	batch := flag.Int("batch", def.Batch, "usage events per request (the server takes at most 1000)")
	authorizeRPS := flag.Int("authorize-rps", def.AuthorizeRPS, "offered /v1/authorize load, requests per second")
	balanceRPS := flag.Int("balance-rps", def.BalanceRPS, "offered GraphQL balance load, requests per second")
	workspaces := flag.Int("workspaces", def.ManyWorkspaces, "workspaces of the widest ingestion scenario (ingest10k)")
	prefill := flag.Int64("prefill", 0, "load this many synthetic events after the ingestion scenarios, then run them again (growth)")
	prefillSpan := flag.Duration("prefill-span", def.PrefillSpan, "how far back the prefilled events go (evenly; the newest an hour ago)")
	growthRounds := flag.Int("growth-rounds", def.GrowthRounds, "with -prefill: measure each ingestion scenario this many times as a pair, baseline then grown; the ratio is the median")
	scenarios := flag.String("scenarios", "all", "comma list of scenarios to run: "+strings.Join(allScenarios, ","))
	short := flag.Bool("short", false, "smoke mode: 1 s measurements, 2 clients, 10 workspaces instead of 10,000, pgbench skipped if absent; writes no results unless -out is given")
	var serverEnv []string
	flag.Func("server-env", "KEY=VALUE added to the server's environment only (repeatable), e.g. -server-env GOGC=200", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		serverEnv = append(serverEnv, v)
		return nil
	})
	out := flag.String("out", "", "results directory (default bench/results of the repository)")
	sharedBuffers := flag.String("shared-buffers", "", "start a private Postgres with this shared_buffers (e.g. 6GB, a quarter of memory) for the run, instead of the one PG_ADMIN_URL or scripts/postgres.sh gives")
	flag.Parse()

	cfg := def
	if *short {
		cfg = shortConfig()
	}
	// Flags given explicitly win over the mode's defaults.
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "duration":
			cfg.Duration = *duration
		case "growth-rounds":
			cfg.GrowthRounds = *growthRounds
		case "warmup":
			cfg.Warmup = *warmup
		case "clients":
			cfg.Clients = *clients
		case "batch":
			cfg.Batch = *batch
		case "authorize-rps":
			cfg.AuthorizeRPS = *authorizeRPS
		case "balance-rps":
			cfg.BalanceRPS = *balanceRPS
		case "workspaces":
			cfg.ManyWorkspaces = *workspaces
		}
	})
	var err error
	if cfg.Scenarios, err = parseScenarios(*scenarios); err != nil {
		fail(err)
	}
	cfg.ServerEnv = serverEnv
	cfg.Prefill = *prefill
	cfg.PrefillSpan = *prefillSpan
	cfg.SharedBuffers = *sharedBuffers
	cfg.Progress = os.Stderr
	dir := *out
	if dir == "" && !*short { // a smoke run must not replace the recorded figures
		root, err := repoRoot()
		if err != nil {
			fail(err)
		}
		dir = filepath.Join(root, "bench", "results")
	}

	// SIGINT/SIGTERM cancel the run; run's deferred clean-up then stops the
	// server and drops the databases before we exit.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	start := time.Now()
	res, err := run(ctx, cfg)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fail(errors.New("interrupted; the server is stopped and the bench databases are dropped"))
	}
	if err != nil {
		fail(err)
	}
	fmt.Print(res.Markdown())
	if dir != "" {
		if err := res.Write(dir); err != nil {
			fail(fmt.Errorf("write results: %w", err))
		}
		fmt.Printf("\nwritten to %s/{latest,%s}.{json,md}\n", dir, res.At.Format("20060102T150405Z"))
	}
	fmt.Printf("total %s\n", time.Since(start).Round(time.Second))
	for _, inv := range append([]*Invariant{res.Invariant}, res.prefillInvariants()...) {
		if inv != nil && !inv.OK {
			os.Exit(2)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
